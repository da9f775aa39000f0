#!/bin/bash
# install_layout.sh — `make install DESTDIR=$tmp` lays out the FHS paths
# with the right modes: programs in /usr/sbin and /usr/bin (0755, ELF),
# /etc/eco2 0750, /etc/eco2/keys 0700, the config 0640, /var/lib/eco2 0700,
# the systemd unit (whose ExecStart names the installed daemon), man pages,
# vehicle profiles. What the tree does not have yet is not expected; a
# program without a man page is a SKIP line saying so.
set -u
top=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ECO2_BUILD:-$top/build}
cd "$top" || exit 1
unset MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES

tmp=$(mktemp -d "${TMPDIR:-/tmp}/eco2-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root

n=0 failed=0
tap() { # tap STATUS WHAT
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
mode_is() { # mode_is PATH MODE TYPE(f|d)
	[ -$3 "$dest$1" ] && [ "$(stat -c %a "$dest$1")" = "$2" ]
}
check() { # check PATH MODE TYPE
	local got
	got=$(stat -c %a "$dest$1" 2>/dev/null || echo missing)
	mode_is "$1" "$2" "$3"
	tap $? "$1 $([ "$3" = d ] && echo folder || echo file) mode $2 (got $got)"
}

make --no-print-directory O="$build" install DESTDIR="$dest" >"$tmp/install.log" 2>&1
rc=$?
tap $rc "make install DESTDIR=... exit status 0"
[ $rc -eq 0 ] || { sed 's/^/# /' "$tmp/install.log" | tail -20; echo "1..$n"; exit 1; }

progs=$(make -s --no-print-directory O="$build" print-install-progs)
sbin=$(sed -n 's/^sbin: //p' <<<"$progs")
bin=$(sed -n 's/^bin: //p' <<<"$progs")
for p in $sbin; do
	check /usr/sbin/$p 755 f
done
for p in $bin; do
	check /usr/bin/$p 755 f
done
for p in $sbin $bin; do
	f=$dest/usr/sbin/$p
	[ -f "$f" ] || f=$dest/usr/bin/$p
	cmp -s "$f" "$build/$p"
	tap $? "$p is the program built in $(basename "$build")"
done

check /etc/eco2 750 d
check /etc/eco2/keys 700 d
check /var/lib/eco2 700 d
if [ -f agent/eco2d.conf ]; then
	check /etc/eco2/eco2d.conf 640 f
	cmp -s agent/eco2d.conf "$dest/etc/eco2/eco2d.conf"
	tap $? "/etc/eco2/eco2d.conf is agent/eco2d.conf"
fi

for src in agent/eco2d.service ledger/eco2-ledger.service; do
	unit=/usr/lib/systemd/system/$(basename "$src")
	[ -f "$src" ] || continue
	prog=$(basename "$src" .service)
	grep -qw "$prog" <<<"$sbin $bin" || continue
	check $unit 644 f
	exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$dest$unit" | head -n 1)
	[ -n "$exe" ] && [ -x "$dest$exe" ]
	tap $? "the unit's ExecStart $exe is installed"
done
if grep -qw eco2-ledger <<<"$sbin $bin"; then
	check /etc/eco2/eco2-ledger.conf 640 f
	check /var/lib/eco2-ledger 700 d
fi

for m in docs/man/*.[1-8]; do
	[ -f "$m" ] || continue
	sec=${m##*.}
	check /usr/share/man/man$sec/$(basename "$m") 644 f
done
for p in $sbin $bin; do
	if ls "$dest"/usr/share/man/man[18]/"$p".[18] >/dev/null 2>&1; then
		tap 0 "man page for $p"
	else
		skip "man page for $p" "docs/man/$p.[18] not written yet"
	fi
done

if [ -d can/profiles ]; then
	bad=
	for f in can/profiles/*.profile can/profiles/*.dbc; do
		[ -f "$f" ] || continue
		mode_is /usr/share/eco2/profiles/$(basename "$f") 644 f || bad="$bad $(basename "$f")"
	done
	[ -z "$bad" ]
	tap $? "vehicle profiles and DBC files in /usr/share/eco2/profiles, 0644${bad:+ (missing:$bad)}"
fi

# Nothing outside the places above, and nothing writable by group or others.
stray=$(cd "$dest" && find . -mindepth 1 \( -type f -o -type l \) | sed 's|^\.||' |
	grep -vE '^/usr/s?bin/[^/]+$|^/etc/eco2/|^/usr/lib/systemd/system/[^/]+$|^/usr/share/man/man[1-8]/|^/usr/share/eco2/')
[ -z "$stray" ]
tap $? "no file outside the FHS places${stray:+ (stray: $(echo $stray))}"
ww=$(cd "$dest" && find . -perm /022 ! -type l)
[ -z "$ww" ]
tap $? "nothing group- or world-writable${ww:+ ($(echo $ww))}"

# A second install over the first succeeds; an edited config survives it
# (a package upgrade must not wipe a unit's configuration).
if [ -f "$dest/etc/eco2/eco2d.conf" ]; then
	echo "# edited on the unit" >>"$dest/etc/eco2/eco2d.conf"
fi
make --no-print-directory O="$build" install DESTDIR="$dest" >"$tmp/install2.log" 2>&1
tap $? "a second make install over the first succeeds"
if [ -f agent/eco2d.conf ]; then
	grep -q '^# edited on the unit' "$dest/etc/eco2/eco2d.conf"
	tap $? "an edited /etc/eco2/eco2d.conf survives a reinstall"
	mode_is /etc/eco2/eco2d.conf 640 f
	tap $? "... and keeps its mode 0640"
fi
echo "1..$n"
exit $failed
