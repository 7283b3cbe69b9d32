#!/usr/bin/env python3
"""relpclient.py: RELP senders for the tests (RFC-less RELP as librelp speaks it).

Runs N sessions in one process (asyncio).  Each session opens, sends
numbered syslog messages ("<14>... relptest: seq C-N") with a window of
unacknowledged frames, and on a broken connection reconnects and resends
what was not acknowledged (as rsyslog's omrelp does).  Writes every
acknowledged message's key ("C-N") to --acked, one a line, and prints a
JSON summary: per session the time its `open` took to be answered, the
messages acknowledged, reconnects.

  relpclient.py --port P --clients 4 --rate 40 --duration 20 --acked FILE
"""
import argparse
import asyncio
import json
import sys
import time

OFFER = b"relp_version=0\nrelp_software=sopd-test\ncommands=syslog"


def frame(txnr, cmd, data=b""):
    head = b"%d %s %d" % (txnr, cmd, len(data))
    return head + (b" " + data if data else b"") + b"\n"


async def read_frame(reader):
    """One frame from the server: (txnr, command, data)."""
    txnr = int((await reader.readuntil(b" "))[:-1])
    cmd = (await reader.readuntil(b" "))[:-1]
    # DATALEN is followed by a space (data) or by the LF (no data).
    digits = b""
    while True:
        c = await reader.readexactly(1)
        if c in (b" ", b"\n"):
            break
        digits += c
    n = int(digits)
    data = b""
    if c == b" ":
        data = await reader.readexactly(n)
        await reader.readexactly(1)
    return txnr, cmd, data


