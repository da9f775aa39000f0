#!/usr/bin/env python3
"""fleet_check.py DUMPDIR VKEY DEVICES RECORDS — what a fleet's ledger
database must hold after many ledgers served many devices at once, checked
from a dump of its tables (psql, hex) with rfc9162.py's RFC 9162 code:

  - every device's seqs 1..RECORDS stored exactly once (DEVICES devices);
  - the leaves are 0..T-1, each exactly once, and the tree's size is T;
  - every stored subtree hash is what RFC 9162 computes from the records
    in leaf order (one tree);
  - every checkpoint any ledger published is signed by VKEY and its root
    is that tree's root at its size (one history: no fork);
  - no fork evidence was recorded.
Prints one line; exit 1 on the first failure."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfc9162  # noqa: E402


def rows(path):
    with open(path) as f:
        return [l.rstrip("\n").split("|") for l in f if l.strip()]


def main():
    d, vkey_path, devices, per = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    recs = rows(os.path.join(d, "records"))         # kid|seq|leaf|cose hex
    size = int(open(os.path.join(d, "size")).read())
    t = len(recs)
    if t != devices * per:
        rfc9162.fail("%d records stored, expected %d" % (t, devices * per))
    by_kid = {}
    for kid, seq, leaf, cose in recs:
        by_kid.setdefault(kid, []).append(int(seq))
    if len(by_kid) != devices:
        rfc9162.fail("%d devices have records, expected %d" % (len(by_kid), devices))
    for kid, seqs in by_kid.items():
        if sorted(seqs) != list(range(1, per + 1)):
            rfc9162.fail("device %s: seqs are not 1..%d exactly once" % (kid, per))
    leaves = sorted((int(r[2]), bytes.fromhex(r[3])) for r in recs)
    if [l for l, _ in leaves] != list(range(t)) or size != t:
        rfc9162.fail("leaf indices are not 0..%d once each, or the tree size (%d) differs" % (t - 1, size))
    tree = rfc9162.Tree(tuple(rfc9162.leaf_hash(c) for _, c in leaves))
    nodes = rows(os.path.join(d, "nodes"))          # level|idx|hash hex
    want = sum(t >> l for l in range(64))
    if len(nodes) != want:
        rfc9162.fail("%d stored subtrees, expected %d" % (len(nodes), want))
    for level, idx, h in nodes:
        lo = int(idx) << int(level)
        if tree.mth(lo, lo + (1 << int(level))) != bytes.fromhex(h):
            rfc9162.fail("stored subtree (%s, %s) differs from RFC 9162's" % (level, idx))
    vkey = rfc9162.parse_vkey(open(vkey_path).read())
    cks = rows(os.path.join(d, "checkpoints"))      # size|note hex
    if not cks:
        rfc9162.fail("no checkpoint published")
    for s, note in cks:
        cs, root = rfc9162.open_note(bytes.fromhex(note).decode(), vkey)
        if cs != int(s) or cs > t or root != tree.mth(0, cs):
            rfc9162.fail("checkpoint of size %s is not a prefix of the one tree" % s)
    if open(os.path.join(d, "forks")).read().strip() != "0":
        rfc9162.fail("fork evidence recorded")
    print("fleet_check: %d devices x %d records, each seq once; one tree of %d leaves, %d subtrees "
          "as RFC 9162 computes them; %d checkpoints, one history" % (devices, per, t, len(nodes), len(cks)))


main()
