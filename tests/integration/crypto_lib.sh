# crypto_lib.sh — shared by the crypto_*.sh integration tests (sourced,
# not run): TAP helpers and independent signature checks (Python's
# cryptography, the openssl CLI). Expects $PYTHON and $tmp.

n=0 failed=0
# Sanitizer builds: leaks inside third-party PKCS#11 modules are not ours.
export LSAN_OPTIONS=${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$ECO2_SRC/tests/integration/crypto_lsan.supp:print_suppressions=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
# check WHAT CMD...: one TAP line from CMD's status. For a compound test use
# `check WHAT eval '...'` on saved values: $? inside the eval is not the
# status of the command before check.
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

# Verify signature SIG (raw 64 bytes) over MSG with PEM public key PUB,
# independently: Python cryptography, then the openssl CLI.
py_verify() {
	"$PYTHON" - "$1" "$2" "$3" <<'EOF'
import sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
pub = serialization.load_pem_public_key(open(sys.argv[1], 'rb').read())
msg = open(sys.argv[2], 'rb').read()
sig = open(sys.argv[3], 'rb').read()
assert len(sig) == 64, len(sig)
if isinstance(pub, ed25519.Ed25519PublicKey):
    pub.verify(sig, msg)
else:
    assert isinstance(pub.curve, ec.SECP256R1)
    der = encode_dss_signature(int.from_bytes(sig[:32], 'big'), int.from_bytes(sig[32:], 'big'))
    pub.verify(der, msg, ec.ECDSA(hashes.SHA256()))
EOF
}

openssl_verify() {   # PUB MSG SIG ALG
	if [ "$4" = ed25519 ]; then
		openssl pkeyutl -verify -pubin -inkey "$1" -rawin -in "$2" -sigfile "$3" >/dev/null
	else
		"$PYTHON" -c '
import sys
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
s = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(encode_dss_signature(int.from_bytes(s[:32], "big"), int.from_bytes(s[32:], "big")))
' "$3" "$3.der" && openssl dgst -sha256 -verify "$1" -signature "$3.der" "$2" >/dev/null
	fi
}

# kid = first 8 bytes of SHA-256 of the raw public key (32-byte Ed25519,
# 65-byte uncompressed P-256), from the PEM, by Python.
py_kid() {
	"$PYTHON" - "$1" <<'EOF'
import sys, hashlib
from cryptography.hazmat.primitives import serialization as s
pub = s.load_pem_public_key(open(sys.argv[1], 'rb').read())
try:
    raw = pub.public_bytes(s.Encoding.X962, s.PublicFormat.UncompressedPoint)
except ValueError:
    raw = pub.public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
print(hashlib.sha256(raw).hexdigest()[:16])
EOF
}


# tpm_start DIR: a software TPM 2.0 for tpm2-pkcs11 — swtpm on two free
# ports of 127.0.0.1, a private session D-Bus, tpm2-abrmd on it — and the
# TCTI environment (TPM2TOOLS_TCTI, TPM2_PKCS11_TCTI, TPM2_PKCS11_STORE=
# DIR/store). Sets tpm_port. 0 when the TPM answers; the caller's EXIT
# trap calls tpm_stop, which ends every process started here.
tpm_pids=()
tpm_dbus_pid=
tpm_start() {
	local dir=$1 bus
	mkdir -p "$dir/state" "$dir/store"
	tpm_port=$("$PYTHON" - <<'EOF'
import random, socket
for _ in range(50):
    p = random.randint(20000, 60000)
    socks = []
    try:
        for q in (p, p + 1):
            s = socket.socket(); socks.append(s); s.bind(("127.0.0.1", q))
        print(p)
        break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
EOF
)
	[ -n "$tpm_port" ] || { echo "# no free port pair on 127.0.0.1"; return 1; }
	swtpm socket --tpm2 --server type=tcp,port="$tpm_port",bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((tpm_port + 1)),bindaddr=127.0.0.1 \
		--tpmstate dir="$dir/state" --flags not-need-init,startup-clear \
		>"$dir/swtpm.log" 2>&1 &
	tpm_pids+=($!)
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$tpm_port") 2>/dev/null && break
		sleep 0.1
	done
	{ read -r bus; read -r tpm_dbus_pid; } < <(dbus-daemon --session --print-address=1 --print-pid=1 --fork)
	[ -n "${bus:-}" ] && [ -n "${tpm_dbus_pid:-}" ] || { echo "# dbus-daemon --session failed"; return 1; }
	export DBUS_SESSION_BUS_ADDRESS=$bus
	tpm2-abrmd --tcti=swtpm:host=127.0.0.1,port="$tpm_port" --session --allow-root \
		>"$dir/abrmd.log" 2>&1 &
	tpm_pids+=($!)
	export TPM2TOOLS_TCTI=tabrmd:bus_type=session
	export TPM2_PKCS11_TCTI=tabrmd:bus_type=session
	export TPM2_PKCS11_STORE=$dir/store
	for _ in $(seq 50); do
		tpm2_getrandom 8 >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "# swtpm: $(tail -n 3 "$dir/swtpm.log")"
	echo "# tpm2-abrmd: $(tail -n 3 "$dir/abrmd.log")"
	return 1
}

tpm_stop() {
	local p
	for p in "${tpm_pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${tpm_pids[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "$tpm_dbus_pid" ] && kill "$tpm_dbus_pid" 2>/dev/null
	tpm_pids=()
	tpm_dbus_pid=
}

# tpm_module: the path of libtpm2_pkcs11.so (empty when absent).
tpm_module() {
	local m
	m=$(dpkg -L libtpm2-pkcs11-1 2>/dev/null | grep '/pkcs11/libtpm2_pkcs11\.so$' | head -n 1)
	[ -n "$m" ] || m=$(ls /usr/lib/*/pkcs11/libtpm2_pkcs11.so 2>/dev/null | head -n 1)
	echo "$m"
}

# py_verify_records PUB.pem RECORDS.cbor: every COSE_Sign1 of an export
# file checked by Python (cbor2 + cryptography/nacl), the Sig_structure
# built by hand: tag 18, protected {1: alg, 4: kid} with kid = SHA-256(raw
# key)[0..8), the signature, payload kid and seq 1, 2, 3... Prints
# "records=N"; non-zero on the first failure.
py_verify_records() {
	"$PYTHON" - "$1" "$2" <<'EOF'
import hashlib, io, sys
import cbor2
from cryptography.hazmat.primitives import hashes, serialization as s
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
pub = s.load_pem_public_key(open(sys.argv[1], "rb").read())
if isinstance(pub, ed25519.Ed25519PublicKey):
    alg, raw = -8, pub.public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
else:
    alg, raw = -7, pub.public_bytes(s.Encoding.X962, s.PublicFormat.UncompressedPoint)
kid = hashlib.sha256(raw).digest()[:8]
data = open(sys.argv[2], "rb").read()
fp = io.BytesIO(data)
dec = cbor2.CBORDecoder(fp)
n = 0
while fp.tell() < len(data):
    item = dec.decode()
    n += 1
    assert isinstance(item, cbor2.CBORTag) and item.tag == 18, n
    prot, unprot, payload, sig = item.value
    assert cbor2.loads(prot) == {1: alg, 4: kid} and len(sig) == 64, n
    tbs = cbor2.dumps(["Signature1", prot, b"", payload])
    if alg == -8:
        pub.verify(sig, tbs)
    else:
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        pub.verify(der, tbs, ec.ECDSA(hashes.SHA256()))
    p = cbor2.loads(payload)
    assert p[1] == kid and p[2] == n, n
print(f"records={n}")
EOF
}

# records_check LABEL URI PUB.pem: export 12 records signed through URI
# with eco2-rec-gen, then eco2-verify --pubkey and py_verify_records must
# both accept them. Skipped (TAP SKIP) where the record tools are not built.
records_check() {
	local gen=$ECO2_BUILD/eco2-rec-gen ver=$ECO2_BUILD/eco2-verify out rc f=$tmp/$1.cbor
	if [ ! -x "$gen" ] || [ ! -x "$ver" ] || ! "$PYTHON" -c 'import cbor2' 2>/dev/null; then
		n=$((n + 1)); echo "ok $n - $1: records through the token # SKIP eco2-rec-gen, eco2-verify or cbor2 missing"
		return
	fi
	"$gen" --key "$2" --count 12 -o "$tmp/$1.cbor" 2>"$tmp/gen.err"
	rc=$?
	check "$1: 12 records exported, signed through the token" eval '[ $rc -eq 0 ] && [ -s "$f" ]'
	"$ver" --pubkey "$3" "$tmp/$1.cbor" >/dev/null 2>"$tmp/ver.err"
	check "$1: eco2-verify accepts them" [ $? -eq 0 ]
	out=$(py_verify_records "$3" "$tmp/$1.cbor" 2>&1)
	check "$1: Python (cbor2 + cryptography) verifies every record ($out)" [ "$out" = records=12 ]
}
