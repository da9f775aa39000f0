#!/bin/bash
# PKCS#11 keys in a real SoftHSM2 token made here: `eco2ctl keygen` creates
# ES256 and Ed25519 keys inside the token, crypto/signer signs through
# CKM_ECDSA / CKM_EDDSA, and the signatures are verified independently
# (Python cryptography and the openssl CLI) against `eco2ctl pubkey`'s PEM.
# The token itself reports the private keys sensitive and never extractable.
set -u
: "${ECO2_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${ECO2_BUILD:=$ECO2_SRC/build}"
: "${PYTHON:=/usr/bin/python3}"
ctl=$ECO2_BUILD/eco2ctl
tool=$ECO2_BUILD/eco2-sign-test
module=${SOFTHSM2_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

for b in "$ctl" "$tool"; do
	[ -x "$b" ] || { echo "$b not built"; exit 77; }
done
command -v softhsm2-util >/dev/null || { echo "softhsm2-util not installed (Debian softhsm2)"; exit 77; }
[ -f "$module" ] || { echo "SoftHSM2 module $module missing (Debian libsofthsm2)"; exit 77; }
command -v openssl >/dev/null || { echo "openssl CLI not installed"; exit 77; }
"$PYTHON" -c 'import cryptography' 2>/dev/null ||
	{ echo "$PYTHON lacks the cryptography module (python3-cryptography)"; exit 77; }
"$ctl" keygen --uri pkcs11: 2>&1 | grep -q 'not built in' &&
	{ echo "eco2ctl built without CONFIG_SIGNER_PKCS11"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$ECO2_SRC/tests/integration/crypto_lib.sh"

mkdir "$tmp/tokens"
cat >"$tmp/softhsm2.conf" <<EOF
directories.tokendir = $tmp/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
export SOFTHSM2_CONF=$tmp/softhsm2.conf
softhsm2-util --init-token --free --label eco2-test --pin 1234 --so-pin 5678 >/dev/null ||
	{ echo "softhsm2-util --init-token failed"; exit 1; }
softhsm2-util --init-token --free --label eco2-other --pin 4321 --so-pin 5678 >/dev/null ||
	{ echo "softhsm2-util --init-token failed"; exit 1; }
printf '1234\n' >"$tmp/pin"
chmod 600 "$tmp/pin"
q="module-path=$module&pin-source=file:$tmp/pin"

head -c 300 /dev/urandom >"$tmp/msg"
for alg in es256 ed25519; do
	uri="pkcs11:token=eco2-test;object=device-$alg;type=private?$q"
	"$ctl" keygen --uri "$uri" --alg "$alg" 2>"$tmp/kg.err"
	check "$alg: keygen inside the token exits 0" [ $? -eq 0 ]
	"$ctl" pubkey --uri "$uri" >"$tmp/$alg.pub" 2>"$tmp/$alg.kid"
	check "$alg: pubkey exits 0" [ $? -eq 0 ]
	check "$alg: openssl accepts the PEM SubjectPublicKeyInfo" \
		openssl pkey -pubin -in "$tmp/$alg.pub" -noout
	kid=$(cat "$tmp/$alg.kid")
	check "$alg: kid is SHA-256(raw public key)[0..8) ($kid)" [ "$kid" = "$(py_kid "$tmp/$alg.pub")" ]
	check "$alg: keygen printed the same kid" [ "$(cat "$tmp/kg.err")" = "$kid" ]
	"$tool" --uri "$uri" --in "$tmp/msg" --out "$tmp/$alg.sig"
	check "$alg: signs through the PKCS#11 signer" [ $? -eq 0 ]
	check "$alg: Python cryptography verifies the token's signature" \
		py_verify "$tmp/$alg.pub" "$tmp/msg" "$tmp/$alg.sig"
	check "$alg: openssl verifies the token's signature" \
		openssl_verify "$tmp/$alg.pub" "$tmp/msg" "$tmp/$alg.sig" "$alg"
	cp "$tmp/msg" "$tmp/msg2"
	printf 'x' >>"$tmp/msg2"
	if py_verify "$tmp/$alg.pub" "$tmp/msg2" "$tmp/$alg.sig" 2>/dev/null; then
		not_ok "$alg: a changed message fails verification"
	else
		ok "$alg: a changed message fails verification"
	fi
	attrs=$("$tool" --uri "$uri" --attrs)
	check "$alg: token reports the key sensitive, not extractable ($attrs)" \
		[ "$attrs" = "sensitive=1 extractable=0 always_sensitive=1 never_extractable=1" ]
	records_check "$alg" "$uri" "$tmp/$alg.pub"
	check "$alg: two signers share the module; closing one keeps the other working" \
		[ "$("$tool" --uri "$uri" --shared 2>&1)" = shared=ok ]
	# State tags (signer_tag): keygen made an HMAC key beside the pair;
	# the tag is the token's CKM_SHA256_HMAC, the same for the same state,
	# and any change to the state or the tag is refused.
	check "$alg: state tags are the token's HMAC ($("$tool" --uri "$uri" --tag-scheme))" \
		eval '"$tool" --uri "$uri" --tag-scheme | grep -q "secret key in the token"'
	"$tool" --uri "$uri" --in "$tmp/msg" --out "$tmp/$alg.tag" --tag
	"$tool" --uri "$uri" --in "$tmp/msg" --out "$tmp/$alg.tag2" --tag
	check "$alg: a 33-byte HMAC tag, the same twice" \
		eval '[ "$(stat -c %s "$tmp/$alg.tag")" = 33 ] && cmp -s "$tmp/$alg.tag" "$tmp/$alg.tag2"'
	check "$alg: the token checks its own tag" \
		eval '[ "$("$tool" --uri "$uri" --in "$tmp/msg" --tag-check "$tmp/$alg.tag")" = tag=ok ]'
	check "$alg: a changed state fails the tag" \
		eval '[ "$("$tool" --uri "$uri" --in "$tmp/msg2" --tag-check "$tmp/$alg.tag" 2>/dev/null)" = tag=bad ]'
	"$ctl" keygen --uri "$uri" --alg "$alg" 2>"$tmp/err"
	rc=$?
	check "$alg: keygen refuses a second key with the same label" eval \
		'[ $rc -eq 1 ] && grep -q "refusing to create another" "$tmp/err"'
done

# opensc's pkcs11-tool, where installed, is a second opinion on the flags.
if command -v pkcs11-tool >/dev/null; then
	pkcs11-tool --module "$module" --token-label eco2-test --login --pin 1234 \
		--list-objects --type privkey >"$tmp/objs" 2>/dev/null
	check "pkcs11-tool lists the private keys as sensitive, never extractable" eval \
		'[ "$(grep -c "Access:.*always sensitive.*never extractable" "$tmp/objs")" -ge 2 ]'
else
	n=$((n + 1)); echo "ok $n - pkcs11-tool cross-check # SKIP opensc not installed"
fi

# Selection by id alone, and the id given at keygen.
uri="pkcs11:token=eco2-test;object=by-id;id=%a1%b2%00?$q"
"$ctl" keygen --uri "$uri" 2>/dev/null
"$ctl" pubkey --uri "$uri" >"$tmp/byid.pub" 2>/dev/null
"$ctl" pubkey --uri "pkcs11:token=eco2-test;id=%A1%B2%00?$q" >"$tmp/byid2.pub" 2>/dev/null
check "a key made with id= is found by id alone" eval \
	'[ -s "$tmp/byid.pub" ] && cmp -s "$tmp/byid.pub" "$tmp/byid2.pub"'

# A key pair imported from an openssl-made key: the public key read from
# the token must be openssl's, and its signatures verify.
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/imp.pem" 2>/dev/null
openssl pkey -in "$tmp/imp.pem" -pubout -out "$tmp/imp.ossl.pub"
if softhsm2-util --import "$tmp/imp.pem" --token eco2-test --label imported --id c0ffee \
	--pin 1234 >/dev/null 2>&1; then
	uri="pkcs11:token=eco2-test;object=imported?$q"
	"$ctl" pubkey --uri "$uri" >"$tmp/imp.pub" 2>/dev/null
	check "imported key: pubkey equals what openssl derives from the key" \
		cmp -s "$tmp/imp.pub" "$tmp/imp.ossl.pub"
	"$tool" --uri "$uri" --in "$tmp/msg" --out "$tmp/imp.sig"
	check "imported key: openssl verifies the token's signature" \
		openssl_verify "$tmp/imp.ossl.pub" "$tmp/msg" "$tmp/imp.sig" es256
	softhsm2-util --import "$tmp/imp.pem" --token eco2-test --label imported2 --id c0ffee --force \
		--pin 1234 >/dev/null 2>&1
	"$ctl" pubkey --uri "pkcs11:token=eco2-test;id=%c0%ff%ee?$q" >/dev/null 2>"$tmp/err"
	rc=$?
	check "two private keys under one id: refused, asking for more" eval \
		'[ $rc -eq 1 ] && grep -q "several private keys match" "$tmp/err"'
else
	not_ok "softhsm2-util --import of an openssl-made P-256 key"
fi

# Failure paths name the cause.
expect_fail() {   # WHAT PATTERN URI
	"$ctl" pubkey --uri "$3" >/dev/null 2>"$tmp/err"
	local rc=$?
	if [ $rc -eq 1 ] && grep -q -- "$2" "$tmp/err"; then
		ok "$1"
	else
		not_ok "$1 (exit $rc: $(head -c 300 "$tmp/err"))"
	fi
}
printf '9999\n' >"$tmp/badpin"
chmod 600 "$tmp/badpin"
expect_fail "a wrong PIN is reported as CKR_PIN_INCORRECT" CKR_PIN_INCORRECT \
	"pkcs11:token=eco2-test;object=device-es256?module-path=$module&pin-source=file:$tmp/badpin"
expect_fail "no PIN: says the token needs one" "needs the user PIN" \
	"pkcs11:token=eco2-test;object=device-es256?module-path=$module"
expect_fail "an unknown token: lists the tokens present" "tokens present: .*eco2-test" \
	"pkcs11:token=nope;object=device-es256?$q"
expect_fail "two tokens match: asks for token= or serial=" "2 tokens match" \
	"pkcs11:object=device-es256?$q"
expect_fail "an unknown label: says no private key" "no private key device-none" \
	"pkcs11:token=eco2-test;object=device-none?$q"
expect_fail "type=public is refused for signing" "type=private" \
	"pkcs11:token=eco2-test;object=device-es256;type=public?$q"
expect_fail "a missing module is named" "/nonexistent/p11.so" \
	"pkcs11:token=eco2-test;object=device-es256?module-path=/nonexistent/p11.so"
expect_fail "no module-path: says so" "no module-path" \
	"pkcs11:token=eco2-test;object=device-es256"
expect_fail "a malformed URI names the column" "col 28: ' ' must be %-escaped" \
	"pkcs11:token=eco2;object=my key?$q"
expect_fail "a key with no name is refused" "names no key" "pkcs11:token=eco2-test?$q"
# The PIN file is held to a key file's rules: 0600, a regular file, no
# blocking open (a FIFO is refused at once).
cp "$tmp/pin" "$tmp/pin644"
chmod 644 "$tmp/pin644"
expect_fail "a PIN file group or others may read is refused, as a key file is" "chmod 600" \
	"pkcs11:token=eco2-test;object=device-es256?module-path=$module&pin-source=file:$tmp/pin644"
mkfifo "$tmp/pinfifo"
expect_fail "a FIFO as the PIN file is refused at once" "not a regular file" \
	"pkcs11:token=eco2-test;object=device-es256?module-path=$module&pin-source=file:$tmp/pinfifo"

# A key pair with no HMAC key beside it (imported, not made by keygen)
# tags with a signature by the key itself, which the public key verifies.
uri="pkcs11:token=eco2-test;object=nomac?$q"
if softhsm2-util --import "$tmp/imp.pem" --token eco2-test --label nomac --id 0dd0 \
	--pin 1234 >/dev/null 2>&1; then
	check "imported key without an HMAC key: state tags are signatures" \
		eval '"$tool" --uri "$uri" --tag-scheme | grep -q "^signature"'
	"$tool" --uri "$uri" --in "$tmp/msg" --out "$tmp/imp.tag" --tag
	"$PYTHON" - "$tmp/msg" "$tmp/imp.tag" "$tmp/imp.d" "$tmp/imp.tsig" <<'EOF'
import hashlib, sys
msg, tag = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
assert len(tag) == 65 and tag[0] == 2, (len(tag), tag[:1])
open(sys.argv[3], "wb").write(hashlib.sha256(b"eco2-agent state tag v1" + msg).digest())
open(sys.argv[4], "wb").write(tag[1:])
EOF
	check "the signature tag verifies with openssl over SHA-256(context || state)" \
		openssl_verify "$tmp/imp.ossl.pub" "$tmp/imp.d" "$tmp/imp.tsig" es256
else
	not_ok "softhsm2-util --import of a key without an HMAC key"
fi

echo "1..$n"
[ $failed -eq 0 ]
