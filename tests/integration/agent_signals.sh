#!/bin/bash
# agent_signals.sh — eco2d's restarts and signals, through its replay path
# (the same code as live CAN, and deterministic):
#   - SIGTERM in the middle of a long trip, restart: one trip, whole distance;
#   - a crash after storing records but before saving the checkpoint (made
#     by putting an older checkpoint back): the records are recognised when
#     they come round again, not stored twice;
#   - SIGHUP with a changed [ledger] url: the next upload goes to the new
#     ledger, without a restart.
. "$(dirname "$0")/agent/lib.sh"
make_key

# --- SIGTERM mid-trip ---------------------------------------------------
# One trip of six hours (twelve WLTC cycles in one trace, no parking),
# long enough a replay to be stopped in its middle.
"$PYTHON" - "$S/can/sim/cycles/wltc_class3b.csv" "$W/long.csv" <<'PY'
import sys
rows = [l.strip().split(",") for l in open(sys.argv[1]) if l[0].isdigit()]
with open(sys.argv[2], "w") as out:
    out.write("time_s,speed_kmh\n")
    for k in range(12):
        for t, v in rows[(1 if k else 0):]:
            out.write("%d,%s\n" % (int(t) + 1800 * k, v))
PY
"$B/eco2-sim" --cycle "$W/long.csv" --out "$W/long.log" > "$W/long.json"
write_conf "$W/a.conf" "$W/a.db"
"$B/eco2d" -c "$W/a.conf" --replay "$W/long.log" --exit-at-end 2> "$W/a1.log" &
D=$!
sleep 0.25
kill -TERM "$D"
wait "$D"
check "SIGTERM: exit 0" [ $? -eq 0 ]
n1=$("$PYTHON" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from records").fetchone()[0])' "$W/a.db")
check "SIGTERM mid-trip: no record yet ($n1)" [ "$n1" = 0 ]
check "SIGTERM mid-trip: the open trip saved" grep -q 'saving the open trip' "$W/a1.log"
"$B/eco2ctl" -c "$W/a.conf" status > "$W/status.txt"
check "eco2ctl status shows the open trip: $(head -n 1 "$W/status.txt")" \
	grep -qE '^current trip: +driving since [0-9T:-]+Z: [0-9.]+ km' "$W/status.txt"
"$B/eco2d" -c "$W/a.conf" --replay "$W/long.log" --exit-at-end 2> "$W/a2.log"
check "restart: exit 0" [ $? -eq 0 ]
check "restart: resumed with the open trip" grep -q 'resumed from the checkpoint.*with an open trip' "$W/a2.log"
"$B/eco2ctl" -c "$W/a.conf" export > "$W/a.cbor" 2>/dev/null
"$B/eco2-verify" --pubkey "$W/dev.pub" --json "$W/a.cbor" > "$W/a.json"
check "restart: the records verify" [ $? -eq 0 ]
# --from takes a seq: "-1" (strtoull's 2^64 - 1) once exported everything.
"$B/eco2ctl" -c "$W/a.conf" export --from -1 > "$W/neg.cbor" 2>/dev/null
rc=$?
check "eco2ctl export --from -1 is refused, exporting nothing" eval '[ $rc -eq 2 ] && [ ! -s "$W/neg.cbor" ]'
"$B/eco2ctl" -c "$W/a.conf" export --from 2 > "$W/from2.cbor" 2>/dev/null
rc=$?
check "eco2ctl export --from 2 of one record: nothing" eval '[ $rc -eq 0 ] && [ ! -s "$W/from2.cbor" ]'
"$PYTHON" - "$W/long.json" "$W/a.json" "$W/a.cbor" > "$W/a.tap" <<'PY'
import json, sys, cbor2, io
truth = json.load(open(sys.argv[1])); v = json.load(open(sys.argv[2]))
b = open(sys.argv[3], "rb").read(); f = io.BytesIO(b); flags = []
while f.tell() < len(b):
    flags.append(cbor2.loads(cbor2.load(f).value[2])[18])
print("trips", v["trips"], truth["trips"])
print("km", v["distance_km"], truth["distance_m"] / 1000)
print("resumed", len(flags) == 1 and flags[0] & (1 << 7) != 0)
PY
read -r _ t tt < <(grep '^trips' "$W/a.tap")
check "restart: one trip ($t, truth $tt)" eval '[ "$t" = 1 ] && [ "$tt" = 1 ]'
read -r _ km tkm < <(grep '^km' "$W/a.tap")
check "restart: whole distance ($km km, truth $tkm km)" \
	awk -v a="$km" -v b="$tkm" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.002 * b) }'
