#!/bin/sh
# run.sh: sopd's benchmark (make bench): syslog over UDP at rising rates into
# sopd with 10, 100 and 1000 rules (the mixed load) and 10 to 10,000 rules
# (the near-miss load), each load also into a bare recvmmsg receiver; v2c
# traps; SNMPv3 traps (authPriv SHA + AES, authNoPriv SHA); memory with 10,000 open incidents; an incident storm; replay.
# Prints loss, throughput, CPU (also as a ratio to the bare receiver), RSS.
# Everything talks to 127.0.0.1 only; see bench/README.md to read the output.

set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SOPD=${SOPD:-$ROOT/build/sopd}
SOPBENCH=${SOPBENCH:-$ROOT/build/sopbench}
STEP=${BENCH_STEP:-3}			# seconds per rate step
RATES=${BENCH_RATES:-"50000 100000 200000 300000 400000 600000"}
TRAP_RATES=${BENCH_TRAP_RATES:-"10000 25000 50000 75000"}
V3_RATES=${BENCH_V3_RATES:-"10000 50000 75000"}
V3_LEVELS=${BENCH_V3_LEVELS-"authPriv authNoPriv"}	# empty: no v3 traps
V3_ENGINE=0x80001f8804736f7062656e6368	# the sender's engineID ("sopbench")
RULESETS=${BENCH_RULES-"10 100 1000"}
NM_RATES=${BENCH_NM_RATES:-"100000 200000 300000 400000 500000"}
NM_RULESETS=${BENCH_NM_RULES-"10 100 1000 10000"}
STORM=${BENCH_STORM:-100000}		# distinct new incidents
STORM_RATE=${BENCH_STORM_RATE:-55000}	# their rate: under 2 s for 100,000
STORM_BG=${BENCH_STORM_BG:-100000}	# near-miss msg/s beside them
INCIDENTS=${BENCH_INCIDENTS:-10000}
# README's memory bound ("Memory"): base + per open incident (one sample).
MEM_BASE_MIB=48
MEM_INC_KIB=1.5
HZ=$(getconf CLK_TCK)
T=$(mktemp -d /tmp/sopd-bench.XXXXXX)
BASE=$(( 31000 + ($$ % 300) * 10 ))
P_SYSLOG=$BASE
P_TRAP=$((BASE + 1))
P_HTTP=$((BASE + 2))
P_AGENT=$((BASE + 3))
P_BARE=$((BASE + 4))
API="http://127.0.0.1:$P_HTTP"
SOPD_PID=""
SEQ=0
SUMMARY=$T/summary

