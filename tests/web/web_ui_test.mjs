// The web UI as a user sees it: Debian's chromium, driven by puppeteer-core,
// against a real `tracedb serve` on 127.0.0.1 with a temporary data
// directory, seeded over HTTP (Reflow bulk ingest and OTLP/JSON). Asserts
// on visible text: every page loads with no console error; search shows
// trace ids and "N of M"; a bad query shows its error at the caret; an
// aggregation shows its table; the trace view shows actor names and
// finds events; a 10,000-event trace renders (its time to first render is
// printed and written to BUILD/web-test/figures.txt); the graph shows the
// data flows; the live page shows an event recorded during the test; with
// API keys the page shows only the 401 message until a key is entered.
// Screenshots go to BUILD/web-test/screenshots/.
//
// puppeteer-core is pinned by tests/web/package-lock.json and installed with
// `npm ci` into BUILD/web-test (again only when the lockfile changes).
//
// usage: node web_ui_test.mjs <tracedb binary> <repository root> <build dir>
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [TRACEDB, ROOT, BUILD] = process.argv.slice(2);
const SOURCE = join(ROOT, 'tests', 'web');
const NODE_DIR = join(BUILD, 'web-test');
const SHOTS = join(NODE_DIR, 'screenshots');
const CHROMIUM = '/usr/bin/chromium';

const failures = [];
function check(cond, what) {
  if (!cond) { failures.push(what); console.error(`FAIL: ${what}`); }
  else console.log(`ok: ${what}`);
  return cond;
}
function fatal(what) { console.error(`FAIL: ${what}`); process.exitCode = 1; throw new Error(what); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function installPackages() {
  mkdirSync(NODE_DIR, { recursive: true });
  const lock = readFileSync(join(SOURCE, 'package-lock.json'));
  const stamp = join(NODE_DIR, 'installed-lock.json');
  if (existsSync(stamp) && readFileSync(stamp).equals(lock) && existsSync(join(NODE_DIR, 'node_modules'))) return;
  copyFileSync(join(SOURCE, 'package.json'), join(NODE_DIR, 'package.json'));
  copyFileSync(join(SOURCE, 'package-lock.json'), join(NODE_DIR, 'package-lock.json'));
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: NODE_DIR, stdio: 'inherit' });
  if (r.status !== 0) fatal(`npm ci failed (${r.status})`);
  writeFileSync(stamp, lock);
}

// A `tracedb serve` on a free port; stopped by its pid.
async function startServer(dataDir, extra = []) {
  const portFile = join(dataDir, 'port');
  const proc = spawn(TRACEDB, ['serve', '--listen', '127.0.0.1:0', '--port-file', portFile, '--data', join(dataDir, 'db'), ...extra],
                     { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, TRACEDB_CONFIG: '' } });
  for (let i = 0; i < 400 && !(existsSync(portFile) && readFileSync(portFile, 'utf8').trim()); i++) {
    if (proc.exitCode !== null) fatal(`tracedb serve exited with ${proc.exitCode}`);
    await sleep(50);
  }
  const port = readFileSync(portFile, 'utf8').trim();
  return { proc, base: `http://127.0.0.1:${port}` };
}
async function stopServer(s) {
  if (s.proc.exitCode !== null) return;
  const done = new Promise((r) => s.proc.once('exit', r));
  process.kill(s.proc.pid, 'SIGTERM');
  await done;
}

