#!/bin/sh
# poll.sh: polling figures (make bench runs it after the syslog ladder):
# sopd polls 1,000 simulated hosts every minute while syslog arrives over
# UDP at a steady rate. The hosts are real snmpd agents, a few processes
# each listening on many loopback ports (one port, one host: the machine's
# own HOST-RESOURCES-MIB, UCD-SNMP-MIB and IF-MIB). Prints sopd's CPU per
# poll, the event loop's latency while polling (HTTP /healthz round trips
# sampled every 0.1 s), the syslog loss while polling, and the storage
# growth per host per day (rows per host from the metric tables, bytes per
# row from SQLite's dbstat). Talks to 127.0.0.1 only; needs `make` first.

set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SOPD=${SOPD:-$ROOT/build/sopd}
SOPBENCH=${SOPBENCH:-$ROOT/build/sopbench}
HOSTS=${BENCH_POLL_HOSTS:-1000}
AGENTS=${BENCH_POLL_AGENTS:-4}		# snmpd processes
ROUNDS=${BENCH_POLL_ROUNDS:-2}		# measured rounds of one minute
RATE=${BENCH_POLL_SYSLOG_RATE:-100000}	# syslog msg/s while polling
HZ=$(getconf CLK_TCK)
T=$(mktemp -d /tmp/sopd-pollbench.XXXXXX)
BASE=$(( 36000 + ($$ % 200) * 10 ))
P_SYSLOG=$BASE
P_HTTP=$((BASE + 2))
P_HOST=$((BASE + 3000))			# hosts on P_HOST .. P_HOST + HOSTS - 1
# Move the hosts' range off UDP ports already taken (other processes).
i=0
while [ $i -lt 20 ] && ss -Hlnu 2>/dev/null | awk -v lo="$P_HOST" \
    -v hi="$((P_HOST + HOSTS))" '{ n = split($4, a, ":"); p = a[n] + 0 }
    p >= lo && p < hi { f = 1 } END { exit !f }'; do
	P_HOST=$(( 20000 + (P_HOST - 20000 + 1237) % 40000 )); i=$((i + 1))
done
API="http://127.0.0.1:$P_HTTP"
SOPD_PID=""
AGENT_PIDS=""

cleanup() {
	if [ -n "$SOPD_PID" ]; then
		kill -TERM "$SOPD_PID" 2>/dev/null
		wait "$SOPD_PID" 2>/dev/null
	fi
	for p in $AGENT_PIDS; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for f in "$SOPD" "$SOPBENCH"; do
	if [ ! -x "$f" ]; then
		echo "poll bench: $f is missing (run make)" >&2
		exit 1
	fi
done
for c in snmpd snmpget sqlite3 curl jq; do
	if ! command -v $c >/dev/null 2>&1; then
		echo "== polling: skipped ($c is missing)"
		exit 0
	fi
done

now() {
	date +%s.%N
}

cpu_ticks() {
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}

# start_agents: AGENTS snmpd processes sharing the HOSTS ports.
start_agents() {
	per=$(( (HOSTS + AGENTS - 1) / AGENTS ))
	a=0
	while [ $a -lt "$AGENTS" ]; do
		first=$((a * per))
		last=$((first + per - 1))
		[ $last -ge "$HOSTS" ] && last=$((HOSTS - 1))
		addrs=$(seq $((P_HOST + first)) $((P_HOST + last)) |
		    sed 's/^/udp:127.0.0.1:/' | paste -sd, -)
		mkdir -p "$T/agent$a"
		cat > "$T/agent$a/snmpd.conf" <<EOC
rocommunity public 127.0.0.1
EOC
		env -u LD_PRELOAD SNMP_PERSISTENT_DIR="$T/agent$a" snmpd -f \
		    -Lf "$T/agent$a/log" -C -c "$T/agent$a/snmpd.conf" \
		    -I -smux "$addrs" &
		AGENT_PIDS="$AGENT_PIDS $!"
		a=$((a + 1))
	done
	for p in $(seq "$P_HOST" "$per" $((P_HOST + HOSTS - 1))); do
		i=0
		until snmpget -v2c -c public -t 1 -r 0 "127.0.0.1:$p" \
		    .1.3.6.1.2.1.1.3.0 >/dev/null 2>&1; do
			i=$((i + 1))
			if [ $i -ge 100 ]; then
				tail -3 "$T"/agent*/log >&2
				return 1
			fi
			sleep 0.1
		done
	done
}

write_config() {
	mkdir -p "$T/var"
	{
		cat <<EOC
state_dir: $T/var
syslog:
  udp: 127.0.0.1:$P_SYSLOG
http:
  listen: 127.0.0.1:$P_HTTP
rules: [$ROOT/rules]
mib_dirs: [$ROOT/mibs]
poll:
  interval: 1m
  timeout: 2s
  retries: 1
  community: public
  hosts:
EOC
		seq 0 $((HOSTS - 1)) | awk -v p="$P_HOST" '{
			printf "    - {name: h%04d, address: \"127.0.0.1:%d\"}\n",
			    $1, p + $1 }'
	} > "$T/sopd.yaml"
}