cleanup() {
	if [ -n "$SOPD_PID" ]; then
		kill -TERM "$SOPD_PID" 2>/dev/null
		wait "$SOPD_PID" 2>/dev/null
	fi
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for f in "$SOPD" "$SOPBENCH"; do
	if [ ! -x "$f" ]; then
		echo "bench: $f is missing (run make bench)" >&2
		exit 1
	fi
done

# write_config MIX N: $T/MIX-N/sopd.yaml with the generated set of N rules
# for the load MIX (mixed or nearmiss).
write_config() {
	d=$T/$1-$2
	mkdir -p "$d/rules" "$d/var"
	"$SOPBENCH" rules "$2" "$1" > "$d/rules/bench.yaml"
	cat > "$d/sopd.yaml" <<EOC
state_dir: $d/var
syslog:
  udp: 127.0.0.1:$P_SYSLOG
  tcp: 127.0.0.1:$P_SYSLOG
traps:
  listen: 127.0.0.1:$P_TRAP
  communities: [public]
  users:
    - {name: benchpriv, auth: SHA, auth_pass: "bench auth pass", priv: AES, priv_pass: "bench priv pass", engine_id: "$V3_ENGINE"}
    - {name: benchauth, auth: SHA, auth_pass: "bench auth pass", level: authnopriv, engine_id: "$V3_ENGINE"}
agent:
  listen: 127.0.0.1:$P_AGENT
http:
  listen: 127.0.0.1:$P_HTTP
rules: [$d/rules]
mib_dirs: [$ROOT/mibs]
incidents:
  max_open: 300000
  max_open_per_rule: 200000
EOC
}

# Start sopd on the config in $T/$1 (MIX-N); wait until /healthz answers.
start_sopd() {
	"$SOPD" -d -c "$T/$1/sopd.yaml" >> "$T/$1/sopd.log" 2>&1 &
	SOPD_PID=$!
	i=0
	while [ $i -lt 300 ]; do
		curl -sf --max-time 1 "$API/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$SOPD_PID" 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	echo "bench: sopd did not start:" >&2
	tail -20 "$T/$1/sopd.log" >&2
	SOPD_PID=""
	return 1
}

# Stop sopd (or the bare receiver) with SIGTERM (at most 20 s, then SIGKILL).
stop_sopd() {
	[ -n "$SOPD_PID" ] || return 0
	kill -TERM "$SOPD_PID" 2>/dev/null
	i=0
	while kill -0 "$SOPD_PID" 2>/dev/null && [ $i -lt 200 ]; do
		sleep 0.1; i=$((i + 1))
	done
	kill -KILL "$SOPD_PID" 2>/dev/null
	wait "$SOPD_PID" 2>/dev/null
	SOPD_PID=""
}

# received INPUT: the input's received counter (API JSON, else /metrics);
# the input "bare" is the bare receiver's count file.
received() {
	if [ "$1" = bare ]; then
		v=$(tr -d ' ' < "$T/bare.count" 2>/dev/null)
		echo "${v:--1}"
		return
	fi
	v=$(curl -sf --max-time 2 "$API/api/v1/stats" 2>/dev/null | jq -r \
	    --arg i "$1" '.inputs[$i].received // empty' 2>/dev/null)
	if [ -z "$v" ]; then
		v=$(curl -sf --max-time 2 "$API/metrics" 2>/dev/null | awk \
		    -v k="sopd_input_received_total{input=\"$1\"}" \
		    '$1 == k { printf "%d", $2 }')
	fi
	echo "${v:--1}"
}

# api_json PATH: GET an API path.
api_json() {
	curl -sf --max-time 5 "$API$1"
}

# cpu_ticks: the process under test's utime + stime in clock ticks (sopd,
# or the bare receiver: SOPD_PID holds either).
cpu_ticks() {
	sed 's/^.*) //' "/proc/$SOPD_PID/stat" 2>/dev/null |
	    awk '{ print $12 + $13 }'
}

# hwm_kib: sopd's peak resident set (VmHWM) in KiB.
hwm_kib() {
	awk '$1 == "VmHWM:" { print $2 }' "/proc/$SOPD_PID/status" 2>/dev/null
}

# rcvbuf_errors: the kernel's UDP receive-buffer drops (all sockets).
rcvbuf_errors() {
	awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ { print $6 }' /proc/net/snmp
}

now() {
	date +%s.%N
}

# drain INPUT: wait until the counter stops changing for 0.4 s (at most
# 20 s); prints "count time_of_last_change".
drain() {
	last=$(received "$1"); t_last=$(now); same=0; i=0
	while [ $same -lt 8 ] && [ $i -lt 400 ]; do
		sleep 0.05
		cur=$(received "$1")
		if [ "$cur" = "$last" ]; then
			same=$((same + 1))
		else
			same=0; last=$cur; t_last=$(now)
		fi
		i=$((i + 1))
	done
	echo "$last $t_last"
}

# rx_queue PORT: 1 if the UDP socket bound to 127.0.0.1:PORT holds datagrams
# not yet read (its rx_queue in /proc/net/udp), else 0.
rx_queue() {
	awk -v a="$(printf '0100007F:%04X' "$1")" '$2 == a {
		split($5, q, ":"); if (q[2] !~ /^0+$/) busy = 1
	    } END { print busy + 0 }' /proc/net/udp
}

