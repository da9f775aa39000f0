#!/usr/bin/env python3
"""load.py DIR DEVICES BATCH PORT... — the ingest load of a fleet on
eco2-ledger processes: DEVICES threads, device i sending DIR/b<i>_<k>_<n>
(record batches of BATCH; n records in the file) in order over one keep-alive mTLS connection to
PORT[i % len(PORTS)] (DIR/ca.pem, DIR/dev<i>.pem/.key). Every answer must
be 200 and accept the whole batch with a receipt. Prints one line:
records, seconds, records/s, request latency p50/p99/max (ms), receipt
bytes per record."""
import glob
import http.client
import json
import os
import socket
import ssl
import sys
import threading
import time

d, devices, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ports = [int(p) for p in sys.argv[4:]]
lat, errors, receipt_bytes, records = [], [], [0], [0]
lock = threading.Lock()


def conn(i):
    c = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
    c.check_hostname = False
    c.load_cert_chain(os.path.join(d, "dev%d.pem" % i), os.path.join(d, "dev%d.key" % i))
    return http.client.HTTPSConnection("localhost", ports[i % len(ports)], context=c, timeout=120)


def device(i):
    files = sorted(glob.glob(os.path.join(d, "b%d_*" % i)))
    h = conn(i)
    for f in files:
        body = open(f, "rb").read()
        t = time.monotonic()
        for attempt in range(20):
            try:
                h.request("POST", "/v1/records", body, {"Content-Type": "application/cbor-seq"})
                r = h.getresponse()
                a = r.read()
                if r.status == 200:
                    break
                time.sleep(0.05)
            except (OSError, http.client.HTTPException):
                h.close()
                h = conn(i)
        dt = time.monotonic() - t
        try:
            j = json.loads(a)
            n = len(j["accepted"]) + len(j["duplicate"])
            rb = len(j.get("receipt", ""))
        except ValueError:
            n, rb = 0, 0
        with lock:
            lat.append(dt)
            records[0] += n
            receipt_bytes[0] += rb
            if r.status != 200 or n != int(f.rsplit("_", 1)[1]):
                errors.append((i, f, r.status))
    h.close()


t0 = time.monotonic()
ts = [threading.Thread(target=device, args=(i,)) for i in range(devices)]
for t in ts:
    t.start()
for t in ts:
    t.join()
el = time.monotonic() - t0
lat.sort()
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
print("%d records in %.1f s: %.0f records/s; request latency p50 %.0f ms, p99 %.0f ms, max %.0f ms; "
      "receipt %.0f bytes/record; %d errors"
      % (records[0], el, records[0] / el, p(0.5), p(0.99), lat[-1] * 1000,
         receipt_bytes[0] / max(records[0], 1), len(errors)))
sys.exit(1 if errors else 0)
