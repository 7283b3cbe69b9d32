#!/bin/bash
# selflog.sh: sopd's own log lines fed back to it (program "sopd", as the
# host's rsyslog forwards them) never open an incident, whatever the rules
# say; they are counted under reason "self".  The same text from another
# program still opens one.
. "$(dirname "$0")/../lib.sh"

cat > "$T/rules.yaml" <<'EOF'
rules:
  - name: any-failure
    match:
      message: 'notify: (?<target>\w+): .*failed'
    severity: high
    key: "{host}:{target}"
EOF
RULES=$T/rules.yaml write_config </dev/null
start_sopd || { notok "sopd starts"; exit 1; }

send() { printf '%s' "$1" > /dev/udp/127.0.0.1/"$P_SYSLOG"; }
self_count() { api /api/v1/stats | jq -e ".inputs.syslog_udp.reasons.self == $1"; }
incs() { api "/api/v1/incidents?rule=any-failure" | jq -e ".total == $1" >/dev/null; }

send '<11>Dec  5 10:00:00 appliance1 sopd[4242]: notify: ops: webhook failed (timeout)'
send '<11>1 2026-12-05T10:00:01Z appliance1 sopd 4242 - - notify: ops: webhook failed again'
check "sopd's own lines are counted as self" wait_for self_count 2
send '<11>Dec  5 10:00:02 appliance2 relay[77]: notify: ops: webhook failed (timeout)'
check "the same text from another program opens an incident" wait_for incs 1
sleep 0.5
check "sopd's own lines opened no incident" incs 1
no_drops() { api /api/v1/stats | jq -e '.inputs.syslog_udp.dropped == 0' >/dev/null; }
check "the self lines are not counted as dropped" no_drops
check "sopd stops cleanly" stop_sopd