# settle PORT: wait until that socket's queue has stayed empty for 0.2 s (at
# most 20 s): the process under test has read and handled every datagram.
# Prints the time the queue was first seen empty. It asks the API nothing,
# so sopd's CPU read right after it holds no API requests: with 10,000
# rules one GET /api/v1/stats costs milliseconds, and drain asks every 0.05 s.
settle() {
	z=0; i=0; t_empty=$(now)
	while [ $z -lt 4 ] && [ $i -lt 400 ]; do
		if [ "$(rx_queue "$1")" = 0 ]; then
			[ $z -eq 0 ] && t_empty=$(now)
			z=$((z + 1))
		else
			z=0
		fi
		sleep 0.05; i=$((i + 1))
	done
	echo "$t_empty"
}

# v3_build LEVEL RATE NRULES: build the SNMPv3 traps of one step (RATE a
# second for $STEP s, sequence numbers from $SEQ) into $T/v3.pkts.
v3_build() {
	v3user=benchpriv
	[ "$1" = authNoPriv ] && v3user=benchauth
	v3n=$(awk -v r="$2" -v s="$STEP" 'BEGIN { printf "%d", r * s + r / 100 }')
	"$SOPBENCH" v3traps -p "$P_TRAP" -o "$T/v3.pkts" -n "$v3n" -S "$SEQ" \
	    -R "$3" -u "$v3user" -l "$1" -A "bench auth pass" \
	    -X "bench priv pass" -e "$V3_ENGINE" > "$T/v3.build"
}

# step INPUT MODE SENDER RATE NRULES [KIND]: one load step of the load KIND
# (mixed by default; MODE v3authPriv or v3authNoPriv: SNMPv3 traps built
# ahead, before the step's clock starts); appends a result line "input sender offered achieved
# sent received loss rcvbuf_err recv_per_s cpu_seconds cpu_us_per_msg" to
# $T/steps and prints it readably.
step() {
	input=$1; mode=$2; sender=$3; rate=$4; nrules=$5; kind=${6:-mixed}
	flags=""; port=$P_SYSLOG
	[ "$sender" = batch ] && flags="-b"
	[ "$mode" = trap ] && port=$P_TRAP
	case $mode in
	v3*)
		v3_build "${mode#v3}" "$rate" "$nrules" || return 1
		mode=trap; port=$P_TRAP; flags="$flags -f $T/v3.pkts" ;;
	esac
	[ "$input" = bare ] && port=$P_BARE
	[ "$mode" = syslog ] && flags="$flags -k $kind"
	kill -0 "$SOPD_PID" 2>/dev/null || { echo "bench: sopd is gone" >&2; return 1; }
	[ "$port" = "$P_TRAP" ] && api_json /api/v1/stats > "$T/stats0"
	r0=$(received "$input"); c0=$(cpu_ticks); e0=$(rcvbuf_errors)
	t0=$(now)
	out=$("$SOPBENCH" "$mode" -p "$port" $flags -r "$rate" -d "$STEP" \
	    -S "$SEQ" -R "$nrules")
	t1=$(settle "$port")
	c1=$(cpu_ticks)
	d=$(drain "$input")
	r1=${d% *}; e1=$(rcvbuf_errors)
	sent=$(echo "$out" | sed -n 's/.* sent=\([0-9]*\) .*/\1/p')
	achieved=$(echo "$out" | sed -n 's/.* rate=\([0-9]*\) .*/\1/p')
	sent=${sent:-0}; achieved=${achieved:-0}
	SEQ=$((SEQ + sent))
	echo "$input $sender $rate $achieved $sent $((r1 - r0)) $((sent - (r1 - r0))) $((e1 - e0)) $c0 $c1 $t0 $t1" |
	    awk -v hz="$HZ" '{
		recv = $6; secs = $12 - $11; cpu = ($10 - $9) / hz
		rps = secs > 0 ? recv / secs : 0
		if ($7 <= 0 || rps > $4)
			rps = $4	# not saturated: it kept up with the sender
		us = recv > 0 ? cpu * 1e6 / recv : 0
		printf "%s %s %s %s %s %s %s %s %.0f %.3f %.3f\n", $1, $2, $3,
		    $4, $5, $6, $7, $8, rps, cpu, us
	    }' | tee -a "$T/steps" | awk '{
		printf "  %-10s %-5s offered %7s/s sent %8d at %7d/s  received %8d  loss %7d  rcvbuf_err %6d  %7d/s  cpu %.2f s  %.2f us/msg\n",
		    $1, $2, ($3 == 0 ? "max" : $3), $5, $4, $6, $7, $8, $9, $10, $11
	    }'
	[ "$port" = "$P_TRAP" ] && trap_refusals
	return 0
}

