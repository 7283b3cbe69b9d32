#!/bin/bash
# trapsv3.sh: SNMPv3 traps and informs from net-snmp's snmptrap and
# snmpinform (USM users of traps: users): authPriv and authNoPriv, SHA-1
# and SHA-2, AES-128 and AES-256, open incidents; traps need the sender's
# engineID, informs discover ours and are answered. Unknown users, wrong
# keys, a lower level, a foreign engineID and a replay outside the time
# window are refused and counted, each under its own reason.
. "$(dirname "$0")/../lib.sh"

DEV=0x80001f8880aabbccdd00112233
PYDEV=0x80001f8880aabbccdd00112234
write_config </dev/null
USERS="  users:\n    - {name: dev1, auth: SHA, auth_pass: dev1authpass, priv: AES, priv_pass: dev1privpass, engine_id: \"$DEV\"}\n    - {name: inf256, auth: SHA-256, auth_pass: \"inform \\\\\"auth\\\\\" pass\", priv: AES-256, priv_pass: informpriv256}\n    - {name: mon, auth: SHA-512, auth_pass: monitorauth512, level: authnopriv}\n    - {name: py, auth: SHA, auth_pass: pyauthpass, priv: AES, priv_pass: pyprivpass, engine_id: \"$PYDEV\"}\n    - {name: py, auth: SHA, auth_pass: pyauthpass, priv: AES, priv_pass: pyprivpass}"
sed -i "s|^  communities: \[public\]\$|&\n$USERS|" "$T/sopd.yaml"
sed -n '/^traps:/,/^agent:/p' "$T/sopd.yaml" | sed 's/^/# /'
# net-snmp's state stays under state_dir whatever the environment says.
SNMP_PERSISTENT_DIR=$T/elsewhere start_sopd || { notok "sopd starts with v3 trap users"; exit 1; }

export MIBS= MIBDIRS=/nonexistent SNMPCONFPATH=/nonexistent
export SNMP_PERSISTENT_DIR=$T/client
DST=127.0.0.1:$P_TRAP
TRAPADDR=1.3.6.1.6.3.18.1.3.0
COLD=1.3.6.1.6.3.1.1.5.1
WARM=1.3.6.1.6.3.1.1.5.2
DEV1=(-v3 -e $DEV -u dev1 -l authPriv -a SHA -A dev1authpass -x AES -X dev1privpass)
INF=(-v3 -u inf256 -l authPriv -a SHA-256 -A 'inform "auth" pass' -x AES-256 -X informpriv256 -r 1 -t 3)

active() { api "/api/v1/incidents?state=active&limit=1000"; }
has_incident() { active | jq -e "[.incidents[] | select($1)] | length > 0" >/dev/null; }
no_incident() { ! has_incident "$1"; }
trapstat() { api /api/v1/stats | jq -r ".inputs.snmp_trap.$1"; }
stat_at_least() { [ "$(trapstat "$1")" -ge "$2" ] 2>/dev/null; }
host_seen() { has_incident ".host==\"$1\""; }

snmptrap "${DEV1[@]}" $DST '' $COLD $TRAPADDR a 192.0.2.11
check "v3 authPriv trap (SHA/AES, the sender's engineID) opens an incident" \
    wait_for host_seen 192.0.2.11

tid=$(api "/api/v1/incidents?state=active&limit=1000" | jq -r '[.incidents[] | select(.host=="192.0.2.11")][0].id')
cause=$(snmpget -v2c -c public -t 2 -r 1 -Oqv 127.0.0.1:$P_AGENT .1.3.6.1.4.1.32473.1.1.4.1.17.$tid 2>&1)
check "sopIncidentCause of its incident is the trap OID ($cause)" grep -qx '"\?\.\?1\.3\.6\.1\.6\.3\.1\.1\.5\.1"\?' <<<"$cause"

if snmpinform "${INF[@]}" $DST '' $WARM $TRAPADDR a 192.0.2.12 2>"$T/inform.err"; then
	ok "v3 authPriv inform (SHA-256/AES-256, engineID discovered) is answered"
else
	notok "v3 authPriv inform (SHA-256/AES-256, engineID discovered) is answered"
	sed 's/^/# /' "$T/inform.err"
fi
# Answered means committed: the incident is there at once.
check "the answered inform's incident is already committed" host_seen 192.0.2.12

if snmpinform -v3 -u mon -l authNoPriv -a SHA-512 -A monitorauth512 -r 1 -t 3 \
    $DST '' $WARM $TRAPADDR a 192.0.2.13 2>"$T/inform.err"; then
	ok "v3 authNoPriv inform (SHA-512) is answered"
else
	notok "v3 authNoPriv inform (SHA-512) is answered"
	sed 's/^/# /' "$T/inform.err"
fi
check "and opens an incident" host_seen 192.0.2.13

