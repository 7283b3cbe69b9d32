#!/bin/bash
# pollweek.sh: a week of polling real snmpd agents on a libfaketime clock.
# web-1 and db-1 are snmpd instances whose values come from "override"
# directives (the agent is restarted with new ones between the days).
# Sunday of the week before (300x): memory at 40%, /var at 60%.  Wednesday
# (300x): memory at 60%, /var at 70%; sopd is killed and started again in
# the afternoon, /var at 75%: no stored sample is lost.  Monday from 08:50
# (120x): /var at 85%; the 09:00 server check and the 10:00 performance
# report reach an exec hook and a webhook on time with the polled figures
# (memory and its change against the previous week, /var full within 30
# days); db-1 answers, then stops answering: an unreachable incident.
. "$(dirname "$0")/../lib.sh"

FT=$FAKETIME_LIB
[ -r "$FT" ] || { notok "libfaketime is installed (Debian package faketime)"; exit 0; }
command -v snmpd >/dev/null || { notok "snmpd is installed"; exit 1; }
command -v python3 >/dev/null 2>&1 || { notok "python3 is installed"; exit 0; }
export ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0"
export TZ=Asia/Tokyo

P_WEB=$((BASE + 5)) P_DB=$((BASE + 6)) P_HOOK=$P_SPARE
NOMOD=-smux,hrh_storage,hr_proc,ifTable,ifXTable,interface,memory,loadave
AGENT_PIDS="" HELPER=""
trap 'for p in $AGENT_PIDS $HELPER; do kill $p 2>/dev/null; done; cleanup' EXIT

# agent NAME PORT AVAIL_KB VAR_USED: (re)start snmpd for NAME on PORT with
# memory (total - AVAIL_KB - 100000) / total used and /var VAR_USED of 1000.
agent() {
	eval "_p=\$PID_$1"
	[ -n "$_p" ] && { kill "$_p"; wait "$_p" 2>/dev/null; }
	mkdir -p "$T/$1.state"
	cat > "$T/$1.conf" <<EOC
rocommunity public 127.0.0.1
engineID $1-week
override .1.3.6.1.2.1.25.2.3.1.2.31 object_id .1.3.6.1.2.1.25.2.1.4
override .1.3.6.1.2.1.25.2.3.1.3.31 octet_str /var
override .1.3.6.1.2.1.25.2.3.1.4.31 integer 4096
override .1.3.6.1.2.1.25.2.3.1.5.31 integer 1000
override .1.3.6.1.2.1.25.2.3.1.6.31 integer $4
override .1.3.6.1.2.1.25.3.3.1.2.1 integer 20
override .1.3.6.1.4.1.2021.4.5.0 integer 1000000
override .1.3.6.1.4.1.2021.4.6.0 integer $3
override .1.3.6.1.4.1.2021.4.14.0 integer 50000
override .1.3.6.1.4.1.2021.4.15.0 integer 50000
override .1.3.6.1.4.1.2021.10.1.3.1 octet_str 1.50
override .1.3.6.1.4.1.2021.10.1.3.2 octet_str 1.00
override .1.3.6.1.4.1.2021.10.1.3.3 octet_str 0.50
EOC
	env -u LD_PRELOAD SNMP_PERSISTENT_DIR="$T/$1.state" snmpd -f -Lo -C \
	    -c "$T/$1.conf" -I "$NOMOD" "udp:127.0.0.1:$2" >> "$T/$1.log" 2>&1 &
	eval "PID_$1=$!"
	AGENT_PIDS="$AGENT_PIDS $!"
	i=0
	while [ $i -lt 50 ]; do
		env -u LD_PRELOAD snmpget -v2c -c public -t 1 -r 0 \
		    127.0.0.1:$2 .1.3.6.1.4.1.2021.4.6.0 2>/dev/null |
		    grep -q "INTEGER: $3\$" && return 0
		sleep 0.1; i=$((i + 1))
	done
	notok "snmpd for $1 starts"; sed 's/^/# /' "$T/$1.log" | tail -5
	exit 1
}

start_webhook "$P_HOOK" "$T/web.jsonl"
HELPER=$HOOK_PID
mkdir -p "$T/mail"
cat > "$T/mail.sh" <<EOF
#!/bin/sh
{ echo "Subject: \$SOPD_SUBJECT"; echo; cat; } > "$T/mail/\$SOPD_IDEMPOTENCY_KEY"
EOF
chmod +x "$T/mail.sh"

