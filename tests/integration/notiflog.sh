#!/bin/bash
# notiflog.sh: sopNotifLogTable logs every notice once, with its targets
# and the outcome of their delivery (given up included), and its index
# keeps growing across a restart.
. "$(dirname "$0")/../lib.sh"

P_TRAPD=$((BASE + 5))
P_DEAD=$((BASE + 6))	# nobody answers informs here
HELPERS=""
stop_helpers() {
	for p in $HELPERS; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	HELPERS=""
}
trap 'stop_helpers; cleanup' EXIT
sh "$ROOT/tests/mibs.sh" >/dev/null 2>&1

cat > "$T/snmptrapd.conf" <<EOF
disableAuthorization yes
authCommunity log,execute,net public
EOF
snmptrapd -f -Lf "$T/traps.log" -C -c "$T/snmptrapd.conf" -On \
    udp:127.0.0.1:$P_TRAPD >/dev/null 2>&1 &
HELPERS="$HELPERS $!"

cat > "$T/rules.yaml" <<'EOF'
rules:
  - name: l-crit
    match:
      message: 'LCRIT (?<what>\w+)'
    severity: critical
    key: "{host}:{what}"
EOF
# A critical incident tells L2 and the client: L2 goes to a trap receiver
# that works and to an inform target that never answers; the client only
# to the latter. Windows pinned: none holds the incident.
RULES=$T/rules.yaml write_config <<EOF
windows:
  patch: []
notify:
  retry: { initial: 1s, max: 1s, max_attempts: 2 }
  targets:
    nms:  { type: snmp-trap, address: 127.0.0.1:$P_TRAPD, community: public }
    dead: { type: snmp-inform, address: 127.0.0.1:$P_DEAD, community: public, retries: 0, timeout: 1s }
  levels:
    L2: [nms, dead]
    L3: [nms, dead]
    client: [dead]
EOF
start_sopd || exit 1
AG=127.0.0.1:$P_AGENT
MIBS="-M $ROOT/mibs:$ROOT/build/ietf-mibs -m SNMPv2-MIB:SOP-APPLIANCE-MIB"
V2="-v2c -c public -t 2 -r 1"
# nlog: the table as "index|notification|incident|targets|outcome" lines.
nlog() {
	snmptable $V2 $MIBS -Cf '|' -CH -Ci -Oe "$AG" \
	    SOP-APPLIANCE-MIB::sopNotifLogTable 2>&1 | grep '^[0-9]' |
	    awk -F'|' '{ print $1 "|" $3 "|" $4 "|" $8 "|" $9 }'
}

printf '<11>Nov 27 09:00:00 web01 app: LCRIT disk' > /dev/udp/127.0.0.1/$P_SYSLOG
wait_for sh -c "curl -sf '$API/api/v1/incidents?rule=l-crit' | jq -e '.incidents | length == 1'"
ID=$(api "/api/v1/incidents?rule=l-crit" | jq -r '.incidents[0].id')
check "a critical incident opened" test -n "$ID" -a "$ID" != null

# The given-up inform needs 2 attempts of 1 s and a 1 s pause.
settled() { [ "$(nlog | grep -c '|1$')" = 0 ] && [ "$(nlog | wc -l)" = 2 ]; }
i=0; while [ $i -lt 100 ] && ! settled; do sleep 0.1; i=$((i + 1)); done
nlog | sed 's/^/# /'
opened=$(nlog | grep -c "|SOP-APPLIANCE-MIB::sopIncidentOpened|$ID|")
check "the opening is logged once per notice (L2 and client): 2 rows, got $opened" \
    test "$opened" = 2
check "the L2 notice names its targets and is partial(3): nms took it, dead gave up" \
    grep -q "::sopIncidentOpened|$ID|nms,dead|3\$" <<<"$(nlog)"
check "the client notice to dead alone is failed(4)" \
    grep -q "::sopIncidentOpened|$ID|dead|4\$" <<<"$(nlog)"
check "the trap receiver got the notice" grep -q '\.1\.3\.6\.1\.4\.1\.32473\.1\.0\.1' "$T/traps.log"
last=$(nlog | tail -1 | cut -d'|' -f1)
logged=$(snmpget $V2 $MIBS -Oqv "$AG" SOP-APPLIANCE-MIB::sopNotifLogLogged.0 2>&1)
check "sopNotifLogLogged counts the 2 notices" test "$logged" = 2

# A restart: the log starts empty, its index goes on from the last one.
check "sopd stops cleanly" stop_sopd
start_sopd || exit 1
printf '<11>Nov 27 09:05:00 web02 app: LCRIT fan' > /dev/udp/127.0.0.1/$P_SYSLOG
two() { [ "$(nlog | wc -l)" -ge 1 ]; }
wait_for two
first=$(nlog | head -1 | cut -d'|' -f1)
echo "# last index before the restart $last, first after $first"
check "after a restart the index goes on growing ($last, then $first)" \
    test -n "$last" -a -n "$first" -a "${first:-0}" -gt "${last:-0}"
check "sopd is still alive" alive
check "sopd stops cleanly after the restart" stop_sopd
stop_helpers
