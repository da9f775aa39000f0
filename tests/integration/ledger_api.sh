#!/bin/bash
# upload_ledger.sh — eco2-ledger's verification on ingest, driven with curl
# over mTLS: records after a gap, a flipped signature byte, a changed
# payload, bytes that are no record, a second record for a stored seq (a
# fork), an unknown device and a resent record each get the documented
# verdict, and only good records move the head.
set -u
. "$(dirname "$0")/upload/lib.sh"
need_bins "$LEDGER" "$FILL"
command -v openssl >/dev/null || skip_all "openssl CLI missing"
command -v curl >/dev/null || skip_all "curl CLI missing"
"$UP/pki.sh" "$WORK/pki" ed25519 || { nok "test PKI"; finish; exit 1; }
P=$WORK/pki
"$FILL" --db "$WORK/q.db" --count 12 --key "file:$P/device.key" >/dev/null 2>&1
# a second chain by the same key (a fork from seq 1 on)
"$FILL" --db "$WORK/fork2.db" --count 3 --variant 60 --key "file:$P/device.key" >/dev/null 2>&1

# recs DB FIRST LAST [MUTATE]: the records FIRST..LAST as a CBOR sequence;
# MUTATE: sig (flip the last signature byte), payload (flip a payload byte)
recs() {
	"$PYTHON" - "$@" <<'PYEOF'
import sqlite3, sys
db, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
mut = sys.argv[4] if len(sys.argv) > 4 else ""
out = b""
for (blob,) in sqlite3.connect(db).execute("select cose from records where seq between ? and ? order by seq", (a, b)):
    blob = bytearray(blob)
    if mut == "sig":
        blob[-1] ^= 1
    elif mut == "payload":
        blob[40] ^= 1
    out += bytes(blob)
sys.stdout.buffer.write(out)
PYEOF
}
post() {  # post FILE [CERT KEY]: POST /v1/records, prints the JSON answer
	local cert=${2:-$P/device.pem} key=${3:-$P/device.key}
	curl -sS --cacert "$P/ca.pem" --cert "$cert" --key "$key" \
		-H 'Content-Type: application/cbor-seq' --data-binary @"$1" \
		"https://localhost:$PORT/v1/records" | tee -a "$WORK/acks.json"
	echo >>"$WORK/acks.json"
}
head_seq() { curl -sS --cacert "$P/ca.pem" "${READER[@]}" "https://localhost:$PORT/v1/devices/$KID/head" | sed -n 's/.*"seq":\([0-9]*\).*/\1/p'; }

start_ledger l || exit 1
recs "$WORK/q.db" 1 3 > "$WORK/r1-3"
a=$(post "$WORK/r1-3")
echo "# unknown device: $a"
check "records of an unregistered device are rejected" grep -q '"accepted":\[\],.*unknown device' <<<"$a"
KID=$(register "$PORT")
a=$(post "$WORK/r1-3")
echo "# $a"
check "seqs 1..3 accepted" grep -q '^{"accepted":\[1,2,3\],"duplicate":\[\],"rejected":\[\]}$' <<<"$a"
recs "$WORK/q.db" 6 7 > "$WORK/r6-7"
a=$(post "$WORK/r6-7")
echo "# $a"
check "a gap is rejected with the expected seq" grep -q '{"seq":6,"reason":"gap: seq 6, expected seq 4"}' <<<"$a"
check "head still 3 after the gap" [ "$(head_seq)" = 3 ]
recs "$WORK/q.db" 4 4 sig > "$WORK/r4sig"
a=$(post "$WORK/r4sig")
echo "# $a"
check "a flipped signature byte is rejected" grep -q '"rejected":\[{"seq":4,"reason":"signature does not verify"}\]' <<<"$a"
recs "$WORK/q.db" 4 4 payload > "$WORK/r4pl"
a=$(post "$WORK/r4pl")
echo "# $a"
check "a changed payload is rejected" grep -q '"accepted":\[\],"duplicate":\[\],"rejected":\[{"seq":' <<<"$a"
printf 'not a record at all' > "$WORK/junk"
a=$(post "$WORK/junk")
echo "# $a"
check "bytes that are no record: rejected with seq 0" grep -q '"rejected":\[{"seq":0,"reason":"item at byte 0' <<<"$a"
recs "$WORK/fork2.db" 2 2 > "$WORK/fork-2"
a=$(post "$WORK/fork-2")
echo "# $a"
check "another record for stored seq 2 is a fork, rejected" grep -q 'seq 2 is already stored with other bytes' <<<"$a"
recs "$WORK/q.db" 2 5 > "$WORK/r2-5"
a=$(post "$WORK/r2-5")
echo "# $a"
check "resent 2..3 duplicate, 4..5 accepted" grep -q '^{"accepted":\[4,5\],"duplicate":\[2,3\],"rejected":\[\]}$' <<<"$a"
recs "$WORK/q.db" 6 12 > "$WORK/r6-12"
a=$(post "$WORK/r6-12" "$P/device2.pem" "$P/device2.key")
check "another device's client certificate: all rejected" grep -q '"accepted":\[\],"duplicate":\[\],"rejected":\[{"seq":6,"reason":"kid .*does not belong' <<<"$a"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$P/ca.pem" -H 'Content-Type: application/cbor-seq' \
	--data-binary @"$WORK/r6-12" "https://localhost:$PORT/v1/records")
