#!/usr/bin/env python3
# snmppass.py DATA [-g|-n OID]: serves snmpd the values in DATA ("OID TYPE
# VALUE" lines; the test rewrites the file to change them, and every request
# reads it again).
#   snmppass.py DATA -g|-n OID   a "pass" program: one request, one process
#   snmppass.py DATA             a "pass_persist" program: one process for
#                                the agent's life, requests on stdin
import sys


def key(oid):
    return tuple(int(x) for x in oid.strip(".").split(".") if x)


def rows(data):
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
    for k, t, v in rows(data):
        if (op == "-g" and k == want) or (op == "-n" and k > want):
            return ["." + ".".join(str(x) for x in k), t, v]
    return None


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
