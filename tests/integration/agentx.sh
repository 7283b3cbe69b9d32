#!/bin/bash
# agentx.sh: sopd as an AgentX subagent of a real snmpd (the appliance's
# mode): the master serves SOP-APPLIANCE-MIB with the API's values, and
# sopd reconnects by itself when snmpd restarts; when sopd restarts under
# a running snmpd, sopCounterDiscontinuityTime moves.
. "$(dirname "$0")/../lib.sh"

if ! command -v snmpd >/dev/null 2>&1; then
	notok "snmpd is installed (Debian package snmpd)"
	exit 1
fi
if ! sh "$ROOT/tests/mibs.sh" >/dev/null; then
	notok "IETF base MIBs in build/ietf-mibs"
	exit 1
fi

SNMPD_PID=""
SOCK=$T/agentx/master
mkdir -p "$T/agentx" "$T/snmpd-state"
chmod 0770 "$T/agentx"
cat > "$T/snmpd.conf" <<EOF
master agentx
agentXSocket $SOCK
agentXPerms 0660 0770
agentXTimeout 1
agentXRetries 1
rocommunity public 127.0.0.1
EOF

# start_snmpd: snmpd as AgentX master on a private UDP port and socket.
start_snmpd() {
	SNMP_PERSISTENT_DIR=$T/snmpd-state snmpd -f -Lf "$T/snmpd.log" -C \
	    -c "$T/snmpd.conf" -p "$T/snmpd.pid" "udp:127.0.0.1:$P_SPARE" &
	SNMPD_PID=$!
	wait_for snmpget -v2c -c public -t 1 -r 0 "127.0.0.1:$P_SPARE" \
	    .1.3.6.1.2.1.1.1.0
}

# stop_snmpd: SIGTERM and wait.
stop_snmpd() {
	[ -n "$SNMPD_PID" ] || return 0
	kill -TERM "$SNMPD_PID" 2>/dev/null
	wait "$SNMPD_PID" 2>/dev/null
	SNMPD_PID=""
}
trap 'stop_snmpd; cleanup' EXIT

check "snmpd starts as AgentX master on 127.0.0.1:$P_SPARE" start_snmpd

write_config </dev/null
sed -i "s|^  listen: 127.0.0.1:$P_AGENT\$|  mode: agentx\n  agentx_socket: $SOCK\n  agentx_ping_interval: 1s|" \
    "$T/sopd.yaml"
start_sopd || { notok "sopd starts"; exit 1; }

MA=127.0.0.1:$P_SPARE
MIBS="-M +:$ROOT/mibs:$ROOT/build/ietf-mibs -m +SOP-APPLIANCE-MIB"
V2="-v2c -c public -t 2 -r 1"
# connected: snmpd answers sopSoftwareVersion.0, which only sopd serves.
connected() {
	local v
	v=$(snmpget $V2 -Oqv $MIBS "$MA" sopSoftwareVersion.0 2>/dev/null) &&
	    [ -n "$v" ] && ! grep -q "No Such" <<<"$v"
}
check "sopd registers with snmpd over AgentX" wait_for connected
check "sopd opened no SNMP port of its own" \
    eval "! snmpget -v2c -c public -t 1 -r 0 127.0.0.1:$P_AGENT .1.3.6.1.2.1.1.1.0 >/dev/null 2>&1"

two_incidents

# compare_table: every row of sopIncidentTable (through snmpd) against the API.
compare_table() {
	local table rows=0 bad=0 n j want got
	table=$(snmptable $V2 $MIBS -Cf '|' -CH -Ci "$MA" sopIncidentTable 2>/dev/null)
	while IFS='|' read -r id sev state level host rule title first last count next win key owner acked resolved cause; do
		rows=$((rows + 1))
		j=$(api "/api/v1/incidents/$id") || { bad=1; continue; }
		want="$(jq -r '[.severity, .state, (.level|ascii_downcase), .host, .rule, .title, (.count|tostring), .key] | join("|")' <<<"$j")"
		got="$sev|$state|$level|$host|$rule|$title|$count|$key"
		[ "$got" = "$want" ] || { bad=1; echo "# row $id: snmp '$got' api '$want'"; }
	done < <(echo "$table" | grep '^[0-9]')
	n=$(active | jq '.incidents | length')
	[ "$rows" = "$n" ] && [ "$bad" = 0 ] || { echo "# $rows rows, API $n"; return 1; }
}
check "snmptable through snmpd shows the API's incidents, value for value" compare_table

