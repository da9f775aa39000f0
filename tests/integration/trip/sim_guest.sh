# sim_guest.sh — eco2-sim live on a real kernel's vcan, run by busybox sh
# inside the qemu guest (or by sh on a host that has vcan). Prints TAP
# lines and exits non-zero if one failed.
#
# Environment: IF (interface, default vcan0), DATA (folder with profiles/
# and drive.csv), SIM (eco2-sim), REPLAY (trip-replay), VCAN_ADD (command
# creating and upping $IF), WORK (scratch folder). Needs candump.
IF=${IF:-vcan0}
DATA=${DATA:-/eco2/data}
SIM=${SIM:-eco2-sim}
REPLAY=${REPLAY:-trip-replay}
VCAN_ADD=${VCAN_ADD:-vcan-add}
WORK=${WORK:-/tmp}
n=0
rc=0

tap() { # tap STATUS WHAT
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; rc=1; fi
}
num() { # num FILE KEY: the first number after "KEY": in FILE
	grep -o "\"$2\":[-0-9.]*" "$1" | head -n 1 | cut -d: -f2
}

$VCAN_ADD "$IF" || { tap 1 "create $IF"; exit 1; }
profile=$DATA/profiles/reference.profile

# Real time: capture what the kernel delivers, replay it through the trip
# calculator, compare with the simulator's truth.
candump -L "$IF" >"$WORK/cap.log" 2>"$WORK/candump.err" &
dump=$!
sleep 1
t0=$(date +%s)
$SIM --profile "$profile" --cycle "$DATA/drive.csv" --iface "$IF" >"$WORK/truth.json" 2>"$WORK/sim.err"
tap $? "eco2-sim --iface $IF drives a 20-s cycle in real time"
t1=$(date +%s)
sleep 1
kill $dump 2>/dev/null
wait $dump 2>/dev/null
el=$((t1 - t0))
[ $el -ge 19 ] && [ $el -le 25 ]
tap $? "real-time pacing: 20 s of driving took $el s"
sent=$(num "$WORK/truth.json" frames)
got=$(grep -c . "$WORK/cap.log")
[ "$sent" = "$got" ]
tap $? "every frame sent arrived ($got of $sent)"
$REPLAY --profile "$profile" "$WORK/cap.log" >"$WORK/recs.jsonl" 2>"$WORK/replay.err"
tap $? "trip-replay reads the capture"
trips=$(grep -c '"type":1' "$WORK/recs.jsonl")
[ "$trips" = 1 ]
tap $? "one trip from the live capture (got $trips)"
want=$(num "$WORK/truth.json" distance_m)
have=$(num "$WORK/recs.jsonl" distance_m)
awk -v a="$have" -v b="$want" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 10) }'
tap $? "distance $have m vs truth $want m (within 10 m)"
want=$(num "$WORK/truth.json" discharge_wh)
have=$(num "$WORK/recs.jsonl" discharge_wh)
awk -v a="$have" -v b="$want" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.03 * b + 1) }'
tap $? "discharge $have Wh vs truth $want Wh (within 3 %: kernel stamps carry the pacing jitter)"

# --speedup: the same drive ten times faster.
t0=$(date +%s)
$SIM --profile "$profile" --cycle "$DATA/drive.csv" --iface "$IF" --speedup 10 >/dev/null 2>&1
tap $? "eco2-sim --speedup 10"
t1=$(date +%s)
el=$((t1 - t0))
[ $el -le 6 ]
tap $? "--speedup 10: 20 s of driving took $el s"
exit $rc
