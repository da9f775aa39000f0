#!/usr/bin/env python3
"""rr_proxy.py PORTFILE BACKEND_PORT... — a round-robin TCP load balancer on
127.0.0.1 for the ledger's tests: each new connection goes to the next
backend (TLS passes through untouched); a backend that refuses is skipped.
Writes the port it listens on to PORTFILE, then serves until killed."""
import asyncio
import sys


async def pipe(r, w):
    try:
        while True:
            b = await r.read(65536)
            if not b:
                break
            w.write(b)
            await w.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            w.close()
        except Exception:
            pass


async def main():
    backends = [int(p) for p in sys.argv[2:]]
    turn = [0]

    async def handle(cr, cw):
        for _ in range(len(backends)):
            port = backends[turn[0] % len(backends)]
            turn[0] += 1
            try:
                br, bw = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                continue
        else:
            cw.close()
            return
        await asyncio.gather(pipe(cr, bw), pipe(br, cw))

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    with open(sys.argv[1], "w") as f:
        f.write("%d\n" % srv.sockets[0].getsockname()[1])
    async with srv:
        await srv.serve_forever()


asyncio.run(main())
