#!/bin/bash
# agent_storefull.sh — a full store never loses a finished trip, and the
# log says only what is true. The oracle each time: the same drive into a
# store with room, uninterrupted (Ed25519 signatures are deterministic, so
# the same records are the same bytes).
#   (1) The quota: [queue] max_bytes = 64K, 200 short trips replayed,
#       SIGTERM after the end of the log; the records the quota refused
#       wait in the checkpoint (kept outside the quota). The quota raised,
#       eco2d restarts with no frames (what a live restart is): every
#       finished trip is stored, byte for byte those of the uninterrupted
#       run.
#   (2) kill -9 at random points while the quota is reached
#       (AGENT_FULL_ROUNDS, 50; make soak: 1000), the same drive replayed
#       and resumed each time; then to its end, the quota raised and a
#       restart with no frames: nothing lost, nothing duplicated (the
#       payloads of the uninterrupted run, seq for seq, but for the resumed
#       flag of trips a kill cut through), nothing forged (every record
#       verifies, no checkpoint was ever refused, no state break).
#   (3) A really full disk: the store on a small tmpfs that another writer
#       keeps full while three trips are driven (mount needs root; skipped
#       with the reason where it is refused). Space freed, a restart with no
#       frames: all three trips, byte for byte.
. "$(dirname "$0")/agent/lib.sh"
make_key
: > "$W/none.log"
# The stores of (1) and (2) on tmpfs where there is one: a commit's fsync
# is not what they are about, and on a slow disk it is most of their time.
SD=$W
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	SD=$(mktemp -d /dev/shm/eco2-storefull.XXXXXX)
	trap 'rm -rf "$SD"; cleanup' EXIT
fi

# count DB: records stored
count() {
	"$PYTHON" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from records").fetchone()[0])' "$1"
}
# drive CSV N: N short drives, each followed by 4 s standing still, which
# ends a trip with [trip] idle_end_s = 2.
drive() {
	"$PYTHON" - "$1" "$2" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("time_s,speed_kmh\n")
    t = 0
    for i in range(int(sys.argv[2])):
        for dt, v in ((0, 0), (2, 0), (8, 30), (16, 30), (22, 0), (26, 0)):
            f.write("%d,%d\n" % (t + dt, v))
        t += 27
PY
}

# ---- (1) the quota ------------------------------------------------------------
drive "$W/short.csv" 200
"$B/eco2-sim" --cycle "$W/short.csv" --out "$W/drive.log" > /dev/null
write_conf "$W/ref.conf" "$SD/ref.db" '[queue]' 'max_bytes = 16M' '[trip]' 'idle_end_s = 2'
"$B/eco2d" -c "$W/ref.conf" --replay "$W/drive.log" --exit-at-end 2> /dev/null
"$B/eco2ctl" -c "$W/ref.conf" export > "$W/ref.cbor" 2>/dev/null
trips=$("$B/eco2-verify" --pubkey "$W/dev.pub" --json "$W/ref.cbor" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["records"])')
check "uninterrupted: $trips records" [ "$trips" -gt 150 ]

write_conf "$W/full.conf" "$SD/s.db" '[queue]' 'max_bytes = 64K' '[trip]' 'idle_end_s = 2'
"$B/eco2d" -c "$W/full.conf" --replay "$W/drive.log" 2> "$W/run1.log" &
D=$!
PIDS+=("$D")
for _ in $(seq 300); do grep -q 'end of log' "$W/run1.log" && break; sleep 0.1; done
check "the log is read to its end while the store refuses" grep -q 'end of log' "$W/run1.log"
kill -TERM "$D"
wait "$D"
rc=$?
n1=$(count "$SD/s.db")
waiting=$((trips - n1))
check "the quota stopped the store short of all $trips records ($n1 stored)" [ "$n1" -lt "$trips" ]
check "the refusal is logged once, naming the quota and where the records wait" \
	eval '[ "$(grep -c "cannot store record" "$W/run1.log")" -eq 1 ] &&
	      grep -q "store full (its quota of 65536 bytes)" "$W/run1.log" &&
	      grep -q "wait in the checkpoint" "$W/run1.log"'
