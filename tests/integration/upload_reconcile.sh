#!/bin/bash
# upload_reconcile.sh — eco2d's uploader believes the ledger, not its own
# marks. Against a real eco2-ledger over mTLS:
#   (1) marks edited by hand: records marked uploaded that the ledger never
#       got are found at start-up (GET .../head) and sent; the ledger ends
#       with every seq once;
#   (2) a ledger restored from an older copy while eco2d runs: the next
#       batch is refused as a gap, eco2d reads the head and sends again
#       from there; every seq once, the chain verifies (eco2-verify --cert);
#   (3) a store restored from an older backup (the ledger holds more): eco2d
#       says so loudly, sends nothing, overwrites nothing, and
#       `eco2ctl status` shows both heads.
. "$(dirname "$0")/upload/lib.sh"
need_bins "$LEDGER" "$ECO2_BUILD/eco2d" "$ECO2_BUILD/eco2ctl" "$ECO2_BUILD/eco2-sim" "$ECO2_BUILD/eco2-verify"
B=$ECO2_BUILD
"$UP/pki.sh" "$WORK/pki" es256 || skip_all "cannot make the test PKI"

# Seven short trips, parked 400 s between them, in three parts: a (three
# trips), b (three), c (one).
printf 'time_s,speed_kmh\n0,0\n5,0\n20,50\n60,50\n80,20\n95,45\n110,0\n120,0\n' > "$WORK/short.csv"
args=()
for _ in $(seq 7); do args+=(--cycle "$WORK/short.csv" --park 400); done
"$B/eco2-sim" "${args[@]}" --out "$WORK/drive.log" > /dev/null
t0=$(head -n 1 "$WORK/drive.log" | sed -n 's/^(\([0-9]*\)\..*/\1/p')
awk -v c1=$((t0 + 3 * 520 - 20)) -v c2=$((t0 + 6 * 520 - 20)) -v w="$WORK/drive" '
	{ t = substr($1, 2) + 0; print > (w (t < c1 ? ".a" : t < c2 ? ".b" : ".c")) }' "$WORK/drive.log"
: > "$WORK/none.log"

start_ledger ledger || { nok "eco2-ledger starts"; finish; exit 1; }
kid=$(register "$PORT")
check "device registered" [ -n "$kid" ]

conf() {   # conf FILE STORE [enabled]
	cat > "$1" <<EOC
[can]
profile = $ECO2_SRC/can/profiles/reference.profile
[key]
uri = file:$WORK/pki/device.key
[store]
path = $2
[ledger]
enabled = ${3:-true}
url = https://localhost:$PORT
ca = $WORK/pki/ca.pem
cert = $WORK/pki/device.pem
key = $WORK/pki/device.key
[upload]
interval_s = 1
backoff_max_s = 1
EOC
}
head_seq() { curl -sS --cacert "$WORK/pki/ca.pem" "${READER[@]}" "https://localhost:$PORT/v1/devices/$kid/head" | sed -n 's/.*"seq":\([0-9]*\).*/\1/p'; }
fetch() { curl -sS --fail --cacert "$WORK/pki/ca.pem" "${READER[@]}" "https://localhost:$PORT/v1/devices/$kid/records?from=1" -o "$1"; }
# verified FILE: eco2-verify --cert --ca on the ledger's records; prints "records verified problems"
verified() {
	"$B/eco2-verify" --cert "$WORK/pki/device.pem" --ca "$WORK/pki/ca.pem" --json "$1" 2>/dev/null |
		"$PYTHON" -c 'import json,sys; v=json.load(sys.stdin); print(v["records"], v["verified"], len(v["problems"]))'
}
sql() { "$PYTHON" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); r=c.execute(sys.argv[2]).fetchall(); c.commit(); print(r[0][0] if r else "")' "$@"; }
copy_db() { "$PYTHON" -c 'import sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d); d.close()' "$1" "$2"; }

# ---- (1) marks edited by hand -------------------------------------------------
# Three trips stored with the ledger off, then marked uploaded by hand.
conf "$WORK/off.conf" "$WORK/s.db" false
"$B/eco2d" -c "$WORK/off.conf" --replay "$WORK/drive.a" --exit-at-end 2>> "$WORK/eco2d.log"
n=$(sql "$WORK/s.db" 'select count(*) from records')
sql "$WORK/s.db" 'update records set state = 1, uploaded = 1' > /dev/null
check "three trips stored and marked uploaded by hand ($n records, ledger head $(head_seq))" \
	eval '[ "$n" -ge 3 ] && [ "$(head_seq)" = 0 ]'
