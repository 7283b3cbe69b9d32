#!/bin/bash
# notifseq.sh: every notification carries sopNotifSequence.0, the notice's
# sopNotifLogIndex. An NMS behind a lossy path (a relay that drops the
# first trap) sees a gap in the sequence, finds the lost notice in
# sopNotifLogTable by that number, and the numbers go on after a restart.
. "$(dirname "$0")/../lib.sh"

P_TRAPD=$((BASE + 5))
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; wait $p 2>/dev/null; done; cleanup' EXIT
sh "$ROOT/tests/mibs.sh" >/dev/null 2>&1

cat > "$T/snmptrapd.conf" <<EOF
disableAuthorization yes
authCommunity log public
EOF
SNMP_PERSISTENT_DIR=$T/trapd snmptrapd -f -Lf "$T/traps.log" -C -c "$T/snmptrapd.conf" -On \
    udp:127.0.0.1:$P_TRAPD >/dev/null 2>&1 &
PIDS="$PIDS $!"
python3 "$ROOT/tests/agents/udprelay.py" "$P_SPARE" "$P_TRAPD" --drop-first &
PIDS="$PIDS $!"
check "snmptrapd and the relay listen" wait_for sh -c \
    "ss -Hlun | grep -q ':$P_TRAPD ' && ss -Hlun | grep -q ':$P_SPARE '"

cat > "$T/rules.yaml" <<'EOF'
rules:
  - name: s-crit
    match:
      message: 'SCRIT (?<what>\w+)'
    severity: critical
    key: "{host}:{what}"
EOF
RULES=$T/rules.yaml write_config <<EOF
windows:
  patch: []
notify:
  targets:
    nms: { type: snmp-trap, address: 127.0.0.1:$P_SPARE, community: public }
  levels:
    L1: [nms]
    L2: [nms]
    L3: [nms]
EOF
start_sopd || exit 1
export SNMP_PERSISTENT_DIR=$T/client
AG=127.0.0.1:$P_AGENT
SEQ=.1.3.6.1.4.1.32473.1.1.6.5.0
seqs() { sed -n "s/.*$SEQ = Gauge32: \([0-9]*\).*/\1/p" "$T/traps.log"; }

printf '<11>Nov 27 09:00:00 web01 app: SCRIT disk' > /dev/udp/127.0.0.1/$P_SYSLOG
wait_for sh -c "curl -sf '$API/api/v1/incidents?rule=s-crit' | jq -e '.incidents | length == 1'"
ID=$(api "/api/v1/incidents?rule=s-crit" | jq -r '.incidents[0].id')
sent() { api /api/v1/stats | jq -e ".notify.targets.nms.sent == $1" >/dev/null; }
check "the opening is sent (and lost on the way)" wait_for sent 1
printf '<11>Nov 27 09:00:01 web01 app: SCRIT cpu' > /dev/udp/127.0.0.1/$P_SYSLOG
got() { [ "$(seqs | wc -l)" -ge "$1" ]; }
check "the second opening arrives with a sequence number" wait_for got 1
s2=$(seqs | tail -1)
echo "# received sequence numbers: $(seqs | tr '\n' ' ')"
check "only one notification arrived (the first was lost)" test "$(seqs | wc -l)" = 1

# The NMS: the number before the one it got is missing; the log has it,
# and the one it got is the last row.
lost=$((s2 - 1))
row=$(snmpget -v2c -c public -t 2 -r 1 -On "$AG" .1.3.6.1.4.1.32473.1.1.6.4.1.3.$lost 2>&1)
echo "# $row"
check "sopNotifLogTable row $lost names the lost sopIncidentOpened" \
    grep -q "OID: .1.3.6.1.4.1.32473.1.0.1\$" <<<"$row"
last=$(snmpwalk -v2c -c public -t 2 -r 1 -On "$AG" .1.3.6.1.4.1.32473.1.1.6.4.1.3 2>&1 | tail -1)
check "the received sequence number is the index of the last logged notice" \
    grep -q "^.1.3.6.1.4.1.32473.1.1.6.4.1.3.$s2 = " <<<"$last"

# The acknowledgement says who, and its number follows.
curl -sf -X POST -H 'Content-Type: application/json' -d '{"actor":"alice"}' \
    "$API/api/v1/incidents/$ID/ack" >/dev/null
ACKED=.1.3.6.1.4.1.32473.1.0.3
acked() { grep -q "$ACKED" "$T/traps.log"; }
check "sopIncidentAcknowledged arrives" wait_for acked
line=$(grep "$ACKED" "$T/traps.log" | tail -1)
check "it carries sopIncidentOwner.$ID = alice" \
    grep -q "\.1\.3\.6\.1\.4\.1\.32473\.1\.1\.4\.1\.14\.$ID = STRING: \"alice\"" <<<"$line"
s2=$(seqs | tail -1)

# After a restart the numbers go on.
before=$(seqs | wc -l)
check "sopd stops" stop_sopd
start_sopd || exit 1
printf '<11>Nov 27 09:00:02 web01 app: SCRIT mem' > /dev/udp/127.0.0.1/$P_SYSLOG
check "an opening after the restart arrives" wait_for got $((before + 1))
s3=$(seqs | tail -1)
check "its sequence number is above those before the restart ($s3 > $s2)" test "$s3" -gt "$s2"
check "sopd stops cleanly" stop_sopd
