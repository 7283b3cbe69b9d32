#!/bin/bash
# web.sh: the status page in a real browser (headless Chromium): incidents,
# summary and escaped titles in the DOM after the page's script ran, and the
# Ack button clicked through the DevTools protocol (a small Node.js client on
# --remote-debugging-pipe). WEB_SHOT=FILE keeps a screenshot of the page.
. "$(dirname "$0")/../lib.sh"

CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser)}
if [ -z "$CHROMIUM" ] || ! command -v node >/dev/null; then
	notok "chromium and node are installed (make deps)"
	exit 1
fi
# Flags that keep Chromium offline, quiet and away from the user's profile
# (one a line: the resolver rule holds spaces); it can resolve no name at all.
CHROME_FLAGS="--headless
--no-sandbox
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
export CHROMIUM CHROME_FLAGS

# chrome ARGS...: one bounded Chromium run; its stderr noise goes to a file.
chrome() {
	rm -rf "$T/chrome"
	(IFS=$'\n'; set -f; exec timeout -k 5 60 "$CHROMIUM" $CHROME_FLAGS "$@" 2>>"$T/chrome.err")
}
# send TAG PRIORITY MESSAGE: one RFC 3164 line over UDP.
send() {
	logger -n 127.0.0.1 -P "$P_SYSLOG" -d --rfc3164 -t "$1" -p "$2" "$3"
}
jq_ok() { api "$1" | jq -e "$2" >/dev/null 2>&1; }
id_of() { api "/api/v1/incidents?rule=$1" | jq -r '.incidents[0].id'; }
# dom_has STRING: the dumped DOM holds STRING, literally.
dom_has() { grep -qF -- "$1" "$T/dom.html" || { echo "# not in the DOM: $1"; return 1; }; }
# dom_count PATTERN N: PATTERN (a fixed string) occurs N times in the DOM.
dom_count() {
	n=$(grep -oF -- "$1" "$T/dom.html" | wc -l)
	[ "$n" -eq "$2" ] || { echo "# '$1' $n times in the DOM, want $2"; return 1; }
}
# dom_row ID SEVERITY STATE HOST TITLE: the table row of incident ID (title as HTML).
dom_row() {
	dom_has "<tr class=\"$3\"><td class=\"num\">$1</td><td><span class=\"sev $2\">$2</span></td><td>$3</td><td>L"
	tr -d '\n' <"$T/dom.html" | grep -oE "<tr class=\"$3\"><td class=\"num\">$1</td>.*" |
	    sed 's#</tr>.*##' >"$T/row"
	grep -qF -- "<td>$4</td><td class=\"title\" title=\"rule " "$T/row" &&
	    grep -qF -- ">$5</td>" "$T/row" || { echo "# row $1: $(cat "$T/row")"; return 1; }
}
# stat_is ID VALUE: a summary card shows VALUE.
stat_is() { dom_has "<div class=\"num\" id=\"$1\">$2</div>"; }

write_config </dev/null
start_sopd || { notok "sopd starts"; exit 1; }
ok "sopd starts"

send kernel kern.crit "EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0"
send kernel kern.err "blk_update_request: I/O error, dev <script>alert(1)</script>, sector 2048"
send systemd daemon.err "Failed to start <img src=x onerror=alert(1)>."
check "three incidents open through syslog" wait_for jq_ok \
    "/api/v1/incidents?state=active" '.incidents | length == 3'
FS=$(id_of filesystem-error)
IO=$(id_of disk-io-error)
UNIT=$(id_of systemd-unit-failed)
HOST=$(api "/api/v1/incidents/$FS" | jq -r .host)
check "titles carry the raw HTML" jq_ok "/api/v1/incidents/$IO" \
    '.title | contains("<script>alert(1)</script>")'
api /api/v1/stats >"$T/stats.json"

# The DOM after the page's script ran (virtual time lets fetch() finish).
start=$(date +%s)
chrome --virtual-time-budget=5000 --dump-dom "$API/" >"$T/dom.html"
check "chromium dumps the page's DOM" grep -q '</html>' "$T/dom.html"
check "page reports the daemon running" dom_has '<span id="health" class="health ok">running</span>'
check "filesystem error row: critical, open, host, title" \
    dom_row "$FS" critical open "$HOST" "File system error on $HOST device sda1"