check "no client certificate: 403 ($code)" [ "$code" = 403 ]
a=$(post "$WORK/r6-12")
check "the rest accepted" grep -q '^{"accepted":\[6,7,8,9,10,11,12\]' <<<"$a"
check "head is 12" [ "$(head_seq)" = 12 ]
curl -sS --cacert "$P/ca.pem" "${READER[@]}" -o "$WORK/back.cbor" "https://localhost:$PORT/v1/devices/$KID/records"
out=$("$PYTHON" "$UP/check_chain.py" "$WORK/back.cbor" "$P/device.pem" 12)
echo "# $out"
check "the stored chain verifies independently" grep -q '^check_chain: 12 records' <<<"$out"
curl -sS --cacert "$P/ca.pem" "${READER[@]}" "https://localhost:$PORT/v1/devices/$KID/head" >"$WORK/head.json"
echo >>"$WORK/head.json"
# The published contract (docs/openapi.yaml) against the real answers; the
# validators may live in another Python than $PYTHON.
cv=77
for py in "$PYTHON" python3; do
	out=$("$py" "$UP/check_openapi.py" "$ECO2_SRC/docs/openapi.yaml" Ack "$WORK/acks.json" 2>&1)
	cv=$?
	[ $cv -ne 77 ] && break
done
if [ $cv -eq 77 ]; then
	ok "answers conform to docs/openapi.yaml # SKIP openapi-spec-validator/jsonschema not installed"
else
	echo "# $out" | tail -n 3
	check "docs/openapi.yaml is valid and every POST /v1/records answer conforms" [ $cv -eq 0 ]
	"$py" "$UP/check_openapi.py" "$ECO2_SRC/docs/openapi.yaml" Head "$WORK/head.json" >/dev/null 2>&1
	check "the head answer conforms" [ $? -eq 0 ]
fi
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$P/ca.pem" "${READER[@]}" "https://localhost:$PORT/v1/devices/0000000000000000/head")
check "unknown kid: 404 ($code)" [ "$code" = 404 ]
kill -TERM "$LEDGER_PID"
wait "$LEDGER_PID"
rc=$?
check "SIGTERM: exits 0 ($rc)" [ $rc -eq 0 ]
"$LEDGER" --help | grep -q -- '--drop-connection P'
check "--help documents the fault options" [ $? -eq 0 ]
"$LEDGER" --listen 127.0.0.1:0 >/dev/null 2>&1
check "missing required options: usage error (exit 2)" [ $? -eq 2 ]
if command -v man >/dev/null; then
	MANWIDTH=200 man -l "$ECO2_SRC/docs/man/eco2-ledger.1" 2>/dev/null | grep -q -- '--drop-connection P'
	check "eco2-ledger(1) renders and documents the fault options" [ $? -eq 0 ]
fi
finish
