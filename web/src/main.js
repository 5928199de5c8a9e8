// The Argus web UI: one page whose state (view, time range, filters) lives in the query
// string, so every view can be bookmarked and shared. It reads the dash's API
// (docs/api.md) and draws charts with uPlot.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./style.css";

const RANGES = [
  ["15m", "Last 15 min"], ["1h", "Last hour"], ["6h", "Last 6 h"], ["24h", "Last 24 h"], ["7d", "Last 7 days"],
  ["custom", "Custom…"],
];
const REFRESH = [["0", "Off"], ["10", "10 s"], ["30", "30 s"], ["60", "1 min"]];
const VIEWS = [
  ["overview", "Overview"], ["alarms", "Alarms"], ["hosts", "Hosts"], ["explore", "Explorer"], ["events", "Events"],
  ["pipeline", "Pipeline"], ["packet", "Packet"],
];

// ---- state in the URL ----
const state = () => Object.fromEntries(new URLSearchParams(location.search));
function go(changes, replace = false) {
  const s = { ...state(), ...changes };
  for (const k of Object.keys(s)) if (s[k] === "" || s[k] == null) delete s[k];
  const url = "/?" + new URLSearchParams(s).toString();
  if (replace) history.replaceState(null, "", url); else history.pushState(null, "", url);
  render();
}
window.addEventListener("popstate", () => render());

// The range as API parameters: relative (since=-1h) or the custom ms pair.
function rangeParams() {
  const s = state();
  if ((s.range || "1h") === "custom" && s.from && s.to) return { since: s.from, until: s.to };
  const r = s.range && s.range !== "custom" ? s.range : "1h";
  return { since: "-" + r };
}

// ---- API ----
function token() { return localStorage.getItem("argus.token") || ""; }
class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}
async function api(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const headers = token() ? { Authorization: "Bearer " + token() } : {};
  const res = await fetch("/api/v1/" + path + (q.toString() ? "?" + q : ""), { headers });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, body.error || res.statusText);
  return body;
}

// Writes (silences) carry the admin token, kept apart from the read token.
function adminToken() { return localStorage.getItem("argus.admin") || ""; }
async function apiWrite(method, path, body) {
  const headers = { Authorization: "Bearer " + adminToken() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch("/api/v1/" + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, answer.error || res.statusText);
  return answer;
}

// ---- DOM helpers ----
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c.nodeType ? c : String(c));
  return el;
}
function link(text, changes) {
  const s = { ...state(), ...changes };
  return h("a", { href: "/?" + new URLSearchParams(s), onclick: (e) => { e.preventDefault(); go(changes); } }, text);
}
const fmtTime = (ms) => (ms ? new Date(ms).toLocaleString() : "–");
const fmtNum = (v) => (v === null || v === undefined ? "–" : Number.isInteger(v) ? v.toLocaleString() : v.toFixed(2));
function ago(ms) {
  if (!ms) return "never";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}
function table(columns, rows, empty = "Nothing here yet.") {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h("div", { class: "scroll" }, h("table", {},
    h("thead", {}, h("tr", {}, columns.map(([title]) => h("th", {}, title)))),
    h("tbody", {}, rows.map((r) => h("tr", { class: r.stale ? "stale" : null }, columns.map(([, cell]) => h("td", {}, cell(r))))))));
}
function card(title, ...body) { return h("section", { class: "card" }, h("h2", {}, title), ...body); }
function stat(label, value, cls) { return h("div", { class: "stat " + (cls || "") }, h("b", {}, value), h("span", {}, label)); }

