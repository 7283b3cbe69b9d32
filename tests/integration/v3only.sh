#!/bin/bash
# v3only.sh: an agent with SNMPv3 users and no community
# (agent.communities: []), as security policies that forbid v1/v2c ask:
# v3 users walk the MIB; v1 and v2c requests, even with the former default
# community "public", get no answer and are counted as unknown community
# (in the log and in snmpInBadCommunityNames).
. "$(dirname "$0")/../lib.sh"

if ! sh "$ROOT/tests/mibs.sh" >/dev/null; then
	notok "IETF base MIBs in build/ietf-mibs"
	exit 1
fi
write_config </dev/null
AGENT="  communities: []\n  users:\n    - {name: nms, auth: SHA-256, auth_pass: nmsauthpass, priv: AES, priv_pass: nmsprivpass}"
sed -i "s|^  listen: 127.0.0.1:$P_AGENT\$|&\n$AGENT|" "$T/sopd.yaml"
sed -n '/^agent:/,/^http:/p' "$T/sopd.yaml" | sed 's/^/# /'
"$SOPD" -t -c "$T/sopd.yaml" > "$T/check.out" 2>&1
check "sopd -t accepts an agent with no community" test $? -eq 0
start_sopd || { notok "sopd starts"; exit 1; }
export SNMP_PERSISTENT_DIR=$T/client
AG=127.0.0.1:$P_AGENT
M=(-M "$ROOT/mibs:$ROOT/build/ietf-mibs" -m SNMPv2-MIB:SOP-APPLIANCE-MIB)
NMS=(-v3 -l authPriv -u nms -a SHA-256 -A nmsauthpass -x AES -X nmsprivpass -t 2 -r 1 "${M[@]}")

two_incidents
out=$(snmpwalk "${NMS[@]}" -Oqs "$AG" SOP-APPLIANCE-MIB::sopIncidentSeverity 2>&1)
echo "$out" | sed 's/^/# /'
check "a v3 user walks sopIncidentTable (2 rows)" \
    test "$(grep -c '^sopIncidentSeverity\.[0-9]* ' <<<"$out")" = 2
v=$(snmpget "${NMS[@]}" -Oqv "$AG" SOP-APPLIANCE-MIB::sopSoftwareVersion.0 2>/dev/null)
check "and reads sopSoftwareVersion.0 ($v)" test -n "$v"

# logged_community: the agent's drop line counts N requests with an unknown
# community (it is written at once, then once a minute at most).
logged_community() {
	grep -q "agent: dropped .*, $1 unknown community" "$T/sopd.log"
}
check "no v1/v2c request was dropped yet" eval '! grep -q "agent: dropped" "$T/sopd.log"'
# snmpInBadCommunityNames.0 (SNMPv2-MIB snmp group), read by the v3 user.
badcomm() { snmpget "${NMS[@]}" -On -Oqv "$AG" .1.3.6.1.2.1.11.4.0 2>/dev/null; }
b0=$(badcomm)
check "snmpInBadCommunityNames is readable over v3 ($b0)" test -n "$b0"
if snmpget -v2c -c public -t 1 -r 0 "$AG" .1.3.6.1.2.1.1.1.0 > "$T/v2.out" 2>&1; then
	notok "a v2c request with community public gets no answer"
	sed 's/^/# /' "$T/v2.out"
else
	ok "a v2c request with community public gets no answer"
fi
check "and is counted as an unknown community" wait_for logged_community 1
check "a v1 request gets no answer either" \
    eval '! snmpget -v1 -c public -t 1 -r 0 "$AG" .1.3.6.1.2.1.1.1.0 >/dev/null 2>&1'
grep "agent: dropped" "$T/sopd.log" | sed 's/^/# /'
b1=$(badcomm)
check "snmpInBadCommunityNames counts both ($b0 -> $b1)" test "$b1" = $((b0 + 2))
v=$(snmpget "${NMS[@]}" -Oqv "$AG" SOP-APPLIANCE-MIB::sopSoftwareVersion.0 2>/dev/null)
check "the v3 user is still answered" test -n "$v"
check "sopd is still alive" alive
check "sopd stops cleanly" stop_sopd
