#!/bin/bash
# notifsnmp.sh: SNMP notifications carry what the other notices carry.
# A real snmptrapd receives sopd's traps: an incident notification carries
# the owner, the impact, workaround and expected recovery, the latest note,
# the notice's note (sopNotifNote), the latest event (sopNotifLastEvent)
# and, with http.public_url, the incident's page (sopNotifLink), in traps
# and informs; a critical without impact 15 minutes after opening sends
# sopIncidentReminder; a reload sends sopConfigReloaded with its
# generation and what changed; both are logged in sopNotifLogTable; the
# agent serves the new sopIncidentTable columns.
# sopd runs under libfaketime at x60 (a simulated minute per real second).
. "$(dirname "$0")/../lib.sh"

FT=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
if [ ! -r "$FT" ]; then
	notok "libfaketime is installed (Debian package faketime)"
	exit 0
fi
export ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0"
export TZ=Asia/Tokyo
P_TRAPD=$((BASE + 5))
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; wait $p 2>/dev/null; done; cleanup' EXIT
sh "$ROOT/tests/mibs.sh" >/dev/null 2>&1

cat > "$T/snmptrapd.conf" <<EOC
disableAuthorization yes
authCommunity log public
EOC
SNMP_PERSISTENT_DIR=$T/trapd snmptrapd -f -Lf "$T/traps.log" -C -c "$T/snmptrapd.conf" -On \
    udp:127.0.0.1:$P_TRAPD >/dev/null 2>&1 &
PIDS="$PIDS $!"
check "snmptrapd listens" wait_for sh -c "ss -Hlun | grep -q ':$P_TRAPD '"

cat > "$T/rules.yaml" <<'EOC'
rules:
  - name: c-crit
    match: { message: 'CCRIT (?<what>\w+)' }
    severity: critical
    key: "{host}:{what}"
EOC
RULES=$T/rules.yaml write_config <<EOC
notify:
  targets:
    nms: { type: snmp-trap, address: 127.0.0.1:$P_TRAPD, community: public }
  levels:
    L1: [nms]
    L2: [nms]
    L3: [nms]
    client: [nms]
EOC
# Thursday 2026-11-26 10:00 in Tokyo, 60x.
LD_PRELOAD=$FT FAKETIME="@2026-11-26 10:00:00 x60" FAKETIME_NO_CACHE=1 \
    start_sopd || { notok "sopd starts under libfaketime"; exit 1; }
export SNMP_PERSISTENT_DIR=$T/client
AG=127.0.0.1:$P_AGENT
MIB=.1.3.6.1.4.1.32473.1
COL=$MIB.1.4.1
NOTE=$MIB.1.6.6.0
LASTEV=$MIB.1.6.7.0
LINK=$MIB.1.6.8.0
OPENED=$MIB.0.1
ACKED=$MIB.0.3
RESOLVED=$MIB.0.4
REMINDER=$MIB.0.8
RELOADED=$MIB.0.9

