#!/usr/bin/env node
// The real-browser tier: render traces to HTML with `skinny render` and check the pages in
// Debian's chromium, headless, driven by playwright-core.
//
//   node tests/browser/render.test.mjs        (from the repository root, after `make`)
//
// Output: one line per test, `ok - NAME` or `not ok - NAME: reason`, lines starting with
// `# ` for information (timings), and last `N passed, N failed` (or `0 passed, 0 failed,
// N skipped` after a `# skip: ...` line when chromium cannot start). Exit 0 iff none failed.
//
// Counting convention: "message arrows" are the protocol messages between instances, one
// per `send` event in the trace (duplicate deliveries are drawn as extra dashed arrows and
// counted apart, as are client requests and answers: one per `invoke` and per `complete`).
//
// Environment: CHROMIUM (default /usr/bin/chromium), SKINNY_BUILD (default build).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skinny-browser-'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const BUILD = process.env.SKINNY_BUILD || 'build';

let passed = 0, failed = 0;
const results = [];
function say(line) { process.stdout.write(line + '\n'); }
function finish(skipped, reason) {
  if (skipped) {
    say(`# skip: ${reason}`);
    say(`0 passed, 0 failed, ${skipped} skipped`);
    cleanup();
    process.exit(0);
  }
  say(`${passed} passed, ${failed} failed`);
  cleanup();
  process.exit(failed === 0 ? 0 : 1);
}
function cleanup() {
  if (!process.env.KEEP) fs.rmSync(tmp, { recursive: true, force: true });
  else say(`# kept ${tmp}`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  return { code: r.status, out: r.stdout || '', err: (r.stderr || '') + (r.error ? String(r.error) : '') };
}

// ------------------------------------------------------------------ traces and rendering
function readTrace(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}
function expected(events) {
  const runEv = events.find((e) => e.ev === 'run');
  const nodes = new Set(runEv ? runEv.nodes : []);
  const clients = new Set();
  for (const e of events) {
    if (e.ev === 'invoke' || e.ev === 'complete') { clients.add(e.client); nodes.add(e.node); }
    else if (e.from !== undefined) { nodes.add(e.from); nodes.add(e.to); }
    else if (e.node !== undefined && e.node !== '*' && e.ev !== 'run') nodes.add(e.node);
  }
  const count = (ev) => events.filter((e) => e.ev === ev).length;
  return {
    lanes: nodes.size + clients.size, instances: nodes.size, clients: clients.size,
    sends: count('send'), invokes: count('invoke'), completes: count('complete'), events: events.length,
  };
}

// A trace from an experiment: `skinny run` exits 1 when a safety check fails, which is
// still a trace to draw.
function traceOf(experiment, name, seed = 7) {
  const out = path.join(tmp, name + '.jsonl');
  const r = run(path.join(root, 'bin', 'skinny'), ['run', experiment, '--seed', String(seed), '--trace', out, '--quiet']);
  if (r.code !== 0 && r.code !== 1) throw new Error(`skinny run ${experiment} exited ${r.code}: ${r.err.trim().slice(0, 400)}`);
  // an experiment with variants writes one trace per variant, FILE.VARIANT.jsonl
  const base = path.join(tmp, name);
  const files = fs.readdirSync(tmp).filter((f) => f.startsWith(name + '.') && f.endsWith('.jsonl')).map((f) => path.join(tmp, f));
  if (fs.existsSync(out)) return [out];
  if (!files.length) throw new Error(`skinny run ${experiment} wrote no trace at ${base}*.jsonl`);
  return files.sort();
}

let cliHasRender = null;
function renderPage(trace, html, extra = []) {
  if (cliHasRender === null) {
    const h = run(path.join(root, 'bin', 'skinny'), ['help']);
    cliHasRender = /skinny render/.test(h.out + h.err);
  }
  const t0 = performance.now();
  let r;
  if (cliHasRender) {
    r = run(path.join(root, 'bin', 'skinny'), ['render', trace, '-o', html, ...extra]);
  } else {
    // until the CLI is wired: the same function, called directly
    const code = `package.path="scripts/?.lua;scripts/?/init.lua;"..package.path;` +
      `package.cpath="${BUILD}/?.so;"..package.cpath;` +
      `local ok, s = pcall(require, "skinny"); if not ok then s = nil end;` +
      `os.exit(require("skinny.render_cli").render_cmd(arg, s))`;
    r = run('lua5.4', ['-e', code, '/dev/null', trace, '-o', html, ...extra]);
  }
  const ms = performance.now() - t0;
  if (r.code !== 0) throw new Error(`render ${path.basename(trace)} exited ${r.code}: ${(r.err + r.out).trim().slice(0, 400)}`);
  return ms;
}

// ------------------------------------------------------------------ the browser
let chromium;
async function loadPlaywright() {
  const entry = path.join(here, 'node_modules', 'playwright-core', 'index.mjs');
  if (!fs.existsSync(entry)) {
    // a clean clone: install the exact versions of package-lock.json
    const r = run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: here });
    if (r.code !== 0 || !fs.existsSync(entry)) {
      throw new Error(`playwright-core is not installed and \`npm ci\` in tests/browser failed: ${r.err.trim().slice(0, 300)}`);
    }
  }
  ({ chromium } = await import(pathToFileURL(entry).href));
}

