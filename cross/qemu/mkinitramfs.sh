#!/bin/bash
# mkinitramfs.sh — build a busybox initramfs that runs one test script on a
# real kernel (see README.md in this folder for the whole interface).
#
#   mkinitramfs.sh -o OUT.cpio.gz -s SCRIPT [-a x86_64|arm64]
#                  [-K MODULES_DIR] [-m MODULE]... [-b BIN[=DEST]]...
#                  [-f SRC=DEST]... [-e NAME=VALUE]... [-B BUSYBOX]
#                  [-R LIBROOT] [-c CACHE]
#
#   -a  target architecture of every binary (default x86_64)
#   -K  lib/modules/<kver> folder of the kernel (MODULES from fetch-kernel.sh)
#   -m  module name (can, can-raw, can-dev, vcan, ...), loaded in the order
#       given, each after the modules its .modinfo depends= names;
#       .ko, .ko.xz, .ko.zst and .ko.gz are accepted (decompressed here)
#   -b  an ELF program for the target, installed as /usr/bin/<name> (or DEST)
#       with every shared library it needs (DT_NEEDED, recursively) and its
#       ELF interpreter
#   -f  a file or folder copied to DEST in the image
#   -e  a variable exported to SCRIPT
#   -B  busybox binary for the target (default: the host's busybox-static
#       for x86_64; busybox-static:arm64 fetched with apt-get download into
#       the cache for arm64)
#   -R  root the target libraries are searched under (default /, i.e.
#       Debian's multiarch folders /usr/lib/<triplet>; a vendor sysroot works)
#   -c  cache folder for downloads (default: the folder of OUT)
#
# The image's /init mounts proc, sysfs, devtmpfs and tmpfs, loads the
# modules, prints ECO2-VM-BEGIN, runs SCRIPT with busybox sh in /eco2 and
# prints ECO2-VM-EXIT=<status>; files SCRIPT leaves in /eco2/out are sent
# after it as base64 tar between ECO2-VM-OUT-BEGIN and ECO2-VM-OUT-END
# (run-vm.sh -O unpacks them). Then it powers the machine off.
set -euo pipefail

usage() { sed -n '3,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 1; }
die() { echo "mkinitramfs: $*" >&2; exit 2; }

arch=x86_64 out= script= moddir= busybox= libroot=/ cache=
mods=() bins=() files=() envs=()
while getopts "a:o:s:K:m:b:f:e:B:R:c:" opt; do
	case $opt in
	a) arch=$OPTARG ;;
	o) out=$OPTARG ;;
	s) script=$OPTARG ;;
	K) moddir=$OPTARG ;;
	m) mods+=("$OPTARG") ;;
	b) bins+=("$OPTARG") ;;
	f) files+=("$OPTARG") ;;
	e) envs+=("$OPTARG") ;;
	B) busybox=$OPTARG ;;
	R) libroot=$OPTARG ;;
	c) cache=$OPTARG ;;
	*) usage ;;
	esac
