#!/bin/bash
# cross_vm_system.sh — the daemon on real kernels, x86_64, arm64 and armhf:
# boot Debian's kernel under qemu (cross/qemu/) with eco2d, eco2ctl, eco2-sim
# built for that architecture and their libraries; eco2ctl makes the device
# key, eco2-sim drives a short cycle onto vcan0, eco2d turns it into signed
# records (with its seccomp filter on a real kernel), eco2ctl exports them.
# On the host: eco2-verify checks every signature against the guest's public
# key, and python3-cbor2 compares the records' distance and discharged
# energy with the simulator's truth (one odometer step; 2 % + 1 Wh) and the
# record times with the guest's clock. The guest side is
# tests/integration/cross/system_guest.sh. ECO2_VM_ARCHES picks targets.
#
# arm64/armhf programs link the multiarch libraries when installed, else a Debian
# sysroot from cross/mksysroot.sh (ECO2_CROSS_SYSROOT=1 forces it). A target
# whose toolchain, qemu or kernel is missing is a SKIP line with the reason;
# all missing: exit 77.
set -u
top=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ECO2_BUILD:-$top/build}
cache=${ECO2_QEMU_CACHE:-$build/qemu-cache}
PYTHON=${PYTHON:-/usr/bin/python3}
q=$top/cross/qemu
guest=$top/tests/integration/cross/system_guest.sh
unset MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES
GUEST_TAPS=12
HOST_TAPS=5

for t in cpio readelf dpkg-deb apt-get; do
	command -v "$t" >/dev/null 2>&1 || { echo "skip: $t not installed"; exit 77; }
done
[ -x "$build/eco2-verify" ] || { echo "skip: $build/eco2-verify not built"; exit 77; }
"$PYTHON" -c 'import cbor2' 2>/dev/null || { echo "skip: $PYTHON has no cbor2 (python3-cbor2)"; exit 77; }
mkdir -p "$cache"

n=0 failed=0 ran=0
tap() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi; }
skip_arch() {
	local i
	for i in $(seq $((2 + GUEST_TAPS + HOST_TAPS))); do n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; done
}

# The memory limit of the systemd unit, applied in the guest as systemd
# would (a cgroup v2 memory.max).
memory_max=$(sed -n 's/^MemoryMax=//p' "$top/agent/eco2d.service")

# A short drive, paced in real time (with --speedup the kernel timestamps
# compress time, and every integral, distance between odometer ticks aside,
# shrinks by that factor): 3 s up to 36 km/h, 17 s cruising, 3 s braking,
# 2 s still, about 200 m.
cycle=$build/qemu/system-cycle.csv
mkdir -p "$build/qemu"
printf 'time_s,speed_kmh\n0,0\n3,36\n20,36\n23,0\n25,0\n' >"$cycle"

