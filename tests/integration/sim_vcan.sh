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

# ---- on the host, when it has vcan ---------------------------------------
ifname=eco2s$$
if [ "$(id -u)" = 0 ] && ip link add dev "$ifname" type vcan 2>/dev/null; then
	ip link delete "$ifname"
	trap 'ip link delete "$ifname" 2>/dev/null; rm -rf "$data"' EXIT
	echo "# host kernel $(uname -r) has vcan: testing on $ifname"
	printf '#!/bin/sh\nip link add dev "$1" type vcan && ip link set "$1" up\n' >"$data/vcan-add"
	chmod +x "$data/vcan-add"
	IF=$ifname DATA=$data SIM=$sim REPLAY=$replay WORK=$data VCAN_ADD=$data/vcan-add \
		sh "$guest" >"$data/tap"
	rc=$?
	cat "$data/tap"
	echo "1..$(grep -cE '^(not )?ok ' "$data/tap")"
	exit $rc
fi

# ---- in a qemu guest -------------------------------------------------------
for t in qemu-system-x86_64 cpio readelf gcc dpkg-deb apt-get; do
	command -v $t >/dev/null 2>&1 ||
		{ echo "skip: no vcan on this host and $t (for the qemu guest) is missing"; exit 77; }
done
[ -x "$q/run-vm.sh" ] || { echo "skip: cross/qemu harness missing"; exit 77; }
work=$build/qemu/sim-vcan
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
	-b "$sim" -b "$replay" -b "$(command -v candump)" -b "$work/vcan-add" \
	-f "$data=/eco2/data" \
	-e IF=vcan0 -e DATA=/eco2/data -e SIM=eco2-sim -e REPLAY=trip-replay \
	-e VCAN_ADD=vcan-add -e WORK=/tmp -c "$cache" >"$work/mkinitramfs.log" 2>&1 ||
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
