// app.js: the operator console: incidents in triage order, ack, resolve,
// notes, login. Every value from the daemon goes into the page as text.
"use strict";

const REFRESH_MS = 5000;
const PAGE = 100;
const SEVERITIES = ["critical", "high", "medium", "low", "info"];
const FILTERS = ["state", "severity", "host", "rule", "q"];

const S = {
	session: null,		// {user, role, csrf, login_required}
	canWrite: false,
	kiosk: false,
	offset: 0,
	shown: new Map(),	// id -> row element, in display order
	pending: null,		// a list held back while the pointer is on a row
	hover: false,
	etags: new Map(),	// path -> {etag, body}
	dropped: null,		// total drops at the last poll
	dropsUntil: 0,		// show the drops banner until then
	dropsText: "",
	lastOk: 0,
	failure: ""
};

const $ = (id) => document.getElementById(id);
const fmt = (n) => Number(n).toLocaleString("en-US");

function setText(id, text) {
	const el = $(id);
	if (el) el.textContent = text;
}

// A duration in short words: "42m", "3h 5m", "2d 4h".
function span(s) {
	s = Math.max(0, Math.round(s));
	if (s < 60) return s + "s";
	if (s < 3600) return Math.floor(s / 60) + "m";
	if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor(s % 3600 / 60) + "m";
	return Math.floor(s / 86400) + "d " + Math.floor(s % 86400 / 3600) + "h";
}
function since(iso) {
	const t = Date.parse(iso);
	return isNaN(t) ? "" : span((Date.now() - t) / 1000);
}
function until(iso) {
	const t = Date.parse(iso);
	return isNaN(t) ? "" : span((t - Date.now()) / 1000);
}

// Fetch JSON, revalidating with the last ETag; throws with the API's message.
async function api(path, options) {
	const opts = Object.assign({ cache: "no-store", headers: {} }, options || {});
	const get = !opts.method || opts.method === "GET";
	const old = get ? S.etags.get(path) : null;
	if (old) opts.headers["If-None-Match"] = old.etag;
	if (!get && S.session && S.session.csrf) opts.headers["X-CSRF-Token"] = S.session.csrf;
	const res = await fetch(path, opts);
	if (res.status === 304 && old) return old.body;
	let body = null;
	try { body = await res.json(); } catch (e) { body = null; }
	if (res.status === 401 && path !== "/api/v1/session" && path !== "/api/v1/login") {
		needLogin();
	}
	if (!res.ok) {
		const err = new Error(body && body.error ? body.error : res.status + " " + res.statusText);
		err.status = res.status;
		throw err;
	}
	const etag = res.headers.get("ETag");
	if (get && etag) S.etags.set(path, { etag, body });
	return body;
}

// The banner: a failed reload, dropped input.
function banner() {
	const msgs = [];
	if (S.failure) {
		msgs.push("Reload failed: " + S.failure + (S.lastOk ?
		    "; showing data from " + new Date(S.lastOk).toLocaleTimeString() : ""));
	}
	if (Date.now() < S.dropsUntil) msgs.push(S.dropsText);
	const b = $("banner");
	b.textContent = msgs.join(" — ");
	b.hidden = msgs.length === 0;
}

// Filters from the URL into the form, and back.
function readURL() {
	const q = new URLSearchParams(location.search);
	const f = $("filters");
	for (const k of FILTERS) {
		const v = q.get(k);
		f.elements[k].value = v !== null ? v : (k === "state" ? "active" : "");
	}
	S.offset = Math.max(0, parseInt(q.get("offset") || "0", 10) || 0);
	S.kiosk = q.get("kiosk") === "1";
}
function writeURL() {
	const f = $("filters");
	const q = new URLSearchParams();
	for (const k of FILTERS) {
		const v = f.elements[k].value.trim();
		if (k === "state" ? v !== "active" : v !== "") q.set(k, v);
	}
	if (S.offset > 0) q.set("offset", String(S.offset));
	if (S.kiosk) q.set("kiosk", "1");
	const s = q.toString();
	history.replaceState(null, "", s ? "?" + s : location.pathname);
}
function listPath() {
	const f = $("filters");
	const q = new URLSearchParams({ sort: "triage", limit: String(PAGE), offset: String(S.offset) });
	for (const k of FILTERS) {
		const v = f.elements[k].value.trim();
		if (v !== "") q.set(k, v);
	}
	return "/api/v1/incidents?" + q.toString();
}

// "L3 in 42m", "held by CHG-42", or nothing.
function nextText(inc) {
	if (inc.in_window) return "held by " + inc.in_window;
	if (inc.state !== "open" && inc.state !== "acknowledged") return "";
	if (!inc.next_escalation) return "";
	return (inc.next_level ? inc.next_level + " " : "") + "in " + until(inc.next_escalation);
}