const consoleErrors = [];
let browser;
async function open(html, { width = 1400, height = 1000, hash = '' } = {}) {
  const page = await browser.newPage({ viewport: { width, height } });
  const external = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${path.basename(html)}: ${m.text()}`); });
  page.on('pageerror', (e) => consoleErrors.push(`${path.basename(html)}: ${e.message}`));
  const url = pathToFileURL(html).href;
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u.split('#')[0] !== url) { external.push(u); return route.abort(); }
    return route.continue();
  });
  const t0 = performance.now();
  await page.goto(url + hash);
  await page.waitForSelector('html[data-ready="1"]', { timeout: 30000 });
  const loadMs = performance.now() - t0;
  return { page, external, loadMs };
}

// Scroll the diagram from top to bottom, a screen at a time, letting each frame draw.
async function scrollThrough(page) {
  return page.evaluate(async () => {
    const box = document.querySelector('#diagram');
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const step = Math.max(box.clientHeight - 60, 100);
    const t0 = performance.now();
    let frames = 0;
    for (let y = 0; y <= box.scrollHeight; y += step) {
      box.scrollTop = y; frames++;
      await frame();
    }
    const before = window.skinnyPage.drawStats();
    return { counts: window.skinnyPage.drawnCounts(), ms: performance.now() - t0, frames, draw: before };
  });
}

// ------------------------------------------------------------------ tests
const tests = [];
function test(name, fn) { tests.push({ name, fn }); }
function assert(cond, msg) { if (!cond) throw new Error(msg); }
function eq(a, b, what) { if (a !== b) throw new Error(`${what}: got ${JSON.stringify(a)}, want ${JSON.stringify(b)}`); }

const ctx = {};

test('basic: the page opens offline, with one lane per instance and per client', async () => {
  const p = ctx.basic;
  const lanes = await p.page.locator('.lane-head').count();
  eq(lanes, ctx.basicExp.lanes, `lanes (${ctx.basicExp.instances} instances + ${ctx.basicExp.clients} clients)`);
  eq(await p.page.locator('.lane-head.node').count(), ctx.basicExp.instances, 'instance lanes');
  eq(await p.page.locator('.lane-head.client').count(), ctx.basicExp.clients, 'client lanes');
  eq(p.external.length, 0, `requests beyond the file (${p.external.join(', ')})`);
});

test('basic: one message arrow per send, each drawn; client arrows per invoke and complete', async () => {
  const p = ctx.basic;
  const d = await p.page.locator('#diagram').evaluate((e) => ({ ...e.dataset }));
  eq(+d.msgArrows, ctx.basicExp.sends, 'message arrows (data-msg-arrows) vs send events');
  eq(+d.clientArrows, ctx.basicExp.invokes + ctx.basicExp.completes, 'client arrows vs invoke + complete events');
  const walk = await scrollThrough(p.page);
  eq(walk.counts.msg, ctx.basicExp.sends, 'message arrows drawn on the canvas after scrolling through');
  eq(walk.counts.req + walk.counts.ans, ctx.basicExp.invokes + ctx.basicExp.completes, 'client arrows drawn');
});

test('basic: hovering an arrow shows its fields, clicking it selects it and moves the cursor', async () => {
  const { page } = ctx.basic;
  // the first message of the run: catbus's prepare
  const info = await page.evaluate(() => {
    const a = window.skinnyPage.arrowAt('msg', 0);
    const box = document.querySelector('#diagram');
    box.scrollTop = Math.max(0, a.y0 - 80);
    return a;
  });
  await page.waitForTimeout(50);
  const pt = await page.evaluate((a) => {
    const box = document.querySelector('#diagram');
    const r = document.querySelector('#diagram-canvas').getBoundingClientRect();
    const mx = a.x0 + (a.x1 - a.x0) * 0.6, my = a.y0 + (a.y1 - a.y0) * 0.6;
    return { x: r.left + mx - box.scrollLeft, y: r.top + my - box.scrollTop };
  }, info);
  await page.mouse.move(pt.x, pt.y);
  await page.waitForSelector('#tooltip', { state: 'visible', timeout: 3000 });
  const tip = await page.locator('#tooltip').innerText();
  assert(/prepare/.test(tip) && /ballot/.test(tip) && /1\.1/.test(tip), `tooltip does not show the prepare's fields: ${JSON.stringify(tip)}`);
  const before = await page.locator('#clock').innerText();
  await page.mouse.click(pt.x, pt.y);
  const details = await page.locator('#details').innerText();
  assert(/prepare/.test(details) && /received at/.test(details), `details after the click: ${JSON.stringify(details)}`);
  const after = await page.locator('#clock').innerText();
  assert(before !== after, `the cursor did not move (${before})`);
});

