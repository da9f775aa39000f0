#!/bin/bash
# ledger_api.sh — eco2-ledger's API, driven with curl over mTLS:
#   - verification on ingest: records after a gap, a flipped signature
#     byte, a changed payload, bytes that are no record, a second record
#     for a stored seq (a fork), an unknown device and a resent record each
#     get the documented verdict, and only good records move the head;
#     acknowledged records come with a receipt;
#   - who may do what: uploads only with the device's own certificate (not
#     one for serverAuth only), registration only of a certificate
#     eco2-verify would accept (not keyEncipherment only), reads only by
#     the device itself or an authorised certifier;
#   - the contract's edges: from=2^64-1, from=" -1", an upper-case kid,
#     no Content-Length, a body over the limit (refused before it is read);
#   - the published contract (docs/openapi.yaml) against the real answers,
#     --check-config, the metrics port, SIGTERM.
# LEDGER_STORE=URL runs it on that store (ledger_postgres.sh: PostgreSQL).
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

STORE_ARGS=()
[ -n "${LEDGER_STORE:-}" ] && STORE_ARGS=(--store "$LEDGER_STORE")
start_ledger l "${STORE_ARGS[@]}" --metrics 127.0.0.1:0 --set limits.body_max=65536 || exit 1
MPORT=$(sed -n 's/.*metrics on .*(port \([0-9]*\)).*/\1/p' "$WORK/l.log" | tail -n 1)
recs "$WORK/q.db" 1 3 > "$WORK/r1-3"
a=$(post "$WORK/r1-3")
echo "# unknown device: $a"
check "records of an unregistered device are rejected" grep -q '"accepted":\[\],.*unknown device' <<<"$a"
KID=$(register "$PORT")
a=$(post "$WORK/r1-3")
echo "# $a"
check "seqs 1..3 accepted" grep -q '^{"accepted":\[1,2,3\],"duplicate":\[\],"rejected":\[\],"receipt":"eco2-receipt/v1\\nkid '"$KID"'\\n1 0 ' <<<"$a"
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
check "resent 2..3 duplicate, 4..5 accepted, a receipt for all four" \
	grep -q '^{"accepted":\[4,5\],"duplicate":\[2,3\],"rejected":\[\],"receipt":"eco2-receipt/v1\\nkid [0-9a-f]*\\n2 1 .*\\n3 2 .*\\n4 3 .*\\n5 4 ' <<<"$a"
recs "$WORK/q.db" 6 12 > "$WORK/r6-12"
a=$(post "$WORK/r6-12" "$P/device2.pem" "$P/device2.key")
check "another device's client certificate: all rejected" grep -q '"accepted":\[\],"duplicate":\[\],"rejected":\[{"seq":6,"reason":"kid .*does not belong' <<<"$a"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$P/ca.pem" -H 'Content-Type: application/cbor-seq' \
	--data-binary @"$WORK/r6-12" "https://localhost:$PORT/v1/records")
check "no client certificate: 403 ($code)" [ "$code" = 403 ]
a=$(curl -sS -w ' %{http_code}' --cacert "$P/ca.pem" --cert "$P/device-serverauth.pem" --key "$P/device.key" \
	-H 'Content-Type: application/cbor-seq' --data-binary @"$WORK/r6-12" "https://localhost:$PORT/v1/records")
echo "# $a"
check "the device's key in a certificate for serverAuth only: 403" grep -q 'clientAuth.* 403$' <<<"$a"
a=$(curl -sS -w ' %{http_code}' --cacert "$P/ca.pem" -H 'Content-Type: application/x-pem-file' \
	--data-binary @"$P/device-keyenc.pem" "https://localhost:$PORT/v1/devices")
echo "# $a"
check "registering a keyEncipherment-only device certificate: 403" grep -q 'digitalSignature.* 403$' <<<"$a"
a=$(post "$WORK/r6-12")
check "the rest accepted" grep -q '^{"accepted":\[6,7,8,9,10,11,12\]' <<<"$a"
check "head is 12" [ "$(head_seq)" = 12 ]
curl -sS --cacert "$P/ca.pem" "${READER[@]}" -o "$WORK/back.cbor" "https://localhost:$PORT/v1/devices/$KID/records"
curl -sS --cacert "$P/ca.pem" --cert "$P/device.pem" --key "$P/device.key" -o "$WORK/own.cbor" \
	"https://localhost:$PORT/v1/devices/$KID/records?from=1"