out=$(snmpwalk $V2 $MIBS "$MA" sopIncidentSeverity 2>/dev/null)
check "a client loading the MIB sees symbolic names and enums" \
    grep -qE '^SOP-APPLIANCE-MIB::sopIncidentSeverity\.[0-9]+ = INTEGER: (critical|high|medium|low|info)\([1-5]\)$' <<<"$out"
out=$(snmpwalk $V2 -On "$MA" .1.3.6.1.2.1.1.9.1.2 2>&1)
check "snmpd's sysORTable lists SOP-APPLIANCE-MIB" grep -q '= OID: .1.3.6.1.4.1.32473.1$' <<<"$out"

# snmpd restarts: sopd notices on its next ping and registers again.
# busy: nanoseconds sopd has been runnable so far (on a CPU or waiting for
# one: /proc/PID/schedstat), so a loop that spins counts in full however
# slow the build and however busy the machine, while one that waits in
# epoll counts next to nothing. Over 4 s, 4 pings try to reach the master.
busy() { read -r _run _wait _ < "/proc/$SOPD_PID/schedstat"; echo $((_run + _wait)); }
stop_snmpd
b0=$(busy); w0=$(date +%s%N)
sleep 4
b1=$(busy); w1=$(date +%s%N)
pct=$(( (b1 - b0) * 100 / (w1 - w0) ))
check "sopd lives on while snmpd is away" alive
check "and does not spin meanwhile (runnable $pct% of the time, under 25%)" \
    test "$pct" -lt 25
start_snmpd
t0=$(date +%s)
back() { connected && compare_table >/dev/null; }
i=0
while [ $i -lt 80 ] && ! back; do sleep 0.25; i=$((i + 1)); done
t1=$(date +%s)
check "after an snmpd restart the walk works again within 20 s ($((t1 - t0)) s)" back
check "the reconnected table still matches the API" compare_table
n=$(grep -c "subagent connected" "$T/sopd.log")
check "sopd logged two AgentX connections ($n)" test "$n" = 2

# sopd (the subagent) restarts while snmpd runs on: snmpd's sysUpTime does
# not tell the NMS that sopd's counters started again from zero,
# sopCounterDiscontinuityTime does.
mget() { snmpget $V2 $MIBS -Oqv "$MA" "$@" 2>/dev/null; }
d1=$(mget sopCounterDiscontinuityTime.0)
st=$(mget sopStartTime.0)
up1=$(snmpget $V2 -Oqvt "$MA" .1.3.6.1.2.1.1.3.0 2>/dev/null)
check "sopCounterDiscontinuityTime through snmpd is sopd's start ($d1)" \
    test -n "$d1" -a "$d1" = "$st"
check "sopd stops while snmpd runs on" stop_sopd
sleep 1.2
start_sopd || { notok "sopd starts again"; exit 1; }
check "sopd registers with snmpd again" wait_long 20 connected
d2=$(mget sopCounterDiscontinuityTime.0)
up2=$(snmpget $V2 -Oqvt "$MA" .1.3.6.1.2.1.1.3.0 2>/dev/null)
echo "# snmpd sysUpTime $up1 -> $up2"
check "snmpd's sysUpTime ran on" test "${up2:-0}" -gt "${up1:-0}"
check "sopCounterDiscontinuityTime moved with sopd's restart ($d1 -> $d2)" \
    test -n "$d2" -a "$d2" != "$d1"
check "and is the new sopStartTime" test "$d2" = "$(mget sopStartTime.0)"

check "sopd is still alive" alive
check "sopd stops cleanly" stop_sopd
stop_snmpd