function cell(text, cls, label) {
	const td = document.createElement("td");
	td.textContent = text === null || text === undefined ? "" : String(text);
	if (cls) td.className = cls;
	if (label) td.dataset.label = label;
	return td;
}

function button(label, action, inc) {
	const b = document.createElement("button");
	b.type = "button";
	b.textContent = label;
	b.dataset.action = action;
	b.setAttribute("aria-label", label + " incident " + inc.id);
	return b;
}

// Fill a row (kept by id) with an incident's fields.
function fillRow(tr, inc) {
	const sev = SEVERITIES.includes(inc.severity) ? inc.severity : "info";
	tr.className = (inc.state || "") + " sev-" + sev;
	const chip = document.createElement("span");
	chip.className = "sev " + sev;
	chip.textContent = sev;
	const sevTd = cell("", "sevcell", "Severity");
	sevTd.appendChild(chip);
	const actions = cell("", "actions");
	if (S.canWrite && !S.kiosk && (inc.state === "open" || inc.state === "acknowledged")) {
		if (inc.state === "open") actions.appendChild(button("Ack", "ack", inc));
		actions.appendChild(button("Resolve", "resolve", inc));
		actions.appendChild(button("Note", "notes", inc));
		actions.appendChild(button("Assign", "assign", inc));
	}
	const age = cell(since(inc.first_seen), "age", "Age");
	age.title = inc.first_seen || "";
	const title = cell("", "title");
	const open = document.createElement("button");
	open.type = "button";
	open.className = "link";
	open.dataset.action = "detail";
	open.textContent = inc.title || "";
	title.appendChild(open);
	tr.replaceChildren(cell(inc.id, "num id", "ID"), sevTd,
	    cell(inc.state, "state", "State"), title,
	    cell(inc.host, "host", "Host"), age, cell(inc.owner || "", "owner", "Owner"),
	    cell(inc.level, "level", "Level"), cell(nextText(inc), "next", "Next"), actions);
	tr.removeAttribute("title");
	tr.dataset.id = String(inc.id);
	tr.dataset.json = JSON.stringify({ id: inc.id, title: inc.title, state: inc.state, owner: inc.owner });
}

// Draw a list, reusing each id's row.
function draw(list) {
	const tbody = document.querySelector("#incidents tbody");
	const rows = (list && list.incidents) || [];
	const next = new Map();
	for (const inc of rows) {
		const tr = S.shown.get(String(inc.id)) || document.createElement("tr");
		fillRow(tr, inc);
		next.set(String(inc.id), tr);
	}
	tbody.replaceChildren(...next.values());
	S.shown = next;
	$("empty").hidden = rows.length > 0;
	const total = list.total || 0;
	S.total = total;
	const first = rows.length ? S.offset + 1 : 0;
	setText("count", rows.length ? fmt(first) + "–" + fmt(S.offset + rows.length) +
	    " of " + fmt(total) : "0 of " + fmt(total));
	$("prev").disabled = S.offset === 0;
	$("next").disabled = S.offset + rows.length >= total;
	$("new").hidden = true;
	S.pending = null;
}

// Hold a list back while a row is under the pointer or focus.
function held() {
	const t = $("incidents");
	return S.hover || t.contains(document.activeElement) || $("act").open || $("detail").open;
}
function offer(list) {
	if (!held()) {
		draw(list);
		return;
	}
	if (!S.pending) S.heldTotal = S.total;
	S.pending = list;
	// Rows still in the list change in place; none moves or goes away:
	// one that left the view is marked until the redraw.
	const ids = new Set();
	for (const inc of list.incidents || []) {
		ids.add(String(inc.id));
		const tr = S.shown.get(String(inc.id));
		if (tr && !tr.contains(document.activeElement)) fillRow(tr, inc);
	}
	for (const [id, tr] of S.shown) {
		if (ids.has(id) || tr.classList.contains("gone")) continue;
		tr.classList.add("gone");
		tr.title = "changed: no longer in this view";
	}
	const inPage = (list.incidents || []).filter((i) => !S.shown.has(String(i.id))).length;
	const fresh = Math.max(inPage, (list.total || 0) - (S.heldTotal || 0));
	const b = $("new");
	b.textContent = fresh > 0 ? fresh + " new" : "updated";
	b.hidden = false;
	setText("count", fmt(S.shown.size ? S.offset + 1 : 0) + "–" + fmt(S.offset + S.shown.size) +
	    " of " + fmt(list.total || 0));
}

