#!/bin/bash
# web2.sh: the console's owner and SOP views in a real browser (headless
# Debian chromium, puppeteer-core from `make deps`) against a real sopd fed
# by syslog: assign an owner from the page, the API and sopctl, recorded
# under the real user and shown on the row; the incident's timeline with
# the notices sent for it; axe-core clean, screenshots kept.
. "$(dirname "$0")/../lib.sh"

. "$ROOT/tests/browser.sh"
browser_env web2
tpost() { curl -s -o "$T/post.out" -w '%{http_code}' -H "Authorization: Bearer $2" \
    -H 'Content-Type: application/json' --data "$3" "$API$1"; }

echo 'night shift' | "$SOPCTL" passwd >"$T/alice.hash"
echo 'night shift' | "$SOPCTL" passwd >"$T/victor.hash"
"$SOPCTL" token >"$T/token"
TOKEN=$(sed -n 's/^token: //p' "$T/token")
"$SOPCTL" token >"$T/vtoken"
VTOKEN=$(sed -n 's/^token: //p' "$T/vtoken")
printf '#!/bin/sh\necho "$SOPD_INCIDENT_ID" >>%s/paged\n' "$T" >"$T/page.sh"
chmod +x "$T/page.sh"
cat >"$T/sop.yaml" <<'RULES'
rules:
  - name: backup-done
    expect:
      match: { program: "backup*", message: "backup completed" }
      hosts: [backup-1]
      by: "10:00"
  - name: host-silent
    silent: { hosts: all, after: 30m }
RULES
RULES="$ROOT/rules, $T/sop.yaml" write_config <<EOF
notify:
  targets:
    pager: { type: exec, command: $T/page.sh, timeout: 5s }
  levels:
    L2: [pager]
EOF
awk -v p="$P_HTTP" -v h="$(cat "$T/alice.hash")" -v t="$(sed -n 's/^sha256: //p' "$T/token")" \
    -v v="$(sed -n 's/^sha256: //p' "$T/vtoken")" -v vh="$(cat "$T/victor.hash")" '{ print }
    $0 == "  listen: 127.0.0.1:" p && !done { print "  users:\n    - {name: alice, role: operator, password: \047" h "\047}";
    print "    - {name: victor, role: viewer, password: \047" vh "\047}";
    print "  tokens:\n    - {name: feeder, role: operator, sha256: " t "}\n    - {name: wall, role: viewer, sha256: " v "}"; done = 1 }' \
    "$T/sopd.yaml" >"$T/sopd.new" && mv "$T/sopd.new" "$T/sopd.yaml"
start_sopd || { notok "sopd starts"; exit 1; }
ok "sopd starts"

for h in db1 db2 db3; do
	raw "$h" kernel 10 "EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0"
done
check "three incidents open" wait_for tjq "/api/v1/incidents?state=open" '.total == 3'
IDS=$(tapi "/api/v1/incidents?state=open&sort=triage" | jq -r '.incidents[].id')
I1=$(echo "$IDS" | sed -n 1p); I2=$(echo "$IDS" | sed -n 2p); I3=$(echo "$IDS" | sed -n 3p)

# The API: the token's name is the one who assigns, whatever the body says.
check "POST assign answers 200 with the owner" [ "$(tpost "/api/v1/incidents/$I2/assign" "$TOKEN" \
    '{"owner": "bob", "actor": "mallory"}')" = 200 ]
check "the answer is the incident with its owner" sh -c "jq -e '.owner == \"bob\" and .state == \"open\"' '$T/post.out' >/dev/null"
check "the history records who assigned whom" tjq "/api/v1/incidents/$I2" \
    '.history | any(.action == "assign" and .actor == "feeder" and .note == "bob")'
check "the list shows the owner" tjq "/api/v1/incidents?state=active" ".incidents | any(.id == $I2 and .owner == \"bob\")"
check "an assignment without owner is 400" [ "$(tpost "/api/v1/incidents/$I2/assign" "$TOKEN" '{}')" = 400 ]
check "a viewer may not assign (403)" [ "$(tpost "/api/v1/incidents/$I2/assign" "$VTOKEN" '{"owner": "eve"}')" = 403 ]
check "an unknown incident is 404" [ "$(tpost "/api/v1/incidents/999999/assign" "$TOKEN" '{"owner": "eve"}')" = 404 ]
check "an empty owner leaves it to nobody" sh -c "[ \"\$(curl -s -o '$T/un.out' -w '%{http_code}' -H 'Authorization: Bearer $TOKEN' \
    -H 'Content-Type: application/json' --data '{\"owner\": \"\"}' '$API/api/v1/incidents/$I3/assign')\" = 200 ] &&
    jq -e '.owner == null and (.history | any(.action == \"assign\" and .note == \"nobody\"))' '$T/un.out' >/dev/null"
