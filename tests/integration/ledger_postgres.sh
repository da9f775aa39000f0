#!/bin/bash
# ledger_postgres.sh — eco2-ledger on a real PostgreSQL server this test
# starts itself (tests/integration/lib/postgres.sh: initdb into a
# temporary folder, a Unix socket there, no TCP):
#   1. the store's unit suite (test_ledger_store) on PostgreSQL;
#   2. the API suite (ledger_api.sh) and the live proofs (ledger_proofs.sh)
#      with --store postgresql://..., each on a database of its own;
#   3. a fleet: 4 ledger processes on one database (records partitioned by
#      kid) behind a round-robin TCP balancer, 64 devices uploading at once
#      through the real uploader (upload-drive), with faults: each ledger
#      drops connections (before and after storing) and answers 503 at
#      random, and one ledger is killed with SIGKILL mid-run and started
#      again. Then, from the database: every seq of every device stored
#      exactly once, one tree whose every stored subtree is RFC 9162's,
#      every published checkpoint a prefix of it (no fork), no fork
#      evidence (tests/integration/ledger/fleet_check.py).
set -u
. "$(dirname "$0")/upload/lib.sh"
. "$ECO2_SRC/tests/integration/lib/postgres.sh"
need_bins "$LEDGER" "$FILL" "$DRIVE" "$ECO2_BUILD/tests/test_ledger_store"
pg_find || skip_all "PostgreSQL not installed (Debian's postgresql; make deps)"
"$LEDGER" --help >/dev/null 2>&1 || skip_all "eco2-ledger does not run"
"$PYTHON" -c 'import cryptography, nacl, cbor2' 2>/dev/null || skip_all "python3-cryptography/nacl/cbor2 missing"
DEVICES=${LEDGER_FLEET_DEVICES:-64}
PER=${LEDGER_FLEET_RECORDS:-40}
PROXY_PID=
cleanup_pg() {
	[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
	for p in "${LEDGER_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	pg_stop
	cleanup
}
trap cleanup_pg EXIT
pg_start || { nok "PostgreSQL starts (initdb, pg_ctl)"; finish; exit 1; }
ok "PostgreSQL started in $PG_DIR (socket only)"

# 1. the store suite
out=$(LEDGER_TEST_STORE=$(pg_createdb unit) CMOCKA_MESSAGE_OUTPUT=stdout "$ECO2_BUILD/tests/test_ledger_store" 2>&1)
rc=$?
echo "$out" | grep -E 'PASSED|FAILED|ERROR' | sed 's/^/# /'
check "test_ledger_store on PostgreSQL" [ $rc -eq 0 ]

# 2. the API and the live proofs
for t in ledger_api ledger_proofs; do
	url=$(pg_createdb "${t}_db")
	out=$(LEDGER_STORE=$url bash "$ECO2_SRC/tests/integration/$t.sh" 2>&1)
	rc=$?
	echo "$out" | grep -E '^not ok' | sed 's/^/# /'
	check "$t.sh on PostgreSQL: $(grep -c '^ok' <<<"$out") passed, $(grep -c '^not ok' <<<"$out") failed" \
		[ $rc -eq 0 ] && ! grep -q '^not ok' <<<"$out"
done

# 3. a fleet
"$PYTHON" "$ECO2_SRC/tests/integration/ledger/fleet_pki.py" "$WORK/fleet" "$DEVICES" || { nok "fleet PKI"; finish; exit 1; }
"$UP/pki.sh" "$WORK/pki" >/dev/null || { nok "test PKI"; finish; exit 1; }
cat "$WORK/fleet/ca.pem" >>"$WORK/pki/ca.pem"
seq 0 $((DEVICES - 1)) | xargs -P 4 -I{} "$FILL" --db "$WORK/fleet/q{}.db" --count "$PER" \
	--key "file:$WORK/fleet/dev{}.key" >/dev/null 2>&1
FLEET=$PG_URL
STORE_ARGS=(--store "$FLEET" --set store.partitions=4 --set store.connections=3 --checkpoint-interval 1
	--set limits.rate=1000 --set limits.burst=1000 --drop-connection 0.05 --fail-rate 0.05 --status 503
	--retry-after 0)
ports=()
for i in 1 2 3 4; do
	start_ledger "fleet$i" "${STORE_ARGS[@]}" || exit 1
	ports+=("$PORT")
	eval "PID$i=$LEDGER_PID"
done
"$PYTHON" "$ECO2_SRC/tests/integration/ledger/rr_proxy.py" "$WORK/proxy.port" "${ports[@]}" &
PROXY_PID=$!
for _ in $(seq 50); do [ -s "$WORK/proxy.port" ] && break; sleep 0.1; done
LB=$(cat "$WORK/proxy.port")
for i in $(seq 0 $((DEVICES - 1))); do
	curl -sS --cacert "$WORK/pki/ca.pem" -H 'Content-Type: application/x-pem-file' \
		--data-binary @"$WORK/fleet/dev$i.pem" "https://localhost:$LB/v1/devices" >/dev/null || true
done
t0=$(date +%s.%N)
drivers=()
for i in $(seq 0 $((DEVICES - 1))); do
	"$DRIVE" --db "$WORK/fleet/q$i.db" --url "https://localhost:$LB" --ca "$WORK/pki/ca.pem" \
		--cert "$WORK/fleet/dev$i.pem" --key "$WORK/fleet/dev$i.key" --batch-records 5 \
		--backoff-base-ms 50 --backoff-max-s 1 --max-seconds 90 >"$WORK/fleet/drive$i.log" 2>&1 &
	drivers+=($!)
done
# one ledger killed mid-run, then started again on its port
sleep 2
kill -9 "$PID2"
wait "$PID2" 2>/dev/null
sleep 1
start_ledger fleet2b --listen "127.0.0.1:${ports[1]}" "${STORE_ARGS[@]}" || nok "the killed ledger restarts"
fails=0
for p in "${drivers[@]}"; do wait "$p" || fails=$((fails + 1)); done
secs=$(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
check "$DEVICES devices drained $((DEVICES * PER)) records through 4 ledgers with faults in ${secs}s ($fails failed)" [ $fails -eq 0 ]
n_drop=$(cat "$WORK"/fleet*.log | grep -c 'fault: dropping')
n_503=$(cat "$WORK"/fleet*.log | grep -c 'fault: answering 503')
check "faults were injected: $n_drop drops, $n_503 answers 503, one ledger killed" [ "$n_drop" -gt 0 ] && [ "$n_503" -gt 0 ]
uploaded_all=0
for i in $(seq 0 $((DEVICES - 1))); do
	[ "$(uploaded "$WORK/fleet/q$i.db")" = "$PER" ] && uploaded_all=$((uploaded_all + 1))
done
check "every device's store marks all $PER records uploaded ($uploaded_all of $DEVICES)" [ "$uploaded_all" = "$DEVICES" ]
sleep 1.5      # a last checkpoint published
mkdir -p "$WORK/dump"
pg_sql "select encode(kid,'hex'), seq, leaf, encode(cose,'hex') from records" >"$WORK/dump/records"
pg_sql "select level, idx, encode(hash,'hex') from nodes" >"$WORK/dump/nodes"
pg_sql "select size from tree" >"$WORK/dump/size"
pg_sql "select size, encode(convert_to(note,'UTF8'),'hex') from checkpoints" >"$WORK/dump/checkpoints"
pg_sql "select count(*) from forks" >"$WORK/dump/forks"
out=$("$PYTHON" "$ECO2_SRC/tests/integration/ledger/fleet_check.py" "$WORK/dump" "$WORK/log.vkey" "$DEVICES" "$PER")
rc=$?
echo "# $out"
check "exactly once per (kid, seq), one tree, one history, no fork" [ $rc -eq 0 ]
check "records are partitioned by kid" [ "$(pg_sql "select count(*) from pg_inherits where inhparent = 'records'::regclass")" = 4 ]
# the four ledgers agree on the published head
heads=$(for p in "${ports[@]}"; do curl -sS --cacert "$WORK/pki/ca.pem" "https://localhost:$p/v1/checkpoint" | sed -n 2,3p | tr '\n' ' '; echo; done | sort -u | wc -l)
check "all four ledgers serve the same checkpoint" [ "$heads" = 1 ]
finish
