#!/bin/bash
# snmpv3.sh: the standalone agent's SNMPv3 USM users: authPriv and
# authNoPriv users read the MIB; wrong keys, unknown users and a lower
# security level get nothing; engineID and engineBoots survive a restart.
. "$(dirname "$0")/../lib.sh"

if ! sh "$ROOT/tests/mibs.sh" >/dev/null; then
	notok "IETF base MIBs in build/ietf-mibs"
	exit 1
fi

write_config </dev/null
USERS='  users:\n    - {name: nms, auth: SHA, auth_pass: "nms auth \\"pass\\"", priv: AES, priv_pass: nmsprivpass}\n    - {name: nms512, auth: SHA-512, auth_pass: strongauth512, priv: AES-256, priv_pass: strongpriv256}\n    - {name: mon, auth: SHA-256, auth_pass: monitor-auth, level: authnopriv}'
sed -i "s|^  listen: 127.0.0.1:$P_AGENT\$|&\n$USERS|" "$T/sopd.yaml"
start_sopd || { notok "sopd starts"; exit 1; }

AG=127.0.0.1:$P_AGENT
MIBS="-M +:$ROOT/mibs:$ROOT/build/ietf-mibs -m +SOP-APPLIANCE-MIB"
# v3 USER LEVEL [auth-pass priv-pass] snmpcmd args...: one v3 request.
NMS=(-v3 -l authPriv -u nms -a SHA -A 'nms auth "pass"' -x AES -X nmsprivpass -t 2 -r 1)
NMS512=(-v3 -l authPriv -u nms512 -a SHA-512 -A strongauth512 -x AES-256 -X strongpriv256 -t 2 -r 1)
MON=(-v3 -l authNoPriv -u mon -a SHA-256 -A monitor-auth -t 2 -r 1)

two_incidents
n=$(active | jq '.incidents | length')
crit=$(active | jq '[.incidents[] | select(.severity=="critical")][0].id')

# With "-m +", net-snmp also loads its default modules and warns about those
# a Debian host lacks (on stderr): only stdout is checked.
out=$(snmpget "${NMS[@]}" $MIBS -Oqv "$AG" sysDescr.0 sopActiveIncidents.0 2>/dev/null)
check "authPriv (SHA/AES) snmpget reads sysDescr and sopActiveIncidents ($n)" \
    test "$(echo "$out" | tr '\n' '|')" = "$(echo "$out" | head -1)|$n|"
check "sysDescr over v3 names sopd" grep -q '^sopd ' <<<"$out"
out=$(snmpwalk "${NMS[@]}" $MIBS "$AG" sopIncidentTable 2>/dev/null)
check "authPriv snmpwalk shows symbolic names: sopIncidentSeverity.$crit = critical(1)" \
    grep -qx "SOP-APPLIANCE-MIB::sopIncidentSeverity.$crit = INTEGER: critical(1)" <<<"$out"
rows=$(snmptable "${NMS[@]}" $MIBS -Cf '|' -CH -Ci "$AG" sopIncidentTable 2>/dev/null | grep -c '^[0-9]')
check "authPriv snmptable sopIncidentTable has the API's $n rows" test "$rows" = "$n"
check "SHA-512/AES-256 user reads the subtree" \
    test "$(snmpget "${NMS512[@]}" -Oqv "$AG" .1.3.6.1.4.1.32473.1.1.3.1.0 2>&1)" = "$n"
check "authNoPriv user (SHA-256) reads the subtree" \
    test "$(snmpget "${MON[@]}" -Oqv "$AG" .1.3.6.1.4.1.32473.1.1.3.1.0 2>&1)" = "$n"

# nodata DESC ARGS...: the request must fail within 3 s and return no value.
nodata() {
	d=$1; shift
	t0=$(date +%s%N)
	if out=$(snmpget -t 1 -r 0 -Oqv "$@" "$AG" .1.3.6.1.4.1.32473.1.1.3.1.0 2>&1); then
		notok "$d (got '$out')"; return
	fi
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ "$out" = "$n" ] || [ $ms -gt 3000 ]; then
		notok "$d ($ms ms: $out)"
	else
		ok "$d ($ms ms: $(echo $out | cut -c1-60))"
	fi
}
nodata "a wrong auth pass phrase gets nothing" -v3 -l authPriv -u nms -a SHA \
    -A wrong-pass-phrase -x AES -X nmsprivpass
nodata "a wrong priv pass phrase gets nothing" -v3 -l authPriv -u nms -a SHA \
    -A 'nms auth "pass"' -x AES -X wrong-priv-pass
nodata "the wrong auth protocol gets nothing" -v3 -l authPriv -u nms -a MD5 \
    -A 'nms auth "pass"' -x AES -X nmsprivpass
nodata "an unknown user gets nothing" -v3 -l authPriv -u intruder -a SHA \
    -A intruder-pass -x AES -X intruder-pass
nodata "noAuthNoPriv is refused for an authPriv user" -v3 -l noAuthNoPriv -u nms
nodata "authNoPriv is refused for an authPriv user" -v3 -l authNoPriv -u nms \
    -a SHA -A 'nms auth "pass"'
nodata "noAuthNoPriv is refused for an authNoPriv user" -v3 -l noAuthNoPriv -u mon
check "v2c with the community still works next to v3" \
    test "$(snmpget -v2c -c public -t 2 -r 1 -Oqv "$AG" .1.3.6.1.4.1.32473.1.1.3.1.0 2>&1)" = "$n"

# engineID is stable and engineBoots grows across restarts (RFC 3414).
eng() { snmpget "${NMS[@]}" -Oqv "$AG" .1.3.6.1.6.3.10.2.1.1.0 .1.3.6.1.6.3.10.2.1.2.0 2>&1 | tr '\n' ' '; }
e1=$(eng)
check "sopd stops cleanly" stop_sopd
start_sopd || { notok "sopd starts again"; exit 1; }
e2=$(eng)
id1=${e1% * }; id2=${e2% * }
b1=$(echo "$e1" | awk '{ print $NF }'); b2=$(echo "$e2" | awk '{ print $NF }')
check "snmpEngineID stays the same across a restart" test -n "$id1" -a "$id1" = "$id2"
check "snmpEngineBoots grows by one across a restart ($b1 -> $b2)" test "$b2" = $((b1 + 1))
check "the engine state file is private" test "$(stat -c %a "$T/var/snmp/engine")" = 600
check "v3 works after the restart" \
    test "$(snmpget "${NMS[@]}" -Oqv "$AG" .1.3.6.1.4.1.32473.1.1.3.1.0 2>&1)" = "$n"
check "no pass phrase reaches the log" eval "! grep -q -e nmsprivpass -e strongauth512 '$T/sopd.log'"

check "sopd is still alive" alive
check "sopd stops cleanly" stop_sopd
