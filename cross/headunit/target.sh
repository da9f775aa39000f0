# target.sh — sourced by build-curl.sh, build-mbedtls.sh and build-sqlite.sh:
# what each does with its ARCH, CACHE, OUT and SYSROOT arguments. The
# caller defines die().

# target_dirs CACHE OUT [SYSROOT]: CACHE and OUT made and absolute, and
# SYSROOT absolute when given.
target_dirs() {
	mkdir -p "$1" "$2"
	CACHE=$(cd "$1" && pwd) OUT=$(cd "$2" && pwd)
	SYSROOT=${3:-}
	[ -z "$SYSROOT" ] || SYSROOT=$(cd "$SYSROOT" && pwd)
}

# target_arch ARCH: TRIPLET, BUILD_TRIPLET (this machine's), and CC_ and
# AR_, the cross tools unless ARCH is this machine's.
target_arch() {
	case $1 in
	x86_64) TRIPLET=x86_64-linux-gnu ;;
	arm64) TRIPLET=aarch64-linux-gnu ;;
	armhf) TRIPLET=arm-linux-gnueabihf ;;
	*) die "ARCH=$1: expected x86_64, arm64 or armhf" ;;
	esac
	BUILD_TRIPLET=$(gcc -dumpmachine)
	if [ "$TRIPLET" = "$BUILD_TRIPLET" ]; then CC_=gcc AR_=ar; else CC_=$TRIPLET-gcc AR_=$TRIPLET-ar; fi
	command -v "$CC_" >/dev/null || die "$CC_ not installed (debian-packages.txt)"
}
