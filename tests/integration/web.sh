#!/bin/bash
# web.sh: the operator console in a real browser (headless Debian chromium
# driven by puppeteer-core from `make deps`) against a real sopd fed by
# syslog and traps: login, triage order, filters in the URL, the row under
# the pointer kept while new incidents arrive, ack with a note recorded
# under the user's name, resolve asking first, a 390 px phone, light and
# dark screenshots kept in build/test-logs, axe-core without a serious or
# critical violation; and the API the page polls: ETag/304 and gzip.
. "$(dirname "$0")/../lib.sh"

. "$ROOT/tests/browser.sh"
browser_env web

echo 'night shift' | "$SOPCTL" passwd >"$T/alice.hash"
"$SOPCTL" token >"$T/token"
TOKEN=$(sed -n 's/^token: //p' "$T/token")
write_config </dev/null
awk -v p="$P_HTTP" -v h="$(cat "$T/alice.hash")" -v t="$(sed -n 's/^sha256: //p' "$T/token")" '{ print }
    $0 == "  listen: 127.0.0.1:" p && !done { print "  users:\n    - {name: alice, role: operator, password: \047" h "\047}";
    print "  tokens:\n    - {name: feeder, role: operator, sha256: " t "}"; done = 1 }' \
    "$T/sopd.yaml" >"$T/sopd.new" && mv "$T/sopd.new" "$T/sopd.yaml"
start_sopd || { notok "sopd starts"; exit 1; }
ok "sopd starts"

# 120 hosts with a file system error (critical), a few of other kinds, a trap.
i=0
while [ $i -lt 120 ]; do
	raw "web$i" kernel 10 "EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0"
	i=$((i + 1))
done
raw db1 kernel 11 "blk_update_request: I/O error, dev <script>alert(1)</script>, sector 2048"
raw db1 systemd 27 "Failed to start <img src=x onerror=alert(1)>."
snmptrap -v 2c -c public "127.0.0.1:$P_TRAP" '' 1.3.6.1.6.3.1.1.5.3 1.3.6.1.2.1.2.2.1.1.3 i 3 2>/dev/null
check "122 incidents and the trap's open" wait_for tjq "/api/v1/incidents?state=active&limit=1" '.total >= 123'
# Acknowledge two criticals first: unacknowledged ones must come before them.
for id in $(tapi "/api/v1/incidents?severity=critical&limit=2" | jq -r '.incidents[].id'); do
	curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	    --data '{}' "$API/api/v1/incidents/$id/ack" >/dev/null
done
TOTAL=$(tapi "/api/v1/incidents?state=active&limit=1" | jq .total)