start_sopd() {
	"$SOPD" -d -c "$T/sopd.yaml" >> "$T/sopd.log" 2>&1 &
	SOPD_PID=$!
	i=0
	while [ $i -lt 300 ]; do
		curl -sf --max-time 1 "$API/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$SOPD_PID" 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	echo "poll bench: sopd did not start:" >&2
	tail -20 "$T/sopd.log" >&2
	SOPD_PID=""
	return 1
}

# polls: "completed skipped reachable" over all hosts.
polls() {
	curl -sf --max-time 10 "$API/api/v1/hosts" | jq -r '[.hosts[] |
	    .polls] as $p | [.hosts[] | .skipped] as $s |
	    "\($p | add) \($s | add) \([.hosts[] | select(.reachable == true)] |
	    length)"'
}

received() {
	curl -sf --max-time 5 "$API/api/v1/stats" |
	    jq -r '.inputs.syslog_udp.received // 0'
}

# probe SECONDS: /healthz round trips every 0.1 s, one per line (ms).
probe() {
	end=$(( $(date +%s) + $1 ))
	while [ "$(date +%s)" -lt $end ]; do
		curl -s -o /dev/null --max-time 5 -w '%{time_total}\n' \
		    "$API/healthz" | awk '{ printf "%.2f\n", $1 * 1000 }'
		sleep 0.1
	done
}

# quantiles FILE: "p50 p99 max" of the numbers in FILE.
quantiles() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - -"; exit }
		m = int(NR * 0.5 + 0.5); q = int(NR * 0.99 + 0.5)
		if (m < 1) m = 1
		if (q < 1) q = 1
		printf "%.1f %.1f %.1f\n", v[m], v[q], v[NR] }'
}

echo "== polling: $HOSTS hosts every minute ($AGENTS snmpd processes)," \
    "syslog at $RATE msg/s"
if ! start_agents; then
	echo "poll bench: the snmpd agents did not start" >&2
	exit 1
fi
write_config
start_sopd || exit 1

# The first round is the warm-up: wait until every host has answered.
i=0
while [ $i -lt 900 ]; do
	set -- $(polls)
	[ "${3:-0}" -ge "$HOSTS" ] && break
	sleep 0.2; i=$((i + 1))
done
echo "  warm-up: ${3:-0} of $HOSTS hosts answered their first poll"

# Phase 1: one minute of polling alone: CPU per poll, loop latency.
set -- $(polls); p0=$1; s0=$2
c0=$(cpu_ticks "$SOPD_PID")
a0=0; for p in $AGENT_PIDS; do a0=$((a0 + $(cpu_ticks "$p"))); done
t0=$(now)
probe 60 > "$T/lat_alone"
t1=$(now)
set -- $(polls); p1=$1; s1=$2
c1=$(cpu_ticks "$SOPD_PID")
a1=0; for p in $AGENT_PIDS; do a1=$((a1 + $(cpu_ticks "$p"))); done

