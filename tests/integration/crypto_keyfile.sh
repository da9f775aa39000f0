#!/bin/bash
# File keys end to end: `eco2ctl keygen/pubkey` with file: URIs, checked by
# code no one here wrote — the openssl CLI and Python's cryptography:
#   the PEM public key parses, openssl derives the same public key from the
#   private key file, the kid is SHA-256(raw key)[0..8), signatures made
#   through crypto/signer verify, keys made by openssl load, and the key
#   file rules hold (0600, no overwrite, group/world-readable refused).
set -u
: "${ECO2_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${ECO2_BUILD:=$ECO2_SRC/build}"
: "${PYTHON:=/usr/bin/python3}"
ctl=$ECO2_BUILD/eco2ctl
tool=$ECO2_BUILD/eco2-sign-test

for b in "$ctl" "$tool"; do
	[ -x "$b" ] || { echo "$b not built"; exit 77; }
done
command -v openssl >/dev/null || { echo "openssl CLI not installed"; exit 77; }
"$PYTHON" -c 'import cryptography' 2>/dev/null ||
	{ echo "$PYTHON lacks the cryptography module (python3-cryptography)"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$ECO2_SRC/tests/integration/crypto_lib.sh"

head -c 300 /dev/urandom >"$tmp/msg"
for alg in es256 ed25519; do
	key=$tmp/$alg.key
	"$ctl" keygen --uri "file:$key" --alg "$alg" 2>"$tmp/kg.err"
	check "$alg: keygen exits 0" [ $? -eq 0 ]
	check "$alg: key file is mode 0600" [ "$(stat -c %a "$key")" = 600 ]
	"$ctl" pubkey --uri "file:$key" >"$tmp/$alg.pub" 2>"$tmp/$alg.kid"
	check "$alg: pubkey exits 0" [ $? -eq 0 ]
	check "$alg: openssl accepts the PEM SubjectPublicKeyInfo" \
		openssl pkey -pubin -in "$tmp/$alg.pub" -noout
	openssl pkey -in "$key" -pubout -out "$tmp/$alg.ossl.pub" 2>/dev/null
	check "$alg: openssl derives the same public key from the key file" \
		cmp -s "$tmp/$alg.pub" "$tmp/$alg.ossl.pub"
	kid=$(cat "$tmp/$alg.kid")
	check "$alg: kid on stderr is SHA-256(raw public key)[0..8) ($kid)" \
		[ "$kid" = "$(py_kid "$tmp/$alg.pub")" ]
	check "$alg: keygen printed the same kid" [ "$(cat "$tmp/kg.err")" = "$kid" ]
	"$tool" --uri "file:$key" --in "$tmp/msg" --out "$tmp/$alg.sig"
	check "$alg: signs through crypto/signer" [ $? -eq 0 ]
	check "$alg: Python cryptography verifies the signature" \
		py_verify "$tmp/$alg.pub" "$tmp/msg" "$tmp/$alg.sig"
	check "$alg: openssl verifies the signature" \
		openssl_verify "$tmp/$alg.pub" "$tmp/msg" "$tmp/$alg.sig" "$alg"
	cp "$tmp/msg" "$tmp/msg2"
	printf 'x' >>"$tmp/msg2"
	if py_verify "$tmp/$alg.pub" "$tmp/msg2" "$tmp/$alg.sig" 2>/dev/null; then
		not_ok "$alg: a changed message fails verification"
	else
		ok "$alg: a changed message fails verification"
	fi

	before=$(sha256sum <"$key")
	"$ctl" keygen --uri "file:$key" --alg "$alg" 2>"$tmp/err"
	rc=$?
	check "$alg: keygen refuses to overwrite (exit 1, key unchanged)" eval \
		'[ $rc -eq 1 ] && [ "$before" = "$(sha256sum <"$key")" ] &&
		 grep -q "refusing to overwrite" "$tmp/err"'
	chmod 0644 "$key"
	"$ctl" pubkey --uri "file:$key" >/dev/null 2>"$tmp/err"
	rc=$?
	check "$alg: a 0644 key file is refused, naming the mode" eval \
		'[ $rc -eq 1 ] && grep -q "mode 0644" "$tmp/err"'
	chmod 0600 "$key"
done

# Keys made by openssl load too (PKCS#8 Ed25519 and P-256; SEC1 P-256).
openssl genpkey -algorithm ed25519 -out "$tmp/o-ed.key" 2>/dev/null
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/o-p8.key" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/o-sec1.key" 2>/dev/null
for k in o-ed o-p8 o-sec1; do
	chmod 600 "$tmp/$k.key"
	"$ctl" pubkey --uri "file:$tmp/$k.key" >"$tmp/$k.pub" 2>/dev/null
	openssl pkey -in "$tmp/$k.key" -pubout -out "$tmp/$k.ossl" 2>/dev/null
	check "openssl-made key $k loads with the same public key" cmp -s "$tmp/$k.pub" "$tmp/$k.ossl"
done
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-384 -out "$tmp/p384.key" 2>/dev/null
chmod 600 "$tmp/p384.key"
"$ctl" pubkey --uri "file:$tmp/p384.key" >/dev/null 2>"$tmp/err"
rc=$?
check "a P-384 key is refused with a reason" eval '[ $rc -eq 1 ] && grep -q "another curve" "$tmp/err"'

"$ctl" keygen >/dev/null 2>&1
check "keygen without --uri is a usage error (2)" [ $? -eq 2 ]
"$ctl" keygen --uri "file:$tmp/x.key" --alg rsa >/dev/null 2>&1
rc=$?
check "keygen --alg rsa is a usage error (2), no file made" eval '[ $rc -eq 2 ] && [ ! -e "$tmp/x.key" ]'
"$ctl" pubkey --uri "file:$tmp/none.key" >/dev/null 2>&1
check "pubkey of a missing file fails (1)" [ $? -eq 1 ]

echo "1..$n"
[ $failed -eq 0 ]
