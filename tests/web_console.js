// web_console.js: the console in headless Chromium (puppeteer-core), as an
// on-call engineer uses it. Prints one JSON report; tests/integration/web.sh
// asserts on it.
//
// env: CHROMIUM, CHROME_FLAGS (one a line), URL, USER_NAME, PASSWORD,
// SHOTS (directory for screenshots), AXE (axe.min.js), BURST (a shell
// command that opens new incidents), ACK_NOTE.
"use strict";
const fs = require("node:fs");
const { execSync } = require("node:child_process");
const puppeteer = require("puppeteer-core");

const env = process.env;
const out = { errors: [], axe: {} };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Poll a page function until it is truthy (or ms passed).
async function until(page, fn, ms, ...args) {
	const end = Date.now() + (ms || 15000);
	while (Date.now() < end) {
		if (await page.evaluate(fn, ...args).catch(() => false)) return true;
		await sleep(100);
	}
	return false;
}

const ROWS = () => [...document.querySelectorAll("#incidents tbody tr")].map((tr) => ({
	id: tr.dataset.id,
	severity: tr.querySelector(".sev").textContent,
	state: tr.querySelector(".state").textContent,
	title: tr.querySelector(".title").textContent,
	next: tr.querySelector(".next").textContent,
	actions: [...tr.querySelectorAll("button[data-action]:not([data-action=detail])")].map((b) => b.textContent)
}));

// axe-core's serious and critical violations on the page as it is now.
async function axe(page, name) {
	await page.addScriptTag({ path: env.AXE });
	const r = await page.evaluate(async () => {
		const res = await window.axe.run(document, { resultTypes: ["violations"] });
		return res.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
		    .map((v) => v.id + ": " + v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", "));
	});
	out.axe[name] = r;
}

async function shots(page, name) {
	for (const scheme of ["light", "dark"]) {
		await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: scheme }]);
		await sleep(200);
		await page.screenshot({ path: `${env.SHOTS}/web-${name}-${scheme}.png`, fullPage: false });
		if (scheme === "dark") await axe(page, name + "-dark");
	}
	await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "light" }]);
	await axe(page, name + "-light");
}