# Phase 2: ROUNDS minutes of polling with syslog at RATE: loss, latency.
secs=$((ROUNDS * 60))
set -- $(polls); q0=$1
r0=$(received)
"$SOPBENCH" syslog -p "$P_SYSLOG" -b -r "$RATE" -d "$secs" -S 1 -R 10 \
    > "$T/sender" 2>&1 &
SENDER=$!
probe "$secs" > "$T/lat"
wait $SENDER
i=0; r1=-1
while [ $i -lt 50 ]; do		# drain: the counter stops moving
	r=$(received)
	[ "$r" = "$r1" ] && break
	r1=$r; sleep 0.2; i=$((i + 1))
done
set -- $(polls); q1=$1
sent=$(sed -n 's/.* sent=\([0-9]*\) .*/\1/p' "$T/sender")
sent=${sent:-0}

# Storage: rows per host and bytes per row of the metric tables.
db=$T/var/sopd.db
sqlite3 -readonly "$db" "
    SELECT (SELECT count(*) FROM (SELECT DISTINCT host, metric, inst
	FROM metric_5m)),
	(SELECT count(*) FROM metric_5m) + (SELECT count(*) FROM metric_1h),
	(SELECT sum(pgsize) FROM dbstat WHERE name IN ('metric_5m',
	    'metric_1h', 'metric_5m_at', 'metric_1h_at') OR
	    name LIKE 'sqlite_autoindex_metric_%');" > "$T/storage" 2>&1

echo "$HOSTS $p0 $p1 $s0 $s1 $c0 $c1 $a0 $a1 $t0 $t1 $q0 $q1 $sent $r0 $r1 $(quantiles "$T/lat_alone") $(quantiles "$T/lat") $(tr '|' ' ' < "$T/storage")" |
    awk -v hz="$HZ" -v rate="$RATE" -v rounds="$ROUNDS" '{
	hosts = $1; polls = $3 - $2; skipped = $5 - $4
	cpu = ($7 - $6) / hz; agents = ($9 - $8) / hz; secs = $11 - $10
	polls2 = $13 - $12; sent = $14; recv = $16 - $15
	series = $23; rows = $24; bytes = $25
	printf "poll     %d hosts every minute, alone: %d polls in %.0f s (%d skipped), sopd CPU %.2f s (%.1f%% of a core): %.2f ms per poll (snmpd agents %.2f ms)\n",
	    hosts, polls, secs, skipped, cpu, cpu * 100 / secs,
	    (polls > 0 ? cpu * 1000 / polls : 0),
	    (polls > 0 ? agents * 1000 / polls : 0)
	printf "poll     loop latency (/healthz round trip every 0.1 s): polling alone p50 %s ms, p99 %s ms, max %s ms; with syslog p50 %s ms, p99 %s ms, max %s ms\n",
	    $17, $18, $19, $20, $21, $22
	printf "poll     syslog at %d msg/s during %d polls (%d min): sent %d, received %d, loss %d\n",
	    rate, polls2, rounds, sent, recv, sent - recv
	if (rows > 0 && hosts > 0) {
		b = bytes / rows; per = series / hosts
		printf "poll     storage: %.1f series per host, %.0f bytes per row with indexes: %.0f KB per host per day for 8 days (288 five-minute + 24 hourly rows a series), then %.1f KB a day (hourly rows only)\n",
		    per, b, per * 312 * b / 1000, per * 24 * b / 1000
	}
    }' | tee "$T/figures"
[ -s "$T/storage" ] && grep -q '[a-z]' "$T/storage" &&
    echo "  sqlite3: $(cat "$T/storage")"
exit 0
