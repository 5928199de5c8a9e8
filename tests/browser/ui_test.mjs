// The web UI in a real headless Chromium (Debian's, driven by playwright-core) against a
// real pipeline on loopback: redis-server, argus-proxy, argus-consumer, argus-dash,
// argus-alert with a rule that fires, and an argus-agent tailing a log, plus events for
// more hosts posted to the proxy. Every
// page is loaded, checked and photographed; any console error fails the run.
//
//   node tests/browser/ui_test.mjs --bin build-test/bin --web web/dist --out build-test/ui-screenshots
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync, appendFileSync, rmSync, readFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";

const root = resolve(new URL("../..", import.meta.url).pathname);
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const bin = resolve(args.bin || join(root, "build-test/bin"));
const web = resolve(args.web || join(root, "web/dist"));
const out = resolve(args.out || join(root, "build-test/ui-screenshots"));
const chromiumPath = args.chromium || "/usr/bin/chromium";
const { chromium } = createRequire(join(root, "web/package.json"))("playwright-core");

const failures = [];
function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures.push(what);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what, fn, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    try { const v = await fn(); if (v) return v; } catch { /* not yet */ }
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await sleep(200);
  }
}
function listening(port) {
  return new Promise((res) => { const c = connect(port, "127.0.0.1", () => { c.end(); res(true); }); c.on("error", () => res(false)); });
}
function freePort() {
  return new Promise((res) => { const s = createServer(); s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => res(p)); }); });
}

// ---- the pipeline ----
const dir = mkdtempSync(join(tmpdir(), "argus-ui-"));
const procs = [];
function start(name, cmd, argv) {
  const log = join(dir, name + ".log");
  const p = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
  p.stdout.on("data", (d) => appendFileSync(log, d));
  p.stderr.on("data", (d) => appendFileSync(log, d));
  p.on("exit", (code, sig) => { if (!stopping) console.log(`${name} exited (${code ?? sig}); its log:\n` + readFileSync(log, "utf8").slice(-2000)); });
  procs.push(p);
  return p;
}
let stopping = false;
async function stopAll() {
  stopping = true;
  for (const p of procs.reverse()) { try { p.kill("SIGTERM"); } catch { /* gone */ } }
  await sleep(500);
  for (const p of procs) { try { p.kill("SIGKILL"); } catch { /* gone */ } }
}