function drawStats(st) {
	const inc = st.incidents || {};
	const by = inc.by_severity || {};
	setText("n-active", inc.active !== undefined ? inc.active : "–");
	for (const s of ["critical", "high", "medium", "low"]) setText("n-" + s, by[s] !== undefined ? by[s] : "–");
	let received = 0, dropped = 0;
	const reasons = {};
	for (const name in st.inputs || {}) {
		const i = st.inputs[name];
		received += i.received || 0;
		dropped += i.dropped || 0;
		for (const r in i.reasons || {}) reasons[r] = (reasons[r] || 0) + i.reasons[r];
	}
	setText("n-received", fmt(received));
	setText("n-dropped", fmt(dropped));
	if (S.dropped !== null && dropped > S.dropped) {
		S.dropsUntil = Date.now() + 60000;
		S.dropsText = "Inputs dropped " + fmt(dropped - S.dropped) + " messages since the last look (" +
		    fmt(dropped) + " in all)";
	}
	S.dropped = dropped;
	const d = st.daemon || {};
	setText("version", "sopd " + (d.version || "") + ", up " + span(d.uptime || 0) +
	    ", config generation " + (d.generation !== undefined ? d.generation : "?"));
}

async function refresh() {
	if (!$("login").hidden) return;
	// Only the view shown is polled (sop.js draws the others).
	const other = typeof SOP !== "undefined" && SOP.view !== "incidents";
	if (other) sopRefresh();
	try {
		const [list, st] = await Promise.all([other ? null : api(listPath()), api("/api/v1/stats")]);
		if (list) offer(list);
		drawStats(st);
		$("health").textContent = "running";
		$("health").className = "health ok";
		S.failure = "";
		S.lastOk = Date.now();
		setText("updated", "updated " + new Date().toLocaleTimeString());
	} catch (e) {
		if (e.status === 401) return;
		$("health").textContent = "unreachable";
		$("health").className = "health down";
		S.failure = e.message;
	}
	banner();
}

// An incident's fields and timeline (events, changes, escalations, notes).
async function openDetail(id) {
	const d = $("detail");
	try {
		const inc = await api("/api/v1/incidents/" + encodeURIComponent(id));
		setText("detail-title", "#" + inc.id + " " + (inc.title || ""));
		const dl = $("detail-fields");
		dl.replaceChildren();
		for (const [k, v] of [["Severity", inc.severity], ["State", inc.state], ["Level", inc.level],
		    ["Host", inc.host], ["Rule", inc.rule], ["Owner", inc.owner], ["Events", inc.count],
		    ["First seen", inc.first_seen], ["Last seen", inc.last_seen], ["Next", nextText(inc)],
		    ["Impact", inc.impact], ["Workaround", inc.workaround], ["Expected recovery", inc.eta]]) {
			const dt = document.createElement("dt");
			dt.textContent = k;
			const dd = document.createElement("dd");
			dd.textContent = v === null || v === undefined || v === "" ? "–" : String(v);
			dl.append(dt, dd);
		}
		// People's and the daemon's steps, and the notices sent, by time.
		const items = (inc.history || []).map((h) => ({ at: h.at || "", text: (h.at || "") + " " +
		    (h.actor || "") + ": " + (h.action || "") + (h.to && h.to !== h.from ? " → " + h.to : "") +
		    (h.note ? " — " + h.note : "") }));
		for (const n of inc.notifications || []) {
			items.push({ at: n.at || "", cls: "notice", text: (n.at || "") + " notice " +
			    (n.notification || "") + " (" + (n.level || "") + ") to " + (n.targets || "") +
			    ": " + (n.outcome || "") });
		}
		items.sort((a, b) => a.at < b.at ? -1 : a.at > b.at ? 1 : 0);
		const ol = $("detail-history");
		ol.replaceChildren(...items.map((h) => {
			const li = document.createElement("li");
			li.textContent = h.text;
			if (h.cls) li.className = h.cls;
			return li;
		}));
		d.showModal();
	} catch (e) {
		S.failure = e.message;
		banner();
	}
}

// The action dialog: ack (optional note), resolve (confirm), note.
let acting = null;
function openAct(action, inc) {
	acting = { action, id: inc.id };
	const names = { ack: "Acknowledge", resolve: "Resolve", notes: "Add a note", assign: "Assign",
	    approve: "Approve", cancel: "Cancel change", close: "Close" };
	acting.change = !!inc.change;
	setText("act-title", names[action] + (inc.change ? " " : " incident ") + inc.id + "?");
	const assign = action === "assign";
	$("act-owner-row").hidden = !assign;
	$("act-note-row").hidden = assign;
	$("act-owner").value = assign ? (inc.owner || (S.session && S.session.user) || "") : "";
	setText("act-what", inc.title || "");
	setText("act-note-label", action === "notes" ? "Note (required)" : "Note (optional)");
	$("act-note").value = "";
	$("act-note").required = action === "notes";
	setText("act-error", "");
	setText("act-ok", names[action]);
	$("act").showModal();
	$(assign ? "act-owner" : "act-note").focus();
}
async function doAct(ev) {
	ev.preventDefault();
	if (!acting) return;
	const note = $("act-note").value.trim();
	if (acting.action === "notes" && !note) {
		setText("act-error", "A note is required.");
		return;
	}
	const body = acting.action === "assign" ? { owner: $("act-owner").value.trim() } : note ? { note } : {};
	if (S.session && !S.session.login_required) body.actor = "web";
	try {
		const inc = await api((acting.change ? "/api/v1/changes/" : "/api/v1/incidents/") +
		    encodeURIComponent(acting.id) + "/" + acting.action, {
			method: "POST",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify(body)
		});
		$("act").close();
		const tr = acting.change ? null : S.shown.get(String(acting.id));
		if (tr && inc && inc.id) fillRow(tr, inc);	// at once, in place
		acting = null;
		S.hover = false;
		// The dialog gives focus back to the row's button: let go of it,
		// or the row would be held as focused and not show the change.
		if (document.activeElement) document.activeElement.blur();
		refresh();
	} catch (e) {
		setText("act-error", e.message);
	}
}

