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

# shellcheck source=tests/integration/lib/vcan.sh
. "$top/tests/integration/lib/vcan.sh"

# ---- on the host, when it has vcan ---------------------------------------
ifname=eco2t$$
if vcan_host_has "$ifname"; then
	work=$(mktemp -d)
	vcan_host_run "$ifname" "$work" \
		IF="$ifname" PROFILES="$top/can/profiles" PROBE="$probe" WORK="$work" TAP_BASE=0
fi

# ---- in a qemu guest -------------------------------------------------------
vcan_qemu_prepare can-vcan
vcan_qemu_run \
	-b "$probe" -b "$(command -v cansend)" -b "$(command -v cangen)" \
	-b "$(command -v canplayer)" -b "$work/vcan-add" \
	-f "$top/can/profiles=/eco2/profiles" \
	-e IF=vcan0 -e PROFILES=/eco2/profiles -e PROBE=can-probe -e VCAN_ADD=vcan-add \
	-e WORK=/tmp -e TAP_BASE=0
