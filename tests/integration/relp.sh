#!/bin/bash
# relp.sh: a real rsyslog forwards over RELP (omrelp) into sopd; sopd killed
# with -9 in the middle of a numbered stream loses nothing (the sender resends
# what was not acknowledged: duplicates allowed, no gaps); oversize frames are
# cut and counted; sessions opened while many others stream are answered
# at once and all sessions get their share; sopd stops cleanly with rsyslog
# still connected.
. "$(dirname "$0")/../lib.sh"

P_RELP=$((BASE + 6))
P_RSIN=$((BASE + 7))
N=${RELP_N:-2000}
RS_PID=""

command -v rsyslogd >/dev/null && [ -f /usr/lib/x86_64-linux-gnu/rsyslog/omrelp.so ] ||
	{ notok "rsyslog and rsyslog-relp are installed (make deps)"; exit 1; }

mkdir -p "$T/rules" "$T/rs"
cat > "$T/rules/relp.yaml" <<'EOF'
rules:
  - name: relp-seq
    match:
      program: relptest
      message: 'seq (?<seq>[0-9]+)'
    severity: info
    key: "{seq}"
    title: "relp seq {seq}"
    flapping: off
  - name: relp-fair
    match:
      program: relpfair
    severity: info
    key: "{host}"
    title: "relp fairness {host}"
    flapping: off
  - name: relp-hello
    match:
      program: relphello
    severity: high
    key: "{host}"
    title: "hello over relp from {host}"
EOF
RULES=$T/rules write_config <<EOF2
incidents:
  max_open_per_rule: 100000
EOF2
sed -i "s/^syslog:\$/syslog:\n  relp: 127.0.0.1:$P_RELP\n  max_message_size: 2048/" "$T/sopd.yaml"

# rsyslog: plain TCP in on a private port, everything out over RELP to sopd.
cat > "$T/rsyslog.conf" <<EOF
global(workDirectory="$T/rs" maxMessageSize="64k")
module(load="imtcp")
module(load="omrelp")
input(type="imtcp" port="$P_RSIN" ruleset="fwd")
ruleset(name="fwd" queue.type="LinkedList" queue.size="200000") {
  action(type="omrelp" target="127.0.0.1" port="$P_RELP" timeout="5"
         conn.timeout="2" windowSize="1024" action.resumeRetryCount="-1"
         action.resumeInterval="1")
}
EOF
start_rsyslog() {
	rsyslogd -n -f "$T/rsyslog.conf" -i "$T/rs/rsyslogd.pid" \
	    >> "$T/rsyslog.log" 2>&1 &
	RS_PID=$!
	wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$P_RSIN"
}
stop_rsyslog() {
	[ -n "$RS_PID" ] && kill -TERM $RS_PID 2>/dev/null && wait $RS_PID 2>/dev/null
	RS_PID=""
}
trap 'stop_rsyslog; cleanup' EXIT

