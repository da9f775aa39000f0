#!/usr/bin/env python3
"""rfc9162.py — an independent check of the ledger's Merkle proofs, signed
checkpoints and receipts, written from RFC 9162 §2.1 (the tree, PATH,
PROOF and the verification algorithms of §2.1.3.2 and §2.1.4.2) and the
C2SP signed-note / tlog-checkpoint formats, with hashlib and PyNaCl only.

  rfc9162.py dump FILE
      FILE from eco2-ledger-proofs (leaf i = b"leaf-<i>"): every root
      equals MTH, every proof equals the RFC's PATH/PROOF and verifies
  rfc9162.py receipts VKEY RECEIPTS RECORDS.cbor [--all]
      every receipt in RECEIPTS: the note's Ed25519 signature by VKEY, the
      checkpoint, each entry's proof for the record of that seq; --all:
      every record of RECORDS must be in some receipt. Prints the
      checkpoints as "size root_hex" lines.
  rfc9162.py consistency M N ROOT_M ROOT_N PROOF_FILE
      a consistency proof (one base64 hash a line) between two roots
Exit 0 when everything holds, 1 otherwise (the first failure printed)."""
import base64
import hashlib
import sys
from functools import lru_cache


def H(b):
    return hashlib.sha256(b).digest()


def leaf_hash(d):
    return H(b"\x00" + d)


def node_hash(l, r):
    return H(b"\x01" + l + r)


def split(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Tree:
    """MTH, PATH and PROOF by the RFC's recursive definitions."""

    def __init__(self, leaves):
        self.leaves = leaves

    @lru_cache(maxsize=None)
    def mth(self, lo, hi):
        if hi - lo == 0:
            return H(b"")
        if hi - lo == 1:
            return self.leaves[lo]
        k = split(hi - lo)
        return node_hash(self.mth(lo, lo + k), self.mth(lo + k, hi))

    def path(self, m, lo, hi):
        if hi - lo == 1:
            return []
        k = split(hi - lo)
        if m < k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]

    def subproof(self, m, lo, hi, b):
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = split(n)
        if m <= k:
            return self.subproof(m, lo, lo + k, b) + [self.mth(lo + k, hi)]
        return self.subproof(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]

    def proof(self, m, n):
        if m == 0 or m == n:
            return []
        return self.subproof(m, 0, n, True)


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, h1, h2, proof):
    """RFC 9162 §2.1.4.2; equal sizes and size 0 as RFC 9162 §5.3 serves them."""
    if first > second:
        return False
    if first == second:
        return not proof and h1 == h2
    if first == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path = [h1] + path
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == h1 and sr == h2 and sn == 0


def fail(msg):
    print("rfc9162: FAILED: " + msg)
    sys.exit(1)


def hashes_of(hexs):
    if hexs == "-":
        return []
    return [bytes.fromhex(hexs[i:i + 64]) for i in range(0, len(hexs), 64)]


def cmd_dump(path):
    lines = open(path).read().split("\n")
    n_max = max(int(l.split()[1]) for l in lines if l.startswith("R "))
    t = Tree(tuple(leaf_hash(b"leaf-%d" % i) for i in range(n_max)))
    counts = {"R": 0, "I": 0, "C": 0}
    for l in lines:
        if not l:
            continue
        f = l.split()
        kind = f[0]
        counts[kind] += 1
        if kind == "R":
            n = int(f[1])
            if bytes.fromhex(f[2]) != t.mth(0, n):
                fail("root of size %d" % n)
        elif kind == "I":
            n, i, p = int(f[1]), int(f[2]), hashes_of(f[3])
            if p != t.path(i, 0, n):
                fail("inclusion proof of leaf %d in size %d differs from PATH" % (i, n))
            if not verify_inclusion(i, n, t.leaves[i], p, t.mth(0, n)):
                fail("inclusion proof of leaf %d in size %d does not verify" % (i, n))
            if p and verify_inclusion(i, n, t.leaves[i], p[:-1], t.mth(0, n)):
                fail("a shortened proof verifies")
        elif kind == "C":
            m, n, p = int(f[1]), int(f[2]), hashes_of(f[3])
            if p != t.proof(m, n):
                fail("consistency proof %d -> %d differs from PROOF" % (m, n))
            if not verify_consistency(m, n, t.mth(0, m), t.mth(0, n), p):
                fail("consistency proof %d -> %d does not verify" % (m, n))
            if 0 < m < n and verify_consistency(m, n, t.mth(0, m), t.mth(0, n - 1) if n > m else b"", p):
                fail("consistency proof %d -> %d verifies for another root" % (m, n))
        else:
            fail("unknown line " + l)
    if counts["R"] != n_max or counts["I"] != n_max * (n_max + 1) // 2:
        fail("expected every size 1..%d and every leaf of each" % n_max)
    print("rfc9162: %d roots, %d inclusion and %d consistency proofs agree with RFC 9162"
          % (counts["R"], counts["I"], counts["C"]))


