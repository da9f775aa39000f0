#!/usr/bin/python3
"""connect_proxy.py LOG — a minimal HTTP CONNECT proxy on 127.0.0.1 (a free
port, printed on stdout as "port N") for the upload tests: it logs each
CONNECT target to LOG and relays bytes both ways (TLS stays end to end).
Runs until killed."""
import select
import socket
import sys
import threading


def relay(a, b):
    try:
        while True:
            r, _, _ = select.select([a, b], [], [], 30)
            if not r:
                return
            for s in r:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except OSError:
        return
    finally:
        a.close()
        b.close()


def handle(c, log):
    req = b""
    while b"\r\n\r\n" not in req:
        d = c.recv(4096)
        if not d:
            c.close()
            return
        req += d
    line = req.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split()
    if len(parts) < 2 or parts[0] != "CONNECT":
        c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
        c.close()
        return
    host, port = parts[1].rsplit(":", 1)
    with open(log, "a") as f:
        f.write("CONNECT %s:%s\n" % (host, port))
    try:
        u = socket.create_connection((host, int(port)), timeout=10)
    except OSError:
        c.sendall(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
        c.close()
        return
    c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    relay(c, u)


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    print("port %d" % s.getsockname()[1], flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c, sys.argv[1]), daemon=True).start()


main()