check "disk I/O error row shows the <script> title as text" \
    dom_row "$IO" critical open "$HOST" \
    "Disk I/O error on $HOST device &lt;script&gt;alert(1)&lt;/script&gt;"
check "systemd unit row shows the <img> title as text" \
    dom_row "$UNIT" medium open "$HOST" \
    "systemd unit &lt;img src=x onerror=alert(1)&gt; failed on $HOST"
check "no element injected: one <script> (app.js), no <img>" \
    eval 'dom_count "<script" 1 && dom_count "<img" 0 && ! grep -q "<script>alert" "$T/dom.html"'
check "each open incident has an Ack and a Resolve button" \
    eval 'dom_count ">Ack</button>" 3 && dom_count ">Resolve</button>" 3'
check "summary: 3 active, 2 critical, 1 medium, 0 high, 0 low" eval \
    'stat_is n-active 3 && stat_is n-critical 2 && stat_is n-medium 1 &&
     stat_is n-high 0 && stat_is n-low 0'
rcv=$(jq '[.inputs[].received] | add' "$T/stats.json")
check "summary: messages in ($rcv) and dropped (0) from /api/v1/stats" \
    eval 'stat_is n-received "$rcv" && stat_is n-dropped 0'
check "footer names the version" dom_has "<span id=\"version\">sopd $(jq -r .daemon.version "$T/stats.json"), up "

# A screenshot for people to look at (not asserted on beyond its existence).
chrome --virtual-time-budget=3000 --window-size=1280,800 \
    --screenshot="$T/page.png" "$API/" >/dev/null
check "chromium takes a screenshot of the page" test -s "$T/page.png"
if [ -n "$WEB_SHOT" ]; then cp "$T/page.png" "$WEB_SHOT"; fi

# Click Ack on the disk I/O incident, as a person would, over the DevTools pipe.
cat >"$T/click.js" <<'EOF'
// click.js URL ID: load the page, click incident ID's Ack button, report the page.
"use strict";
const { spawn } = require("node:child_process");
const [url, id] = process.argv.slice(2);
const flags = process.env.CHROME_FLAGS.split("\n");
const chrome = spawn(process.env.CHROMIUM,
    [...flags, "--remote-debugging-pipe", "--window-size=1280,800", "about:blank"],
    { stdio: ["ignore", "ignore", "inherit", "pipe", "pipe"] });
const out = { dialogs: [], errors: [] };
let seq = 0, buf = "";
const waiting = new Map();

let done = false;

// Print the report, close Chromium (killing it if it lingers) and exit.
function finish(code) {
	if (done)
		return;
	done = true;
	console.log(JSON.stringify(out));
	chrome.removeAllListeners("exit");
	chrome.on("exit", () => process.exit(code));
	setTimeout(() => { chrome.kill("SIGKILL"); process.exit(code); }, 3000);
	send("Browser.close").catch(() => {});
}
setTimeout(() => { out.errors.push("timed out"); finish(2); }, 40000);
chrome.on("exit", () => { out.errors.push("chromium exited early"); done = true;
	console.log(JSON.stringify(out)); process.exit(2); });

