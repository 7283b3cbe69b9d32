#!/usr/bin/env python3
# snmppass.py DATA -g|-n OID: an snmpd "pass" program serving the values in
# DATA ("OID TYPE VALUE" lines; the test rewrites the file to change them).
import sys


def key(oid):
    return tuple(int(x) for x in oid.strip(".").split(".") if x)


def main():
    data, op, oid = sys.argv[1], sys.argv[2], sys.argv[3]
    rows = []
    with open(data) as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 2)
            if len(parts) == 3 and not line.startswith("#"):
                rows.append((key(parts[0]), parts[1], parts[2]))
    rows.sort()
    want = key(oid)
    for k, t, v in rows:
        if (op == "-g" and k == want) or (op == "-n" and k > want):
            print("." + ".".join(str(x) for x in k))
            print(t)
            print(v)
            return


main()
