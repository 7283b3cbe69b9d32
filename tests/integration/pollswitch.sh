#!/bin/bash
# pollswitch.sh: the Monday performance report covers every interface and
# file system of a switch, not the first 2,000 points of the HTTP API's read.
# sw-1 is a real snmpd serving 48 interfaces and 44 file systems through
# pass_persist (tests/agents/snmppass.py: counters growing with time), polled
# every hour on a libfaketime clock (7200x: 60 s of SNMP timeout are 8 ms).
# The week before, from Saturday 00:00 (until 48 hours are stored): every
# interface at the same low rate.  The report's week, from Friday 18:00 to
# the Monday 10:00 report: eth41-eth48 (last in the order of names) carry a
# hundred times more, and /srv/v44 (the last file system) is the fullest.
# More than 2,000 hourly points a week either way: the figures must be the
# sum over all 48 interfaces (traffic and its change), the fullest must be
# /srv/v44, as the stored rows give them.
. "$(dirname "$0")/../lib.sh"

FT=$FAKETIME_LIB
[ -r "$FT" ] || { notok "libfaketime is installed (Debian package faketime)"; exit 0; }
command -v snmpd >/dev/null || { notok "snmpd is installed"; exit 1; }
command -v sqlite3 >/dev/null || { notok "sqlite3 is installed"; exit 1; }
export ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0"
export TZ=Asia/Tokyo

P_SW=$((BASE + 5))
NIF=48 NFS=44 HOT=41 SPEED=x7200
PASS="/usr/bin/python3 $ROOT/tests/agents/snmppass.py"
NOMOD=-smux,hrh_storage,hr_proc,ifTable,ifXTable,interface,memory,loadave
AGENT_PID=""
trap '[ -n "$AGENT_PID" ] && { kill $AGENT_PID; wait $AGENT_PID; } 2>/dev/null; cleanup' EXIT

# tables HOTRATE: sw-1's interfaces (eth01..eth48: in i*900 octets a real
# second, out half that; from eth$HOT on HOTRATE times more) and file systems
# (/srv/v01../srv/v44: 300 + i of 1000 used).
tables() {
	i=1
	while [ $i -le $NIF ]; do
		r=$((i * 900)); [ $i -ge $HOT ] && r=$((r * $1))
		n=$(printf eth%02d $i)
		echo ".1.3.6.1.2.1.2.2.1.2.$i string $n"
		echo ".1.3.6.1.2.1.2.2.1.7.$i integer 1"
		echo ".1.3.6.1.2.1.2.2.1.8.$i integer 1"
		echo ".1.3.6.1.2.1.31.1.1.1.1.$i string $n"
		echo ".1.3.6.1.2.1.31.1.1.1.6.$i counter64 1000+$r/s"
		echo ".1.3.6.1.2.1.31.1.1.1.10.$i counter64 1000+$((r / 2))/s"
		i=$((i + 1))
	done
	i=1
	while [ $i -le $NFS ]; do
		echo ".1.3.6.1.2.1.25.2.3.1.2.$((100 + i)) objectid .1.3.6.1.2.1.25.2.1.4"
		echo ".1.3.6.1.2.1.25.2.3.1.3.$((100 + i)) string $(printf /srv/v%02d $i)"
		echo ".1.3.6.1.2.1.25.2.3.1.4.$((100 + i)) integer 4096"
		echo ".1.3.6.1.2.1.25.2.3.1.5.$((100 + i)) integer 1000"
		echo ".1.3.6.1.2.1.25.2.3.1.6.$((100 + i)) integer $((300 + i))"
		i=$((i + 1))
	done
}
tables 1 > "$T/sw.data.new" && mv "$T/sw.data.new" "$T/sw.data"
mkdir -p "$T/sw.state"
cat > "$T/sw.conf" <<EOC
rocommunity public 127.0.0.1
engineID sw1-switch
pass_persist .1.3.6.1.2.1.25.2.3 $PASS $T/sw.data
pass_persist .1.3.6.1.2.1.2.2 $PASS $T/sw.data
pass_persist .1.3.6.1.2.1.31.1.1 $PASS $T/sw.data
override .1.3.6.1.2.1.25.3.3.1.2.1 integer 20
EOC
env -u LD_PRELOAD SNMP_PERSISTENT_DIR="$T/sw.state" snmpd -f -Lo -C \
    -c "$T/sw.conf" -I "$NOMOD" "udp:127.0.0.1:$P_SW" >> "$T/sw.log" 2>&1 &