done
[ -n "$out" ] && [ -n "$script" ] || usage
[ -f "$script" ] || die "$script: no such script"
case $arch in
x86_64 | amd64) arch=x86_64 triplet=x86_64-linux-gnu deb_arch=amd64 machine="X86-64|Advanced Micro Devices X86-64" ;;
arm64 | aarch64) arch=arm64 triplet=aarch64-linux-gnu deb_arch=arm64 machine=AArch64 ;;
armhf) arch=armhf triplet=arm-linux-gnueabihf deb_arch=armhf machine=ARM ;;
*) die "-a $arch: expected x86_64, arm64 or armhf" ;;
esac
[ ${#mods[@]} -eq 0 ] || [ -d "$moddir" ] || die "-m needs -K MODULES_DIR (a lib/modules/<kver> folder)"
out=$(realpath -m "$out")
mkdir -p "$(dirname "$out")"
[ -n "$cache" ] || cache=$(dirname "$out")
mkdir -p "$cache"
libroot=${libroot%/}

img=$(mktemp -d "${TMPDIR:-/tmp}/eco2-initramfs.XXXXXX")
trap 'rm -rf "$img"' EXIT
mkdir -p "$img"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,root,eco2/out,lib/modules} \
	"$img/lib/$triplet"

# ---- busybox ---------------------------------------------------------------
if [ -z "$busybox" ]; then
	if [ "$arch" = x86_64 ] && [ "$(uname -m)" = x86_64 ]; then
		busybox=/bin/busybox
	else
		bbdir=$("$(dirname "$0")/fetch-deb.sh" "$deb_arch" busybox-static "$cache") ||
			die "no busybox-static:$deb_arch"
		busybox=$bbdir/bin/busybox
	fi
fi
[ -f "$busybox" ] || die "$busybox: no busybox"

# ---- ELF programs and their libraries ---------------------------------------
check_arch() {
	readelf -h "$1" 2>/dev/null | grep -qE "Machine: +($machine)\$" ||
		die "$1: not an ELF program for $arch"
}

find_lib() {
	local d
	for d in "$libroot/lib/$triplet" "$libroot/usr/lib/$triplet" "$libroot/lib" \
		"$libroot/usr/lib" "/usr/$triplet/lib"; do
		if [ -e "$d/$1" ]; then
			echo "$d/$1"
			return 0
		fi
	done
	return 1
}

declare -A have_lib=()
add_libs() {
	local elf=$1 interp lib path
	interp=$(readelf -lW "$elf" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
	if [ -n "$interp" ] && [ ! -e "$img$interp" ]; then
		path=$libroot$interp
		[ -e "$path" ] || path=$(find_lib "$(basename "$interp")") ||
			die "$elf: interpreter $interp not found under $libroot"
		mkdir -p "$img$(dirname "$interp")"
		cp -L "$path" "$img$interp"
	fi
	for lib in $(readelf -dW "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		[ -z "${have_lib[$lib]:-}" ] || continue
		have_lib[$lib]=1
		path=$(find_lib "$lib") || die "$elf: needs $lib, not found under $libroot (multiarch $triplet)"
		cp -L "$path" "$img/lib/$triplet/$lib"
		add_libs "$path"
	done
}

install_elf() {
	local src=$1 dest=$2
	[ -f "$src" ] || die "$src: no such program"
	check_arch "$src"
	mkdir -p "$img$(dirname "$dest")"
	cp -L "$src" "$img$dest"
	chmod 0755 "$img$dest"
	add_libs "$src"
}

install_elf "$busybox" /bin/busybox
for b in "${bins[@]}"; do
	src=${b%%=*} dest=/usr/bin/$(basename "${b%%=*}")
	[ "$b" = "$src" ] || dest=${b#*=}
	install_elf "$src" "$dest"
done

# ---- kernel modules, dependencies first --------------------------------------
declare -A mod_done=()
modlist=()
mod_path() {
	local n=${1//_/-} f
	f=$(find "$moddir" \( -name "$n.ko" -o -name "$n.ko.*" -o -name "${n//-/_}.ko" \
		-o -name "${n//-/_}.ko.*" \) -print -quit)
	[ -n "$f" ] || die "module $1 not found under $moddir"
	echo "$f"
}
unpack_mod() {
	case $1 in
	*.ko) cat "$1" ;;
	*.ko.xz) xz -dc "$1" ;;
	*.ko.zst) zstd -dc "$1" ;;
	*.ko.gz) gzip -dc "$1" ;;
	*) die "$1: unknown module compression" ;;
	esac
}
add_mod() {
	local name=${1//_/-} path dep deps
	[ -z "${mod_done[$name]:-}" ] || return 0
	mod_done[$name]=1
	path=$(mod_path "$name")
	unpack_mod "$path" >"$img/lib/modules/$name.ko"
	deps=$(tr '\0' '\n' <"$img/lib/modules/$name.ko" | sed -n 's/^depends=//p' | head -n 1)
	for dep in ${deps//,/ }; do
		add_mod "$dep"
	done
	modlist+=("$name")
}
for m in "${mods[@]}"; do
	add_mod "$m"
done
printf '%s\n' "${modlist[@]}" >"$img/eco2/modules"

# ---- files, environment, script --------------------------------------------------
for f in "${files[@]}"; do
	src=${f%%=*} dest=${f#*=}
	[ "$f" != "$src" ] || die "-f $f: expected SRC=DEST"
	[ -e "$src" ] || die "$src: no such file"
	mkdir -p "$img$(dirname "$dest")"
	cp -a "$src" "$img$dest"
done
: >"$img/eco2/env"
for e in "${envs[@]}"; do
	printf 'export %s=%q\n' "${e%%=*}" "${e#*=}" >>"$img/eco2/env"
done
printf 'export ECO2_VM_ARCH=%s\n' "$arch" >>"$img/eco2/env"
cp "$script" "$img/eco2/run.sh"
chmod 0755 "$img/eco2/run.sh"

cat >"$img/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LD_LIBRARY_PATH=/lib/$triplet
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mkdir -p /dev/pts /dev/shm
mount -t devpts pts /dev/pts
ip link set lo up 2>/dev/null
hostname eco2-vm
rc=0
for m in \$(cat /eco2/modules); do
	insmod /lib/modules/\$m.ko || { echo "init: insmod \$m failed"; rc=125; }
done
echo ECO2-VM-BEGIN
if [ \$rc -eq 0 ]; then
	cd /eco2 && . /eco2/env && /bin/sh /eco2/run.sh
	rc=\$?
fi
if [ -n "\$(ls -A /eco2/out)" ]; then
	echo ECO2-VM-OUT-BEGIN
	tar -C /eco2/out -cf - . | gzip | base64
	echo ECO2-VM-OUT-END
fi
echo "ECO2-VM-EXIT=\$rc"
sync
poweroff -f
INIT
chmod 0755 "$img/init"

(cd "$img" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -6 >"$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