# trap_refusals: how many of the step's traps sopd accepted, and why it
# refused the others (API stats, before the step in $T/stats0 and now).
trap_refusals() {
	api_json /api/v1/stats | jq -r --slurpfile a "$T/stats0" '
	    .inputs.snmp_trap as $n | $a[0].inputs.snmp_trap as $o |
	    "             accepted \($n.accepted - $o.accepted)" +
	    ([$n.reasons | to_entries[] |
		select(.value > $o.reasons[.key]) |
		" \(.key) \(.value - $o.reasons[.key])"] |
	    if length > 0 then "; refused:" + join(",") else "" end)' \
	    2>/dev/null
}

# summarize INPUT LABEL [BARE_US]: one summary line from the steps of one
# run: the highest rate up to which no step lost anything, received/s at the
# highest offered rate, CPU us per message over the run, that as a ratio to
# the bare receiver's BARE_US, peak RSS.
summarize() {
	grep "^$1 batch " "$T/steps" | awk -v label="$2" -v hwm="$(hwm_kib)" \
	    -v bare="${3:-}" \
	    -v plain="$(grep "^$1 plain " "$T/steps" | tail -1)" '{
		if ($7 > 0)
			lost = 1
		else if (!lost && $4 > zl)
			zl = $4
		sat = ($7 <= 0 ? ">=" : "") $9; recv += $6; cpu += $10
	    } END {
		split(plain, p, " ")
		us = recv > 0 ? cpu * 1e6 / recv : 0
		pl = plain == "" ? "-" : sprintf("%d/s, loss %d", p[4], p[7])
		x = bare > 0 ? sprintf("%.2f", us / bare) : "-"
		printf "%-18s %14d %10s %14.2f %7s %12.1f %s\n", label, zl,
		    sat, us, x, hwm / 1024, pl
	    }' >> "$SUMMARY"
}

# bare_us: CPU us per message of the bare receiver's steps in $T/steps.
bare_us() {
	awk '$1 == "bare" { r += $6; c += $10 }
	    END { if (r > 0) printf "%.3f", c * 1e6 / r }' "$T/steps"
}

# run_bare KIND RATES: the bare recvmmsg receiver under the same sender and
# ladder as sopd; leaves its us per message in $T/bare-KIND.
run_bare() {
	echo "== bare recvmmsg receiver, $1 load"
	: > "$T/bare.count"
	"$SOPBENCH" recv -p "$P_BARE" -o "$T/bare.count" -d 600 &
	SOPD_PID=$!
	i=0
	while [ "$(received bare)" = -1 ] && [ $i -lt 100 ]; do
		sleep 0.05; i=$((i + 1))
	done
	: > "$T/steps"
	for r in $2; do
		step bare syslog batch "$r" 1000 "$1" || break
	done
	bare_us > "$T/bare-$1"
	summarize bare "$1/bare"
	stop_sopd
}

# run_syslog KIND N RATES: the syslog rate ladder of load KIND with N rules
# (the mixed load ends with a step from the plain sender).
run_syslog() {
	echo "== syslog udp, $1 load, $2 rules"
	write_config "$1" "$2"
	if ! start_sopd "$1-$2"; then
		printf "%-18s sopd did not start\n" "$1/$2" >> "$SUMMARY"
		return 1
	fi
	: > "$T/steps"
	for r in $3; do
		step syslog_udp syslog batch "$r" "$2" "$1" || break
	done
	[ "$1" = mixed ] && step syslog_udp syslog plain 0 "$2" "$1"
	summarize syslog_udp "$1/$2" "$(cat "$T/bare-$1" 2>/dev/null)"
}

