#!/usr/bin/python3
"""check_chain.py RECORDS.cbor DEVICE.pem N — an independent check of a
chain of signed records (python3-cbor2 + python3-cryptography, not the
project's code): the CBOR sequence holds exactly seqs 1..N once each, in
order; every record is a tagged COSE_Sign1 whose signature verifies with
the device certificate's key; each prev is SHA-256 of the record before
(zeros for seq 1). Prints one line; exits 1 on the first problem."""
import hashlib
import io
import sys

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def fail(msg):
    print("check_chain: " + msg)
    sys.exit(1)


def main():
    data = open(sys.argv[1], "rb").read()
    cert = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())
    n = int(sys.argv[3])
    key = cert.public_key()
    f = io.BytesIO(data)
    prev = bytes(32)
    seq = 0
    while f.tell() < len(data):
        start = f.tell()
        item = cbor2.CBORDecoder(f).decode()
        raw = data[start:f.tell()]
        if not isinstance(item, cbor2.CBORTag) or item.tag != 18 or len(item.value) != 4:
            fail("byte %d: not a tagged COSE_Sign1" % start)
        prot, _unprot, payload, sig = item.value
        tbs = cbor2.dumps(["Signature1", prot, b"", payload])
        try:
            if isinstance(key, ed25519.Ed25519PublicKey):
                key.verify(sig, tbs)
            else:
                der = encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                           int.from_bytes(sig[32:], "big"))
                key.verify(der, tbs, ec.ECDSA(hashes.SHA256()))
        except Exception:
            fail("seq %d: signature does not verify" % (seq + 1))
        p = cbor2.loads(payload)
        seq += 1
        if p[2] != seq:
            fail("record %d has seq %d" % (seq, p[2]))
        if p[3] != prev:
            fail("seq %d: prev is not SHA-256 of seq %d" % (seq, seq - 1))
        prev = hashlib.sha256(raw).digest()
    if seq != n:
        fail("%d records, expected %d" % (seq, n))
    print("check_chain: %d records, seqs 1..%d once each, signatures and prev-hashes verify" % (n, n))


main()
