#!/bin/bash
# ledger_attacks.sh — the open network's attacks on eco2-ledger, each
# scripted (tests/integration/ledger/attack.py, from 127.0.0.2) and
# bounded, while a legitimate device (from 127.0.0.1) keeps uploading a
# record and reading the checkpoint every 0.2 s. For every attack: the
# refusal it must meet, the ledger's resident memory sampled every 0.1 s
# under MEM_BOUND_MB, and every legitimate request answered in time.
#
# The ledger runs with [limits] body_memory 16M, connections 64 (16 per
# address), request_timeout_s 4, idle_timeout_s 3, rate 50/s (burst 100):
# the bound is what those settings allow, not the attack's size.
set -u
. "$(dirname "$0")/upload/lib.sh"
need_bins "$LEDGER" "$FILL"
command -v openssl >/dev/null || skip_all "openssl CLI missing"
command -v curl >/dev/null || skip_all "curl CLI missing"
ATTACK=$ECO2_SRC/tests/integration/ledger/attack.py
CHAIN=${ATTACK_CHAIN:-10000}
"$UP/pki.sh" "$WORK/pki" ed25519 || { nok "test PKI"; finish; exit 1; }
P=$WORK/pki
"$FILL" --db "$WORK/q.db" --count $((CHAIN + 3000)) --batch 1000 --key "file:$P/device.key" >/dev/null 2>&1
"$FILL" --db "$WORK/legit.db" --count 400 --key "file:$P/device2.key" >/dev/null 2>&1
start_ledger l --set limits.body_memory=16M --set limits.connections=64 --set limits.connections_per_ip=16 \
	--set limits.request_timeout_s=3 --set limits.idle_timeout_s=2 --set limits.rate=50 \
	--set limits.burst=100 --set limits.body_max=1M || exit 1
URL=https://localhost:$PORT
KID=$(register "$PORT")
curl -sS --cacert "$P/ca.pem" -H 'Content-Type: application/x-pem-file' \
	--data-binary @"$P/device2.pem" "$URL/v1/devices" >/dev/null