SOPD_TOKEN=$TOKEN "$SOPCTL" -u "$API" assign "$I3" carol >"$T/ctl.out" 2>&1
check "sopctl assign ID NAME" grep -q "incident $I3: owner carol" "$T/ctl.out"
check "sopctl's assignment is in the API, by the token's name" tjq "/api/v1/incidents/$I3" \
    '.owner == "carol" and ([.history[] | select(.action == "assign")] | length == 2 and .[1].actor == "feeder")'
check "the notices sent are on the incident (notifications)" wait_for tjq "/api/v1/incidents/$I1" \
    '.notifications | any(.notification == "opened" and .targets == "pager" and .outcome == "delivered")'

# Windows and changes are made and cancelled in the real user's name.
check "a change requested with a token is the token's" sh -c "[ \"\$(curl -s -o '$T/c10.out' -w '%{http_code}' \
    -H 'Authorization: Bearer $TOKEN' -H 'Content-Type: application/json' --data \
    '{\"id\": \"CHG-10\", \"title\": \"kernel update\", \"hosts\": [\"db2\"], \"requester\": \"mallory\",
      \"start\": \"$(date -u -d '+1 day' +%Y-%m-%dT%H:00:00Z)\", \"end\": \"$(date -u -d '+1 day +2 hours' +%Y-%m-%dT%H:00:00Z)\"}' \
    '$API/api/v1/changes')\" = 201 ] && jq -e '.requester == \"feeder\" and .history[0].actor == \"feeder\"' '$T/c10.out' >/dev/null"
check "a window made with a token is the token's" sh -c "[ \"\$(curl -s -o '$T/w.out' -w '%{http_code}' \
    -H 'Authorization: Bearer $TOKEN' -H 'Content-Type: application/json' --data \
    '{\"id\": \"W-1\", \"title\": \"rack move\", \"hosts\": [\"db3\"], \"approved\": true,
      \"start\": \"$(date -u -d '+3 day' +%Y-%m-%dT%H:00:00Z)\", \"end\": \"$(date -u -d '+3 day +2 hours' +%Y-%m-%dT%H:00:00Z)\"}' \
    '$API/api/v1/windows')\" = 201 ] && jq -e '.requester == \"feeder\" and .approved_by == \"feeder\"' '$T/w.out' >/dev/null"
check "its cancellation too" sh -c "[ \"\$(curl -s -o '$T/wc.out' -w '%{http_code}' -X POST \
    -H 'Authorization: Bearer $TOKEN' '$API/api/v1/windows/W-1/cancel')\" = 200 ] &&
    jq -e '.state == \"cancelled\" and (.history | any(.to == \"cancelled\" and .actor == \"feeder\"))' '$T/wc.out' >/dev/null"
check "a viewer may not request a change (403)" [ "$(tpost /api/v1/changes "$VTOKEN" '{"id": "CHG-99"}')" = 403 ]

start=$(date +%s)
CHROMIUM="$CHROMIUM" CHROME_FLAGS="$CHROME_FLAGS" URL="$API/" USER_NAME=alice \
    PASSWORD='night shift' SHOTS="$SHOTS" AXE="$ROOT/node_modules/axe-core/axe.min.js" \
    SOP="${WEB2_SOP:-1}" VIEWER=victor TODAY="$(TZ=Asia/Tokyo date -d "$(tapi "/api/v1/incidents/$I1" | jq -r .first_seen)" +%F)" DROP="python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3): s.sendto(b\"\", (\"127.0.0.1\", $P_SYSLOG))'" NODE_PATH="$ROOT/node_modules" \
    timeout -k 5 170 node "$ROOT/tests/web_sop.js" >"$T/web.json" 2>"$T/node.err"
