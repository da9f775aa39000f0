#!/usr/bin/env python3
"""fleet_pki.py DIR N — N device keys and certificates for the ledger's
fleet tests (python3-cryptography): DIR/ca.pem (P-256, signs them) and, for
i in 0..N-1, DIR/dev<i>.key (Ed25519, PKCS#8 PEM, mode 0600) and
DIR/dev<i>.pem (clientAuth, digitalSignature). Faster than the openssl CLI
for a fleet."""
import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
now = datetime.datetime.now(datetime.timezone.utc)
ca_key = ec.generate_private_key(ec.SECP256R1())
ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "eco2 fleet test CA")])
ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
      .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
      .not_valid_before(now - datetime.timedelta(minutes=5))
      .not_valid_after(now + datetime.timedelta(days=30))
      .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
      .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
      .sign(ca_key, hashes.SHA256()))
open(os.path.join(d, "ca.pem"), "wb").write(ca.public_bytes(serialization.Encoding.PEM))
for i in range(n):
    k = ed25519.Ed25519PrivateKey.generate()
    kp = os.path.join(d, "dev%d.key" % i)
    with open(os.open(kp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))
    c = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fleet device %d" % i)]))
         .issuer_name(ca_name).public_key(k.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=30))
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
         .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
         .sign(ca_key, hashes.SHA256()))
    open(os.path.join(d, "dev%d.pem" % i), "wb").write(c.public_bytes(serialization.Encoding.PEM))
