#!/bin/bash
# agent_storefull.sh — the store refuses records (its [queue] max_bytes is
# reached, nothing uploaded to prune): eco2d keeps measuring, keeps the
# finished records in memory and in its checkpoint, and says so once; a
# restart after the quota is raised stores every one of them, none twice,
# none lost, in one chain that verifies — the very records an uninterrupted
# run makes.
. "$(dirname "$0")/agent/lib.sh"
make_key

# Many short trips: more records than a 64 KiB store holds. One trace of
# 200 short drives, each followed by 4 s standing still, which ends a trip
# with [trip] idle_end_s = 2.
"$PYTHON" - "$W/short.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("time_s,speed_kmh\n")
    t = 0
    for i in range(200):
        for dt, v in ((0, 0), (2, 0), (8, 30), (16, 30), (22, 0), (26, 0)):
            f.write("%d,%d\n" % (t + dt, v))
        t += 27
PY
"$B/eco2-sim" --cycle "$W/short.csv" --out "$W/drive.log" > "$W/truth.json"
# The oracle: the same log into a store with room, uninterrupted.
write_conf "$W/ref.conf" "$W/ref.db" '[queue]' 'max_bytes = 16M' '[trip]' 'idle_end_s = 2'
"$B/eco2d" -c "$W/ref.conf" --replay "$W/drive.log" --exit-at-end 2> /dev/null
"$B/eco2ctl" -c "$W/ref.conf" export > "$W/ref.cbor" 2>/dev/null
trips=$("$B/eco2-verify" --pubkey "$W/dev.pub" --json "$W/ref.cbor" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["records"])')
check "uninterrupted: $trips records" [ "$trips" -gt 150 ]

write_conf "$W/full.conf" "$W/s.db" '[queue]' 'max_bytes = 64K' '[trip]' 'idle_end_s = 2'
"$B/eco2d" -c "$W/full.conf" --replay "$W/drive.log" 2> "$W/run1.log" &
D=$!
PIDS+=("$D")
for _ in $(seq 200); do grep -q 'end of log' "$W/run1.log" && break; sleep 0.1; done
check "the log is read to its end while the store refuses" grep -q 'end of log' "$W/run1.log"
kill -TERM "$D"
wait "$D"
rc=$?
n1=$("$PYTHON" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from records").fetchone()[0])' "$W/s.db")
check "the quota stopped the store short of all $trips records ($n1 stored)" [ "$n1" -lt "$trips" ]
check "the refusal is logged, rate-limited ($(grep -c 'cannot store record' "$W/run1.log") lines)" \
	eval '[ "$(grep -c "cannot store record" "$W/run1.log")" -ge 1 ] && [ "$(grep -c "cannot store record" "$W/run1.log")" -le 2 ]'
check "SIGTERM with records waiting: exit 1, saying where they wait" \
	eval '[ $rc -eq 1 ] && grep -q "stay in the checkpoint" "$W/run1.log"'
# The checkpoint lives in the same store, under the same quota: it holds
# the records waiting when it could last be written (here the first
# refused one; a replay regenerates the rest from the frames after it).
"$B/eco2ctl" -c "$W/full.conf" status > "$W/status.txt"
check "eco2ctl status shows records waiting: $(grep '^waiting' "$W/status.txt")" \
	grep -qE "^waiting: +[1-9][0-9]* finished records" "$W/status.txt"

# Room again: the same log, the quota raised.
write_conf "$W/room.conf" "$W/s.db" '[queue]' 'max_bytes = 16M' '[trip]' 'idle_end_s = 2'
"$B/eco2d" -c "$W/room.conf" --replay "$W/drive.log" --exit-at-end 2> "$W/run2.log"
check "restart with room: exit 0" [ $? -eq 0 ]
"$B/eco2ctl" -c "$W/room.conf" export > "$W/all.cbor" 2>/dev/null
"$B/eco2-verify" --pubkey "$W/dev.pub" --json "$W/all.cbor" > "$W/v.json"
check "the chain verifies" [ $? -eq 0 ]
# Ed25519 signatures are deterministic: the same records make the same bytes.
check "the records are those of the uninterrupted run, byte for byte" cmp -s "$W/ref.cbor" "$W/all.cbor"
finish
