#!/bin/bash
# bench_upload.sh — figures for the record queue and the uploader (never
# pass/fail on timing):
#   1. durable inserts of signed records (ES256 and Ed25519 file keys), one
#      synchronous=FULL commit per record and per batch of 100;
#   2. backlog drain: $BENCH_DRAIN_N (default 100,000) queued signed records
#      uploaded over TLS 1.3 with mTLS on loopback to eco2-ledger, which
#      verifies each one: records/s, and the uploader's peak RSS (VmHWM)
#      split into library pages (RssFile) and private memory (RssAnon),
#      with batches of 500 (the default) and 2000 records;
#   3. callgrind instructions per uploaded record (stable on a busy host).
set -u
. "$(dirname "$0")/../integration/upload/lib.sh"
for b in "$LEDGER" "$DRIVE" "$FILL"; do
	[ -x "$b" ] || { echo "bench_upload: $b not built"; exit 0; }
done
N=${BENCH_DRAIN_N:-100000}
"$UP/pki.sh" "$WORK/pki" ed25519 || exit 1
"$UP/pki.sh" "$WORK/pki-es" es256 || exit 1

fig() { sed -n 's/^upload-fill: /  /p'; }
echo "bench_upload: durable inserts (signed records, SQLite WAL, synchronous=FULL)"
for alg in ed25519 es256; do
	key=$WORK/pki/device.key
	[ $alg = es256 ] && key=$WORK/pki-es/device.key
	echo " $alg, one commit per record:"
	"$FILL" --db "$WORK/ins-$alg-1.db" --count 2000 --batch 1 --key "file:$key" 2>/dev/null | fig
	echo " $alg, one commit per 100 records:"
	"$FILL" --db "$WORK/ins-$alg-100.db" --count 20000 --batch 100 --key "file:$key" 2>/dev/null | fig
done
echo " opaque 200-byte records (queue cost alone), one commit per 100:"
"$FILL" --db "$WORK/ins-opaque.db" --count 100000 --batch 100 2>/dev/null | fig

echo "bench_upload: backlog drain of $N Ed25519 records over TLS + mTLS to eco2-ledger (verifying each)"
"$FILL" --db "$WORK/drain.db" --count "$N" --batch 1000 --key "file:$WORK/pki/device.key" 2>/dev/null | fig
for bs in 500 2000; do
	echo " upload.batch_records = $bs:"
	"$PYTHON" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("update records set state=0"); c.commit()' "$WORK/drain.db"
	start_ledger "bench$bs" --set limits.body_max=4M --set limits.rate=1000 --set limits.burst=1000 || exit 1
	register "$PORT" >/dev/null
	"$DRIVE" --db "$WORK/drain.db" --url "https://localhost:$PORT" --ca "$WORK/pki/ca.pem" \
		--cert "$WORK/pki/device.pem" --key "$WORK/pki/device.key" --batch-records $bs \
		--batch-bytes 4194304 2>"$WORK/drain.err" | sed 's/^upload-drive: /  /'
	grep -i error "$WORK/drain.err" | head -3
	"$PYTHON" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print("  ledger stored and verified %d records" % c.execute("select count(*) from records").fetchone())' "$WORK/bench$bs.db"
	stop_ledger "$LEDGER_PID"
done

if command -v valgrind >/dev/null; then
	# Instructions of the uploader (callgrind) for two backlog sizes: the
	# difference is the marginal cost of one record (read from SQLite,
	# sent over TLS, acknowledged, marked), free of start-up and handshake.
	declare -A IR
	for M in 1000 5000; do
		"$FILL" --db "$WORK/cgq$M.db" --count $M --batch 1000 --key "file:$WORK/pki/device.key" >/dev/null 2>&1
		start_ledger "cg$M" || exit 1
		register "$PORT" >/dev/null
		valgrind --tool=callgrind --callgrind-out-file="$WORK/cg$M.out" "$DRIVE" --db "$WORK/cgq$M.db" \
			--url "https://localhost:$PORT" --ca "$WORK/pki/ca.pem" --cert "$WORK/pki/device.pem" \
			--key "$WORK/pki/device.key" --timeout-s 120 >/dev/null 2>"$WORK/cg$M.err"
		IR[$M]=$(sed -n 's/^summary: *//p' "$WORK/cg$M.out")
		stop_ledger "$LEDGER_PID"
	done
	if [ -n "${IR[1000]}" ] && [ -n "${IR[5000]}" ]; then
		echo "bench_upload: callgrind: uploader ${IR[1000]} instructions for 1000 records, ${IR[5000]} for 5000:"
		echo "  $(( (IR[5000] - IR[1000]) / 4000 )) instructions per record (marginal), $(( IR[1000] - (IR[5000] - IR[1000]) / 4 )) for start-up and TLS"
	fi
fi
