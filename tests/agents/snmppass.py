#!/usr/bin/env python3
# snmppass.py DATA [-g|-n OID]: serves snmpd the values in DATA ("OID TYPE
# VALUE" lines; the test rewrites the file to change them, and every request
# sees the file as it is then).
#   snmppass.py DATA -g|-n OID   a "pass" program: one request, one process
#   snmppass.py DATA             a "pass_persist" program: one process for
#                                the agent's life, requests on stdin
# A counter whose VALUE is "BASE+RATE/s" grows by RATE a (real) second from
# BASE: an interface carrying traffic without the test rewriting the file.
# The file is parsed again only when it changed (a switch's tables, read
# value by value, would otherwise cost a parse per value).
import bisect
import os
import sys
import time

WIDTH = {"counter": 1 << 32, "counter64": 1 << 64}
_cache = {}


def key(oid):
    return tuple(int(x) for x in oid.strip(".").split(".") if x)


def rows(data):
    st = os.stat(data)
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    if _cache.get("stamp") != stamp:
        _cache["rows"] = parse(data)
        _cache["keys"] = [r[0] for r in _cache["rows"]]
        _cache["stamp"] = stamp
    return _cache["keys"], _cache["rows"]


def value(t, v):
    if t in WIDTH and "+" in v and v.endswith("/s"):
        base, rate = v[:-2].split("+", 1)
        return str(int(int(base) + float(rate) * time.time()) % WIDTH[t])
    return v


def parse(data):
    out = []
    with open(data) as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 2)
            if len(parts) == 3 and not line.startswith("#"):
                out.append((key(parts[0]), parts[1], parts[2]))
    out.sort()
    return out


def find(data, op, oid):
    """The (oid, type, value) lines answering get (-g) or getnext (-n)."""
    want = key(oid)
    keys, rs = rows(data)
    if op == "-g":
        i = bisect.bisect_left(keys, want)
        if i == len(keys) or keys[i] != want:
            return None
    else:
        i = bisect.bisect_right(keys, want)
        if i == len(keys):
            return None
    k, t, v = rs[i]
    return ["." + ".".join(str(x) for x in k), t, value(t, v)]


def persist(data):
    ops = {"get": "-g", "getnext": "-n"}
    while True:
        cmd = sys.stdin.readline()
        if not cmd:
            return
        cmd = cmd.strip().lower()
        if cmd == "ping":
            out = ["PONG"]
        elif cmd in ops:
            out = find(data, ops[cmd], sys.stdin.readline().strip()) or ["NONE"]
        elif cmd == "set":
            sys.stdin.readline()
            sys.stdin.readline()
            out = ["not-writable"]
        else:
            continue
        sys.stdout.write("\n".join(out) + "\n")
        sys.stdout.flush()


def main():
    if len(sys.argv) == 2:
        persist(sys.argv[1])
        return
    out = find(sys.argv[1], sys.argv[2], sys.argv[3])
    if out:
        print("\n".join(out))


main()
