#!/usr/bin/env python3
"""oracle.py — an independent verifier, written from docs/record-format.md
alone with Python's cbor2, cryptography and nacl (none of the project's
code), for the published test vectors:

    oracle.py MANIFEST.json          check every vector, print one line each
                                     ("ok NAME" or "DIFF NAME: ..."), exit 1
                                     on any difference from the manifest
    oracle.py --file PUB.pem F.cbor  print the verdict, problems and
                                     warnings it finds for one file (JSON)

It decodes each record (tag 18, the protected header, the canonical
payload, the keys of its version), checks the kid, the signature and
(ES256) its low-S form, every content rule of §5.1 in the table's order,
the rules between records of §5.2, and the chain's bookkeeping of §5.3
(missing, out of order, duplicate, fork, prev, damaged records placed by
counting, bytes after a record)."""
import hashlib
import io
import json
import os
import sys
from fractions import Fraction

import cbor2
import nacl.exceptions
import nacl.signing
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551
FLAGS = ["odo_rollback", "odo_jump", "odo_stuck", "data_gap", "clock_jump", "frames_dropped",
         "bus_error", "resumed", "odo_wrap", "no_energy", "no_odometer", "ended_early",
         "state_break", "clock_stuck"]
F = {name: 1 << i for i, name in enumerate(FLAGS)}
ODO_EXCUSE = F["odo_rollback"] | F["odo_wrap"]
DIST_EXCUSE = F["odo_rollback"] | F["odo_jump"] | F["odo_stuck"] | F["odo_wrap"]
CLOCK_EXCUSE = F["clock_jump"] | F["clock_stuck"]
# id -> (severity in version 1, in version 2, excusing flags); None: n/a
RULES = {
    "sig.low_s": ("warn", "fail", 0),
    "range.time": ("fail", "fail", 0), "range.odometer": ("fail", "fail", 0),
    "range.distance": ("fail", "fail", 0), "range.energy": ("fail", "fail", 0),
    "range.params": ("fail", "fail", 0), "range.odo_step": (None, "fail", 0),
    "software": (None, "fail", 0), "vin": ("warn", "warn", 0),
    "flags.reserved": ("warn", "fail", 0), "method": ("fail", "fail", 0),
    "co2": ("fail", "fail", 0), "charge.fields": ("fail", "fail", 0),
    "time.order": ("fail", "fail", 0), "odo.order": ("fail", "fail", ODO_EXCUSE),
    "odo.distance_over": ("warn", "fail", DIST_EXCUSE),
    "odo.distance_short": ("warn", "warn", DIST_EXCUSE),
    "speed": ("warn", "warn", CLOCK_EXCUSE), "energy.net": ("warn", "warn", 0),
    "chain.time": ("warn", "fail", CLOCK_EXCUSE),
    "chain.odo_twice": ("warn", "fail", ODO_EXCUSE), "chain.odo_back": ("warn", "fail", ODO_EXCUSE),
}
START = bytes.fromhex("d2844da201")
I64 = (-2**63, 2**63 - 1)


class Bad(Exception):
    def __init__(self, code):
        self.code = code


def load_key(path):
    pub = serialization.load_pem_public_key(open(path, "rb").read())
    if isinstance(pub, ed25519.Ed25519PublicKey):
        return -8, pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw), pub
    return -7, pub.public_bytes(serialization.Encoding.X962,
                                serialization.PublicFormat.UncompressedPoint), pub


def is_start(d, i):
    return d[i:i + 5] == START and d[i + 5:i + 6] in (b"\x26", b"\x27") and d[i + 6:i + 8] == b"\x04\x48"


def items(d):
    """(bytes, tail) per item: records by their CBOR extent; bytes that do
    not begin like one, up to the next record start."""
    out, i, after_record = [], 0, False
    while i < len(d):
        nxt = next((j for j in range(i + 1, len(d)) if is_start(d, j)), len(d))
        end = None
        if is_start(d, i):
            try:
                fp = io.BytesIO(d[i:i + 513])
                cbor2.CBORDecoder(fp).decode()
                end = i + fp.tell()
            except Exception:
                end = None
        if end is not None and end <= nxt:
            out.append((d[i:end], False))
            after_record = end < nxt
            i = end
            if after_record:
                out.append((d[i:nxt], True))
                i = nxt
        else:
            out.append((d[i:nxt], False))
            i = nxt
    return out


