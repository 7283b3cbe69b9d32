#!/bin/bash
# clockjump.sh: the wall clock is set right while sopd runs (it was a day
# ahead at boot, or a year behind): an incident opened under the wrong clock
# escalates as long after its opening as the policy says, measured in real
# elapsed time, neither a day late nor at once; the jump is logged with the
# number of deadlines re-anchored.
#
# libfaketime reads its offset from a file on every call (FAKETIME_NO_CACHE),
# so the test moves sopd's wall clock while it runs; CLOCK_MONOTONIC and
# CLOCK_BOOTTIME stay real (FAKETIME_DONT_FAKE_MONOTONIC), as they do when
# an administrator or NTP sets the clock.  libfaketime and ASan do not start
# together: this runs build/sopd (see escalation.sh).
. "$(dirname "$0")/../lib.sh"

FTLIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -f "$FTLIB" ] || { notok "libfaketime is installed (Debian package faketime)"; exit 1; }
make -C "$ROOT" -s build/sopd >/dev/null 2>&1 || { notok "build/sopd builds"; exit 1; }
REAL_SOPD=${REAL_SOPD:-$ROOT/build/sopd}

FTRC=$T/faketimerc
cat > "$T/sopd-ft" <<EOF
#!/bin/sh
exec env -u FAKETIME -u FAKETIME_SHARED TZ=UTC LD_PRELOAD=$FTLIB \
    FAKETIME_TIMESTAMP_FILE=$FTRC FAKETIME_NO_CACHE=1 \
    FAKETIME_DONT_FAKE_MONOTONIC=1 DONT_FAKE_MONOTONIC=1 $REAL_SOPD "\$@"
EOF
chmod +x "$T/sopd-ft"
SOPD=$T/sopd-ft

# The right time is pinned (a Tuesday morning); the wrong one is an offset.
REAL=$(env -u LD_PRELOAD date +%s)
TRUE_OFF=$(( $(date -d "2026-11-24 10:00:00 UTC" +%s) - REAL ))
real_now() { echo $(( $(env -u LD_PRELOAD date +%s) + TRUE_OFF )); }
set_clock() { printf '%+d\n' "$1" > "$FTRC.tmp" && mv "$FTRC.tmp" "$FTRC"; }

cat > "$T/rules.yaml" <<'EOF'
rules:
  - name: t-crit
    match:
      message: 'TCRIT (?<what>\w+)'
    severity: critical
    key: "{host}:{what}"
EOF
RULES=$T/rules.yaml write_config </dev/null

send() {
	printf '<11>Nov 24 10:00:00 %s app: %s' "$1" "$2" \
	    > /dev/udp/127.0.0.1/"$P_SYSLOG"
}
inc() { api "/api/v1/incidents?rule=t-crit&host=$1&limit=1" | jq -r '.incidents[0].id'; }
has_inc() { [ "$(inc "$1")" != null ] && [ -n "$(inc "$1")" ]; }
# left ID: seconds from the right time now to the incident's next escalation.
left() {
	_n=$(api "/api/v1/incidents/$1" | jq -r '.next_escalation | fromdateiso8601') || return 1
	echo $(( _n - $(real_now) ))
}
jumped() { grep -q "clock jumped by $1 s; 1 deadlines re-anchored" "$T/sopd.log"; }
# jump_seen SECONDS: the log tells a jump of about SECONDS (+-5), 1 re-anchored.
jump_seen() {
	sed -n 's/.*clock jumped by \(-*[0-9]*\) s; 1 deadlines re-anchored.*/\1/p' \
	    "$T/sopd.log" | while read -r j; do
		[ $(( j - $1 )) -gt -5 ] && [ $(( j - $1 )) -lt 5 ] && echo yes
	done | grep -q yes
}

# case NAME WRONG_OFFSET HOST
run_case() {
	rm -rf "$T/var"; : > "$T/sopd.log"
	set_clock $(( TRUE_OFF + $2 ))
	start_sopd || { notok "$1: sopd starts under libfaketime"; return; }
	send "$3" "TCRIT db"
	wait_long 10 has_inc "$3" || { notok "$1: the incident opens"; stop_sopd; return; }
	I=$(inc "$3")
	check "$1: opened at L2, next step an hour after opening" \
	    api_jq "/api/v1/incidents/$I" '.level == "L2" and
	    ((.next_escalation | fromdateiso8601) - (.first_seen | fromdateiso8601)) == 3600'
	set_clock "$TRUE_OFF"
	check "$1: the jump is logged with the deadlines re-anchored" \
	    wait_long 15 jump_seen $(( - $2 ))
	sleep 1.5
	l=$(left "$I")
	check "$1: next escalation about an hour after the real opening (${l}s left)" \
	    in_hour "$l"
	check "$1: not escalated at once" api_jq "/api/v1/incidents/$I" \
	    '.level == "L2" and ([.history[] | select(.action == "escalate")] | length) == 0'
	check "$1: its impact reminder not given at once either" api_jq \
	    "/api/v1/incidents/$I" '[.history[] | select(.action == "remind")] | length == 0'
	check "$1: sopd stops cleanly" stop_sopd
}
in_hour() { [ -n "$1" ] && [ "$1" -gt 3000 ] && [ "$1" -le 3600 ]; }
api_jq() { api "$1" | jq -e "$2" >/dev/null; }

run_case "a day ahead, set right" 86400 ahead1
run_case "a year behind, set right" -31536000 behind1
