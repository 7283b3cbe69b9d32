#!/bin/bash
# webperf.sh: the console stays cheap with 5,000 incidents: the first rows
# render in a headless Chromium tab, and the sopd CPU time one open tab
# costs over 60 s is measured (ticks from /proc/PID/stat) and printed.
# The figures are printed, not asserted: a loaded machine must not fail
# the test (README "The console" has figures measured on a quiet one).
. "$(dirname "$0")/../lib.sh"

CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser)}
if [ -z "$CHROMIUM" ] || ! command -v node >/dev/null || [ ! -d "$ROOT/node_modules/puppeteer-core" ]; then
	notok "chromium, node and puppeteer-core are installed (make deps)"
	exit 1
fi
N=${WEBPERF_INCIDENTS:-5000}
SECS=${WEBPERF_SECONDS:-60}
write_config </dev/null
start_sopd || { notok "sopd starts"; exit 1; }
ok "sopd starts"

# N hosts with a file system error each, over TCP (no loss), in one go.
python3 - "$P_SYSLOG" "$N" <<'PY'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
stamp = time.strftime("%b %e %H:%M:%S")
buf = b"".join(("<10>%s perf%05d kernel: EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0\n"
    % (stamp, i)).encode() for i in range(n))
s.sendall(buf)
s.close()
PY
n_open() { api "/api/v1/incidents?state=open&limit=1" | jq -e ".total >= $N" >/dev/null; }
i=0
while [ $i -lt 120 ] && ! n_open; do sleep 0.5; i=$((i + 1)); done
check "$N incidents open" n_open

ticks() { awk '{ print $14 + $15 }' "/proc/$SOPD_PID/stat"; }
HZ=$(getconf CLK_TCK)
T0=$(ticks)
sleep 10
T1=$(ticks)
echo "# idle, no tab: sopd used $((T1 - T0)) ticks in 10 s (HZ $HZ)"

cat >"$T/tab.js" <<'EOF'
"use strict";
const puppeteer = require("puppeteer-core");
const { execSync } = require("node:child_process");
(async () => {
	const b = await puppeteer.launch({ executablePath: process.env.CHROMIUM, headless: true,
	    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
	    "--disable-extensions", "--no-proxy-server", "--user-data-dir=" + process.env.PROFILE],
	    defaultViewport: { width: 1920, height: 1080 } });
	const p = await b.newPage();
	const r = { errors: [] };
	p.on("pageerror", (e) => r.errors.push(e.message));
	const t0 = Date.now();
	await p.goto(process.env.URL, { waitUntil: "domcontentloaded" });
	await p.waitForFunction(() => document.querySelectorAll("#incidents tbody tr").length > 0, { timeout: 30000 });
	r.first_rows_ms = Date.now() - t0;
	r.rows = await p.$$eval("#incidents tbody tr", (l) => l.length);
	r.count = await p.$eval("#count", (e) => e.textContent);
	// The page's own measure: navigation start to the rows drawn.
	r.page_ms = await p.evaluate(() => Math.round(performance.now()));
	// Open the first incident: the detail answers quickly too.
	const t1 = Date.now();
	await p.click("#incidents tbody tr button[data-action=detail]");
	await p.waitForFunction(() => document.getElementById("detail").open, { timeout: 30000 });
	r.detail_ms = Date.now() - t1;
	await p.click("#detail-close");
	// Keep the tab open (polling every 5 s) while sopd's CPU is measured.
	const a = Number(execSync(process.env.TICKS).toString());
	await new Promise((res) => setTimeout(res, Number(process.env.SECS) * 1000));
	const z = Number(execSync(process.env.TICKS).toString());
	r.ticks = z - a;
	r.polls = await p.evaluate(() => performance.getEntriesByType("resource")
	    .filter((e) => e.name.includes("/api/v1/incidents?")).length);
	console.log(JSON.stringify(r));
	await b.close();
})().catch((e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); });
EOF
CHROMIUM="$CHROMIUM" URL="$API/" PROFILE="$T/chrome" SECS="$SECS" \
    TICKS="awk '{ print \$14 + \$15 }' /proc/$SOPD_PID/stat" NODE_PATH="$ROOT/node_modules" \
    timeout -k 5 $((SECS + 90)) node "$T/tab.js" >"$T/tab.json" 2>"$T/node.err"
[ -s "$T/node.err" ] && sed 's/^/# node: /' "$T/node.err" | head -10
echo "# $(cat "$T/tab.json")"
jq -r --argjson hz "$HZ" --argjson s "$SECS" '"# first rows after \(.first_rows_ms) ms, detail after \(.detail_ms) ms; " +
    "one open tab: sopd used \(.ticks) ticks in \($s) s = \(.ticks / $hz / $s * 100 * 100 | round / 100)% of a core (\(.polls) list polls)"' \
    "$T/tab.json" 2>/dev/null
tj() { jq -e "$1" "$T/tab.json" >/dev/null 2>&1; }
check "the first 100 rows render" tj '.rows == 100'
NC=$(echo "$N" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')
check "the count says 1–100 of $NC" tj ".count == \"1–100 of $NC\""
check "the page kept polling while open" tj '.polls >= 2'
check "no script error" tj '.errors == []'
check "sopd stops cleanly" stop_sopd
rm -rf "$T/chrome"
