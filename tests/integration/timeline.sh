#!/bin/bash
# timeline.sh: the notices sent for an incident stay on its timeline (the
# notifications of GET /api/v1/incidents/{id}) after 500 more notices of
# other incidents and across a restart: they are kept in the store.
. "$(dirname "$0")/../lib.sh"
SINK=""
trap '[ -n "$SINK" ] && kill "$SINK" 2>/dev/null; cleanup' EXIT

cat > "$T/rules.yaml" <<'EOF'
rules:
  - name: t-crit
    match:
      message: 'TCRIT (?<what>\w+)'
    severity: critical
    key: "{host}:{what}"
EOF
# A syslog target over UDP to a receiver that drops what it gets.
python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True: s.recv(65536)' "$P_SPARE" &
SINK=$!
RULES=$T/rules.yaml write_config <<EOF
notify:
  queue_size: 1000
  targets:
    noc: { type: syslog, transport: udp, address: 127.0.0.1:$P_SPARE }
  levels:
    L1: [noc]
    L2: [noc]
EOF
start_sopd || { notok "sopd starts"; exit 1; }
ok "sopd starts"

# notices ID: the notices on incident ID's timeline, as "kind outcome targets".
notices() {
	api "/api/v1/incidents/$1" |
	    jq -r '.notifications[] | "\(.notification) \(.outcome) \(.targets)"'
}
first_is_delivered() { notices "$ID" | grep -qx "opened delivered noc"; }

printf '<10>Nov 27 09:00:00 web01 app: TCRIT first' > /dev/udp/127.0.0.1/$P_SYSLOG
wait_for sh -c "curl -sf '$API/api/v1/incidents?rule=t-crit' | jq -e '.incidents | length == 1'"
ID=$(api "/api/v1/incidents?rule=t-crit" | jq -r '.incidents[0].id')
check "an incident opened" test -n "$ID" -a "$ID" != null
check "its opening notice is on its timeline, delivered to noc" \
    wait_for first_is_delivered

# 510 other incidents, each with its opening notice, over TCP in one go.
python3 - "$P_SYSLOG" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for i in range(510):
    m = b"<10>Nov 27 09:00:01 web02 app: TCRIT x%d" % i
    s.sendall(b"%d %s" % (len(m), m))
s.close()
EOF
many_sent() {
	n=$(api /api/v1/stats | jq '.notify.targets.noc.sent // 0')
	[ "${n:-0}" -ge 511 ]
}
i=0
while [ $i -lt 30 ] && ! many_sent; do sleep 1; i=$((i + 1)); done
check "511 notices were sent" many_sent
many_sent || { api "/api/v1/incidents/$((ID + 300))" | jq -c . | sed "s/^/# /"; api "/api/v1/incidents?limit=3" | jq -c . | cut -c1-1500 | sed "s/^/# /"; }
check "the first notice is still on its timeline after 510 others" \
    first_is_delivered
check "the timeline has it once, with its time" sh -c \
    "curl -sf '$API/api/v1/incidents/$ID' | jq -e '[.notifications[] | select(.notification == \"opened\")] | length == 1 and (.[0].at | test(\"^[0-9-]{10}T[0-9:]{8}Z\$\"))'"

check "sopd stops cleanly" stop_sopd
start_sopd || { notok "sopd restarts"; exit 1; }
check "the notice is on the timeline after a restart" first_is_delivered
LAST=$(api "/api/v1/incidents?rule=t-crit&limit=1" | jq -r '.incidents[0].id')
check "the newest incident's notice is there too" sh -c \
    "curl -sf '$API/api/v1/incidents/$LAST' | jq -e '.notifications | length == 1 and .[0].outcome == \"delivered\"'"
check "sopd stops cleanly again" stop_sopd