check "the device reads its own records" cmp -s "$WORK/back.cbor" "$WORK/own.cbor"
code() { curl -sS -o /dev/null -w '%{http_code}' --cacert "$P/ca.pem" "$@"; }
check "reads without a client certificate: 403" [ "$(code "https://localhost:$PORT/v1/devices/$KID/records")" = 403 ]
check "... nor the head: 403" [ "$(code "https://localhost:$PORT/v1/devices/$KID/head")" = 403 ]
check "another device's certificate: 403" [ "$(code --cert "$P/device2.pem" --key "$P/device2.key" \
	"https://localhost:$PORT/v1/devices/$KID/records")" = 403 ]
check "a certifier not authorised: 403" [ "$(code --cert "$P/reader2.pem" --key "$P/reader2.key" \
	"https://localhost:$PORT/v1/devices/$KID/records")" = 403 ]
for q in 'from=18446744073709551615' 'from=%20-1' 'from=-1' 'from=1e3' 'from=' 'from=9223372036854775808'; do
	check "records?$q: 400" [ "$(code "${READER[@]}" "https://localhost:$PORT/v1/devices/$KID/records?$q")" = 400 ]
done
curl -sS --cacert "$P/ca.pem" "${READER[@]}" -o "$WORK/tail.cbor" "https://localhost:$PORT/v1/devices/$KID/records?from=12"
recs "$WORK/q.db" 12 12 >"$WORK/r12"
check "records?from=12: the last record alone" cmp -s "$WORK/tail.cbor" "$WORK/r12"
UKID=$(tr a-f A-F <<<"$KID")
check "an upper-case kid: 404" [ "$(code "${READER[@]}" "https://localhost:$PORT/v1/devices/$UKID/head")" = 404 ]
a=$(curl -sS -w ' %{http_code}' --cacert "$P/ca.pem" --cert "$P/device.pem" --key "$P/device.key" \
	-H 'Transfer-Encoding: chunked' -H 'Content-Type: application/cbor-seq' --data-binary @"$WORK/r1-3" \
	"https://localhost:$PORT/v1/records")
check "no Content-Length: 411 ($a)" grep -q ' 411$' <<<"$a"
head -c 100000 /dev/zero >"$WORK/big"
a=$(curl -sS -w ' %{http_code}' --cacert "$P/ca.pem" --cert "$P/device.pem" --key "$P/device.key" \
	-H 'Content-Type: application/cbor-seq' --data-binary @"$WORK/big" "https://localhost:$PORT/v1/records")
check "a body over [limits] body_max: 413 before it is read ($a)" grep -q 'larger than 65536 bytes.* 413$' <<<"$a"
check "GET /v1/checkpoint needs no certificate" [ "$(code "https://localhost:$PORT/v1/checkpoint")" = 200 ]
check "a consistency proof beyond the tree: 400" [ "$(code "https://localhost:$PORT/v1/proof/consistency?first=1&second=99999")" = 400 ]
curl -sS "http://127.0.0.1:$MPORT/metrics" >"$WORK/metrics"
check "metrics: records accepted" grep -q '^eco2_ledger_records_accepted_total 12$' "$WORK/metrics"
check "metrics: refused by reason" grep -q '^eco2_ledger_records_refused_total{reason="gap"} [1-9]' "$WORK/metrics"
check "metrics: requests refused for their certificate" grep -q '^eco2_ledger_requests_refused_total{reason="certificate"} [1-9]' "$WORK/metrics"
check "metrics: proof latency and tree size" grep -q '^eco2_ledger_proof_seconds_count [1-9]' "$WORK/metrics"
check "metrics: the tree size" grep -q '^eco2_ledger_tree_size 12$' "$WORK/metrics"
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
# --check-config: a good file, then a file with errors named by line
cat >"$WORK/good.conf" <<EOC
[server]
listen = 127.0.0.1:0
[tls]
cert = pki/server.pem
key = pki/server.key
client_ca = pki/ca.pem
device_ca = pki/ca.pem
[store]
url = sqlite:$WORK/checked.db
[log]
key = log.key
EOC
out=$("$LEDGER" -c "$WORK/good.conf" --check-config 2>&1)
check "--check-config: a good file passes ($out)" grep -q 'configuration ok' <<<"$out"
printf '[limits]\nrate = fast\n[tls]\ncert = missing.pem\n' >"$WORK/bad.conf"
out=$("$LEDGER" -c "$WORK/bad.conf" --check-config 2>&1)
rc=$?
echo "# $out" | head -n 3
check "--check-config: errors by file and line, exit 2" [ $rc = 2 ] && grep -q "bad.conf:2: \[limits\] rate" <<<"$out"
sed 's|pki/server.pem|pki/nothing.pem|' "$WORK/good.conf" >"$WORK/missing.conf"
"$LEDGER" -c "$WORK/missing.conf" --check-config >/dev/null 2>&1
check "--check-config: a certificate that is missing fails" [ $? = 1 ]
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