async function main() {
	const browser = await puppeteer.launch({
		executablePath: env.CHROMIUM,
		headless: true,
		args: env.CHROME_FLAGS.split("\n").filter((f) => f && f !== "--headless"),
		defaultViewport: { width: 1920, height: 1080 }
	});
	try {
		const page = await browser.newPage();
		await page.setBypassCSP(true);	// lets axe-core in; the page needs no exception
		page.on("pageerror", (e) => out.errors.push("pageerror: " + e.message));
		page.on("console", (m) => { if (m.type() === "error" && !/401/.test(m.text())) out.errors.push("console: " + m.text()); });
		page.on("dialog", (d) => { out.errors.push("dialog: " + d.message()); d.dismiss(); });

		// Log in.
		await page.goto(env.URL, { waitUntil: "domcontentloaded" });
		out.login_form = await until(page, () => !document.getElementById("login").hidden);
		await page.type("#login-user", env.USER_NAME);
		await page.type("#login-password", env.PASSWORD);
		await page.click("#login button[type=submit]");
		out.logged_in = await until(page, () => !document.getElementById("who").hidden &&
		    document.getElementById("login").offsetParent === null &&
		    document.querySelectorAll("#incidents tbody tr").length > 0);
		out.who = await page.$eval("#who-name", (e) => e.textContent);
		await until(page, () => document.getElementById("health").textContent === "running");
		out.rows = await page.evaluate(ROWS);
		out.count = await page.$eval("#count", (e) => e.textContent);
		out.injected = await page.evaluate(() => document.querySelectorAll("#incidents img, #incidents script").length);
		await shots(page, "1920x1080");

		// Filters live in the URL: a reload keeps them.
		await page.select("#filters select[name=severity]", "medium");
		out.filter_url = await until(page, () => location.search.includes("severity=medium"));
		await until(page, () => [...document.querySelectorAll("#incidents .sev")].every((s) => s.textContent === "medium"));
		await page.reload({ waitUntil: "domcontentloaded" });
		await until(page, () => document.querySelectorAll("#incidents tbody tr").length > 0);
		out.filter_kept = await page.evaluate(() => document.querySelector("#filters select[name=severity]").value === "medium" &&
		    [...document.querySelectorAll("#incidents .sev")].every((s) => s.textContent === "medium"));
		await page.select("#filters select[name=severity]", "");
		await until(page, () => !location.search.includes("severity"));
		await until(page, () => document.querySelectorAll("#incidents tbody tr").length > 3);

		// The row under the pointer stays put while new incidents arrive.
		const before = await page.evaluate(ROWS);
		const target = before[2].id;
		const sel = `#incidents tbody tr[data-id="${target}"] .title`;
		const box0 = await (await page.$(sel)).boundingBox();
		await page.mouse.move(box0.x + 5, box0.y + box0.height / 2);
		execSync(env.BURST + " " + before[0].id + " " + before[1].id, { stdio: "ignore" });
		out.new_shown = await until(page, () => !document.getElementById("new").hidden, 20000);
		out.new_text = await page.$eval("#new", (e) => e.textContent);
		const box1 = await (await page.$(sel)).boundingBox();
		out.row_stayed = Math.abs(box1.y - box0.y) < 1 && Math.abs(box1.x - box0.x) < 1;
		out.under_pointer = await page.evaluate((x, y) => {
			const tr = document.elementFromPoint(x, y).closest("tr");
			return tr ? tr.dataset.id : null;
		}, box0.x + 5, box0.y + box0.height / 2);
		out.target = target;
		out.above_kept = await page.evaluate((a, b) => {
			const rows = [...document.querySelectorAll("#incidents tbody tr")];
			return rows[0].dataset.id === a && rows[1].dataset.id === b &&
			    rows[0].classList.contains("gone") && rows[1].classList.contains("gone");
		}, before[0].id, before[1].id);
		await page.mouse.move(5, 5);
		out.new_drawn = await until(page, () => document.getElementById("new").hidden);
		out.rows_after = await page.evaluate(ROWS);

		// Ack with a note, through the dialog.
		const ackId = out.rows_after.find((r) => r.state === "open" && r.severity === "critical").id;
		out.ack_id = ackId;
		await page.click(`#incidents tbody tr[data-id="${ackId}"] button[data-action=ack]`);
		out.dialog_open = await until(page, () => document.getElementById("act").open);
		await page.type("#act-note", env.ACK_NOTE);
		await page.click("#act-ok");
		out.acked = await until(page, (id) => {
			const tr = document.querySelector(`#incidents tbody tr[data-id="${id}"]`);
			// Acknowledged, it goes below the open criticals (maybe
			// to a later page).
			return !tr || tr.querySelector(".state").textContent === "acknowledged";
		}, 15000, ackId);
		out.act_error = await page.$eval("#act-error", (e) => e.textContent);
		out.dialog_closed = await page.$eval("#act", (e) => !e.open);

		// The incident's timeline: the ack with alice's name and the note.
		await until(page, (id) => !!document.querySelector(`#incidents tbody tr[data-id="${id}"]`), 5000, ackId);
		await page.click(`#incidents tbody tr[data-id="${ackId}"] button[data-action=detail]`);
		await until(page, () => document.getElementById("detail").open);
		out.timeline = await page.$eval("#detail-history", (e) => e.textContent);
		await page.click("#detail-close");

		// A notice's link, ?incident=ID, opens that incident.
		const linked = await browser.newPage();
		await linked.goto(env.URL + "?incident=" + ackId, { waitUntil: "domcontentloaded" });
		out.link_opens = await until(linked, (id) => document.getElementById("detail").open &&
		    document.getElementById("detail-title").textContent.startsWith("#" + id + " "), 10000, ackId);
		await linked.close();

		// Resolve asks first: cancel leaves the incident alone.
		const resId = (await page.evaluate(ROWS)).find((r) => r.actions.includes("Resolve") && r.id !== ackId).id;
		out.resolve_id = resId;
		await page.click(`#incidents tbody tr[data-id="${resId}"] button[data-action=resolve]`);
		out.resolve_asks = await until(page, () => document.getElementById("act").open &&
		    document.getElementById("act-title").textContent.startsWith("Resolve"));
		await page.click("#act-cancel");
		await page.mouse.move(5, 5);

		// Keyboard only: Enter on a focused Note button opens the dialog
		// with the focus in the note, Escape closes it.
		const kbId = (await page.evaluate(ROWS)).find((r) => r.actions.includes("Note")).id;
		await page.focus(`#incidents tbody tr[data-id="${kbId}"] button[data-action=notes]`);
		await page.keyboard.press("Enter");
		out.kb_open = await until(page, () => document.getElementById("act").open &&
		    document.activeElement === document.getElementById("act-note"));
		await page.keyboard.press("Escape");
		out.kb_closed = await until(page, () => !document.getElementById("act").open);

		// Kiosk: a wall screen without actions or filters.
		await page.goto(env.URL + "?kiosk=1", { waitUntil: "domcontentloaded" });
		await until(page, () => document.querySelectorAll("#incidents tbody tr").length > 0);
		out.kiosk = await page.evaluate(() => ({
			buttons: [...document.querySelectorAll("#incidents tbody button[data-action]:not([data-action=detail])")].filter((b) => b.offsetParent !== null).length,
			filters: document.getElementById("filters").offsetParent !== null
		}));
		await page.goto(env.URL, { waitUntil: "domcontentloaded" });

		// A phone.
		await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true });
		await page.reload({ waitUntil: "domcontentloaded" });
		await until(page, () => document.querySelectorAll("#incidents tbody tr").length > 0);
		out.phone = await page.evaluate(() => {
			const btns = [...document.querySelectorAll("#incidents tbody tr:first-child button[data-action]:not([data-action=detail])")];
			return {
				width: document.documentElement.scrollWidth,
				buttons: btns.length,
				buttons_inside: btns.every((b) => { const r = b.getBoundingClientRect(); return r.left >= 0 && r.right <= 390 && r.height >= 40; })
			};
		});
		await shots(page, "390x844");
	} finally {
		await browser.close();
	}
}

const timer = setTimeout(() => { out.errors.push("timed out"); console.log(JSON.stringify(out)); process.exit(2); }, 150000);
main().then(() => { clearTimeout(timer); console.log(JSON.stringify(out)); process.exit(0); },
    (e) => { clearTimeout(timer); out.errors.push(String(e.stack || e)); console.log(JSON.stringify(out)); process.exit(1); });
