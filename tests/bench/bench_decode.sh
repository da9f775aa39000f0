#!/bin/bash
# bench_decode — CAN decode throughput, printed (never asserted).
#
# A vehicle-like bus log (tests/bench/decode/bench.dbc; 200k frames: 80% the
# profile's 4 messages, 20% other traffic) is decoded with a profile of 8
# signals (Intel, Motorola, signed, negative factor, multiplexed):
#   - binary path: frames in memory -> decode_frame (frames/s, ns/frame),
#   - text path: candump line parse + decode (lines/s), in memory and
#     streamed from the file by the replay reader,
#   - instructions per frame / line from callgrind (the stable figure),
#   - python3-canmatrix decoding the same log, as a ratio;
#   - end to end as users run it: `eco2ctl decode --json` over a
#     1-million-line log of the same traffic (the first 200k lines are the
#     log above), lines/s (best of 3, output to /dev/null) and callgrind
#     instructions per line, beside python3-canmatrix decoding the same
#     lines and writing the same JSON lines.
# Goals (issue 3): >= 20 M frames/s (<= 50 ns/frame), >= 5 M lines/s.
# Goal (issue 16): eco2ctl decode --json >= 5 M lines/s and >= 40x canmatrix.
set -u
src=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ECO2_BUILD:-$src/build}
py=${PYTHON:-/usr/bin/python3}
bench=$build/bench-decode
ctl=$build/eco2ctl
[ -x "$bench" ] || { echo "bench-decode not built in $build (make O=... all)"; exit 77; }
dbc=$src/tests/bench/decode/bench.dbc
sigs=Odo.Odometer,Speed.VehSpeed,Battery.PackVoltage,Battery.PackCurrent,Energy.DischargeTotal,Energy.RegenTotal,Speed.Ignition,Speed.Charging
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$py" - "$work/big.log" <<'PY'
import random, sys
rnd = random.Random(1)
profile = [(950, False), (306, False), (599, False), (1010, False)]
other = [(291, False), (0x18FEF1FE, True), (1200, False), (0x7E8, False), (0x100, False)]
t = 1700000000_000000
out = []
for i in range(1000000):
    t += 97
    ident, ext = rnd.choice(profile) if rnd.random() < 0.8 else rnd.choice(other)
    data = bytearray(rnd.getrandbits(8) for _ in range(8))
    if ident == 1010:
        data[0] = (data[0] & ~7) | rnd.choice((2, 3, 4))
    out.append("(%d.%06d) can0 %s#%s" % (t // 1000000, t % 1000000,
               ("%08X" if ext else "%03X") % ident, data.hex().upper()))
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
head -n 200000 "$work/big.log" >"$work/bus.log"
lines=$(wc -l <"$work/bus.log")

echo "profile: 8 signals; log: $lines frames ($(basename "$dbc"))"
"$bench" "$dbc" "$work/bus.log" "$sigs" 20 >"$work/res" || { echo "bench-decode failed"; exit 1; }
get() { awk -v k="$1" '$1 == k { print $2 }' "$work/res"; }
printf '%-34s %12s   (goal >= 20000000, <= 50 ns)\n' "binary decode frames/s" "$(get binary_frames_per_s)"
printf '%-34s %12s\n' "binary decode ns/frame" "$(get binary_ns_per_frame)"
printf '%-34s %12s   (goal >= 5000000)\n' "text parse+decode lines/s" "$(get text_lines_per_s)"
printf '%-34s %12s\n' "text parse+decode ns/line" "$(get text_ns_per_line)"
printf '%-34s %12s\n' "replay (canlog_next+decode) lines/s" "$(get reader_lines_per_s)"

if command -v valgrind >/dev/null 2>&1; then
	for pass in binary text reader; do
		valgrind --tool=callgrind --callgrind-out-file="$work/cg.$pass" \
			--toggle-collect="bench_${pass}_pass" "$bench" "$dbc" "$work/bus.log" "$sigs" 1 \
			>/dev/null 2>"$work/cg.$pass.err" || { echo "callgrind failed"; continue; }
		ir=$(awk '/^summary:/ { print $2 }' "$work/cg.$pass")
		# the pass runs twice (warm-up + 1 timed) over every frame
		printf '%-34s %12s\n' "$pass instructions per frame" \
			"$(awk -v ir="$ir" -v n="$lines" 'BEGIN { printf "%.1f", ir / (2 * n) }')"
	done
else
	echo "callgrind: valgrind not installed"
fi

