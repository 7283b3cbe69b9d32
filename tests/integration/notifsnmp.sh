#!/bin/bash
# notifsnmp.sh: SNMP notifications carry what the other notices carry.
# A real snmptrapd receives sopd's traps: an incident notification carries
# the owner, the impact, workaround and expected recovery, the latest note
# and the notice's note (sopNotifNote); a critical without impact 15
# minutes after opening sends sopIncidentReminder; a reload sends
# sopConfigReloaded with its generation and what changed; both are logged
# in sopNotifLogTable; the agent serves the new sopIncidentTable columns.
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
OPENED=$MIB.0.1
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
check "it carries sopNotifNote (the resolution's note)" \
    carries "$RESOLVED" "$NOTE" 'STRING: "relay restarted, queue drained"'
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
tr() {
	snmptranslate -M "$ROOT/mibs:$ROOT/build/ietf-mibs" -m +SOP-APPLIANCE-MIB \
	    -On "SOP-APPLIANCE-MIB::$1" 2>/dev/null
}
check "the MIB names sopIncidentReminder $REMINDER" test "$(tr sopIncidentReminder)" = "$REMINDER"
check "the MIB names sopConfigReloaded $RELOADED" test "$(tr sopConfigReloaded)" = "$RELOADED"
check "the MIB names sopNotifNote" test "$(tr sopNotifNote)" = "$MIB.1.6.6"
check "the MIB names sopIncidentLastNote" test "$(tr sopIncidentLastNote)" = "$COL.21"
check "sopd is still alive" alive
check "sopd stops cleanly" stop_sopd
