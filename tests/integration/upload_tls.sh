#!/bin/bash
# upload_tls.sh — the uploader against eco2-ledger over real TLS on
# loopback, with a CA, server and device certificates made by openssl:
# a good upload arrives whole (checked by an independent Python verifier),
# and a wrong CA, a hostname mismatch, an expired server certificate, a
# wrong pin, a missing client certificate and a plain http:// URL each fail
# with a clear log line while nothing is marked uploaded.
set -u
. "$(dirname "$0")/upload/lib.sh"
need_bins "$LEDGER" "$DRIVE" "$FILL"
command -v openssl >/dev/null || skip_all "openssl CLI missing"
command -v curl >/dev/null || skip_all "curl CLI missing"
"$UP/pki.sh" "$WORK/pki" es256 || { nok "test PKI"; finish; exit 1; }
P=$WORK/pki
N=300

"$FILL" --db "$WORK/q.db" --count $N --batch 100 --key "file:$P/device.key" >/dev/null
check "store holds $N signed records" [ "$(uploaded "$WORK/q.db")" = 0 ]

start_ledger good || exit 1
GOOD=$PORT
KID=$(register "$GOOD")
check "device registered (kid $KID)" [ -n "$KID" ]

# try NAME PORT [args]: one attempt, expected to fail; the log goes to
# $WORK/NAME.drive.log. Passes when it exits 1, logs the expected
# phrase, and nothing was marked uploaded.
try_fail() {
	local name=$1 port=$2 phrase=$3; shift 3
	"$DRIVE" --db "$WORK/q.db" --url "https://localhost:$port" --ca "$P/ca.pem" \
		--cert "$P/device.pem" --key "$P/device.key" --max-failures 1 \
		--backoff-base-ms 10 "$@" >"$WORK/$name.drive.log" 2>&1
	local rc=$?
	grep -m1 'ledger\|upload-drive' "$WORK/$name.drive.log" | sed 's/^/# /'
	check "$name: refused (exit $rc)" [ $rc -ne 0 ]
	check "$name: clear log line ($phrase)" grep -qi -- "$phrase" "$WORK/$name.drive.log"
	check "$name: nothing marked uploaded" [ "$(uploaded "$WORK/q.db")" = 0 ]
}

try_fail wrong-ca "$GOOD" "certificate problem\|certificate verification failed" --ca "$P/other-ca.pem"
try_fail wrong-pin "$GOOD" "pinned public key" --pinned-pubkey "$(cat "$P/other.pin")"
# No client certificate: TLS completes, the ledger refuses the records.
"$DRIVE" --db "$WORK/q.db" --url "https://localhost:$GOOD" --ca "$P/ca.pem" \
	--max-failures 1 >"$WORK/no-client.drive.log" 2>&1
rc=$?
grep -m1 'error' "$WORK/no-client.drive.log" | sed 's/^/# /'
check "missing client certificate: refused (exit $rc)" [ $rc -ne 0 ]
# The ledger answers 403 before reading the body; a client still sending
# may see the connection reset first, and then names the missing certificate.
check "missing client certificate: clear log line" grep -q 'HTTP 403.*client certificate required\|no client certificate is configured' "$WORK/no-client.drive.log"
check "missing client certificate: nothing marked uploaded" [ "$(uploaded "$WORK/q.db")" = 0 ]
# The reset itself, made certain: a TLS peer that reads the request's
# headers and resets the connection (SO_LINGER 0), as a ledger closing on
# a body it will not read can. Without a client certificate the uploader
# names the missing certificate; with one it does not guess.
cat >"$WORK/reset_peer.py" <<'PY'
import socket, ssl, struct, sys, threading
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
print(srv.getsockname()[1], flush=True)
srv.settimeout(60)

def serve(c):
    c.settimeout(5)
    t = ctx.wrap_socket(c, server_side=True, do_handshake_on_connect=False)
    try:
        t.do_handshake()
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = t.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    t.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    t.close()

while True:
    try:
        c, _ = srv.accept()
    except OSError:
        break
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
coproc RESET { exec "${PYTHON:-python3}" "$WORK/reset_peer.py" "$P/server.pem" "$P/server.key"; }
rpid=$RESET_PID
read -r -t 10 RPORT <&"${RESET[0]}"
"$DRIVE" --db "$WORK/q.db" --url "https://localhost:$RPORT" --ca "$P/ca.pem" \
	--backoff-base-ms 10 --max-failures 1 >"$WORK/reset-nocert.drive.log" 2>&1
