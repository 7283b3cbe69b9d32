#!/bin/sh
# walk.sh: how fast the SNMP agent walks SOP-APPLIANCE-MIB with many open
# incidents (10,000 by default): fills them with sopbench's incident-per-id
# syslog, checks the count through the API, then times snmpbulkwalk (v2c,
# 50 repetitions per request), snmpwalk (GETNEXT) and an SNMPv3 authPriv
# bulk walk of the subtree. Talks to 127.0.0.1 only; needs `make` first.

set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SOPD=${SOPD:-$ROOT/build/sopd}
SOPBENCH=${SOPBENCH:-$ROOT/build/sopbench}
N=${WALK_INCIDENTS:-10000}
T=$(mktemp -d /tmp/sopd-walk.XXXXXX)
BASE=$(( 34000 + ($$ % 300) * 10 ))
P_SYSLOG=$BASE
P_HTTP=$((BASE + 2))
P_AGENT=$((BASE + 3))
API="http://127.0.0.1:$P_HTTP"
SUBTREE=1.3.6.1.4.1.32473
SOPD_PID=""

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
		echo "walk: $f is missing (run make)" >&2
		exit 1
	fi
done
for c in snmpbulkwalk snmpwalk curl jq; do
	command -v $c >/dev/null 2>&1 || { echo "walk: $c is missing" >&2; exit 1; }
done

mkdir -p "$T/rules" "$T/var"
"$SOPBENCH" rules 10 > "$T/rules/bench.yaml"
cat > "$T/sopd.yaml" <<EOC
state_dir: $T/var
syslog:
  udp: 127.0.0.1:$P_SYSLOG
  tcp: off
traps:
  listen: off
agent:
  listen: 127.0.0.1:$P_AGENT
  users:
    - {name: bench, auth: SHA, auth_pass: bench-auth-pass, priv: AES, priv_pass: bench-priv-pass}
http:
  listen: 127.0.0.1:$P_HTTP
rules: [$T/rules]
incidents:
  max_open: 100000
  max_open_per_rule: 100000
EOC

"$SOPD" -d -c "$T/sopd.yaml" >> "$T/sopd.log" 2>&1 &
SOPD_PID=$!
i=0
until curl -sf --max-time 1 "$API/healthz" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$SOPD_PID" 2>/dev/null; then
		echo "walk: sopd did not start:" >&2; tail -20 "$T/sopd.log" >&2
		exit 1
	fi
	sleep 0.1
done

# Fill: one syslog line per incident, paced so that no datagram is lost.
"$SOPBENCH" syslog -p "$P_SYSLOG" -k incident -r 10000 -n "$N" -d 60 -S 1 \
    > "$T/send.log"
open=""
i=0
while [ $i -lt 100 ]; do
	open=$(curl -sf "$API/api/v1/stats" | jq -r '.incidents.open // empty')
	[ -n "$open" ] && [ "$open" -ge "$N" ] 2>/dev/null && break
	sleep 0.2; i=$((i + 1))
done
echo "open incidents (API): ${open:-unknown} of $N sent"

now() { date +%s.%N; }
# timed NAME CMD...: run a walk, print seconds, objects/s and incident rows/s.
timed() {
	name=$1; shift
	t0=$(now)
	objs=$("$@" 2>/dev/null | wc -l)
	t1=$(now)
	rows=$("$@" 2>/dev/null | grep -c "^\.$SUBTREE\.1\.1\.4\.1\.2\.")
	awk -v name="$name" -v t0="$t0" -v t1="$t1" -v objs="$objs" \
	    -v rows="$rows" 'BEGIN { s = t1 - t0; if (s <= 0) s = 0.001;
	    printf "%-31s %6.2f s %7d objects %8.0f objects/s %6d incidents %7.0f incidents/s\n",
	    name, s, objs, objs / s, rows, rows / s }'
}
AG=127.0.0.1:$P_AGENT
timed "snmpbulkwalk v2c -Cr50" snmpbulkwalk -v2c -c public -t 10 -r 0 -On -Cr50 "$AG" $SUBTREE
timed "snmpwalk v2c (GETNEXT)" snmpwalk -v2c -c public -t 10 -r 0 -On "$AG" $SUBTREE
timed "snmpbulkwalk v3 authPriv -Cr50" snmpbulkwalk -v3 -l authPriv -u bench -a SHA \
    -A bench-auth-pass -x AES -X bench-priv-pass -t 10 -r 0 -On -Cr50 "$AG" $SUBTREE
printf "peak RSS of sopd: %s kB\n" "$(awk '/VmHWM/ { print $2 }' "/proc/$SOPD_PID/status")"
