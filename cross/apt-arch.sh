#!/bin/bash
# apt-arch.sh DEB_ARCH STATEDIR apt-get|apt-cache ARGS... — run apt for a
# foreign architecture without `dpkg --add-architecture`: package lists of
# DEB_ARCH alone, from the host's apt sources, kept in STATEDIR (refreshed
# when older than a day), no dpkg status, no system lock. For downloading
# and resolving target packages (cross/mksysroot.sh, cross/qemu/fetch-*.sh),
# never for installing. For the host's own architecture it runs apt as is.
#
# A suite the mirror fails to serve (a lagging security index) is reported
# on stderr and skipped; exit 2 when no list at all could be had.
set -eu
[ $# -ge 3 ] || { echo "usage: apt-arch.sh DEB_ARCH STATEDIR apt-get|apt-cache ARGS..." >&2; exit 1; }
arch=$1 state=$2 tool=$3
shift 3
case $tool in apt-get | apt-cache) ;; *) echo "apt-arch: $tool: apt-get or apt-cache" >&2; exit 1 ;; esac
if [ "$arch" = "$(dpkg --print-architecture)" ]; then
	exec "$tool" "$@"
fi
mkdir -p "$state/lists/partial" "$state/archives/partial"
state=$(cd "$state" && pwd)
# apt-get drops privileges to _apt for downloads: let it write there.
chmod 0777 "$state/lists/partial" "$state/archives/partial" 2>/dev/null || true
opts=(-o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
	-o "Dir::State::Lists=$state/lists" -o Dir::State::status=/dev/null
	-o "Dir::Cache=$state" -o "Dir::Cache::Archives=$state/archives"
	-o Debug::NoLocking=1)

if [ -z "$(find "$state/lists" -maxdepth 1 -name '*_Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then
	if ! apt-get "${opts[@]}" update -q >"$state/update.log" 2>&1; then
		grep -E '^E:' "$state/update.log" | sed "s/^/apt-arch: $arch lists: /" >&2
	fi
	ls "$state/lists"/*_Packages* >/dev/null 2>&1 ||
		{ echo "apt-arch: no $arch package lists (network? see $state/update.log)" >&2; exit 2; }
fi
exec "$tool" "${opts[@]}" "$@"
