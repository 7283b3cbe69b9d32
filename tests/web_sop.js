// web_sop.js: the console's assign dialog, the incident timeline with the
// notices sent, and the SOP views, in headless Chromium (puppeteer-core).
// Prints one JSON report; tests/integration/web2.sh asserts on it.
//
// env: CHROMIUM, CHROME_FLAGS (one a line), URL, USER_NAME, PASSWORD,
// SHOTS (directory for screenshots), AXE (axe.min.js).
"use strict";
const puppeteer = require("puppeteer-core");

const env = process.env;
const out = { errors: [], axe: {} };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(page, fn, ms, ...args) {
	const end = Date.now() + (ms || 15000);
	while (Date.now() < end) {
		if (await page.evaluate(fn, ...args).catch(() => false)) return true;
		await sleep(100);
	}
	return false;
}

async function axe(page, name) {
	await page.addScriptTag({ path: env.AXE });
	out.axe[name] = await page.evaluate(async () => {
		const res = await window.axe.run(document, { resultTypes: ["violations"] });
		return res.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
		    .map((v) => v.id + ": " + v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", "));
	});
}

async function shots(page, name) {
	for (const scheme of ["light", "dark"]) {
		await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: scheme }]);
		await sleep(200);
		await page.screenshot({ path: `${env.SHOTS}/web2-${name}-${scheme}.png`, fullPage: false });
		await axe(page, name + "-" + scheme);
	}
	await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "light" }]);
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
		await page.setBypassCSP(true);
		page.on("pageerror", (e) => out.errors.push("pageerror: " + e.message));
		page.on("console", (m) => { if (m.type() === "error" && !/401/.test(m.text())) out.errors.push("console: " + m.text()); });
		page.on("dialog", (d) => { out.errors.push("dialog: " + d.message()); d.dismiss(); });

		await page.goto(env.URL, { waitUntil: "domcontentloaded" });
		await until(page, () => !document.getElementById("login").hidden);
		await page.type("#login-user", env.USER_NAME);
		await page.type("#login-password", env.PASSWORD);
		await page.click("#login button[type=submit]");
		out.logged_in = await until(page, () => document.querySelectorAll("#incidents tbody tr button[data-action=assign]").length > 0);

		// Assign the first row to oneself (the dialog offers one's name).
		const id = await page.$eval("#incidents tbody tr", (tr) => tr.dataset.id);
		out.assign_id = id;
		await page.click(`#incidents tbody tr[data-id="${id}"] button[data-action=assign]`);
		out.assign_open = await until(page, () => document.getElementById("act").open);
		out.assign_prefill = await page.$eval("#act-owner", (e) => e.value);
		await page.click("#act-ok");
		out.assign_closed = await until(page, () => !document.getElementById("act").open);
		out.act_error = await page.$eval("#act-error", (e) => e.textContent);
		out.row_owner = await until(page, (i) => {
			const tr = document.querySelector(`#incidents tbody tr[data-id="${i}"]`);
			return tr && tr.querySelector(".owner").textContent;
		}, 10000, id) ? await page.$eval(`#incidents tbody tr[data-id="${id}"] .owner`, (e) => e.textContent) : "";

		// The timeline: the assignment and the notices sent for the incident.
		await page.click(`#incidents tbody tr[data-id="${id}"] button[data-action=detail]`);
		await until(page, () => document.getElementById("detail").open);
		await until(page, () => /notice/.test(document.getElementById("detail-history").textContent), 10000);
		out.timeline = await page.$eval("#detail-history", (e) => [...e.children].map((li) => li.textContent));
		await shots(page, "timeline");
		await page.click("#detail-close");

		// The SOP views (web_sop_views.js), when there are.
		if (env.SOP === "1" && require("node:fs").existsSync(__dirname + "/web_sop_views.js"))
			await require("./web_sop_views.js")(page, out, { until, shots, sleep });
	} finally {
		await browser.close();
	}
}

main().then(() => console.log(JSON.stringify(out)))
    .catch((e) => { out.fatal = String(e && e.stack || e); console.log(JSON.stringify(out)); process.exit(1); });
