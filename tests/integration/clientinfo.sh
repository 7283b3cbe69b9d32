#!/bin/bash
# clientinfo.sh: what the client is told of an incident (SOP 3.1): impact,
# workaround and expected recovery set through the API and sopctl and kept
# in the history; a critical without impact 15 minutes after opening
# reminds its level once; every notice carries the latest note, the owner,
# those fields, the last event's text and a link to the incident on the
# page; the incident's report exported as text and JSON.
#
# sopd runs under libfaketime at x60 (a simulated minute per real second),
# the build without sanitizers as in escalation.sh.
. "$(dirname "$0")/../lib.sh"

accel_sopd x60
make -C "$ROOT" -s build/sopctl >/dev/null 2>&1 || { notok "build/sopctl builds"; exit 1; }
SOPCTL=$ROOT/build/sopctl

P_HOOK=$((BASE + 5))
HOOK_PID=""
trap '[ -n "$HOOK_PID" ] && kill "$HOOK_PID" 2>/dev/null; cleanup' EXIT
start_webhook "$P_HOOK" "$T/hook.out"
# The exec hook keeps the environment it was given, one file per notice.
cat > "$T/page.sh" <<EOF2
#!/bin/sh
env | grep '^SOPD_' > "$T/env.\$SOPD_IDEMPOTENCY_KEY"
EOF2
chmod +x "$T/page.sh"

cat > "$T/rules.yaml" <<'EOF2'
rules:
  - name: c-crit
    match: { message: 'CCRIT (?<what>\w+)' }
    severity: critical
    key: "{host}:{what}"
EOF2
RULES=$T/rules.yaml write_config <<EOF2
http:
  listen: 127.0.0.1:$P_HTTP
  public_url: "https://sop.example.jp:8443/"
notify:
  retry: { initial: 1s, max: 1s, max_attempts: 5 }
  targets:
    hook: { type: webhook, url: "http://127.0.0.1:$P_HOOK/hook", timeout: 5s }
    page: { type: exec, command: "$T/page.sh", timeout: 10s }
  levels:
    L2: [hook, page]
    client: [hook]
EOF2
# The test's http: section replaces write_config's.
python3 - "$T/sopd.yaml" <<'EOF2'
import sys
p = sys.argv[1]
lines = open(p).read().split("\n")
i = lines.index("http:")
del lines[i:i + 2]
open(p, "w").write("\n".join(lines))
EOF2

# A public_url that is not an http(s) address is refused at its place.
sed 's|public_url: .*|public_url: "ftp://sop.example.jp/"|' "$T/sopd.yaml" > "$T/bad.yaml"
"$REAL_SOPD" -t -c "$T/bad.yaml" > "$T/bad.out" 2>&1; rc=$?
check "sopd -t refuses a public_url that is not http(s)" [ $rc -ne 0 ]
check "at its file:line:col" grep -q \
    'bad.yaml:[0-9]*:[0-9]*: public_url: expected an http:// or https:// address' "$T/bad.out"

send() {
	printf '<10>Nov 26 10:00:00 %s app: %s' "$1" "$2" \
	    > /dev/udp/127.0.0.1/"$P_SYSLOG"
}
inc() {
	api_get "/api/v1/incidents?rule=c-crit&host=$1&limit=1" | jq -r '.incidents[0].id'
}
post() {
	for _ in 1 2 3 4 5; do
		c=$(curl -s -o "$T/body" -w '%{http_code}' -X POST \
		    -H 'Content-Type: application/json' --data "$2" "$API$1")
		[ "$c" != 000 ] && break
		sleep 0.1
	done
	[ "$c" = 200 ] || { echo "# POST $1: $c $(cat "$T/body")"; return 1; }
}
# jqf FILE JQ: the JSON in FILE passes the jq test.
jqf() { jq -e "$2" "$1" >/dev/null 2>&1; }
hook_has() { [ -f "$T/hook.out" ] && jq -s -e "any(.[]; $1)" "$T/hook.out" >/dev/null 2>&1; }
hook_count() { jq -s "[.[] | select($1)] | length" "$T/hook.out" 2>/dev/null; }

