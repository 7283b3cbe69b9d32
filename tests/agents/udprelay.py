#!/usr/bin/env python3
"""A UDP relay for tests: a lossy or logging path between two peers.

udprelay.py LISTEN UPSTREAM [--log FILE] [--drop-first]

Datagrams that reach 127.0.0.1:LISTEN go to 127.0.0.1:UPSTREAM; the
upstream's answers go back to the last sender. With --drop-first the first
datagram is lost (a retransmission must get through). With --log each
datagram from the sender is logged in order, one line each: "drop HEX" or
"pass HEX".
"""
import argparse
import select
import socket

p = argparse.ArgumentParser()
p.add_argument("listen", type=int)
p.add_argument("upstream", type=int)
p.add_argument("--log")
p.add_argument("--drop-first", action="store_true")
o = p.parse_args()

a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
a.bind(("127.0.0.1", o.listen))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b.connect(("127.0.0.1", o.upstream))
client, n = None, 0
while True:
    r, _, _ = select.select([a, b], [], [])
    if a in r:
        data, client = a.recvfrom(65535)
        n += 1
        drop = o.drop_first and n == 1
        if o.log:
            with open(o.log, "a") as f:
                f.write(("drop " if drop else "pass ") + data.hex() + "\n")
        if not drop:
            b.send(data)
    if b in r:
        try:
            data = b.recv(65535)
        except OSError:
            continue
        if client is not None:
            a.sendto(data, client)
