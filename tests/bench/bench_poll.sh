#!/bin/bash
# bench_poll.sh — what asking ECUs costs, measured on a real kernel (one
# qemu boot; cross/qemu/): for each polled profile, eco2d polls eco2-sim's
# ECUs over CAN_ISOTP / CAN_J1939 on vcan0 while the car drives in real
# time, and then while it is parked:
#   - bus load added by polling: frames per second on the requests' and
#     answers' ids in a candump of the bus, and their bits (each frame's
#     worst case with stuff bits and interframe space, and without
#     stuffing) as a share of a 500 kbit/s bus;
#   - request-to-value latency (eco2d's own figures per request: mean, p50,
#     p95, max; on vcan under TCG, so an upper bound of the software's part);
#   - wakeups the poller adds when parked: eco2d's context switches over
#     PARK_S seconds of a parked car, against the broadcast-only reference
#     profile as the peer.
# Figures, not verdicts: nothing here fails on a number.
set -u
top=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ECO2_BUILD:-$top/build}
cache=${ECO2_QEMU_CACHE:-$build/qemu-cache}
q=$top/cross/qemu
guest=$top/tests/bench/poll/bench_guest.sh
PY=${PYTHON:-/usr/bin/python3}
DRIVE_S=${DRIVE_S:-30}
PARK_S=${PARK_S:-30}
SETTLE_S=${SETTLE_S:-10}
PROFILES=${PROFILES:-reference reference-poll obd2-ev hyundai-ioniq5 hyundai-kona-ev-poll j1939-poll}

for p in eco2d eco2ctl eco2-sim; do
	[ -x "$build/$p" ] || { echo "bench_poll: $build/$p not built"; exit 0; }
done
command -v candump >/dev/null || { echo "bench_poll: no candump (can-utils)"; exit 0; }
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
mkdir -p "$data/profiles"
cp "$top"/can/profiles/* "$data/profiles/"
# DRIVE_S seconds: up to 50 km/h, cruising, braking, still
awk -v d="$DRIVE_S" 'BEGIN { print "time_s,speed_kmh"; print "0,0"; print "2,0";
	print 2 + d / 5 ",50"; print d - 2 - d / 5 ",50"; print d - 2 ",0"; print d ",0" }' >"$data/drive.csv"

# shellcheck source=tests/integration/lib/vcan.sh
. "$top/tests/integration/lib/vcan.sh"
( vcan_qemu_prepare poll-bench ) >/dev/null || { echo "bench_poll: no qemu or kernel"; exit 0; }
work=$build/qemu/poll-bench
eval "$("$q/fetch-kernel.sh" x86_64 "$cache" 2>/dev/null)"
gcc -std=gnu11 -O2 -o "$work/vcan-add" "$q/vcan-add.c"
"$q/mkinitramfs.sh" -a x86_64 -o "$work/initrd.cpio.gz" -s "$guest" \
	-K "$MODULES" -m can -m can-raw -m can-dev -m vcan -m can-isotp -m can-j1939 \
	-b "$build/eco2d" -b "$build/eco2ctl" -b "$build/eco2-sim" -b "$(command -v candump)" \
	-b "$work/vcan-add" -f "$data=/eco2/data" \
	-e "PROFILES=$PROFILES" -e "PARK_S=$PARK_S" -e "SETTLE_S=$SETTLE_S" -c "$cache" \
	>"$work/mkinitramfs.log" 2>&1 || { echo "bench_poll: initramfs: $(tail -n 1 "$work/mkinitramfs.log")"; exit 0; }
rm -rf "$work/out"
"$q/run-vm.sh" -a x86_64 -k "$KERNEL" -i "$work/initrd.cpio.gz" -m 512 \
	-t $(( (DRIVE_S + PARK_S + SETTLE_S + 15) * 7 + 60 )) -O "$work/out" -l "$work/console.log" >/dev/null ||
	{ echo "bench_poll: the guest failed (console: $work/console.log)"; exit 0; }

"$PY" - "$work/out" "$data/profiles" "$DRIVE_S" $PROFILES <<'PY'
import os, re, sys
out, profdir, drive_s, profiles = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:]
LINE = re.compile(r"^\((\d+\.\d+)\) \S+ ([0-9A-F]{3}|[0-9A-F]{8})#([0-9A-F]*)$")

def bits(ext, n, stuffed):
    base = (67 if ext else 47) + 8 * n
    return base + ((54 if ext else 34) + 8 * n - 1) // 4 if stuffed else base

def poll_ids(path):
    ids, pgns, cur = set(), set(), None
    for line in open(path):
        line = line.split(";")[0].strip()
        if line.startswith("[poll."):
            cur = line
        elif cur and line.startswith("ecu"):
            tx, rx = line.split("=")[1].split()
            ids |= {int(tx, 16), int(rx, 16)}
        elif cur and line.startswith("j1939"):
            pgns.add(int(line.split("=")[1]))
    return ids, pgns

summary = {}
for line in open(os.path.join(out, "summary.txt")):
    f = line.split()
    summary[f[0]] = dict(x.split("=") for x in f[1:])
print("== bus load added by polling while driving (500 kbit/s; worst case = with stuff bits)")
print("  %-22s %8s %12s %10s %10s" % ("profile", "frames/s", "bits/s worst", "% worst", "% nominal"))
for p in profiles:
    ids, pgns = poll_ids(os.path.join(profdir, p + ".profile"))
    frames = []
    for line in open(os.path.join(out, "bus-%s.log" % p)):
        m = LINE.match(line.strip())
        if not m:
            continue
        id_, ext, n = int(m.group(2), 16), len(m.group(2)) == 8, len(m.group(3)) // 2
        pgn = id_ >> 8 & 0x3FFFF if ((id_ >> 16) & 0xFF) >= 240 else id_ >> 8 & 0x3FF00
        if id_ in ids or (ext and (pgn == 59904 or pgn in pgns)):
            frames.append((float(m.group(1)), ext, n))
    secs = float(summary[p]["drive_s"]) if p in summary and float(summary[p]["drive_s"]) > 0 else drive_s
    if not frames:
        print("  %-22s %8s (no polling: broadcast only)" % (p, "0"))
        continue
    worst = sum(bits(e, n, True) for _, e, n in frames) / secs
    nominal = sum(bits(e, n, False) for _, e, n in frames) / secs
    print("  %-22s %8.1f %12.0f %9.3f%% %9.3f%%" % (p, len(frames) / secs, worst, worst / 5e3, nominal / 5e3))
print("== request-to-value latency (eco2d, vcan under qemu TCG)")
for p in profiles:
    for line in open(os.path.join(out, "eco2d-%s.log" % p)):
        m = re.search(r"poll: (\[poll\.\S+\]) (\d+) asked, (\d+) answered \(latency (.*?)\)", line)
        if m:
            print("  %-22s %-18s %5s asked %5s answered  %s" % (p, m.group(1), m.group(2), m.group(3), m.group(4)))
print("== wakeups of eco2d while parked (context switches; the reference profile only listens)")
for p in profiles:
    s = summary.get(p)
    if s:
        print("  %-22s %4s in %s s" % (p, s["park_switches"], s["park_s"]))
PY
