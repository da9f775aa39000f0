#!/usr/bin/env python3
"""gen_test_vectors.py — write docs/test-vectors/ again, byte for byte.

    gen_test_vectors.py REC_GEN OUTDIR
    gen_test_vectors.py --keys DIR     the test keys alone (private and public)

REC_GEN is tests/bench/verify/rec_gen.c built (build/eco2-rec-gen): records
are encoded and signed by the project's own code, through its file signer,
with fixed test keys derived here from published seeds, so every run gives
the same bytes (Ed25519 is deterministic; the ES256 file signer uses RFC 6979
and writes the low-S form). Python (cbor2, cryptography) only makes the key
files and splices records into the damaged files.

Each vector is a file of records and an entry of manifest.json: the key to
check it with, the verdict a verifier must reach, and the problems and
warnings it must report (the seq and the code of docs/record-format.md §5).
The expectations are written here by hand from the specification; they are
not what eco2-verify says (tests/integration/crypto_vectors.sh compares
both eco2-verify and an independent Python checker with them).
"""
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

import cbor2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551

# The test keys: published, never for real records.
#   ed25519    seed 32 x 0x01 (the key of docs/record-format.md §6)
#   ed25519-b  seed 32 x 0x02 ("another device")
#   p256       scalar SHA-256("eco2 test vectors P-256") mod n
KEYS = {
    "ed25519": ed25519.Ed25519PrivateKey.from_private_bytes(b"\x01" * 32),
    "ed25519-b": ed25519.Ed25519PrivateKey.from_private_bytes(b"\x02" * 32),
    "p256": ec.derive_private_key(
        int.from_bytes(hashlib.sha256(b"eco2 test vectors P-256").digest(), "big") % P256_N,
        ec.SECP256R1()),
}

# Figures of rec_gen's records (rec_gen.c fill()): seq s starts at
# START + 7200 s and its odometer at ODO + 100 km.
START, ODO = 1767225600, 10000000
VIN = "WVWZZZ1JZXW000001"


def start(s):
    return START + s * 7200


def odo(s):
    return ODO + s * 100000


