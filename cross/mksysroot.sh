#!/bin/sh
# mksysroot.sh DEB_ARCH DIR — build a Debian sysroot for DEB_ARCH (arm64,
# armhf) in DIR without installing anything on the host: the "target"
# libraries of debian-packages.txt plus libc6-dev, with their run-time
# dependencies (apt-cache depends --recurse), fetched with `apt-get download`
# and unpacked with `dpkg-deb -x`. Stands in for a vendor SDK sysroot:
#
#   make ARCH=armhf SYSROOT=$DIR O=build-armhf-sysroot
#   qemu-arm-static -L $DIR build-armhf-sysroot/tests/test_co2
#
# Needs `dpkg --add-architecture DEB_ARCH && apt-get update` (the package
# lists only; nothing of DEB_ARCH gets installed). Re-running reuses the
# downloaded .debs in DIR/.debs. Unlike multiarch installation the versions
# need not match the host's, so it also works while a mirror's security
# index for DEB_ARCH lags the host's.
set -eu
[ $# -eq 2 ] || { echo "usage: mksysroot.sh arm64|armhf DIR" >&2; exit 1; }
arch=$1
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$2/.debs"
dir=$(cd "$2" && pwd)
chmod 0777 "$dir/.debs"   # apt-get download runs as _apt

roots=$(awk -v a="$arch" '/^#/ || NF < 2 { next } $2 == "target" { print $1 ":" a }' \
	"$top/debian-packages.txt")
roots="$roots libc6-dev:$arch"
# Only packages of the target architecture: arch-all ones in the closure
# are tools and configuration (libc-dev-bin, rpcsvc-proto), not sysroot.
pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
	--no-breaks --no-replaces --no-enhances $roots 2>/dev/null |
	grep -E "^[a-z0-9][a-z0-9.+-]*:$arch\$" | sort -u)
[ -n "$pkgs" ] || {
	echo "mksysroot: no $arch packages in the apt lists (dpkg --add-architecture $arch && apt-get update)" >&2
	exit 2
}
need=
for p in $pkgs; do
	ls "$dir/.debs/${p%%:*}"_*_"$arch".deb >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
	(cd "$dir/.debs" && apt-get download -q $need >&2) || {
		echo "mksysroot: apt-get download failed" >&2
		exit 2
	}
fi
for deb in "$dir"/.debs/*_"$arch".deb; do
	dpkg-deb -x "$deb" "$dir"
done
# Debian 12 ships libc in /lib/<triplet> with /lib a real folder inside
# packages (merged /usr is made at install time), which the toolchain's
# --sysroot search handles; nothing to fix up.
echo "$dir"