check "restart: the record is flagged resumed" grep -q '^resumed True' "$W/a.tap"

# --- a crash between storing records and saving the checkpoint ------------
"$B/eco2-sim" --cycle "$S/can/sim/cycles/nedc.csv" --park 600 --cycle "$S/can/sim/cycles/nedc.csv" \
	--park 600 --cycle "$S/can/sim/cycles/nedc.csv" --out "$W/three.log" > /dev/null
# The checkpoint saved right after the first record...
write_conf "$W/b.conf" "$W/b.db"
first_end=$(grep -n '' "$W/three.log" | awk -F'[(). :]' 'NR == 1 { t0 = $3 } $3 - t0 > 1500 { print $1; exit }')
head -n "$first_end" "$W/three.log" > "$W/first.log"
"$B/eco2d" -c "$W/b.conf" --replay "$W/first.log" 2> /dev/null &
D=$!
sleep 1
kill -TERM "$D"; wait "$D"
"$PYTHON" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); open(sys.argv[2],"wb").write(c.execute("select blob from checkpoint").fetchone()[0]); print(c.execute("select count(*) from records").fetchone()[0])' \
	"$W/b.db" "$W/cp1.bin" > "$W/n.txt"
check "after the first trip: 1 record ($(cat "$W/n.txt"))" [ "$(cat "$W/n.txt")" = 1 ]
# ... then the whole drive (records 2 and 3) ...
rm -f "$W"/b.db*
"$B/eco2d" -c "$W/b.conf" --replay "$W/three.log" --exit-at-end 2> /dev/null
"$B/eco2ctl" -c "$W/b.conf" export > "$W/b-before.cbor" 2>/dev/null
# ... and the first checkpoint put back, as if the process had died after
# storing records 2 and 3 but before their checkpoint.
"$PYTHON" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("update checkpoint set blob=?", (open(sys.argv[2],"rb").read(),)); c.commit()' \
	"$W/b.db" "$W/cp1.bin"
"$B/eco2d" -c "$W/b.conf" --replay "$W/three.log" --exit-at-end 2> "$W/b.log"
check "stale checkpoint: exit 0" [ $? -eq 0 ]
check "stale checkpoint: 2 records recognised as stored" \
	[ "$(grep -c 'already stored before the restart' "$W/b.log")" = 2 ]
"$B/eco2ctl" -c "$W/b.conf" export > "$W/b-after.cbor" 2>/dev/null
check "stale checkpoint: the store is unchanged (3 records)" cmp -s "$W/b-before.cbor" "$W/b-after.cbor"

# --- a log piped in (--replay -, as from candump) --------------------------
# The loop must not wait inside a read for the writer: SIGTERM is served
# while the pipe is quiet, and a piped log gives the file's records.
write_conf "$W/p.conf" "$W/p.db"
mkfifo "$W/fifo"
{ head -n 1000 "$W/three.log"; sleep 5; } > "$W/fifo" &
PIDS+=($!)
"$B/eco2d" -c "$W/p.conf" --replay - < "$W/fifo" 2> "$W/p.log" &
D=$!
sleep 1
t0=$(date +%s%N)
kill -TERM "$D"
wait "$D"
rc=$? ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "piped log, writer quiet: SIGTERM served within 2 s (exit $rc after $ms ms)" \
	eval '[ $rc -eq 0 ] && [ $ms -lt 2000 ]'
rm -f "$W"/p.db*
"$B/eco2d" -c "$W/p.conf" --replay - --exit-at-end < "$W/three.log" 2> /dev/null
"$B/eco2ctl" -c "$W/p.conf" export > "$W/p-file.cbor" 2>/dev/null
rm -f "$W"/p.db*
cat "$W/three.log" | "$B/eco2d" -c "$W/p.conf" --replay - --exit-at-end 2> /dev/null
"$B/eco2ctl" -c "$W/p.conf" export > "$W/p-pipe.cbor" 2>/dev/null
for f in file pipe; do
	"$PYTHON" -c 'import cbor2,io,sys; b=open(sys.argv[1],"rb").read(); f=io.BytesIO(b)
