// sop.js: the SOP on the page: windows and changes, expected events and
// silent hosts, the reports with small inline SVG charts, input health.
// Uses app.js's api(), $, S, setText, fmt, openAct. Every value is text.
"use strict";

const VIEWS = ["incidents", "changes", "expect", "reports", "inputs"];
const SOP = { view: "incidents", rates: null, report: "daily" };

function el(tag, attrs, ...kids) {
	const e = document.createElement(tag);
	for (const k in attrs || {}) {
		if (k === "class") e.className = attrs[k];
		else if (k === "text") e.textContent = attrs[k];
		else e.setAttribute(k, attrs[k]);
	}
	for (const c of kids) e.append(c === null || c === undefined ? "" : c);
	return e;
}
function row(cells) {
	return el("tr", null, ...cells.map((c) => c instanceof Node ? el("td", null, c) :
	    el("td", { text: c === null || c === undefined ? "" : String(c) })));
}
function table(caption, heads, rows) {
	// Focusable: on a phone it scrolls sideways inside itself.
	const t = el("table", { class: "sop", tabindex: "0" });
	t.append(el("caption", { text: caption }),
	    el("thead", null, el("tr", null, ...heads.map((h) => el("th", { scope: "col", text: h })))),
	    el("tbody", null, ...rows));
	return t;
}
function local(iso) {
	const t = Date.parse(iso);
	return isNaN(t) ? (iso || "–") : new Date(t).toLocaleString("en-GB", { dateStyle: "short", timeStyle: "short" });
}

// A small bar chart: [{label, value, cls}] as an inline SVG with a text
// alternative (the same figures are in a table beside it).
function barChart(title, bars) {
	const NS = "http://www.w3.org/2000/svg";
	const w = 28, gap = 10, h = 90, top = 14, base = 18;
	const max = Math.max(1, ...bars.map((b) => b.value || 0));
	const svg = document.createElementNS(NS, "svg");
	const width = bars.length * (w + gap) + gap;
	svg.setAttribute("viewBox", `0 0 ${width} ${h + top + base}`);
	svg.setAttribute("width", String(width));
	svg.setAttribute("height", String(h + top + base));
	svg.setAttribute("role", "img");
	svg.setAttribute("class", "chart");
	svg.setAttribute("aria-label", title + ": " + bars.map((b) => b.label + " " + fmt(b.value || 0)).join(", "));
	bars.forEach((b, i) => {
		const x = gap + i * (w + gap);
		const bh = Math.round((b.value || 0) / max * h);
		const r = document.createElementNS(NS, "rect");
		r.setAttribute("x", x); r.setAttribute("y", top + h - bh);
		r.setAttribute("width", w); r.setAttribute("height", Math.max(bh, b.value ? 1 : 0));
		r.setAttribute("class", "bar " + (b.cls || ""));
		const v = document.createElementNS(NS, "text");
		v.setAttribute("x", x + w / 2); v.setAttribute("y", top + h - bh - 3);
		v.setAttribute("text-anchor", "middle");
		v.textContent = fmt(b.value || 0);
		const l = document.createElementNS(NS, "text");
		l.setAttribute("x", x + w / 2); l.setAttribute("y", top + h + 13);
		l.setAttribute("text-anchor", "middle");
		l.textContent = b.label;
		svg.append(r, v, l);
	});
	return el("figure", { class: "chart" }, svg, el("figcaption", { text: title }));
}

