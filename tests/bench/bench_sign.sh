#!/bin/bash
# bench_sign.sh — signing throughput per key back end, in records/s: one
# signature over a 300-byte message (the size of a trip record's COSE
# Sig_structure) through crypto/signer.h, as the agent signs.
#   file Ed25519 (libsodium), file P-256 (mbedTLS), SoftHSM2 ES256 and
#   Ed25519 (PKCS#11), TPM 2.0 ES256 (swtpm + tpm2-abrmd + tpm2-pkcs11).
# Wall-clock figures move with the machine's load; the callgrind
# instruction counts per signature (file back ends) do not. Prints figures
# only: nothing here passes or fails on timing.
set -u
: "${ECO2_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${ECO2_BUILD:=$ECO2_SRC/build}"
: "${PYTHON:=/usr/bin/python3}"
tool=$ECO2_BUILD/eco2-sign-test
ctl=$ECO2_BUILD/eco2ctl
[ -x "$tool" ] && [ -x "$ctl" ] || { echo "bench_sign: build first (make O=...)"; exit 77; }

tmp=$(mktemp -d)
. "$ECO2_SRC/tests/integration/crypto_lib.sh"
trap 'tpm_stop; rm -rf "$tmp"' EXIT

row() {   # NAME URI N
	local out
	out=$("$tool" --uri "$2" --bench "$3" 2>&1) || { printf '%-22s failed: %s\n' "$1" "$out"; return; }
	printf '%-22s %s\n' "$1" "$out"
}

# Instructions per signature: the difference of two runs cancels start-up.
insns() {   # URI
	local a b
	command -v valgrind >/dev/null || { echo "n/a (no valgrind)"; return; }
	a=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$tool" --uri "$1" --bench 20 2>&1 |
		sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
	b=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$tool" --uri "$1" --bench 120 2>&1 |
		sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
	[ -n "$a" ] && [ -n "$b" ] && echo "$(( (b - a) / 100 )) instructions/signature"
}

echo "signing, 300-byte message, records/s (one core)"
"$ctl" keygen --uri "file:$tmp/ed.key" --alg ed25519 2>/dev/null
"$ctl" keygen --uri "file:$tmp/p256.key" --alg es256 2>/dev/null
row "file Ed25519" "file:$tmp/ed.key" 20000
row "file P-256" "file:$tmp/p256.key" 2000

module=/usr/lib/softhsm/libsofthsm2.so
if command -v softhsm2-util >/dev/null && [ -f "$module" ]; then
	mkdir "$tmp/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$tmp/tokens" >"$tmp/softhsm2.conf"
	export SOFTHSM2_CONF=$tmp/softhsm2.conf
	softhsm2-util --init-token --free --label bench --pin 1234 --so-pin 5678 >/dev/null
	q="module-path=$module&pin-value=1234"
	"$ctl" keygen --uri "pkcs11:token=bench;object=p256?$q" --alg es256 2>/dev/null
	"$ctl" keygen --uri "pkcs11:token=bench;object=ed?$q" --alg ed25519 2>/dev/null
	row "SoftHSM2 ES256" "pkcs11:token=bench;object=p256?$q" 2000
	row "SoftHSM2 Ed25519" "pkcs11:token=bench;object=ed?$q" 2000
else
	echo "SoftHSM2               skipped: softhsm2 not installed"
fi

module=$(tpm_module)
if [ -n "$module" ] && command -v swtpm >/dev/null && command -v tpm2-abrmd >/dev/null &&
   command -v tpm2_ptool >/dev/null && tpm_start "$tmp/tpm" >/dev/null; then
	tpm2_ptool init >/dev/null 2>&1
	tpm2_ptool addtoken --pid=1 --label=bench --userpin=1234 --sopin=5678 >/dev/null 2>&1
	tpm2_ptool addkey --algorithm=ecc256 --label=bench --key-label=p256 --userpin=1234 >/dev/null 2>&1
	row "swtpm TPM2 ES256" "pkcs11:token=bench;object=p256?module-path=$module&pin-value=1234" 200
	tpm_stop
else
	echo "swtpm TPM2 ES256       skipped: swtpm, tpm2-abrmd, tpm2_ptool or libtpm2_pkcs11 missing"
fi

echo
echo "callgrind, instructions per signature (stable across runs)"
printf '%-22s %s\n' "file Ed25519" "$(insns "file:$tmp/ed.key")"
printf '%-22s %s\n' "file P-256" "$(insns "file:$tmp/p256.key")"