// ---- charts ----
const charts = new Set();
const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];
// 1234567 -> "1.2M": axis labels that fit.
function si(v) {
  const a = Math.abs(v);
  for (const [n, s] of [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]]) if (a >= n) return +(v / n).toFixed(1) + s;
  return +v.toFixed(2) + "";
}
// series: [{label, points: [[ts, value], …]}]; draws "no data" when there is none.
// opts.range: [since, until] in ms, the x axis (the query's window, however few points);
// opts.step: the buckets' width, so a bucket without data is a gap (or opts.fill).
function chart(title, series, opts = {}) {
  const box = h("div", { class: "chart", "data-title": title }, h("h3", {}, title));
  const points = series.reduce((n, s) => n + s.points.length, 0);
  if (!points) { box.append(h("p", { class: "empty" }, "No data in this range.")); return box; }
  let xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  if (opts.range && opts.step && (opts.range[1] - opts.range[0]) / opts.step <= 5000) {
    xs = [];
    for (let x = opts.range[0]; x < opts.range[1]; x += opts.step) xs.push(x);
  }
  const index = new Map(xs.map((x, i) => [x, i]));
  const data = [xs.map((x) => x / 1000)];
  for (const s of series) {
    const ys = new Array(xs.length).fill(opts.fill ?? null);
    for (const [x, y] of s.points) if (index.has(x)) ys[index.get(x)] = y;
    data.push(ys);
  }
  const plot = h("div", { class: "plot", "data-points": String(points) });
  box.append(plot);
  requestAnimationFrame(() => {
    if (!plot.isConnected) return;
    const u = new uPlot({
      width: Math.max(260, plot.clientWidth), height: opts.height || 200,
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: false }))],
      axes: [{}, { size: 50, values: (u, vals) => vals.map(si) }],
      legend: { show: series.length <= 12 },
      scales: { x: { time: true, ...(opts.range ? { range: () => [opts.range[0] / 1000, opts.range[1] / 1000] } : {}) } },
    }, data, plot);
    charts.add(u);
  });
  return box;
}
function clearCharts() { for (const u of charts) u.destroy(); charts.clear(); }
window.addEventListener("resize", () => {
  for (const u of charts) if (u.root.parentElement) u.setSize({ width: Math.max(260, u.root.parentElement.clientWidth), height: u.height });
});

