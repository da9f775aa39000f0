#!/bin/bash
# cross_units.sh — the unit suites built for arm64 and armhf and run under
# qemu-user (`make check-cross`), one TAP line per unit test per target.
#
# A target uses its multiarch libraries when installed
# (libcurl4-openssl-dev:arm64 ...), else a Debian sysroot made by
# cross/mksysroot.sh (package lists of its own, nothing installed);
# ECO2_CROSS_SYSROOT=1 takes the sysroot for both. A target whose
# toolchain, qemu-user or libraries are missing is skipped with the reason;
# both missing: exit 77. The two targets build and run side by side;
# ECO2_CROSS_ARCHES="arm64" limits the run to one.
#
# qemu-user cannot emulate what it must not let a guest do to qemu itself:
# it refuses seccomp filters. Failures of the tests listed in `limits`
# below are reported as SKIP with that reason; any other failure fails.
set -u
top=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ECO2_BUILD:-$top/build}
cd "$top" || exit 1
mkdir -p "$build"
# A make check above us must not leak its goals or options into ours.
unset MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES
# The host build's sanitizers are not the target's: qemu-user has no libasan.
unset SANITIZE

limits='test_seccomp:test_seccomp	qemu-user does not emulate seccomp (seccomp() is ENOSYS, prctl(PR_SET_SECCOMP) EINVAL)'

n=0 failed=0 ran=0 skipped_why=
emit() { n=$((n + 1)); echo "$1 $n - $2"; }

has_libs() { # has_libs DEB_ARCH: the target libraries installed as multiarch?
	local p
	for p in libcurl4-openssl-dev libsqlite3-dev libsodium-dev libcmocka-dev libmbedtls-dev; do
		[ "$(dpkg-query -W -f='${db:Status-Status}' "$p:$1" 2>/dev/null)" = installed ] || return 1
	done
}

declare -A pid=() skip=()

# start_arch arm64|armhf: check the toolchain and libraries, then start
# `make check-cross` in the background (each target's emulation is one
# thread: the two run side by side on two cores).
start_arch() {
	local arch=$1 cc qemu deb out sysroot=
	case $arch in
	arm64) cc=aarch64-linux-gnu-gcc qemu=qemu-aarch64-static deb=arm64 ;;
	armhf) cc=arm-linux-gnueabihf-gcc qemu=qemu-arm-static deb=armhf ;;
	*) skip[$arch]="unknown target"; return ;;
	esac
	out=$build/cross-units-$arch
	if ! command -v $cc >/dev/null || ! command -v $qemu >/dev/null; then
		skip[$arch]="$cc or $qemu not installed (make deps ARCH=$arch)"
		return
	fi
	if [ "${ECO2_CROSS_SYSROOT:-0}" = 1 ] || ! has_libs $deb; then
		sysroot=$build/sysroot-$deb
		if ! "$top/cross/mksysroot.sh" $deb "$sysroot" >"$build/mksysroot-$deb.log" 2>&1; then
			skip[$arch]="no $deb libraries: $(tail -n 1 "$build/mksysroot-$deb.log")"
			return
		fi
	fi
	rm -rf "$out/cross-logs"
	make --no-print-directory ARCH=$arch O="$out" ${sysroot:+SYSROOT="$sysroot"} \
		check-cross >"$build/cross-units-$arch.log" 2>&1 &
	pid[$arch]=$!
}

# report_arch arm64|armhf: one TAP line per unit test of that target.
report_arch() {
	local arch=$1 out=$build/cross-units-$1 log=$build/cross-units-$1.log t line rest status name why
	if [ -n "${skip[$arch]:-}" ]; then
		emit ok "$arch: unit suite # SKIP ${skip[$arch]}"
		skipped_why="$skipped_why $arch"
		return
	fi
	ran=1
	wait "${pid[$arch]}"
	grep -E '^check-cross:|passed, .* failed' "$log" | sed "s/^/# $arch: /"
	if ! ls "$out"/cross-logs/unit-*.log >/dev/null 2>&1; then
		emit "not ok" "$arch: make check-cross ran no test: $(tail -n 1 "$log")"
		failed=1
		return
	fi
	for t in "$out"/cross-logs/unit-*.log; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .log)
		name=${name#unit-}
		status=0
		while IFS= read -r line; do
			case $line in
			"ok "*) emit ok "$arch: $name:${line#ok [0-9]* -}" ;;
			"not ok "*)
				rest=${line#not ok [0-9]* - }
				why=$(printf '%s\n' "$limits" | awk -F'\t' -v k="$name:$rest" \
					'index(k, $1) == 1 { print $2; exit }')
				if [ -n "$why" ]; then
					emit ok "$arch: $name: $rest # SKIP $why"
				else
					emit "not ok" "$arch: $name: $rest"
					failed=1
				fi
				;;
			esac
			status=1
		done < <(grep -E '^(not )?ok [0-9]+ - ' "$t")
		if [ $status -eq 0 ]; then
			# No TAP at all: the program did not build or did not start.
			emit "not ok" "$arch: $name did not run: $(tail -n 1 "$t")"
			failed=1
		fi
	done
}

arches=${ECO2_CROSS_ARCHES:-arm64 armhf}
for a in $arches; do
	start_arch "$a"
done
for a in $arches; do
	report_arch "$a"
done
echo "1..$n"
if [ $ran -eq 0 ]; then
	echo "skip: no cross target could run:$skipped_why (see the SKIP lines)"
	exit 77
fi
exit $failed
