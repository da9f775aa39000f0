#!/bin/bash
# agent_crash.sh — kill -9 eco2d at random points while it measures a drive
# and uploads it, restart it, again and again (AGENT_CRASH_ROUNDS, 50 by
# default; make soak: 1000). Then let it finish. In the end the ledger must
# hold every seq exactly once, the chain must verify with eco2-verify
# against the device certificate, and the trips and their total distance
# must be those of the simulator's truth — as if nothing had happened.
# The ledger answers slowly and fails 30 % of the batches, so uploads and
# retries are in flight when the kills land.
. "$(dirname "$0")/upload/lib.sh"
need_bins "$LEDGER" "$ECO2_BUILD/eco2d" "$ECO2_BUILD/eco2-sim" "$ECO2_BUILD/eco2-verify"
ROUNDS=${AGENT_CRASH_ROUNDS:-50}
B=$ECO2_BUILD

"$UP/pki.sh" "$WORK/pki" es256 || skip_all "cannot make the test PKI"
# Twenty short urban trips with parking between them: many records, so
# the kills land while some are being made, stored, signed or uploaded.
printf 'time_s,speed_kmh\n0,0\n5,0\n20,50\n60,50\n80,20\n95,45\n110,0\n120,0\n' > "$WORK/short.csv"
args=()
for t in $(seq 20); do args+=(--cycle "$WORK/short.csv" --park 400); done
"$B/eco2-sim" "${args[@]}" --out "$WORK/drive.log" > "$WORK/truth.json"
start_ledger ledger --fail-rate 0.3 --status 503 --retry-after 0 --delay-ms 150 ||
	{ nok "eco2-ledger starts"; finish; exit 1; }
kid=$(register "$PORT")
check "device registered" [ -n "$kid" ]

cat > "$WORK/eco2d.conf" <<EOC
[can]
profile = $ECO2_SRC/can/profiles/reference.profile
[key]
uri = file:$WORK/pki/device.key
[store]
path = $WORK/eco2.db
[ledger]
url = https://localhost:$PORT
ca = $WORK/pki/ca.pem
cert = $WORK/pki/device.pem
key = $WORK/pki/device.key
receipt_key = $(cat "$WORK/log.vkey")
[upload]
interval_s = 1
batch_records = 1
backoff_max_s = 1
EOC

killed=0 finished=0
for i in $(seq "$ROUNDS"); do
	"$B/eco2d" -c "$WORK/eco2d.conf" --replay "$WORK/drive.log" --exit-at-end --upload-drain \
		2>> "$WORK/eco2d.log" &
	pid=$!
	sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", r / 32768 * 0.4 }')"
	if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); else finished=$((finished + 1)); fi
	wait "$pid" 2>/dev/null
done
echo "# $killed runs killed, $finished had finished before the kill"
# Each run resumes where the last checkpoint left the log, so the work
# runs out after some rounds and later runs finish before their kill: what
# matters is that enough kills landed while there was work.
want=$((ROUNDS / 2 < 10 ? ROUNDS / 2 : 10))
check "killed at least $want runs ($killed of $ROUNDS)" [ "$killed" -ge "$want" ]

# The last run goes to the end: every record stored and acknowledged.
timeout 120 "$B/eco2d" -c "$WORK/eco2d.conf" --replay "$WORK/drive.log" --exit-at-end \
	--upload-drain 2>> "$WORK/eco2d.log"
check "the final run exits 0" [ $? -eq 0 ]
! grep -E 'runtime error|ERROR: [A-Za-z]+Sanitizer' "$WORK/eco2d.log" >/dev/null
check "no sanitizer report" [ $? -eq 0 ]

curl -sS --fail --cacert "$WORK/pki/ca.pem" "${READER[@]}" "https://localhost:$PORT/v1/devices/$kid/records?from=1" \
	-o "$WORK/ledger.cbor"

# "As if nothing had happened", record by record: one uninterrupted run of
# the same log into a fresh store must sign the same payloads, seq for seq.
# Only the chain link (prev: ES256 signatures differ run to run) and the
# resumed flag (a trip the kills cut through) may differ.
cat > "$WORK/ref.conf" <<EOC
[can]
profile = $ECO2_SRC/can/profiles/reference.profile
[key]
uri = file:$WORK/pki/device.key
[store]
path = $WORK/ref.db
[ledger]
enabled = false
EOC
"$B/eco2d" -c "$WORK/ref.conf" --replay "$WORK/drive.log" --exit-at-end 2>> "$WORK/eco2d.log" &&
	"$B/eco2ctl" -c "$WORK/ref.conf" export > "$WORK/ref.cbor" 2>/dev/null
check "an uninterrupted reference run" [ $? -eq 0 ]
payloads() { "$PYTHON" "$ECO2_SRC/tests/integration/lib/payloads.py" "$1"; }
payloads "$WORK/ref.cbor" > "$WORK/ref.txt"
payloads "$WORK/ledger.cbor" > "$WORK/got.txt"
check "every record equals the uninterrupted run's ($(wc -l < "$WORK/ref.txt") records)" \
	eval '[ -s "$WORK/ref.txt" ] && cmp -s "$WORK/ref.txt" "$WORK/got.txt"'
diff "$WORK/ref.txt" "$WORK/got.txt" | head -n 6 | sed 's/^/# /'
head=$(curl -sS --cacert "$WORK/pki/ca.pem" "${READER[@]}" "https://localhost:$PORT/v1/devices/$kid/head")
# The test PKI is made now and the drive is dated 2023: the certificate is
# checked as it stands now, not at each record's time.
"$B/eco2-verify" --cert "$WORK/pki/device.pem" --ca "$WORK/pki/ca.pem" --at now --json "$WORK/ledger.cbor" \
	> "$WORK/verify.json"
check "eco2-verify --cert --ca: the ledger's chain verifies" [ $? -eq 0 ]
out=$("$PYTHON" - "$WORK/truth.json" "$WORK/verify.json" "$head" "$tap_n" <<'PY'
import json, sys
truth = json.load(open(sys.argv[1])); v = json.load(open(sys.argv[2])); head = json.loads(sys.argv[3])
n = int(sys.argv[4])
def tap(ok, what):
    global n
    n += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", n, what))
tap(v["problems"] == [] and v["records"] == v["verified"], "every seq once, no problem (%d records)" % v["records"])
tap(head["seq"] == v["records"], "ledger head %d = records %d" % (head["seq"], v["records"]))
tap(v["trips"] == truth["trips"], "trips %d = truth %d" % (v["trips"], truth["trips"]))
km, true_km = v["distance_km"], truth["distance_m"] / 1000
tap(abs(km - true_km) <= 0.002 * true_km, "distance %.3f km = truth %.3f km (0.2 %%)" % (km, true_km))
kwh, true_kwh = v["energy_kwh"], (truth["discharge_wh"] - truth["regen_wh"]) / 1000
tap(abs(kwh - true_kwh) <= 0.005 * true_kwh + 0.002, "net energy %.3f kWh = truth %.3f kWh (0.5 %%)" % (kwh, true_kwh))
PY
)
echo "$out"
# The Python TAP lines carry their own numbers; count them in.
tap_n=$((tap_n + 5))
tap_fail=$((tap_fail + $(grep -c '^not ok' <<<"$out")))
finish