AGENT_PID=$!
walked() {
	[ "$(env -u LD_PRELOAD snmpwalk -v2c -c public -t 1 -r 0 127.0.0.1:$P_SW \
	    .1.3.6.1.2.1.31.1.1.1.1 2>/dev/null | grep -c eth)" = $NIF ]
}
check "sw-1's snmpd serves $NIF interfaces" wait_long 10 walked || {
	sed 's/^/# /' "$T/sw.log" | tail -5; exit 1; }

write_config <<EOF
poll:
  interval: 1h
  timeout: 60s
  retries: 3
  hosts:
    - {name: sw-1, address: "127.0.0.1:$P_SW", community: public}
schedule:
  performance-report: { at: "10:00", days: mondays }
EOF
PREV0=$(epoch "2026-11-16 10:00:00") THIS0=$(epoch "2026-11-23 10:00:00") THIS1=$(epoch "2026-11-30 10:00:00")
# hours A B: the hours of [A, B) with sw-1's eth48 traffic stored.
hours() {
	db_ro "SELECT count(*) FROM metric_1h WHERE host = 'sw-1' AND metric = 'if.in_bps' AND inst = 'eth48' AND at >= $1 AND at < $2"
}
hours_ge() { test "$(hours $1 $2)" -ge $3; }

# The week before: Saturday 00:00 on, stopped once 48 hours are stored.
start_sopd_at "2026-11-21 00:00:00" $SPEED
check "the week before: 48 hours of traffic stored ($((48 * NIF)) hourly points of $NIF interfaces)" \
    wait_long 60 hours_ge $PREV0 $THIS0 48
stop_sopd || notok "sopd stops in the week before"

# The report's week: Friday 18:00 on, eth41-eth48 a hundred times busier.
tables 100 > "$T/sw.data.new" && mv "$T/sw.data.new" "$T/sw.data"
start_sopd_at "2026-11-27 18:00:00" $SPEED
run_id() {
	api /api/v1/schedule | jq -er '[.runs[] | select(.job == "performance-report" and
	    .scheduled == "2026-11-30T01:00:00Z" and .outcome == "ok")][0].report_id | numbers'
}
check "the Monday 10:00 performance report is made" wait_long 60 run_id
stop_sopd || notok "sopd stops on Monday"
# Read back at the normal speed (at 7200x evhttp's 15 s timeout is 2 ms).
start_sopd_at "2026-11-30 10:30:00" x1
ID=$(run_id)
FIG=$(api "/api/v1/reports/stored/$ID" | jq -c '.report.hosts[] | select(.host == "sw-1") | .figures')
stop_sopd || notok "sopd stops"
echo "# sw-1: $(jq -c '{traffic, disk}' <<<"$FIG")"

N=$(hours $THIS0 $THIS1)
check "the report's week: $N hours stored of all $NIF interfaces ($((N * NIF)) hourly points a metric) and $NFS file systems" \
    test "$N" -ge 46 -a "$(db_ro "SELECT count(DISTINCT inst) FROM metric_5m WHERE host = 'sw-1' AND metric = 'if.in_bps' AND at >= $THIS0 AND at < $THIS1")" = $NIF
# summed A B AGG TABLE: AGG of the traffic of [A, B), every interface's
# in and out summed per point.
summed() {
	db_ro "SELECT $3 FROM (SELECT at, sum(sum / n) AS s FROM $4 WHERE host = 'sw-1' AND metric IN ('if.in_bps', 'if.out_bps') AND at >= $1 AND at < $2 GROUP BY at)"
}
AVG=$(summed $THIS0 $THIS1 'avg(s)' metric_5m)
MAX=$(summed $THIS0 $THIS1 'max(s)' metric_5m)
PAVG=$(summed $PREV0 $THIS0 'avg(s)' metric_1h)
echo "# the stored rows: this week's average $AVG, maximum $MAX; the week before's average $PAVG"
fig() { jq -e --argjson a "$2" --argjson b "${3:-0}" "$1" >/dev/null <<<"$FIG"; }
near='((. - $a) / $a | fabs) < 0.000001'
check "traffic: the average is the sum over all $NIF interfaces ($AVG)" fig ".traffic.avg | $near" "$AVG"
check "traffic: the maximum too ($MAX)" fig ".traffic.max | $near" "$MAX"
check "traffic: the change is against all $NIF interfaces of the week before ($PAVG)" \
    fig '.traffic.change_pct | . != null and (. - ($a - $b) / $b * 100 | fabs) < 0.0001' "$AVG" "$PAVG"
check "the fullest file system is /srv/v44 (the last of $NFS), at 34.4%" \
    fig '.disk.mount == "/srv/v44" and (.disk.max - 34.4 | fabs) < 0.001' 0
