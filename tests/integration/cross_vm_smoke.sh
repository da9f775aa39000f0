#!/bin/bash
# cross_vm_smoke.sh — the qemu system-test harness (cross/qemu/) on real
# kernels: boot Debian's x86_64 kernel (qemu-system-x86_64) and arm64 kernel
# (qemu-system-aarch64 -M virt -cpu cortex-a57) with a busybox initramfs,
# load can, can-raw, can-dev and vcan, create vcan0, send one frame with
# can-utils' cansend, read it back with candump, and carry the dump out of
# the guest. The arm64 half is skipped (TAP SKIP) when qemu-system-arm, the
# aarch64 compiler or the arm64 package lists are missing; the whole test
# skips (77) when the x86_64 half cannot run either.
set -u
top=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ECO2_BUILD:-$top/build}
cache=${ECO2_QEMU_CACHE:-$build/qemu-cache}
q=$top/cross/qemu

for t in cpio readelf gcc dpkg-deb apt-get; do
	command -v "$t" >/dev/null 2>&1 || { echo "skip: $t not installed"; exit 77; }
done
mkdir -p "$cache"

# The guest's half: prints its own TAP lines, numbered from $TAP_BASE.
guest_script() {
	cat <<'GUEST'
n=$TAP_BASE
rc=0
tap() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $ECO2_VM_ARCH: $2"; else echo "not ok $n - $ECO2_VM_ARCH: $2"; rc=1; fi; }
missing=
for m in can can_raw can_dev vcan; do grep -q "^$m " /proc/modules || missing="$missing $m"; done
tap $([ -z "$missing" ]; echo $?) "modules can can-raw can-dev vcan loaded${missing:+ (missing:$missing)}"
vcan-add vcan0
tap $? "vcan0 created through rtnetlink"
grep -q UP /sys/class/net/vcan0/operstate 2>/dev/null || ip link show vcan0 | grep -q ',UP'
tap $? "vcan0 is up"
candump -n 1 -T 10000 vcan0 >/eco2/out/dump.txt &
pid=$!
# Send only once candump's CAN_RAW socket is registered on vcan0 (an entry
# line starts with the device name; an empty list reads "(vcan0: no entry)").
i=0
while ! grep -qE '^ +vcan0 ' /proc/net/can/rcvlist_all 2>/dev/null && [ $i -lt 500 ]; do
	i=$((i + 1)); usleep 10000
done
cansend vcan0 123#DEADBEEF
tap $? "cansend vcan0 123#DEADBEEF"
wait $pid
tap $? "candump exited after one frame"
cat /eco2/out/dump.txt
tr -s ' ' </eco2/out/dump.txt | grep -qx ' vcan0 123 \[4\] DE AD BE EF'
tap $? "candump saw the frame cansend sent"
exit $rc
GUEST
}
GUEST_TAPS=6

n=0 failed=0 ran=0
tap() { # tap STATUS WHAT
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}
skip_arch() { # skip_arch ARCH WHY
	local i
	for i in $(seq $((4 + GUEST_TAPS))); do
		n=$((n + 1)); echo "ok $n - $1 # SKIP $2"
	done
}

run_arch() { # run_arch x86_64|arm64
	local arch=$1 cc qemu can_bin work kinfo rc
	work=$build/qemu/vm-smoke-$arch
	case $arch in
	x86_64) cc=gcc qemu=qemu-system-x86_64 ;;
	arm64) cc=aarch64-linux-gnu-gcc qemu=qemu-system-aarch64 ;;
	esac
	command -v $qemu >/dev/null 2>&1 || { skip_arch $arch "$qemu not installed"; return; }
	command -v $cc >/dev/null 2>&1 || { skip_arch $arch "$cc not installed"; return; }
	rm -rf "$work"
	mkdir -p "$work"
	kinfo=$("$q/fetch-kernel.sh" $arch "$cache" 2>"$work/fetch.log") ||
		{ skip_arch $arch "no Debian kernel: $(tail -n 1 "$work/fetch.log")"; return; }
	local KERNEL= MODULES= KVER=
	eval "$kinfo"
	if [ $arch = x86_64 ]; then
		can_bin=/usr/bin
		command -v cansend >/dev/null 2>&1 || { skip_arch $arch "can-utils not installed"; return; }
	else
		can_bin=$("$q/fetch-deb.sh" arm64 can-utils "$cache" 2>>"$work/fetch.log")/usr/bin ||
			{ skip_arch $arch "no can-utils:arm64: $(tail -n 1 "$work/fetch.log")"; return; }
	fi
	ran=1

	$cc -std=gnu11 -O2 -Wall -Wextra -o "$work/vcan-add" "$q/vcan-add.c"
	tap $? "$arch: vcan-add netlink helper builds"
	guest_script >"$work/guest.sh"
	"$q/mkinitramfs.sh" -a $arch -o "$work/initrd.cpio.gz" -s "$work/guest.sh" \
		-K "$MODULES" -m can -m can-raw -m can-dev -m vcan \
		-b "$can_bin/cansend" -b "$can_bin/candump" -b "$work/vcan-add" \
		-e TAP_BASE=$((n + 1)) -c "$cache" >"$work/mkinitramfs.log" 2>&1
	tap $? "$arch: initramfs with busybox, can-utils and the CAN modules of $KVER"
	"$q/run-vm.sh" -a $arch -k "$KERNEL" -i "$work/initrd.cpio.gz" -t 120 \
		-O "$work/out" -l "$work/console.log"
	rc=$?
	n=$((n + GUEST_TAPS))
	tap $rc "$arch: guest script exit status 0 (got $rc)"
	tr -s ' ' <"$work/out/dump.txt" 2>/dev/null | grep -qx ' vcan0 123 \[4\] DE AD BE EF'
	tap $? "$arch: candump output carried out of the guest"
}

run_arch x86_64
run_arch arm64
echo "1..$n"
[ $ran -eq 1 ] || { echo "skip: neither x86_64 nor arm64 could boot (see the SKIP reasons)"; exit 77; }
exit $failed
