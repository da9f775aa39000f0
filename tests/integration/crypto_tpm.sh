#!/bin/bash
# ES256 keys in a software TPM 2.0 behind PKCS#11 (tpm2-pkcs11), the way a
# head unit with a TPM chip signs: swtpm on random local ports, a private
# session D-Bus, tpm2-abrmd as the resource manager, a token and key made
# with tpm2_ptool, then crypto/signer signs through libtpm2_pkcs11 and the
# signatures are verified independently (Python cryptography, openssl).
# `eco2ctl keygen` also creates a key inside the TPM. Every process started
# here is stopped by the EXIT trap.
set -u
: "${ECO2_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${ECO2_BUILD:=$ECO2_SRC/build}"
: "${PYTHON:=/usr/bin/python3}"
ctl=$ECO2_BUILD/eco2ctl
tool=$ECO2_BUILD/eco2-sign-test

skip() { echo "$*"; exit 77; }
for b in "$ctl" "$tool"; do
	[ -x "$b" ] || skip "$b not built"
done
for c in swtpm:swtpm tpm2-abrmd:tpm2-abrmd dbus-daemon:dbus tpm2_ptool:libtpm2-pkcs11-tools \
	 tpm2_getrandom:tpm2-tools openssl:openssl; do
	command -v "${c%%:*}" >/dev/null || skip "${c%%:*} not installed (Debian ${c#*:})"
done
. "$ECO2_SRC/tests/integration/crypto_lib.sh"
module=${TPM2_PKCS11_MODULE:-$(tpm_module)}
[ -n "$module" ] && [ -f "$module" ] || skip "libtpm2_pkcs11.so not found (Debian libtpm2-pkcs11-1)"
ls /usr/lib/*/libtss2-tcti-tabrmd.so* >/dev/null 2>&1 ||
	skip "the tabrmd TCTI is not installed (Debian libtss2-tcti-tabrmd0)"
ls /usr/lib/*/libtss2-tcti-swtpm.so* >/dev/null 2>&1 ||
	skip "the swtpm TCTI is not installed (Debian libtss2-tcti-swtpm0)"
"$PYTHON" -c 'import cryptography' 2>/dev/null ||
	skip "$PYTHON lacks the cryptography module (python3-cryptography)"

tmp=$(mktemp -d)
trap 'tpm_stop; rm -rf "$tmp"' EXIT

if ! tpm_start "$tmp/tpm"; then
	echo "not ok 1 - swtpm + tpm2-abrmd answer"
	exit 1
fi
ok "swtpm on 127.0.0.1:$tpm_port behind tpm2-abrmd answers"

tpm2_ptool init >"$tmp/ptool.log" 2>&1 &&
tpm2_ptool addtoken --pid=1 --label=eco2tpm --userpin=1234 --sopin=5678 >>"$tmp/ptool.log" 2>&1 &&
tpm2_ptool addkey --algorithm=ecc256 --label=eco2tpm --key-label=device --userpin=1234 \
	>>"$tmp/ptool.log" 2>&1
rc=$?
check "tpm2_ptool init, addtoken, addkey --algorithm=ecc256" [ $rc -eq 0 ]
[ $rc -eq 0 ] || { sed 's/^/# /' "$tmp/ptool.log" | tail -n 5; echo "1..$n"; exit 1; }

printf '1234\n' >"$tmp/pin"
chmod 600 "$tmp/pin"
q="module-path=$module&pin-source=file:$tmp/pin"
head -c 300 /dev/urandom >"$tmp/msg"

# The ptool-made key, then one made by eco2ctl keygen inside the TPM.
for label in device eco2-made; do
	uri="pkcs11:token=eco2tpm;object=$label;type=private?$q"
	if [ "$label" = eco2-made ]; then
		"$ctl" keygen --uri "$uri" --alg es256 2>"$tmp/err"
		rc=$?
		check "eco2ctl keygen creates an ES256 key inside the TPM" [ $rc -eq 0 ]
		[ $rc -eq 0 ] || sed 's/^/# /' "$tmp/err"
	fi
	"$ctl" pubkey --uri "$uri" >"$tmp/$label.pub" 2>"$tmp/$label.kid"
	rc=$?
	check "$label: pubkey exits 0 and openssl accepts the PEM" eval \
		'[ $rc -eq 0 ] && openssl pkey -pubin -in "$tmp/$label.pub" -noout'
	check "$label: kid is SHA-256(raw public key)[0..8)" \
		[ "$(cat "$tmp/$label.kid")" = "$(py_kid "$tmp/$label.pub")" ]
	"$tool" --uri "$uri" --in "$tmp/msg" --out "$tmp/$label.sig" 2>"$tmp/err"
	check "$label: ES256 signs through libtpm2_pkcs11 (CKM_ECDSA)" [ $? -eq 0 ]
	check "$label: Python cryptography verifies the TPM's signature" \
		py_verify "$tmp/$label.pub" "$tmp/msg" "$tmp/$label.sig"
	check "$label: openssl verifies the TPM's signature" \
		openssl_verify "$tmp/$label.pub" "$tmp/msg" "$tmp/$label.sig" es256
	records_check "$label" "$uri" "$tmp/$label.pub"
	attrs=$("$tool" --uri "$uri" --attrs 2>/dev/null)
	check "$label: TPM reports the key sensitive, not extractable ($attrs)" \
		[ "$attrs" = "sensitive=1 extractable=0 always_sensitive=1 never_extractable=1" ]
