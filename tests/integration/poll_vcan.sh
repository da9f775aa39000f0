#!/bin/bash
# poll_vcan.sh — eco2d polling eco2-sim's ECUs through the kernel's
# CAN_ISOTP and CAN_J1939 sockets on vcan (tests/integration/poll/
# poll_guest.sh): a WLTC drive against the simulator's truth, parking,
# refusals, "response pending", silence, late answers, a J1939 request,
# and a candump of the bus showing that eco2d sent nothing but its
# declared requests.
#
# Where this host can create a vcan interface and has the ISO-TP and J1939
# protocols the test runs here; otherwise it boots Debian's kernel under
# qemu (cross/qemu/, the can-isotp and can-j1939 modules loaded) in ONE
# boot. Exit 77 with the reason when neither works.
set -u
top=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ECO2_BUILD:-$top/build}
cache=${ECO2_QEMU_CACHE:-$build/qemu-cache}
guest=$top/tests/integration/poll/poll_guest.sh
q=$top/cross/qemu

for p in eco2d eco2ctl eco2-sim; do
	[ -x "$build/$p" ] || { echo "skip: $build/$p not built"; exit 77; }
done
command -v candump >/dev/null 2>&1 || { echo "skip: can-utils' candump not installed"; exit 77; }
if readelf -d "$build/eco2d" 2>/dev/null | grep -qE 'lib(a|ub)san'; then
	echo "skip: a sanitizer build (the guest has no room for its shadow memory)"
	exit 77
fi

data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
mkdir -p "$data/profiles"
cp "$top"/can/profiles/reference* "$top"/can/profiles/j1939* "$data/profiles/"
# The WLTC with 10 s standing before and 20 s after, and a short drive with
# the same waits: at 80x a wait is 125-250 ms of real time, so a request
# comes while the car stands even when the guest's CPU is shared; the
# simulator's truth counts the waits too.
awk -F, '/^[0-9]/ { print $1 + 10 "," $2; last = $1 + 10; next }
	/^time_s/ { print; print "0,0"; next }
	END { print last + 20 ",0" }' "$top/can/sim/cycles/wltc_class3b.csv" >"$data/wltc_waits.csv"
printf 'time_s,speed_kmh\n0,0\n10,0\n15,40\n23,40\n28,0\n40,0\n' >"$data/drive_waits.csv"
# 20 s: 5 s up to 40 km/h, 8 s cruising, 5 s braking
printf 'time_s,speed_kmh\n0,0\n1,0\n6,40\n14,40\n19,0\n20,0\n' >"$data/drive.csv"

# shellcheck source=tests/integration/lib/vcan.sh
. "$top/tests/integration/lib/vcan.sh"

# ---- on the host, when it has vcan, ISO-TP and J1939 ------------------------------
ifname=eco2p$$
if vcan_host_has "$ifname" && [ -d /sys/module/can_isotp ] && [ -d /sys/module/can_j1939 ]; then
	vcan_host_run "$ifname" "$data" \
		IF="$ifname" DATA="$data" WORK="$data" PATH="$build:$PATH"
fi

# ---- in a qemu guest ----------------------------------------------------------------
vcan_qemu_prepare poll-vcan
vcan_qemu_run -m can-isotp -m can-j1939 \
	-b "$build/eco2d" -b "$build/eco2ctl" -b "$build/eco2-sim" \
	-b "$(command -v candump)" -b "$work/vcan-add" \
	-f "$data=/eco2/data" \
	-e IF=vcan0 -e DATA=/eco2/data -e VCAN_ADD=vcan-add -e WORK=/tmp
