#!/bin/bash
# agent.sh: the standalone SNMP agent answers the system group and
# SOP-APPLIANCE-MIB with the values the API shows, to the right community.
. "$(dirname "$0")/../lib.sh"

if ! sh "$ROOT/tests/mibs.sh" >/dev/null; then
	notok "IETF base MIBs in build/ietf-mibs"
	exit 1
fi

# Windows pinned here: a patch window open all day, every day (it holds the
# incidents below and names them), a change window to come, one not approved
# and one that ended (not listed).
write_config <<EOF
windows:
  patch:
    - {id: always, title: "all-day patches", when: "sun-sat 00:00-24:00", allow_business_hours: true, hosts: ["*"]}
  change:
    - {id: CHG-7, title: "db upgrade", approved: true, start: "2099-01-05 20:00", end: "2099-01-05 23:00"}
    - {id: CHG-8, title: "router swap", approved: false, start: "2099-01-03 01:00", end: "2099-01-03 02:00"}
    - {id: CHG-1, title: "old change", approved: true, start: "2020-01-03 01:00", end: "2020-01-03 02:00"}
EOF
# The system group's values, into the agent: section write_config made.
sed -i 's/^agent:$/agent:\n  sys_name: sop-test-appliance\n  sys_contact: noc@example.org\n  sys_location: rack 7, row B/' \
    "$T/sopd.yaml"
start_sopd || { notok "sopd starts"; exit 1; }

AG=127.0.0.1:$P_AGENT
MIBS="-M $ROOT/mibs:$ROOT/build/ietf-mibs -m SNMPv2-MIB:SOP-APPLIANCE-MIB"
V2="-v2c -c public -t 2 -r 1"
get() { snmpget $V2 $MIBS -Oqv "$AG" "$@" 2>&1; }

# The system group, as an NMS discovers a device.
out=$(get sysDescr.0)
check "sysDescr names sopd" test "${out#sopd }" != "$out"
out=$(get sysObjectID.0)
check "sysObjectID is sopApplianceProduct" test "$out" = "SOP-APPLIANCE-MIB::sopApplianceProduct"
check "sysName, sysContact, sysLocation come from config" test \
    "$(get sysName.0 sysContact.0 sysLocation.0 | tr '\n' '|')" = \
    "sop-test-appliance|noc@example.org|rack 7, row B|"
out=$(snmpwalk $V2 $MIBS "$AG" sysORID 2>&1)
check "sysORTable lists SOP-APPLIANCE-MIB" grep -q "OID: SOP-APPLIANCE-MIB::sopApplianceMIB" <<<"$out"

# Real syslog traffic opens incidents.
two_incidents

# A client loading the MIB sees symbolic names.
out=$(snmpwalk $V2 $MIBS "$AG" SOP-APPLIANCE-MIB::sopApplianceMIB 2>&1)
check "snmpwalk of the subtree shows symbolic names" \
    grep -q '^SOP-APPLIANCE-MIB::sopSoftwareVersion.0 = STRING: ' <<<"$out"
check "the walk ends cleanly" eval '! grep -qi -e "not increasing" -e timeout <<<"$out"'