grep -m1 'error' "$WORK/reset-nocert.drive.log" | sed 's/^/# /'
check "a reset connection without a client certificate: the log names the missing certificate" \
	grep -q 'nothing marked uploaded; no client certificate is configured' "$WORK/reset-nocert.drive.log"
"$DRIVE" --db "$WORK/q.db" --url "https://localhost:$RPORT" --ca "$P/ca.pem" \
	--cert "$P/device.pem" --key "$P/device.key" --backoff-base-ms 10 --max-failures 1 \
	>"$WORK/reset-cert.drive.log" 2>&1
check "a reset connection with a client certificate: refused, no certificate hint" \
	eval '! grep -q "no client certificate" "$WORK/reset-cert.drive.log" &&
	      grep -q "from the peer.*; nothing marked uploaded$\|to the peer.*; nothing marked uploaded$" "$WORK/reset-cert.drive.log"'
kill "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null
check "the reset peer left nothing marked uploaded" [ "$(uploaded "$WORK/q.db")" = 0 ]
# Another device's valid certificate: the ledger rejects every record.
"$DRIVE" --db "$WORK/q.db" --url "https://localhost:$GOOD" --ca "$P/ca.pem" \
	--cert "$P/device2.pem" --key "$P/device2.key" --max-failures 1 >"$WORK/other-dev.drive.log" 2>&1
rc=$?
grep -m1 'rejected' "$WORK/other-dev.drive.log" | sed 's/^/# /'
check "another device's client certificate: refused (exit $rc)" [ $rc -ne 0 ]
check "another device's client certificate: records rejected with the reason" \
	grep -q 'rejected: kid .*does not belong to this device' "$WORK/other-dev.drive.log"
check "another device's client certificate: nothing marked uploaded" [ "$(uploaded "$WORK/q.db")" = 0 ]
# A device certificate from another CA cannot be registered.
reg=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$P/ca.pem" --data-binary @"$P/other-ca.pem" \
	"https://localhost:$GOOD/v1/devices")
check "POST /v1/devices with a certificate outside the automaker CAs: 403 ($reg)" [ "$reg" = 403 ]
"$DRIVE" --db "$WORK/q.db" --url "http://localhost:$GOOD" --ca "$P/ca.pem" >"$WORK/http.drive.log" 2>&1
rc=$?
check "http:// URL is a configuration error (exit $rc)" [ $rc -ne 0 ]
check "http:// URL: clear log line" grep -q 'must be an https:// URL' "$WORK/http.drive.log"

start_ledger wronghost --cert "$P/server-wronghost.pem" || exit 1
try_fail hostname-mismatch "$PORT" "subject name\|does not match\|hostname"
stop_ledger "$LEDGER_PID"
start_ledger expired --cert "$P/server-expired.pem" || exit 1
try_fail expired-server-cert "$PORT" "expired\|certificate verification failed"
stop_ledger "$LEDGER_PID"

# The pin of the right key passes; the whole queue arrives.
"$DRIVE" --db "$WORK/q.db" --url "https://localhost:$GOOD" --ca "$P/ca.pem" \
	--cert "$P/device.pem" --key "$P/device.key" --pinned-pubkey "$(cat "$P/server.pin")" \
	--batch-records 64 --max-failures 3 --verbose >"$WORK/good.drive.log" 2>&1