echo "# browser run took $(( $(date +%s) - start )) s"
jq -c 'del(.axe)' "$T/web.json" 2>/dev/null | cut -c1-2000 | sed 's/^/# /'
[ -s "$T/node.err" ] && sed 's/^/# node: /' "$T/node.err" | head -20
jq -c '.axe | with_entries(select(.value != []))' "$T/web.json" 2>/dev/null | sed 's/^/# axe: /'
w() { jq -e "$1" "$T/web.json" >/dev/null 2>&1; }
AID=$(jq -r .assign_id "$T/web.json")
check "the assign dialog offers the logged-in name" w '.assign_open == true and .assign_prefill == "alice"'
check "the assignment is shown on the row at once" w '.assign_closed == true and .act_error == "" and .row_owner == "alice"'
check "the API has alice as owner, assigned by alice" tjq "/api/v1/incidents/$AID" \
    '.owner == "alice" and (.history | any(.action == "assign" and .actor == "alice" and .note == "alice"))'
check "the timeline shows the assignment" w '.timeline | any(test("alice: assign — alice"))'
check "the timeline shows the notice sent to the pager, delivered" \
    w '.timeline | any(test("notice opened \\(L2\\) to pager: delivered"))'
check "the timeline is in time order" w '[.timeline[] | .[0:20]] as $t | $t == ($t | sort)'
if [ "${WEB2_SOP:-1}" = 1 ]; then
check "the changes view lists windows and changes, with a request form" w '.changes_shown == true and .change_form == true'
check "a change requested from the page" w '.change_status == "Change CHG-11 requested."'
check "the page's request is alice's" tjq /api/v1/changes/CHG-11 '.requester == "alice" and .history[0].actor == "alice"'
check "approve asks first, then the row says approved" w '(.approve_title | test("^Approve CHG-11")) and .approve_error == "" and (.chg11_row | test("approved"))'
check "the approval is alice's, with the note" tjq /api/v1/changes/CHG-11 \
    '.state == "approved" and .approved_by == "alice" and (.history | any(.to == "approved" and .actor == "alice" and .note == "CAB ok"))'
check "cancel from the page, in alice's name" tjq /api/v1/changes/CHG-10 \
    '.state == "cancelled" and (.history | any(.to == "cancelled" and .actor == "alice"))'
check "the cancelled change shows so and offers no more actions" w '(.chg10_row | test("cancelled")) and (.chg10_row | test("Approve|Cancel") | not)'
check "expected events and silent hosts are listed" w '.expect_shown == true and (.expect_text | test("backup-done")) and (.expect_text | test("host-silent"))'
check "the daily report: counts by severity and a chart" \
    w '(.reports.daily.period | startswith("daily")) and (.reports.today | any(test("^Opened by severity: crit 3, high 0")))'
check "the weekly report charts incidents per day" w '.reports.weekly.charts | any(startswith("Opened per day"))'
check "the weekly report lists its noisiest hosts" w '(.reports.weekly.tables | index("Top hosts")) and (.reports.weekly.charts | any(test("^Incidents of the top hosts: db1 1")))'
check "the monthly report charts SLA achievement" w '(.reports.monthly.charts | any(startswith("SLA achieved"))) and (.reports.monthly.tables | index("SLA"))'
check "input health: a rate per input" w '.inputs_rate == true and (.inputs.rows | any(.[0] == "syslog_udp" and (.[4] | test("/s$"))))'
check "input health: drops per reason, charted" w '(.inputs.rows | any(.[0] == "syslog_udp" and (.[5] | test("empty 3")))) and (.inputs.chart | test("empty 3"))'
check "a viewer sees the changes and incidents, and no button or form to change them" \
    w '(.viewer.who | startswith("victor")) and .viewer.changes == true and .viewer.form == false and .viewer.buttons == 0 and .viewer.row_buttons == 0'
check "the changes view on a 390 px phone: no sideways scrolling" w '.changes_phone.width <= 390 and .changes_phone.buttons_inside == true'
for s in changes changes-390 expect reports inputs; do
	check "screenshot of $s kept" test -s "$SHOTS/web2-$s-light.png"
done
fi
for s in $(jq -r '.axe | keys[]' "$T/web.json" 2>/dev/null); do
	check "axe-core: no serious or critical violation ($s)" w ".axe[\"$s\"] == []"
done
check "screenshots of the timeline kept" test -s "$SHOTS/web2-timeline-dark.png"
check "no script error, alert or failed request in the page" w '.errors == []'
check "sopd stops cleanly" stop_sopd
rm -rf "$T/chrome"
