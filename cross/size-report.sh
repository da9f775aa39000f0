#!/bin/bash
# size-report.sh [OUTDIR] — stripped size of every program on x86_64,
# aarch64 and armhf, as a table (bytes; text+data+bss from size(1) in
# brackets). Builds each target with its defconfig in OUTDIR/size-<arch>
# (default build-size-*) with `make -k`, so one program that does not build
# for a target shows as "failed" instead of hiding the others. armhf uses
# the multiarch libraries when installed, else a sysroot from mksysroot.sh
# (arm64 as well).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top}
cd "$top" || exit 1
unset MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES

has_libs() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "libcurl4-openssl-dev:$1" 2>/dev/null)" = installed ]
}

declare -A size sz
# progs-y of the target's own configuration (ARCH=...)
arch_progs() {
	make -s --no-print-directory ARCH=$1 O="$2" "${@:3}" -pn 2>/dev/null |
		sed -n 's/^progs-y := //p' | head -n 1
}
arches=(x86_64 arm64 armhf)
progs=$(make -s --no-print-directory O="$out/build-size-x86_64" print-install-progs 2>/dev/null |
	sed 's/^[a-z]*: //' | tr '\n' ' ')
all_progs=$(make -s --no-print-directory O="$out/build-size-x86_64" -pn 2>/dev/null |
	sed -n 's/^progs-y := //p' | head -n 1)
[ -n "$all_progs" ] || all_progs=$progs

for arch in "${arches[@]}"; do
	o=$out/build-size-$arch
	extra=()
	case $arch in
	x86_64) strip=strip ;;
	arm64) strip=aarch64-linux-gnu-strip ;;
	armhf) strip=arm-linux-gnueabihf-strip ;;
	esac
	if [ "$arch" != x86_64 ] && ! has_libs "$arch"; then
		"$top/cross/mksysroot.sh" "$arch" "$out/build-size-$arch-sysroot" >/dev/null 2>&1 &&
			extra=(SYSROOT="$out/build-size-$arch-sysroot")
	fi
	if ! command -v "$strip" >/dev/null; then
		for p in $all_progs; do size[$arch,$p]="no toolchain"; done
		continue
	fi
	make -k --no-print-directory ARCH=$arch O="$o" "${extra[@]}" -j"$(nproc)" all \
		>"$o.log" 2>&1
	mine=" $(arch_progs $arch "$o" "${extra[@]}") "
	for p in $all_progs; do
		if [[ "$mine" != *" $p "* ]]; then
			size[$arch,$p]="-"
		elif [ -f "$o/$p" ]; then
			"$strip" -o "$o/$p.stripped" "$o/$p"
			size[$arch,$p]=$(stat -c %s "$o/$p.stripped")
			sz[$arch,$p]=$(size "$o/$p.stripped" 2>/dev/null | awk 'NR == 2 { print $4 }')
		else
			size[$arch,$p]=failed
		fi
	done
done

printf '%-16s' program
for a in "${arches[@]}"; do printf ' %22s' "$a"; done
printf '\n'
for p in $all_progs; do
	case " $progs " in *" $p "*) tag= ;; *) tag='*' ;; esac
	printf '%-16s' "$p$tag"
	for a in "${arches[@]}"; do
		v=${size[$a,$p]:-?}
		if [ -n "${sz[$a,$p]:-}" ]; then v="$v (${sz[$a,$p]})"; fi
		printf ' %22s' "$v"
	done
	printf '\n'
done
echo "bytes after strip (text+data+bss); * = test or tool program, not installed;"
echo "- = not in that target's defconfig. aarch64 files carry 64 KiB segment"
echo "alignment padding (Debian's default max-page-size): compare text+data+bss."
for a in "${arches[@]}"; do
	grep -qE 'error|Error' "$out/build-size-$a.log" 2>/dev/null &&
		echo "$a: build errors, see $out/build-size-$a.log"
done
exit 0
