#!/bin/bash
# upload_crash.sh — SIGKILL at random points. A writer appends signed,
# chained records (one durable transaction per batch of 1..20) while the
# uploader drains the store to eco2-ledger; both are killed with SIGKILL at
# a random moment and restarted, $UPLOAD_CRASH_ITER times (default 50;
# `make soak` may set 1000). After each kill the store must pass
# integrity_check with a continuous chain (independent Python check); at
# the end the ledger holds every seq exactly once and its chain verifies.
# Without eco2-ledger the writer alone is killed.
set -u
. "$(dirname "$0")/upload/lib.sh"
need_bins "$FILL"
ITER=${UPLOAD_CRASH_ITER:-50}
with_ledger=1
[ -x "$LEDGER" ] && [ -x "$DRIVE" ] && command -v openssl >/dev/null && command -v curl >/dev/null || with_ledger=0
if [ $with_ledger = 1 ]; then
	"$UP/pki.sh" "$WORK/pki" es256 || { nok "test PKI"; finish; exit 1; }
	start_ledger l || exit 1
	KID=$(register "$PORT")
	KEY=(--key "file:$WORK/pki/device.key")
else
	KEY=()
	echo "# eco2-ledger not built: killing the writer only"
fi
DB=$WORK/q.db
bad=0
for i in $(seq "$ITER"); do
	"$FILL" --db "$DB" --forever --batch $((RANDOM % 20 + 1)) "${KEY[@]}" >/dev/null 2>>"$WORK/fill.log" &
	W=$!
	if [ $with_ledger = 1 ]; then
		"$DRIVE" --db "$DB" --url "https://localhost:$PORT" --ca "$WORK/pki/ca.pem" \
			--cert "$WORK/pki/device.pem" --key "$WORK/pki/device.key" \
			--follow-ms 20 --backoff-base-ms 20 --batch-records $((RANDOM % 100 + 1)) \
			>/dev/null 2>>"$WORK/drive.log" &
		D=$!
	fi
	sleep "0.$(printf '%03d' $((RANDOM % 250 + 20)))"
	kill -9 $W 2>/dev/null
	[ $with_ledger = 1 ] && kill -9 $D 2>/dev/null
	wait $W ${D:-} 2>/dev/null
	if ! out=$("$PYTHON" "$UP/check_store.py" "$DB" 2>&1); then
		echo "# iteration $i: $out"
		bad=$((bad + 1))
	fi
done
out=$("$PYTHON" "$UP/check_store.py" "$DB")
echo "# $out"
check "$ITER kill -9 cycles: store intact, chain continuous after every one" [ $bad -eq 0 ]
head=$("$PYTHON" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select last_seq from agent_state").fetchone()[0])' "$DB")
check "records were written ($head)" [ "$head" -gt "$ITER" ]
if [ $with_ledger = 1 ]; then
	"$DRIVE" --db "$DB" --url "https://localhost:$PORT" --ca "$WORK/pki/ca.pem" \
		--cert "$WORK/pki/device.pem" --key "$WORK/pki/device.key" --max-seconds 60 \
		--max-failures 5 >"$WORK/final.log" 2>&1
	rc=$?
	sed -n 's/^upload-drive: acked/# final drain: acked/p' "$WORK/final.log"
	check "final drain (exit $rc)" [ $rc -eq 0 ]
	check "every record marked uploaded" [ "$(uploaded "$DB")" = "$head" ]
	check "no record was ever rejected by the ledger" [ "$(grep -c 'event=reject' "$WORK/l.log")" = 0 ]
	curl -sS --cacert "$WORK/pki/ca.pem" "${READER[@]}" -o "$WORK/back.cbor" "https://localhost:$PORT/v1/devices/$KID/records?from=1"
	out=$("$PYTHON" "$UP/check_chain.py" "$WORK/back.cbor" "$WORK/pki/device.pem" "$head")
	echo "# $out"
	check "the ledger holds seqs 1..$head exactly once and the chain verifies" grep -q "^check_chain: $head records" <<<"$out"
fi
finish