test('basic: moving the scrubber changes the state table', async () => {
  const { page } = ctx.basic;
  const slider = page.locator('#scrubber');
  await slider.focus();
  await page.keyboard.press('Home');
  const first = await page.locator('#state-tables').innerText();
  const clock0 = await page.locator('#clock').innerText();
  await page.keyboard.press('End');
  const last = await page.locator('#state-tables').innerText();
  const clock1 = await page.locator('#clock').innerText();
  assert(first !== last, 'the state table is the same at the first and the last moment');
  assert(clock0 !== clock1, 'the clock did not move');
  assert(/no decision yet/.test(first), `at t=0 there should be no decision: ${JSON.stringify(first.slice(0, 200))}`);
  // the lock script's describe (advisory.lua), carried by the trace's decided lines
  assert(/held by giraffe \(token 1027\)/.test(last), `at the end every acceptor's value is described as held by giraffe (token 1027): ${JSON.stringify(last.slice(0, 400))}`);
  const quorum = await page.locator('#state-tables tr.quorum').count();
  assert(quorum >= 3, `the quorum behind the last decision is highlighted (${quorum} rows)`);
  // one step back from the end changes something too
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  const mid = await page.locator('#clock').innerText();
  assert(mid !== clock1, 'ArrowLeft did not step back');
});

