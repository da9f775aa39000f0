#!/bin/sh
# fetch-kernel.sh ARCH DIR — fetch Debian's stock kernel for ARCH into DIR.
#
#   ARCH  x86_64 (or amd64) | arm64 (or aarch64) | armhf
#   DIR   cache folder; reused on later calls (nothing is downloaded when
#         the package already sits extracted there)
#
# Picks the linux-image-6.1.* package that Debian's linux-image-amd64 /
# linux-image-arm64 / linux-image-armmp-lpae (armhf, for qemu's virt
# machine) metapackage depends on (ECO2_KERNEL_PKG overrides it),
# downloads it with `apt-get download` and extracts it with `dpkg-deb -x`
# (mkinitramfs.sh resolves module dependencies from each module's .modinfo,
# so no depmod is needed). Prints, for `eval`:
#   KERNEL=/abs/DIR/<pkg>/boot/vmlinuz-<kver>
#   MODULES=/abs/DIR/<pkg>/lib/modules/<kver>
#   KVER=<kver>
# Exit 0 on success; 2 when the package cannot be had (no network), with
# the reason on stderr.
set -eu

die() { echo "fetch-kernel: $*" >&2; exit 2; }

[ $# -eq 2 ] || { echo "usage: fetch-kernel.sh x86_64|arm64|armhf DIR" >&2; exit 1; }
case $1 in
x86_64 | amd64) deb_arch=amd64 flavour=amd64 ;;
arm64 | aarch64) deb_arch=arm64 flavour=arm64 ;;
armhf) deb_arch=armhf flavour=armmp-lpae ;;
*) echo "fetch-kernel: ARCH=$1: expected x86_64, arm64 or armhf" >&2; exit 1 ;;
esac
mkdir -p "$2"
dir=$(cd "$2" && pwd)
# Package lists of a foreign architecture live in DIR/.apt-ARCH (see
# cross/apt-arch.sh): no dpkg --add-architecture needed.
apt_arch="$(cd "$(dirname "$0")/.." && pwd)/apt-arch.sh"
state=$dir/.apt-$deb_arch

pick_cached() {
	# Newest already-extracted package, for offline reuse.
	ls -d "$dir"/linux-image-6.1.*-"$flavour" 2>/dev/null | sort -V | tail -n 1
}

pkg=${ECO2_KERNEL_PKG:-}
if [ -z "$pkg" ]; then
	pkg=$("$apt_arch" "$deb_arch" "$state" apt-cache depends "linux-image-$flavour" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-6\.1\.[^: ]*\).*/\1/p' | head -n 1)
fi
if [ -z "$pkg" ]; then
	cached=$(pick_cached)
	[ -n "$cached" ] || die "no linux-image-6.1.* for $deb_arch in the apt lists (network?)"
	pkg=$(basename "$cached")
fi
root=$dir/$pkg

if [ ! -f "$root/.extracted" ]; then
	tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# apt-get download drops privileges to _apt: give it a folder it may write.
	chmod 0777 "$tmp"
	(cd "$tmp" && "$apt_arch" "$deb_arch" "$state" apt-get download -q "$pkg" >&2) ||
		die "apt-get download $pkg ($deb_arch) failed"
	deb=$(ls "$tmp"/*.deb)
	rm -rf "$root"
	mkdir -p "$tmp/x"
	dpkg-deb -x "$deb" "$tmp/x"
	mv "$tmp/x" "$root"
	touch "$root/.extracted"
fi

kernel=$(ls "$root"/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$kernel" ] || die "$root: no boot/vmlinuz-* in $pkg"
kver=${kernel##*/vmlinuz-}
modules=$root/lib/modules/$kver
[ -d "$modules" ] || die "$modules: missing"
echo "KERNEL=$kernel"
echo "MODULES=$modules"
echo "KVER=$kver"