# ---- signed notes and receipts ------------------------------------------------

def parse_vkey(text):
    name, kid, b64 = text.strip().split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    if len(raw) != 33 or raw[0] != 1:
        fail("verifier key: not an Ed25519 note key")
    if H(name.encode() + b"\n" + raw).hex()[:8] != kid:
        fail("verifier key: the key id does not match")
    return name, bytes.fromhex(kid), raw[1:]


def open_note(note, vkey):
    """The checkpoint (origin, size, root) of a note signed by vkey."""
    from nacl.signing import VerifyKey
    name, kid, pub = vkey
    i = note.rfind("\n\n")
    if i < 0:
        fail("note: no blank line")
    text, sigs = note[:i + 1], note[i + 2:]
    ok = False
    for line in sigs.split("\n"):
        if not line:
            continue
        if not line.startswith("\u2014 "):
            fail("note: a signature line without an em dash")
        who, b64 = line[2:].split(" ")
        sig = base64.b64decode(b64, validate=True)
        if who == name and sig[:4] == kid:
            VerifyKey(pub).verify(text.encode(), sig[4:])     # raises on a bad one
            ok = True
    if not ok:
        fail("note: not signed by " + name)
    lines = text.split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    if origin != name or str(size) != lines[1] or len(root) != 32:
        fail("checkpoint: bad origin, size or root")
    return size, root


def records_by_seq(path):
    """seq -> the record's exact bytes, from a CBOR sequence."""
    import cbor2
    import io
    data = open(path, "rb").read()
    f = io.BytesIO(data)
    out = {}
    while f.tell() < len(data):
        start = f.tell()
        item = cbor2.CBORDecoder(f).decode()
        payload = cbor2.loads(item.value[2])
        out[payload[2]] = data[start:f.tell()]
    return out


def split_receipts(text):
    """Receipts one after another; each ends after its note's signature lines."""
    lines = text.split("\n")
    out, cur, state = [], [], 0
    for l in lines:
        if state == 0 and not l and not cur:
            continue
        if state == 3 and not l.startswith("\u2014 "):
            out.append("\n".join(cur) + "\n")
            cur, state = [], 0
            if not l:
                continue
        cur.append(l)
        if state == 0 and not l:
            state = 1                 # entries done: the note's text
        elif state == 1 and not l:
            state = 2                 # the note's blank line
        elif state == 2:
            state = 3                 # signatures
    if cur and state == 3:
        out.append("\n".join(cur).rstrip("\n") + "\n")
    return out


def cmd_receipts(vkey_path, receipts_path, records_path, want_all):
    vkey = parse_vkey(open(vkey_path).read())
    recs = records_by_seq(records_path)
    seen = set()
    checkpoints = set()
    receipts = split_receipts(open(receipts_path, encoding="utf-8").read())
    if not receipts:
        fail("no receipt")
    for r in receipts:
        head, note = r.split("\n\n", 1)
        lines = head.split("\n")
        if lines[0] != "eco2-receipt/v1" or not lines[1].startswith("kid "):
            fail("receipt header")
        size, root = open_note(note, vkey)
        checkpoints.add((size, root.hex()))
        for e in lines[2:]:
            f = e.split(" ")
            seq, index = int(f[0]), int(f[1])
            proof = [base64.b64decode(x, validate=True) for x in f[2:]]
            if seq not in recs:
                fail("receipt for seq %d, which the records do not hold" % seq)
            if not verify_inclusion(index, size, leaf_hash(recs[seq]), proof, root):
                fail("seq %d: the inclusion proof does not lead to the signed root of size %d"
                     % (seq, size))
            seen.add(seq)
    if want_all and seen != set(recs):
        fail("records without a receipt: %s" % sorted(set(recs) - seen)[:10])
    for s, h in sorted(checkpoints):
        print("%d %s" % (s, h))
    print("rfc9162: %d receipts, %d records proved, %d checkpoints"
          % (len(receipts), len(seen), len(checkpoints)), file=sys.stderr)


def cmd_consistency(m, n, h1, h2, path):
    proof = [base64.b64decode(l, validate=True) for l in open(path).read().split("\n") if l]
    if not verify_consistency(int(m), int(n), bytes.fromhex(h1), bytes.fromhex(h2), proof):
        fail("consistency %s -> %s" % (m, n))


def main():
    a = sys.argv[1:]
    if a[:1] == ["dump"]:
        cmd_dump(a[1])
    elif a[:1] == ["receipts"]:
        cmd_receipts(a[1], a[2], a[3], "--all" in a)
    elif a[:1] == ["consistency"]:
        cmd_consistency(*a[1:6])
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