# Thursday 2026-11-26 10:00 in Tokyo.
FT="@2026-11-26 01:00:00"
start_sopd || { notok "sopd starts under libfaketime"; exit 1; }
send db1 "CCRIT disk failed on /dev/sdb"
send mail1 "CCRIT queue stuck"
send fw1 "CCRIT link down"
check "three criticals open" wait_for api_jq "/api/v1/incidents?state=active" \
    '.incidents | length == 3'
A=$(inc db1); B=$(inc mail1); C=$(inc fw1)

# Fields through the API: B's impact is set at once.
check "impact, workaround and eta set through the API" post \
    "/api/v1/incidents/$B" '{"actor": "tanaka", "impact": "mail to customers delayed", "workaround": "use the backup relay", "eta": "2026-11-26T03:00:00Z"}'
check "the answer shows them" jqf "$T/body" '.impact == "mail to customers delayed" and
    .workaround == "use the backup relay" and .eta == "2026-11-26T03:00:00Z"'
check "the change is in the history with its actor" api_jq "/api/v1/incidents/$B" \
    '[.history[] | select(.action == "set" and .actor == "tanaka" and
      (.note | test("impact: mail to customers delayed")))] | length == 1'
check "a bad eta is refused (400)" sh -c "curl -s -o /dev/null -w '%{http_code}' \
    -X POST -H 'Content-Type: application/json' --data '{\"eta\": \"soon\"}' \
    '$API/api/v1/incidents/$B' | grep -qx 400"
check "sato acknowledges B" post "/api/v1/incidents/$B/ack" '{"actor": "sato"}'
check "a note on A with sopctl" ctl_retry note "$A" -m "vendor called, disk on its way" --actor suzuki

# --- the reminder: A has no impact 15 simulated minutes after opening ---
check "A reminds L2 that its impact is not set" wait_long 40 \
    hook_has ".kind == \"reminder\" and .incident.id == $A and .level == \"L2\""
check "the reminder is in A's history" api_jq "/api/v1/incidents/$A" \
    '[.history[] | select(.action == "remind")] | length == 1'
# Ten more simulated minutes: no second reminder, none for B.
sleep 10
check "A reminded once" [ "$(hook_count ".kind == \"reminder\" and .incident.id == $A")" = 1 ]
check "B (impact set) never reminds" [ "$(hook_count ".kind == \"reminder\" and .incident.id == $B")" = 0 ]

# --- fields by sopctl, shown by sopctl show ---
check "sopctl set gives A its impact" ctl_retry set "$A" --impact "orders database read-only" \
    --workaround "none" --eta "2026-11-26 13:00" --actor suzuki
check "sopctl show prints the impact" sh -c "'$SOPCTL' -u '$API' show $A | grep -q 'impact  *orders database read-only'"
check "and the expected recovery in the calendar's zone" sh -c \
    "'$SOPCTL' -u '$API' show $A | grep -q 'recovery (eta)  *2026-11-26 13:00'"

# --- every notice carries note, owner, fields, last event and link ---
send mail1 "CCRIT queue stuck, 5000 messages deferred"
check "the new event is counted" wait_for api_jq "/api/v1/incidents/$B" '.count == 2'
check "B resolved with a note" post "/api/v1/incidents/$B/resolve" \
    '{"actor": "sato", "note": "relay restarted, queue drained"}'
