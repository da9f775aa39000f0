#!/bin/bash
# upload_faults.sh — outages and injected faults between the uploader and
# eco2-ledger: the ledger down for a while, 500s, 429 with Retry-After,
# connections dropped before and after storing, garbage acknowledgements.
# In the end every record is on the ledger exactly once (its chain checked
# by an independent Python verifier) and marked uploaded in the store.
set -u
. "$(dirname "$0")/upload/lib.sh"
need_bins "$LEDGER" "$DRIVE" "$FILL"
command -v openssl >/dev/null || skip_all "openssl CLI missing"
command -v curl >/dev/null || skip_all "curl CLI missing"
"$UP/pki.sh" "$WORK/pki" es256 || { nok "test PKI"; finish; exit 1; }
P=$WORK/pki
N=600

drive() {  # drive LOG [args]: drain with fast back-off, at most 90 s; every
	# acknowledgement proved by a receipt signed with the ledger's key
	local log=$1; shift
	log_key || return 1
	"$DRIVE" --db "$WORK/q.db" --url "https://localhost:$PORT" --ca "$P/ca.pem" \
		--receipt-key "$(cat "$WORK/log.vkey")" \
		--cert "$P/device.pem" --key "$P/device.key" --backoff-base-ms 20 \
		--backoff-max-s 5 --timeout-s 5 --max-seconds 90 --debug "$@" >"$WORK/$log" 2>&1
}

# ledger_count DB: distinct seqs stored and total rows on the ledger
ledger_count() {
	"$PYTHON" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print("%d %d %d" % c.execute("select count(distinct seq), count(*), coalesce(max(seq),0) from records").fetchone())' "$1"
}

"$FILL" --db "$WORK/q.db" --count $N --batch 200 --key "file:$P/device.key" >/dev/null 2>&1

# 1. Ledger down: the uploader retries until it comes up on its port.
start_ledger l || exit 1
L1=$LEDGER_PID
KID=$(register "$PORT")
stop_ledger "$L1"
drive down.log --batch-records 50 &
DPID=$!
sleep 1.5
start_ledger l --listen "127.0.0.1:$PORT" || exit 1
wait $DPID
rc=$?
sed -n 's/^upload-drive: acked/# acked/p' "$WORK/down.log"
check "ledger down for 1.5 s: drained once it is back (exit $rc)" [ $rc -eq 0 ]
check "ledger down: failures were logged" grep -q 'Could not connect\|Couldn.t connect' "$WORK/down.log"
check "ledger down: all $N uploaded" [ "$(uploaded "$WORK/q.db")" = $N ]
stop_ledger "$LEDGER_PID"

# 2. The same queue again, re-marked pending, plus new records, through a
# ledger that fails in every way: 500s, dropped connections (before and
# after storing), garbage answers. Resent records come back duplicate.
"$PYTHON" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("update records set state=0 where seq>400"); c.commit()' "$WORK/q.db"
"$FILL" --db "$WORK/q.db" --count 400 --batch 200 --key "file:$P/device.key" >/dev/null 2>&1
N=1000
start_ledger l --listen "127.0.0.1:$PORT" --fail-rate 0.25 --status 500 \
	--drop-connection 0.3 --garbage 0.2 || exit 1
drive faults.log --batch-records 25
rc=$?
sed -n 's/^upload-drive: acked/# acked/p' "$WORK/faults.log"
check "500s, drops and garbage: drained (exit $rc)" [ $rc -eq 0 ]
for what in "answering 500" "dropping the connection before" "dropping the connection after" "garbage answer"; do
	check "fault injected: $what" grep -q "fault: $what" "$WORK/l.log"
done
check "garbage acknowledgement logged, nothing marked" grep -q 'unreadable acknowledgement.*nothing marked uploaded' "$WORK/faults.log"
check "a 500 is logged" grep -q 'HTTP 500' "$WORK/faults.log"
check "all $N uploaded" [ "$(uploaded "$WORK/q.db")" = $N ]
stop_ledger "$LEDGER_PID"

# 3. 429 with Retry-After: 1 — the next attempt waits exactly that.
"$FILL" --db "$WORK/q.db" --count 100 --batch 100 --key "file:$P/device.key" >/dev/null 2>&1
N=1100
start_ledger l --listen "127.0.0.1:$PORT" --fail-rate 0.5 --status 429 --retry-after 1 || exit 1
drive ra.log --batch-records 25
rc=$?
sed -n 's/^upload-drive: acked/# acked/p' "$WORK/ra.log"
check "429 + Retry-After: drained (exit $rc)" [ $rc -eq 0 ]
if grep -q 'HTTP 429, Retry-After 1 s' "$WORK/ra.log"; then
	ok "429 logged with its Retry-After"
	check "Retry-After honoured: next attempt in 1000 ms" grep -q 'next attempt in 1000 ms' "$WORK/ra.log"
else
	ok "429 never drawn this run # SKIP fail-rate 0.5 drew no failure"
fi
check "all $N uploaded" [ "$(uploaded "$WORK/q.db")" = $N ]
stop_ledger "$LEDGER_PID"

read -r distinct rows maxseq <<<"$(ledger_count "$WORK/l.db")"
echo "# ledger: $distinct distinct seqs, $rows rows, max seq $maxseq"
check "ledger holds every seq exactly once ($N)" [ "$distinct:$rows:$maxseq" = "$N:$N:$N" ]
start_ledger l --listen "127.0.0.1:$PORT" || exit 1
curl -sS --cacert "$P/ca.pem" "${READER[@]}" -o "$WORK/back.cbor" "https://localhost:$PORT/v1/devices/$KID/records?from=1"
out=$("$PYTHON" "$UP/check_chain.py" "$WORK/back.cbor" "$P/device.pem" $N)
echo "# $out"
check "the ledger's chain verifies independently" grep -q "^check_chain: $N records" <<<"$out"
finish
