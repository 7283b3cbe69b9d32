#!/bin/bash
# pollprev.sh: the Monday performance report's "change against the previous
# week" covers the whole previous week, not only the part still held in
# 5-minute points (8 days). web-1 is a real snmpd whose values come from
# "override" directives (restarted with new ones between the days), polled
# every 5 minutes on a libfaketime clock (300x). The previous week: Monday
# 11:00 memory 20%, /var 30%; Thursday memory 40%, /var 40%; the next
# Monday 07:30 (inside the 8 days of the report's Monday) memory 80%, /var
# 50%. The report's Monday from 09:30 (120x): memory 60%, /var 60%. At
# 10:00 the report's memory and /var change must be against the average of
# the three days (their hourly rows), not against the last one alone (80%:
# -25%; /var 50%: +20%).
. "$(dirname "$0")/../lib.sh"

FT=$FAKETIME_LIB
[ -r "$FT" ] || { notok "libfaketime is installed (Debian package faketime)"; exit 0; }
command -v snmpd >/dev/null || { notok "snmpd is installed"; exit 1; }
command -v sqlite3 >/dev/null || { notok "sqlite3 is installed"; exit 1; }
export ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0"
export TZ=Asia/Tokyo

P_WEB=$((BASE + 5))
NOMOD=-smux,hrh_storage,hr_proc,ifTable,ifXTable,interface,memory,loadave
AGENT_PID=""
trap '[ -n "$AGENT_PID" ] && { kill $AGENT_PID; wait $AGENT_PID; } 2>/dev/null; cleanup' EXIT

# agent AVAIL_KB VAR_USED: (re)start web-1's snmpd with memory
# (1,000,000 - AVAIL_KB - 100,000) / 1,000,000 used and /var VAR_USED of 1000.
agent() {
	[ -n "$AGENT_PID" ] && { kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; }
	mkdir -p "$T/web1.state"
	cat > "$T/web1.conf" <<EOC
rocommunity public 127.0.0.1
engineID web1-prev
override .1.3.6.1.2.1.25.2.3.1.2.31 object_id .1.3.6.1.2.1.25.2.1.4
override .1.3.6.1.2.1.25.2.3.1.3.31 octet_str /var
override .1.3.6.1.2.1.25.2.3.1.4.31 integer 4096
override .1.3.6.1.2.1.25.2.3.1.5.31 integer 1000
override .1.3.6.1.2.1.25.2.3.1.6.31 integer $2
override .1.3.6.1.2.1.25.3.3.1.2.1 integer 20
override .1.3.6.1.4.1.2021.4.5.0 integer 1000000
override .1.3.6.1.4.1.2021.4.6.0 integer $1
override .1.3.6.1.4.1.2021.4.14.0 integer 50000
override .1.3.6.1.4.1.2021.4.15.0 integer 50000
EOC
	env -u LD_PRELOAD SNMP_PERSISTENT_DIR="$T/web1.state" snmpd -f -Lo -C \
	    -c "$T/web1.conf" -I "$NOMOD" "udp:127.0.0.1:$P_WEB" >> "$T/web1.log" 2>&1 &
	AGENT_PID=$!
	i=0
	while [ $i -lt 50 ]; do
		env -u LD_PRELOAD snmpget -v2c -c public -t 1 -r 0 \
		    127.0.0.1:$P_WEB .1.3.6.1.4.1.2021.4.6.0 2>/dev/null |
		    grep -q "INTEGER: $1\$" && return 0
		sleep 0.1; i=$((i + 1))
	done
	notok "snmpd for web-1 starts"; sed 's/^/# /' "$T/web1.log" | tail -5
	exit 1
}

write_config <<EOF
poll:
  interval: 5m
  timeout: 60s
  retries: 2
  hosts:
    - {name: web-1, address: "127.0.0.1:$P_WEB", community: public}
schedule:
  performance-report: { at: "10:00", days: mondays }