// ---- live tail (Server-Sent Events over fetch, so the read token can go in a header) ----
let tail = null;
function stopTail() { if (tail) { tail.abort(); tail = null; } }
async function startTail(params, onEvent, onState) {
  stopTail();
  const ctl = new AbortController();
  tail = ctl;
  let last = "";
  while (!ctl.signal.aborted) {
    try {
      const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v));
      const headers = { Accept: "text/event-stream" };
      if (token()) headers.Authorization = "Bearer " + token();
      if (last) headers["Last-Event-ID"] = last;
      const res = await fetch("/api/v1/events/stream?" + q, { headers, signal: ctl.signal });
      if (!res.ok) throw new ApiError(res.status, (await res.json().catch(() => ({}))).error || res.statusText);
      onState("live");
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const fields = {};
          for (const line of block.split("\n")) {
            const i = line.indexOf(": ");
            if (line.startsWith(":") || i < 0) continue;
            fields[line.slice(0, i)] = line.slice(i + 2);
          }
          if (fields.event === "event" && fields.data) {
            last = fields.id || last;
            onEvent(JSON.parse(fields.data));
          }
        }
      }
    } catch (e) {
      if (ctl.signal.aborted) return;
      onState("reconnecting (" + e.message + ")");
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

// ---- views ----
async function overview(main) {
  const [hosts, types, pipeline] = await Promise.all([
    api("hosts", { limit: 1000 }), api("types"), api("pipeline").catch((e) => ({ error: e.message })),
  ]);
  const online = hosts.hosts.filter((x) => x.state === "online").length;
  const offline = hosts.hosts.filter((x) => x.state === "offline").length;
  const lag = (pipeline.types || []).reduce((n, t) => n + t.backlog, 0);
  const dead = (pipeline.types || []).reduce((n, t) => n + t.dead_letters, 0);
  const stale = [...(pipeline.proxies || []), ...(pipeline.consumers || [])].filter((p) => p.stale).length +
    ((pipeline.agents && pipeline.agents.offline) || 0);
  main.append(h("div", { class: "stats" },
    stat("hosts online", online, "ok"), stat("hosts offline", offline, offline ? "bad" : "ok"),
    stat("event types", types.types.length),
    stat("waiting in Redis", pipeline.error ? "?" : fmtNum(lag), lag > 10000 ? "bad" : ""),
    stat("dead letters", pipeline.error ? "?" : dead, dead ? "bad" : "ok"),
    stat("stale stages", pipeline.error ? "?" : stale, stale ? "bad" : "ok")));
  const rates = await api("rates", { ...rangeParams() });
  main.append(card("Events per type", chart("events per " + rates.step / 1000 + " s", rates.series.map((s) => ({ label: s.type, points: s.points })), { range: [rates.since, rates.until], step: rates.step, fill: 0 })));
  main.append(await alarmsCard({}, 10));
  // Offline first: what needs a look is on top.
  const order = { offline: 0, unknown: 1, online: 2 };
  const listed = [...hosts.hosts].sort((a, b) => order[a.state] - order[b.state] || a.host.localeCompare(b.host)).slice(0, 50);
  main.append(card("Hosts", table([
    ["host", (r) => link(r.host, { view: "host", host: r.host })],
    ["state", (r) => h("span", { class: "badge " + r.state }, r.state)],
    ["since", (r) => (r.state_since ? ago(r.state_since) : "–")],
    ["last seen", (r) => ago(r.last_seen)],
  ], listed, "No host has sent anything yet."),
  hosts.hosts.length > listed.length ? h("p", {}, link(`all ${hosts.hosts.length} hosts…`, { view: "hosts" })) : null));
  if (pipeline.error) main.append(card("Pipeline", h("p", { class: "error" }, pipeline.error)));
}

async function hostsView(main) {
  const s = state();
  const form = h("form", { class: "filters", onsubmit: (e) => {
    e.preventDefault();
    const f = new FormData(form);
    go({ prefix: f.get("prefix"), label: f.get("label"), state: f.get("state") });
  } },
  h("input", { name: "prefix", placeholder: "name starts with…", value: s.prefix || "", "aria-label": "host name prefix" }),
  h("input", { name: "label", placeholder: "label=value", value: s.label || "", "aria-label": "label" }),
  h("select", { name: "state", "aria-label": "state" }, ["", "online", "offline", "unknown"].map((v) => h("option", { value: v, selected: v === (s.state || "") }, v || "any state"))),
  h("button", {}, "Filter"));
  main.append(form);
  const list = h("div");
  main.append(list);
  let cursor = null;
  const more = h("button", { class: "more", onclick: () => load() }, "More");
  async function load() {
    const r = await api("hosts", { limit: 200, prefix: s.prefix, label: s.label, state: s.state, cursor });
    list.append(table([
      ["host", (x) => link(x.host, { view: "host", host: x.host })],
      ["state", (x) => h("span", { class: "badge " + x.state }, x.state)],
      ["labels", (x) => Object.entries(x.labels || {}).map(([k, v]) => h("span", { class: "label" }, `${k}=${v}`))],
      ["agent", (x) => x.agent_version || "–"],
      ["last seen", (x) => ago(x.last_seen)],
      ["events", (x) => fmtNum(x.events)],
    ], r.hosts, "No hosts match."));
    cursor = r.next_cursor;
    more.hidden = !cursor;
  }
  main.append(more);
  await load();
}

async function hostView(main) {
  const host = state().host;
  if (!host) { main.append(h("p", { class: "empty" }, "Pick a host on the Hosts page.")); return; }
  const [info, sys, events] = await Promise.all([
    api("hosts/" + encodeURIComponent(host)),
    api("system", { host, ...rangeParams() }),
    api("events", { host, limit: 20 }),
  ]);
  const hostAlarms = await api("alarms", { host });
  const firing = hostAlarms.counts.alarm;
  main.append(h("h1", {}, host, " ", h("span", { class: "badge " + info.state }, info.state), " ",
    ["critical", "warning", "info"].filter((sev) => firing[sev]).map((sev) =>
      h("span", { class: "badge alarm " + sev, title: `${firing[sev]} ${sev} alarms` }, `${firing[sev]} ${sev}`))));
  main.append(h("p", { class: "meta" },
    `agent ${info.agent_version || "–"} · last seen ${ago(info.last_seen)} · first seen ${fmtTime(info.first_seen)} `,
    Object.entries(info.labels || {}).map(([k, v]) => h("span", { class: "label" }, `${k}=${v}`))));
  const metric = (name) => (sys.series.find((x) => x.metric === name) || { points: [] }).points;
  const win = { range: [sys.since, sys.until], step: sys.step };
  main.append(card("System", h("div", { class: "grid" },
    chart("CPU %", [{ label: "cpu", points: metric("cpu_pct") }], win),
    chart("Memory %", [{ label: "memory", points: metric("mem_pct") }], win),
    chart("Load", [{ label: "1 min", points: metric("load1") }, { label: "5 min", points: metric("load5") }, { label: "15 min", points: metric("load15") }], win),
    chart("Network bytes/s", [{ label: "rx", points: metric("net_rx_bytes_s") }, { label: "tx", points: metric("net_tx_bytes_s") }], win),
    chart("Fullest disk %", [{ label: "disk", points: metric("disk_max_pct") }], win))));
  main.append(card("Event types (24 h)", table([
    ["type", (t) => link(t.type, { view: "events", type: t.type, host })],
    ["events", (t) => fmtNum(t.events)], ["latest", (t) => ago(t.last_ts)],
    ["chart", (t) => link("explore", { view: "explore", type: t.type, hosts: host, field: "" })],
  ], info.types.types)));
  if (info.agent && info.agent.counters) {
    const c = info.agent.counters;
    main.append(card("Agent", h("div", { class: "stats" },
      stat("sent", fmtNum(c.sent)), stat("retried", fmtNum(c.retried)), stat("spooled", fmtNum(c.spooled)),
      stat("dropped", fmtNum(c.dropped), c.dropped ? "bad" : "ok"), stat("queue", fmtNum(info.agent.queue_events)),
      stat("uptime", Math.round((info.agent.uptime_s || 0) / 60) + " min"))));
  }
  if (hostAlarms.alarms.length) main.append(card("Alarms", alarmsTable(hostAlarms.alarms)));
  main.append(card("Recent events", eventsTable(events.events)));
}

// ---- alarms ----
const SEVERITY = { critical: 0, warning: 1, info: 2 };
const bySeverity = (a, b) => (SEVERITY[a.severity] ?? 3) - (SEVERITY[b.severity] ?? 3) || (b.since - a.since);
function alarmsTable(alarms, onSilence) {
  return table([
    ["severity", (a) => h("span", { class: "badge alarm " + a.severity }, a.severity)],
    ["rule", (a) => link(a.rule, { view: "alarms", rule: a.rule, host: "" })],
    ["host", (a) => link(a.host, { view: "host", host: a.host })],
    ["state", (a) => h("span", { class: "badge state-" + a.state }, a.state.replace("_", " "), a.flapping ? " · flapping" : "", a.silenced ? " · silenced" : "")],
    ["value", (a) => fmtNum(a.value)],
    ["since", (a) => h("span", { title: fmtTime(a.since) }, ago(a.since))],
    ["labels", (a) => Object.entries(a.labels || {}).map(([k, v]) => h("span", { class: "label" }, `${k}=${v}`))],
    ...(onSilence ? [["", (a) => h("button", { class: "silence", onclick: () => onSilence(a) }, "Silence")]] : []),
  ], [...alarms].sort(bySeverity), "No alarms: all quiet.");
}
// The overview's card: pairs in alarm per severity, and the most pressing ones.
async function alarmsCard(filter, n) {
  const r = await api("alarms", { ...filter, limit: 1000 });
  const c = r.counts.alarm;
  return card("Alarms", h("div", { class: "stats" },
    stat("critical", c.critical, c.critical ? "bad" : "ok"), stat("warning", c.warning, c.warning ? "warn" : "ok"),
    stat("info", c.info), stat("no data", r.counts.states.insufficient_data || 0, r.counts.states.insufficient_data ? "warn" : "ok")),
  alarmsTable(r.alarms.slice(0, n)), r.alarms.length > n ? h("p", {}, link(`all ${r.alarms.length} alarms…`, { view: "alarms" })) : null);
}

async function alarmsView(main) {
  const s = state();
  const form = h("form", { class: "filters", onsubmit: (e) => {
    e.preventDefault();
    const f = new FormData(form);
    go({ state: f.get("state"), severity: f.get("severity"), host: f.get("host"), rule: f.get("rule") });
  } },
  h("select", { name: "state", "aria-label": "state" }, ["active", "alarm", "pending", "insufficient_data", "ok", "all"].map((v) => h("option", { value: v, selected: v === (s.state || "active") }, v.replace("_", " ")))),
  h("select", { name: "severity", "aria-label": "severity" }, ["", "critical", "warning", "info"].map((v) => h("option", { value: v, selected: v === (s.severity || "") }, v || "any severity"))),
  h("input", { name: "host", placeholder: "host", value: s.host || "", "aria-label": "host" }),
  h("input", { name: "rule", placeholder: "rule", value: s.rule || "", "aria-label": "rule" }),
  h("button", {}, "Filter"));
  main.append(form);
  const filter = { state: s.state, severity: s.severity, host: s.host, rule: s.rule };
  const [current, history, silences] = await Promise.all([
    api("alarms", { ...filter, limit: 1000 }),
    api("alarms/history", { rule: s.rule, host: s.host, ...rangeParams(), limit: 100 }),
    api("silences"),
  ]);
  // Marked as the notifier will treat them: every matcher equal to a label of the alarm.
  for (const a of current.alarms) {
    const labels = { ...a.labels, alertname: a.rule, host: a.host, severity: a.severity };
    a.silenced = silences.silences.some((x) => Object.entries(x.matchers).every(([k, v]) => labels[k] === v));
  }
  const admin = card("Silences");
  const need = (then) => {
    // Writes need the admin token: asked for here once, kept in this browser.
    const input = h("input", { type: "password", placeholder: "admin token", "aria-label": "admin token" });
    admin.replaceChildren(h("h2", {}, "Silences"), h("form", { class: "filters", onsubmit: (e) => {
      e.preventDefault(); localStorage.setItem("argus.admin", input.value); then();
    } }, input, h("button", {}, "Use it")));
    input.focus();
  };
  const write = async (fn) => {
    if (!adminToken()) return need(() => write(fn));
    try { await fn(); render(); } catch (e) {
      if (e.status === 401) { localStorage.removeItem("argus.admin"); need(() => write(fn)); }
      admin.append(h("p", { class: "error" }, e.message));
    }
  };
  const duration = h("select", { "aria-label": "silence for" }, ["1h", "2h", "8h", "24h", "7d"].map((d) => h("option", { value: d, selected: d === "2h" }, d)));
  const silence = (a) => write(() => apiWrite("POST", "silences", {
    matchers: { alertname: a.rule, host: a.host }, duration: duration.value, comment: "from the alarms page", created_by: "ui",
  }));
  main.append(card(`Current (${current.alarms.length})`, h("p", { class: "meta" }, "Silence for ", duration), alarmsTable(current.alarms, silence)));
  main.append(card("History", table([
    ["time", (x) => fmtTime(x.at)], ["rule", (x) => x.rule], ["host", (x) => link(x.host, { view: "host", host: x.host })],
    ["change", (x) => h("span", {}, h("span", { class: "badge state-" + x.from }, x.from.replace("_", " ")), " → ", h("span", { class: "badge state-" + x.to }, x.to.replace("_", " ")))],
    ["value", (x) => fmtNum(x.value)], ["why", (x) => x.why],
  ], history.history, "No state changes in this range.")));
  admin.append(table([
    ["matchers", (x) => Object.entries(x.matchers).map(([k, v]) => h("span", { class: "label" }, `${k}=${v}`))],
    ["until", (x) => fmtTime(x.ends_at)], ["comment", (x) => x.comment || "–"], ["by", (x) => x.created_by || "–"],
    ["", (x) => h("button", { onclick: () => write(() => apiWrite("DELETE", "silences/" + x.id)) }, "Expire")],
  ], silences.silences, "No active silences."));
  main.append(admin);
}

function eventsTable(events) {
  return table([
    ["time", (e) => fmtTime(e.ts)], ["type", (e) => e.type], ["host", (e) => e.host],
    ["priority", (e) => e.priority], ["content", (e) => h("code", {}, JSON.stringify(e.content))],
  ], events, "No events.");
}

async function exploreView(main) {
  const s = state();
  const types = (await api("types")).types.map((t) => t.type);
  const type = s.type || types.find((t) => !t.startsWith("argus.")) || types[0];
  const fields = type ? (await api("fields", { type })).fields.map((f) => f.field) : [];
  const field = fields.includes(s.field) ? s.field : fields[0];
  const agg = s.agg || "avg";
  const sel = (name, values, current, label) => h("select", { name, "aria-label": label, onchange: (e) => go({ [name]: e.target.value, ...(name === "type" ? { field: "" } : {}) }) },
    values.map((v) => h("option", { value: v, selected: v === current }, v)));
  main.append(h("div", { class: "filters" },
    sel("type", types, type, "type"), sel("field", fields, field, "field"),
    sel("agg", ["avg", "min", "max", "sum", "count", "last"], agg, "aggregate"),
    sel("group", ["merged", "host"], s.group === "host" ? "host" : "merged", "group"),
    h("input", { placeholder: "hosts: a,b or web-*", value: s.hosts || "", "aria-label": "hosts",
      onchange: (e) => go({ hosts: e.target.value }) })));
  if (!type || !field) { main.append(h("p", { class: "empty" }, "No numeric fields yet: events with numbers in their content make them.")); return; }
  const params = { type, field, agg, hosts: s.hosts, ...rangeParams() };
  const [series, top] = await Promise.all([
    api("series", { ...params, group: s.group === "host" ? "host" : undefined, limit: 20 }),
    api("top", { ...params, n: 10 }),
  ]);
  main.append(card(`${type} · ${field} · ${agg}`, h("p", { class: "meta" }, `source ${series.source}, step ${series.step / 1000} s`),
    chart(`${agg}(${field})`, series.series.map((x) => ({ label: x.host || "all hosts", points: x.points })), { height: 280, range: [series.since, series.until], step: series.step })));
  main.append(card("Top hosts", table([
    ["host", (r) => link(r.host, { view: "host", host: r.host })], [agg, (r) => fmtNum(r.value)], ["samples", (r) => fmtNum(r.count)],
  ], top.hosts)));
}

async function eventsView(main) {
  const s = state();
  const form = h("form", { class: "filters", onsubmit: (e) => {
    e.preventDefault();
    const f = new FormData(form);
    go({ type: f.get("type"), host: f.get("host") });
  } },
  h("input", { name: "type", placeholder: "type", value: s.type || "", "aria-label": "type" }),
  h("input", { name: "host", placeholder: "host", value: s.host || "", "aria-label": "host" }),
  h("button", {}, "Filter"),
  h("button", { type: "button", id: "tail", onclick: () => go({ live: s.live ? "" : "1" }) }, s.live ? "Stop live tail" : "Live tail"));
  main.append(form);
  const filter = { type: s.type, host: s.host };
  if (s.live) {
    const status = h("p", { class: "meta", id: "tail-state" }, "connecting…");
    const rows = h("tbody");
    main.append(status, h("div", { class: "scroll" }, h("table", { id: "live" },
      h("thead", {}, h("tr", {}, ["time", "type", "host", "priority", "content"].map((t) => h("th", {}, t)))), rows)));
    startTail(filter, (e) => {
      rows.prepend(h("tr", { class: "fresh" }, h("td", {}, fmtTime(e.ts)), h("td", {}, e.type), h("td", {}, e.host),
        h("td", {}, e.priority), h("td", {}, h("code", {}, JSON.stringify(e.content)))));
      while (rows.children.length > 500) rows.lastChild.remove();
    }, (st) => { status.textContent = st === "live" ? "live: new events appear at the top" : st; });
    return;
  }
  const list = h("div");
  let cursor = null;
  const more = h("button", { class: "more", onclick: () => load() }, "Older");
  async function load() {
    const r = await api("events", { ...filter, ...rangeParams(), limit: 100, cursor });
    list.append(eventsTable(r.events));
    cursor = r.next_cursor;
    more.hidden = !cursor;
  }
  main.append(list, more);
  await load();
}

async function pipelineView(main) {
  const p = await api("pipeline");
  main.append(card("Streams", table([
    ["type", (t) => link(t.type, { view: "events", type: t.type })], ["length", (t) => fmtNum(t.length)],
    ["unread", (t) => fmtNum(t.unread)], ["pending", (t) => fmtNum(t.pending)], ["backlog", (t) => fmtNum(t.backlog)],
    ["dead letters", (t) => fmtNum(t.dead_letters)],
  ], p.types)));
  main.append(card("Proxies", table([
    ["proxy", (x) => x.name + (x.stale ? " (stale)" : "")], ["accepted", (x) => fmtNum(x.accepted)],
    ["rejected", (x) => fmtNum(x.rejected)], ["429", (x) => fmtNum(x.answered_429)], ["503", (x) => fmtNum(x.answered_503)],
    ["updated", (x) => ago(x.updated_ms)],
  ], p.proxies)));
  main.append(card("Consumers", table([
    ["consumer", (x) => x.name + (x.stale ? " (stale)" : "")], ["type", (x) => x.type], ["stored", (x) => fmtNum(x.stored)],
    ["lag", (x) => fmtNum(x.lag)], ["batch s", (x) => fmtNum(x.last_batch_seconds)], ["dead lettered", (x) => fmtNum(x.dead_lettered)],
    ["updated", (x) => ago(x.updated_ms)],
  ], p.consumers)));
  const n = p.notifications || {};
  main.append(card("Notifications", h("div", { class: "stats" },
    stat("on the stream", fmtNum(n.length)), stat("not yet read", fmtNum(n.unread)),
    stat("being delivered", fmtNum(n.pending), n.pending ? "warn" : "ok"),
    stat("dead letters", fmtNum(n.dead_letters), n.dead_letters ? "bad" : "ok"))));
  const a = p.agents || {};
  main.append(card("Agents", a.error ? h("p", { class: "error" }, a.error) : [
    h("div", { class: "stats" }, stat("agents", fmtNum(a.agents)), stat("online", fmtNum(a.online), "ok"),
      stat("offline", fmtNum(a.offline), a.offline ? "bad" : "ok"), stat("spooled", fmtNum(a.spooled)),
      stat("dropped", fmtNum(a.dropped), a.dropped ? "bad" : "ok"), stat("retried", fmtNum(a.retried))),
    table([
      ["host", (x) => link(x.host, { view: "host", host: x.host })], ["state", (x) => x.state], ["version", (x) => x.version],
      ["heartbeat", (x) => ago(x.last_heartbeat)], ["spool bytes", (x) => fmtNum(x.spool_bytes)], ["dropped", (x) => fmtNum(x.dropped)],
    ], a.list || [])]));
}

async function packetView(main) {
  const s = state();
  const data = await api("packet", { network: s.network, ...rangeParams() });
  const networks = data.networks;
  main.append(h("div", { class: "filters" }, h("input", { placeholder: "network", value: s.network || "", "aria-label": "network",
    onchange: (e) => go({ network: e.target.value }) })));
  const pick = (key) => networks.map((n) => ({ label: n.network || "(none)", points: n.points.filter((p) => p[key] !== null).map((p) => [p.ts, p[key]]) }));
  const win = { range: [data.since, data.until], step: data.step };
  main.append(card("Delivery", h("div", { class: "grid" },
    chart("delivery rate", pick("delivery_rate"), win), chart("drop rate", pick("drop_rate"), win),
    chart("mean hops", pick("hops_avg"), win), chart("mean delay ms", pick("delay_avg_ms"), win))));
  const msgs = await api("packet/messages", { network: s.network, limit: 50 });
  main.append(card("Latest messages", table([
    ["message", (m) => m.msg], ["network", (m) => m.network], ["sender", (m) => m.sender || "–"], ["sent", (m) => fmtTime(m.sent_ts)],
    ["received", (m) => `${m.receivers}/${m.expected}`], ["hops", (m) => fmtNum(m.hops_avg)],
    ["receivers", (m) => m.receipts.map((r) => `${r.host} (+${r.delay_ms ?? "?"} ms)`).join(", ")],
  ], msgs.messages, "No packet messages in the store.")));
}

const RENDER = { overview, alarms: alarmsView, hosts: hostsView, host: hostView, explore: exploreView, events: eventsView, pipeline: pipelineView, packet: packetView };

// ---- frame: nav, range, refresh ----
let timer = null;
let generation = 0;
async function render() {
  const s = state();
  const view = RENDER[s.view] ? s.view : "overview";
  const gen = ++generation;
  stopTail();
  clearCharts();
  document.getElementById("nav").replaceChildren(...VIEWS.map(([v, title]) => {
    const a = link(title, { view: v });
    if (v === view || (view === "host" && v === "hosts")) a.className = "active";
    return a;
  }));
  const range = document.getElementById("range");
  range.value = s.range || "1h";
  document.getElementById("custom").hidden = range.value !== "custom";
  for (const id of ["from", "to"]) document.getElementById(id).value = s[id] ? toLocal(Number(s[id])) : "";
  document.getElementById("refresh").value = s.refresh || "0";
  const main = h("div", { class: "view view-" + view });
  const status = document.getElementById("status");
  try {
    await RENDER[view](main);
    if (gen !== generation) return;  // a newer render took over
    document.getElementById("main").replaceChildren(main);
    status.textContent = "updated " + new Date().toLocaleTimeString();
    status.className = "";
  } catch (e) {
    if (gen !== generation) return;
    if (e instanceof ApiError && e.status === 401) {
      document.getElementById("main").replaceChildren(tokenForm());
    } else {
      document.getElementById("main").replaceChildren(main);
      main.append(h("p", { class: "error" }, e.message));
    }
    status.textContent = e.message;
    status.className = "error";
  }
  clearTimeout(timer);
  const every = Number(s.refresh || 0);
  if (every > 0 && !s.live) timer = setTimeout(() => { if (gen === generation) render(); }, every * 1000);
}

// ms since the epoch as a datetime-local input's value, in the browser's time zone.
function toLocal(ms) { return new Date(ms - new Date(ms).getTimezoneOffset() * 60e3).toISOString().slice(0, 16); }

function tokenForm() {
  const input = h("input", { type: "password", placeholder: "read token", "aria-label": "read token" });
  return h("form", { class: "card", onsubmit: (e) => { e.preventDefault(); localStorage.setItem("argus.token", input.value); render(); } },
    h("h2", {}, "This dash needs its read token"), input, h("button", {}, "Use it"));
}

function setup() {
  const range = document.getElementById("range");
  range.replaceChildren(...RANGES.map(([v, t]) => h("option", { value: v }, t)));
  range.addEventListener("change", () => {
    if (range.value === "custom") {
      const now = Date.now();
      go({ range: "custom", from: String(now - 3600e3), to: String(now) });
    } else go({ range: range.value, from: "", to: "" });
  });
  for (const id of ["from", "to"]) {
    const el = document.getElementById(id);
    el.addEventListener("change", () => { const ms = new Date(el.value).getTime(); if (!Number.isNaN(ms)) go({ [id]: String(ms) }); });
  }
  const refresh = document.getElementById("refresh");
  refresh.replaceChildren(...REFRESH.map(([v, t]) => h("option", { value: v }, t)));
  refresh.addEventListener("change", () => go({ refresh: refresh.value === "0" ? "" : refresh.value }, true));
  render();
}
setup();