# name, key, format version, rec_gen arguments, how the file is put together,
# verdict, [(seq, code)] problems, [(seq, code)] warnings, what it is.
# "chain": the 6 records as written; others are built in make().
VECTORS = [
    ("v2-ed25519-genuine", "ed25519", 2, [], "chain", "verified", [], [],
     "six genuine records (trips and charging sessions), Ed25519, format version 2"),
    ("v2-es256-genuine", "p256", 2, [], "chain", "verified", [], [],
     "six genuine records, ES256 (low-S signatures), format version 2"),
    ("v1-ed25519-genuine", "ed25519", 1, [], "chain", "verified", [], [],
     "six genuine records, Ed25519, format version 1"),
    ("v1-es256-genuine", "p256", 1, [], "chain", "verified", [], [],
     "six genuine records, ES256, format version 1"),
    ("v1-es256-high-s", "p256", 1, ["--high-s", "2"], "chain", "verified", [], [(2, "sig.low_s")],
     "version 1: record 2's signature in its high-S form is reported, not refused"),
    ("v1-reserved-flag", "ed25519", 1, ["--set", "4:flags=16384"], "chain", "verified", [],
     [(4, "flags.reserved")], "version 1: a reserved flag bit is reported, not refused"),
    ("v2-excused-distance", "ed25519", 2, ["--set", "4:flags=4", "--set", "4:distance_m+=2000"],
     "chain", "verified", [], [(4, "odo.distance_over")],
     "distance 2 km over the odometer span, explained by odo_stuck: a warning"),
    ("v2-downhill", "ed25519", 2, ["--set", "4:discharge_wh=1000", "--set", "4:regen_wh=1200"],
     "chain", "verified", [], [(4, "energy.net")],
     "a trip that regenerates more than it draws (net energy negative): a warning"),
    ("v2-vin-not-iso3779", "ed25519", 2, ["--vin", "WVWZZZ1JZXW00000O"], "chain", "verified", [],
     [(s, "vin") for s in range(1, 7)], "a VIN with the letter O: a warning on every record"),
    # the content rules
    ("co2-one-gram-over", "ed25519", 2, ["--set", "4:co2_g+=1"], "chain", "failed", [(4, "co2")], [],
     "co2_g one gram above what the fields give (exact: no tolerance)"),
    ("co2-one-gram-under", "ed25519", 2, ["--set", "4:co2_g-=1"], "chain", "failed", [(4, "co2")], [],
     "co2_g one gram below what the fields give"),
    ("co2-half-to-even", "ed25519", 2,
     ["--set", "4:distance_m=1", "--set", f"4:odo_end_m={odo(4) + 1}", "--set", "4:discharge_wh=0",
      "--set", "4:regen_wh=0", "--set", "4:baseline_mg_per_km=500000",
      "--set", "4:charge_eff_permille=1000", "--set", "4:co2_g=0"],
     "chain", "failed", [(4, "co2")], [],
     "exactly 0.5 g rounded to even (0); half away from zero gives 1"),
    ("es256-high-s", "p256", 2, ["--high-s", "3"], "chain", "failed", [(3, "sig.low_s")], [],
     "version 2: record 3's ES256 signature in its high-S form (a second byte form)"),
    ("end-before-start", "ed25519", 2, ["--set", f"4:end_s={start(4) - 60}"], "chain", "failed",
     [(4, "time.order")], [], "a trip that ends a minute before it starts"),
    ("overlapping-trips", "ed25519", 2, ["--set", f"4:start_s={start(3) + 60}"], "chain", "failed",
     [(4, "chain.time")], [], "record 4 starts while record 3 is still going on"),
    ("back-in-time", "ed25519", 2, ["--set", f"4:start_s={START}", "--set", f"4:end_s={START + 900}"],
     "chain", "failed", [(4, "chain.time")], [], "record 4 took place before record 1"),
    ("distance-5km-over", "ed25519", 2, ["--set", "4:distance_m+=5000"], "chain", "failed",
     [(4, "odo.distance_over")], [],
     "distance 5 km over the odometer span, with a co2_g that matches it"),
    ("odometer-backwards", "ed25519", 2,
     ["--set", f"4:odo_end_m={odo(4) - 1000}", "--set", "4:distance_m=0"],
     "chain", "failed", [(4, "odo.order")], [], "odo_end_m below odo_start_m, no flag says why"),
    ("million-km", "ed25519", 2, ["--set", "4:distance_m=1000000000"], "chain", "failed",
     [(4, "range.distance")], [], "1,000,000 km with the odometer unchanged"),
    ("reserved-flag", "ed25519", 2, ["--set", "4:flags=16384"], "chain", "failed",
     [(4, "flags.reserved")], [], "flag bit 14 (reserved) set"),
    ("charging-with-distance", "ed25519", 2,
     ["--set", "3:distance_m=5000", "--set", f"3:odo_end_m={odo(3) + 5000}", "--set", "3:co2_g=845"],
     "chain", "failed", [(3, "charge.fields")], [],
     "a charging session with driving distance and a CO2 figure"),
    ("odometer-span-twice", "ed25519", 2, ["--set", "5:odo_start_m-=100000", "--set", "5:odo_end_m-=100000"],
     "chain", "failed", [(5, "chain.odo_twice")], [],
     "records 4 and 5 claim the same odometer span"),
    ("odometer-goes-back", "ed25519", 2, ["--set", "5:odo_start_m-=300000", "--set", "5:odo_end_m-=300000"],
     "chain", "failed", [(5, "chain.odo_back")], [],
     "record 5's odometer reads below where record 4 ended"),
    ("unknown-method", "ed25519", 2, ["--set", "4:method=eco2-ev-v9"], "chain", "failed",
     [(4, "method")], [], "a methodology a verifier does not know"),
    ("odo-step-zero", "ed25519", 2, ["--set", "4:odo_step_m=0"], "chain", "failed",
     [(4, "range.odo_step")], [], "version 2 record with an odometer step of 0"),
    ("software-empty", "ed25519", 2, ["--set", "4:software="], "chain", "failed",
     [(4, "software")], [], "version 2 record naming no software"),
    # the chain
    ("fork", "ed25519", 2, [], "fork", "failed", [(4, "chain.fork")], [],
     "two different records signed at seq 4"),
    ("duplicate", "ed25519", 2, [], "duplicate", "failed", [(4, "chain.duplicate")], [],
     "record 4 twice, the same bytes"),
    ("missing", "ed25519", 2, [], "missing", "failed", [(4, "chain.missing")], [],
     "record 4 left out"),
    ("out-of-order", "ed25519", 2, [], "swap", "failed", [(3, "chain.order")], [],
     "records 3 and 4 swapped"),
    ("bad-signature", "ed25519", 2, [], "badsig", "failed", [(4, "signature")], [],
     "a signature byte of record 4 changed"),
    ("another-key", "ed25519", 2, [], "otherkey", "failed", [(4, "key")], [],
     "record 4 from another device's key"),
    ("not-canonical", "ed25519", 2, [], "noncanon", "failed", [(4, "format")], [],
     "record 4 signed by the key, seq written 18 04 instead of 04"),
    ("prev-broken", "ed25519", 2, [], "prev", "failed", [(4, "chain.prev")], [],
     "record 4's prev is not SHA-256 of record 3"),
    ("trailing-bytes", "ed25519", 2, [], "tail", "failed", [(7, "chain.tail")], [],
     "100 bytes after the last record"),
]


