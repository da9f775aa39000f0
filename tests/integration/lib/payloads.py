#!/usr/bin/python3
"""payloads.py FILE.cbor — one line per record of an export (a CBOR
sequence of COSE_Sign1 records), its payload's fields sorted by key, read
with python3-cbor2: what two runs of the same drive must agree on. The
chain link (key 3, prev: ES256 signatures differ run to run) is left out
and the resumed flag (bit 7 of key 18: a trip a restart cut through) is
cleared. Shared by agent_crash.sh and agent_storefull.sh."""
import io
import sys

import cbor2

data = open(sys.argv[1], "rb").read()
f = io.BytesIO(data)
while f.tell() < len(data):
    p = cbor2.loads(cbor2.load(f).value[2])
    p[18] &= ~(1 << 7)    # ECO2_FLAG_RESUMED
    print(sorted((k, v) for k, v in p.items() if k != 3))