# A DateAndTime as snmptable prints it (2026-12-4,9:3:5.0,+0:0: no zero
# padding) and a time of the API (2026-12-04T09:03:05Z), both in seconds.
dt_epoch() {
	_d=${1%%,*}; _t=${1#*,}; _t=${_t%%,*}; _t=${_t%.*}
	date -u -d "$_d $_t UTC" +%s 2>/dev/null || echo "bad:$1"
}
iso_epoch() { date -u -d "$1" +%s 2>/dev/null || echo "bad:$1"; }

# sopIncidentTable against the API, row by row.
table=$(snmptable $V2 $MIBS -Cf '|' -CH -Ci -Oe "$AG" SOP-APPLIANCE-MIB::sopIncidentTable 2>&1)
echo "$table" | sed 's/^/# /'
sevnum() { case $1 in critical) echo 1;; high) echo 2;; medium) echo 3;; low) echo 4;; info) echo 5;; esac; }
statenum() { case $1 in open) echo 1;; acknowledged) echo 2;; resolved) echo 3;; closed) echo 4;; esac; }
levnum() { case $1 in L1) echo 1;; L2) echo 2;; L3) echo 3;; client) echo 4;; esac; }
rows=0; bad=0
while IFS='|' read -r id sev state level host rule title first last count next win key owner acked resolved cause; do
	rows=$((rows + 1))
	j=$(api "/api/v1/incidents/$id") || { bad=1; echo "# no incident $id in API"; continue; }
	want="$(sevnum "$(jq -r .severity <<<"$j")")|$(statenum "$(jq -r .state <<<"$j")")"
	want="$want|$(levnum "$(jq -r .level <<<"$j")")|$(jq -r .host <<<"$j")|$(jq -r .rule <<<"$j")"
	want="$want|$(jq -r .title <<<"$j")|$(jq -r .count <<<"$j")|$(jq -r '.key' <<<"$j")"
	want="$want|$(jq -r '.in_window // ""' <<<"$j")"
	got="$sev|$state|$level|$host|$rule|$title|$count|$key|$win"
	if [ "$got" != "$want" ]; then
		bad=1; echo "# row $id: snmp '$got' api '$want'"
	fi
	fs=$(jq -r .first_seen <<<"$j")
	if [ "$(dt_epoch "$first")" != "$(iso_epoch "$fs")" ]; then
		bad=1; echo "# row $id: first seen '$first', API $fs"
	fi
done < <(echo "$table" | grep '^[0-9]')
n=$(active | jq '.incidents | length')
check "snmptable sopIncidentTable has the API's $n active incidents" test "$rows" = "$n"
check "every row matches the API (severity, state, level, host, rule, title, count, key, window, first seen)" test $bad = 0
check "the incidents fell into window 'always' (sopIncidentWindow)" \
    grep -q '|always|' <<<"$table"

# sopWindowTable against the API's windows, compared in order of start;
# sopWindowIndex is the window's own (stable), kept aside per id.
wtable=$(snmptable $V2 $MIBS -Cf '|' -CH -Ci -Oe "$AG" SOP-APPLIANCE-MIB::sopWindowTable 2>&1)
echo "$wtable" | sed 's/^/# /'
got=$(while IFS='|' read -r idx id type title start end approved active; do
	echo "$(dt_epoch "$start")|$id|$type|$title|$(dt_epoch "$start")|$(dt_epoch "$end")|$approved|$active;"
done < <(echo "$wtable" | grep '^[0-9]') | sort -t'|' -k1,1n -k2,2 | cut -d'|' -f2- | tr -d '\n')
idx_of() { echo "$1" | awk -F'|' -v id="$2" '$2 == id { print $1 }'; }
want=""
while IFS='|' read -r id kind title start end approved active; do
	tv=1; [ "$approved" = true ] || tv=2
	av=1; [ "$active" = true ] || av=2
	want="$want$id|$kind|$title|$(iso_epoch "$start")|$(iso_epoch "$end")|$tv|$av;"
