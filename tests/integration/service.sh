#!/bin/bash
# service.sh: the systemd unit's readiness, status, reload, stop and watchdog
# messages (sd_notify to a NOTIFY_SOCKET this test listens on), a stalled
# loop missing the watchdog, and the unit's hardening score.
. "$(dirname "$0")/../lib.sh"

# systemd's exposure score of the shipped unit (lower is better).
if systemd-analyze --help 2>/dev/null | grep -q -- --offline; then
	cp "$ROOT/firmware/sopd.service" "$T/sopd.service"
	score=$(systemd-analyze security --offline=yes "$T/sopd.service" 2>&1 |
	    sed -n 's/.*Overall exposure level for sopd.service: \([0-9.]*\).*/\1/p')
	echo "# systemd-analyze security: exposure $score"
	check "the unit's exposure is 3.0 or less (systemd-analyze security)" \
	    awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 3.0) }'
else
	echo "ok # skip systemd-analyze security --offline is not available"
fi
unit="$ROOT/firmware/sopd.service"
for d in Type=notify WatchdogSec= SystemCallFilter=@system-service \
    RestrictAddressFamilies= LockPersonality=yes PrivateDevices=yes UMask=; do
	check "the unit sets $d" grep -q "^$d" "$unit"
done

# A notification socket: every datagram is one line, its newlines as "|".
cat > "$T/notify.py" <<'EOPY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", "|") + "\n")
EOPY
: > "$T/notify.log"
python3 "$T/notify.py" "$T/notify.sock" "$T/notify.log" &
NPID=$!
trap 'kill $NPID 2>/dev/null; cleanup' EXIT
wait_for [ -S "$T/notify.sock" ] || { notok "notify listener"; exit 1; }

write_config </dev/null
export NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=1000000
start_sopd || { notok "sopd starts"; exit 1; }
unset NOTIFY_SOCKET WATCHDOG_USEC

check "READY=1 is sent" wait_for grep -q "READY=1" "$T/notify.log"
check "readiness comes with a status of rules and incidents" \
    grep -Eq "READY=1.*STATUS=[0-9]+ rules, 0 active incidents" "$T/notify.log"
check "the main pid is announced" grep -q "MAINPID=$SOPD_PID" "$T/notify.log"
# After READY=1 every listener answers.
check "syslog TCP is bound when ready" bash -c "exec 3<>/dev/tcp/127.0.0.1/$P_SYSLOG"
check "the API is bound when ready" wait_for api /healthz

wd() { grep -c "^WATCHDOG=1" "$T/notify.log"; }
wd_over() { [ "$(wd)" -gt "$1" ]; }
check "the loop feeds the watchdog (every half interval)" wait_for wd_over 2

# Status counts follow the traffic.
logger -n 127.0.0.1 -P $P_SYSLOG -d --rfc3164 -t kernel -p kern.err \
    "Out of memory: Killed process 4242 (java) total-vm:8123456kB"
check "STATUS= counts the received message and the incident" \
    wait_for grep -Eq "STATUS=.*1 active incidents, 1 messages received" "$T/notify.log"

# SIGHUP: RELOADING=1 then READY=1 again.
n=$(wc -l < "$T/notify.log")
kill -HUP $SOPD_PID
check "SIGHUP sends RELOADING=1" wait_for grep -q "^RELOADING=1|MONOTONIC_USEC=" "$T/notify.log"
check "then READY=1 when the reload is done" \
    wait_for bash -c "tail -n +$((n + 1)) '$T/notify.log' | grep -A50 RELOADING | grep -q '^READY=1'"

# A stalled loop (SIGSTOP) misses the watchdog: systemd would kill it.
kill -STOP $SOPD_PID
sleep 0.3
before=$(wd)
sleep 2.5
after=$(wd)
check "a stalled loop sends no WATCHDOG=1 for longer than WatchdogSec" [ "$before" = "$after" ]
kill -CONT $SOPD_PID
check "the watchdog is fed again when the loop runs" wait_for wd_over "$after"

check "sopd stops cleanly" stop_sopd
check "SIGTERM sends STOPPING=1" grep -q "^STOPPING=1" "$T/notify.log"

# Without NOTIFY_SOCKET nothing is sent and sopd runs as before.
: > "$T/notify.log"
start_sopd || notok "sopd starts without NOTIFY_SOCKET"
check "sopd without systemd sends nothing" [ ! -s "$T/notify.log" ]
check "sopd stops cleanly" stop_sopd
