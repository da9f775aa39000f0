#!/bin/bash
# can_vcan.sh — can/socketcan.c and the vehicle profiles on a real kernel's
# vcan: decoded values, kernel filters, CAN FD, J1939 masks, canplayer
# replay, the SO_RXQ_OVFL drop counter, error-frame events, and re-opening
# an interface that went down or away (tests/integration/vcan/guest.sh).
#
# Where this host can create a vcan interface (root, vcan module), the test
# runs here on a fresh interface. Otherwise it boots Debian's kernel under
# qemu with the cross/qemu harness (kernel package fetched and cached in
# $ECO2_BUILD/qemu-cache, never installed), the guest prints the TAP lines
# and this script relays them. Exit 77 with the reason when neither works.
set -u
top=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ECO2_BUILD:-$top/build}
cache=${ECO2_QEMU_CACHE:-$build/qemu-cache}
probe=$build/can-probe
guest=$top/tests/integration/vcan/guest.sh
q=$top/cross/qemu

[ -x "$probe" ] || { echo "skip: $probe not built (CONFIG_CAN_SOCKETCAN off?)"; exit 77; }
for t in cansend cangen canplayer; do
	command -v $t >/dev/null 2>&1 || { echo "skip: can-utils' $t not installed"; exit 77; }
done

# ---- on the host, when it has vcan ---------------------------------------
ifname=eco2t$$
if [ "$(id -u)" = 0 ] && ip link add dev "$ifname" type vcan 2>/dev/null; then
	ip link delete "$ifname"
	work=$(mktemp -d)
	trap 'ip link delete "$ifname" 2>/dev/null; rm -rf "$work"' EXIT
	echo "# host kernel $(uname -r) has vcan: testing on $ifname"
	printf '#!/bin/sh\nip link add dev "$1" type vcan && ip link set "$1" up\n' >"$work/vcan-add"
	chmod +x "$work/vcan-add"
	IF=$ifname PROFILES=$top/can/profiles PROBE=$probe WORK=$work \
		VCAN_ADD=$work/vcan-add TAP_BASE=0 sh "$guest" >"$work/tap"
	rc=$?
	cat "$work/tap"
	echo "1..$(grep -cE '^(not )?ok ' "$work/tap")"
	exit $rc
fi

# ---- in a qemu guest -------------------------------------------------------
for t in qemu-system-x86_64 cpio readelf gcc dpkg-deb apt-get; do
	command -v $t >/dev/null 2>&1 ||
		{ echo "skip: no vcan on this host and $t (for the qemu guest) is missing"; exit 77; }
done
[ -x "$q/run-vm.sh" ] || { echo "skip: cross/qemu harness missing"; exit 77; }
work=$build/qemu/can-vcan
rm -rf "$work"
mkdir -p "$work" "$cache"
kinfo=$("$q/fetch-kernel.sh" x86_64 "$cache" 2>"$work/fetch.log") ||
	{ echo "skip: no vcan here and no Debian kernel: $(tail -n 1 "$work/fetch.log")"; exit 77; }
KERNEL= MODULES=
eval "$kinfo"
gcc -std=gnu11 -O2 -Wall -Wextra -o "$work/vcan-add" "$q/vcan-add.c" ||
	{ echo "not ok 1 - vcan-add builds"; exit 1; }
"$q/mkinitramfs.sh" -a x86_64 -o "$work/initrd.cpio.gz" -s "$guest" \
	-K "$MODULES" -m can -m can-raw -m can-dev -m vcan \
	-b "$probe" -b "$(command -v cansend)" -b "$(command -v cangen)" \
	-b "$(command -v canplayer)" -b "$work/vcan-add" \
	-f "$top/can/profiles=/eco2/profiles" \
	-e IF=vcan0 -e PROFILES=/eco2/profiles -e PROBE=can-probe -e VCAN_ADD=vcan-add \
	-e WORK=/tmp -e TAP_BASE=0 -c "$cache" >"$work/mkinitramfs.log" 2>&1 ||
	{ echo "not ok 1 - initramfs builds"; sed 's/^/# /' "$work/mkinitramfs.log"; exit 1; }
"$q/run-vm.sh" -a x86_64 -k "$KERNEL" -i "$work/initrd.cpio.gz" -t 240 \
	-l "$work/console.log" >"$work/tap"
rc=$?
cat "$work/tap"
n=$(grep -cE '^(not )?ok ' "$work/tap")
if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
	n=$((n + 1))
	echo "not ok $n - guest ended with status $rc (124: time-out, 125: no report); console: $work/console.log"
fi
echo "1..$n"
exit $rc