// Login and session.
function needLogin() {
	$("login").hidden = false;
	$("console").hidden = !(S.session && S.session.public_read);
	$("login-user").focus();
}
async function startSession() {
	try {
		S.session = await api("/api/v1/session");
	} catch (e) {
		if (e.status !== 401) { S.failure = e.message; banner(); return; }
		S.session = null;
		const res = await fetch("/api/v1/session", { cache: "no-store" }).then((r) => r.json()).catch(() => ({}));
		if (res.public_read) {
			S.session = { public_read: true, login_required: true };
			$("login-open").hidden = false;
		} else {
			needLogin();
			return;
		}
	}
	const s = S.session;
	S.canWrite = !s.login_required || (s.role === "operator" || s.role === "admin");
	if (s.user) {
		setText("who-name", s.user + " (" + s.role + ")");
		$("who").hidden = false;
		$("login-open").hidden = true;
	}
	$("login").hidden = true;
	$("console").hidden = false;
	S.shown.forEach((tr) => tr.remove());
	S.shown = new Map();
	refresh();
}
async function doLogin(ev) {
	ev.preventDefault();
	setText("login-error", "");
	try {
		await api("/api/v1/login", {
			method: "POST",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify({ user: $("login-user").value, password: $("login-password").value })
		});
		$("login-password").value = "";
		S.etags.clear();
		await startSession();
	} catch (e) {
		setText("login-error", e.message);
	}
}
async function doLogout() {
	try { await api("/api/v1/logout", { method: "POST" }); } catch (e) { /* gone anyway */ }
	location.reload();
}

document.addEventListener("DOMContentLoaded", () => {
	readURL();
	if (S.kiosk) document.body.classList.add("kiosk");
	// A notice's link (?incident=ID) opens that incident.
	const linked = new URLSearchParams(location.search).get("incident");
	if (linked && /^[0-9]+$/.test(linked)) openDetail(linked);
	const tbody = document.querySelector("#incidents tbody");
	// Whether the pointer is on a row: the element it last went over.
	document.addEventListener("mouseover", (ev) => {
		S.hover = !!(ev.target.closest && ev.target.closest("#incidents tbody"));
		if (!S.hover && S.pending && !held()) draw(S.pending);
	});
	document.documentElement.addEventListener("mouseleave", () => {
		S.hover = false;
		if (S.pending && !held()) draw(S.pending);
	});
	tbody.addEventListener("focusout", () => setTimeout(() => {
		if (S.pending && !held()) draw(S.pending);
	}, 0));
	tbody.addEventListener("click", (ev) => {
		const b = ev.target.closest("button[data-action]");
		if (!b) return;
		const tr = b.closest("tr");
		if (b.dataset.action === "detail") openDetail(tr.dataset.id);
		else openAct(b.dataset.action, JSON.parse(tr.dataset.json));
	});
	$("new").addEventListener("click", () => { if (S.pending) draw(S.pending); });
	$("filters").addEventListener("input", () => {
		S.offset = 0;
		writeURL();
		refresh();
	});
	$("filters").addEventListener("submit", (ev) => ev.preventDefault());
	$("prev").addEventListener("click", () => { S.offset = Math.max(0, S.offset - PAGE); writeURL(); refresh(); });
	$("next").addEventListener("click", () => { S.offset += PAGE; writeURL(); refresh(); });
	$("act-form").addEventListener("submit", doAct);
	$("act-cancel").addEventListener("click", () => { $("act").close(); acting = null; });
	$("detail-close").addEventListener("click", () => $("detail").close());
	$("login").addEventListener("submit", doLogin);
	$("logout").addEventListener("click", doLogout);
	$("login-open").addEventListener("click", needLogin);
	startSession();
	setInterval(refresh, REFRESH_MS);
	setInterval(banner, 5000);
});