// ---- seed data ----
const uuid = (n, prefix = '00000000') => `${prefix}-0000-4000-8000-${String(n).padStart(12, '0')}`;
const version = { major: 1, minor: 0, patch: 0, git_hash: null, timestamp: '2026-01-01T00:00:00Z' };
function reflowEvent(traceId, n, actor, type, ms, port = 'out') {
  return { RecordEvent: { trace_id: traceId, event: {
    event_id: `${traceId.slice(0, 8)}-eeee-4000-8000-${String(n).padStart(12, '0')}`,
    timestamp: new Date(Date.now() + ms).toISOString(), event_type: type, actor_id: actor,
    data: { port, message: { message_type: 'Order', size_bytes: 64 + n, checksum: `c${n}`, serialized_data: [1, 2, 3] }, state_diff: null, error: null,
            performance_metrics: { execution_time_ns: 1000 * (n % 7 + 1), memory_usage_bytes: 0, cpu_usage_percent: 0,
                                   queue_depth: 0, throughput_msgs_per_sec: 0 }, custom_attributes: { seq: String(n) } },
    causality: { parent_event_id: null, root_cause_event_id: uuid(1, '22222222'), dependency_chain: [], span_id: 's' } } } };
}
const traceIdOf = (i) => `${String(i).padStart(8, '0')}-1111-4111-8111-${String(i).padStart(12, '0')}`;

function seedLines() {
  const lines = [];
  // Five small checkout traces: validator → payment → shipper data flows.
  for (let i = 1; i <= 5; i++) {
    const id = traceIdOf(i);
    lines.push({ StartTrace: { trace_id: id, flow_id: 'checkout', version } });
    let n = 0;
    for (const [actor, type] of [['validator', 'ActorCreated'], ['validator', { DataFlow: { to_actor: 'payment', to_port: 'in' } }],
                                 ['payment', 'MessageReceived'], ['payment', { DataFlow: { to_actor: 'shipper', to_port: 'in' } }],
                                 ['shipper', 'MessageReceived']]) {
      lines.push(reflowEvent(id, ++n + i * 100, actor, type, n * 10 * i));
    }
    lines.push({ EndTrace: { trace_id: id, status: i === 5 ? { Failed: { error: 'card declined' } } : 'Completed' } });
  }
  // The big trace: 10,000 events over 200 actors.
  const big = traceIdOf(99);
  lines.push({ StartTrace: { trace_id: big, flow_id: 'bigflow', version } });
  for (let n = 0; n < 10000; n++) {
    const type = n % 10 === 0 ? { DataFlow: { to_actor: `worker-${(n + 1) % 200}`, to_port: 'in' } } : 'MessageReceived';
    lines.push(reflowEvent(big, n + 1, `worker-${n % 200}`, type, n * 3));
  }
  lines.push({ EndTrace: { trace_id: big, status: 'Completed' } });
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

function otlpBody() {
  const now = BigInt(Date.now()) * 1000000n;
  const span = (id, parent, name, svc, off, dur) => ({ svc, span: {
    traceId: 'abcdef0123456789abcdef0123456789', spanId: id, parentSpanId: parent, name, kind: 2,
    startTimeUnixNano: String(now - 50000000n + off), endTimeUnixNano: String(now - 50000000n + off + dur),
    attributes: [{ key: 'http.route', value: { stringValue: `/${name}` } }], status: {} } });
  const spans = [span('1111111111111111', '', 'GET /cart', 'frontend', 0n, 30000000n),
                 span('2222222222222222', '1111111111111111', 'cart.load', 'cartservice', 2000000n, 20000000n),
                 span('3333333333333333', '2222222222222222', 'redis.get', 'redis', 5000000n, 3000000n)];
  return JSON.stringify({ resourceSpans: spans.map(({ svc, span: s }) => ({
    resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }] },
    scopeSpans: [{ scope: { name: 'test' }, spans: [s] }] })) });
}

