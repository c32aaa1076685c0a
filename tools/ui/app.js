/*
 * the walletkey control panel (docs/holder.md): plain JavaScript, no
 * library. The login link's fragment (#token=...) is exchanged once for a
 * session secret kept in this tab's sessionStorage and sent as a bearer
 * token; the fragment is then removed from the address bar. Everything the
 * card says is put into the page as text (textContent), never as HTML.
 * PINs are read from their fields, sent once, and the fields emptied.
 */
"use strict";

const KEY = "walletkey-session";
const POLL_MS = 2000;
let session = sessionStorage.getItem(KEY);
let lastHead = null;		/* the audit log's newest seq at the last poll */
let records = [];		/* the records shown, oldest first */
let recordsHead = 0;		/* the newest seq among them */
let recordsLoaded = false;

function $(id) { return document.getElementById(id); }

function text(el, s) { el.textContent = s == null ? "" : String(s); }

function msg(id, s, kind) {
	const el = $(id);
	text(el, s);
	el.className = "msg" + (kind ? " " + kind : "");
}

function yuan(fen) {
	const neg = fen < 0;
	const a = Math.abs(fen);
	return (neg ? "-" : "") + Math.floor(a / 100) + "." + String(a % 100).padStart(2, "0");
}

async function api(method, path, body) {
	const opts = { method, headers: { "Authorization": "Bearer " + session } };
	if (body !== undefined) {
		opts.headers["Content-Type"] = "application/json";
		opts.body = JSON.stringify(body);
	}
	const r = await fetch("/api/" + path, opts);
	let data = null;
	try { data = await r.json(); } catch (e) { data = { message: "no answer" }; }
	if (r.status === 401) {
		sessionStorage.removeItem(KEY);
		session = null;
		showLogin("This page is no longer logged in: run 'walletkey ui' for a new link.");
	}
	return { status: r.status, data };
}

function showLogin(s) {
	const el = $("login-msg");
	text(el, s);
	el.className = "msg bad";
	el.hidden = false;
}

