#!/bin/bash
# web2.sh: the console's owner and SOP views in a real browser (headless
# Debian chromium, puppeteer-core from `make deps`) against a real sopd fed
# by syslog: assign an owner from the page, the API and sopctl, recorded
# under the real user and shown on the row; the incident's timeline with
# the notices sent for it; axe-core clean, screenshots kept.
. "$(dirname "$0")/../lib.sh"

CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser)}
if [ -z "$CHROMIUM" ] || ! command -v node >/dev/null || [ ! -d "$ROOT/node_modules/puppeteer-core" ]; then
	notok "chromium, node and puppeteer-core are installed (make deps)"
	exit 1
fi
CHROME_FLAGS="--no-sandbox
--disable-gpu
--disable-quic
--no-first-run
--disable-background-networking
--disable-component-update
--disable-sync
--disable-extensions
--disable-default-apps
--no-default-browser-check
--no-proxy-server
--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1
--user-data-dir=$T/chrome"
SHOTS=$ROOT/build/test-logs
mkdir -p "$SHOTS"
rm -f "$SHOTS"/web2-*.png

raw() {
	printf '<%s>%s %s %s: %s' "$3" "$(LC_ALL=C date '+%b %e %H:%M:%S')" "$1" "$2" "$4" \
	    >/dev/udp/127.0.0.1/"$P_SYSLOG"
}
tapi() { curl -sf -H "Authorization: Bearer $TOKEN" "$API$1"; }
tjq() { tapi "$1" | jq -e "$2" >/dev/null 2>&1; }
tpost() { curl -s -o "$T/post.out" -w '%{http_code}' -H "Authorization: Bearer $2" \
    -H 'Content-Type: application/json' --data "$3" "$API$1"; }

echo 'night shift' | "$SOPCTL" passwd >"$T/alice.hash"
"$SOPCTL" token >"$T/token"
TOKEN=$(sed -n 's/^token: //p' "$T/token")
"$SOPCTL" token >"$T/vtoken"
VTOKEN=$(sed -n 's/^token: //p' "$T/vtoken")
printf '#!/bin/sh\necho "$SOPD_INCIDENT_ID" >>%s/paged\n' "$T" >"$T/page.sh"
chmod +x "$T/page.sh"
write_config <<EOF
notify:
  targets:
    pager: { type: exec, command: $T/page.sh, timeout: 5s }
  levels:
    L2: [pager]
EOF
awk -v p="$P_HTTP" -v h="$(cat "$T/alice.hash")" -v t="$(sed -n 's/^sha256: //p' "$T/token")" \
    -v v="$(sed -n 's/^sha256: //p' "$T/vtoken")" '{ print }
    $0 == "  listen: 127.0.0.1:" p && !done { print "  users:\n    - {name: alice, role: operator, password: \047" h "\047}";
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

start=$(date +%s)
CHROMIUM="$CHROMIUM" CHROME_FLAGS="$CHROME_FLAGS" URL="$API/" USER_NAME=alice \
    PASSWORD='night shift' SHOTS="$SHOTS" AXE="$ROOT/node_modules/axe-core/axe.min.js" \
    SOP="${WEB2_SOP:-1}" NODE_PATH="$ROOT/node_modules" \
    timeout -k 5 170 node "$ROOT/tests/web_sop.js" >"$T/web.json" 2>"$T/node.err"
echo "# browser run took $(( $(date +%s) - start )) s"
jq -c 'del(.axe)' "$T/web.json" 2>/dev/null | cut -c1-2000 | sed 's/^/# /'
[ -s "$T/node.err" ] && sed 's/^/# node: /' "$T/node.err" | head -20
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
for s in $(jq -r '.axe | keys[]' "$T/web.json" 2>/dev/null); do
	check "axe-core: no serious or critical violation ($s)" w ".axe[\"$s\"] == []"
done
check "screenshots of the timeline kept" test -s "$SHOTS/web2-timeline-dark.png"
check "no script error, alert or failed request in the page" w '.errors == []'
check "sopd stops cleanly" stop_sopd
rm -rf "$T/chrome"