const [redisPort, proxyPort, dashPort, lockedPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
const token = "ui-test-token";
const proxy = `http://127.0.0.1:${proxyPort}`;
const dash = `http://127.0.0.1:${dashPort}`;
async function post(events) {
  const res = await fetch(proxy + "/api/v1/events", { method: "POST", headers: { Authorization: "Bearer " + token }, body: JSON.stringify({ events }) });
  if (res.status !== 200) throw new Error("proxy answered " + res.status + ": " + (await res.text()));
}
async function get(path) {
  const res = await fetch(dash + path);
  if (!res.ok) throw new Error(path + ": " + res.status);
  return res.json();
}

let browser;
try {
  start("redis", "redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
  await waitFor("redis", () => listening(redisPort));
  const redis = ["--redis", `127.0.0.1:${redisPort}`];
  start("proxy", join(bin, "argus-proxy"), ["--listen", `127.0.0.1:${proxyPort}`, ...redis, "--token", token]);
  start("consumer", join(bin, "argus-consumer"), ["--type", "all", ...redis, "--db", join(dir, "argus.db"), "--name", "ui-all"]);
  start("dash", join(bin, "argus-dash"), ["--listen", `127.0.0.1:${dashPort}`, "--db", join(dir, "argus.db"), ...redis, "--web-root", web,
    "--admin-token", "admin-secret"]);
  // A second dash over the same store that wants a read token.
  start("locked-dash", join(bin, "argus-dash"), ["--listen", `127.0.0.1:${lockedPort}`, "--db", join(dir, "argus.db"),
    "--web-root", web, "--read-token", "reader-secret"]);
  await waitFor("proxy", async () => (await fetch(proxy + "/healthz")).ok);
  // An agent on "web-1" with labels, a system sample every 2 s, tailing a log.
  const logFile = join(dir, "app.log");
  writeFileSync(logFile, "");
  const agentConfig = join(dir, "agent.json");
  writeFileSync(agentConfig, JSON.stringify({ labels: { role: "web", region: "eu-1" }, system: { interval_s: 2 }, heartbeat: { interval_s: 5 } }));
  mkdirSync(join(dir, "agent"));
  start("agent", join(bin, "argus-agent"), ["-a", `127.0.0.1:${proxyPort}`, "--token", token, "--host", "web-1", "--config", agentConfig,
    "-f", logFile, "--state-dir", join(dir, "agent"), "--from", "head"]);
  for (let i = 0; i < 20; i++) appendFileSync(logFile, `line ${i} ERROR something happened\n`);
  // More hosts, with numbers and system samples, over the last minutes.
  const now = Date.now();
  const events = [];
  for (const host of ["web-2", "db-1"]) {
    for (let m = 10; m >= 0; m--) {
      const ts = now - m * 60000;
      events.push({ type: "metrics", id: `${host}-m${m}`, host, ts, content: { latency_ms: host === "db-1" ? 80 + m : 20 + m, status: 200 } });
      events.push({ type: "system", id: `${host}-s${m}`, host, ts, content: { cpu: { pct: 10 + m }, mem: { pct: 40 }, load: { "1m": 0.5 } } });
    }
  }
  await post(events);
  // db-1's latency (80 ms and up) is over the rule's 50; web-2's (20 ms and up) is not.
  const rules = join(dir, "rules.json");
  writeFileSync(rules, JSON.stringify({ rules: [{ name: "slow", kind: "threshold", type: "metrics", field: "latency_ms", agg: "max",
    op: ">", value: 50, window: "15m", interval: "1s", severity: "critical", labels: { team: "db" },
    message: "{{host}}: latency {{value}} ms over {{threshold}} ms" }] }));
  start("alert", join(bin, "argus-alert"), ["--db", join(dir, "argus.db"), ...redis, "--rules", rules, "--name", "ui-alert"]);
  await waitFor("the dash with three hosts and their numbers", async () => {
    const hosts = (await get("/api/v1/hosts")).hosts.map((h) => h.host);
    const fields = (await get("/api/v1/fields?type=metrics")).fields;
    const sys = await get("/api/v1/system?host=web-1&since=-15m");
    return ["web-1", "web-2", "db-1"].every((h) => hosts.includes(h)) && fields.length > 0 && sys.series[0].points.length > 0;
  }, 60000);

  await waitFor("db-1's alarm", async () => (await get("/api/v1/alarms")).alarms.some((a) => a.host === "db-1" && a.state === "alarm"), 60000);

  // ---- the browser ----
  mkdirSync(out, { recursive: true });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const consoleErrors = [];
  function watch(page, name) {
    page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(`${name}: ${m.text()}`); });
    page.on("pageerror", (e) => consoleErrors.push(`${name}: ${e.message}`));
  }
  async function open(name, query, viewport = { width: 1280, height: 900 }) {
    const page = await browser.newPage({ viewport });
    watch(page, name);
    await page.goto(dash + "/?" + query);
    await page.waitForSelector("#status:has-text('updated')", { timeout: 15000 });
    return page;
  }
  const shot = (page, name) => page.screenshot({ path: join(out, name + ".png"), fullPage: true });
  const plotted = (page) => page.$$eval(".plot", (els) => els.map((e) => Number(e.dataset.points || 0)));
  const canvases = (page) => page.$$eval(".plot canvas", (els) => els.length);

  let page = await open("overview", "view=overview&range=15m");
  const stats = await page.$$eval(".stat", (els) => Object.fromEntries(els.map((e) => [e.querySelector("span").textContent, e.querySelector("b").textContent])));
  check(Number(stats["hosts online"]) >= 1, `overview: hosts online (${stats["hosts online"]})`);
  check((await plotted(page)).some((n) => n > 0), "overview: the events-per-type chart has points");
  const overviewText = await page.textContent("main");
  check(["web-1", "web-2", "db-1"].every((h) => overviewText.includes(h)), "overview: lists the seeded hosts");
  check(stats["critical"] === "1", `overview: the alarms card counts one critical alarm (${stats["critical"]})`);
  await shot(page, "overview");

  page = await open("hosts", "view=hosts");
  const hostText = await page.textContent("main");
  check(["web-1", "web-2", "db-1"].every((h) => hostText.includes(h)), "hosts: lists web-1, web-2 and db-1");
  check(hostText.includes("role=web"), "hosts: shows web-1's labels");
  await page.fill("input[name=prefix]", "web");
  await page.click("form.filters button");
  await page.waitForURL(/prefix=web/);
  await page.waitForFunction(() => !document.querySelector("main").textContent.includes("db-1"));
  check(!(await page.textContent("main")).includes("db-1"), "hosts: the name filter leaves db-1 out");
  await shot(page, "hosts");

  page = await open("host", "view=host&host=web-2&range=15m");
  await page.waitForSelector(".plot canvas");
  const hostPoints = await plotted(page);
  check(hostPoints[0] > 0, `host page: the CPU chart has points (${hostPoints[0]})`);
  check((await canvases(page)) >= 1, "host page: charts are drawn");
  await shot(page, "host");

  page = await open("host-alarm", "view=host&host=db-1&range=15m");
  check(await page.isVisible("h1 .badge.alarm.critical"), "host page: db-1 carries a critical alarm badge");

  page = await open("alarms", "view=alarms&range=15m");
  const current = await page.$$eval("main section:first-of-type tbody tr", (rows) => rows.map((r) => r.textContent));
  check(current.length === 1 && current[0].includes("db-1") && current[0].includes("critical") && current[0].includes("slow"),
    `alarms: the current alarm is db-1's, critical (${current.join(" | ")})`);
  const historyText = await page.textContent("main section:nth-of-type(2)");
  check(historyText.includes("db-1") && historyText.includes("alarm") && historyText.includes("max"), "alarms: the history has the transition and why");
  await shot(page, "alarms");
  await page.click("button.silence");
  await page.fill("input[aria-label='admin token']", "admin-secret");
  await page.click("text=Use it");
  const silenced = await waitFor("the silence", async () => (await get("/api/v1/silences")).silences.some((x) => x.matchers.host === "db-1"), 15000)
    .then(() => true, () => false);
  check(silenced, "alarms: the Silence button (with the admin token) makes a silence for db-1");
  await page.waitForSelector("main section:last-of-type td:has-text('host=db-1')", { timeout: 15000 });
  check(true, "alarms: the silence is listed");
  check((await page.textContent("main section:first-of-type tbody")).includes("silenced"), "alarms: db-1's alarm is marked silenced");
  await shot(page, "alarms-silenced");

  page = await open("explore", "view=explore&type=metrics&field=latency_ms&range=15m&group=host");
  await page.waitForSelector(".plot canvas");
  check((await plotted(page))[0] > 0, "explorer: the series has points");
  const topText = await page.textContent("main");
  check(topText.indexOf("db-1") >= 0 && topText.indexOf("db-1") < topText.lastIndexOf("web-2"), "explorer: db-1 tops the hosts by latency");
  await shot(page, "explore");

  page = await open("events", "view=events&type=metrics&range=15m");
  const types = await page.$$eval("tbody tr td:nth-child(2)", (tds) => tds.map((t) => t.textContent));
  check(types.length > 0 && types.every((t) => t === "metrics"), `events: the type filter shows only metrics (${types.length} rows)`);
  await shot(page, "events");
  await page.click("#tail");
  await page.waitForSelector("#tail-state:has-text('live')", { timeout: 15000 });
  const marker = "tail-" + Date.now();
  await post([{ type: "metrics", id: marker, host: "web-2", content: { marker, latency_ms: 1 } }]);
  const seen = await page.waitForSelector(`#live td:has-text('${marker}')`, { timeout: 15000 }).then(() => true, () => false);
  check(seen, "events: the live tail shows a new event within seconds");
  await shot(page, "events-live");

  page = await open("range", `view=explore&type=metrics&field=latency_ms&range=custom&from=${now - 30 * 60000}&to=${now}`);
  check((await page.isVisible("#from")) && (await page.inputValue("#from")) !== "", "range: a custom range shows its from and to");
  check((await plotted(page)).some((n) => n > 0), "range: the custom range has points");
  await page.selectOption("#range", "6h");
  await page.waitForURL(/range=6h/);
  await page.selectOption("#refresh", "10");
  await page.waitForURL(/refresh=10/);
  check(!(await page.isVisible("#from")), "range: 'Last 6 h' and auto-refresh go into the URL");
  await page.waitForSelector("#status:has-text('updated')");

  page = await open("pipeline", "view=pipeline");
  const pipeText = await page.textContent("main");
  check(pipeText.includes("ui-all") && pipeText.includes("metrics"), "pipeline: streams and the consumer are listed");
  await shot(page, "pipeline");

  page = await open("packet", "view=packet");
  await shot(page, "packet");

  page = await open("phone", "view=host&host=web-1&range=15m", { width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `phone: the host page fits the screen's width (overflow ${overflow}px)`);
  await shot(page, "host-phone");

  // With --read-token the UI asks for it, then shows the data; the browser's own report
  // of the first 401 is expected there and is the only console error allowed.
  const locked = await browser.newPage();
  const lockedErrors = [];
  locked.on("console", (m) => { if (m.type() === "error" && !m.text().includes("401")) lockedErrors.push(m.text()); });
  locked.on("pageerror", (e) => lockedErrors.push(e.message));
  await locked.goto(`http://127.0.0.1:${lockedPort}/?view=hosts`);
  await locked.waitForSelector("input[aria-label='read token']", { timeout: 15000 });
  check(true, "read token: the UI asks for it");
  await locked.fill("input[aria-label='read token']", "reader-secret");
  await locked.click("form.card button");
  const unlocked = await locked.waitForSelector("main a:has-text('web-2')", { timeout: 15000 }).then(() => true, () => false);
  check(unlocked, "read token: with it the hosts are listed");
  check(lockedErrors.length === 0, "read token: no other console error" + (lockedErrors.length ? ": " + lockedErrors.join(" | ") : ""));
  await shot(locked, "hosts-with-token");

  check(consoleErrors.length === 0, "no page logged a console error" + (consoleErrors.length ? ": " + consoleErrors.join(" | ") : ""));
} catch (e) {
  check(false, "the run: " + e.message);
} finally {
  if (browser) await browser.close();
  await stopAll();
  if (failures.length === 0) rmSync(dir, { recursive: true, force: true });
  else console.log("logs kept in " + dir);
}
console.log(failures.length ? `${failures.length} browser check(s) failed` : `all browser checks passed; screenshots in ${out}`);
process.exit(failures.length ? 1 : 0);