while f.tell() < len(b): print(sorted((k, v) for k, v in cbor2.loads(cbor2.load(f).value[2]).items() if k != 3))' \
		"$W/p-$f.cbor" > "$W/p-$f.txt"
done
check "piped log: the same $(wc -l < "$W/p-file.txt") records as the file" \
	eval '[ -s "$W/p-file.txt" ] && cmp -s "$W/p-file.txt" "$W/p-pipe.txt"'

# --- SIGHUP with a changed ledger url ---------------------------------------
if [ -x "$B/eco2-ledger" ]; then
	"$S/tests/integration/upload/pki.sh" "$W/pki" es256
	"$B/eco2-ledger" --keygen eco2.test/ledger --log-key "$W/log.key" >/dev/null
	"$B/eco2-ledger" --listen 127.0.0.1:0 --cert "$W/pki/server.pem" --key "$W/pki/server.key" \
		--client-ca "$W/pki/ca.pem" --device-ca "$W/pki/ca.pem" --db "$W/l.db" \
		--log-key "$W/log.key" 2> "$W/l.log" &
	PIDS+=($!)
	port=
	for _ in $(seq 100); do
		port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$W/l.log" | head -n 1)
		[ -n "$port" ] && break
		sleep 0.05
	done
	kid=$(curl -sS --cacert "$W/pki/ca.pem" -H 'Content-Type: application/x-pem-file' \
		--data-binary @"$W/pki/device.pem" "https://localhost:$port/v1/devices" | sed -n 's/.*"kid":"\([0-9a-f]*\)".*/\1/p')
	ledger_conf() { # URL
		cat > "$W/c.conf" <<EOC
[can]
profile = $S/can/profiles/reference.profile
[key]
uri = file:$W/pki/device.key
[store]
path = $W/c.db
[ledger]
url = $1
ca = $W/pki/ca.pem
cert = $W/pki/device.pem
key = $W/pki/device.key
[upload]
interval_s = 1
backoff_max_s = 1
${2:-}
EOC
	}
	# Port 9 on loopback: nothing listens; uploads fail until the reload.
	ledger_conf https://localhost:9
	: > "$W/empty.log"
	"$B/eco2d" -c "$W/c.conf" --replay "$W/three.log" 2> "$W/c.log" &
	D=$!
	PIDS+=("$D")
	sleep 2
	check "before SIGHUP: uploads fail" grep -q 'localhost:9' "$W/c.log"
	ledger_conf "https://localhost:$port"
	kill -HUP "$D"
	seq=0
	for _ in $(seq 100); do
		seq=$(curl -sS --cacert "$W/pki/ca.pem" --cert "$W/pki/device.pem" --key "$W/pki/device.key" \
			"https://localhost:$port/v1/devices/$kid/head" |
			sed -n 's/.*"seq":\([0-9]*\).*/\1/p')
		[ "$seq" = 3 ] && break
		sleep 0.1
	done
	check "after SIGHUP: the new ledger has all 3 records (head $seq)" [ "$seq" = 3 ]
	check "SIGHUP: reloaded" grep -q 'reloaded' "$W/c.log"
	! grep -q 'take effect on restart' "$W/c.log"
	check "SIGHUP: a new URL alone is not called a restart-only change" [ $? -eq 0 ]
	# A [method] change cannot reach the records of a running calculator:
	# the reload says so instead of claiming it.
	ledger_conf "https://localhost:$port" $'[method]\nbaseline_g_per_km = 120'
	kill -HUP "$D"
	for _ in $(seq 50); do [ "$(grep -c 'reloaded' "$W/c.log")" -ge 2 ] && break; sleep 0.1; done
	check "SIGHUP: a [method] change is said to take effect on restart" \
		grep -q '\[method\].*take effect on restart' "$W/c.log"
	kill -0 "$D" 2>/dev/null
	check "SIGHUP: the daemon kept running" [ $? -eq 0 ]
	kill -TERM "$D"
	wait "$D"
	check "SIGTERM after reload: exit 0" [ $? -eq 0 ]
else
	ok "SIGHUP ledger switch # SKIP eco2-ledger not built"
fi
finish