# A second SNMP stack as sender: pysnmp (Debian's python3-pysnmp4), the
# same user name localized to its engineID (traps) and to ours (informs).
PY=/usr/bin/python3
if $PY -c 'import pysnmp.hlapi' 2>/dev/null; then
	cat > "$T/py.py" <<'PYEOF'
import sys
from pysnmp.hlapi import *
kind, port, user, auth, priv, addr = sys.argv[1:7]
eid = sys.argv[7] if len(sys.argv) > 7 else None
engine = SnmpEngine(OctetString(hexValue=eid[2:])) if eid else SnmpEngine()
ud = UsmUserData(user, auth, priv, authProtocol=usmHMACSHAAuthProtocol,
                 privProtocol=usmAesCfb128Protocol)
g = sendNotification(engine, ud, UdpTransportTarget(("127.0.0.1", int(port)),
                     timeout=2, retries=1), ContextData(), kind,
                     NotificationType(ObjectIdentity("1.3.6.1.6.3.1.1.5.1")).addVarBinds(
                         ("1.3.6.1.6.3.18.1.3.0", IpAddress(addr))))
ei, es, ex, vb = next(g)
if ei or es:
    print("error:", ei or es.prettyPrint())
    sys.exit(1)
PYEOF
	$PY "$T/py.py" trap $P_TRAP py pyauthpass pyprivpass 192.0.2.41 $PYDEV
	check "pysnmp v3 authPriv trap (its engineID) opens an incident" wait_for host_seen 192.0.2.41
	if $PY "$T/py.py" inform $P_TRAP py pyauthpass pyprivpass 192.0.2.42 > "$T/py.out" 2>&1; then
		ok "pysnmp v3 authPriv inform (discovery) is answered"
	else
		notok "pysnmp v3 authPriv inform (discovery) is answered"
		sed 's/^/# /' "$T/py.out"
	fi
	check "and its incident is committed" host_seen 192.0.2.42
	b=$(trapstat reasons.wrong_digest)
	if $PY "$T/py.py" inform $P_TRAP py wrongpyauth pyprivpass 192.0.2.43 >/dev/null 2>&1; then
		notok "a pysnmp inform with a wrong key is not answered"
	else
		ok "a pysnmp inform with a wrong key is not answered"
	fi
	check "and counted as wrong_digest" wait_for stat_at_least reasons.wrong_digest $((b + 1))
	check "and opens no incident" no_incident '.host=="192.0.2.43"'
else
	notok "pysnmp is installed (Debian package python3-pysnmp4)"
fi

# Refusals: each under its own reason, none as bad_pdu, no incident.
bad0=$(trapstat reasons.bad_pdu)
b=$(trapstat reasons.unknown_user)
snmptrap -v3 -e $DEV -u nobody -l authPriv -a SHA -A dev1authpass -x AES -X dev1privpass \
    $DST '' $COLD $TRAPADDR a 192.0.2.21
check "a trap from an unknown user is counted as unknown_user" \
    wait_for stat_at_least reasons.unknown_user $((b + 1))
b=$(trapstat reasons.unknown_user)
snmptrap -v3 -e 0x80001f8880000000000000dead -u dev1 -l authPriv -a SHA -A dev1authpass \
    -x AES -X dev1privpass $DST '' $COLD $TRAPADDR a 192.0.2.22
check "a trap from an engineID dev1 is not configured for is counted as unknown_user" \
    wait_for stat_at_least reasons.unknown_user $((b + 1))
b=$(trapstat reasons.wrong_digest)
snmptrap -v3 -e $DEV -u dev1 -l authPriv -a SHA -A wrongauthpass -x AES -X dev1privpass \
    $DST '' $COLD $TRAPADDR a 192.0.2.23
check "a trap with a wrong auth key is counted as wrong_digest" \
    wait_for stat_at_least reasons.wrong_digest $((b + 1))
b=$(trapstat reasons.decryption)
snmptrap -v3 -e $DEV -u dev1 -l authPriv -a SHA -A dev1authpass -x AES -X wrongprivpass \
    $DST '' $COLD $TRAPADDR a 192.0.2.24
wrongpriv() { stat_at_least reasons.decryption $((b + 1)); }
check "a trap with a wrong priv key is refused (decryption)" wait_for wrongpriv
b=$(trapstat reasons.security_level)
snmptrap -v3 -e $DEV -u dev1 -l authNoPriv -a SHA -A dev1authpass \
    $DST '' $COLD $TRAPADDR a 192.0.2.25
check "an authNoPriv trap from an authPriv user is counted as security_level" \
    wait_for stat_at_least reasons.security_level $((b + 1))
b=$(trapstat reasons.wrong_digest)
if snmpinform "${INF[@]}" -A 'wrong inform pass' -r 0 -t 2 $DST '' $WARM $TRAPADDR a 192.0.2.26 2>/dev/null; then
	notok "an inform with a wrong key is not answered"