# run_traps N: the v2c trap ladder with N rules (the set holds trap rules).
run_traps() {
	echo "== snmp v2c traps, $1 rules"
	: > "$T/steps"
	for r in $TRAP_RATES; do
		step snmp_trap trap batch "$r" "$1" || break
	done
	summarize snmp_trap "traps/$1"
}

# run_traps_v3 LEVEL N: the SNMPv3 trap ladder at LEVEL (authPriv: SHA +
# AES; authNoPriv: SHA) with N rules, from the user of that level.
run_traps_v3() {
	echo "== snmp v3 traps, $1, $2 rules"
	: > "$T/steps"
	for r in $V3_RATES; do
		step snmp_trap "v3$1" batch "$r" "$2" || break
	done
	summarize snmp_trap "v3$1/$2"
}

# stall_ms: the loop's worst stall so far (API stats loop.max_stall_ms),
# then the worst per kind of work and the UDP turns that yielded, as
# "41.2 ms (commit 4.9 checkpoint 41.2 udp 10.3 deadline 0 integrity 0;
# cpu 4.1/2.0/9.8/0/0; udp yields 812)": after cpu, the CPU time of each
# kind's costliest turn, in the same order.
stall_ms() {
	api_json /api/v1/stats | jq -r '.loop | "\(.max_stall_ms // "?") ms" +
	    (if .stall_ms then " (" + ([.stall_ms | to_entries[] |
	    "\(.key) \(.value * 10 | round / 10)"] | join(" ")) +
	    "; cpu " + ([.stall_cpu_ms | to_entries[] |
	    "\(.value * 10 | round / 10)"] | join("/")) +
	    "; udp yields \(.udp_read_yields))" else "" end)' 2>/dev/null
}

# run_storm N: a fresh sopd with the near-miss set of N rules takes $STORM
# distinct new incidents at $STORM_RATE/s on top of $STORM_BG near-miss
# messages/s; prints incidents/s until all were open, loss, the loop's
# worst stall, peak RSS next to README's bound for the incidents open
# (mem_bound_mib, within_bound: a figure, the bench does not fail on it),
# and the incidents the store holds after a stop.
run_storm() {
	echo "== storm: $STORM new incidents at $STORM_RATE/s over" \
	    "$STORM_BG msg/s near-miss traffic, $1 rules"
	write_config nearmiss "$1"
	rm -rf "${T:?}/nearmiss-$1/var" && mkdir -p "$T/nearmiss-$1/var"
	start_sopd "nearmiss-$1" || return 1
	r0=$(received syslog_udp); c0=$(cpu_ticks)
	bgd=$(awk -v n="$STORM" -v r="$STORM_RATE" 'BEGIN { print n / r + 2 }')
	"$SOPBENCH" syslog -p "$P_SYSLOG" -b -k nearmiss -r "$STORM_BG" \
	    -d "$bgd" -R "$1" > "$T/storm-bg.out" &
	bg=$!
	sleep 0.5
	o0=$(open_count)
	t0=$(now)
	"$SOPBENCH" syslog -p "$P_SYSLOG" -b -k incident -r "$STORM_RATE" \
	    -n "$STORM" -d 120 -S 1 > "$T/storm-inc.out"
	t_sent=$(now)
	n=""
	while :; do		# at most 30 s after the last was sent
		n=$(open_count)
		[ -n "$n" ] && [ "$n" -ge $((o0 + STORM)) ] 2>/dev/null && break
		awk -v a="$t_sent" -v b="$(now)" 'BEGIN { exit !(b - a > 30) }' &&
		    break
		sleep 0.05
	done
	t1=$(now)
	wait "$bg"
	d=$(drain syslog_udp)
	r1=${d% *}; c1=$(cpu_ticks)
	sent=$(cat "$T/storm-bg.out" "$T/storm-inc.out" |
	    sed -n 's/.* sent=\([0-9]*\) .*/\1/p' | awk '{ s += $1 } END { print s }')
	stall=$(stall_ms | tr ' ' '_'); hwm=$(hwm_kib)
	stop_sopd
	stored=$(sqlite3 "$T/nearmiss-$1/var/sopd.db" "SELECT count(*) FROM \
	    incidents WHERE rule LIKE 'bench-open-%'" 2>/dev/null)
	echo "$STORM $((n - o0)) ${stored:-0} $t0 $t_sent $t1 $sent $((r1 - r0)) $c0 $c1 ${stall:-?} $hwm" |
	    awk -v hz="$HZ" -v rules="$1" -v base="$MEM_BASE_MIB" \
		-v per="$MEM_INC_KIB" '{
		stall = $11; gsub("_", " ", stall)
		bound = base + per * $2 / 1024
		printf "storm    %d new incidents (%d open, %d stored) sent in %.2f s, all open after %.2f s: %.0f incidents/s; loss %d of %d; loop max stall %s; sopd cpu %.2f s; peak RSS %.1f MiB mem_bound_mib=%.1f (%d + %.1f KiB x %d open) within_bound=%s\n",
		    $1, $2, $3, $5 - $4, $6 - $4, $2 / ($6 - $4), $7 - $8,
		    $7, stall, ($10 - $9) / hz, $12 / 1024, bound, base, per,
		    $2, ($12 > 0 && $12 / 1024 <= bound) ? "yes" : "no"
	    }' | tee "$T/storm"
}

