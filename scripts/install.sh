#!/bin/sh
# install.sh DESTDIR PREFIX SYSCONFDIR LOCALSTATEDIR UNITDIR MANDIR OBJDIR "SBIN" "BIN"
# Lays out the FHS paths: programs, /etc/eco2 (0750, configs 0640),
# /var/lib/eco2 (0700 for keys and the store), /var/lib/eco2-ledger (0700,
# when the ledger is built), the systemd units, man pages.
# What does not exist yet in the tree is simply not installed.
#
# STRIP=prog (make install-strip) strips the programs with that strip.
# Installing straight onto a system (no DESTDIR) where the eco2 user exists
# hands it what the daemon reads and writes: /etc/eco2 and the config to
# group eco2, the key folder and the state folder to eco2. Packages (the
# Yocto and Buildroot recipes) do the same at image build time.
set -eu
dest=$1 prefix=$2 sysconf=$3 state=$4 unitdir=$5 mandir=$6 obj=$7 sbin=$8 bin=$9
top=$(cd "$(dirname "$0")/.." && pwd)
I="install"
S=
[ -n "${STRIP:-}" ] && S="-s --strip-program=$STRIP"

for p in $sbin; do $I -D -m 0755 $S "$obj/$p" "$dest$prefix/sbin/$p"; done
for p in $bin; do $I -D -m 0755 $S "$obj/$p" "$dest$prefix/bin/$p"; done

$I -d -m 0750 "$dest$sysconf/eco2"
$I -d -m 0700 "$dest$sysconf/eco2/keys"
$I -d -m 0700 "$dest$state/lib/eco2"
# The configuration is the operator's once installed: never overwritten;
# the shipped one goes beside it for comparison.
if [ -f "$top/agent/eco2d.conf" ]; then
	if [ -e "$dest$sysconf/eco2/eco2d.conf" ]; then
		$I -m 0640 "$top/agent/eco2d.conf" "$dest$sysconf/eco2/eco2d.conf.dist"
	else
		$I -m 0640 "$top/agent/eco2d.conf" "$dest$sysconf/eco2/eco2d.conf"
	fi
fi
if [ -d "$top/can/profiles" ]; then
	$I -d -m 0755 "$dest$prefix/share/eco2/profiles"
	for f in "$top"/can/profiles/*.profile "$top"/can/profiles/*.dbc; do
		[ -f "$f" ] && $I -m 0644 "$f" "$dest$prefix/share/eco2/profiles/"
	done
fi
if [ -d "$top/can/sim/cycles" ]; then
	$I -d -m 0755 "$dest$prefix/share/eco2/cycles"
	for f in "$top"/can/sim/cycles/*; do
		[ -f "$f" ] && $I -m 0644 "$f" "$dest$prefix/share/eco2/cycles/"
	done
fi
# The units name the programs and their configs where this install puts them.
unit() { # unit SOURCE
	u=$(basename "$1")
	$I -d -m 0755 "$dest$unitdir"
	sed -e "s|/usr/sbin/|$prefix/sbin/|g" -e "s|/usr/bin/|$prefix/bin/|g" -e "s|/etc/eco2/|$sysconf/eco2/|g" \
		-e "s|/var/lib/|$state/lib/|g" "$1" > "$dest$unitdir/$u.tmp"
	chmod 0644 "$dest$unitdir/$u.tmp"
	mv "$dest$unitdir/$u.tmp" "$dest$unitdir/$u"
}
[ -f "$top/agent/eco2d.service" ] && unit "$top/agent/eco2d.service"
# The ledger: its unit, its configuration (never overwritten), its state.
case " $sbin $bin " in
*" eco2-ledger "*)
	unit "$top/ledger/eco2-ledger.service"
	$I -d -m 0700 "$dest$state/lib/eco2-ledger"
	if [ -e "$dest$sysconf/eco2/eco2-ledger.conf" ]; then
		$I -m 0640 "$top/ledger/eco2-ledger.conf" "$dest$sysconf/eco2/eco2-ledger.conf.dist"
	else
		$I -m 0640 "$top/ledger/eco2-ledger.conf" "$dest$sysconf/eco2/eco2-ledger.conf"
	fi
	if [ -z "$dest" ] && getent passwd eco2-ledger >/dev/null 2>&1; then
		chown root:eco2-ledger "$sysconf/eco2/eco2-ledger.conf"
		chown eco2-ledger:eco2-ledger "$state/lib/eco2-ledger"
	fi
	;;
esac
for m in "$top"/docs/man/*.[1-8]; do
	[ -f "$m" ] || continue
	sec=${m##*.}
	$I -D -m 0644 "$m" "$dest$mandir/man$sec/$(basename "$m")"
done
if [ -z "$dest" ] && getent passwd eco2 >/dev/null 2>&1; then
	chown root:eco2 "$sysconf/eco2" "$sysconf/eco2/eco2d.conf"
	chown eco2:eco2 "$sysconf/eco2/keys" "$state/lib/eco2"
fi
echo "installed into ${dest:-/}"