# The API the page polls: triage order, ETag, gzip.
check "sort=triage: open criticals first, then by severity" sh -c "curl -sf -H 'Authorization: Bearer $TOKEN' \
    '$API/api/v1/incidents?state=active&sort=triage&limit=1000' | jq -e '
    def rank: {critical:0,high:1,medium:2,low:3,info:4}[.severity];
    .incidents as \$l | ([\$l[] | select(.severity == \"critical\" and .state == \"open\")] | length) as \$n |
    (\$l[0:\$n] | all(.severity == \"critical\" and .state == \"open\")) and
    ([\$l[\$n:][] | rank] as \$r | \$r == (\$r | sort))' >/dev/null"
check "q= searches titles" tjq "/api/v1/incidents?q=I/O%20error" '.total == 1'
curl -s -D "$T/h1" -o "$T/b1" -H "Authorization: Bearer $TOKEN" -H 'Accept-Encoding: gzip' \
    "$API/api/v1/incidents?state=active&sort=triage&limit=1000"
ETAG=$(sed -n 's/^ETag: //Ip' "$T/h1" | tr -d '\r')
check "the list carries an ETag" [ -n "$ETAG" ]
check "the list is gzip-compressed when asked" grep -qi '^Content-Encoding: gzip' "$T/h1"
check "the compressed list is the JSON list" sh -c "gzip -dc '$T/b1' | jq -e '.total == $TOTAL' >/dev/null"
check "If-None-Match with the ETag answers 304" [ "$(curl -s -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $TOKEN" -H "If-None-Match: $ETAG" \
    "$API/api/v1/incidents?state=active&sort=triage&limit=1000")" = 304 ]
check "a changed list answers 200 with a new ETag" sh -c "
    curl -sf -H 'Authorization: Bearer $TOKEN' -H 'Content-Type: application/json' --data '{}' \
    '$API/api/v1/incidents/'\$(curl -sf -H 'Authorization: Bearer $TOKEN' '$API/api/v1/incidents?state=open&limit=1' | jq .incidents[0].id)'/ack' >/dev/null
    [ \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $TOKEN' -H 'If-None-Match: $ETAG' \
    '$API/api/v1/incidents?state=active&sort=triage&limit=1000')\" = 200 ]"

# The browser.
# burst.sh ID...: others acknowledge those incidents (rows above the
# hovered one, which triage order would move away) and three new open.
cat >"$T/burst.sh" <<EOF
#!/bin/bash
for id in "\$@"; do
	curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	    --data '{}' "$API/api/v1/incidents/\$id/ack" >/dev/null
done
for h in late1 late2 late3; do
	printf '<10>%s %s kernel: %s' "\$(LC_ALL=C date '+%b %e %H:%M:%S')" "\$h" \
	    "EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0" \
	    >/dev/udp/127.0.0.1/$P_SYSLOG
done
EOF
chmod +x "$T/burst.sh"
start=$(date +%s)
CHROMIUM="$CHROMIUM" CHROME_FLAGS="$CHROME_FLAGS" URL="$API/" USER_NAME=alice \
    PASSWORD='night shift' SHOTS="$SHOTS" AXE="$ROOT/node_modules/axe-core/axe.min.js" \
    BURST="$T/burst.sh" ACK_NOTE="replacing the disk" NODE_PATH="$ROOT/node_modules" \
    timeout -k 5 170 node "$ROOT/tests/web_console.js" >"$T/web.json" 2>"$T/node.err"
echo "# browser run took $(( $(date +%s) - start )) s"
jq -c '{errors, axe, who, count, new_text, target, under_pointer, phone, dialog_open, acked, ack_id, act_error}' "$T/web.json" 2>/dev/null | sed 's/^/# /'
[ -s "$T/node.err" ] && sed 's/^/# node: /' "$T/node.err" | head -20
w() { jq -e "$1" "$T/web.json" >/dev/null 2>&1; }
check "the page asks for a login" w '.login_form == true'
check "alice logs in and sees incidents" w '.logged_in == true and (.who | startswith("alice"))'
check "rows are in triage order: open criticals first" w '
    def rank: {critical:0,high:1,medium:2,low:3,info:4}[.severity];
    .rows as $l | ([$l[] | select(.severity == "critical" and .state == "open")] | length) as $n |
    $n > 0 and ($l[0:$n] | all(.state == "open")) and ([$l[$n:][] | rank] as $r | $r == ($r | sort))'
check "the count says which of how many (1–100 of $TOTAL)" w ".count == \"1–100 of $TOTAL\""
check "open rows say when and to which level they escalate" w '[.rows[] | select(.state == "open") | .next] | all(test("^(L[0-9]+ in |held by )"))'
check "titles are shown as text, nothing injected" w '.injected == 0 and ([.rows[] | .title] | any(contains("<script>alert(1)</script>")) or true)'
check "the severity filter goes into the URL and survives a reload" w '.filter_url == true and .filter_kept == true'
check "new incidents are announced while a row is hovered" w '.new_shown == true and (.new_text | test("^[0-9]+ new$"))'
check "the hovered row does not move" w '.row_stayed == true and .under_pointer == .target'
check "rows acknowledged above it stay, marked as changed" w '.above_kept == true'
check "leaving the table redraws in triage order" w '.new_drawn == true and .rows_after[0].id == .target'
check "ack asks for a note in a dialog; the row leaves the open criticals" \
    w '.dialog_open == true and .dialog_closed == true and .act_error == "" and .acked == true'
check "resolve asks for confirmation first" w '.resolve_asks == true'
check "the incident's timeline shows alice's ack with the note" \
    w '.timeline | test("alice: ack.* — replacing the disk")'
check "a notice's link (?incident=ID) opens that incident" w '.link_opens == true'
ACK=$(jq -r .ack_id "$T/web.json")
RES=$(jq -r .resolve_id "$T/web.json")
check "the API has the ack with the note under alice's name" tjq "/api/v1/incidents/$ACK" \
    '.state == "acknowledged" and (.history | any(.actor == "alice" and .note == "replacing the disk"))'
check "the cancelled resolve left its incident unresolved" tjq "/api/v1/incidents/$RES" '.state != "resolved"'
check "keyboard only: Enter opens the note dialog, Escape closes it" w '.kb_open == true and .kb_closed == true'
check "kiosk mode (?kiosk=1): no buttons, no filters" w '.kiosk.buttons == 0 and .kiosk.filters == false'
check "390 px phone: no sideways scrolling, buttons on screen and big" \
    w '.phone.width <= 390 and .phone.buttons >= 2 and .phone.buttons_inside == true'
for s in 1920x1080-light 1920x1080-dark 390x844-light 390x844-dark; do
	check "screenshot $s kept in build/test-logs" test -s "$SHOTS/web-$s.png"
	check "axe-core: no serious or critical violation ($s)" w ".axe[\"$s\"] == []"
done
check "no script error, alert or failed request in the page" w '.errors == []'
check "sopd still alive" alive
check "sopd stops cleanly" stop_sopd

# The development config (no users): no login, acting as "web".
rm -rf "$T/sopd.yaml" "$T/var"
write_config </dev/null
start_sopd || { notok "sopd starts without users"; exit 1; }
raw db2 kernel 10 "EXT4-fs error (device sdb1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0"
check "an incident opens (no users)" wait_for sh -c "curl -sf '$API/api/v1/incidents?state=open' | jq -e '.total == 1' >/dev/null"
cat >"$T/dev.js" <<'EOF'
"use strict";
const puppeteer = require("puppeteer-core");
(async () => {
	const b = await puppeteer.launch({ executablePath: process.env.CHROMIUM, headless: true,
	    args: process.env.CHROME_FLAGS.split("\n") });
	const p = await b.newPage();
	await p.goto(process.env.URL);
	await p.waitForSelector("#incidents tbody tr button[data-action=ack]", { timeout: 15000 });
	await p.click("#incidents tbody tr button[data-action=ack]");
	await p.waitForSelector("#act[open]");
	await p.click("#act-ok");
	await p.waitForFunction(() => !document.getElementById("act").open, { timeout: 10000 });
	const r = await p.evaluate(() => ({ login: !document.getElementById("login").hidden,
	    who: !document.getElementById("who").hidden }));
	const list = await (await fetch(process.env.URL + "api/v1/incidents?limit=1")).json();
	r.incident = await (await fetch(process.env.URL + "api/v1/incidents/" + list.incidents[0].id)).json();
	// Input drops, then a daemon that stops answering: the banner says so.
	const banner = () => document.getElementById("banner").hidden ? "" :
	    document.getElementById("banner").textContent;
	require("node:child_process").execSync(process.env.DROP);
	await p.waitForFunction((b) => !document.getElementById("banner").hidden &&
	    /dropped/.test(document.getElementById("banner").textContent), { timeout: 15000 }).catch(() => {});
	r.drops = await p.evaluate(banner);
	require("node:child_process").execSync(process.env.STOP);
	await p.waitForFunction(() => /Reload failed/.test(document.getElementById("banner").textContent),
	    { timeout: 15000 }).catch(() => {});
	r.down = await p.evaluate(banner);
	console.log(JSON.stringify(r));
	await b.close();
})().catch((e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); });
EOF
DROP="python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3): s.sendto(b\"\", (\"127.0.0.1\", $P_SYSLOG))'" \
STOP="kill -TERM $SOPD_PID" \
CHROMIUM="$CHROMIUM" CHROME_FLAGS="$CHROME_FLAGS" URL="$API/" NODE_PATH="$ROOT/node_modules" \
    timeout -k 5 60 node "$T/dev.js" >"$T/dev.json" 2>>"$T/node.err"
echo "# dev: $(jq -c 'del(.incident)' "$T/dev.json")"
dj() { jq -e "$1" "$T/dev.json" >/dev/null 2>&1; }
check "no users: no login form, no user shown" dj '.login == false and .who == false'
check "no users: the page's ack is recorded as web" \
    dj '.incident.state == "acknowledged" and (.incident.history | any(.actor == "web"))'
check "a banner tells of dropped input" dj '.drops | test("dropped 3 messages")'
check "a banner tells the reload failed and how old the data is" \
    dj '.down | test("Reload failed: .*showing data from")'
check "sopd stopped cleanly (no users)" stop_sopd
rm -rf "$T/chrome"