// One DevTools command; resolves with its result.
function send(method, params, sessionId) {
	const msg = { id: ++seq, method, params: params || {} };
	if (sessionId) msg.sessionId = sessionId;
	chrome.stdio[3].write(JSON.stringify(msg) + "\0");
	return new Promise((ok, fail) => waiting.set(msg.id, { ok, fail, method }));
}
chrome.stdio[4].on("data", (d) => {
	buf += d.toString();
	let i;
	while ((i = buf.indexOf("\0")) >= 0) {
		const m = JSON.parse(buf.slice(0, i));
		buf = buf.slice(i + 1);
		if (m.id && waiting.has(m.id)) {
			const w = waiting.get(m.id);
			waiting.delete(m.id);
			if (m.error) w.fail(new Error(w.method + ": " + m.error.message));
			else w.ok(m.result);
		} else if (m.method === "Page.javascriptDialogOpening") {
			out.dialogs.push(m.params.message);
			send("Page.handleJavaScriptDialog", { accept: true }, m.sessionId);
		} else if (m.method === "Runtime.exceptionThrown") {
			out.errors.push(m.params.exceptionDetails.text);
		} else if (m.method === "Log.entryAdded" && m.params.entry.level === "error") {
			out.errors.push(m.params.entry.text + " " + (m.params.entry.url || ""));
		} else if (m.method === "Runtime.consoleAPICalled" && m.params.type === "error") {
			out.errors.push("console.error");
		}
	}
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Evaluate a page expression and return its value.
async function evaluate(s, expr) {
	const r = await send("Runtime.evaluate", { expression: expr, returnByValue: true }, s);
	if (r.exceptionDetails) throw new Error(expr + ": " + r.exceptionDetails.text);
	return r.result.value;
}

// Poll a page expression until it is true (or 10 s passed).
async function until(s, expr) {
	for (let i = 0; i < 100; i++) {
		if (await evaluate(s, expr)) return true;
		await sleep(100);
	}
	return false;
}

// The table as the page shows it: one array of cell texts per row.
const TABLE = `[...document.querySelectorAll("#incidents tbody tr")].map(tr =>
    [...tr.cells].map(td => td.textContent))`;
const ROW = `[...document.querySelectorAll("#incidents tbody tr")]
    .find(tr => tr.cells[0].textContent === ${JSON.stringify(id)})`;

async function main() {
	const { targetInfos } = await send("Target.getTargets");
	let page = targetInfos.find((t) => t.type === "page");
	const targetId = page ? page.targetId :
	    (await send("Target.createTarget", { url: "about:blank" })).targetId;
	const { sessionId: s } = await send("Target.attachToTarget", { targetId, flatten: true });
	await send("Page.enable", {}, s);
	await send("Runtime.enable", {}, s);
	await send("Log.enable", {}, s);
	await send("Page.navigate", { url }, s);
	out.loaded = await until(s, `!!(${ROW}) && document.getElementById("health").textContent === "running"`);
	out.before = await evaluate(s, TABLE);
	// A real mouse click in the middle of the button.
	const box = await evaluate(s, `(() => { const b = [...(${ROW}).querySelectorAll("button")]
	    .find(b => b.textContent === "Ack"); if (!b) return null; b.scrollIntoView();
	    const r = b.getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; })()`);
	out.clicked = !!box;
	if (box) {
		for (const type of ["mouseMoved", "mousePressed", "mouseReleased"])
			await send("Input.dispatchMouseEvent",
			    { type, x: box.x, y: box.y, button: "left", clickCount: 1 }, s);
	}
	out.acked = await until(s, `(${ROW}).cells[2].textContent === "acknowledged"`);
	out.after = await evaluate(s, TABLE);
	out.error_line = await evaluate(s, `document.getElementById("error").hidden ? "" :
	    document.getElementById("error").textContent`);
	out.injected = await evaluate(s, `document.querySelectorAll("#incidents img, #incidents script").length`);
	finish(0);
}
main().catch((e) => { out.errors.push(String(e.message || e)); finish(1); });
EOF
timeout -k 5 60 node "$T/click.js" "$API/" "$IO" >"$T/click.json" 2>>"$T/chrome.err"
echo "# click: $(cat "$T/click.json")"
click_ok() { jq -e "$1" "$T/click.json" >/dev/null 2>&1; }
check "DevTools session loads the page with incident $IO" click_ok '.loaded == true'
check "live page shows the <script> title as its text" click_ok \
    ".before[] | select(.[0] == \"$IO\") | .[5] == \"Disk I/O error on $HOST device <script>alert(1)</script>\""
check "incident $IO has an Ack button, clicked with the mouse" click_ok '.clicked == true'
check "the row turns acknowledged in the page" click_ok '.acked == true'
check "after the click its row has Resolve but no Ack" click_ok \
    ".after[] | select(.[0] == \"$IO\") | .[9] == \"Resolve\""
check "the other incidents stay open" click_ok \
    "[.after[] | select(.[0] != \"$IO\") | .[2]] == [\"open\", \"open\"]"
check "no error line, dialog, script exception, failed load or injected element" \
    click_ok '.error_line == "" and .dialogs == [] and .errors == [] and .injected == 0'
check "the daemon has incident $IO acknowledged by actor web" jq_ok "/api/v1/incidents/$IO" \
    '.state == "acknowledged" and (.history | map(select(.actor == "web")) | length == 1)'
check "incident $FS is still open" jq_ok "/api/v1/incidents/$FS" '.state == "open"'
echo "# chromium runs took $(( $(date +%s) - start )) s"

check "sopd still alive" alive
check "sopd stops cleanly" stop_sopd
rm -rf "$T/chrome"
