#!/bin/bash
# sim_vcan.sh — eco2-sim --iface on a real kernel's vcan: real-time and
# --speedup pacing, every frame delivered, and the trip calculator reading
# the kernel's capture back to the simulator's truth
# (tests/integration/trip/sim_guest.sh).
#
# Where this host can create a vcan interface the test runs here;
# otherwise it boots Debian's kernel under qemu with the cross/qemu harness
# (kernel cached in $ECO2_BUILD/qemu-cache) and relays the guest's TAP.
# Exit 77 with the reason when neither works.
set -u
top=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ECO2_BUILD:-$top/build}
cache=${ECO2_QEMU_CACHE:-$build/qemu-cache}
sim=$build/eco2-sim
replay=$build/trip-replay
guest=$top/tests/integration/trip/sim_guest.sh
q=$top/cross/qemu

[ -x "$sim" ] && [ -x "$replay" ] || { echo "skip: eco2-sim or trip-replay not built"; exit 77; }
command -v candump >/dev/null 2>&1 || { echo "skip: can-utils' candump not installed"; exit 77; }

data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
mkdir -p "$data/profiles"
cp "$top"/can/profiles/reference.* "$data/profiles/"
printf 'time_s,speed_kmh\n0,0\n1,0\n6,40\n14,40\n19,0\n20,0\n' >"$data/drive.csv"

# shellcheck source=tests/integration/lib/vcan.sh
. "$top/tests/integration/lib/vcan.sh"

# ---- on the host, when it has vcan ---------------------------------------
ifname=eco2s$$
if vcan_host_has "$ifname"; then
	vcan_host_run "$ifname" "$data" \
		IF="$ifname" DATA="$data" SIM="$sim" REPLAY="$replay" WORK="$data"
fi

# ---- in a qemu guest -------------------------------------------------------
vcan_qemu_prepare sim-vcan
vcan_qemu_run \
	-b "$sim" -b "$replay" -b "$(command -v candump)" -b "$work/vcan-add" \
	-f "$data=/eco2/data" \
	-e IF=vcan0 -e DATA=/eco2/data -e SIM=eco2-sim -e REPLAY=trip-replay \
	-e VCAN_ADD=vcan-add -e WORK=/tmp