// Which view the URL's fragment names.
function showView() {
	const v = location.hash.replace(/^#/, "");
	SOP.view = VIEWS.includes(v) ? v : "incidents";
	for (const name of VIEWS) $("view-" + name).hidden = name !== SOP.view;
	for (const a of document.querySelectorAll("#views a")) {
		if (a.getAttribute("href") === "#" + SOP.view) a.setAttribute("aria-current", "page");
		else a.removeAttribute("aria-current");
	}
	if (SOP.view !== "incidents") sopRefresh();
}

// Windows and changes, with the actions the role allows.
function changeButtons(c) {
	const span = el("span", { class: "actions" });
	if (!S.canWrite || S.kiosk || c.source !== "api") return span;
	const add = (label, action) => {
		const b = el("button", { type: "button", "data-change": c.id, "data-action": action,
		    "aria-label": label + " " + c.id, text: label });
		span.append(b);
	};
	if (c.state === "requested") add("Approve", "approve");
	if (c.state === "requested" || c.state === "approved") add("Cancel", "cancel");
	if (c.state === "verified" || c.state === "failed" || c.state === "rolled_back") add("Close", "close");
	return span;
}
async function drawChanges() {
	const [wins, chgs] = await Promise.all([api("/api/v1/windows"), api("/api/v1/changes")]);
	const w = (wins.windows || []).map((x) => row([x.id, x.kind, x.title, local(x.start), local(x.end),
	    x.active ? "active" : x.cancelled ? "cancelled" : "upcoming",
	    [...(x.hosts || []), ...(x.groups || []).map((g) => "group " + g)].join(", ")]));
	const c = (chgs.changes || []).map((x) => {
		const r = row([x.id, x.title, x.state, local(x.start) + " – " + local(x.end),
		    [...(x.hosts || []), ...(x.groups || []).map((g) => "group " + g)].join(", "),
		    x.requester || "–", x.approved_by || "–", changeButtons(x)]);
		r.dataset.id = x.id;
		return r;
	});
	$("windows-list").replaceChildren(
	    table("Active and upcoming windows", ["ID", "Kind", "Title", "Start", "End", "Now", "Hosts"], w),
	    table("Changes", ["ID", "Title", "State", "Window", "Hosts", "Requested by", "Approved by", "Actions"], c));
	$("change-new").hidden = !S.canWrite || S.kiosk;
}
async function createChange(ev) {
	ev.preventDefault();
	const f = $("change-new");
	const list = (s) => s.split(",").map((x) => x.trim()).filter((x) => x);
	const iso = (v) => { const t = new Date(v); return isNaN(t) ? v : t.toISOString().replace(/\.\d+Z$/, "Z"); };
	const body = { id: f.elements.id.value.trim(), title: f.elements.title.value.trim(),
	    hosts: list(f.elements.hosts.value), groups: list(f.elements.groups.value),
	    start: iso(f.elements.start.value), end: iso(f.elements.end.value) };
	if (f.elements.description.value.trim()) body.description = f.elements.description.value.trim();
	if (S.session && !S.session.login_required) body.requester = "web";
	setText("change-error", "");
	try {
		await api("/api/v1/changes", { method: "POST", headers: { "Content-Type": "application/json" },
		    body: JSON.stringify(body) });
		f.reset();
		setText("change-error", "Change " + body.id + " requested.");
		await drawChanges();
	} catch (e) {
		setText("change-error", e.message);
	}
}

// Expected events and silent hosts.
async function drawExpect() {
	const x = await api("/api/v1/expectations");
	const days = (d) => el("span", { class: "days" }, ...(d || []).slice().reverse().map((r) =>
	    el("span", { class: "day " + String(r.state).replace(/[^a-z]/g, ""), title: r.day + ": " + r.state,
	    text: r.state === "ok" || r.state === "re-run ok" ? "✓" : r.state === "pending" ? "·" : "✗" })));
	const ex = (x.expectations || []).map((e) => row([e.rule, e.host, e.state, local(e.last_arrival),
	    local(e.next_deadline), days(e.days)]));
	const sil = [];
	for (const s of x.silent || []) {
		for (const h of s.hosts || []) sil.push(row([s.rule, h.host, h.state, local(h.last_heard), local(h.silent_at)]));
	}
	$("expect-list").replaceChildren(
	    table("Expected events", ["Rule", "Host", "State", "Last arrival", "Next deadline", "Last 7 days"], ex),
	    table("Silent hosts (" + fmt(x.tracked_hosts || 0) + " tracked)", ["Rule", "Host", "State", "Last heard", "Silent at"], sil));
}

// The daily, weekly and monthly reports.
const SEVS = ["critical", "high", "medium", "low", "info"];
async function drawReport() {
	const kind = $("report-kind").value;
	const date = $("report-date").value;
	const r = await api("/api/v1/reports/" + kind + (date ? "?date=" + encodeURIComponent(date) : ""));
	const inc = r.incidents || {};
	const parts = [el("p", { class: "period", text: kind + " report " + (r.iso_week || r.month || r.date || "") +
	    ": " + local(r.period && r.period.start) + " – " + local(r.period && r.period.end) +
	    (r.period && r.period.complete === false ? " (so far)" : "") })];
	parts.push(table("Incidents by severity", ["", ...SEVS, "total"], ["opened", "resolved", "active_at_end"].map((k) =>
	    row([k.replace(/_/g, " "), ...SEVS.map((s) => fmt((inc[k] || {})[s] || 0)), fmt((inc[k] || {}).total || 0)]))));
	const charts = el("div", { class: "charts" });
	charts.append(barChart("Opened by severity", SEVS.map((s) => ({ label: s.slice(0, 4), value: (inc.opened || {})[s] || 0, cls: s }))));
	if (r.days) charts.append(barChart("Opened per day", r.days.map((d) => ({ label: d.date.slice(8), value: (d.opened || {}).total || 0 }))));
	if (r.sla) {
		const sla = ["critical", "high", "medium"].filter((s) => r.sla[s]);
		charts.append(barChart("SLA achieved (%)", sla.map((s) => ({ label: s.slice(0, 4),
		    value: r.sla[s].achievement_percent === null ? 0 : Math.round(r.sla[s].achievement_percent), cls: s }))));
		const resp = r.response || {};
		const dur = (v) => v === null || v === undefined ? "–" : span(v);
		parts.push(table("SLA", ["Severity", "Deadline", "Met", "Missed", "Pending", "Achieved", "MTTA", "MTTR"],
		    sla.map((s) => {
			const x = r.sla[s];
			const t = resp[s] || {};
			return row([s, x.deadline, fmt(x.met), fmt(x.missed), fmt(x.pending),
			    x.achievement_percent === null ? "–" : x.achievement_percent + "%",
			    dur(t.mtta_seconds), dur(t.mttr_seconds)]);
		})));
	}
	const top = (r.servers && r.servers.top_hosts) || r.noisiest_hosts || [];
	if (top.length) {
		charts.append(barChart("Incidents of the top hosts", top.slice(0, 8).map((h) => ({
		    label: String(h.host).slice(0, 5), value: h.incidents || 0 }))));
		parts.push(table("Top hosts", ["Host", "Incidents", "Events"], top.slice(0, 10).map((h) =>
		    row([h.host, fmt(h.incidents || 0), fmt(h.events || 0)]))));
	}
	parts.splice(1, 0, charts);
	parts.push(el("p", { class: "muted", text: "events " + fmt(inc.events || 0) + ", escalations " +
	    fmt(inc.escalations || 0) + ", failed verifications " + fmt(inc.failed_verifications || 0) }));
	$("report-body").replaceChildren(...parts);
}

// Input health: rate per input since the last look, drops per reason.
async function drawInputs() {
	const st = await api("/api/v1/stats");
	const now = Date.now();
	const prev = SOP.rates;
	SOP.rates = { at: now, inputs: {} };
	const reasons = {};
	const rows = [];
	for (const name in st.inputs || {}) {
		const i = st.inputs[name];
		SOP.rates.inputs[name] = i.received || 0;
		let rate = "–";
		if (prev && prev.inputs[name] !== undefined && now > prev.at)
			rate = ((i.received - prev.inputs[name]) / ((now - prev.at) / 1000)).toFixed(1) + "/s";
		const why = [];
		for (const r in i.reasons || {}) {
			if (!i.reasons[r]) continue;
			reasons[r] = (reasons[r] || 0) + i.reasons[r];
			why.push(r + " " + fmt(i.reasons[r]));
		}
		rows.push(row([name, fmt(i.received || 0), fmt(i.accepted || 0), fmt(i.dropped || 0), rate, why.join(", ") || "–"]));
	}
	const bars = Object.keys(reasons).sort((a, b) => reasons[b] - reasons[a]).slice(0, 10)
	    .map((r) => ({ label: r.slice(0, 5), value: reasons[r] }));
	$("inputs-body").replaceChildren(
	    bars.length ? barChart("Drops per reason", bars) : el("p", { class: "muted", text: "No input dropped anything." }),
	    table("Inputs", ["Input", "Received", "Accepted", "Dropped", "Rate", "Drops per reason"], rows));
}

async function sopRefresh() {
	const fn = { changes: drawChanges, expect: drawExpect, reports: drawReport, inputs: drawInputs }[SOP.view];
	if (!fn || !$("login").hidden) return;
	try {
		await fn();
		S.failure = "";
	} catch (e) {
		if (e.status !== 401) S.failure = e.message;
	}
	banner();
}

document.addEventListener("DOMContentLoaded", () => {
	window.addEventListener("hashchange", showView);
	$("change-new").addEventListener("submit", createChange);
	$("report-form").addEventListener("submit", (ev) => { ev.preventDefault(); drawReport().catch((e) => { S.failure = e.message; banner(); }); });
	$("report-kind").addEventListener("change", () => drawReport().catch(() => {}));
	$("windows-list").addEventListener("click", (ev) => {
		const b = ev.target.closest("button[data-change]");
		if (b) openAct(b.dataset.action, { id: b.dataset.change, title: "change " + b.dataset.change, change: true });
	});
	showView();
	setInterval(() => { if (SOP.view === "changes" || SOP.view === "inputs" || SOP.view === "expect") sopRefresh(); }, REFRESH_MS);
});
