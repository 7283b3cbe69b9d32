// app.js: the status page: active incidents, stats, ack and resolve.
// Every value from the daemon is put into the page with textContent.
"use strict";

const REFRESH_MS = 5000;
const SEVERITIES = ["critical", "high", "medium", "low", "info"];

// Set an element's text by id.
function setText(id, text) {
	const el = document.getElementById(id);
	if (el) el.textContent = text;
}

// A cell with text (and an optional class).
function cell(text, cls) {
	const td = document.createElement("td");
	td.textContent = text === null || text === undefined ? "" : String(text);
	if (cls) td.className = cls;
	return td;
}

// How long ago (or from now) an RFC 3339 time is, in short words.
function relative(iso) {
	if (!iso) return "";
	const t = Date.parse(iso);
	if (isNaN(t)) return iso;
	let s = Math.round((Date.now() - t) / 1000);
	const future = s < 0;
	s = Math.abs(s);
	let txt;
	if (s < 60) txt = s + "s";
	else if (s < 3600) txt = Math.floor(s / 60) + "m";
	else if (s < 86400) txt = Math.floor(s / 3600) + "h " + Math.floor(s % 3600 / 60) + "m";
	else txt = Math.floor(s / 86400) + "d " + Math.floor(s % 86400 / 3600) + "h";
	return future ? "in " + txt : txt + " ago";
}

// Fetch JSON; throws with the API's error message on a non-2xx answer.
async function api(path, options) {
	const res = await fetch(path, Object.assign({ cache: "no-store" }, options));
	let body = null;
	try { body = await res.json(); } catch (e) { body = null; }
	if (!res.ok) {
		throw new Error(body && body.error ? body.error : res.status + " " + res.statusText);
	}
	return body;
}

// Show or hide the error line.
function showError(msg) {
	const el = document.getElementById("error");
	el.textContent = msg || "";
	el.hidden = !msg;
}

// POST a change (ack or resolve) for an incident, then refresh.
async function change(id, action, button) {
	button.disabled = true;
	try {
		await api("/api/v1/incidents/" + encodeURIComponent(id) + "/" + action, {
			method: "POST",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify({ actor: "web" })
		});
		showError("");
	} catch (e) {
		showError("Incident " + id + ": " + e.message);
	}
	refresh();
}

// A button that changes an incident.
function actionButton(inc, action, label) {
	const b = document.createElement("button");
	b.type = "button";
	b.textContent = label;
	b.addEventListener("click", () => change(inc.id, action, b));
	return b;
}

// One table row for an incident.
function row(inc) {
	const tr = document.createElement("tr");
	tr.className = inc.state || "";
	tr.appendChild(cell(inc.id, "num"));
	const sev = document.createElement("span");
	const sevName = SEVERITIES.includes(inc.severity) ? inc.severity : "info";
	sev.className = "sev " + sevName;
	sev.textContent = inc.severity || "";
	const td = document.createElement("td");
	td.appendChild(sev);
	tr.appendChild(td);
	tr.appendChild(cell(inc.state));
	tr.appendChild(cell(inc.level));
	tr.appendChild(cell(inc.host));
	const title = cell(inc.title, "title");
	title.title = "rule " + (inc.rule || "") + (inc.owner ? ", owner " + inc.owner : "");
	tr.appendChild(title);
	tr.appendChild(cell(inc.count, "num"));
	const last = cell(relative(inc.last_seen));
	last.title = inc.last_seen || "";
	tr.appendChild(last);
	const next = cell(inc.next_escalation ? relative(inc.next_escalation) : "");
	next.title = inc.next_escalation || "";
	tr.appendChild(next);
	const actions = document.createElement("td");
	if (inc.state === "open") actions.appendChild(actionButton(inc, "ack", "Ack"));
	actions.appendChild(actionButton(inc, "resolve", "Resolve"));
	tr.appendChild(actions);
	return tr;
}

// Redraw the incident table.
function drawIncidents(list) {
	const tbody = document.querySelector("#incidents tbody");
	const rows = (list && list.incidents) || [];
	tbody.replaceChildren(...rows.map(row));
	document.getElementById("empty").hidden = rows.length > 0;
}

// Redraw the summary cards from /api/v1/stats.
function drawStats(st) {
	const inc = st.incidents || {};
	const by = inc.by_severity || {};
	setText("n-active", inc.active !== undefined ? inc.active : "–");
	for (const s of ["critical", "high", "medium", "low"]) {
		setText("n-" + s, by[s] !== undefined ? by[s] : "–");
	}
	let received = 0, dropped = 0;
	for (const name in st.inputs || {}) {
		received += st.inputs[name].received || 0;
		dropped += st.inputs[name].dropped || 0;
	}
	setText("n-received", received);
	setText("n-dropped", dropped);
	const d = st.daemon || {};
	setText("version", "sopd " + (d.version || "") + ", up " + relative(d.started).replace(" ago", "") +
		", config generation " + (d.generation !== undefined ? d.generation : "?"));
}

// Load everything and redraw.
async function refresh() {
	const health = document.getElementById("health");
	try {
		const [list, st] = await Promise.all([
			api("/api/v1/incidents?state=active&limit=1000"),
			api("/api/v1/stats")
		]);
		drawIncidents(list);
		drawStats(st);
		health.textContent = "running";
		health.className = "health ok";
		setText("updated", "updated " + new Date().toLocaleTimeString());
	} catch (e) {
		health.textContent = "unreachable: " + e.message;
		health.className = "health down";
	}
}

document.addEventListener("DOMContentLoaded", () => {
	refresh();
	setInterval(refresh, REFRESH_MS);
});
