#!/usr/bin/env python3
"""attack.py — the attacks of an open network on eco2-ledger, bounded and
on loopback, from 127.0.0.2 (the legitimate clients of the tests use
127.0.0.1). Each prints one line of figures; the shell test judges them.

  attack.py PORT CA nocert-bodies N SECONDS
      N TLS connections without a client certificate POST /v1/records with
      Content-Length 64 MiB and push body bytes for SECONDS: prints the
      answers (status codes) and how many body bytes the ledger took
  attack.py PORT CA big-body CERT KEY MBYTES
      a device announces MBYTES of records: prints the status and seconds
  attack.py PORT CA trickle CERT|- KEY|- PATH N SECONDS
      N connections (with the client certificate, or none: -) POST to
      PATH and send a body byte every 2 s: prints how many the ledger
      answered at once and the longest time one was held (max SECONDS)
  attack.py PORT CA idle N SECONDS
      N TCP connections that never speak: prints how many were accepted
      and how many the ledger closed within SECONDS
  attack.py PORT CA slowread CERT KEY KID N SECONDS
      N readers of a device's records that take 1 KiB and then stall
  attack.py PORT CA flood N
      N requests as fast as one connection allows: prints the statuses
      and the largest Retry-After
  attack.py PORT CA body CERT KEY FILE
      one POST of FILE's bytes: prints the status, seconds and the answer's
      counts"""
import json
import socket
import ssl
import sys
import threading
import time

SRC = ("127.0.0.2", 0)


def ctx(ca, cert=None, key=None):
    c = ssl.create_default_context(cafile=ca)
    c.check_hostname = False
    if cert:
        c.load_cert_chain(cert, key)
    return c


def connect(port, c):
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=SRC)
    return c.wrap_socket(s, server_hostname="localhost")


def status_of(data):
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def read_answer(s, limit=1 << 20):
    data = b""
    try:
        while len(data) < limit:
            b = s.recv(65536)
            if not b:
                break
            data += b
            if b"\r\n\r\n" in data:
                head, _, body = data.partition(b"\r\n\r\n")
                cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if cl and len(body) >= int(cl[0].split(b":")[1]):
                    break
    except (OSError, ssl.SSLError):
        pass
    return data


def post_head(path, length, extra=""):
    return ("POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/cbor-seq\r\n"
            "Content-Length: %d\r\n%s\r\n" % (path, length, extra)).encode()


def nocert_bodies(port, ca, n, secs):
    res = []

    def one():
        sent, st = 0, 0
        try:
            s = connect(port, ctx(ca))
            s.sendall(post_head("/v1/records", 64 << 20))
            s.settimeout(0.5)
            chunk = b"\0" * 65536
            end = time.time() + secs
            while time.time() < end:
                try:
                    sent += s.send(chunk)
                except socket.timeout:
                    pass
                except (OSError, ssl.SSLError):
                    break
            s.settimeout(2)
            st = status_of(read_answer(s))
        except (OSError, ssl.SSLError):
            pass
        res.append((st, sent))
    run(one, n)
    codes = sorted(set(r[0] for r in res))
    print("answers %s; body bytes pushed at most %d" % (codes, max(r[1] for r in res)))


def big_body(port, ca, cert, key, mbytes):
    t = time.time()
    s = connect(port, ctx(ca, cert, key))
    s.sendall(post_head("/v1/records", mbytes << 20))
    s.settimeout(5)
    st = status_of(read_answer(s))
    print("status %d after %.2f s" % (st, time.time() - t))


def trickle(port, ca, cert, key, path, n, secs):
    held, answered = [], [0]

    def one():
        t = time.time()
        c = ctx(ca) if cert == "-" else ctx(ca, cert, key)
        try:
            s = connect(port, c)
            s.sendall(post_head(path, 60000))
            s.settimeout(2)
            while time.time() - t < secs:
                s.sendall(b"\xd2")
                try:
                    if s.recv(4096):
                        if time.time() - t < 1:
                            answered[0] += 1
                            return
                    break
                except socket.timeout:
                    continue
        except (OSError, ssl.SSLError):
            pass
        held.append(time.time() - t)
    run(one, n)
    print("%d answered at once; %d dropped, held %.1f s at most" % (answered[0], len(held),
                                                                   max(held) if held else 0))


def idle(port, ca, n, secs):
    socks, accepted = [], 0
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2, source_address=SRC)
            socks.append(s)
            accepted += 1
        except OSError:
            pass
    time.sleep(secs)
    closed = 0
    for s in socks:
        s.settimeout(0.05)
        try:
            while True:                 # a TLS alert may come before the end
                if s.recv(4096) == b"":
                    closed += 1
                    break
        except socket.timeout:
            pass
        except OSError:
            closed += 1
        s.close()
    print("%d connected, %d closed by the ledger within %d s" % (accepted, closed, secs))


def slowread(port, ca, cert, key, kid, n, secs):
    socks = []
    for _ in range(n):
        try:
            s = connect(port, ctx(ca, cert, key))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(("GET /v1/devices/%s/records HTTP/1.1\r\nHost: localhost\r\n\r\n" % kid).encode())
            s.recv(1024)
            socks.append(s)
        except (OSError, ssl.SSLError):
            pass
    time.sleep(secs)
    for s in socks:
        s.close()
    print("%d slow readers held for %d s" % (len(socks), secs))


def flood(port, ca, n):
    codes, retry = {}, 0
    s = connect(port, ctx(ca))
    for _ in range(n):
        try:
            s.sendall(b"GET /v1/checkpoint HTTP/1.1\r\nHost: localhost\r\n\r\n")
            a = read_answer(s)
        except (OSError, ssl.SSLError):
            s = connect(port, ctx(ca))
            continue
        st = status_of(a)
        codes[st] = codes.get(st, 0) + 1
        for l in a.split(b"\r\n"):
            if l.lower().startswith(b"retry-after:"):
                retry = max(retry, int(l.split(b":")[1]))
        if b"Connection: close" in a or not a:
            s = connect(port, ctx(ca))
    print("statuses %s, Retry-After up to %d s" % (json.dumps(codes, sort_keys=True), retry))


def body(port, ca, cert, key, path):
    data = open(path, "rb").read()
    t = time.time()
    s = connect(port, ctx(ca, cert, key))
    s.sendall(post_head("/v1/records", len(data)) + data)
    s.settimeout(120)
    a = read_answer(s, 64 << 20)
    dt = time.time() - t
    counts = ""
    try:
        j = json.loads(a.partition(b"\r\n\r\n")[2])
        counts = "accepted %d duplicate %d rejected %d" % (len(j["accepted"]), len(j["duplicate"]),
                                                          len(j["rejected"]))
    except ValueError:
        pass
    print("status %d after %.2f s, %d bytes; %s" % (status_of(a), dt, len(data), counts))


def run(fn, n):
    ts = [threading.Thread(target=fn) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def main():
    port, ca, what, a = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
    if what == "nocert-bodies":
        nocert_bodies(port, ca, int(a[0]), float(a[1]))
    elif what == "big-body":
        big_body(port, ca, a[0], a[1], int(a[2]))
    elif what == "trickle":
        trickle(port, ca, a[0], a[1], a[2], int(a[3]), float(a[4]))
    elif what == "idle":
        idle(port, ca, int(a[0]), int(a[1]))
    elif what == "slowread":
        slowread(port, ca, a[0], a[1], a[2], int(a[3]), int(a[4]))
    elif what == "flood":
        flood(port, ca, int(a[0]))
    elif what == "body":
        body(port, ca, a[0], a[1], a[2])
    else:
        print(__doc__)
        sys.exit(2)


main()
