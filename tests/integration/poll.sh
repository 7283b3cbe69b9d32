#!/bin/bash
# poll.sh: sopd polls real snmpd agents (v2c and v3), each posing as a host
# through "pass_persist" (values the test rewrites) and "override": a file system
# filling and emptying, a CPU pinned, an interface down, a 64-bit counter
# wrapping, a reboot, a host that never answers; thresholds open and clear
# incidents; a restart keeps every stored sample.
. "$(dirname "$0")/../lib.sh"

command -v snmpd >/dev/null || { notok "snmpd is installed"; exit 1; }
P_A=$((BASE + 5)) P_B=$((BASE + 6)) P_DEAD=$((BASE + 7))
# One python per table for the agent's life (pass_persist), not one per
# value (pass): under load, spawning one per value made a walk outlast the
# 1 s timeout, so polls were missed for seconds on end (a rate over the
# gap, a "for" rule whose samples stopped).
PASS="/usr/bin/python3 $ROOT/tests/agents/snmppass.py"
# The agent's own tables for these subtrees are left out: pass_persist serves them.
NOMOD=-smux,hrh_storage,hr_proc,ifTable,ifXTable,interface,memory,loadave
AGENT_PIDS=""

# agent NAME PORT: start snmpd for NAME on PORT with $T/NAME.conf.
agent() {
	mkdir -p "$T/$1.state"
	env -u LD_PRELOAD SNMP_PERSISTENT_DIR="$T/$1.state" snmpd -f -Lo -C \
	    -c "$T/$1.conf" -I "$NOMOD" -p "$T/$1.pid" "udp:127.0.0.1:$2" \
	    >> "$T/$1.log" 2>&1 &
	eval "PID_$1=$!"
	AGENT_PIDS="$AGENT_PIDS $!"
	i=0
	while [ $i -lt 50 ]; do
		snmpget -v2c -c public -t 1 -r 0 127.0.0.1:$2 .1.3.6.1.2.1.1.3.0 \
		    >/dev/null 2>&1 && return 0
		env -u LD_PRELOAD snmpget -v3 -l authPriv -u mon -a SHA \
		    -A monitor-auth -x AES -X monitor-priv -t 1 -r 0 \
		    127.0.0.1:$2 .1.3.6.1.2.1.1.3.0 >/dev/null 2>&1 && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
stop_agent() { eval "kill \$PID_$1; wait \$PID_$1" 2>/dev/null; }
agents_cleanup() {
	for p in $AGENT_PIDS; do kill $p 2>/dev/null; wait $p 2>/dev/null; done
	cleanup
}
trap agents_cleanup EXIT

# web-1 (v2c): /var at 91%, one interface whose 64-bit counter is about to
# wrap; UCD memory (2,000,000 kB, 900,000 available, 100,000 buffers,
# 200,000 cached: 40% used) and load averages from overrides.
cat > "$T/web1.data" <<EOD
.1.3.6.1.2.1.25.2.3.1.2.31 objectid .1.3.6.1.2.1.25.2.1.4
.1.3.6.1.2.1.25.2.3.1.3.31 string /var
.1.3.6.1.2.1.25.2.3.1.4.31 integer 4096
.1.3.6.1.2.1.25.2.3.1.5.31 integer 1000
.1.3.6.1.2.1.25.2.3.1.6.31 integer 910
.1.3.6.1.2.1.25.3.3.1.2.1 integer 12
.1.3.6.1.2.1.2.2.1.2.2 string eth0
.1.3.6.1.2.1.2.2.1.7.2 integer 1
.1.3.6.1.2.1.2.2.1.8.2 integer 1
.1.3.6.1.2.1.2.2.1.13.2 counter 0
.1.3.6.1.2.1.2.2.1.14.2 counter 0
.1.3.6.1.2.1.2.2.1.19.2 counter 0
.1.3.6.1.2.1.2.2.1.20.2 counter 0
.1.3.6.1.2.1.31.1.1.1.1.2 string eth0
.1.3.6.1.2.1.31.1.1.1.6.2 counter64 18446744073709551000
.1.3.6.1.2.1.31.1.1.1.10.2 counter64 5000
EOD
cat > "$T/web1.conf" <<EOC
rocommunity public 127.0.0.1
engineID web1-test
pass_persist .1.3.6.1.2.1.25.2.3 $PASS $T/web1.data
pass_persist .1.3.6.1.2.1.25.3.3 $PASS $T/web1.data
pass_persist .1.3.6.1.2.1.2.2 $PASS $T/web1.data
pass_persist .1.3.6.1.2.1.31.1.1 $PASS $T/web1.data
override .1.3.6.1.4.1.2021.4.5.0 integer 2000000
override .1.3.6.1.4.1.2021.4.6.0 integer 900000
override .1.3.6.1.4.1.2021.4.14.0 integer 100000
override .1.3.6.1.4.1.2021.4.15.0 integer 200000
override .1.3.6.1.4.1.2021.10.1.3.1 octet_str 0.75
override .1.3.6.1.4.1.2021.10.1.3.2 octet_str 0.50
override .1.3.6.1.4.1.2021.10.1.3.3 octet_str 0.25
EOC
# db-1 (v3 authPriv only): CPU pinned at 97% (override), eth1 down.
cat > "$T/db1.data" <<EOD
.1.3.6.1.2.1.2.2.1.2.3 string eth1
.1.3.6.1.2.1.2.2.1.7.3 integer 1
.1.3.6.1.2.1.2.2.1.8.3 integer 2
EOD
cat > "$T/db1.conf" <<EOC
engineID db1-test
createUser mon SHA "monitor-auth" AES "monitor-priv"
rouser mon priv
override .1.3.6.1.2.1.25.3.3.1.2.1 integer 97
pass_persist .1.3.6.1.2.1.2.2 $PASS $T/db1.data
EOC
agent web1 $P_A || { notok "snmpd for web-1 starts"; sed 's/^/# /' "$T/web1.log" | tail; exit 1; }
agent db1 $P_B || { notok "snmpd for db-1 starts"; sed 's/^/# /' "$T/db1.log" | tail; exit 1; }

pin_clock "2026-03-02 10:00:00 +0900"
mkdir -p "$T/rules"
cat > "$T/rules/cpu.yaml" <<EOR
rules:
  - name: cpu-test
    metric: cpu.load_pct >= 90 for 3s
    clear: "< 50"
    severity: medium
    title: "CPU {value}% on {host}"
EOR
RULES="$ROOT/rules, $T/rules" write_config <<EOC
poll:
  interval: 1s
  timeout: 1s
  retries: 0
  groups:
    secure:
      user: {name: mon, auth: SHA, auth_pass: monitor-auth, priv: AES, priv_pass: monitor-priv}
  hosts:
    - {name: web-1, address: "127.0.0.1:$P_A", community: public}
    - {name: db-1, address: "127.0.0.1:$P_B", group: secure}
    - {name: gone-1, address: "127.0.0.1:$P_DEAD", community: public}
EOC
start_sopd || { notok "sopd starts"; exit 1; }

# wait_long DESC CMD...: retry CMD for up to 20 s (polls run every second).
wait_long() {
	i=0
	while [ $i -lt 200 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
active() { api "/api/v1/incidents?state=active&limit=1000"; }
has_inc() { active | jq -e --arg r "$1" --arg k "$2" \
    '[.incidents[] | select(.rule == $r and .key == $k)] | length == 1' >/dev/null; }
no_inc() { active | jq -e --arg r "$1" --arg k "$2" \
    '[.incidents[] | select(.rule == $r and .key == $k)] | length == 0' >/dev/null; }
host() { api /api/v1/hosts | jq -e --arg h "$1" ".hosts[] | select(.name == \$h) | $2" >/dev/null; }

check "web-1 (v2c) answers: /var at 91%" wait_long host web-1 '.latest["disk.used_pct"]["/var"] == 91'
check "db-1 (v3 authPriv) answers: CPU 97% from the override" wait_long host db-1 '.latest["cpu.load_pct"] == 97'
check "a full file system (91%) opens fs-used-high" wait_long has_inc fs-used-high "fs-used-high:web-1:/var"
check "91% is under the critical threshold" no_inc fs-used-critical "fs-used-critical:web-1:/var"
check "an interface down (admin up) opens interface-down" wait_long has_inc interface-down "interface-down:db-1:eth1"
check "a host that never answers opens host-unreachable" wait_long has_inc host-unreachable "host-unreachable:gone-1"
check "gone-1 is shown unreachable with its misses" host gone-1 '.reachable == false and .misses >= 3'
out=$("$SOPCTL" -u "$API" hosts)
echo "$out" | sed 's/^/# /'
check "sopctl hosts: gone-1 unreachable" grep -Eq '^gone-1 .* unreachable' <<<"$out"
check "sopctl hosts: web-1 up (v2c), max disk 91.0" grep -Eq '^web-1 .* 2c +up .* 91\.0$' <<<"$out"
check "sopctl hosts: db-1 over v3, CPU 97.0" grep -Eq '^db-1 .* 3 +up +97\.0 ' <<<"$out"
# (when it does not, what db-1's polls did is shown)
cpu_opens() {
	wait_long has_inc cpu-test "cpu-test:db-1" && return 0
	api /api/v1/hosts | jq -c '.hosts[] | select(.name == "db-1")' | sed 's/^/# /'
	active | jq -c '.incidents[] | select(.host == "db-1") | {rule, key, state}' | sed 's/^/# /'
	return 1
}
check "a CPU pinned for 3 s opens cpu-test (for 3s)" cpu_opens
check "web-1's idle CPU opens nothing" no_inc cpu-test "cpu-test:web-1"
check "web-1's UCD memory: (total - avail - buffers - cached) / total = 40%" \
    host web-1 '.latest["mem.used_pct"] == 40'
check "web-1's UCD load averages 0.75, 0.5, 0.25" \
    host web-1 '.latest["load.1"] == 0.75 and .latest["load.5"] == 0.5 and .latest["load.15"] == 0.25'

# The SOP's 09:00 server check and Monday performance report carry the
# polled figures: run each on demand and read its stored report.
run_job() {
	curl -sf -X POST -H 'Content-Type: application/json' -d '{}' \
	    "$API/api/v1/schedule/$1/run" >/dev/null &&
	    api "/api/v1/reports/stored?job=$1" | jq -r '[.reports[].id] | max'
}
stored() { api "/api/v1/reports/stored/$ID" | jq -e "$1" >/dev/null; }
# A rate needs two polls: wait for web-1's first one.
wait_long host web-1 '.latest["if.in_bps"].eth0 != null'
ID=$(run_job server-check)
api "/api/v1/reports/stored/$ID" | jq -c '.report.hosts[] | {host, reachable, metrics}' | sed 's/^/# /'
check "the server check has the polled figures" stored '.report.metrics_available == true'
check "server check: db-1 reachable, CPU 97% as polled" stored \
    '.report.hosts[] | select(.host == "db-1") | .reachable == true and .metrics.cpu_pct == 97'
check "server check: web-1's /var 91% used, CPU 12%" stored \
    '.report.hosts[] | select(.host == "web-1") | .metrics.disks == [{"mount": "/var", "used_pct": 91}] and .metrics.cpu_pct == 12'
check "server check: gone-1 unreachable, no figures" stored \
    '.report.hosts[] | select(.host == "gone-1") | .reachable == false and .metrics.cpu_pct == null'
ID=$(run_job performance-report)
api "/api/v1/reports/stored/$ID" | jq -c '.report.hosts[]' | sed 's/^/# /'
check "performance report: db-1's CPU avg, p95 and max are 97" stored \
    '.report.hosts[] | select(.host == "db-1") | .figures.cpu | .avg == 97 and .p95 == 97 and .max == 97'
check "performance report: web-1's fullest disk is /var, max 91%" stored \
    '.report.hosts[] | select(.host == "web-1") | .figures.disk | .mount == "/var" and .max == 91 and .p95 == 91'
check "performance report: web-1's traffic has avg/p95/max" stored \
    '.report.hosts[] | select(.host == "web-1") | .figures.traffic | (.avg | type) == "number" and (.p95 | type) == "number" and (.max | type) == "number"'
check "performance report: no figures for gone-1" stored \
    '.report.hosts[] | select(.host == "gone-1") | .figures.cpu == null and .figures.disk == null'

# The 64-bit counter wraps (1000 - 18446744073709551000 = 1616 octets).
sed -i 's/counter64 18446744073709551000/counter64 1000/' "$T/web1.data"
rate_ok() { api "/api/v1/hosts/web-1/metrics?metric=if.in_bps&inst=eth0" |
    jq -e '[.points[].max] | max > 0 and max < 100000' >/dev/null; }
check "a wrapped 64-bit counter is a small rate, not a huge one" wait_long rate_ok

# 1,000 errors (600 in, 400 out) and 500 discards (300 in, 200 out) between
# two polls a second apart: rates per second, not counts; then none more.
sed -i -e 's/\.13\.2 counter 0/.13.2 counter 300/' -e 's/\.14\.2 counter 0/.14.2 counter 600/' \
    -e 's/\.19\.2 counter 0/.19.2 counter 200/' -e 's/\.20\.2 counter 0/.20.2 counter 400/' "$T/web1.data"
err_rates() { host web-1 '.latest["if.errors_ps"].eth0 > 0 and .latest["if.discards_ps"].eth0 > 0'; }
check "interface errors and discards give rates" wait_long err_rates
api /api/v1/hosts | jq -c '.hosts[] | select(.name == "web-1") | .latest | {"if.errors_ps", "if.discards_ps"}' | sed 's/^/# /'
check "errors per second: 1,000 over the time between two polls (100-5,000)" \
    host web-1 '.latest["if.errors_ps"].eth0 | . >= 100 and . <= 5000'
check "discards per second: 500 over it (50-2,500)" \
    host web-1 '.latest["if.discards_ps"].eth0 | . >= 50 and . <= 2500'
no_err_rates() { host web-1 '.latest["if.errors_ps"].eth0 == 0 and .latest["if.discards_ps"].eth0 == 0'; }
check "no new errors: the rates fall back to 0" wait_long no_err_rates

# The disk fills to 96%: critical too; then empties to 50%: both clear.
sed -i 's/integer 910$/integer 960/' "$T/web1.data"
check "96% opens fs-used-critical" wait_long has_inc fs-used-critical "fs-used-critical:web-1:/var"
check "critical supersedes high for the same file system" no_inc fs-used-high "fs-used-high:web-1:/var"
superseded() {
	for id in $(api "/api/v1/incidents?rule=fs-used-high&limit=100" |
	    jq -r '.incidents[] | select(.key == "fs-used-high:web-1:/var") | .id'); do
		api "/api/v1/incidents/$id" | grep -q 'superseded by fs-used-critical (critical)' &&
		    return 0
	done
	return 1
}
check "the high incident is resolved with a note naming fs-used-critical" superseded
sleep 2
check "while critical stays open, high does not reopen" no_inc fs-used-high "fs-used-high:web-1:/var"
sed -i 's/integer 960$/integer 880/' "$T/web1.data"
check "88% resolves fs-used-critical (clear is < 90)" wait_long no_inc fs-used-critical "fs-used-critical:web-1:/var"
check "88% opens fs-used-high again (its clear is < 85: hysteresis)" wait_long has_inc fs-used-high "fs-used-high:web-1:/var"
sed -i 's/integer 880$/integer 500/' "$T/web1.data"
check "50% resolves fs-used-high" wait_long no_inc fs-used-high "fs-used-high:web-1:/var"

# The interface comes up: the incident resolves.
sed -i 's/\.8\.3 integer 2/.8.3 integer 1/' "$T/db1.data"
check "the interface up again resolves interface-down" wait_long no_inc interface-down "interface-down:db-1:eth1"

# db-1 reboots (its agent restarts: sysUpTime drops).
up_enough() { host db-1 '.latest["sys.uptime"] >= 3'; }
wait_long up_enough
stop_agent db1
agent db1 $P_B
check "a sysUpTime drop is a reboot event (host-rebooted)" wait_long has_inc host-rebooted db-1

# web-1's agent restarts with counters that would give plausible but
# bogus rates against the previous poll (10^10 octets, 500,000 errors in
# a second or so): the reboot is seen and gives no rate.
wait_long host web-1 '.latest["sys.uptime"] >= 3'
stop_agent web1
sed -i -e 's/\.6\.2 counter64 1000$/.6.2 counter64 10000001000/' \
    -e 's/\.14\.2 counter 600/.14.2 counter 500600/' "$T/web1.data"
agent web1 $P_A
check "web-1's agent restart is a reboot" wait_long has_inc host-rebooted web-1
p1=$(api /api/v1/hosts | jq '.hosts[] | select(.name == "web-1") | .polls')
check "web-1 is polled twice after its reboot" wait_long host web-1 ".polls >= $((p1 + 2))"
maxof() { api "/api/v1/hosts/web-1/metrics?metric=$1&inst=eth0" | jq '[.points[].max] | max'; }
check "no bogus traffic rate after the agent restart (max $(maxof if.in_bps) b/s)" \
    test "$(maxof if.in_bps | cut -d. -f1)" -lt 1000000
check "no bogus error rate after it (max $(maxof if.errors_ps)/s)" \
    test "$(maxof if.errors_ps | cut -d. -f1)" -lt 20000

# Stored samples survive a restart.
DB=$T/var/sopd.db
count() { sqlite3 "$DB" "SELECT COALESCE(SUM(n), 0) FROM metric_5m"; }
stop_sopd; check "sopd stops cleanly" test $? = 0
n1=$(count)
start_sopd || notok "sopd restarts"
n2=$(count)
check "no stored sample lost across the restart ($n1 <= $n2)" test "$n1" -gt 0 -a "$n1" -le "$n2"
check "hourly rollup holds the same samples" test "$(sqlite3 "$DB" "SELECT SUM(n) FROM metric_1h WHERE at < strftime('%s','now') - 3600 OR 1")" -ge "$n1"
pts() { api "/api/v1/hosts/web-1/metrics?metric=disk.used_pct&inst=/var" | jq -e '.points | length >= 1 and (.[0].max == 96)' >/dev/null; }
check "the API reads the stored points (max 96 kept)" pts
check "a range over 8 days of 5-minute points is refused" \
    test "$(curl -s -o /dev/null -w '%{http_code}' "$API/api/v1/hosts/web-1/metrics?metric=cpu.load_pct&from=1&to=1000000&step=5m")" = 400
check "a host not polled is a 404" \
    test "$(curl -s -o /dev/null -w '%{http_code}' "$API/api/v1/hosts/nosuch/metrics?metric=cpu.load_pct")" = 404
# A reload polls the hosts anew (sessions reopened, samples kept); hosts
# whose settings did not change keep their state: counters (the first poll
# after the reload gives rates), misses, rules' "for" timers.
field() { api /api/v1/hosts | jq -r --arg h "$1" ".hosts[] | select(.name == \$h) | $2"; }
reloads() { api /api/v1/stats | jq -r '.daemon.reloads'; }
wait_long host gone-1 '.misses >= 3'
# Rates after the reload need web-1's counters from a poll it answered
# before it: since the restart above it may not have answered one yet.
check "web-1 answers a poll before the reload" wait_long host web-1 '.last_ok != null'
m0=$(field gone-1 .misses); p0=$(field web-1 .polls); g0=$(reloads)
kill -HUP $SOPD_PID
reloaded() { test "$(reloads)" -gt "$g0"; }
check "SIGHUP reloads" wait_long reloaded
check "gone-1's misses survive the reload ($m0)" test "$(field gone-1 .misses)" -ge "$m0"
check "web-1's poll count survives the reload ($p0)" test "$(field web-1 .polls)" -ge "$p0"
# The first poll completed after the reload: sysUpTime is another one.
u1=$(field web-1 '.latest["sys.uptime"]')
first_after() { test "$(field web-1 '.latest["sys.uptime"]')" != "$u1"; }
wait_long first_after
check "the first poll after the reload gives interface rates" \
    host web-1 '.latest["if.in_bps"].eth0 != null'
polled_again() { host web-1 '.polls >= 2 and .reachable == true'; }
check "after SIGHUP web-1 is polled again" wait_long polled_again
# A "for 8s" rule held through a reload every 3 s still opens.
cat > "$T/rules/cpu-slow.yaml" <<EOR
rules:
  - name: cpu-slow
    metric: cpu.load_pct >= 90 for 8s
    severity: high
EOR
hup_until_open() {
	i=0
	while [ $i -lt 10 ]; do
		kill -HUP $SOPD_PID
		j=0
		while [ $j -lt 30 ]; do
			has_inc cpu-slow cpu-slow:db-1 && return 0
			sleep 0.1; j=$((j + 1))
		done
		i=$((i + 1))
	done
	return 1
}
check "a rule's for timer survives reloads (every 3 s, for 8s)" hup_until_open
stop_sopd; check "sopd stops cleanly again" test $? = 0