check "SIGTERM with records waiting: exit 1, '$waiting records ... in the checkpoint'" \
	eval '[ $rc -eq 1 ] && grep -q "^eco2d: error: $waiting records could not be stored; they are in the checkpoint" "$W/run1.log"'
! grep -q "cannot save the trip state" "$W/run1.log"
check "the checkpoint was never refused by the quota" [ $? -eq 0 ]
"$B/eco2ctl" -c "$W/full.conf" status > "$W/status.txt"
check "eco2ctl status: $(grep '^waiting' "$W/status.txt")" \
	grep -qE "^waiting: +$waiting finished records" "$W/status.txt"

# Room again, and a restart with no frames.
write_conf "$W/room.conf" "$SD/s.db" '[queue]' 'max_bytes = 16M' '[trip]' 'idle_end_s = 2'
"$B/eco2d" -c "$W/room.conf" --replay "$W/none.log" --exit-at-end 2> "$W/run2.log"
check "restart with room and no frames: exit 0" [ $? -eq 0 ]
"$B/eco2ctl" -c "$W/room.conf" export > "$W/all.cbor" 2>/dev/null
"$B/eco2-verify" --pubkey "$W/dev.pub" --json "$W/all.cbor" > "$W/v.json"
check "the chain verifies" [ $? -eq 0 ]
check "every finished trip is stored: the records of the uninterrupted run, byte for byte" \
	cmp -s "$W/ref.cbor" "$W/all.cbor"

# ---- (2) kill -9 while the quota is reached ---------------------------------------
ROUNDS=${AGENT_FULL_ROUNDS:-50}
write_conf "$W/k.conf" "$SD/k.db" '[queue]' 'max_bytes = 64K' '[trip]' 'idle_end_s = 2'
killed=0 full=0
for i in $(seq "$ROUNDS"); do
	"$B/eco2d" -c "$W/k.conf" --replay "$W/drive.log" 2> "$W/k1.log" &
	pid=$!
	sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", r / 32768 * 0.25 }')"
	kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
	wait "$pid" 2>/dev/null
	# the quota reached in this run: it said so (once per process)
	grep -q 'store full (its quota' "$W/k1.log" && full=$((full + 1))
	cat "$W/k1.log" >> "$W/k.log"
done
echo "# $killed of $ROUNDS runs killed, $full of them with the quota reached"
check "kill -9: $killed of $ROUNDS runs killed, $full with the quota reached" \
	eval '[ $((killed * 2)) -ge "$ROUNDS" ] && [ $((full * 4)) -ge "$ROUNDS" ]'
# To the end of the log under the quota, then room and no frames.
"$B/eco2d" -c "$W/k.conf" --replay "$W/drive.log" 2>> "$W/k.log" &
D=$!
for _ in $(seq 300); do grep -q 'end of log' "$W/k.log" && break; sleep 0.1; done
kill -TERM "$D"
wait "$D"
write_conf "$W/k.conf" "$SD/k.db" '[queue]' 'max_bytes = 16M' '[trip]' 'idle_end_s = 2'
"$B/eco2d" -c "$W/k.conf" --replay "$W/none.log" --exit-at-end 2>> "$W/k.log"
check "kill -9: the last run, with room and no frames, exits 0" [ $? -eq 0 ]
"$B/eco2ctl" -c "$W/k.conf" export > "$W/k.cbor" 2>/dev/null
"$B/eco2-verify" --pubkey "$W/dev.pub" --json "$W/k.cbor" > "$W/kv.json"
check "kill -9: every record verifies, one chain" [ $? -eq 0 ]
payloads() { "$PYTHON" "$S/tests/integration/lib/payloads.py" "$1"; }
payloads "$W/ref.cbor" > "$W/ref.txt"
payloads "$W/k.cbor" > "$W/k.txt"
check "kill -9: nothing lost, nothing duplicated: the uninterrupted run's $(wc -l < "$W/ref.txt") records, seq for seq" \
	eval '[ -s "$W/ref.txt" ] && cmp -s "$W/ref.txt" "$W/k.txt"'
