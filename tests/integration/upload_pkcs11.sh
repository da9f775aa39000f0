#!/bin/bash
# upload_pkcs11.sh — mTLS with the device key inside a PKCS#11 token: the
# key is imported into a SoftHSM2 token, [ledger] key is a pkcs11: URI
# (libcurl's OpenSSL back end loads the pkcs11 engine, which finds the
# module through p11-kit). The right PIN uploads; a wrong PIN fails with a
# clear log line and marks nothing.
set -u
. "$(dirname "$0")/upload/lib.sh"
need_bins "$LEDGER" "$DRIVE" "$FILL"
command -v softhsm2-util >/dev/null || skip_all "softhsm2-util missing"
command -v openssl >/dev/null || skip_all "openssl CLI missing"
curl-config --ssl-backends 2>/dev/null | grep -q OpenSSL || skip_all "libcurl not built with OpenSSL (pkcs11 engine)"
ls /usr/lib/*/engines-3/pkcs11.so >/dev/null 2>&1 || skip_all "OpenSSL pkcs11 engine (libengine-pkcs11-openssl) missing"
"$UP/pki.sh" "$WORK/pki" es256 || { nok "test PKI"; finish; exit 1; }
P=$WORK/pki
mkdir -p "$WORK/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$WORK/tokens" >"$WORK/softhsm2.conf"
export SOFTHSM2_CONF=$WORK/softhsm2.conf
softhsm2-util --init-token --free --label eco2dev --pin 1234 --so-pin 5678 >/dev/null 2>&1
openssl pkcs8 -topk8 -nocrypt -in "$P/device.key" -out "$WORK/dev8.pem" 2>/dev/null
softhsm2-util --import "$WORK/dev8.pem" --token eco2dev --label dev --id 01 --pin 1234 >/dev/null 2>&1
check "device key imported into a SoftHSM2 token" [ $? -eq 0 ]
rm -f "$WORK/dev8.pem"
URI='pkcs11:token=eco2dev;object=dev;type=private'

"$FILL" --db "$WORK/q.db" --count 40 --key "file:$P/device.key" >/dev/null 2>&1
start_ledger l || exit 1
register "$PORT" >/dev/null
"$DRIVE" --db "$WORK/q.db" --url "https://localhost:$PORT" --ca "$P/ca.pem" --cert "$P/device.pem" \
	--key "$URI" --key-pin 9999 --max-failures 1 >"$WORK/bad.log" 2>&1
rc=$?
grep -m1 'ledger https' "$WORK/bad.log" | sed 's/^/# /'
check "wrong PIN: refused (exit $rc)" [ $rc -ne 0 ]
check "wrong PIN: clear log line" grep -q 'ledger https.*\(private key\|engine\|PIN\|login\).*nothing marked uploaded' "$WORK/bad.log"
check "wrong PIN: nothing marked uploaded" [ "$(uploaded "$WORK/q.db")" = 0 ]
"$DRIVE" --db "$WORK/q.db" --url "https://localhost:$PORT" --ca "$P/ca.pem" --cert "$P/device.pem" \
	--key "$URI" --key-pin 1234 --max-failures 1 >"$WORK/good.log" 2>&1
rc=$?
sed -n 's/^upload-drive: acked/# acked/p' "$WORK/good.log"
check "key in the token: upload over mTLS succeeds (exit $rc)" [ $rc -eq 0 ]
check "all 40 uploaded" [ "$(uploaded "$WORK/q.db")" = 40 ]
finish