// One operonx request (the wire shape of /work/shared/reference/operonx-events.md
// §6): a turn holding an agent op and its LLM call, priced.
const kOperonxRequest = 'rq-ui-1';
function operonxBody() {
  const t0 = Date.now() - 60000;
  let seq = 0;
  const ev = (kind, op, ctx, ms, payload) => ({ event_id: `${kOperonxRequest}-${seq}`, request_id: kOperonxRequest, kind,
    op_name: op, ctx, timestamp: new Date(t0 + ms).toISOString(), seq: seq++, payload });
  const events = [
    ev('group_start', null, [], 0, { name: 'turn-1', turn_index: 0 }),
    ev('op_start', 'bot.agent', ['main'], 1, { inputs: {} }),
    ev('op_start', 'bot.agent.llm', ['main'], 2, { inputs: {} }),
    ev('llm_usage', 'bot.agent.llm', ['main'], 40, { model: 'gpt-ui', prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, cost_usd: 0.25 }),
    ev('op_end', 'bot.agent.llm', ['main'], 42, { status: 'ok', duration_ms: 40, yield_count: 0 }),
    ev('op_end', 'bot.agent', ['main'], 51, { status: 'ok', duration_ms: 50, yield_count: 0 }),
    ev('group_end', null, [], 52, { name: 'turn-1', status: 'ok' }),
  ];
  return JSON.stringify({ request_id: kOperonxRequest, metadata: { workflow_name: 'callbot', user_id: null, session_id: null,
                                                                    tags: [], partial: false }, events }) + '\n';
}

async function post(base, path, body, type, headers = {}) {
  const res = await fetch(base + path, { method: 'POST', body, headers: { 'Content-Type': type, ...headers } });
  const text = await res.text();
  if (!res.ok) fatal(`POST ${path}: ${res.status} ${text}`);
  return text;
}

