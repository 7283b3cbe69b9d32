// web_sop_views.js: the SOP views of the console (windows and changes,
// expected events and silent hosts, reports, input health), driven from
// web_sop.js with its page; fills its report object.
"use strict";
const { execSync } = require("node:child_process");

module.exports = async function (page, out, { until, shots, sleep }) {
	const env = process.env;
	const text = (sel) => page.$eval(sel, (e) => e.textContent).catch(() => "");

	// Windows and changes: the list, a request, an approval, a cancel.
	await page.click('#views a[href="#changes"]');
	out.changes_shown = await until(page, () => !document.getElementById("view-changes").hidden &&
	    document.getElementById("view-incidents").hidden &&
	    /CHG-10/.test(document.getElementById("windows-list").textContent));
	out.change_form = await page.evaluate(() => !document.getElementById("change-new").hidden);
	const pad = (n) => String(n).padStart(2, "0");
	const dl = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
	const t0 = new Date(Date.now() + 2 * 86400000);
	const t1 = new Date(t0.getTime() + 3600000);
	await page.type("#change-new input[name=id]", "CHG-11");
	await page.type("#change-new input[name=title]", "swap the db1 disk");
	await page.type("#change-new input[name=hosts]", "db1");
	await page.$eval("#change-new input[name=start]", (e, v) => { e.value = v; }, dl(t0));
	await page.$eval("#change-new input[name=end]", (e, v) => { e.value = v; }, dl(t1));
	await page.click("#change-new button[type=submit]");
	await until(page, () => /CHG-11/.test(document.getElementById("windows-list").textContent));
	out.change_status = await text("#change-error");
	await page.click('#windows-list button[data-change="CHG-11"][data-action=approve]');
	await until(page, () => document.getElementById("act").open);
	out.approve_title = await text("#act-title");
	await page.type("#act-note", "CAB ok");
	await page.click("#act-ok");
	await until(page, () => !document.getElementById("act").open);
	out.approve_error = await text("#act-error");
	await until(page, () => /approved/.test(document.querySelector('#windows-list tr[data-id="CHG-11"]').textContent));
	out.chg11_row = await text('#windows-list tr[data-id="CHG-11"]');
	await page.click('#windows-list button[data-change="CHG-10"][data-action=cancel]');
	await until(page, () => document.getElementById("act").open);
	await page.click("#act-ok");
	await until(page, () => !document.getElementById("act").open);
	await until(page, () => /cancelled/.test(document.querySelector('#windows-list tr[data-id="CHG-10"]').textContent));
	out.chg10_row = await text('#windows-list tr[data-id="CHG-10"]');
	await shots(page, "changes");
	// On a 390 px phone the view scrolls only down; its tables scroll inside.
	await page.setViewport({ width: 390, height: 844 });
	await sleep(300);
	out.changes_phone = await page.evaluate(() => ({ width: document.documentElement.scrollWidth,
	    buttons_inside: [...document.querySelectorAll("#view-changes button")].every((b) => b.getBoundingClientRect().right <= 390 ||
	    b.closest("table.sop") !== null) }));
	await shots(page, "changes-390");
	await page.setViewport({ width: 1920, height: 1080 });

	// Expected events and silent hosts.
	await page.click('#views a[href="#expect"]');
	out.expect_shown = await until(page, () => /backup-1/.test(document.getElementById("expect-list").textContent) &&
	    /db1/.test(document.getElementById("expect-list").textContent));
	out.expect_text = await text("#expect-list");
	await shots(page, "expect");

	// Reports with inline SVG charts.
	await page.click('#views a[href="#reports"]');
	out.reports = {};
	for (const kind of ["daily", "weekly", "monthly"]) {
		await page.select("#report-kind", kind);
		await until(page, (k) => document.querySelector("#report-body .period") &&
		    document.querySelector("#report-body .period").textContent.startsWith(k), 10000, kind);
		out.reports[kind] = await page.evaluate(() => ({
			period: document.querySelector("#report-body .period").textContent,
			charts: [...document.querySelectorAll("#report-body svg.chart")].map((s) => s.getAttribute("aria-label")),
			tables: [...document.querySelectorAll("#report-body caption")].map((c) => c.textContent)
		}));
		if (kind === "weekly") await shots(page, "reports");
	}
	// The daily report of a chosen day (the default is the last complete one).
	await page.select("#report-kind", "daily");
	await page.$eval("#report-date", (e, v) => { e.value = v; }, env.TODAY);
	await page.click("#report-form button[type=submit]");
	await until(page, (d) => document.querySelector("#report-body .period").textContent.startsWith("daily report " + d), 10000, env.TODAY);
	out.reports.today = await page.evaluate(() => [...document.querySelectorAll("#report-body svg.chart")].map((s) => s.getAttribute("aria-label")));

	// Input health: a rate per input, drops per reason.
	await page.click('#views a[href="#inputs"]');
	await until(page, () => /syslog_udp/.test(document.getElementById("inputs-body").textContent));
	execSync(env.DROP, { stdio: "ignore" });
	out.inputs_rate = await until(page, () => /\/s/.test(document.getElementById("inputs-body").textContent) &&
	    /empty/.test(document.getElementById("inputs-body").textContent), 20000);
	out.inputs = await page.evaluate(() => ({
		rows: [...document.querySelectorAll("#inputs-body tbody tr")].map((tr) => [...tr.children].map((td) => td.textContent)),
		chart: (document.querySelector("#inputs-body svg.chart") || { getAttribute: () => "" }).getAttribute("aria-label")
	}));
	await shots(page, "inputs");

	// A viewer sees the same views without a way to change anything.
	if (env.VIEWER) {
		const ctx = await page.browser().createBrowserContext();
		const v = await ctx.newPage();
		await v.goto(env.URL + "#changes", { waitUntil: "domcontentloaded" });
		await until(v, () => !document.getElementById("login").hidden);
		await v.type("#login-user", env.VIEWER);
		await v.type("#login-password", env.PASSWORD);
		await v.click("#login button[type=submit]");
		await until(v, () => /CHG-11/.test(document.getElementById("windows-list").textContent));
		out.viewer = await v.evaluate(() => ({
			who: document.getElementById("who-name").textContent,
			changes: /CHG-11/.test(document.getElementById("windows-list").textContent),
			form: !document.getElementById("change-new").hidden,
			buttons: document.querySelectorAll("#windows-list button").length
		}));
		await v.goto(env.URL + "#incidents", { waitUntil: "domcontentloaded" });
		await until(v, () => document.querySelectorAll("#incidents tbody tr").length > 0);
		out.viewer.row_buttons = await v.evaluate(() =>
		    document.querySelectorAll("#incidents tbody button[data-action]:not([data-action=detail])").length);
		await ctx.close();
	}
};