# send_lines FILE: hand the lines to rsyslog over TCP (LF framing).
send_lines() { cat "$1" > /dev/tcp/127.0.0.1/$P_RSIN; }
rstat() { api /api/v1/stats | jq -r ".inputs.relp.$1"; }
reason() { api /api/v1/stats | jq -r ".inputs.relp.reasons.$1"; }
# seqs: every distinct seq key of the relp-seq incidents, one a line.
seqs() {
	o=0
	while :; do
		page=$(api "/api/v1/incidents?rule=relp-seq&limit=1000&offset=$o") || return 1
		n=$(printf '%s' "$page" | jq '.incidents | length')
		printf '%s' "$page" | jq -r '.incidents[].key'
		[ "$n" -lt 1000 ] && return 0
		o=$((o + 1000))
	done
}
# have_range A B: every seq from A to B has its incident.
have_range() {
	[ "$(seqs | sort -un | awk -v a="$1" -v b="$2" '$1 >= a && $1 <= b' |
	    wc -l)" -eq $(($2 - $1 + 1)) ]
}
all_seen() { have_range 1 "$N"; }
# stream FILE FROM TO: numbered relptest lines.
stream() {
	seq "$2" "$3" | sed 's/^/<14>Nov 27 10:00:00 relp-h2 relptest: seq /' > "$1"
}
# wait_long SECS CMD...: retry CMD for up to SECS seconds.
wait_long() {
	s=$1; shift; i=0
	while [ $i -lt $((s * 10)) ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

start_sopd || { notok "sopd starts with a RELP input"; exit 1; }
ok "sopd starts with a RELP input"
start_rsyslog || { notok "rsyslog starts"; exit 1; }

# One message: rsyslog -> RELP -> an incident.
echo "<10>Nov 27 10:00:00 relp-h1 relphello: hello" > "$T/one"
send_lines "$T/one"
hello() {
	api "/api/v1/incidents?rule=relp-hello" |
	    jq -e '.incidents[0].host == "relp-h1" and .incidents[0].severity == "high"'
}
check "a message forwarded by rsyslog's omrelp opens an incident" wait_long 15 hello
check "the RELP input counts it (received, accepted, bytes)" \
	test "$(rstat received)" -ge 1 -a "$(rstat accepted)" -ge 1 -a "$(rstat bytes)" -gt 0
has_session() { [ "$(rstat sessions)" -ge 1 ] 2>/dev/null; }
check "rsyslog's RELP session is counted (inputs.relp.sessions)" wait_long 5 has_session
check "and shown in /metrics" wait_long 5 sh -c \
	"curl -sf $API/metrics | grep -q '^sopd_input_sessions{input=\"relp\"} [1-9]'"

# The same messages sent again in a new session (a resend) are counted.
resend() {
	python3 "$ROOT/tests/relpclient.py" --port $P_RELP --first 900 \
	    --program relpdup --count 5 --duration 10 --grace 10 >/dev/null
}
resend && resend
check "messages received again from the same sender are counted (resent)" \
	test "$(reason resent)" -ge 5 2>/dev/null

# A resend across a restart: 5 messages committed, sopd restarted, then the
# same 5 (the sender never got their acks) and a new one: stored once each.
once() {
	python3 "$ROOT/tests/relpclient.py" --port $P_RELP --first 4001 \
	    --program relpfair --count "$1" --duration 10 --grace 10 >/dev/null
}
count4001() {
	api "/api/v1/incidents?rule=relp-fair&limit=1000" |
	    jq -r '[.incidents[] | select(.host == "relp-c4001") | .count] | add // 0'
}
once 5
check "5 messages are stored (count 5)" test "$(count4001)" -eq 5
stop_sopd && start_sopd || { notok "sopd restarts"; exit 1; }
once 6
check "sent again after a restart, they are not stored twice (count 6, not 11)" \
	test "$(count4001)" -eq 6
check "and are counted as resent" test "$(reason resent)" -ge 5

# Fairness: FAIR_N sessions stream as fast as acknowledged (each message
# changes an incident: one commit each), FAIR_LATE more open meanwhile.
FAIR_N=${RELP_FAIR_N:-24}
FAIR_LATE=${RELP_FAIR_LATE:-6}
fair() {
	python3 "$ROOT/tests/relpclient.py" --port $P_RELP --program relpfair \
	    --window 256 --pad 100 --grace 60 --drain-timeout 60 --open-timeout 30 "$@"
}
fair --clients $FAIR_N --first 2001 --duration 12 > "$T/fair.json" &
FAIR=$!
sleep 4
fair --clients $FAIR_LATE --first 3001 --duration 6 > "$T/late.json"
wait $FAIR
echo "# $FAIR_N streaming: $(cat "$T/fair.json")"
echo "# $FAIR_LATE opened meanwhile: $(cat "$T/late.json")"
fj() { jq -r "$2" "$T/$1.json"; }
check "every session opened while $FAIR_N stream is answered within 3 s" \
	awk -v u="$(fj late .first_open_unanswered)" -v m="$(fj late .first_open_max_s)" \
	'BEGIN { exit !(u == 0 && m != "null" && m <= 3) }'
check "the streaming sessions' rates are within 2x of each other" \
	awk -v a="$(fj fair .rate_per_session_min)" -v b="$(fj fair .rate_per_session_max)" \
	'BEGIN { exit !(a > 0 && b <= 2 * a) }'

# Oversize: librelp cuts the frame, the parser counts it as truncated.
{ printf '<13>Nov 27 10:00:00 relp-h1 relplong: '; head -c 5000 /dev/zero | tr '\0' x; echo; } > "$T/long"
send_lines "$T/long"
positive() { [ "$(reason truncated)" -gt 0 ] 2>/dev/null; }
check "a message over max_message_size is cut and counted (truncated)" wait_long 10 positive

# A numbered stream; sopd is killed with -9 while it arrives.
stream "$T/stream" 1 "$N"
split -l 100 "$T/stream" "$T/chunk."
( for c in "$T"/chunk.*; do send_lines "$c"; sleep 0.1; done ) &
SENDER=$!
some() { [ "$(rstat received)" -ge $((N / 5)) ] 2>/dev/null; }
wait_long 30 some
got=$(rstat received)
kill9_sopd
sleep 0.5
start_sopd || { notok "sopd restarts after kill -9"; exit 1; }
ok "sopd killed with -9 after $got RELP messages, and restarted"
wait $SENDER
check "every one of $N numbered messages arrives: no gaps" wait_long 120 all_seen
total=$(seqs | wc -l)
counts() {
	o=0; s=0
	while [ $o -lt "$N" ]; do
		c=$(api "/api/v1/incidents?rule=relp-seq&limit=1000&offset=$o" |
		    jq '[.incidents[].count] | add // 0')
		s=$((s + c)); o=$((o + 1000))
	done
	echo $s
}
dups=$(( $(counts) - N ))
echo "# $total incidents for $N sequence numbers; $dups duplicates resent after the crash"
check "one incident per sequence number" test "$total" -eq "$N"

# Rate: rsyslog as the sender, messages no rule takes.
R=${RELP_RATE_N:-20000}
seq 1 "$R" | sed 's/^/<14>Nov 27 10:00:00 relp-h3 relprate: message /' > "$T/rate"
before=$(rstat received)
t0=$(date +%s.%N)
send_lines "$T/rate"
arrived() { [ "$(rstat received)" -ge $((before + R)) ]; }
wait_long 120 arrived
t1=$(date +%s.%N)
awk -v r="$R" -v a="$t0" -v b="$t1" 'BEGIN { printf "# RELP rate: %d messages in %.2f s: %.0f messages/s (rsyslog omrelp, acked after processing)\n", r, b - a, r / (b - a) }'
check "a burst of $R messages arrives over RELP" arrived

# The same with one new incident (one commit) per message, and a SIGTERM
# in the middle: what was received before the stop is committed, then acked.
B=${RELP_BURST_N:-5000}
stream "$T/burst" 100001 $((100000 + B))
before=$(rstat received)
t0=$(date +%s.%N)
send_lines "$T/burst" &
SENDER=$!
half() { [ "$(rstat received)" -ge $((before + B / 2)) ] 2>/dev/null; }
wait_long 60 half
t1=$(date +%s.%N)
got=$(( $(rstat received) - before ))
awk -v r="$got" -v a="$t0" -v b="$t1" 'BEGIN { printf "# RELP rate, one incident opened and committed per message: %.0f messages/s\n", r / (b - a) }'
check "sopd stops cleanly (SIGTERM) in the middle of a RELP burst" stop_sopd
start_sopd || { notok "sopd restarts after the burst"; exit 1; }
wait $SENDER
# rsyslog retries a suspended omrelp action only for a new message: when
# the whole burst had left its queue (in omrelp's window) at the stop, it
# waits for one before it resends the unacknowledged.
echo "<14>Nov 27 10:00:00 relp-h9 relpnudge: resume" > "$T/nudge"
send_lines "$T/nudge"
check "every message of the interrupted burst arrives: no gaps" \
	wait_long 120 have_range 100001 $((100000 + B))
check "sopd is still alive" alive

# A client that opens a session, then goes away in the middle of a frame:
# librelp reports the broken session, which is counted (session_error) and
# logged; nothing was acknowledged, so nothing is lost.
errs=$(reason session_error)
python3 - "$P_RELP" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
offer = b"relp_version=0\nrelp_software=sopd-test\ncommands=syslog"
s.sendall(b"1 open %d %s\n" % (len(offer), offer))
s.recv(4096)
s.sendall(b"2 syslog 60 <14>Nov 27 10:00:00 relp-h10 cut")
s.close()
PY
more_errors() { [ "$(reason session_error)" -gt "${errs:-0}" ] 2>/dev/null; }
check "a session broken in the middle of a frame is counted (reasons.session_error)" \
	wait_long 10 more_errors
check "and logged with librelp's words" grep -q 'session broken' "$T/sopd.log"
check "sopd is still alive" alive
check "sopd stops cleanly (SIGTERM) with rsyslog connected" stop_sopd
stop_rsyslog