send() {
	printf '<10>Nov 26 10:00:00 %s app: %s' "$1" "$2" \
	    > /dev/udp/127.0.0.1/"$P_SYSLOG"
}
post() {
	c=$(curl -s -o "$T/body" -w '%{http_code}' -X POST \
	    -H 'Content-Type: application/json' --data "$2" "$API$1")
	[ "$c" = 200 ] || { echo "# POST $1: $c $(cat "$T/body")"; return 1; }
}
inc() {
	api "/api/v1/incidents?rule=c-crit&host=$1&limit=1" | jq -r '.incidents[0].id'
}
# trap_of NOTIF: the last trap of that notification (snmptrapd logs one
# line per trap); has_trap NOTIF: there is one.
TAB=$(printf '\t')
trap_of() { grep -F -- "OID: $1$TAB" "$T/traps.log" | tail -1; }
has_trap() { grep -qF -- "OID: $1$TAB" "$T/traps.log" 2>/dev/null; }
# carries NOTIF OBJECT VALUE: its last trap has the varbind OBJECT = VALUE.
carries() { trap_of "$1" | grep -qF -- "$2 = $3"; }
# carries_re NOTIF REGEX: its last trap matches the extended regex.
carries_re() { trap_of "$1" | grep -qE -- "$2"; }
# served OID TEXT: a GET of OID answers TEXT.
served() { snmpget -v2c -c public -t 2 -r 1 -On "$AG" "$1" 2>&1 | grep -qF -- "$2"; }
wait_long() {
	n=$(( $1 * 10 )); shift; i=0
	while [ $i -lt $n ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

send db1 "CCRIT disk failed on /dev/sdb"
send mail1 "CCRIT queue stuck"
check "two criticals open" wait_for sh -c \
    "curl -sf '$API/api/v1/incidents?state=active' | jq -e '.incidents | length == 2'"
A=$(inc db1); B=$(inc mail1)
check "sopIncidentOpened arrives" wait_for has_trap "$OPENED"
# any_carries NOTIF TEXT: one of its traps has TEXT.
any_carries() { grep -F -- "OID: $1$TAB" "$T/traps.log" | grep -qF -- "$2"; }
check "A's opening carries its owner, impact and latest note, empty" sh -c \
    "grep -F -- 'OID: $OPENED$TAB' '$T/traps.log' | grep -F -- '$COL.14.$A = \"\"' |
     grep -F -- '$COL.18.$A = \"\"' | grep -qF -- '$COL.21.$A = \"\"'"
check "and sopNotifNote" any_carries "$OPENED" "$NOTE = \"\""
check "and sopNotifLastEvent, A's event" \
    any_carries "$OPENED" "$LASTEV = STRING: \"CCRIT disk failed on /dev/sdb\""

check "B gets impact, workaround and eta" post "/api/v1/incidents/$B" \
    '{"actor": "tanaka", "impact": "mail to customers delayed", "workaround": "use the backup relay", "eta": "2026-11-26T03:00:00Z"}'
check "sato acknowledges B" post "/api/v1/incidents/$B/ack" '{"actor": "sato"}'
check "a note on A" post "/api/v1/incidents/$A/notes" \
    '{"actor": "suzuki", "note": "vendor called, disk on its way"}'
check "B resolved with a note" post "/api/v1/incidents/$B/resolve" \
    '{"actor": "sato", "note": "relay restarted, queue drained"}'
check "sopIncidentResolved arrives" wait_for has_trap "$RESOLVED"
check "it carries sopIncidentOwner (who acknowledged)" \
    carries "$RESOLVED" "$COL.14.$B" 'STRING: "sato"'
check "it carries sopIncidentImpact" \
    carries "$RESOLVED" "$COL.18.$B" 'STRING: "mail to customers delayed"'
check "it carries sopIncidentWorkaround" \
    carries "$RESOLVED" "$COL.19.$B" 'STRING: "use the backup relay"'
check "it carries sopIncidentExpectedRecovery (2026-11-26 03:00 UTC)" \
    carries "$RESOLVED" "$COL.20.$B" 'Hex-STRING: 07 EA 0B 1A 03 00 00 00 2B 00 00'
check "it carries sopIncidentLastNote" \
    carries "$RESOLVED" "$COL.21.$B" 'STRING: "relay restarted, queue drained"'
check "it carries sopIncidentResolvedTime, a real time (11 octets)" wait_for carries_re "$RESOLVED" \
    "$COL\\.16\\.$B = Hex-STRING: 07 ([0-9A-F]{2} ){9}[0-9A-F]{2} ?$TAB"
check "it carries sopNotifNote (the resolution's note)" \
    carries "$RESOLVED" "$NOTE" 'STRING: "relay restarted, queue drained"'
check "it carries sopNotifLastEvent (B's latest event)" \
    carries "$RESOLVED" "$LASTEV" 'STRING: "CCRIT queue stuck"'
check "it carries sopNotifLink, empty without http.public_url" \
    carries "$RESOLVED" "$LINK" '""'
check "sopNotifLastEvent and sopNotifLink follow sopNotifNote" carries_re "$RESOLVED" \
    "$MIB\\.1\\.6\\.6\\.0 = [^$TAB]*$TAB$MIB\\.1\\.6\\.7\\.0 = [^$TAB]*$TAB$MIB\\.1\\.6\\.8\\.0 = [^$TAB]*$TAB"
check "sopNotifSequence is still the last varbind" \
    carries_re "$RESOLVED" "$MIB\\.1\\.6\\.5\\.0 = Gauge32: [0-9]+\$"

# A has no impact 15 simulated minutes after opening: a reminder.
check "sopIncidentReminder arrives for A" wait_long 40 has_trap "$REMINDER"
check "it names A's host" carries "$REMINDER" "$COL.5.$A" 'STRING: "db1"'
check "and A's rule" carries "$REMINDER" "$COL.6.$A" 'STRING: "c-crit"'
check "it says why in sopNotifNote" \
    carries "$REMINDER" "$NOTE" 'STRING: "impact not set 15 minutes after opening'
check "it carries A's latest note" \
    carries "$REMINDER" "$COL.21.$A" 'STRING: "vendor called, disk on its way"'
check "it carries the empty impact" carries "$REMINDER" "$COL.18.$A" '""'
check "it carries A's latest event" \
    carries "$REMINDER" "$LASTEV" 'STRING: "CCRIT disk failed on /dev/sdb"'
check "and no link (no http.public_url)" carries "$REMINDER" "$LINK" '""'
check "and its sequence number" \
    carries_re "$REMINDER" "$MIB\\.1\\.6\\.5\\.0 = Gauge32: [0-9]+\$"

# The agent serves the new columns.
check "A gets its impact" post "/api/v1/incidents/$A" \
    '{"actor": "suzuki", "impact": "orders database read-only", "eta": "2026-11-26T05:30:00Z"}'
check "sopIncidentImpact.$A is served" \
    served "$COL.18.$A" 'STRING: "orders database read-only"'
check "sopIncidentWorkaround.$A is served (empty)" served "$COL.19.$A" '= ""'
check "sopIncidentExpectedRecovery.$A is served" \
    served "$COL.20.$A" 'Hex-STRING: 07 EA 0B 1A 05 1E 00 00 2B 00 00'
check "sopIncidentLastNote.$A is served" \
    served "$COL.21.$A" 'STRING: "vendor called, disk on its way"'
check "a walk of the table ends with column 21" sh -c \
    "snmpwalk -v2c -c public -t 2 -r 1 -On $AG $COL | tail -1 | grep -q '^$COL\\.21\\.$A = '"

# A reload: sopConfigReloaded with the generation and what changed.
cat >> "$T/rules.yaml" <<'EOC'
  - name: c-high
    match: { message: 'CHIGH (?<what>\w+)' }
    severity: high
EOC
kill -HUP "$SOPD_PID"
check "sopConfigReloaded arrives" wait_for has_trap "$RELOADED"
check "it carries sopConfigGeneration.0 = 1" \
    carries "$RELOADED" "$MIB.1.1.4.0" 'Gauge32: 1'
check "it carries sopLastReloadTime.0 (2026-11-26 UTC)" \
    carries_re "$RELOADED" "$MIB\\.1\\.1\\.5\\.0 = Hex-STRING: 07 EA 0B 1A "
check "it says what changed in sopNotifNote" \
    carries "$RELOADED" "$NOTE" 'STRING: "rules: added c-high.'
check "and its sequence number" \
    carries_re "$RELOADED" "$MIB\\.1\\.6\\.5\\.0 = Gauge32: [0-9]+\$"
snmpwalk -v2c -c public -t 2 -r 1 -On "$AG" "$MIB.1.6.4.1.3" > "$T/nlog" 2>&1
check "sopNotifLogTable logs the reminder" grep -q "OID: $REMINDER\$" "$T/nlog"
check "sopNotifLogTable logs the reload" grep -q "OID: $RELOADED\$" "$T/nlog"
check "no unknown notification was logged" sh -c "! grep -q 'unknown notification' '$T/sopd.log'"
check "sopConfigReloaded carries no incident's event or link" sh -c \
    "! grep -F -- 'OID: $RELOADED$TAB' '$T/traps.log' | grep -qF -e '$LASTEV' -e '$LINK'"

# With http.public_url (a reload applies it) the link is the incident's
# page, in traps and informs alike; a latest event longer than a SopText
# is cut at 255 octets on a character boundary.
P_INFORMD=$((BASE + 6))
cat > "$T/informd.conf" <<EOC
disableAuthorization yes
authCommunity log public
EOC
SNMP_PERSISTENT_DIR=$T/informd snmptrapd -f -Lf "$T/informs.log" -C -c "$T/informd.conf" -On \
    udp:127.0.0.1:$P_INFORMD >/dev/null 2>&1 &
PIDS="$PIDS $!"
check "a second snmptrapd (for informs) listens" wait_for sh -c "ss -Hlun | grep -q ':$P_INFORMD '"
python3 - "$T/sopd.yaml" "$P_HTTP" "$P_INFORMD" <<'EOC'
import sys
p, http, informd = sys.argv[1:]
t = open(p).read()
t = t.replace("http:\n  listen: 127.0.0.1:%s\n" % http,
    "http:\n  listen: 127.0.0.1:%s\n  public_url: \"https://sop.example.jp:8443/\"\n" % http)
t = t.replace("    nms: { type: snmp-trap,",
    "    nmsi: { type: snmp-inform, address: 127.0.0.1:%s, community: public }\n"
    "    nms: { type: snmp-trap," % informd)
t = t.replace("[nms]", "[nms, nmsi]")
open(p, "w").write(t)
EOC
kill -HUP "$SOPD_PID"
check "the second reload is told" wait_for sh -c "[ \$(grep -cF -- 'OID: $RELOADED$TAB' '$T/traps.log') -ge 2 ]"
check "it added the inform target" carries_re "$RELOADED" 'targets: added nmsi'
# value_of LOG NOTIF TEXT OID: the value of OID (text, hex decoded as
# UTF-8) in the last NOTIF of LOG that has TEXT; snmptrapd prints text that
# is not ASCII in hex, 16 octets a line, so a notification may span lines.
cat > "$T/value_of.py" <<'EOC'
import re, sys
log, notif, text, oid = sys.argv[1:]
head = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d .*\]:$", re.M)
found = None
for n in head.split(open(log, errors="replace").read()):
    if ("OID: %s\t" % notif) in n and text in n:
        found = n
if found is None:
    sys.exit(1)
m = re.search(r"(?:^|\t)" + re.escape(oid) + r" = ([^\t]*)", found)
if m is None:
    sys.exit(1)
v = m.group(1).strip()
if v.startswith("Hex-STRING: "):
    v = bytes.fromhex(v[12:]).decode("utf-8")
elif v.startswith('STRING: "'):
    v = v[9:-1]
elif v == '""':
    v = ""
print(v)
EOC
value_of() { python3 "$T/value_of.py" "$@"; }
# has_value LOG NOTIF TEXT OID VALUE
has_value() { [ "$(value_of "$1" "$2" "$3" "$4")" = "$5" ]; }
check "sato acknowledges A" post "/api/v1/incidents/$A/ack" '{"actor": "sato"}'
check "sopIncidentAcknowledged arrives as a trap" wait_for has_trap "$ACKED"
check "it carries sopIncidentAcknowledgedTime, a real time (11 octets)" wait_for carries_re "$ACKED" \
    "$COL\\.15\\.$A = Hex-STRING: 07 ([0-9A-F]{2} ){9}[0-9A-F]{2} ?$TAB"
check "it carries sopNotifLink, A's page" \
    carries "$ACKED" "$LINK" "STRING: \"https://sop.example.jp:8443/?incident=$A\""
check "and A's latest event" \
    carries "$ACKED" "$LASTEV" 'STRING: "CCRIT disk failed on /dev/sdb"'
check "the inform carries A's page" wait_for has_value "$T/informs.log" "$ACKED" \
    "$COL.5.$A = " "$LINK" "https://sop.example.jp:8443/?incident=$A"
check "and A's latest event" has_value "$T/informs.log" "$ACKED" \
    "$COL.5.$A = " "$LASTEV" "CCRIT disk failed on /dev/sdb"
check "then sopNotifSequence, last" sh -c "grep -F -- 'OID: $ACKED$TAB' '$T/informs.log' |
    grep -qE -- '$LINK = STRING: \"[^\"]*\"$TAB$MIB\\.1\\.6\\.5\\.0 = Gauge32: [0-9]+\$'"
# 11 + 100 three-octet characters (311 octets): 81 of them fit (254).
send web2 "CCRIT long $(python3 -c 'print("\u3042" * 100)')"
check "a third critical opens" wait_for sh -c \
    "curl -sf '$API/api/v1/incidents?state=active&host=web2' | jq -e '.incidents | length == 1'"
C=$(inc web2)
check "its opening arrives with its page" wait_for has_value "$T/traps.log" "$OPENED" \
    "$COL.5.$C = " "$LINK" "https://sop.example.jp:8443/?incident=$C"
check "sopNotifLastEvent is cut at 255 octets on a character boundary" \
    has_value "$T/traps.log" "$OPENED" "$COL.5.$C = " "$LASTEV" \
    "CCRIT long $(python3 -c 'print("\u3042" * 81)')"
tr() {
	snmptranslate -M "$ROOT/mibs:$ROOT/build/ietf-mibs" -m +SOP-APPLIANCE-MIB \
	    -On "SOP-APPLIANCE-MIB::$1" 2>/dev/null
}
check "the MIB names sopIncidentReminder $REMINDER" test "$(tr sopIncidentReminder)" = "$REMINDER"
check "the MIB names sopConfigReloaded $RELOADED" test "$(tr sopConfigReloaded)" = "$RELOADED"
check "the MIB names sopNotifNote" test "$(tr sopNotifNote)" = "$MIB.1.6.6"
check "the MIB names sopIncidentLastNote" test "$(tr sopIncidentLastNote)" = "$COL.21"
check "the MIB names sopNotifLastEvent" test "$(tr sopNotifLastEvent)" = "$MIB.1.6.7"
check "the MIB names sopNotifLink" test "$(tr sopNotifLink)" = "$MIB.1.6.8"
check "sopd is still alive" alive
check "sopd stops cleanly" stop_sopd