EOF
polls() { api /api/v1/hosts | jq -r '.hosts[] | select(.name == "web-1") | .polls'; }
# polled N: web-1 polled N times more than now (60 s at most).
polled() {
	_n=$(( $(polls) + $1 ))
	wait_long 60 sh -c "test \"\$(curl -sf $API/api/v1/hosts |
	    jq -r '.hosts[] | select(.name == \"web-1\") | .polls')\" -ge $_n"
}
# day DATE AVAIL VAR DESC: a stretch of polling at DATE, then sopd stops.
day() {
	agent "$2" "$3"
	start_sopd_at "$1" x300
	check "web-1 is polled on $4 (memory $(( (900000 - $2) / 10000 ))%, /var $(( $3 / 10 ))%)" polled 6
	stop_sopd || notok "sopd stops on $4"
}

day "2026-11-16 11:00:00" 700000 300 "Monday of the week before"
day "2026-11-19 12:00:00" 500000 400 "Thursday of the week before"
day "2026-11-23 07:30:00" 100000 500 "the last Monday morning before it"

# The report's Monday: 10:00 is 15 real seconds away.
agent 300000 600
start_sopd_at "2026-11-30 09:30:00" x120
HORIZON=$(epoch "2026-11-22 10:00:00") PREV0=$(epoch "2026-11-16 10:00:00") PREV1=$(epoch "2026-11-23 10:00:00")
check "web-1 is polled on the report's Monday (memory 60%, /var 60%)" polled 2
check "the 5-minute rows of the week before, older than 8 days, are pruned" \
    wait_long 20 test "$(db_ro "SELECT count(*) FROM metric_5m WHERE at < $HORIZON")" = 0
check "their hourly rows are kept (the three days)" test \
    "$(db_ro "SELECT count(DISTINCT at / 86400) FROM metric_1h WHERE host = 'web-1' AND metric = 'mem.used_pct' AND at >= $PREV0 AND at < $PREV1")" = 3
# (the run missed on the Monday before is made at the start, with its own id)
run_id() {
	api /api/v1/schedule | jq -er '[.runs[] | select(.job == "performance-report" and
	    .scheduled == "2026-11-30T01:00:00Z" and .outcome == "ok")][0].report_id | numbers'
}
check "the Monday 10:00 performance report is made" wait_long 60 run_id
ID=$(run_id)
FIG=$(api "/api/v1/reports/stored/$ID" | jq -c '.report.hosts[] | select(.host == "web-1") | .figures')
echo "# web-1: $FIG"
# The week before's average as its hourly rows give it.
prev_avg() {
	db_ro "SELECT avg(sum / n) FROM metric_1h WHERE host = 'web-1' AND metric = '$1' $2 AND at >= $PREV0 AND at < $PREV1"
}
MEM_PREV=$(prev_avg mem.used_pct)
VAR_PREV=$(prev_avg disk.used_pct "AND inst = '/var'")
echo "# the week before from its hourly rows: memory $MEM_PREV, /var $VAR_PREV"
fig() { jq -e --argjson p "$2" "$1" >/dev/null <<<"$FIG"; }
check "memory: 60% average this week" fig '.mem.avg | . > 59.9 and . < 60.1' 0
check "memory's change is against the whole week before (20, 40 and 80%: $MEM_PREV), not its last day (80%: -25%)" \
    fig '.mem.change_pct | . != null and . > -24 and (. - (60 - $p) / $p * 100 | fabs) < 0.01' "$MEM_PREV"
check "/var's change is against the whole week before (30, 40 and 50%: $VAR_PREV), not its last day (50%: +20%)" \
    fig '.disk.mount == "/var" and (.disk.change_pct | . != null and . > 21 and (. - (60 - $p) / $p * 100 | fabs) < 0.01)' "$VAR_PREV"
check "CPU (20% all along) did not change" fig '.cpu.avg == 20 and .cpu.change_pct == 0' 0
check "sopd stops cleanly" stop_sopd
