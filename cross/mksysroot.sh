#!/bin/sh
# mksysroot.sh DEB_ARCH DIR [PKG...] — build a Debian sysroot for DEB_ARCH
# (arm64, armhf) in DIR without installing anything and without touching the
# host's apt or dpkg configuration: the "target" libraries of
# debian-packages.txt plus libc6-dev and the PKGs named (the head-unit
# build adds libssl-dev; its benchmark the ledger's and a token's
# libraries), with their run-time dependencies,
# resolved against package lists of DEB_ARCH kept in DIR/.apt (apt's own
# sources, a private state folder, DEB_ARCH as the only architecture),
# fetched with `apt-get download` and unpacked with `dpkg-deb -x`. Stands in
# for a vendor SDK sysroot:
#
#   make ARCH=armhf SYSROOT=$DIR O=build-armhf-sysroot
#   qemu-arm-static -L $DIR build-armhf-sysroot/tests/test_co2
#
# The lists are refreshed when older than a day; the .debs are kept in
# DIR/.debs. Unlike multiarch installation the versions need not match the
# host's, and an index the mirror fails to serve (a lagging security
# suite) only costs that suite's updates. Exit 2 when nothing can be had.
set -eu
[ $# -ge 2 ] || { echo "usage: mksysroot.sh arm64|armhf DIR [PKG...]" >&2; exit 1; }
arch=$1
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$2/.debs"
dir=$(cd "$2" && pwd)
shift 2
# apt-get drops privileges to _apt for downloads: let it write there.
chmod 0777 "$dir/.debs"
target_apt() { "$top/cross/apt-arch.sh" "$arch" "$dir/.apt" "$@"; }

roots=$(awk '/^#/ || NF < 2 { next } $2 == "target" { print $1 }' "$top/debian-packages.txt")
roots="$roots libc6-dev $*"
pkgs=$(target_apt apt-cache depends --recurse --no-recommends --no-suggests \
	--no-conflicts --no-breaks --no-replaces --no-enhances $roots 2>/dev/null |
	grep -E '^[a-z0-9][a-z0-9.+-]*$' | sort -u)
[ -n "$pkgs" ] || {
	echo "mksysroot: no $arch packages in the lists (network? see $dir/.apt/update.log)" >&2
	exit 2
}
need=
for p in $pkgs; do
	ls "$dir/.debs/${p}"_*.deb >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
	(cd "$dir/.debs" && target_apt apt-get download -q $need >&2) || {
		echo "mksysroot: apt-get download failed" >&2
		exit 2
	}
fi
for deb in "$dir"/.debs/*.deb; do
	dpkg-deb -x "$deb" "$dir"
done
echo "$dir"