run_arch() { # run_arch x86_64|arm64
	local arch=$1 qemu cc bin work kinfo rc p
	work=$build/qemu/system-$arch
	local epoch=
	case $arch in
	x86_64) qemu=qemu-system-x86_64 cc=gcc bin=$build ;;
	arm64) qemu=qemu-system-aarch64 cc=aarch64-linux-gnu-gcc bin=$build/cross-system-arm64 ;;
	# ECO2_VM_ARMHF_EPOCH=4102444800 runs the 32-bit target in 2100. With
	# Debian 12's armhf libraries that fails in SQLite (built with a 32-bit
	# time_t: fstat() of the store gives EOVERFLOW, "disk I/O error"): a
	# limit of that userland, not of eco2d, so not the default.
	armhf) qemu=qemu-system-arm cc=arm-linux-gnueabihf-gcc bin=$build/cross-system-armhf
		epoch=${ECO2_VM_ARMHF_EPOCH:-} ;;
	esac
	command -v $qemu >/dev/null 2>&1 || { skip_arch $arch "$qemu not installed"; return; }
	command -v $cc >/dev/null 2>&1 || { skip_arch $arch "$cc not installed"; return; }
	rm -rf "$work"
	mkdir -p "$work"
	local sysroot=
	if [ $arch != x86_64 ]; then
		# The multiarch libraries when installed, else a Debian sysroot
		# (ECO2_CROSS_SYSROOT=1 forces the sysroot).
		if [ "${ECO2_CROSS_SYSROOT:-0}" = 1 ] ||
			[ "$(dpkg-query -W -f='${db:Status-Status}' libcurl4-openssl-dev:$arch 2>/dev/null)" != installed ]; then
			sysroot=$build/sysroot-$arch
			bin=$bin-sysroot
			"$top/cross/mksysroot.sh" $arch "$sysroot" >"$work/mksysroot.log" 2>&1 ||
				{ skip_arch $arch "no $arch libraries: $(tail -n 1 "$work/mksysroot.log")"; return; }
		fi
		# The toolchain is there: a build failure is a failure.
		if ! (cd "$top" && make --no-print-directory ARCH=$arch O="$bin" ${sysroot:+SYSROOT="$sysroot"} -j2 \
			"$bin/eco2d" "$bin/eco2ctl" "$bin/eco2-sim") >"$work/build.log" 2>&1; then
			tap 1 "$arch: eco2d, eco2ctl and eco2-sim build ($(grep -m1 -E 'error|No such' "$work/build.log"))"
			ran=1
			skip_arch $arch "did not build"
			return
		fi
	fi
	for p in eco2d eco2ctl eco2-sim; do
		[ -x "$bin/$p" ] || { skip_arch $arch "$bin/$p not built"; return; }
	done
	if readelf -d "$bin/eco2d" | grep -qE 'lib(a|ub)san'; then
		skip_arch $arch "a sanitizer build (the guest has no room for its shadow memory)"
		return
	fi
	kinfo=$("$q/fetch-kernel.sh" $arch "$cache" 2>"$work/fetch.log") ||
		{ skip_arch $arch "no Debian kernel: $(tail -n 1 "$work/fetch.log")"; return; }
	local KERNEL= MODULES= KVER=
	eval "$kinfo"
	ran=1

	$cc ${sysroot:+--sysroot="$sysroot"} -std=gnu11 -O2 -Wall -Wextra -o "$work/vcan-add" "$q/vcan-add.c" &&
		$cc ${sysroot:+--sysroot="$sysroot"} -std=gnu11 -O2 -Wall -Wextra -D_FILE_OFFSET_BITS=64 \
			-D_TIME_BITS=64 -o "$work/set-clock" "$q/set-clock.c"
	tap $? "$arch: vcan-add and set-clock build"
	[ -n "$memory_max" ]
	tap $? "$arch: agent/eco2d.service sets MemoryMax= (${memory_max:-none}), tested in the guest"
	"$q/mkinitramfs.sh" -a $arch -o "$work/initrd.cpio.gz" -s "$guest" \
		-K "$MODULES" -m can-raw -m vcan \
		-b "$bin/eco2d" -b "$bin/eco2ctl" -b "$bin/eco2-sim" -b "$work/vcan-add" -b "$work/set-clock" \
		-f "$top/can/profiles=/eco2/profiles" -f "$cycle=/eco2/cycle.csv" \
		-e TAP_BASE=$((n + 1)) -e MEMORY_MAX="${memory_max:-max}" -e SPEEDUP=1 -e VM_EPOCH=$epoch -e HOST_EPOCH="$(date +%s)" -c "$cache" ${sysroot:+-R "$sysroot"} \
		>"$work/mkinitramfs.log" 2>&1
	tap $? "$arch: initramfs with eco2d, eco2ctl, eco2-sim and their libraries ($KVER${sysroot:+, libraries from a Debian sysroot})"
	"$q/run-vm.sh" -a $arch -k "$KERNEL" -i "$work/initrd.cpio.gz" -t 240 -m 512 \
		-O "$work/out" -l "$work/console.log"
	rc=$?
	n=$((n + GUEST_TAPS))
	tap $rc "$arch: guest finished with status 0 (got $rc; console: $work/console.log)"
	if [ $rc -ne 0 ]; then
		for p in eco2d sim export; do
			[ -f "$work/out/$p.log" ] && sed "s/^/# $p: /" "$work/out/$p.log" | tail -5
		done
	fi

	[ -s "$work/out/records.cbor" ] &&
		"$build/eco2-verify" --pubkey "$work/out/device.pub.pem" "$work/out/records.cbor" \
			>"$work/verify.log" 2>&1
	tap $? "$arch: eco2-verify (host) accepts every record the $arch eco2d signed"
	"$PYTHON" - "$work/out/records.cbor" "$work/out/truth.json" "$epoch" >"$work/compare.log" 2>&1 <<'PY'
import io, json, sys, time
import cbor2
recs = []
data = open(sys.argv[1], "rb").read()
bio = io.BytesIO(data)
dec = cbor2.CBORDecoder(bio)
while bio.tell() < len(data):            # a CBOR sequence of COSE_Sign1
    recs.append(cbor2.loads(dec.decode().value[2]))
truth = json.load(open(sys.argv[2]))
trips = [r for r in recs if r[4] == 1]
dist = sum(r[9] for r in trips)
step = truth.get("odo_resolution_m", 100)
flags = " ".join(hex(r[18]) for r in trips)
wh = sum(r[10] for r in trips)
print(f"records {len(recs)} trips {len(trips)} distance_m {dist} truth {truth['distance_m']}, "
      f"discharge_wh {wh} truth {truth['discharge_wh']}, flags {flags}")
# Record times: the guest clock, the host's or the epoch it was set to.
if sys.argv[3]:
    lo, hi = int(sys.argv[3]), int(sys.argv[3]) + 3600
else:
    lo, hi = time.time() - 86400 * 2, time.time() + 86400 * 2
print(f"start_s {' '.join(str(r[5]) for r in trips)}")
ok = trips and abs(dist - truth["distance_m"]) <= step and \
    abs(wh - truth["discharge_wh"]) <= 1 + 0.02 * truth["discharge_wh"] and \
    all(lo <= r[5] <= r[6] < hi for r in trips)
sys.exit(0 if ok else 1)
PY
	tap $? "$arch: distance within one odometer step, discharge within 2 % + 1 Wh of the simulator's truth, times from the guest clock ($(head -n 2 "$work/compare.log" | tr '\n' ' '))"
}

# The targets run side by side (most of each run is the simulator's
# real-time drive); their TAP lines are numbered afresh in target order.
arches=${ECO2_VM_ARCHES:-x86_64 arm64 armhf}
res=$build/qemu/system-results
rm -rf "$res"
mkdir -p "$res"
for a in $arches; do
	(
		n=0 failed=0 ran=0
		run_arch "$a" >"$res/$a.tap" 2>&1
		echo "$failed $ran" >"$res/$a.status"
	) &
done
wait
for a in $arches; do
	cat "$res/$a.tap"
done | awk '/^(not )?ok [0-9]+/ { sub(/ok [0-9]+/, "ok " ++i) } { print } END { print "1.." i }'
for a in $arches; do
	read -r f r <"$res/$a.status" || { f=1 r=1; }
	[ "$f" = 0 ] || failed=1
	[ "$r" = 0 ] || ran=1
done
[ $ran -eq 1 ] || { echo "skip: no architecture could boot (see the SKIP lines)"; exit 77; }
exit $failed