done < <(api /api/v1/windows | jq -r '[.windows[] | select(.start != null and (.cancelled | not))]
    | sort_by(.start, .id) | .[] | [.id, (if .kind == "patch" then 1 else 2 end), .title,
    .start, .end, .approved, .active] | map(tostring) | join("|")')
echo "# snmp: $got"
echo "# api:  $want"
check "sopWindowTable lists the API's 3 windows to come, by start" \
    test -n "$got" -a "$got" = "$want" -a "$(grep -o ';' <<<"$want" | wc -l)" = 3
check "the open patch window reads active, approved, type patch" \
    grep -q '^always|1|all-day patches|[0-9]*|[0-9]*|1|1;' <<<"$got"
check "a change window not approved reads sopWindowApproved false(2)" \
    grep -Eq '(^|;)CHG-8\|2\|router swap\|[0-9]*\|[0-9]*\|2\|2;' <<<"$got"
curl -sS -f -X POST -H 'Content-Type: application/json' -d '{"id":"CHG-9","title":"api change","start":"2099-01-04T00:00:00Z","end":"2099-01-04T01:00:00Z","approved":true}' \
    "$API/api/v1/windows" > "$T/post.out" 2>&1 || { echo "# POST /api/v1/windows:"; sed 's/^/# /' "$T/post.out"; }
wtable2=$(snmptable $V2 $MIBS -Cf '|' -CH -Ci -Oe "$AG" SOP-APPLIANCE-MIB::sopWindowTable 2>&1)
check "a window made through the API shows at once" \
    grep -q '^[0-9]*|CHG-9|2|api change|' <<<"$wtable2"
same=1
for w in always CHG-7 CHG-8; do
	a=$(idx_of "$wtable" $w); b=$(idx_of "$wtable2" $w)
	[ -n "$a" ] && [ "$a" = "$b" ] || { same=0; echo "# $w: index $a then $b"; }
done
check "the other windows keep their sopWindowIndex" test $same = 1

# Scalars against the API.
check "sopActiveIncidents equals the API's count" test "$(get SOP-APPLIANCE-MIB::sopActiveIncidents.0)" = "$n"
crit=$(active | jq '[.incidents[] | select(.severity=="critical")] | length')
check "sopActiveCritical equals the API's critical count" test "$(get SOP-APPLIANCE-MIB::sopActiveCritical.0)" = "$crit"
rcv=$(api /api/v1/stats | jq .inputs.syslog_udp.received)
check "sopInputReceived.syslogUdp equals the API's counter ($rcv)" \
    test "$(get SOP-APPLIANCE-MIB::sopInputReceived.syslogUdp)" = "$rcv"
nrules=$(api /api/v1/stats | jq '.rules | length')
check "sopRulesLoaded equals the rules the API lists ($nrules)" \
    test "$(get SOP-APPLIANCE-MIB::sopRulesLoaded.0)" = "$nrules"

# A change through the API shows at once: acknowledge, then resolve.
first=$(active | jq '[.incidents[].id] | min')
curl -sf -X POST -H 'Content-Type: application/json' -d '{"actor":"agent-test"}' \
    "$API/api/v1/incidents/$first/ack" >/dev/null
check "an acknowledged incident reads acknowledged in sopIncidentState" \
    test "$(get SOP-APPLIANCE-MIB::sopIncidentState.$first)" = acknowledged
check "sopUnacknowledged drops by one" \
    test "$(get SOP-APPLIANCE-MIB::sopUnacknowledged.0)" = $((n - 1))
curl -sf -X POST -H 'Content-Type: application/json' -d '{"actor":"agent-test"}' \
    "$API/api/v1/incidents/$first/resolve" >/dev/null
check "a resolved incident leaves sopIncidentTable" \
    grep -q "No Such Instance" <<<"$(get SOP-APPLIANCE-MIB::sopIncidentState.$first)"
check "sopActiveIncidents follows" \
    test "$(get SOP-APPLIANCE-MIB::sopActiveIncidents.0)" = $((n - 1))

# An unknown community gets no answer at all.
if snmpget -v2c -c wrong -t 1 -r 0 "$AG" .1.3.6.1.2.1.1.1.0 >"$T/wrong" 2>&1; then
	notok "an unknown community gets no answer"
else
	check "an unknown community gets no answer" grep -q Timeout "$T/wrong"
fi
v1() { snmpget -v1 -c public -t 2 -r 1 -Oqv "$AG" .1.3.6.1.2.1.1.1.0 >/dev/null 2>&1; }
check "a v1 request with the right community works" v1

check "sopd is still alive" alive
check "sopd stops cleanly" stop_sopd