def decode(rec, alg, raw, pub):
    """The payload of one record, or Bad(code)."""
    if len(rec) > 512:
        raise Bad("format")
    try:
        t = cbor2.loads(rec)
    except Exception:
        raise Bad("format")
    if not isinstance(t, cbor2.CBORTag) or t.tag != 18 or not isinstance(t.value, list) or len(t.value) != 4:
        raise Bad("format")
    prot, unprot, payload, sig = t.value
    if not all(isinstance(x, bytes) for x in (prot, payload, sig)) or unprot != {} or len(sig) != 64:
        raise Bad("format")
    try:
        hdr = cbor2.loads(prot)
        p = cbor2.loads(payload)
    except Exception:
        raise Bad("format")
    if not isinstance(hdr, dict) or set(hdr) != {1, 4} or hdr[1] not in (-7, -8) or \
            not isinstance(hdr[4], bytes) or len(hdr[4]) != 8:
        raise Bad("format")
    if cbor2.dumps(t, canonical=True) != rec or cbor2.dumps(hdr, canonical=True) != prot or \
            not isinstance(p, dict) or cbor2.dumps(p, canonical=True) != payload:
        raise Bad("format")
    v = p.get(0)
    if v not in (1, 2) or p.get(4) not in (1, 2):
        raise Bad("format")
    want = set(range(19)) | ({19} if 19 in p else set()) | ({20} if p[4] == 2 else set()) \
        | ({21, 22, 23} if v == 2 else set())
    if set(p) != want:
        raise Bad("format")
    ints = [5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17] + ([20] if p[4] == 2 else []) + ([21] if v == 2 else [])
    if any(not isinstance(p[k], int) or isinstance(p[k], bool) or not I64[0] <= p[k] <= I64[1] for k in ints):
        raise Bad("format")
    if not isinstance(p[2], int) or not 1 <= p[2] < 2**64 or not isinstance(p[18], int) or \
            not 0 <= p[18] < 2**64 or p[1] != hdr[4] or len(p[3]) != 32:
        raise Bad("format")
    if not isinstance(p[13], str) or len(p[13].encode()) > 31 or "\0" in p[13]:
        raise Bad("format")
    if 19 in p and (not isinstance(p[19], str) or len(p[19].encode()) > 17):
        raise Bad("format")
    if v == 2 and (not isinstance(p[22], str) or len(p[22].encode()) > 47 or
                   not isinstance(p[23], bytes) or len(p[23]) != 32):
        raise Bad("format")
    if hdr[1] != alg or p[1] != hashlib.sha256(raw).digest()[:8]:
        raise Bad("key")
    tbs = cbor2.dumps(["Signature1", prot, b"", payload])
    try:
        if alg == -8:
            nacl.signing.VerifyKey(raw).verify(tbs, sig)
        else:
            pub.verify(encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")),
                       tbs, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, nacl.exceptions.BadSignatureError):
        raise Bad("signature")
    return p, sig


def co2(p):
    """docs/methodology.md §3 in exact fractions, halves away from zero."""
    v = (Fraction(p[9] * p[14] * p[16]) - Fraction((p[10] - p[11]) * p[15] * (1000 + p[17]))) \
        / (p[16] * 10**6)
    r = int(abs(v) + Fraction(1, 2))
    return r if v >= 0 else -r


def findings(rec_rules, v, flags):
    """(fails, warns): rule ids in order, after severities and excuses."""
    fails, warns = [], []
    for rule in rec_rules:
        sev = RULES[rule][0 if v == 1 else 1]
        if sev is None:
            continue
        if flags & RULES[rule][2]:
            sev = "warn"
        (fails if sev == "fail" else warns).append(rule)
    return fails, warns


def record_rules(p, alg, sig):
    """The rules of §5.1 the record breaks, in the table's order."""
    v, out = p[0], []
    trip = p[4] == 1
    if alg == -7 and int.from_bytes(sig[32:], "big") > N // 2:
        out.append("sig.low_s")
    tmax = 253402300799
    if not (0 <= p[5] <= tmax and 0 <= p[6] <= tmax):
        out.append("range.time")
    if not (0 <= p[7] <= 10**11 and 0 <= p[8] <= 10**11):
        out.append("range.odometer")
    if not 0 <= p[9] <= 10**7:
        out.append("range.distance")
    charged = p.get(20, 0)
    if not all(0 <= x <= 10**7 for x in (p[10], p[11], charged)):
        out.append("range.energy")
    if not (0 <= p[14] <= 10**7 and 0 <= p[15] <= 10**7 and 1 <= p[16] <= 1000 and 0 <= p[17] <= 1000):
        out.append("range.params")
    if v == 2 and not 1 <= p[21] <= 2000:
        out.append("range.odo_step")
    if v == 2 and not (1 <= len(p[22]) <= 47 and all(0x20 <= ord(c) <= 0x7e for c in p[22])):
        out.append("software")
    vin = p.get(19)
    if vin is not None and not (len(vin) == 17 and all(c in "0123456789ABCDEFGHJKLMNPRSTUVWXYZ" for c in vin)):
        out.append("vin")
    if p[18] >> 14:
        out.append("flags.reserved")
    numbers = not any(r.startswith("range.") for r in out)
    if p[13] != "eco2-ev-v1":
        out.append("method")
    elif trip and (not numbers or co2(p) != p[12]):
        out.append("co2")
    if not trip and (p[9] or p[10] or p[11] or p[12]):
        out.append("charge.fields")
    if p[6] < p[5]:
        out.append("time.order")
    if not numbers:
        return out
    odo = not p[18] & F["no_odometer"]
    if odo and p[8] < p[7]:
        out.append("odo.order")
    step = p[21] if v == 2 else 1000
    span = p[8] - p[7]
    if trip and odo:
        if p[9] > span + step:
            out.append("odo.distance_over")
        elif p[9] < span - step:
            out.append("odo.distance_short")
    if p[6] >= p[5] and p[9] > (p[6] - p[5] + 1) * 300 * 1000 // 3600 + step:
        out.append("speed")
    if trip and p[11] > p[10]:
        out.append("energy.net")
    return out