done

# State tags (signer_tag). tpm2-pkcs11 cannot generate a secret key
# (no CKM_GENERIC_SECRET_KEY_GEN), so the keys above tag with signatures,
# which openssl verifies over SHA-256(context || state) with the public key.
# tpm2_ptool can add an HMAC key with the signing key's id: then the tags
# are the TPM's CKM_SHA256_HMAC.
"$PYTHON" -c 'import hashlib,sys; open(sys.argv[2],"wb").write(hashlib.sha256(b"eco2-agent state tag v1" + open(sys.argv[1],"rb").read()).digest())' \
	"$tmp/msg" "$tmp/msg.d"
for label in device eco2-made; do
	uri="pkcs11:token=eco2tpm;object=$label;type=private?$q"
	check "$label: no HMAC key: state tags are signatures" \
		eval '"$tool" --uri "$uri" --tag-scheme | grep -q "^signature"'
	"$tool" --uri "$uri" --in "$tmp/msg" --out "$tmp/$label.tag" --tag
	tail -c 64 "$tmp/$label.tag" > "$tmp/$label.tsig"
	check "$label: the signature tag verifies with openssl" \
		eval '[ "$(head -c 1 "$tmp/$label.tag" | od -An -tu1 | tr -d " ")" = 2 ] &&
		      openssl_verify "$tmp/$label.pub" "$tmp/msg.d" "$tmp/$label.tsig" es256'
done
tpm2_ptool addkey --algorithm=ecc256 --label=eco2tpm --key-label=tagged --id=7461676765640001 \
	--userpin=1234 >>"$tmp/ptool.log" 2>&1 &&
tpm2_ptool addkey --algorithm=hmac:sha256 --label=eco2tpm --key-label=tagged --id=7461676765640001 \
	--userpin=1234 >>"$tmp/ptool.log" 2>&1
check "tpm2_ptool addkey: a key pair and an HMAC key under one id" [ $? -eq 0 ]
uri="pkcs11:token=eco2tpm;object=tagged;type=private?$q"
check "with its HMAC key: state tags are the TPM's HMAC" \
	eval '"$tool" --uri "$uri" --tag-scheme | grep -q "secret key in the token"'
"$tool" --uri "$uri" --in "$tmp/msg" --out "$tmp/t1.tag" --tag
"$tool" --uri "$uri" --in "$tmp/msg" --out "$tmp/t2.tag" --tag
check "the HMAC tag: 33 bytes, the same twice, checked by the TPM" \
	eval '[ "$(stat -c %s "$tmp/t1.tag")" = 33 ] && cmp -s "$tmp/t1.tag" "$tmp/t2.tag" &&
	      [ "$("$tool" --uri "$uri" --in "$tmp/msg" --tag-check "$tmp/t1.tag")" = tag=ok ]'
printf 'x' >> "$tmp/msg"
check "a changed state fails the TPM's HMAC tag" \
	eval '[ "$("$tool" --uri "$uri" --in "$tmp/msg" --tag-check "$tmp/t1.tag" 2>/dev/null)" = tag=bad ]'

# A TPM 2.0 has no Ed25519: keygen must say so, not half-create a key.
"$ctl" keygen --uri "pkcs11:token=eco2tpm;object=ed?$q" --alg ed25519 2>"$tmp/err"
rc=$?
check "ed25519 keygen in the TPM fails naming the missing mechanism" eval \
	'[ $rc -eq 1 ] && grep -q "CKM_EC_EDWARDS_KEY_PAIR_GEN" "$tmp/err"'

echo "1..$n"
[ $failed -eq 0 ]
