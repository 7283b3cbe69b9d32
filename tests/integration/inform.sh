#!/bin/bash
# inform.sh: SNMP informs out through a lossy path. A relay in front of a
# real snmptrapd drops the first datagram: net-snmp's retransmission of the
# same inform (same request-id) gets through, and the receiver sees the
# notice once. The notification carries the agent's sysUpTime.
. "$(dirname "$0")/../lib.sh"

P_TRAPD=$((BASE + 5))
HELPERS=""
stop_helpers() {
	for p in $HELPERS; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	HELPERS=""
}
trap 'stop_helpers; cleanup' EXIT

if ! command -v python3 >/dev/null 2>&1; then
	ok "# SKIP python3 is not installed (lossy relay)"
	exit 0
fi
sh "$ROOT/tests/mibs.sh" >/dev/null 2>&1

cat > "$T/snmptrapd.conf" <<EOF
disableAuthorization yes
authCommunity log,execute,net public
EOF
snmptrapd -f -Lf "$T/traps.log" -C -c "$T/snmptrapd.conf" -On \
    udp:127.0.0.1:$P_TRAPD >/dev/null 2>&1 &
HELPERS="$HELPERS $!"

# The relay: datagrams from sopd to snmptrapd (the first one dropped) and
# the answers back; every datagram from sopd is logged in hex, in order.
python3 "$ROOT/tests/agents/udprelay.py" "$P_SPARE" "$P_TRAPD" \
    --log "$T/relay.log" --drop-first &
HELPERS="$HELPERS $!"

cat > "$T/rules.yaml" <<'EOF'
rules:
  - name: i-crit
    match:
      message: 'ICRIT (?<what>\w+)'
    severity: critical
    key: "{host}:{what}"
EOF
# No patch window (the default one would hold the incident on Fridays).
RULES=$T/rules.yaml write_config <<EOF
windows:
  patch: []
notify:
  retry: { initial: 1s, max: 1s, max_attempts: 5 }
  targets:
    nms: { type: snmp-inform, address: 127.0.0.1:$P_SPARE, community: public, retries: 3, timeout: 1s }
  levels:
    L2: [nms]
    L3: [nms]
EOF
start_sopd || exit 1
# Let the agent's sysUpTime grow well past anything a notification counting
# from its own first send would show.
sleep 3

printf '<11>Nov 27 09:00:00 web01 app: ICRIT disk' > /dev/udp/127.0.0.1/$P_SYSLOG
wait_for sh -c "curl -sf '$API/api/v1/incidents?rule=i-crit' | jq -e '.incidents | length == 1'"
ID=$(api "/api/v1/incidents?rule=i-crit" | jq -r '.incidents[0].id')
check "a critical incident opened" test -n "$ID" -a "$ID" != null

OPENED=.1.3.6.1.4.1.32473.1.0.1
sent() { api /api/v1/stats | jq -e '.notify.targets.nms.sent == 1' >/dev/null; }
check "the inform is acknowledged (one sent)" wait_for sent
AG_UP=$(snmpget -v2c -c public -t 2 -r 1 -Ovt 127.0.0.1:$P_AGENT .1.3.6.1.2.1.1.3.0 2>&1)
# Time for anything that would still come: a second inform, retransmissions.
sleep 5
n=$(grep -c "$OPENED" "$T/traps.log")
check "snmptrapd received the notice once (got $n)" test "$n" = 1
check "the first datagram was dropped by the relay" grep -q '^drop ' "$T/relay.log"
n=$(wc -l < "$T/relay.log")
check "the drop cost one retransmission: 2 datagrams (got $n)" test "$n" = 2
check "the retransmission is the same inform (same request-id and content)" \
    test "$(cut -d' ' -f2 "$T/relay.log" | sort -u | wc -l)" = 1
stats=$(api /api/v1/stats | jq -c '.notify.targets.nms | [.sent, .retried, .failed]')
check "stats: sent 1, retried 0, failed 0 (got $stats)" test "$stats" = "[1,0,0]"

# sysUpTime.0 of the notification is the agent's: both count from the
# start, seconds apart here, not from the first notification.
TRAP_UP=$(sed -n 's/.*\.1\.3\.6\.1\.2\.1\.1\.3\.0 = Timeticks: (\([0-9]*\)).*/\1/p' "$T/traps.log" | head -1)
echo "# notification sysUpTime $TRAP_UP, agent sysUpTime.0 $AG_UP"
check "the notification's sysUpTime is the agent's (within 2 s)" \
    test -n "$TRAP_UP" -a -n "$AG_UP" -a "$TRAP_UP" -ge 300 -a \
    $((AG_UP - TRAP_UP)) -ge 0 -a $((AG_UP - TRAP_UP)) -le 200

check "sopd is still alive" alive
check "sopd stops cleanly" stop_sopd
stop_helpers