def pem_files(keydir):
    """The key files: PKCS#8 private keys (mode 0600, as the file signer
    wants) and SubjectPublicKeyInfo public keys."""
    os.makedirs(keydir, exist_ok=True)
    for name, k in KEYS.items():
        priv = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())
        pub = k.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
        path = os.path.join(keydir, name + ".key")
        with open(path, "wb") as f:
            f.write(priv)
        os.chmod(path, 0o600)
        with open(os.path.join(keydir, name + ".pub"), "wb") as f:
            f.write(pub)


def split(data):
    fp = io.BytesIO(data)
    dec = cbor2.CBORDecoder(fp)
    out, pos = [], 0
    while fp.tell() < len(data):
        dec.decode()
        out.append(data[pos:fp.tell()])
        pos = fp.tell()
    return out


def gen(rec_gen, keydir, key, version, args, count=6, first=1, prev=None):
    with tempfile.NamedTemporaryFile(suffix=".cbor") as t:
        cmd = [rec_gen, "--key", "file:" + os.path.join(keydir, key + ".key"), "--count", str(count),
               "--first-seq", str(first), "--version", str(version), "--vin", VIN] + args + ["-o", t.name]
        if prev:
            cmd[1:1] = ["--prev", prev.hex()]
        # a later --vin wins over the default one
        subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
        return open(t.name, "rb").read()


def noncanon(rec, key):
    """rec with seq (payload key 2) in a longer head, signed again."""
    prot, _, payload, _ = cbor2.loads(rec).value
    seq = cbor2.loads(payload)[2]
    i = payload.index(bytes([0x02, seq]))
    payload = payload[:i] + bytes([0x02, 0x18, seq]) + payload[i + 2:]
    sig = key.sign(cbor2.dumps(["Signature1", prot, b"", payload]))
    return cbor2.dumps(cbor2.CBORTag(18, [prot, {}, payload, sig]))


def make(rec_gen, keydir, v):
    name, key, version, args, how = v[:5]
    base = gen(rec_gen, keydir, key, version, args)
    recs = split(base)
    h = [None] + [hashlib.sha256(r).digest() for r in recs]   # h[s]: record s's hash
    if how == "chain":
        return base
    if how == "fork":
        other = gen(rec_gen, keydir, key, version, ["--set", "4:end_s+=60"], count=1, first=4, prev=h[3])
        return base + other
    if how == "duplicate":
        return b"".join(recs[:4] + [recs[3]] + recs[4:])
    if how == "missing":
        return b"".join(recs[:3] + recs[4:])
    if how == "swap":
        return b"".join(recs[:2] + [recs[3], recs[2]] + recs[4:])
    if how == "badsig":
        r = bytearray(recs[3])
        r[-5] ^= 0x20
        return b"".join(recs[:3] + [bytes(r)] + recs[4:])
    if how == "otherkey":
        other = split(gen(rec_gen, keydir, "ed25519-b", version, []))
        return b"".join(recs[:3] + [other[3]] + recs[4:])
    if how == "noncanon":
        return b"".join(recs[:3] + [noncanon(recs[3], KEYS[key])] + recs[4:])
    if how == "prev":
        tail = gen(rec_gen, keydir, key, version, [], count=3, first=4, prev=bytes(32))
        return b"".join(recs[:3]) + tail
    if how == "tail":
        return base + bytes(range(1, 101))
    raise ValueError(how)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--keys":
        pem_files(sys.argv[2])
        return
    if len(sys.argv) != 3:
        sys.exit("usage: gen_test_vectors.py REC_GEN OUTDIR | --keys DIR")
    rec_gen, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp()
    try:
        pem_files(work)
        os.makedirs(os.path.join(out, "keys"), exist_ok=True)
        for name in KEYS:
            shutil.copyfile(os.path.join(work, name + ".pub"), os.path.join(out, "keys", name + ".pub"))
        manifest = []
        for v in VECTORS:
            name, key, version, _, _, verdict, problems, warnings, what = v
            data = make(rec_gen, work, v)
            with open(os.path.join(out, name + ".cbor"), "wb") as f:
                f.write(data)
            manifest.append({
                "file": name + ".cbor",
                "pubkey": "keys/" + key + ".pub",
                "alg": "ES256" if key == "p256" else "EdDSA",
                "version": version,
                "what": what,
                "verdict": verdict,
                "problems": [{"seq": s, "code": c} for s, c in problems],
                "warnings": [{"seq": s, "code": c} for s, c in warnings],
                "sha256": hashlib.sha256(data).hexdigest(),
            })
        with open(os.path.join(out, "manifest.json"), "w") as f:
            json.dump({"format": "eco2 test vectors", "version": 1, "vectors": manifest}, f, indent=1)
            f.write("\n")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