// ---- the browser ----
async function openPage(browser, consoleErrors) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`); });
  page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
  return page;
}
const text = (page) => page.evaluate(() => document.body.innerText);
async function waitText(page, needle, timeout = 10000) {
  try {
    await page.waitForFunction((n) => document.body.innerText.includes(n), { timeout }, needle);
    return true;
  } catch {
    return false;
  }
}
async function shot(page, name) { await page.screenshot({ path: join(SHOTS, `${name}.png`) }); }

async function visit(browser, base, path, name, consoleErrors, { expect = [], allow = null } = {}) {
  const errors = [];
  const page = await openPage(browser, errors);
  await page.goto(base + path, { waitUntil: 'load' });
  for (const e of expect) check(await waitText(page, e), `${path}: shows "${e}"`);
  await shot(page, name);
  const unexpected = errors.filter((e) => !(allow && allow.test(e)));
  check(unexpected.length === 0, `${path}: no console error${unexpected.length ? `: ${unexpected.join(' | ')}` : ''}`);
  consoleErrors.push(...unexpected);
  return page;
}

// Sends Reflow requests from a plain WebSocket client in a blank page of the
// browser; returns the replies.
async function record(browser, base, lines) {
  const sender = await browser.newPage();
  const replies = await sender.evaluate(async (url, ls) => {
    const ws = new WebSocket(url);
    await new Promise((ok, bad) => { ws.onopen = ok; ws.onerror = bad; });
    const got = [];
    ws.onmessage = (m) => got.push(typeof m.data === 'string' ? m.data : 'binary');
    for (const l of ls) ws.send(l);
    for (let i = 0; i < 100 && got.length < ls.length; i++) await new Promise((r) => setTimeout(r, 50));
    ws.close();
    return got;
  }, base.replace('http', 'ws') + '/ws', lines);
  await sender.close();
  return replies;
}

async function main() {
  installPackages();
  const require = createRequire(join(NODE_DIR, 'package.json'));
  const puppeteer = (await import(pathToFileURL(require.resolve('puppeteer-core')).href)).default;
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'tracedb-web-'));
  const servers = [];
  let browser;
  try {
    const s = await startServer(dir);
    servers.push(s);
    const base = s.base;

    // The shell and its assets: gzip, cache headers, client routes.
    for (const p of ['/', '/traces/x', '/graph', '/live']) {
      const r = await fetch(base + p);
      check(r.status === 200 && (r.headers.get('content-type') || '').startsWith('text/html'), `GET ${p} is the page shell`);
      check(r.headers.get('cache-control') === 'no-cache', `GET ${p}: Cache-Control no-cache`);
    }
    const shell = await (await fetch(base + '/')).text();
    const js = /src="(\/ui\/app\.[0-9a-f]+\.js)"/.exec(shell)?.[1];
    check(js, 'the shell names a hashed bundle');
    const raw = await fetch(base + js, { headers: { 'Accept-Encoding': 'gzip' } });
    check(raw.headers.get('cache-control')?.includes('immutable'), 'the bundle is cached as immutable');
    const etag = raw.headers.get('etag');
    const again = await fetch(base + js, { headers: { 'If-None-Match': etag } });
    check(again.status === 304, 'If-None-Match with the ETag answers 304');

    const seeded = await post(base, '/v1/ingest/reflow', seedLines(), 'application/x-ndjson');
    check(JSON.parse(seeded).rejected.length === 0, `Reflow seed accepted: ${seeded.slice(0, 80)}`);
    await post(base, '/v1/traces', otlpBody(), 'application/json');
    const ox = JSON.parse(await post(base, '/v1/ingest/operonx', operonxBody(), 'application/x-ndjson'));
    check(ox.rejected.length === 0, `operonx seed accepted: ${JSON.stringify(ox).slice(0, 80)}`);

    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true,
                                       args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    const consoleErrors = [];

    // Search: every trace, "N of M", trace ids, a scatter.
    let page = await visit(browser, base, '/', 'search', consoleErrors,
                           { expect: ['of 8 traces', traceIdOf(1), traceIdOf(99), 'checkout', 'bigflow', 'abcdef0123456789abcdef0123456789'] });
    check(await page.$('.scatter canvas') !== null, '/: duration scatter drawn');
    // Completion from GET /v1/fields and /v1/fields/{name}/values: a field
    // name, then an event field's real values with their counts (payment:
    // a MessageReceived and a DataFlow in each of the 5 checkout traces).
    // An option's text: its value (or field name) and its count (or type).
    const completions = () => page.$$eval('.completions li', (lis) => lis.map((li) => [...li.children].map((c) => c.textContent).join(' ')));
    const waitCompletion = (needle) => page.waitForFunction((n) => [...document.querySelectorAll('.completions li')]
      .some((li) => [...li.children].map((c) => c.textContent).join(' ') === n), { timeout: 5000 }, needle).then(() => true, () => false);
    await page.type('#q', 'acto');
    check(await waitCompletion('actor string'), `search box: completes a field name (${JSON.stringify(await completions().catch(() => []))})`);
    await page.type('#q', 'r = "pa');
    check(await waitCompletion('"payment" 10'), `search box: an actor's value with its event count (${JSON.stringify(await completions().catch(() => []))})`);
    await shot(page, 'search-completion');
    await page.click('#q', { clickCount: 3 });
    await page.keyboard.press('Backspace');
    await page.type('#q', 'status = ');
    check(await waitCompletion('failed 1') && (await completions()).some((c) => /^completed \d+$/.test(c)),
          `search box: status values with trace counts (${JSON.stringify(await completions().catch(() => []))})`);
    await page.click('#q', { clickCount: 3 });
    await page.keyboard.press('Backspace');
    // A flow value, taken with Tab.
    await page.type('#q', 'flow = "ch');
    check(await waitCompletion('"checkout" 5'), 'search box: completes a flow value with its count');
    await page.keyboard.press('Tab');
    check((await page.$eval('#q', (e) => e.value)) === 'flow = "checkout"', 'search box: Tab takes the completion');
    await page.keyboard.press('Enter');
    check(await waitText(page, '1–5 of 5 traces'), 'search box: Enter searches, and the URL keeps the query');
    check(new URL(page.url()).searchParams.get('q') === 'flow = "checkout"', 'search: the query is in the URL');
    await page.close();

    page = await visit(browser, base, `/?q=${encodeURIComponent('flow = "checkout" and status = failed')}`, 'search-failed', consoleErrors,
                       { expect: ['1–1 of 1 traces', traceIdOf(5)] });
    check(!(await text(page)).includes(traceIdOf(1)), 'filter: a completed trace is not listed');
    await page.close();

    // A bad query: the error under the box, the caret under column 8.
    page = await visit(browser, base, `/?q=${encodeURIComponent('flow = and x')}`, 'bad-query', consoleErrors,
                       { expect: ['error at 1:8'], allow: /status of 400/ });
    const caret = await page.$eval('.caret-line', (e) => e.textContent).catch(() => '');
    check(caret === '       ^', `bad query: caret at column 8 (got ${JSON.stringify(caret)})`);
    check((await page.$eval('.query-error-caret', (e) => e.textContent).catch(() => '')).startsWith('flow = and x'),
          'bad query: the query line is shown above the caret');
    await page.close();

    // An aggregation: a table and a bar chart.
    page = await visit(browser, base, `/?q=${encodeURIComponent('| count() by (flow)')}`, 'aggregate', consoleErrors,
                       { expect: ['checkout', 'bigflow', 'count()'] });
    check((await page.$$('.bar-row')).length >= 2, 'aggregation: a bar per group');
    const rows = await page.$$eval('.aggregate tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
    check(rows.some(([flow, n]) => flow === 'checkout' && n === '5'), `aggregation: checkout counts 5 traces (${JSON.stringify(rows)})`);
    await page.close();

    // A bucketed aggregation: the table and a line chart, one series per flow.
    page = await visit(browser, base, `/?q=${encodeURIComponent('| count() by (bucket(1h), flow)')}`, 'aggregate-bucket', consoleErrors,
                       { expect: ['bucket(1h)', 'count()'] });
    check(await page.waitForSelector('.line-chart canvas', { timeout: 5000 }).then(() => true, () => false),
          'bucketed aggregation: a line chart is drawn');
    const series = await page.$$eval('.line-chart .u-legend .u-series .u-label', (ls) => ls.map((l) => l.textContent));
    check(JSON.stringify(series.slice(1).sort()) === JSON.stringify(['bigflow', 'callbot', 'checkout', 'frontend']),
          `bucketed aggregation: one series per flow (${JSON.stringify(series)})`);
    check((await page.$$('.bar-row')).length === 0, 'bucketed aggregation: no bar chart');
    const bucketRows = await page.$$eval('.aggregate > table tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
    check(bucketRows.every(([b]) => /T\d\d:00:00Z$/.test(b)) &&
          bucketRows.filter(([, flow]) => flow === 'checkout').reduce((sum, [, , n]) => sum + Number(n), 0) === 5,
          `bucketed aggregation: checkout's 5 traces in an hour bucket (${JSON.stringify(bucketRows)})`);
    await page.close();
    page = await visit(browser, base, `/?q=${encodeURIComponent('| count() by (bucket(0s))')}`, 'aggregate-bad-bucket', consoleErrors,
                       { expect: ['a bucket width must be at least 1ms'], allow: /status of 400/ });
    check((await page.$eval('.caret-line', (e) => e.textContent).catch(() => '')) === ' '.repeat(21) + '^',
          'bad bucket width: the caret under the width');
    await page.close();

    // An operonx request: its tree, turns and cost rendered (not JSON).
    page = await visit(browser, base, `/traces/${kOperonxRequest}`, 'trace-operonx', consoleErrors,
                       { expect: ['operonx views', 'agent', 'llm', '50 ms', '40 ms'] });
    check(await page.$('.ox-tree .ox-node') !== null, 'operonx: the op tree is drawn as a tree');
    const tab = async (name) => {
      const buttons = await page.$$('.ox-tabs button');
      for (const b of buttons) if ((await b.evaluate((e) => e.textContent)) === name) await b.click();
    };
    await tab('turns');
    check(await waitText(page, 'turn 1: turn-1'), 'operonx: the turns view lists the turn');
    check(await waitText(page, 'bot.agent.llm'), 'operonx: the turn lists its ops');
    await tab('cost');
    check(await waitText(page, '$0.25 for 1 LLM calls'), 'operonx: the cost view totals the request');
    check(await waitText(page, 'gpt-ui'), 'operonx: the cost by model');
    await shot(page, 'trace-operonx-cost');
    await page.close();

    // A trace: actors, event count, search within the trace, the event panel.
    page = await visit(browser, base, `/traces/${traceIdOf(1)}`, 'trace', consoleErrors,
                       { expect: [traceIdOf(1), 'validator', 'payment', 'shipper', '5 events', '3 actors'] });
    await page.type('input[aria-label="search in trace"]', 'payment');
    check(await waitText(page, '3 matching events'), 'trace search: "payment" matches 3 events');
    const box = await (await page.$('.timeline-scroll')).boundingBox();
    // Click the first mark of the first row (validator at +0).
    await page.mouse.click(box.x + 280 + 1, box.y + 11);
    check(await waitText(page, '· validator'), 'trace: a click on a validator mark opens its event panel');
    check(await waitText(page, 'performance_metrics'), 'event panel: every field as JSON');
    await shot(page, 'trace-event');
    // Drag across the plot: the timeline zooms to that window.
    await page.mouse.move(box.x + 290, box.y + 60);
    await page.mouse.down();
    await page.mouse.move(box.x + 600, box.y + 60, { steps: 4 });
    await page.mouse.up();
    check(await waitText(page, 'reset zoom'), 'trace: a drag across the timeline zooms in');
    await page.close();

    // An unknown trace: the server's message, a hint and a refresh button.
    page = await visit(browser, base, `/traces/${traceIdOf(55)}`, 'trace-missing', consoleErrors,
                       { expect: [`no trace ${traceIdOf(55)}`, 'may still be arriving'], allow: /status of 404/ });
    check(await page.$('.error button') !== null, 'unknown trace: a refresh button');
    await page.close();

    // The 10,000-event trace: renders, and scrolls to its last row.
    page = await openPage(browser, consoleErrors);
    const t0 = Date.now();
    await page.goto(`${base}/traces/${traceIdOf(99)}`, { waitUntil: 'load' });
    await page.waitForFunction(() => document.body.dataset.traceRenderedMs, { timeout: 20000 }).catch(() => {});
    const wall = Date.now() - t0;
    const renderMs = Number(await page.evaluate(() => document.body.dataset.traceRenderedMs));
    check(renderMs > 0, `10,000-event trace rendered, first render at ${renderMs} ms after navigation (${wall} ms wall)`);
    check((await text(page)).includes('10000 events') && (await text(page)).includes('200 actors'), '10k trace: 10000 events, 200 actors');
    const labels = (await page.$$('.timeline-label')).length;
    check(labels > 0 && labels < 100, `10k trace: only rows in view are in the DOM (${labels})`);
    await page.$eval('.timeline-scroll', (e) => { e.scrollTop = e.scrollHeight; });
    check(await waitText(page, 'worker-199'), '10k trace: scrolled to the last actor');
    await shot(page, 'trace-10k');
    writeFileSync(join(NODE_DIR, 'figures.txt'), `trace_10k_first_render_ms ${renderMs}\ntrace_10k_wall_ms ${wall}\n`);
    await page.close();

    // The OTel trace: spans by name, the critical path.
    page = await visit(browser, base, '/traces/abcdef0123456789abcdef0123456789', 'trace-otel', consoleErrors,
                       { expect: ['GET /cart', 'cart.load', 'redis.get', '3 spans', 'critical path'] });
    await page.close();

    // The data-flow graph of one trace and of a filter.
    page = await visit(browser, base, `/graph?trace=${traceIdOf(1)}`, 'graph-trace', consoleErrors,
                       { expect: ['3 nodes, 2 edges from 1 trace(s)', 'validator', 'payment', 'shipper'] });
    await page.close();
    page = await visit(browser, base, `/graph?q=${encodeURIComponent('flow = "checkout"')}`, 'graph-filter', consoleErrors,
                       { expect: ['3 nodes, 2 edges from 5 trace(s)'] });
    check(await page.$$eval('.edge path[marker-end]', (ps) => ps.map((p) => Number(p.getAttribute('stroke-width'))))
      .then((w) => w.length === 2 && w.every((x) => x > 1.5)), 'graph: edge widths by count');
    await page.click('.edge');
    check(await waitText(page, '5 messages, 0 errors'), 'graph: a click on an edge shows its aggregates');
    check(await waitText(page, '5 events from 5 of 5 traces'), 'graph: and lists its events');
    await shot(page, 'graph-edge');
    await page.close();

    // Live tail: an event recorded over WebSocket during the test shows up.
    page = await visit(browser, base, '/live', 'live-empty', consoleErrors, { expect: ['subscribed'] });
    const liveTrace = traceIdOf(77);
    const start = JSON.stringify({ StartTrace: { trace_id: liveTrace, flow_id: 'liveflow', version } });
    let sent = await record(browser, base, [start, JSON.stringify(reflowEvent(liveTrace, 1, 'live-actor', 'ActorCreated', 0))]);
    await page.bringToFront();
    check(sent.length === 2, `live: the recorder got its acks (${sent.join(' ')})`);
    check(await waitText(page, 'live-actor'), 'live: the event recorded during the test is shown');
    check(await waitText(page, '1 received'), 'live: counted');
    // Paused: a new event waits, and shows on resume.
    await page.click('.live-bar button');
    const pausedTrace = traceIdOf(78);
    sent = await record(browser, base, [JSON.stringify({ StartTrace: { trace_id: pausedTrace, flow_id: 'liveflow', version } }),
                                        JSON.stringify(reflowEvent(pausedTrace, 2, 'paused-actor', 'ActorCreated', 5))]);
    check(sent.length === 2, 'live: the second recorder got its acks');
    await page.bringToFront();
    check(await waitText(page, '1 waiting, 0 dropped'), 'live: while paused, an arrival waits');
    check(!(await text(page)).includes('paused-actor'), 'live: while paused, the table does not change');
    await page.click('.live-bar button');
    check(await waitText(page, 'paused-actor'), 'live: resume shows the waiting event');
    await shot(page, 'live');
    await page.close();

    // API keys: the 401 message only, then the key opens the data.
    const k = await startServer(mkdtempSync(join(dir, 'keys-')), ['--set', 'auth.api_keys=sekrit']);
    servers.push(k);
    await post(k.base, '/v1/ingest/reflow', seedLines().split('\n').slice(0, 7).join('\n') + '\n', 'application/x-ndjson',
               { Authorization: 'Bearer sekrit' });
    page = await visit(browser, k.base, '/', 'key-prompt', consoleErrors,
                       { expect: ['an API key is required'], allow: /status of 401/ });
    check(!(await text(page)).includes(traceIdOf(1)), 'keys: no data without a key');
    await page.type('input[type=password]', 'sekrit');
    await page.click('.key-prompt button');
    check(await waitText(page, traceIdOf(1)), 'keys: with the key, the search shows the trace');
    await shot(page, 'key-accepted');
    await page.close();

    check(consoleErrors.length === 0, `no console errors in any page${consoleErrors.length ? `: ${consoleErrors.join(' | ')}` : ''}`);
  } finally {
    if (browser) await browser.close();
    for (const s of servers) await stopServer(s);
    rmSync(dir, { recursive: true, force: true });
  }
  if (failures.length) fatal(`${failures.length} check(s) failed`);
  console.log(`web UI test passed; screenshots in ${SHOTS}`);
}

main().catch((e) => { console.error(e.stack || e); process.exitCode = 1; });
