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
#   - python3-canmatrix decoding the same log, as a ratio.
# Goals (issue 3): >= 20 M frames/s (<= 50 ns/frame), >= 5 M lines/s.
set -u
src=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ECO2_BUILD:-$src/build}
py=${PYTHON:-/usr/bin/python3}
bench=$build/bench-decode
[ -x "$bench" ] || { echo "bench-decode not built in $build (make O=... all)"; exit 77; }
dbc=$src/tests/bench/decode/bench.dbc
sigs=Odo.Odometer,Speed.VehSpeed,Battery.PackVoltage,Battery.PackCurrent,Energy.DischargeTotal,Energy.RegenTotal,Speed.Ignition,Speed.Charging
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$py" - "$work/bus.log" <<'PY'
import random, sys
rnd = random.Random(1)
profile = [(950, False), (306, False), (599, False), (1010, False)]
other = [(291, False), (0x18FEF1FE, True), (1200, False), (0x7E8, False), (0x100, False)]
t = 1700000000_000000
out = []
for i in range(200000):
    t += 97
    ident, ext = rnd.choice(profile) if rnd.random() < 0.8 else rnd.choice(other)
    data = bytearray(rnd.getrandbits(8) for _ in range(8))
    if ident == 1010:
        data[0] = (data[0] & ~7) | rnd.choice((2, 3, 4))
    out.append("(%d.%06d) can0 %s#%s" % (t // 1000000, t % 1000000,
               ("%08X" if ext else "%03X") % ident, data.hex().upper()))
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
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
