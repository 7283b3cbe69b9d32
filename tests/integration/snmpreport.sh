#!/bin/bash
# snmpreport.sh: SNMPv3 requests with an unknown engine ID or user get a
# Report PDU, but at most a small budget per source address: a flood of
# discovery requests from one address gets a handful of Reports, the rest
# are dropped unanswered and counted (snmp.reports_sent, reports_suppressed);
# a real user from another address still reads the agent.
. "$(dirname "$0")/../lib.sh"

FLOOD=500
write_config </dev/null
USERS='  users:\n    - {name: nms, auth: SHA, auth_pass: nmsauthpass, priv: AES, priv_pass: nmsprivpass}'
sed -i "s|^  listen: 127.0.0.1:$P_AGENT\$|&\n$USERS|" "$T/sopd.yaml"
start_sopd || { notok "sopd starts"; exit 1; }
AG=127.0.0.1:$P_AGENT
NMS=(-v3 -l authPriv -u nms -a SHA -A nmsauthpass -x AES -X nmsprivpass -t 2 -r 2)
sent() { api /api/v1/stats | jq -r '.snmp.reports_sent'; }
supp() { api /api/v1/stats | jq -r '.snmp.reports_suppressed'; }

out=$(snmpget -v3 -l noAuthNoPriv -u nobody -t 1 -r 0 "$AG" .1.3.6.1.2.1.1.1.0 2>&1)
check "an unknown user is told so by a Report ($out)" \
    grep -qi "unknown user" <<<"$out"
check "the Reports are counted (snmp.reports_sent $(sent))" [ "$(sent)" -ge 2 ]

# flood PORT SOURCE: FLOOD discovery requests (reportable, empty engine ID)
# from SOURCE; print how many Reports came back within 2 s.
flood() {
	python3 - "$1" "$2" "$FLOOD" <<'EOP'
import socket, sys
def tlv(t, v): 
	n = len(v)
	l = bytes([n]) if n < 128 else bytes([0x81, n]) if n < 256 else bytes([0x82, n >> 8, n & 255])
	return bytes([t]) + l + v
def i(n): return tlv(0x02, n.to_bytes(4, "big"))
def s(b): return tlv(0x04, b)
seq = lambda *a: tlv(0x30, b"".join(a))
so = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
so.bind((sys.argv[2], 0))
so.settimeout(2)
for k in range(int(sys.argv[3])):
	pdu = tlv(0xa0, i(k) + i(0) + i(0) + seq())
	msg = seq(tlv(0x02, b"\x03"), seq(i(k), i(65507), s(b"\x04"), i(3)),
	    s(seq(s(b""), i(0), i(0), s(b""), s(b""), s(b""))),
	    seq(s(b""), s(b""), pdu))
	so.sendto(msg, ("127.0.0.1", int(sys.argv[1])))
got = 0
try:
	while True:
		so.recv(65535); got += 1
except socket.timeout:
	pass
print(got)
EOP
}
# kdrop PORT: what the kernel dropped on the UDP socket (its buffer full).
kdrop() { ss -uanm "sport = :$1" | sed -n 's/.*,d\([0-9]*\)).*/\1/p' | head -1; }
s0=$(supp) r0=$(sent) k0=$(kdrop "$P_AGENT")
got=$(flood "$P_AGENT" 127.0.0.1)
echo "# agent port: $FLOOD discovery requests from 127.0.0.1, $got Reports"
check "a flood to the agent port gets a few Reports, not one each ($got)" \
    [ "$got" -ge 1 -a "$got" -le 40 ]
s1=$(supp) r1=$(sent) k1=$(kdrop "$P_AGENT")
echo "# reports_sent +$((r1 - r0)), reports_suppressed +$((s1 - s0)), kernel drops +$((${k1:-0} - ${k0:-0}))"
check "every request of the flood is counted: Report sent, suppressed, or dropped by the kernel" \
    [ $((s1 - s0 + r1 - r0 + ${k1:-0} - ${k0:-0})) -eq "$FLOOD" ]
check "most are suppressed" [ $((s1 - s0)) -ge $((FLOOD / 4)) ]
got=$(flood "$P_TRAP" 127.0.0.2)
echo "# trap port: $FLOOD discovery requests from 127.0.0.2, $got Reports"
check "a flood to the trap port gets a few Reports, not one each ($got)" \
    [ "$got" -le 40 ]
check "a real user from another address still reads the agent" \
    test -n "$(snmpget "${NMS[@]}" --clientaddr=127.0.0.3 -Oqv "$AG" .1.3.6.1.2.1.1.1.0 2>/dev/null)"
check "sopd_snmp_reports_suppressed_total in /metrics" sh -c \
    "curl -sf '$API/metrics' | grep -q '^sopd_snmp_reports_suppressed_total [1-9]'"
check "sopd stops cleanly" stop_sopd
