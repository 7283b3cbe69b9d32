#!/bin/sh
# udpturn.sh: a storm of new incidents over UDP (a backlog of 20,000
# distinct lines, each opening its own incident, waiting in the socket while
# sopd was stopped) is read in bounded turns of the event loop and stored
# whole: every line is received, none dropped by the kernel, every incident
# open and in sopd.db after a stop; the API answers while the backlog is
# worked off, and GET /api/v1/stats tells the loop's longest stall per kind
# of work (commit, checkpoint, udp, deadline, integrity), the CPU time of
# the costliest turn of each, and how often a UDP turn yielded with data
# still waiting (loop.udp_read_yields).
. "$(dirname "$0")/../lib.sh"

N=${N:-20000}
mkdir -p "$T/rules"
cat > "$T/rules/storm.yaml" <<'EOR'
rules:
  - name: storm-open
    match:
      program: stormapp
      message: 'ticket id=(?<id>\d+) opened'
    severity: low
    title: 'storm ticket {id}'
    key: '{rule}:{id}'
EOR
RULES=$T/rules write_config <<'EOC'
incidents:
  max_open: 50000
  max_open_per_rule: 50000
EOC
start_sopd || { notok "sopd starts"; exit 1; }

stat_loop() { api /api/v1/stats | jq -c '.loop'; }
check "stats: the loop's stall per kind of work, in ms" sh -c \
    "curl -sf '$API/api/v1/stats' | jq -e '.loop.stall_ms | keys == [\"checkpoint\",\"commit\",\"deadline\",\"integrity\",\"udp\"] and all(.[]; type == \"number\" and . >= 0)' >/dev/null"
check "stats: the CPU time of the costliest turn of each kind" sh -c \
    "curl -sf '$API/api/v1/stats' | jq -e '.loop.stall_cpu_ms | keys == [\"checkpoint\",\"commit\",\"deadline\",\"integrity\",\"udp\"] and all(.[]; type == \"number\" and . >= 0)' >/dev/null"
check "stats: no UDP turn yielded before any traffic" sh -c \
    "curl -sf '$API/api/v1/stats' | jq -e '.loop.udp_read_yields == 0' >/dev/null"

# The backlog: sopd stopped, the lines wait in its socket (32 MiB buffer).
kill -STOP "$SOPD_PID"
python3 - "$P_SYSLOG" "$N" <<'EOP'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[2])):
	s.sendto(b"<13>Jan  1 00:00:00 h1 stormapp: ticket id=%d opened" % i,
	    ("127.0.0.1", int(sys.argv[1])))
EOP
kill -CONT "$SOPD_PID"

# While the backlog is read, the API answers with part of it open.
open_now() { api /api/v1/stats | jq -r '.incidents.open'; }
seen_part=0
i=0
while [ $i -lt 1200 ]; do
	o=$(open_now)
	[ -n "$o" ] && [ "$o" -gt 0 ] 2>/dev/null && [ "$o" -lt "$N" ] && seen_part=1
	[ "$o" = "$N" ] && break
	sleep 0.05; i=$((i + 1))
done
echo "# open after the backlog: ${o:-?}; loop: $(stat_loop)"
check "the API answered while the backlog was read (part of it open)" \
    [ "$seen_part" = 1 ]
check "all $N incidents open" [ "$o" = "$N" ]
st=$(api /api/v1/stats)
check "every datagram received" \
    [ "$(echo "$st" | jq -r '.inputs.syslog_udp.received')" = "$N" ]
check "none dropped by the kernel" \
    [ "$(echo "$st" | jq -r '.inputs.syslog_udp.kernel_drops')" = 0 ]
check "reading the backlog yielded turns to the rest of the loop" \
    sh -c "echo '$st' | jq -e '.loop.udp_read_yields > 0' >/dev/null"
check "the UDP turns and the commits were timed" \
    sh -c "echo '$st' | jq -e '.loop.stall_ms.udp > 0 and .loop.stall_ms.commit > 0 and .loop.stall_cpu_ms.udp > 0' >/dev/null"
check "the longest stall is the longest of the kinds" \
    sh -c "echo '$st' | jq -e '.loop.max_stall_ms as \$m | [.loop.stall_ms[]] | max == \$m' >/dev/null"
check "sopd stops cleanly" stop_sopd
stored=$(sqlite3 "$T/var/sopd.db" \
    "SELECT COUNT(*) FROM incidents WHERE rule = 'storm-open' AND state = 'open'")
check "all $N incidents stored in sopd.db ($stored)" [ "$stored" = "$N" ]
check "no sanitizer reports" no_sanitizer_reports