rc=$?
sed -n 's/^upload-drive: acked/# acked/p' "$WORK/good.drive.log"
check "upload over mTLS with the right pin succeeds" [ $rc -eq 0 ]
reuse=$(grep -ci 're-using existing connection\|reusing existing connection' "$WORK/good.drive.log")
check "keep-alive: 5 batches over one connection ($reuse reuses)" [ "$reuse" -ge 4 ]
check "all $N records marked uploaded" [ "$(uploaded "$WORK/q.db")" = $N ]
head=$(curl -sS --cacert "$P/ca.pem" "${READER[@]}" "https://localhost:$GOOD/v1/devices/$KID/head")
echo "# head: $head"
check "ledger head is seq $N" grep -q "\"seq\":$N," <<<"$head"
hash=$("$PYTHON" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select hex(last_hash) from agent_state").fetchone()[0].lower())' "$WORK/q.db")
check "ledger head hash is the store's chain head" grep -q "\"hash\":\"$hash\"" <<<"$head"
curl -sS --cacert "$P/ca.pem" "${READER[@]}" -o "$WORK/back.cbor" "https://localhost:$GOOD/v1/devices/$KID/records?from=1"
out=$("$PYTHON" "$UP/check_chain.py" "$WORK/back.cbor" "$P/device.pem" $N)
echo "# $out"
check "records fetched back verify independently (cbor2 + cryptography)" grep -q "^check_chain: $N records" <<<"$out"
store_bytes=$("$PYTHON" -c 'import sqlite3,sys; sys.stdout.buffer.write(b"".join(r[0] for r in sqlite3.connect(sys.argv[1]).execute("select cose from records order by seq")))' "$WORK/q.db" | sha256sum)
check "the ledger holds the store's bytes exactly" [ "$store_bytes" = "$(sha256sum <"$WORK/back.cbor")" ]
curl -sS --cacert "$P/ca.pem" "${READER[@]}" -o "$WORK/tail.cbor" "https://localhost:$GOOD/v1/devices/$KID/records?from=$((N - 9))"
check "GET records?from=SEQ starts at that seq" [ "$(wc -c <"$WORK/tail.cbor")" -gt 0 ]
if "$PYTHON" - "$WORK/tail.cbor" $((N - 9)) <<'PYEOF'; then ok "from=SEQ returns seqs $((N - 9))..$N in order"; else nok "from=SEQ content"; fi
import sys, io, cbor2
d = open(sys.argv[1], "rb").read(); f = io.BytesIO(d); seqs = []
while f.tell() < len(d):
    t = cbor2.CBORDecoder(f).decode(); seqs.append(cbor2.loads(t.value[2])[2])
assert seqs == list(range(int(sys.argv[2]), int(sys.argv[2]) + 10)), seqs
PYEOF

# Through an HTTP CONNECT proxy, named on the command line ([ledger]
# proxy) or by the environment (https_proxy): TLS stays end to end.
"$PYTHON" "$UP/connect_proxy.py" "$WORK/proxy.log" >"$WORK/proxy.port" &
PROXY_PID=$!
LEDGER_PIDS+=("$PROXY_PID")
for _ in $(seq 50); do grep -q port "$WORK/proxy.port" && break; sleep 0.05; done
PP=$(sed -n 's/^port //p' "$WORK/proxy.port")
"$PYTHON" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("update records set state=0 where seq>280"); c.commit()' "$WORK/q.db"
"$DRIVE" --db "$WORK/q.db" --url "https://localhost:$GOOD" --ca "$P/ca.pem" --proxy "http://127.0.0.1:$PP" \
	--cert "$P/device.pem" --key "$P/device.key" --max-failures 1 >"$WORK/proxy.drive.log" 2>&1
check "through the proxy given as an option: acknowledged" grep -q 'acked 20 records (20 duplicate' "$WORK/proxy.drive.log"
check "the proxy saw CONNECT localhost:$GOOD" grep -q "^CONNECT localhost:$GOOD\$" "$WORK/proxy.log"
: > "$WORK/proxy.log"
"$PYTHON" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("update records set state=0 where seq>290"); c.commit()' "$WORK/q.db"
https_proxy="http://127.0.0.1:$PP" no_proxy= NO_PROXY= "$DRIVE" --db "$WORK/q.db" --url "https://localhost:$GOOD" \
	--ca "$P/ca.pem" --cert "$P/device.pem" --key "$P/device.key" --max-failures 1 >"$WORK/proxy-env.drive.log" 2>&1
check "through the proxy from https_proxy: acknowledged" grep -q 'acked 10 records (10 duplicate' "$WORK/proxy-env.drive.log"
check "the proxy saw it" grep -q "^CONNECT localhost:$GOOD\$" "$WORK/proxy.log"
kill "$PROXY_PID" 2>/dev/null

# Resending a stored batch: reported duplicate, stored once.
"$PYTHON" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("update records set state=0 where seq>290"); c.commit()' "$WORK/q.db"
"$DRIVE" --db "$WORK/q.db" --url "https://localhost:$GOOD" --ca "$P/ca.pem" \
	--cert "$P/device.pem" --key "$P/device.key" --max-failures 1 >"$WORK/dup.drive.log" 2>&1
check "a resent batch is acknowledged as duplicate" grep -q '(10 duplicate, 0 rejected)' "$WORK/dup.drive.log"
check "and everything is uploaded again" [ "$(uploaded "$WORK/q.db")" = $N ]
finish