else
	ok "an inform with a wrong key is not answered"
fi
check "and counted as wrong_digest" wait_for stat_at_least reasons.wrong_digest $((b + 1))
b=$(trapstat reasons.unknown_engine)
snmpinform "${INF[@]}" -e 0x80001f8880000000000000beef -r 0 -t 2 $DST '' $WARM $TRAPADDR a 192.0.2.27 2>/dev/null
check "an inform to another engineID is counted as unknown_engine" \
    wait_for stat_at_least reasons.unknown_engine $((b + 1))
sleep 0.3
check "no refused notification opened an incident" \
    no_incident '.host|test("^192\\.0\\.2\\.2[1-7]$")'
check "none was counted as bad_pdu" test "$(trapstat reasons.bad_pdu)" = "$bad0"

# A reload takes a new user and drops a removed one.
sed -i 's/name: dev1, auth: SHA, auth_pass: dev1authpass/name: dev2, auth: SHA, auth_pass: dev1authpass/' "$T/sopd.yaml"
kill -HUP "$SOPD_PID"
# Sent until the reload took it (each try waits for the incident a while).
dev2_trap() {
	snmptrap -v3 -e $DEV -u dev2 -l authPriv -a SHA -A dev1authpass -x AES -X dev1privpass \
	    $DST '' $COLD $TRAPADDR a 192.0.2.51
	sleep 0.2
	host_seen 192.0.2.51
}
check "after SIGHUP a new v3 user's trap opens an incident" wait_for dev2_trap
b=$(trapstat reasons.unknown_user)
snmptrap "${DEV1[@]}" $DST '' $COLD $TRAPADDR a 192.0.2.52
check "and the removed user's trap is refused as unknown_user" \
    wait_for stat_at_least reasons.unknown_user $((b + 1))

api /api/v1/stats | jq -c .inputs.snmp_trap | sed 's/^/# /'

# The same counts in SOP-APPLIANCE-MIB: sopInputReasonTable, snmpTrap(5).
if sh "$ROOT/tests/mibs.sh" >/dev/null 2>&1; then
	M=(-M "$ROOT/mibs:$ROOT/build/ietf-mibs" -m SNMPv2-MIB:SOP-APPLIANCE-MIB)
	out=$(MIBS= snmpwalk -v2c -c public -t 2 -r 1 "${M[@]}" -Oqs 127.0.0.1:$P_AGENT \
	    SOP-APPLIANCE-MIB::sopInputReasonTable 2>&1)
	mib=""
	for r in unknownUser wrongDigest notInTimeWindow unknownEngineId decryption securityLevel; do
		mib="$mib $(sed -n "s/^sopInputReasonCount\.snmpTrap\.$r //p" <<<"$out")"
	done
	api=$(api /api/v1/stats | jq -r '.inputs.snmp_trap.reasons | [.unknown_user, .wrong_digest,
	    .time_window, .unknown_engine, .decryption, .security_level] | map(tostring) | join(" ")')
	echo "# mib:$mib api: $api"
	check "sopInputReasonCount shows each v3 refusal as the API counts it" test "$mib" = " $api"
else
	notok "IETF base MIBs in build/ietf-mibs"
fi
# A replay: an inform captured on its way in, sent again after sopd
# restarted (its engineBoots grew) is outside the time window.
python3 "$ROOT/tests/agents/udprelay.py" "$P_SPARE" "$P_TRAP" --log "$T/relay.log" &
RELAY=$!
trap 'kill $RELAY 2>/dev/null; cleanup' EXIT
check "the relay listens" wait_for sh -c "ss -Hlun | grep -q ':$P_SPARE '"
snmpinform "${INF[@]}" 127.0.0.1:$P_SPARE '' $WARM $TRAPADDR a 192.0.2.31 2>/dev/null
check "an inform through a relay is answered and opens an incident" host_seen 192.0.2.31
kill $RELAY 2>/dev/null; wait $RELAY 2>/dev/null
check "sopd stops for a restart" stop_sopd
start_sopd || { notok "sopd restarts"; exit 1; }
b=$(trapstat reasons.time_window)
python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(bytes.fromhex(open(sys.argv[1]).read().split()[-1]), ("127.0.0.1", int(sys.argv[2])))
' "$T/relay.log" $P_TRAP
check "the inform replayed after a restart is counted as time_window" \
    wait_for stat_at_least reasons.time_window $((b + 1))
check "sopd keeps net-snmp's files in state_dir, not in \$SNMP_PERSISTENT_DIR" \
    test ! -e "$T/elsewhere" -a -f "$T/var/snmp/engine"
check "sopd is still alive" alive
check "sopd stops cleanly with no sanitizer report" stop_sopd