diff "$W/ref.txt" "$W/k.txt" | head -n 4 | sed 's/^/# /'
rej=$("$PYTHON" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from checkpoint_rejected").fetchone()[0])' "$SD/k.db")
breaks=$("$PYTHON" - "$W/k.cbor" <<'PY3'
import sys, cbor2, io
b = open(sys.argv[1], "rb").read(); f = io.BytesIO(b); n = 0
while f.tell() < len(b):
    n += bool(cbor2.loads(cbor2.load(f).value[2])[18] & (1 << 12))   # ECO2_FLAG_STATE_BREAK
print(n)
PY3
)
check "kill -9: nothing forged or broken: $rej checkpoints refused, $breaks state breaks" \
	eval '[ "$rej" = 0 ] && [ "$breaks" = 0 ] && ! grep -q "refused; nothing in it will be signed" "$W/k.log"'

# ---- (3) a really full disk ---------------------------------------------------------
MNT=$W/mnt
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=4m tmpfs "$MNT" 2>/dev/null; then
	for t in "the store on a tmpfs" "records wait" "restart: all three trips"; do
		ok "full disk: $t # SKIP mount -t tmpfs refused (needs root)"
	done
	finish
	exit
fi
trap 'touch "$W/stopfill"; wait; umount "$MNT" 2>/dev/null; rm -rf "$SD"; cleanup' EXIT
drive "$W/three.csv" 3
"$B/eco2-sim" --cycle "$W/three.csv" --out "$W/three.log" > /dev/null
write_conf "$W/ref3.conf" "$W/ref3.db" '[trip]' 'idle_end_s = 2'
"$B/eco2d" -c "$W/ref3.conf" --replay "$W/three.log" --exit-at-end 2> /dev/null
"$B/eco2ctl" -c "$W/ref3.conf" export > "$W/ref3.cbor" 2>/dev/null
write_conf "$W/disk.conf" "$MNT/s.db" '[trip]' 'idle_end_s = 2'
"$B/eco2d" -c "$W/disk.conf" --replay "$W/none.log" --exit-at-end 2> /dev/null
check "full disk: the store on a 4 MiB tmpfs, with its reserve beside it" \
	eval '[ -f "$MNT/s.db" ] && [ -s "$MNT/s.db-reserve" ]'
mkfifo "$W/fifo"
"$B/eco2d" -c "$W/disk.conf" --replay "$W/fifo" 2> "$W/disk1.log" &
D=$!
PIDS+=("$D")
exec 7> "$W/fifo"
for _ in $(seq 50); do grep -q 'running' "$W/disk1.log" && break; sleep 0.1; done
# Another writer keeps the disk full: whatever room appears, it takes.
( i=0; while [ ! -e "$W/stopfill" ]; do i=$((i + 1)); cat /dev/zero > "$MNT/fill.$i" 2>/dev/null; sleep 0.02; done ) &
for _ in $(seq 50); do [ "$(df --output=avail "$MNT" | tail -n 1)" -eq 0 ] && break; sleep 0.1; done
cat "$W/three.log" >&7
# until the three finished trips are in the store or waiting in the
# checkpoint (the log stays open: no end of log to wait for)
for _ in $(seq 100); do
	w=$("$B/eco2ctl" -c "$W/disk.conf" status 2>/dev/null | sed -n 's/^waiting: *\([0-9]*\).*/\1/p')
	[ $(( ${w:-0} + $(count "$MNT/s.db") )) -ge 3 ] && break
	sleep 0.1
done
kill -TERM "$D"
exec 7>&-
wait "$D"
rc=$?
touch "$W/stopfill"
sleep 0.2
rm -f "$MNT"/fill.*
check "full disk: the records wait in the checkpoint, said so (exit $rc, $(count "$MNT/s.db") stored)" \
	eval '[ "$(count "$MNT/s.db")" -lt 3 ] && grep -q "store full (the disk)" "$W/disk1.log" &&
	      grep -q "records could not be stored; they are in the checkpoint" "$W/disk1.log"'
"$B/eco2d" -c "$W/disk.conf" --replay "$W/none.log" --exit-at-end 2> "$W/disk2.log"
rc=$?
"$B/eco2ctl" -c "$W/disk.conf" export > "$W/disk.cbor" 2>/dev/null
check "full disk: space back, a restart with no frames stores all three trips, byte for byte (exit $rc)" \
	eval '[ $rc -eq 0 ] && cmp -s "$W/ref3.cbor" "$W/disk.cbor"'
finish
