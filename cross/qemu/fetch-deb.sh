#!/bin/sh
# fetch-deb.sh ARCH PACKAGE DIR — download one Debian package for ARCH
# (amd64, arm64, armhf; x86_64/aarch64 accepted) with `apt-get download`,
# extract it with `dpkg-deb -x` into DIR/PACKAGE-ARCH (cached) and print that
# folder. For programs of a foreign architecture that cannot be installed
# next to the host's (busybox-static, can-utils, ...); their libraries come
# from the multiarch root or a sysroot. Foreign package lists are kept in
# DIR/.apt-ARCH (cross/apt-arch.sh). Exit 2 when the package cannot be had.
set -eu
[ $# -eq 3 ] || { echo "usage: fetch-deb.sh ARCH PACKAGE DIR" >&2; exit 1; }
case $1 in
x86_64 | amd64) a=amd64 ;;
arm64 | aarch64) a=arm64 ;;
armhf) a=armhf ;;
*) echo "fetch-deb: ARCH=$1: expected amd64, arm64 or armhf" >&2; exit 1 ;;
esac
pkg=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$3"
dir=$(cd "$3" && pwd)/$pkg-$a
if [ ! -f "$dir/.extracted" ]; then
	tmp=$(mktemp -d "$dir.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	chmod 0777 "$tmp"   # apt-get download runs as _apt
	(cd "$tmp" && "$here/../apt-arch.sh" "$a" "$(dirname "$dir")/.apt-$a" \
		apt-get download -q "$pkg" >&2) || {
		echo "fetch-deb: apt-get download $pkg ($a) failed" >&2
		exit 2
	}
	mkdir "$tmp/x"
	dpkg-deb -x "$tmp"/*.deb "$tmp/x"
	touch "$tmp/x/.extracted"
	rm -rf "$dir"
	mv "$tmp/x" "$dir"
fi
echo "$dir"