class Session:
    def __init__(self, args, cid, acked):
        self.a = args
        self.cid = cid
        self.acked = acked
        self.next_seq = 1
        self.unacked = {}       # seq -> message bytes, in send order
        self.opens = []         # seconds each open took (None: no answer)
        self.reconnects = 0
        self.done = 0
        self.first_ack = None
        self.last_ack = None

    def message(self, seq):
        return (b"<14>Nov 27 10:00:00 relp-c%d %s: seq %d-%d %s" %
                (self.cid, self.a.program.encode(), self.cid, seq,
                 b"x" * self.a.pad))

    async def connect(self):
        """Connect and open; the time the open took, or None."""
        t0 = time.monotonic()
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(
                self.a.host, self.a.port), self.a.open_timeout)
            w.write(frame(1, b"open", OFFER))
            await w.drain()
            txnr, cmd, data = await asyncio.wait_for(read_frame(r),
                                                     self.a.open_timeout)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                ValueError) as e:
            self.opens.append(None)
            if self.a.verbose:
                print("client %d: open: %r" % (self.cid, e), file=sys.stderr)
            return None
        if cmd != b"rsp" or not data.startswith(b"200"):
            self.opens.append(None)
            w.close()
            return None
        self.opens.append(time.monotonic() - t0)
        return r, w

    async def run_connected(self, r, w, deadline):
        """Send (resending the unacked first) until the deadline or an error."""
        txnr = 2
        inflight = {}           # txnr -> seq
        window = asyncio.Semaphore(self.a.window)
        stop = asyncio.Event()

        async def reader():
            while True:
                t, cmd, data = await read_frame(r)
                if cmd == b"serverclose":
                    if stop.is_set() and not inflight:
                        return
                    raise ConnectionError("serverclose")
                if cmd != b"rsp" or t not in inflight:
                    continue
                seq = inflight.pop(t)
                if data.startswith(b"200"):
                    self.unacked.pop(seq, None)
                    self.acked.write("%d-%d\n" % (self.cid, seq))
                    self.done += 1
                    now = time.monotonic()
                    if self.first_ack is None:
                        self.first_ack = now
                    self.last_ack = now
                window.release()
                if stop.is_set() and not inflight:
                    return

        async def send(seq, msg):
            nonlocal txnr
            await window.acquire()
            inflight[txnr] = seq
            w.write(frame(txnr, b"syslog", msg))
            txnr += 1
            await w.drain()

        rd = asyncio.ensure_future(reader())
        try:
            for seq, msg in list(self.unacked.items()):
                await send(seq, msg)
            period = 1.0 / self.a.rate if self.a.rate > 0 else 0
            nxt = time.monotonic()
            while time.monotonic() < deadline:
                if rd.done():
                    break
                if self.a.count and self.next_seq > self.a.count:
                    break
                seq = self.next_seq
                self.next_seq += 1
                msg = self.message(seq)
                self.unacked[seq] = msg
                await send(seq, msg)
                if period:
                    nxt += period
                    d = nxt - time.monotonic()
                    if d > 0:
                        await asyncio.sleep(d)
            stop.set()
            if not inflight:
                rd.cancel()
                w.write(frame(txnr, b"close"))
                await w.drain()
                return True
            await asyncio.wait_for(rd, self.a.drain_timeout)
            w.write(frame(txnr, b"close"))
            await w.drain()
            return True
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                ConnectionError, ValueError):
            return False
        finally:
            if not rd.done():
                rd.cancel()
            for t in list(inflight):
                inflight.pop(t)
            w.close()

    async def run(self, deadline, final):
        while True:
            now = time.monotonic()
            if now > final or (now > deadline and not self.unacked):
                return
            conn = await self.connect()
            if conn is None:
                self.reconnects += 1
                await asyncio.sleep(0.2)
                continue
            if await self.run_connected(conn[0], conn[1], deadline):
                if not self.unacked and (time.monotonic() >= deadline or
                                         (self.a.count and
                                          self.next_seq > self.a.count)):
                    return
            else:
                self.reconnects += 1
                await asyncio.sleep(0.2)


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--clients", type=int, default=1)
    p.add_argument("--first", type=int, default=1, help="first client number")
    p.add_argument("--rate", type=float, default=0,
                   help="messages/s per session (0: as fast as acked)")
    p.add_argument("--count", type=int, default=0, help="messages per session")
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--window", type=int, default=128)
    p.add_argument("--pad", type=int, default=0, help="bytes added per message")
    p.add_argument("--open-timeout", type=float, default=30)
    p.add_argument("--drain-timeout", type=float, default=30)
    p.add_argument("--grace", type=float, default=60,
                   help="seconds after the duration to get everything acked")
    p.add_argument("--acked", default="/dev/null")
    p.add_argument("--program", default="relptest")
    p.add_argument("--verbose", action="store_true")
    a = p.parse_args()
    t0 = time.monotonic()
    deadline = t0 + a.duration
    final = deadline + a.grace
    with open(a.acked, "a", buffering=1) as acked:
        ss = [Session(a, a.first + i, acked) for i in range(a.clients)]
        await asyncio.gather(*(s.run(deadline, final) for s in ss))
    wall = time.monotonic() - t0
    opens = [s.opens[0] for s in ss]
    answered = sorted(o for o in opens if o is not None)
    rates = []
    for s in ss:
        span = (s.last_ack - s.first_ack) if s.first_ack and s.last_ack else 0
        rates.append(s.done / span if span > 0 else 0)
    out = {
        "clients": a.clients,
        "wall_s": round(wall, 2),
        "acked": sum(s.done for s in ss),
        "unacked_left": sum(len(s.unacked) for s in ss),
        "reconnects": sum(len(s.opens) - 1 for s in ss),
        "first_open_unanswered": len(opens) - len(answered),
        "first_open_median_s": round(answered[len(answered) // 2], 3)
        if answered else None,
        "first_open_max_s": round(answered[-1], 3) if answered else None,
        "rate_per_session_min": round(min(rates), 1) if rates else 0,
        "rate_per_session_max": round(max(rates), 1) if rates else 0,
        "acked_per_session_min": min(s.done for s in ss),
        "acked_per_session_max": max(s.done for s in ss),
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    asyncio.run(main())