# the attacked device's chain, and one record per file for the legitimate one
"$PYTHON" - "$WORK/q.db" "$WORK/legit.db" "$WORK" "$CHAIN" <<'PYEOF'
import sqlite3, sys, os
rows = [r[0] for r in sqlite3.connect(sys.argv[1]).execute("select cose from records order by seq")]
w, chain = sys.argv[3], int(sys.argv[4])
for i in range(0, chain, 3000):
    open("%s/chain%03d" % (w, i // 3000), "wb").write(b"".join(rows[i:min(i + 3000, chain)]))
open(w + "/dups", "wb").write(b"".join(rows[:3000]))              # resent: all duplicates
open(w + "/gaps", "wb").write(b"".join(rows[chain + 1:chain + 3000]))  # past the head: gaps
os.makedirs(w + "/legit", exist_ok=True)
for i, (c,) in enumerate(sqlite3.connect(sys.argv[2]).execute("select cose from records order by seq")):
    open("%s/legit/%04d" % (w, i), "wb").write(c)
PYEOF
for f in "$WORK"/chain*; do
	curl -sS --cacert "$P/ca.pem" --cert "$P/device.pem" --key "$P/device.key" -H 'Content-Type: application/cbor-seq' \
		--data-binary @"$f" "$URL/v1/records" -o /dev/null
done
check "a chain of $CHAIN records stored" [ "$(curl -sS --cacert "$P/ca.pem" "${READER[@]}" "$URL/v1/devices/$KID/head" | sed -n 's/.*"seq":\([0-9]*\).*/\1/p')" = "$CHAIN" ]

# the memory sampler and the legitimate client
rss() { awk '/^VmRSS/ { print int($2 / 1024) }' /proc/"$LEDGER_PID"/status; }
( while kill -0 "$LEDGER_PID" 2>/dev/null; do echo "$(cat "$WORK/phase" 2>/dev/null) $(rss)"; sleep 0.1; done ) >"$WORK/rss" &
SAMPLER=$!
LEGIT_N=0
legit_start() {
	: >"$WORK/legit.$1"
	( while [ ! -f "$WORK/stop" ] && [ $LEGIT_N -lt 400 ]; do
		f=$(printf '%s/legit/%04d' "$WORK" "$LEGIT_N")
		curl -sS --interface 127.0.0.1 --max-time 10 -o /dev/null -w '%{http_code} %{time_total}\n' \
			--cacert "$P/ca.pem" --cert "$P/device2.pem" --key "$P/device2.key" \
			-H 'Content-Type: application/cbor-seq' --data-binary @"$f" "$URL/v1/records"
		curl -sS --interface 127.0.0.1 --max-time 10 -o /dev/null -w '%{http_code} %{time_total}\n' \
			--cacert "$P/ca.pem" "$URL/v1/checkpoint"
		LEGIT_N=$((LEGIT_N + 1))
		echo $LEGIT_N >"$WORK/legit.n"
		sleep 0.2
	done ) >>"$WORK/legit.$1" 2>&1 &
	LEGIT=$!
}
legit_stop() {
	touch "$WORK/stop"
	wait "$LEGIT"
	rm -f "$WORK/stop"
	LEGIT_N=$(cat "$WORK/legit.n" 2>/dev/null || echo 0)
}
# phase NAME CMD...: run one attack with the legitimate client beside it
phase() {
	local name=$1
	shift
	echo "$name" >"$WORK/phase"
	legit_start "$name"
	OUT=$("$@" 2>&1)
	legit_stop
	echo "idle" >"$WORK/phase"
	local peak served slow
	peak=$(awk -v p="$name" '$1 == p && $2 > m { m = $2 } END { print m + 0 }' "$WORK/rss")
	served=$(grep -c '^200 ' "$WORK/legit.$name")
	slow=$(awk '$1 != 200 || $2 > 3 { n++ } END { print n + 0 }' "$WORK/legit.$name")
	echo "# $name: $OUT; ledger RSS peak ${peak} MiB; legitimate requests: $served answered 200, $slow failed or over 3 s"
	check "$name: legitimate client served throughout ($served, none failed or slow)" [ "$served" -gt 0 ] && [ "$slow" = 0 ]
	check "$name: ledger memory ${peak} MiB <= $MEM_BOUND_MB MiB" [ "$peak" -le "$MEM_BOUND_MB" ]
}
echo idle >"$WORK/phase"
sleep 0.5
base=$(rss)
MEM_BOUND_MB=$((base + 32))
echo "# ledger RSS at rest: $base MiB; bound $MEM_BOUND_MB MiB"

phase "unauthenticated-64MiB-bodies" "$PYTHON" "$ATTACK" "$PORT" "$P/ca.pem" nocert-bodies 8 3
check "bodies without a client certificate: 403, never read" grep -q 'answers \[403\]' <<<"$OUT"
phase "announced-40MB-body" "$PYTHON" "$ATTACK" "$PORT" "$P/ca.pem" big-body "$P/device.pem" "$P/device.key" 40
check "a device announcing 40 MB: 413 at once" grep -q '^status 413 after 0\.' <<<"$OUT"
phase "trickle-records" "$PYTHON" "$ATTACK" "$PORT" "$P/ca.pem" trickle "$P/device.pem" "$P/device.key" /v1/records 8 12
held=$(sed -n 's/.*held \([0-9.]*\) s at most.*/\1/p' <<<"$OUT")
check "a device's 8 trickled uploads: 7 refused at once (one in flight per device), 1 dropped at the 3 s deadline" \
	grep -q '^7 answered at once; 1 dropped' <<<"$OUT" && awk -v t="$held" 'BEGIN { exit !(t >= 2.5 && t <= 8) }'
phase "trickle-registrations" "$PYTHON" "$ATTACK" "$PORT" "$P/ca.pem" trickle - - /v1/devices 12 12
held=$(sed -n 's/.*held \([0-9.]*\) s at most.*/\1/p' <<<"$OUT")
check "12 trickled registrations without a certificate: all dropped at the 3 s deadline" \
	grep -q '^0 answered at once; 12 dropped' <<<"$OUT" && awk -v t="$held" 'BEGIN { exit !(t >= 2.5 && t <= 8) }'
phase "idle-connections" "$PYTHON" "$ATTACK" "$PORT" "$P/ca.pem" idle 120 4
check "120 silent connections: all closed (16 admitted from one address, closed at the idle timeout)" \
	grep -q '^120 connected, 120 closed' <<<"$OUT"
grep -c 'Too many open files' "$WORK/l.log" >"$WORK/emfile"
check "no 'Too many open files'" [ "$(cat "$WORK/emfile")" = 0 ]
phase "slow-readers" "$PYTHON" "$ATTACK" "$PORT" "$P/ca.pem" slowread "$P/reader.pem" "$P/reader.key" "$KID" 10 3
check "10 slow readers of a $CHAIN-record chain held" grep -q '^10 slow readers' <<<"$OUT"
phase "request-flood" "$PYTHON" "$ATTACK" "$PORT" "$P/ca.pem" flood 400
check "a flood from one address: 429 with Retry-After" grep -q '"429": [1-9].*Retry-After up to [1-9]' <<<"$OUT"
sleep 2     # the flooding address's bucket refills
phase "3000-duplicates" "$PYTHON" "$ATTACK" "$PORT" "$P/ca.pem" body "$P/device.pem" "$P/device.key" "$WORK/dups"
check "3000 resent records: all duplicates, decided without a signature check, each with its proof" grep -q 'status 200 .*duplicate 3000 rejected 0' <<<"$OUT"
dup_s=$(sed -n 's/.*after \([0-9.]*\) s.*/\1/p' <<<"$OUT")
sleep 1
phase "2999-gaps" "$PYTHON" "$ATTACK" "$PORT" "$P/ca.pem" body "$P/device.pem" "$P/device.key" "$WORK/gaps"
check "2999 records past the head: all refused as gaps" grep -q 'status 200 .*accepted 0 duplicate 0 rejected 2999' <<<"$OUT"
echo "# 3000 duplicates answered in ${dup_s}s; 2999 gaps in $(sed -n 's/.*after \([0-9.]*\) s.*/\1/p' <<<"$OUT")s"
log_bytes=$(wc -c <"$WORK/l.log")
check "the ledger's log stayed small: $log_bytes bytes (rate-limited)" [ "$log_bytes" -lt 200000 ]
check "the ledger is still running" kill -0 "$LEDGER_PID"
peak=$(awk '/^VmHWM/ { print int($2 / 1024) }' /proc/"$LEDGER_PID"/status)
echo "# ledger VmHWM over every attack: $peak MiB (at rest $base MiB)"
kill "$SAMPLER" 2>/dev/null
stop_ledger "$LEDGER_PID"
finish
