#!/usr/bin/python3
"""forge.py — edit eco2d's checkpoint in its store the way anyone who can
write the store could (Python's sqlite3, no project code), for
agent_forgery.sh.

  forge.py pending DB REF.cbor SEQ   the oldest pending record, the one
        that will become record SEQ (its figures read from REF.cbor, an
        uninterrupted run's export): distance_m x 40, co2_g recomputed by the methodology's
        formula (docs/methodology.md) so that the record would verify.
        Prints the forged distance.
  forge.py trip DB                   the open trip's running distance
        (done_m in the trip calculator's blob, agent/trip.c ck_walk)
        x 40, the blob's FNV-1a checksum recomputed. Prints the forged
        distance in metres.

The checkpoint is found by value and by its documented markers, not by the
project's structs: a pending record's four consecutive int64 figures
(distance_m, discharge_wh, regen_wh, co2_g), the trip blob's "E2TRIPCK"."""
import io
import sqlite3
import struct
import sys

import cbor2


def blob_of(db):
    return bytearray(db.execute("SELECT blob FROM checkpoint WHERE id = 1").fetchone()[0])


def put(db, blob):
    db.execute("UPDATE checkpoint SET blob = ? WHERE id = 1", (bytes(blob),))
    db.commit()


def co2_g(p, dist_m, dis_wh, regen_wh):
    """co2_g from the record's own parameters: eco2-ev-v1, in integers,
    rounded half away from zero (docs/methodology.md)."""
    base, grid, eff, td = p[14], p[15], p[16], p[17]
    num = dist_m * base * eff - (dis_wh - regen_wh) * grid * (1000 + td)
    den = eff * 1000000
    q, r = divmod(abs(num), den)
    if 2 * r >= den:
        q += 1
    return q if num >= 0 else -q


def pending(path, ref, seq):
    data = open(ref, "rb").read()
    f = io.BytesIO(data)
    p = None
    while f.tell() < len(data):
        q = cbor2.loads(cbor2.load(f).value[2])
        if q[2] == seq:
            p = q
    if p is None:
        sys.exit("forge.py: no record %d in %s" % (seq, ref))
    old = struct.pack("<qqqq", p[9], p[10], p[11], p[12])
    db = sqlite3.connect(path)
    blob = blob_of(db)
    # the oldest pending record comes first (short trips of one drive may
    # share their figures: the first match is record SEQ)
    at = blob.find(old)
    if at < 0:
        sys.exit("forge.py: record %d's figures are not in the checkpoint" % seq)
    dist = p[9] * 40
    blob[at:at + 32] = struct.pack("<qqqq", dist, p[10], p[11], co2_g(p, dist, p[10], p[11]))
    put(db, blob)
    print(dist)


def fnv1a64(b):
    h = 0xCBF29CE484222325
    for x in b:
        h = ((h ^ x) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


DONE_M = 42   # open_state.done_m: the 43rd field of ck_walk's order


def trip(path):
    db = sqlite3.connect(path)
    blob = blob_of(db)
    at = blob.find(b"E2TRIPCK")
    if at < 0:
        sys.exit("forge.py: no trip blob in the checkpoint")
    body_len = struct.unpack_from("<I", blob, at + 12)[0]
    off = at + 16 + 8 * DONE_M
    done_m = struct.unpack_from("<d", blob, off)[0]
    if not 10 < done_m < 1e7:
        sys.exit("forge.py: field %d is %r, not a trip's distance: the layout changed" % (DONE_M, done_m))
    struct.pack_into("<d", blob, off, done_m * 40)
    struct.pack_into("<Q", blob, at + 16 + body_len, fnv1a64(blob[at:at + 16 + body_len]))
    put(db, blob)
    print(int(done_m * 40))


if __name__ == "__main__":
    if sys.argv[1:2] == ["pending"] and len(sys.argv) == 5:
        pending(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif sys.argv[1:2] == ["trip"] and len(sys.argv) == 3:
        trip(sys.argv[2])
    else:
        sys.exit(__doc__)
