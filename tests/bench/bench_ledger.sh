#!/bin/bash
# bench_ledger.sh — figures for eco2-ledger (make bench; never pass/fail on
# timing):
#   1. ingest with every record verified, stored and proved (a receipt per
#      batch): $BENCH_LEDGER_DEVICES devices (default 32) sending
#      $BENCH_LEDGER_RECORDS records each (default 1000) in batches of 100
#      at once (tests/bench/ledger/load.py), to 1, 2 and 4 ledger processes
#      on one PostgreSQL database (a server of the bench's own, fsync on)
#      and on one SQLite file: records/s, request latency p50/p99, the
#      ledgers' peak resident memory (VmHWM, summed), receipt bytes per
#      record;
#   2. proofs (eco2-bench-proofs): generated and verified per second for a
#      tree of a million leaves in memory, and generated from the store;
#   3. the ledger's memory under the attack scripts (ledger_attacks.sh).
set -u
. "$(dirname "$0")/../integration/upload/lib.sh"
. "$ECO2_SRC/tests/integration/lib/postgres.sh"
for b in "$LEDGER" "$FILL" "$ECO2_BUILD/eco2-bench-proofs"; do
	[ -x "$b" ] || { echo "bench_ledger: $b not built"; exit 0; }
done
DEVICES=${BENCH_LEDGER_DEVICES:-32}
PER=${BENCH_LEDGER_RECORDS:-1000}
LOAD=$ECO2_SRC/tests/bench/ledger/load.py
trap 'for p in "${LEDGER_PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; pg_stop; cleanup' EXIT

echo "bench_ledger: proofs (crypto/merkle.c)"
"$ECO2_BUILD/eco2-bench-proofs" --leaves 1000000 | sed 's/^bench_proofs: /  /'
"$ECO2_BUILD/eco2-bench-proofs" --leaves 100000 --store "sqlite:$WORK/proofs.db" | grep 'store' | sed 's/^ */  /'

echo "bench_ledger: $DEVICES devices x $PER Ed25519 records, batches of 100, every record verified and proved"
"$PYTHON" "$ECO2_SRC/tests/integration/ledger/fleet_pki.py" "$WORK/fleet" "$DEVICES" || exit 1
"$UP/pki.sh" "$WORK/pki" >/dev/null || exit 1
cp "$WORK/fleet/ca.pem" "$WORK/fleet/devices-ca.pem"
cat "$WORK/pki/ca.pem" >>"$WORK/fleet/ca.pem"
cp "$WORK/fleet/ca.pem" "$WORK/pki/ca.pem"
seq 0 $((DEVICES - 1)) | xargs -P 2 -I{} "$FILL" --db "$WORK/fleet/q{}.db" --count "$PER" --batch 1000 \
	--key "file:$WORK/fleet/dev{}.key" >/dev/null 2>&1
"$PYTHON" - "$WORK/fleet" "$DEVICES" <<'PYEOF'
import sqlite3, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    rows = [r[0] for r in sqlite3.connect("%s/q%d.db" % (d, i)).execute("select cose from records order by seq")]
    for k in range(0, len(rows), 100):
        part = rows[k:k + 100]
        open("%s/b%d_%05d_%d" % (d, i, k // 100, len(part)), "wb").write(b"".join(part))
PYEOF
PG_OK=0
pg_find && pg_start fsync=on full_page_writes=on && PG_OK=1
run() {  # run STORE_LABEL URL PROCS
	local label=$1 url=$2 procs=$3 ports=() pids=() hwm=0
	for i in $(seq 1 "$procs"); do
		start_ledger "b-$label-$procs-$i" --store "$url" --set limits.rate=100000 --set limits.burst=100000 \
			--set store.connections=4 --set limits.body_max=4M || return 1
		ports+=("$PORT")
		pids+=("$LEDGER_PID")
	done
	for i in $(seq 0 $((DEVICES - 1))); do
		curl -sS --cacert "$WORK/pki/ca.pem" -H 'Content-Type: application/x-pem-file' \
			--data-binary @"$WORK/fleet/dev$i.pem" "https://localhost:${ports[0]}/v1/devices" >/dev/null
	done
	out=$("$PYTHON" "$LOAD" "$WORK/fleet" "$DEVICES" 100 "${ports[@]}")
	for p in "${pids[@]}"; do
		hwm=$((hwm + $(awk '/^VmHWM/ { print int($2 / 1024) }' /proc/"$p"/status)))
		stop_ledger "$p"
	done
	printf '  %-10s %d process%s: %s; ledgers VmHWM %d MiB\n' "$label" "$procs" \
		"$([ "$procs" = 1 ] && echo '' || echo 'es')" "$out" "$hwm"
}
for procs in 1 2 4; do
	run sqlite "sqlite:$WORK/ingest-$procs.db" "$procs"
	if [ $PG_OK = 1 ]; then
		run postgresql "$(pg_createdb "ingest$procs")" "$procs"
	fi
done
[ $PG_OK = 1 ] || echo "  postgresql: not installed (Debian's postgresql): skipped"

echo "bench_ledger: the ledger's memory under the attack scripts"
ECO2_SRC=$ECO2_SRC ECO2_BUILD=$ECO2_BUILD bash "$ECO2_SRC/tests/integration/ledger_attacks.sh" 2>&1 |
	grep -E '^# (ledger|[A-Za-z0-9-]+:)' | sed 's/^# /  /'
