#!/bin/sh
# drain.sh: sopd's CPU per near-miss message when it reads full batches, by
# rule count, free of the arrival pattern: sopd is stopped (SIGSTOP), its
# socket filled with COUNT datagrams from the batching sender, resumed, and
# its on-CPU time (/proc/PID/schedstat, nanoseconds) taken from the resume
# until the socket's queue stays empty; CYCLES times per rule set, the API
# asked only before and after. See bench/README.md.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SOPD=${SOPD:-$ROOT/build/sopd}
SOPBENCH=${SOPBENCH:-$ROOT/build/sopbench}
RULESETS=${BENCH_DRAIN_RULES:-"10 100 1000 10000"}
COUNT=${BENCH_DRAIN_COUNT:-72000}	# what sopd's 32 MiB buffer holds
CYCLES=${BENCH_DRAIN_CYCLES:-6}
T=$(mktemp -d /tmp/sopd-drain.XXXXXX)
P=$(( 31000 + ($$ % 300) * 10 + 5 ))
API="http://127.0.0.1:$((P + 2))"
PID=""

cleanup() {
	[ -n "$PID" ] && { kill -CONT "$PID"; kill -TERM "$PID"; wait "$PID"; } 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

received() {
	curl -sf --max-time 5 "$API/api/v1/stats" | jq '.inputs.syslog_udp.received'
}

# queued: 1 while the socket on 127.0.0.1:$P holds unread datagrams.
queued() {
	awk -v a="$(printf '0100007F:%04X' "$P")" '$2 == a {
		split($5, q, ":"); if (q[2] !~ /^0+$/) busy = 1
	    } END { print busy + 0 }' /proc/net/udp
}

oncpu_ns() {
	cut -d' ' -f1 "/proc/$PID/schedstat"
}

# run N: one rule set; prints the CPU per message of each cycle.
run() {
	d=$T/$1
	mkdir -p "$d/rules" "$d/var"
	"$SOPBENCH" rules "$1" nearmiss > "$d/rules/bench.yaml"
	printf 'state_dir: %s\nsyslog:\n  udp: 127.0.0.1:%s\nhttp:\n  listen: 127.0.0.1:%s\nrules: [%s]\n' \
	    "$d/var" "$P" "$((P + 2))" "$d/rules" > "$d/sopd.yaml"
	"$SOPD" -d -c "$d/sopd.yaml" > "$d/log" 2>&1 &
	PID=$!
	i=0
	until curl -sf --max-time 1 "$API/healthz" >/dev/null 2>&1; do
		sleep 0.2; i=$((i + 1))
		[ $i -lt 900 ] && kill -0 "$PID" 2>/dev/null && continue
		echo "drain: sopd did not start" >&2; tail -5 "$d/log" >&2
		PID=""; return 1
	done
	r0=$(received); seq=0; out=""
	for c in $(seq "$CYCLES"); do
		kill -STOP "$PID"
		"$SOPBENCH" syslog -p "$P" -b -k nearmiss -r 2000000 -n "$COUNT" \
		    -S $seq -d 60 -R "$1" > /dev/null
		seq=$((seq + COUNT))
		c0=$(oncpu_ns)
		kill -CONT "$PID"
		z=0
		while [ $z -lt 3 ]; do
			if [ "$(queued)" = 0 ]; then z=$((z + 1)); else z=0; fi
			sleep 0.05
		done
		c1=$(oncpu_ns)
		out="$out $(echo "$c0 $c1 $COUNT" | awk '{ printf "%.3f", ($2 - $1) / 1e3 / $3 }')"
	done
	lost=$((CYCLES * COUNT - $(received) + r0))
	kill -TERM "$PID"; wait "$PID"; PID=""
	echo "$1 $lost$out" | awk '{
		k = 0
		for (i = 4; i <= NF; i++) {	# the first cycle warms up
			for (j = ++k; j > 1 && v[j - 1] > $i; j--)
				v[j] = v[j - 1]
			v[j] = $i
		}
		med = k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
		c = ""
		for (i = 3; i <= NF; i++)
			c = c " " $i
		printf "drain %6d rules: median %.3f us/msg (cycles:%s), lost %d\n",
		    $1, med, c, $2
	    }'
}

echo "sopd drain: $COUNT near-miss datagrams x $CYCLES per rule set," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $RULESETS; do
	run "$n"
done
