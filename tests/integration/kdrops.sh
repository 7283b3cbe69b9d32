#!/bin/sh
# kdrops.sh: datagrams the kernel drops because sopd is not reading (stopped
# with SIGSTOP) and a small receive buffer is full are counted per input in
# /api/v1/stats (inputs.syslog_udp.kernel_drops, inputs.snmp_trap.
# kernel_drops) and in /metrics (sopd_input_kernel_drops_total).
. "$(dirname "$0")/../lib.sh"

FLOOD=${FLOOD:-3000}		# datagrams sent to each port while stopped
write_config </dev/null
sed -i 's/^syslog:$/syslog:\n  udp_rcvbuf: 65536/' "$T/sopd.yaml"
start_sopd || { notok "sopd starts"; exit 1; }
drops() { api /api/v1/stats | jq -r ".inputs.$1.kernel_drops"; }
check "kernel_drops reads 0 before the flood" \
    sh -c "[ '$(drops syslog_udp)' = 0 ] && [ '$(drops snmp_trap)' = 0 ]"

kill -STOP "$SOPD_PID"
python3 - "$P_SYSLOG" "$P_TRAP" "$FLOOD" <<'EOP'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
msg = b"<13>Jan  1 00:00:00 h1 flood: kernel drop test"
for i in range(int(sys.argv[3])):
	s.sendto(msg, ("127.0.0.1", int(sys.argv[1])))
	s.sendto(b"\x30\x03\x02\x01\x01", ("127.0.0.1", int(sys.argv[2])))
EOP
# What the kernel has dropped on each socket, as ss shows it (d = drops).
kd=$(ss -uanm "sport = :$P_SYSLOG" | sed -n 's/.*,d\([0-9]*\)).*/\1/p')
echo "# kernel's drop counter on the syslog socket: ${kd:-?}"
kill -CONT "$SOPD_PID"

has_drops() { [ "$(drops "$1")" -gt 0 ] 2>/dev/null; }
check "datagrams the kernel dropped on the syslog socket are counted" \
    wait_for has_drops syslog_udp
check "datagrams the kernel dropped on the trap socket are counted" \
    wait_for has_drops snmp_trap
u=$(drops syslog_udp)
echo "# inputs.syslog_udp.kernel_drops = $u, inputs.snmp_trap.kernel_drops = $(drops snmp_trap)"
[ -n "$kd" ] && check "the count is the kernel's (ss: $kd)" [ "$u" = "$kd" ]
received=$(api /api/v1/stats | jq -r '.inputs.syslog_udp.received')
check "received plus kernel drops account for every datagram sent" \
    [ $((received + u)) -eq "$FLOOD" ]
check "sopd_input_kernel_drops_total in /metrics" sh -c \
    "curl -sf '$API/metrics' | grep -q '^sopd_input_kernel_drops_total{input=\"syslog_udp\"} [1-9]'"
check "sopd stops cleanly" stop_sopd