test('basic: play moves the cursor forward, pause stops it', async () => {
  const { page } = ctx.basic;
  await page.evaluate(() => window.skinnyPage.setTimeIndex(0));
  await page.locator('#speed').selectOption('30');
  await page.locator('#play').click();
  await page.waitForTimeout(600);
  await page.locator('#play').click();
  const k = await page.evaluate(() => window.skinnyPage.timeIndex());
  assert(k > 3, `after 0.6 s at 30 moments a second the cursor is at moment ${k}`);
  await page.waitForTimeout(200);
  const k2 = await page.evaluate(() => window.skinnyPage.timeIndex());
  eq(k2, k, 'moment after pausing');
});

test('basic (correct run): no overlap, verdict PASS', async () => {
  const { page } = ctx.basic;
  eq(await page.locator('#holder-timeline .overlap').count(), 0, 'red overlaps');
  eq(await page.locator('#overlap-text').count(), 0, 'overlap explanations');
  eq(await page.locator('#verdict').getAttribute('data-verdict'), 'pass', 'verdict');
  const holds = await page.locator('#holder-timeline .hold').count();
  eq(holds, 2, 'holds (beaver, then giraffe)');
  const txt = await page.locator('#holder-timeline').innerText();
  assert(/#257/.test(txt), 'the fencing token 257 is on beaver\'s bar');
});

test('double grant: a red overlap with the checker\'s explanation', async () => {
  const p = ctx.dg;
  const { page } = p;
  const n = await page.locator('#holder-timeline .overlap').count();
  assert(n >= 1, 'no red overlap in the holder timeline');
  const fill = await page.locator('#holder-timeline .overlap').first().getAttribute('stroke');
  assert(/e03131/i.test(fill || ''), `the overlap is not red (${fill})`);
  const why = await page.locator('#overlap-text').innerText();
  assert(/held by beaver \(token 512\) and giraffe \(token 768\) at once from t=12 to t=30/.test(why),
    `the checker's explanation is missing: ${JSON.stringify(why)}`);
  eq(await page.locator('#verdict').getAttribute('data-verdict'), 'fail', 'verdict');
  eq(await page.locator('.lane-head').count(), ctx.dgExp.lanes, 'lanes');
  const d = await page.locator('#diagram').evaluate((e) => +e.dataset.msgArrows);
  eq(d, ctx.dgExp.sends, 'message arrows vs sends');
  eq(p.external.length, 0, 'requests beyond the file');
});

test('10,000 events: opens, every lane and every message arrow is there and drawn', async () => {
  const p = ctx.many;
  const e = ctx.manyExp;
  assert(e.events >= 9000, `the trace has only ${e.events} events`);
  eq(await p.page.locator('.lane-head').count(), e.lanes, 'lanes');
  const d = await p.page.locator('#diagram').evaluate((x) => ({ ...x.dataset }));
  eq(+d.msgArrows, e.sends, 'message arrows vs sends');
  const walk = await scrollThrough(p.page);
  eq(walk.counts.msg, e.sends, 'message arrows drawn after scrolling through');
  const startup = await p.page.evaluate(() => window.skinnyPage.startupMs);
  say(`# 10,000 events: ${e.events} events, ${e.sends} sends; render ${(ctx.manyRenderMs / 1000).toFixed(2)} s, ` +
      `page ready ${(p.loadMs / 1000).toFixed(2)} s (script ${(startup / 1000).toFixed(2)} s), ` +
      `HTML ${(fs.statSync(ctx.manyHtml).size / 1e6).toFixed(2)} MB, ` +
      `scrolled through ${walk.frames} screens; drawing a screen takes ${(walk.draw.ms / walk.draw.frames).toFixed(1)} ms ` +
      `on average, ${walk.draw.maxMs.toFixed(1)} ms at most`);
  // scrubbing a long run stays usable
  const t0 = Date.now();
  await p.page.locator('#scrubber').focus();
  for (let i = 0; i < 20; i++) await p.page.keyboard.press('ArrowLeft');
  await p.page.keyboard.press('Home');
  await p.page.keyboard.press('End');
  say(`# 10,000 events: 22 scrubber moves in ${Date.now() - t0} ms`);
});

test('every experiment renders and opens without errors', async () => {
  const exps = fs.readdirSync(path.join(root, 'scripts', 'experiments')).filter((f) => f.endsWith('.lua')).sort();
  assert(exps.length > 0, 'no experiments found');
  const problems = [];
  for (const f of exps) {
    const name = 'exp-' + f.replace(/\.lua$/, '');
    let traces;
    try { traces = traceOf(path.join('scripts', 'experiments', f), name); } catch (err) { problems.push(`${f}: ${err.message}`); continue; }
    for (const t of traces) {
      const html = t.replace(/\.jsonl$/, '.html');
      try {
        renderPage(t, html);
        const exp = expected(readTrace(t));
        const p = await open(html);
        const lanes = await p.page.locator('.lane-head').count();
        const arrows = await p.page.locator('#diagram').evaluate((x) => +x.dataset.msgArrows);
        if (lanes !== exp.lanes) problems.push(`${path.basename(t)}: ${lanes} lanes, want ${exp.lanes}`);
        if (arrows !== exp.sends) problems.push(`${path.basename(t)}: ${arrows} message arrows, want ${exp.sends}`);
        if (p.external.length) problems.push(`${path.basename(t)}: fetched ${p.external.join(', ')}`);
        await p.page.close();
      } catch (err) { problems.push(`${path.basename(t)}: ${err.message}`); }
    }
  }
  assert(problems.length === 0, problems.join('; '));
});

test('no console errors on any page', async () => {
  assert(consoleErrors.length === 0, consoleErrors.slice(0, 5).join(' | '));
});

// ------------------------------------------------------------------ main
async function main() {
  if (!fs.existsSync(path.join(root, BUILD, 'skinny', 'core.so'))) {
    say(`not ok - setup: ${BUILD}/skinny/core.so is missing: run \`make\` first`);
    failed++;
    finish();
  }
  try {
    await loadPlaywright();
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is not installed (apt-get install chromium)`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  } catch (err) {
    finish(tests.length, `chromium cannot start: ${String(err.message || err).split('\n')[0]}`);
  }
  try {
    // the traces and pages every test shares
    const basic = traceOf('scripts/experiments/basic.lua', 'basic')[0];
    ctx.basicExp = expected(readTrace(basic));
    const basicHtml = path.join(tmp, 'basic.html');
    renderPage(basic, basicHtml);
    ctx.basic = await open(basicHtml);

    const dg = path.join(here, 'testdata', 'double_grant.jsonl');
    ctx.dgExp = expected(readTrace(dg));
    const dgHtml = path.join(tmp, 'double_grant.html');
    renderPage(dg, dgHtml, ['--title', 'double grant (hand-made)']);
    ctx.dg = await open(dgHtml);

    const many = traceOf('tests/browser/testdata/many.lua', 'many', 3)[0];
    ctx.manyExp = expected(readTrace(many));
    ctx.manyHtml = path.join(tmp, 'many.html');
    ctx.manyRenderMs = renderPage(many, ctx.manyHtml);
    ctx.many = await open(ctx.manyHtml);
  } catch (err) {
    say(`not ok - setup: ${String(err.message || err).split('\n')[0]}`);
    failed++;
    await browser.close();
    finish();
  }
  for (const t of tests) {
    try {
      await Promise.race([
        t.fn(),
        new Promise((_, rej) => setTimeout(() => rej(new Error('timed out after 90 s')), 90000)),
      ]);
      passed++;
      say(`ok - ${t.name}`);
    } catch (err) {
      failed++;
      say(`not ok - ${t.name}: ${String(err.message || err).split('\n')[0]}`);
    }
  }
  await browser.close();
  finish();
}

main().catch((err) => {
  say(`not ok - harness: ${String((err && err.stack) || err).split('\n')[0]}`);
  failed++;
  finish();
});
