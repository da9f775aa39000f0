#!/bin/bash
# bench_trip — eco2-sim and the trip calculator, figures printed (never
# asserted):
#   - eco2-sim: WLTC class 3b into a candump log (frames/s written);
#   - trip-replay: that log through the reference profile and the trip
#     calculator (lines/s, end to end: candump parse, decode, trip);
#   - callgrind instructions per frame for the replay, and the share spent
#     in the trip calculator itself (trip_sample), the stable figures.
set -u
src=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ECO2_BUILD:-$src/build}
sim=$build/eco2-sim
replay=$build/trip-replay
profile=$src/can/profiles/reference.profile
[ -x "$sim" ] && [ -x "$replay" ] || { echo "eco2-sim or trip-replay not built in $build"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

secs() { # secs CMD...: wall seconds of the best of three runs
	best=
	for _ in 1 2 3; do
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1
		e=$(date +%s.%N)
		best=$(awk -v b="$best" -v d="$(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }')" \
			'BEGIN { if (b == "" || d < b) print d; else print b }')
	done
	echo "$best"
}

"$sim" --profile "$profile" --cycle "$src/can/sim/cycles/wltc_class3b.csv" --out "$work/wltc.log" >/dev/null
frames=$(wc -l <"$work/wltc.log")
t=$(secs "$sim" --profile "$profile" --cycle "$src/can/sim/cycles/wltc_class3b.csv" --out "$work/w2.log")
awk -v n="$frames" -v t="$t" 'BEGIN { printf "eco2-sim WLTC 3b: %d frames in %.3f s: %.2f M frames/s (1800 s of driving in 1-ms steps)\n", n, t, n / t / 1e6 }'
t=$(secs "$replay" --profile "$profile" "$work/wltc.log")
awk -v n="$frames" -v t="$t" 'BEGIN { printf "trip-replay: %d lines in %.3f s: %.2f M lines/s (parse + decode + trip)\n", n, t, n / t / 1e6 }'

if command -v valgrind >/dev/null 2>&1 && command -v callgrind_annotate >/dev/null 2>&1; then
	head -n 100000 "$work/wltc.log" >"$work/part.log"
	valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
		"$replay" --profile "$profile" "$work/part.log" >/dev/null 2>"$work/vg.err"
	total=$(callgrind_annotate "$work/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
	tripc=$(callgrind_annotate --inclusive=yes "$work/cg.out" 2>/dev/null |
		awk '/trip_sample/ { gsub(",", "", $1); print $1; exit }')
	awk -v a="$total" -v b="${tripc:-0}" -v n=100000 'BEGIN {
		printf "callgrind: %.0f instructions per line end to end; trip_sample %.0f per line (%.1f %%)\n",
			a / n, b / n, a ? 100 * b / a : 0 }'
else
	echo "callgrind: valgrind not installed"
fi
