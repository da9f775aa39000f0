# crypto_lib.sh — shared by the crypto_*.sh integration tests (sourced,
# not run): TAP helpers and independent signature checks (Python's
# cryptography, the openssl CLI). Expects $PYTHON and $tmp.

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
# check WHAT CMD...: one TAP line from CMD's status (eval for compound tests).
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