# Its own zone, calendar and windows (write_config), every 5 minutes.
write_config <<EOF
poll:
  interval: 5m
  timeout: 60s
  retries: 2
  hosts:
    - {name: web-1, address: "127.0.0.1:$P_WEB", community: public}
    - {name: db-1, address: "127.0.0.1:$P_DB", community: public}
notify:
  targets:
    mail: { type: exec, command: $T/mail.sh, timeout: 10s }
    web:  { type: webhook, url: "http://127.0.0.1:$P_HOOK/report", timeout: 5s }
  levels:
    client: [mail, web]
schedule:
  server-check:       { at: "09:00", days: daily, notify: client }
  performance-report: { at: "10:00", days: mondays, notify: client }
EOF
DB=$T/var/sopd.db
polls() { api /api/v1/hosts | jq -r --arg h "$1" '.hosts[] | select(.name == $h) | .polls'; }
# polled HOST N: HOST polled N times more than now (60 s at most).
polled() {
	_n=$(( $(polls "$1") + $2 ))
	wait_long 60 sh -c "test \"\$(curl -sf $API/api/v1/hosts |
	    jq -r '.hosts[] | select(.name == \"$1\") | .polls')\" -ge $_n"
}
stored() { db_ro "SELECT count(*) FROM metric_5m WHERE host = '$1' AND metric = '$2' AND at >= $3 AND at < $4"; }

# Sunday of the week before: memory 40%, /var 60%.
agent web1 $P_WEB 500000 600
agent db1 $P_DB 800000 300
start_sopd_at "2026-11-22 12:00:00" x300
check "web-1 is polled on Sunday of the week before" polled web-1 6
check "its memory is 40% (UCD figures)" sh -c \
    "curl -sf $API/api/v1/hosts | jq -e '.hosts[] | select(.name == \"web-1\") | .latest[\"mem.used_pct\"] == 40' >/dev/null"
stop_sopd || notok "sopd stops on Sunday"

# Wednesday: memory 60%, /var 70%; killed after its samples are stored.
agent web1 $P_WEB 300000 700
start_sopd_at "2026-11-25 12:00:00" x300
check "web-1 is polled on Wednesday" polled web-1 6
WED0=$(epoch "2026-11-25 12:00:00") WED1=$(epoch "2026-11-25 14:00:00")
wait_long 10 sh -c "test \"\$(sqlite3 'file:$DB?mode=ro' \"SELECT count(*) FROM metric_5m WHERE host = 'web-1' AND metric = 'disk.used_pct' AND at >= $WED0\")\" -ge 4"
N1=$(stored web-1 disk.used_pct "$WED0" "$WED1")
N1H=$(db_ro "SELECT sum(n) FROM metric_1h WHERE host = 'web-1' AND metric = 'mem.used_pct'")
kill9_sopd
agent web1 $P_WEB 300000 750
start_sopd_at "2026-11-25 14:00:00" x300
check "after sopd is killed on Wednesday the samples stored are all there ($N1)" \
    test "$N1" -ge 4 -a "$(stored web-1 disk.used_pct "$WED0" "$WED1")" -ge "$N1"
check "and their hourly rollups ($N1H samples)" \
    test "$(db_ro "SELECT sum(n) FROM metric_1h WHERE host = 'web-1' AND metric = 'mem.used_pct'")" -ge "$N1H"
check "web-1 is polled again on Wednesday afternoon" polled web-1 4
check "the Wednesday samples read back through the API (/var at 70)" sh -c \
    "curl -sf '$API/api/v1/hosts/web-1/metrics?metric=disk.used_pct&inst=/var&from=$WED0&to=$WED1' |
    jq -e '.points | length >= $N1 and all(.[]; .max == 70)' >/dev/null"
stop_sopd || notok "sopd stops on Wednesday"