async function login() {
	const m = /(?:^#|&)token=([0-9a-f]{64})(?:&|$)/.exec(location.hash);
	if (m) {
		history.replaceState(null, "", "/");
		const r = await fetch("/api/login", {
			method: "POST",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify({ token: m[1] }),
		});
		const d = await r.json().catch(() => ({}));
		if (r.status === 200 && d.session) {
			session = d.session;
			sessionStorage.setItem(KEY, session);
		} else if (!session) {
			showLogin(d.message || "this login link is not valid");
			return false;
		}
	}
	if (!session) {
		showLogin("Open the panel with the link 'walletkey ui' printed or opened.");
		return false;
	}
	$("login-msg").hidden = true;
	document.body.dataset.loggedIn = "yes";
	return true;
}

/* ---- pages ---- */

function showPage(name) {
	for (const s of document.querySelectorAll(".page"))
		s.hidden = s.id !== "page-" + name;
	for (const b of document.querySelectorAll("#nav button"))
		b.classList.toggle("active", b.dataset.page === name);
	if (name === "certs")
		loadCerts();
	if (name === "about")
		loadAbout();
}

function tries(p) {
	if (!p) return "-";
	if (p.pin_verified) return "verified";
	if (p.pin_tries === 0) return "blocked (0 tries left)";
	if (p.pin_tries < 0) return "-";
	return p.pin_tries + (p.pin_tries === 1 ? " try left" : " tries left");
}

function renderStatus(d) {
	const c = d.card;
	const ul = $("st-readers");
	ul.replaceChildren();
	for (const r of d.readers || []) {
		const li = document.createElement("li");
		text(li, r.name + (r.card_present ? (r.walletkey ? ": walletkey card" : ": a card") : ": empty"));
		ul.appendChild(li);
	}
	if (!c) {
		msg("status-msg", d.message || "no walletkey card", "bad");
		text($("who"), "");
		for (const id of ["st-label", "st-serial", "st-reader", "st-version", "st-piv-tries",
		    "st-purse-tries", "st-purse", "st-balance", "st-holder", "st-audit"])
			text($(id), "-");
		return;
	}
	msg("status-msg", "");
	text($("who"), (c.label ? c.label + " · " : "") + c.serial);
	text($("st-label"), c.label || "(no name)");
	text($("st-serial"), c.serial);
	text($("st-reader"), c.reader);
	text($("st-version"), c.version);
	text($("st-piv-tries"), tries(c.piv));
	const p = c.purse;
	text($("st-purse-tries"), p ? tries(p) : "-");
	text($("st-purse"), !p ? "none" : p.blocked ? "blocked (ask your bank)" :
	    "serial " + p.serial + ", valid until " + p.expiry);
	text($("st-balance"), p && p.ep_balance !== undefined ? yuan(p.ep_balance) : "-");
	text($("st-holder"), p && p.holder ? p.holder : "-");
	const a = c.audit;
	text($("st-audit"), a ? a.count + " records (newest #" + a.head_seq + ")" : "-");
	if (document.activeElement !== $("label-input") && $("label-input").dataset.dirty !== "yes")
		$("label-input").value = c.label || "";
	if (a) {
		if (lastHead !== null && a.head_seq > lastHead && recordsLoaded)
			newRecords();
		lastHead = a.head_seq;
	}
}

async function refreshStatus(path) {
	const r = path === "refresh" ? await api("POST", "refresh", {}) : await api("GET", "status");
	if (r.status === 200)
		renderStatus(r.data);
	else if (r.status !== 401)
		msg("status-msg", r.data.message || "the card did not answer", "bad");
}

/* ---- PINs ---- */

async function changePin(which) {
	const o = $(which + "-old"), n = $(which + "-new"), n2 = $(which + "-new2");
	const out = which + "-msg";
	if (n.value !== n2.value) {
		msg(out, "the two new PINs differ", "bad");
		return;
	}
	const body = { which, old: o.value, new: n.value };
	o.value = n.value = n2.value = "";
	msg(out, "asking the card...");
	const r = await api("POST", "pin", body);
	body.old = body.new = "";
	if (r.status === 200)
		msg(out, (which === "piv" ? "PIV" : "purse") + " PIN changed", "good");
	else
		msg(out, r.data.message || "refused", "bad");
	refreshStatus();
}

/* ---- certificates ---- */

async function loadCerts() {
	const r = await api("GET", "certs");
	const tb = $("certs").querySelector("tbody");
	tb.replaceChildren();
	if (r.status !== 200) {
		msg("certs-msg", r.data.message || "cannot read the certificates", "bad");
		return;
	}
	msg("certs-msg", r.data.certificates.length ? "" : "no certificates on the card");
	for (const c of r.data.certificates) {
		const tr = document.createElement("tr");
		tr.dataset.slot = c.slot;
		for (const v of [c.slot + " " + c.name, c.subject || "-", c.issuer || "-",
		    c.not_after || "-", c.sha256 ? c.sha256.slice(0, 16) + "…" : "-"]) {
			const td = document.createElement("td");
			text(td, v);
			tr.appendChild(td);
		}
		const td = document.createElement("td");
		const b = document.createElement("button");
		b.type = "button";
		text(b, "Export PEM");
		b.addEventListener("click", () => exportCert(c.slot));
		td.appendChild(b);
		tr.appendChild(td);
		tb.appendChild(tr);
	}
}

async function exportCert(slot) {
	const r = await api("GET", "cert?slot=" + encodeURIComponent(slot));
	if (r.status !== 200) {
		msg("certs-msg", r.data.message || "cannot export", "bad");
		return;
	}
	const url = URL.createObjectURL(new Blob([r.data.pem], { type: "application/x-pem-file" }));
	const a = document.createElement("a");
	a.href = url;
	a.download = r.data.filename;
	document.body.appendChild(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 10000);
	msg("certs-msg", "exported " + r.data.filename, "good");
}

/* ---- the name ---- */

async function rename() {
	const v = $("label-input").value;
	const r = await api("POST", "label", { label: v });
	$("label-input").dataset.dirty = "no";
	if (r.status === 200)
		msg("label-msg", r.data.label ? "the key is now called \u201c" + r.data.label + "\u201d" :
		    "the key has no name now", "good");
	else
		msg("label-msg", r.data.message || "refused", "bad");
	refreshStatus();
}

/* ---- records ---- */

async function loadRecords(pin, incremental) {
	const body = {};
	if (pin) body.pin = pin;
	if (incremental && recordsHead > 0) body.from_seq = recordsHead + 1;
	const r = await api("POST", "records", body);
	if (r.status === 200) {
		const got = r.data.records;
		records = incremental ? records.concat(got) : got;
		if (records.length) recordsHead = records[records.length - 1].seq;
		recordsLoaded = true;
		msg("records-msg", records.length + " transactions" + (r.data.signed ? ", signed by the card" : "") +
		    (incremental && got.length ? " (" + got.length + " new)" : ""), "good");
		fillTypes();
		renderRecords();
		return true;
	}
	if (r.data.error === "pin_required") {
		msg("records-msg", incremental ? "a new transaction: enter the purse PIN to show it" :
		    "enter the purse PIN to show the transactions", incremental ? "" : "");
		document.body.dataset.newRecords = incremental ? "yes" : "no";
		return false;
	}
	msg("records-msg", r.data.message || "cannot read the transactions", "bad");
	return false;
}

function newRecords() {
	/* cards that show their history without the PIN refresh at once */
	loadRecords(null, true);
}

function fillTypes() {
	const sel = $("f-type");
	const have = new Set([...sel.options].map(o => o.value));
	for (const r of records)
		if (!have.has(r.type)) {
			const o = document.createElement("option");
			o.value = r.type;
			text(o, r.type);
			sel.appendChild(o);
			have.add(r.type);
		}
}

function filtered() {
	const origin = $("f-origin").value, type = $("f-type").value, purse = $("f-purse").value;
	const from = $("f-from").value, to = $("f-to").value;
	return records.filter(r => (!origin || r.origin === origin) && (!type || r.type === type) &&
	    (!purse || r.purse === purse) && (!from || r.time.slice(0, 10) >= from) &&
	    (!to || r.time.slice(0, 10) <= to));
}

function renderRecords() {
	const tb = $("records").querySelector("tbody");
	tb.replaceChildren();
	const shown = filtered();
	for (const r of shown.slice().reverse()) {
		const tr = document.createElement("tr");
		tr.dataset.seq = r.seq;
		tr.className = r.origin;
		const cells = [["#" + r.seq], [r.time], [r.type], [r.origin === "issuer" ? "bank" : "card"],
		    [yuan(r.amount_fen), "num " + (r.amount_fen < 0 ? "out" : "in")], [yuan(r.balance_fen), "num"],
		    [r.source], [r.target]];
		for (const [v, cls] of cells) {
			const td = document.createElement("td");
			text(td, v);
			if (cls) td.className = cls;
			tr.appendChild(td);
		}
		tb.appendChild(tr);
	}
	chart(shown.filter(r => r.purse === "EP"));
}

function chart(rs) {
	const svg = $("chart");
	const ns = "http://www.w3.org/2000/svg";
	svg.replaceChildren();
	if (rs.length === 0) return;
	const W = 600, H = 200, L = 60, R = 10, T = 10, B = 20;
	const vals = rs.map(r => r.balance_fen);
	const max = Math.max(...vals), min = Math.min(0, ...vals);
	const span = max - min || 1;
	const pts = rs.map((r, i) => {
		const x = L + (rs.length === 1 ? (W - L - R) / 2 : i * (W - L - R) / (rs.length - 1));
		const y = T + (H - T - B) * (1 - (r.balance_fen - min) / span);
		return x.toFixed(1) + "," + y.toFixed(1);
	});
	const line = document.createElementNS(ns, "polyline");
	line.setAttribute("points", pts.join(" "));
	svg.appendChild(line);
	for (const [v, y] of [[max, T + 10], [min, H - B]]) {
		const t = document.createElementNS(ns, "text");
		t.setAttribute("x", "4");
		t.setAttribute("y", String(y));
		text(t, yuan(v));
		svg.appendChild(t);
	}
	svg.dataset.points = String(rs.length);
}

/* ---- about ---- */

async function loadAbout() {
	const r = await api("GET", "about");
	if (r.status === 200) text($("about-version"), r.data.version);
}

/* ---- start ---- */

async function start() {
	for (const b of document.querySelectorAll("#nav button"))
		b.addEventListener("click", () => showPage(b.dataset.page));
	$("refresh").addEventListener("click", () => refreshStatus("refresh"));
	$("form-piv").addEventListener("submit", e => { e.preventDefault(); changePin("piv"); });
	$("form-purse").addEventListener("submit", e => { e.preventDefault(); changePin("purse"); });
	$("form-label").addEventListener("submit", e => { e.preventDefault(); rename(); });
	$("label-input").addEventListener("input", () => { $("label-input").dataset.dirty = "yes"; });
	$("form-records").addEventListener("submit", e => {
		e.preventDefault();
		const pin = $("records-pin").value;
		$("records-pin").value = "";
		document.body.dataset.newRecords = "no";
		loadRecords(pin || null, recordsLoaded && pin !== "");
	});
	for (const id of ["f-origin", "f-type", "f-from", "f-to", "f-purse"])
		$(id).addEventListener("change", renderRecords);
	/* a new link pasted into this tab changes only the fragment */
	window.addEventListener("hashchange", async () => {
		if (await login()) refreshStatus();
	});
	if (!await login())
		return;
	await refreshStatus();
	document.body.dataset.ready = "yes";
	setInterval(() => { if (session && !document.hidden) refreshStatus(); }, POLL_MS);
}

start();