if "$py" -c 'import canmatrix.formats' 2>/dev/null; then
	head -n 20000 "$work/bus.log" >"$work/small.log"
	cm=$("$py" - "$dbc" "$work/small.log" 2>/dev/null <<'PY'
import sys, time
import canmatrix, canmatrix.formats
db = canmatrix.formats.loadp_flat(sys.argv[1])
lines = open(sys.argv[2]).read().splitlines()
t0 = time.perf_counter()
n = 0
for line in lines:
    ts, iface, frame = line.split()
    ident, data = frame.split("#", 1)
    f = db.frame_by_id(canmatrix.ArbitrationId(int(ident, 16), extended=len(ident) == 8))
    if f is not None:
        f.decode(bytes.fromhex(data))
    n += 1
print("%.0f" % (n / (time.perf_counter() - t0)))
PY
)
	printf '%-34s %12s\n' "python3-canmatrix lines/s" "$cm"
	awk -v a="$(get text_lines_per_s)" -v b="$cm" 'BEGIN { if (b > 0) printf "%-34s %12.0fx\n", "eco2 text path / canmatrix", a / b }'
else
	echo "python3-canmatrix: not installed"
fi

# ---- eco2ctl decode --json, end to end ------------------------------------
if [ -x "$ctl" ]; then
	big=$(wc -l <"$work/big.log")
	# best of 5 by wall time, and by CPU time (user + system: less moved
	# by other work on a shared machine)
	best= best_cpu=
	for run in 1 2 3 4 5; do
		TIMEFORMAT='%R %U %S'
		t=$( { time "$ctl" decode --dbc "$dbc" --json "$work/big.log" >/dev/null; } 2>&1 ) ||
			{ echo "eco2ctl decode failed"; break; }
		read -r wall user sys <<<"$(echo "$t" | tail -n 1)"
		cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
		if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$wall; fi
		if [ -z "$best_cpu" ] || awk -v a="$cpu" -v b="$best_cpu" 'BEGIN { exit !(a < b) }'; then best_cpu=$cpu; fi
	done
	ctl_lps=$(awk -v n="$big" -v s="$best" 'BEGIN { printf "%.0f", n / s }')
	echo "eco2ctl decode --json: $big lines, $best s wall, $best_cpu s CPU (best of 5)"
	printf '%-34s %12s   (goal >= 5000000)\n' "decode --json lines/s" "$ctl_lps"
	printf '%-34s %12s\n' "decode --json lines/CPU-s" "$(awk -v n="$big" -v s="$best_cpu" 'BEGIN { printf "%.0f", n / s }')"
	"$ctl" decode --dbc "$dbc" --json "$work/bus.log" | wc -c | awk -v n="$lines" '{ printf "%-34s %12.1f\n", "decode --json bytes/line", $1 / n }'
	if command -v valgrind >/dev/null 2>&1; then
		valgrind --tool=callgrind --callgrind-out-file="$work/cg.ctl" \
			"$ctl" decode --dbc "$dbc" --json "$work/bus.log" >/dev/null 2>"$work/cg.ctl.err" &&
		awk -v n="$lines" '/^summary:/ { printf "%-34s %12.1f\n", "decode --json instructions/line", $2 / n }' "$work/cg.ctl"
	fi
	if "$py" -c 'import canmatrix.formats' 2>/dev/null; then
		head -n 50000 "$work/big.log" >"$work/cm.log"
		cmj=$("$py" - "$dbc" "$work/cm.log" 2>/dev/null <<'PY'
import json, os, sys, time
import canmatrix, canmatrix.formats
db = canmatrix.formats.loadp_flat(sys.argv[1])
lines = open(sys.argv[2]).read().splitlines()
out = open(os.devnull, "w")
t0 = time.perf_counter()
for line in lines:
    ts, iface, frame = line.split()
    ident, data = frame.split("#", 1)
    f = db.frame_by_id(canmatrix.ArbitrationId(int(ident, 16), extended=len(ident) == 8))
    if f is None:
        continue
    dec = f.decode(bytes.fromhex(data))
    if dec:
        out.write(json.dumps({"t": float(ts[1:-1]), "id": f.arbitration_id.id, "name": f.name,
                              "signals": {k: float(v.phys_value) for k, v in dec.items()}},
                             separators=(",", ":")) + "\n")
print("%.0f" % (len(lines) / (time.perf_counter() - t0)))
PY
)
		printf '%-34s %12s\n' "python3-canmatrix --json lines/s" "$cmj"
		awk -v a="$ctl_lps" -v b="$cmj" 'BEGIN { if (b > 0) printf "%-34s %12.1fx   (goal >= 40x)\n", "decode --json / canmatrix", a / b }'
	fi
else
	echo "eco2ctl not built: no decode --json figure"
fi