# open_count: incidents open now (API stats).
open_count() {
	api_json /api/v1/stats | jq -r '.incidents.open // empty' 2>/dev/null
}

# timed_walk TOOL: time a walk of the appliance subtree; "TOOL S s, N objects".
timed_walk() {
	t0=$(now)
	lines=$(timeout 120 "$1" -v2c -c public -t 10 -r 0 -On -Cc \
	    "127.0.0.1:$P_AGENT" 1.3.6.1.4.1.32473 2>/dev/null | wc -l)
	echo "$1 $t0 $(now) $lines" |
	    awk '{ printf "%s %.2f s, %d objects", $1, $3 - $2, $4 }'
}

# run_memory N: N distinct incidents, peak RSS, and an snmpwalk of the MIB.
run_memory() {
	echo "== memory: $INCIDENTS open incidents, $1 rules"
	rm -rf "${T:?}/mixed-$1/var" && mkdir -p "$T/mixed-$1/var"
	start_sopd "mixed-$1" || return 1
	"$SOPBENCH" syslog -p "$P_SYSLOG" -k incident -r 10000 \
	    -n "$INCIDENTS" -d 60 -S 1 | sed 's/^/  /'
	drain syslog_udp >/dev/null
	n=""; i=0
	while [ $i -lt 50 ]; do
		n=$(open_count)
		[ -n "$n" ] && [ "$n" -ge "$INCIDENTS" ] 2>/dev/null && break
		sleep 0.2; i=$((i + 1))
	done
	echo "  open incidents (API): ${n:-unknown}"
	walk="agent not available"
	if command -v snmpwalk >/dev/null 2>&1 &&
	    snmpget -v2c -c public -t 1 -r 0 "127.0.0.1:$P_AGENT" \
	    1.3.6.1.2.1.1.1.0 >/dev/null 2>&1; then
		walk="$(timed_walk snmpwalk), $(timed_walk snmpbulkwalk)"
	fi
	echo "  walk of 1.3.6.1.4.1.32473: $walk"
	printf "memory   %s open incidents, %s rules: peak RSS %.1f MiB; %s\n" \
	    "${n:-?}" "$1" "$(hwm_kib | awk '{ print $1 / 1024 }')" "$walk" >> "$T/memory"
	stop_sopd
}