conf "$WORK/on.conf" "$WORK/s.db"
timeout 60 "$B/eco2d" -c "$WORK/on.conf" --replay "$WORK/none.log" --exit-at-end --upload-drain 2> "$WORK/r1.log"
rc=$?
check "start-up reads the ledger's head and sends what it lacks (exit $rc)" \
	eval '[ $rc -eq 0 ] && grep -q "are not on the ledger; sending them again" "$WORK/r1.log"'
check "the ledger holds them all ($(head_seq) of $n)" [ "$(head_seq)" = "$n" ]

# ---- (2) the ledger restored from an older copy while eco2d runs ----------------
stop_ledger "$LEDGER_PID"
copy_db "$WORK/ledger.db" "$WORK/ledger-old.db"
start_ledger ledger --listen "127.0.0.1:$PORT" 7>&- || { nok "eco2-ledger restarts"; finish; exit 1; }
rm -f "$WORK/fifo"; mkfifo "$WORK/fifo"
"$B/eco2d" -c "$WORK/on.conf" --replay "$WORK/fifo" --exit-at-end --upload-drain 2> "$WORK/r2.log" &
D=$!
PIDS=("$D")
exec 7> "$WORK/fifo"
cat "$WORK/drive.b" >&7
mid=0
for _ in $(seq 200); do
	mid=$(sql "$WORK/s.db" 'select last_seq from agent_state')
	[ "$mid" -gt "$n" ] && [ "$(head_seq)" = "$mid" ] && [ "$(uploaded "$WORK/s.db")" = "$mid" ] && break
	sleep 0.1
done
check "three more trips stored and uploaded while eco2d runs (ledger head $(head_seq))" 	eval '[ "$mid" -gt "$n" ] && [ "$(head_seq)" = "$mid" ]'
# The ledger goes back to its older copy under the running eco2d, whose
# store has every record marked uploaded.
stop_ledger "$LEDGER_PID"
copy_db "$WORK/ledger-old.db" "$WORK/ledger.db"
rm -f "$WORK/ledger.db-wal" "$WORK/ledger.db-shm"
start_ledger ledger --listen "127.0.0.1:$PORT" 7>&- || { nok "eco2-ledger restarts"; finish; exit 1; }
check "the ledger is back at its older copy (head $(head_seq), the store's $mid)" [ "$(head_seq)" = "$n" ]
# One more trip: its record is refused as a gap; eco2d reads the head and
# sends everything after it again.
cat "$WORK/drive.c" >&7
exec 7>&-
timeout 60 tail --pid="$D" -f /dev/null
wait "$D"
rc=$?
total=$(sql "$WORK/s.db" 'select last_seq from agent_state')
check "a gap refusal, the head read, the rest sent again (exit $rc)" \
	eval '[ $rc -eq 0 ] && [ "$total" -gt "$mid" ] && grep -q "rejected: gap" "$WORK/r2.log" &&
	      grep -q "are not on the ledger; sending them again" "$WORK/r2.log"'
fetch "$WORK/ledger.cbor"
v=$(verified "$WORK/ledger.cbor")
check "the ledger ends with every seq once: $v of $total, the chain verifies (eco2-verify --cert --ca)" \
	[ "$v" = "$total $total 0" ]

# ---- (3) the store restored from an older backup: the ledger holds more ----------
copy_db "$WORK/s.db" "$WORK/s-new.db"
cp "$WORK/ledger.cbor" "$WORK/ledger-before.cbor"
# the backup: the store as it was after the first three trips
conf "$WORK/old.conf" "$WORK/old.db" false
"$B/eco2d" -c "$WORK/old.conf" --replay "$WORK/drive.a" --exit-at-end 2>> "$WORK/eco2d.log"
conf "$WORK/old.conf" "$WORK/old.db"
timeout 60 "$B/eco2d" -c "$WORK/old.conf" --replay "$WORK/none.log" --exit-at-end --upload-drain 2> "$WORK/r4.log"
rc=$?
check "a store behind the ledger: exit $rc, said loudly, nothing sent" \
	eval '[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "error: ledger .*the ledger holds $total records of this device, the store only $n" "$WORK/r4.log"'
fetch "$WORK/ledger-after.cbor"
check "the ledger's records are untouched, byte for byte" cmp -s "$WORK/ledger-before.cbor" "$WORK/ledger-after.cbor"
"$B/eco2ctl" -c "$WORK/old.conf" status > "$WORK/status.txt" 2>&1
check "eco2ctl status shows both heads: $(grep -E '^(records|ledger head):' "$WORK/status.txt" | tr -s ' ' | tr '\n' ';')" \
	eval 'grep -qE "^records: +$n signed" "$WORK/status.txt" && grep -qE "^ledger head: +$total .*AHEAD OF THE STORE" "$WORK/status.txt"'
finish