def follow_rules(a, b):
    """The rules of §5.2 record b breaks after record a."""
    out = []
    if b[5] < a[6]:
        out.append("chain.time")
    if a[18] & F["no_odometer"] or b[18] & F["no_odometer"]:
        return out
    if not all(0 <= x <= 10**11 for x in (a[7], a[8], b[7], b[8])):
        return out
    if b[7] < a[8]:
        if max(a[7], b[7]) < min(a[8], b[8]):
            out.append("chain.odo_twice")
        else:
            out.append("chain.odo_back")
    return out


def verify_file(pubpath, data):
    alg, raw, pub = load_key(pubpath)
    problems, warnings = [], []
    expect, prev, last, max_done = 1, bytes(32), None, False
    seen, missing, pending = {}, set(), []      # pending: (claimed seq or None, code)
    last_failed = False
    verified = 0

    def flush(fill):
        nonlocal expect, pending
        for i, (claimed, code) in enumerate(pending):
            problems.append((expect + i if fill else (claimed if claimed is not None else expect), code))
        if fill:
            expect += len(pending)
        pending = []

    for rec, tail in items(data):
        h = hashlib.sha256(rec).digest()
        try:
            p, sig = decode(rec, alg, raw, pub)
        except Bad as e:
            if tail and last_failed:
                continue
            claimed = None
            try:
                claimed = cbor2.loads(cbor2.loads(rec).value[2])[2] if e.code in ("key", "signature") else None
            except Exception:
                pass
            pending.append((claimed, "chain.tail" if tail else e.code))
            last_failed = True
            continue
        last_failed = False
        seq = p[2]
        if seq < expect or (seq == 2**64 - 1 and max_done):
            flush(False)
            if seq in seen:
                problems.append((seq, "chain.fork" if seen[seq] != h else "chain.duplicate"))
            else:
                missing.discard(seq)
                problems.append((seq, "chain.order"))
            continue
        gap = seq - expect
        good = True
        if pending and gap == len(pending):
            flush(True)
            linked = False
        else:
            flush(False)
            missing.update(range(expect, seq))
            linked = gap == 0
        if linked and p[3] != prev:
            good = False
            problems.append((seq, "chain.prev"))
        if seq == 2**64 - 1:
            max_done = True
        else:
            expect = seq + 1
        prev = h
        seen[seq] = h
        fails, warns = findings(record_rules(p, alg, sig), p[0], p[18])
        if fails:
            good = False
            problems.append((seq, fails[0]))
        else:
            warnings.extend((seq, w) for w in warns)
            if last is not None:
                f2, w2 = findings(follow_rules(last, p), p[0], p[18])
                if f2 and good:
                    good = False
                    problems.append((seq, f2[0]))
                warnings.extend((seq, w) for w in w2)
        last = p
        verified += good
    flush(True)
    # missing seqs, reported by the first of each run
    runs, s = [], sorted(missing)
    for x in s:
        if runs and runs[-1][1] == x - 1:
            runs[-1][1] = x
        else:
            runs.append([x, x])
    problems.extend((a, "chain.missing") for a, _ in runs)
    return {"verdict": "failed" if problems else "verified", "verified": verified,
            "problems": sorted(problems), "warnings": sorted(warnings)}


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--file":
        print(json.dumps(verify_file(sys.argv[2], open(sys.argv[3], "rb").read())))
        return 0
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    man = json.load(open(sys.argv[1]))
    base = os.path.dirname(os.path.abspath(sys.argv[1]))
    bad = 0
    for v in man["vectors"]:
        got = verify_file(os.path.join(base, v["pubkey"]), open(os.path.join(base, v["file"]), "rb").read())
        want_p = sorted((x["seq"], x["code"]) for x in v["problems"])
        want_w = sorted((x["seq"], x["code"]) for x in v["warnings"])
        if got["verdict"] != v["verdict"] or got["problems"] != want_p or got["warnings"] != want_w:
            bad += 1
            print(f"DIFF {v['file']}: oracle {got['verdict']} {got['problems']} {got['warnings']}, "
                  f"manifest {v['verdict']} {want_p} {want_w}")
        else:
            print(f"ok {v['file']}: {got['verdict']} {got['problems']} {got['warnings']}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