# run_replay N: sopd --replay on a storm of N lines (57% open a distinct
# incident: file-system errors on as many devices, the rest cron noise; 500
# lines per simulated second) with the default rules; CPU per line.
run_replay() {
	echo "== replay: a storm of $1 lines, default rules"
	awk -v n="$1" 'BEGIN {
		srand(7)
		for (i = 0; i < n; i++) {
			s = int(i / 500)
			ts = sprintf("Nov 27 %02d:%02d:%02d", 10 + int(s / 3600),
			    int(s / 60) % 60, s % 60)
			if (rand() < 0.57)
				printf "<2>%s web%03d kernel: EXT4-fs error (device sd%d): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0\n", ts, i % 500, i
			else
				printf "<30>%s web%03d CRON[%d]: (root) CMD (run-parts /etc/cron.hourly)\n", ts, i % 500, 1000 + i
		}
	}' > "$T/storm.log"
	cat > "$T/replay.yaml" <<EOC
rules: [$ROOT/rules]
incidents:
  max_open: 1000000
  max_open_per_rule: 1000000
EOC
	c=$( { /usr/bin/time -f "%U %S %e" "$SOPD" --replay "$T/storm.log" \
	    -c "$T/replay.yaml" --start 2026-11-27 \
	    --until "2026-11-27 23:00" > "$T/storm.out"; } 2>&1 | tail -1)
	opened=$(grep -c ' open #' "$T/storm.out")
	echo "$c" | awk -v n="$1" -v o="$opened" '{
		printf "replay   %d lines, %d incidents opened: %.2f s CPU (%.2f s wall), %.1f us CPU per line\n",
		    n, o, $1 + $2, $3, ($1 + $2) * 1e6 / n
	}' | tee "$T/replay"
}

echo "sopd benchmark: $(nproc) CPUs, Linux $(uname -r), step ${STEP}s," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-18s %14s %10s %14s %7s %12s %s\n" load/rules rate_zero_loss \
    sat_msgs_s cpu_us_per_msg x_bare peak_rss_mib plain_sender > "$SUMMARY"
last=""
[ -n "$RULESETS" ] && run_bare mixed "$RATES"
for n in $RULESETS; do
	if run_syslog mixed "$n" "$RATES"; then
		last=$n
		if [ "$n" = "${RULESETS##* }" ]; then
			run_traps "$n"
			for l in $V3_LEVELS; do
				run_traps_v3 "$l" "$n"
			done
		fi
	fi
	stop_sopd
done
[ -n "$NM_RULESETS" ] && run_bare nearmiss "$NM_RATES"
for n in $NM_RULESETS; do
	run_syslog nearmiss "$n" "$NM_RATES"
	stop_sopd
done
[ -n "$last" ] && run_memory "$last"
[ "$STORM" -gt 0 ] && run_storm 1000
[ "${BENCH_REPLAY_LINES:-100000}" -gt 0 ] &&
    run_replay "${BENCH_REPLAY_LINES:-100000}"
# The matcher alone, on the real log corpus: cost per message by rule count.
if [ -x "$ROOT/build/bench_match" ] && [ -d "$ROOT/../shared/corpus/loghub" ]; then
	echo
	echo "== matcher alone (bench_match, loghub corpus)"
	# BENCH_RULES is this script's rule sets; to bench_match it names rules
	(cd "$ROOT" && env -u BENCH_RULES ./build/bench_match 5) > "$T/match" 2>&1
	cat "$T/match"
fi
[ -n "${BENCH_NO_POLL:-}" ] || sh "$ROOT/bench/poll.sh"	# polling figures
echo
echo "== figures (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
cat "$SUMMARY"
[ -f "$T/memory" ] && cat "$T/memory"
[ -f "$T/storm" ] && cat "$T/storm"
[ -f "$T/replay" ] && cat "$T/replay"
[ -f "$T/match" ] && grep 'ns/message' "$T/match"
exit 0
