#!/usr/bin/python3
"""check_store.py DB — an independent check of a record store (Python's
sqlite3 + hashlib, not the project's code): PRAGMA integrity_check is ok;
the stored seqs are contiguous up to the chain head; every record's prev is
SHA-256 of the record before it (for records made by upload-fill: bytes
16..48; for signed records: payload key 3, read with cbor2); the head's
hash is SHA-256 of the last record and each stored hash matches its bytes.
Prints one line; exits 1 on the first problem."""
import hashlib
import sqlite3
import sys


def prev_of(blob):
    if blob[:8] == b"ECO2TEST":
        return blob[16:48], int.from_bytes(blob[8:16], "big")
    import cbor2
    t = cbor2.loads(blob)
    p = cbor2.loads(t.value[2])
    return p[3], p[2]


def main():
    db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
    ic = db.execute("PRAGMA integrity_check").fetchall()
    if ic != [("ok",)]:
        print("check_store: integrity_check: %r" % ic)
        sys.exit(1)
    last_seq, last_hash = db.execute("SELECT last_seq, last_hash FROM agent_state").fetchone()
    prev_seq, prev_hash, n = None, None, 0
    for seq, blob, h in db.execute("SELECT seq, cose, hash FROM records ORDER BY seq"):
        if hashlib.sha256(blob).digest() != h:
            print("check_store: seq %d: stored hash is not SHA-256 of its bytes" % seq)
            sys.exit(1)
        prev, inner = prev_of(blob)
        if inner != seq:
            print("check_store: row %d holds record %d" % (seq, inner))
            sys.exit(1)
        if prev_seq is not None:
            if seq != prev_seq + 1:
                print("check_store: gap after seq %d (next %d)" % (prev_seq, seq))
                sys.exit(1)
            if prev != prev_hash:
                print("check_store: seq %d: prev is not SHA-256 of seq %d (a fork)" % (seq, prev_seq))
                sys.exit(1)
        elif seq == 1 and prev != bytes(32):
            print("check_store: seq 1: prev is not zero")
            sys.exit(1)
        prev_seq, prev_hash, n = seq, h, n + 1
    if (prev_seq or 0) != last_seq or (n and prev_hash != last_hash):
        print("check_store: chain head %d does not match the last record %s" % (last_seq, prev_seq))
        sys.exit(1)
    print("check_store: ok: %d records, head seq %d, chain continuous" % (n, last_seq))


main()