# Monday 08:50 (120x): 09:00 is 5 real seconds away, 10:00 35.
agent web1 $P_WEB 300000 850
start_sopd_at "2026-11-30 08:50:00" x120
check "db-1 answers on Monday morning" polled db-1 1
MAIL_CHECK="$T/mail/report-server-check-1795996800"
wait_file() {
	i=0
	while [ $i -lt ${3:-300} ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
check "the 09:00 server check reaches the exec hook on time" \
    wait_file "$MAIL_CHECK" "^Subject: sopd server check 2026-11-30 09:00 JST"
web_has() { [ -f "$T/web.jsonl" ] && jq -se "$1" "$T/web.jsonl" >/dev/null; }
# (the runs missed on Sunday and Wednesday mornings were delivered too)
SC='[.[] | select(.idempotency_key == "report-server-check-1795996800")][0].report.hosts | map(select(.host == "web-1"))[0]'
check "the webhook's server check has web-1 reachable, CPU 20%, memory 60%, /var 85%" \
    wait_for web_has "$SC | .reachable == true and .metrics.cpu_pct == 20 and
    .metrics.mem_pct == 60 and (.metrics.disks[] | select(.mount == \"/var\") | .used_pct) == 85"
check "the mailed text has web-1's memory and /var" sh -c \
    "grep 'host: web-1' $MAIL_CHECK | grep '\"mem_pct\":60' | grep -q '\"mount\":\"/var\",\"used_pct\":85'"
check "the run is recorded at most 5 minutes after 09:00" sh -c \
    "curl -sf $API/api/v1/schedule | jq -e '[.runs[] | select(.job == \"server-check\")][0] |
    .scheduled == \"2026-11-30T00:00:00Z\" and .outcome == \"ok\" and
    ((.ran_at | fromdateiso8601) - (.scheduled | fromdateiso8601)) < 300' >/dev/null"

# db-1 stops answering: 3 polls missed, the unreachable incident.
kill "$PID_db1"; wait "$PID_db1" 2>/dev/null
unreachable() {
	active | jq -e '[.incidents[] | select(.rule == "host-unreachable" and .host == "db-1")] | length == 1' >/dev/null
}
check "db-1 stops answering: an unreachable incident opens" wait_long 40 unreachable
check "web-1 opens none" sh -c \
    "curl -sf '$API/api/v1/incidents?state=active' | jq -e '[.incidents[] | select(.rule == \"host-unreachable\" and .host == \"web-1\")] | length == 0' >/dev/null"

MAIL_PERF="$T/mail/report-performance-report-1796000400"
check "the Monday 10:00 performance report reaches the exec hook on time" \
    wait_file "$MAIL_PERF" "^Subject: sopd performance report 2026-11-30 10:00 JST" 600
PR='[.[] | select(.idempotency_key == "report-performance-report-1796000400")][0].report.hosts | map(select(.host == "web-1"))[0].figures'
check "the webhook gets it with web-1's memory: 60% average, +50% on the week before" \
    wait_for web_has "$PR | (.mem.avg | . > 59.9 and . < 60.1) and (.mem.change_pct | . > 49 and . < 51)"
check "its CPU: 20% average and maximum, no sustained high load" \
    web_has "$PR | .cpu.avg == 20 and .cpu.max == 20 and .sustained_high_load == false"
check "/var (70% Wednesday, 85% Monday) is full within 30 days" \
    web_has "$PR | .disk.mount == \"/var\" and .disk.max == 85 and
    ([.disks_full_in_30d[] | select(.mount == \"/var\") | .days] | length == 1 and .[0] > 0 and .[0] < 30)"
check "db-1 (/var at 30%, flat) is not" \
    web_has '[.[] | select(.idempotency_key == "report-performance-report-1796000400")][0].report.hosts | map(select(.host == "db-1"))[0].figures.disks_full_in_30d == []'
check "the mailed text has web-1's memory change and /var full soon" sh -c \
    "grep 'host: web-1' $MAIL_PERF | grep '\"mem\":{[^}]*\"change_pct\":50' |
    grep -q '\"disks_full_in_30d\":\[{\"mount\":\"/var\"'"
check "the performance run is recorded at most 5 minutes after 10:00" sh -c \
    "curl -sf $API/api/v1/schedule | jq -e '[.runs[] | select(.job == \"performance-report\")][0] |
    .scheduled == \"2026-11-30T01:00:00Z\" and .outcome == \"ok\" and
    ((.ran_at | fromdateiso8601) - (.scheduled | fromdateiso8601)) < 300' >/dev/null"
check "sopd stops cleanly" stop_sopd