R=".kind == \"resolved\" and .incident.id == $B"
check "the client hears of B's resolution" wait_long 10 hook_has "$R and .level == \"client\""
check "with the note" hook_has "$R and .note == \"relay restarted, queue drained\""
check "the owner" hook_has "$R and .incident.owner == \"sato\""
check "impact, workaround and expected recovery" hook_has "$R and
    .incident.impact == \"mail to customers delayed\" and
    .incident.workaround == \"use the backup relay\" and
    (.incident.eta | startswith(\"2026-11-26T03:00:00\"))"
check "the latest note" hook_has "$R and .incident.last_note == \"relay restarted, queue drained\""
check "the last event's text" hook_has "$R and .incident.last_event == \"CCRIT queue stuck, 5000 messages deferred\""
check "a link to the incident on the page" hook_has \
    "$R and .incident.link == \"https://sop.example.jp:8443/?incident=$B\""
check "the exec hook gets them in its environment" wait_long 10 sh -c \
    "grep -q '^SOPD_IMPACT=mail to customers delayed' '$T/env.$B-resolved' &&
     grep -q '^SOPD_LAST_NOTE=relay restarted, queue drained' '$T/env.$B-resolved' &&
     grep -q '^SOPD_OWNER=sato' '$T/env.$B-resolved' &&
     grep -q '^SOPD_LAST_EVENT=CCRIT queue stuck, 5000 messages deferred' '$T/env.$B-resolved' &&
     grep -q '^SOPD_ETA=2026-11-26T03:00:00' '$T/env.$B-resolved' &&
     grep -q '^SOPD_LINK=https://sop.example.jp:8443/?incident=$B' '$T/env.$B-resolved'"
check "A's reminder carries its note and link too" hook_has \
    ".kind == \"reminder\" and .incident.id == $A and
     .incident.last_note == \"vendor called, disk on its way\" and
     .incident.link == \"https://sop.example.jp:8443/?incident=$A\""

# --- the report for the client ---
check "sopctl export prints the report as text" ctl_retry export "$B"
check "with the fields" sh -c "grep -q '^Impact  *mail to customers delayed' '$T/out' &&
    grep -q '^Owner  *sato' '$T/out' && grep -q '^State  *resolved' '$T/out'"
check "the timeline" sh -c "grep -q 'set .* by tanaka: impact: mail to customers delayed' '$T/out' &&
    grep -q 'resolve .* by sato: relay restarted' '$T/out'"
check "the notes and the events" sh -c "sed -n '/^Notes:/,/^Recent events:/p' '$T/out' |
    grep -q 'sato: relay restarted, queue drained' &&
    sed -n '/^Recent events:/,\$p' '$T/out' | grep -q 'mail1 CCRIT queue stuck, 5000'"
check "sopctl export --json gives the same as JSON" ctl_retry export "$B" --json
check "fields, timeline, notes and events in the JSON" jqf "$T/out" '
    .incident.id == '"$B"' and .incident.impact == "mail to customers delayed" and
    ([.timeline[] | .action] | index("set") != null and index("resolve") != null) and
    ([.notes[] | .note] | index("relay restarted, queue drained") != null) and
    (.events | length == 2)'
check "a resolved incident's impact is still editable" ctl_retry set "$B" \
    --impact "mail to customers delayed 40 minutes" --actor tanaka
check "its report then tells the final impact" sh -c "'$SOPCTL' -u '$API' export $B |
    grep -q '^Impact  *mail to customers delayed 40 minutes'"
check "recorded while resolved" api_jq "/api/v1/incidents/$B" \
    '.state == "resolved" and ([.history[] | select(.action == "set" and .from == "resolved")] | length == 1)'
check "an unknown incident cannot be set (404)" sh -c "curl -s -o /dev/null -w '%{http_code}' \
    -X POST -H 'Content-Type: application/json' --data '{\"impact\": \"x\"}' \
    '$API/api/v1/incidents/99999' | grep -qx 404"
check "GET .../report?format=text is text/plain" sh -c "curl -sf -D - -o /dev/null \
    '$API/api/v1/incidents/$B/report?format=text' | grep -qi '^content-type: text/plain'"
check "an unknown incident's report is 404" sh -c "curl -s -o /dev/null -w '%{http_code}' \
    '$API/api/v1/incidents/99999/report' | grep -qx 404"
check "sopd stops cleanly" stop_sopd

# --- after a restart, a reminder already given is not given again ---
check "C (never given an impact) reminded once" \
    [ "$(hook_count ".kind == \"reminder\" and .incident.id == $C")" = 1 ]
FT="@2026-11-26 03:30:00"
start_sopd || { notok "sopd starts again"; exit 1; }
check "C is still active after the restart" wait_for api_jq "/api/v1/incidents/$C" \
    '.state == "open" and .impact == null'
sleep 3
check "and does not remind again" \
    [ "$(hook_count ".kind == \"reminder\" and .incident.id == $C")" = 1 ]
check "sopd stops cleanly again" stop_sopd
