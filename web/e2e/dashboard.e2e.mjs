// End-to-end check of the dashboard against a running Rewind server.
//
//   REWIND_URL=http://127.0.0.1:8420 REWIND_TOKEN=rwd_… npm run e2e
//
// The server must hold the incidents `rewind demo` makes (a CPU one from
// the agent, a `deploy-regression` one from the bad `checkout` deploy, and
// that deploy). The token must be a responder's (the demo's sign-in link has
// one): the test moves an incident through its lifecycle and writes notes.
// Give REWIND_TOKEN, or the link `rewind demo` prints
// (`…#/incidents/ID?token=rwd_…`) as REWIND_URL. Uses Debian's Chromium
// through playwright-core (no browser download): set CHROMIUM to use another
// binary. Screenshots go to $E2E_SCREENSHOT_DIR (default web/e2e/out/). The
// last line is `e2e: N passed, N failed`; before it, the timing of the
// timeline on generated data: `e2e: render 200 series x 3000 points: N ms`.

import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const OVERALL_TIMEOUT_MS = 180_000;
const STEP_TIMEOUT_MS = 15_000;

const givenUrl = process.env.REWIND_URL;
if (!givenUrl) {
  console.error('e2e: REWIND_URL is not set. Start `rewind server` (and `rewind demo` for an incident), then run');
  console.error('e2e:   REWIND_URL=http://127.0.0.1:8420 REWIND_TOKEN=rwd_… npm run e2e');
  process.exit(2);
}
const linkToken = /[#?&]token=(rwd_[0-9a-f]+)/.exec(givenUrl)?.[1];
const token = process.env.REWIND_TOKEN || linkToken || '';
if (!token.startsWith('rwd_')) {
  console.error('e2e: no token. Set REWIND_TOKEN to a responder token (rewind token create --name e2e --role responder),');
  console.error('e2e: or give the sign-in link `rewind demo` prints (http://127.0.0.1:PORT/#/…?token=rwd_…) as REWIND_URL.');
  process.exit(2);
}
const baseUrl = new URL('/', givenUrl).toString();

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(process.env.E2E_SCREENSHOT_DIR || path.join(here, 'out'));
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

let passed = 0;
let failed = 0;
let browser;

function finish(code) {
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  process.exit(code);
}

const watchdog = setTimeout(async () => {
  console.error(`FAIL overall timeout: the run took longer than ${OVERALL_TIMEOUT_MS / 1000} s`);
  failed += 1;
  try {
    await browser?.close();
  } catch {
    // exiting anyway
  }
  finish(1);
}, OVERALL_TIMEOUT_MS);

/** Runs one named check; a failure is reported and counted, and later checks still run. */
async function check(name, fn) {
  try {
    const detail = await fn();
    passed += 1;
    console.log(`ok   ${name}${detail ? ` (${detail})` : ''}`);
    return true;
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    return false;
  }
}

/** A write made elsewhere (another client, with the token in a header): the page must learn of it live. */
async function api(method, route, body) {
  const res = await fetch(new URL(route, baseUrl), {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route} answered ${res.status}: ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : undefined;
}

const short = (text, n = 70) => (text.length > n ? `${text.slice(0, n - 3)}...` : text);

async function shot(page, name, opts = {}) {
  await page.screenshot({ path: path.join(outDir, `${name}.png`), fullPage: true, ...opts }).catch((e) => {
    console.log(`note: could not save ${name}.png: ${e.message}`);
  });
}

async function main() {
  mkdirSync(outDir, { recursive: true });
  browser = await chromium.launch({
    executablePath,
    timeout: STEP_TIMEOUT_MS,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  // Light theme whatever the machine prefers: the theme toggle is tested on its own.
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light', acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);

  const consoleErrors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));

  const listUrl = new URL('/', baseUrl).toString();
  const rows = page.getByTestId('incident-row');
  const signInView = page.getByTestId('signin-view');

  await check('without a session the sign-in view appears', async () => {
    const res = await page.goto(listUrl, { waitUntil: 'domcontentloaded' });
    if (!res || !res.ok()) throw new Error(`GET ${listUrl} answered ${res ? res.status() : 'nothing'}`);
    await signInView.waitFor({ state: 'visible' });
    const text = (await signInView.textContent()) ?? '';
    if (!text.includes('rewind token create')) throw new Error('the sign-in view does not say how to get a token');
    if ((await rows.count()) > 0) throw new Error('incidents are shown without a session');
  });

  await check('a wrong token is refused with an error', async () => {
    await page.getByTestId('signin-token').fill(`rwd_${'0'.repeat(40)}`);
    await page.getByTestId('signin-submit').click();
    const error = page.locator('[data-testid="signin-error"] [data-testid="error"]');
    await error.waitFor({ state: 'visible' });
    const text = (await error.textContent())?.trim() ?? '';
    if (!/unknown token/i.test(text)) throw new Error(`unexpected error text: "${text}"`);
    await signInView.waitFor({ state: 'visible' });
    return `"${short(text, 60)}"`;
  });
  await shot(page, 'signin');

  const signedIn = await check('a sign-in link (#/?token=…) signs in and leaves the address bar', async () => {
    await page.goto('about:blank');
    await page.goto(`${listUrl}#/?token=${encodeURIComponent(token)}`, { waitUntil: 'domcontentloaded' });
    await page.getByTestId('session-name').waitFor({ state: 'visible' });
    if (page.url().includes('token=')) throw new Error(`the token is still in the address bar: ${page.url()}`);
    const cookies = await context.cookies(listUrl);
    const session = cookies.find((c) => c.name === 'rewind_token');
    if (!session) throw new Error('no rewind_token cookie was set');
    if (!session.httpOnly) throw new Error('the session cookie is readable by scripts (not HttpOnly)');
    return `signed in as ${(await page.getByTestId('session-name').textContent())?.trim()}`;
  });
  if (!signedIn) return;
  // The refused calls before signing in are logged by the browser as failed loads: expected.
  consoleErrors.length = 0;

  // --- the incident list -------------------------------------------------------------------
  let cpuId = '';
  let regressionId = '';
  const listed = await check('the list shows the demo’s incidents with severity, status, device/service, rule, occurrences, age', async () => {
    await page.getByTestId('incident-list').waitFor({ state: 'visible' });
    await rows.first().waitFor({ state: 'visible' });
    const heads = (await page.locator('[data-testid="incident-list"] thead th').allTextContents()).map((t) => t.trim().toLowerCase());
    for (const want of ['severity', 'status', 'device / service', 'rule', 'occurrences', 'age']) {
      if (!heads.includes(want)) throw new Error(`no "${want}" column (columns: ${heads.join(', ')})`);
    }
    const all = await rows.evaluateAll((els) =>
      els.map((el) => ({ id: el.getAttribute('data-id'), rule: el.querySelector('.rule a')?.textContent ?? '' })),
    );
    regressionId = all.find((r) => r.rule === 'deploy-regression')?.id ?? '';
    cpuId = all.find((r) => r.rule !== 'deploy-regression')?.id ?? '';
    if (!cpuId) throw new Error('no incident other than a deploy regression is listed');
    return `${all.length} row(s): ${all.map((r) => r.rule).join(', ')}`;
  });
  await shot(page, 'list');
  if (!listed) return;

  await check('the live stream is connected (WebSocket, with the session cookie)', async () => {
    await page.waitForSelector('[data-testid="live-status"][data-state="live"]');
  });

  await check('the search goes in the address, and that link shows the same list', async () => {
    const before = await rows.count();
    await page.getByTestId('filter-q').fill('CPU');
    await page.waitForFunction(() => window.location.hash.includes('q=CPU'));
    await page.waitForFunction(
      () => [...document.querySelectorAll('[data-testid="incident-row"] .rule')].every((td) => /cpu/i.test(td.textContent ?? '')),
    );
    const after = await rows.count();
    const link = page.url();
    const other = await context.newPage();
    try {
      await other.goto(link);
      await other.getByTestId('incident-row').first().waitFor({ state: 'visible' });
      const value = await other.getByTestId('filter-q').inputValue();
      const n = await other.getByTestId('incident-row').count();
      if (value !== 'CPU') throw new Error(`the link's page searches for "${value}"`);
      if (n !== after) throw new Error(`the link shows ${n} rows, the page ${after}`);
    } finally {
      await other.close();
    }
    await page.goto(listUrl);
    await rows.first().waitFor({ state: 'visible' });
    return `${before} → ${after} row(s) for q=CPU; ${link.slice(link.indexOf('#'))}`;
  });

  await check('keys: / goes to the search, j/k move, Enter opens', async () => {
    await page.locator('body').click({ position: { x: 5, y: 300 } });
    await page.keyboard.press('/');
    if (!(await page.getByTestId('filter-q').evaluate((el) => el === document.activeElement))) throw new Error('/ did not focus the search');
    await page.keyboard.press('Escape');
    const ids = await rows.evaluateAll((els) => els.map((el) => el.getAttribute('data-id')));
    const selected = () => page.locator('[data-testid="incident-row"][aria-selected="true"]').getAttribute('data-id');
    if ((await selected()) !== ids[0]) throw new Error('the first row is not selected at first');
    if (ids.length > 1) {
      await page.keyboard.press('j');
      if ((await selected()) !== ids[1]) throw new Error('j did not move down');
      await page.keyboard.press('k');
      if ((await selected()) !== ids[0]) throw new Error('k did not move up');
    }
    for (let i = 0; i < ids.length && (await selected()) !== cpuId; i += 1) await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.hash.includes(`/incidents/${cpuId}`));
    await page.getByTestId('incident-title').waitFor({ state: 'visible' });
    await page.goBack();
    await rows.first().waitFor({ state: 'visible' });
  });

  await check('a change made elsewhere shows in the list at once, without a reload', async () => {
    if (!regressionId) return 'skipped: no deploy-regression incident';
    await page.waitForSelector('[data-testid="live-status"][data-state="live"]');
    await page.evaluate(() => {
      window.__e2eNoReload = true;
    });
    await api('POST', `/api/v1/incidents/${regressionId}/transitions`, { to: 'acknowledged', reason: 'e2e: from another client' });
    await page.waitForFunction(
      (id) => document.querySelector(`[data-testid="incident-row"][data-id="${id}"]`)?.getAttribute('data-status') === 'acknowledged',
      regressionId,
    );
    if (!(await page.evaluate(() => window.__e2eNoReload === true))) throw new Error('the page was reloaded');
    await shot(page, 'list-live');
    return 'the regression row turned acknowledged';
  });

  // --- an incident page ---------------------------------------------------------------------
  await check('clicking a row opens its incident', async () => {
    const row = page.locator(`[data-testid="incident-row"][data-id="${cpuId}"]`);
    await row.locator('td').first().click();
    await page.waitForURL(/#\/incidents\//);
    if (!page.url().includes(encodeURIComponent(cpuId))) throw new Error(`expected the URL to name ${cpuId}, got ${page.url()}`);
    const title = page.getByTestId('incident-title');
    await title.waitFor({ state: 'visible' });
    const text = (await title.textContent())?.trim() ?? '';
    if (!text) throw new Error('the incident title is empty');
    return `"${text}"`;
  });

  const lanes = page.locator('[data-testid="lanes"] [data-testid="lane"]');
  await check('the timeline draws stacked lanes, an events lane, and T+0 on every lane', async () => {
    await page.locator('[data-testid="events-lane"] canvas').waitFor({ state: 'visible' });
    await lanes.first().locator('canvas').waitFor({ state: 'visible' });
    await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid="lanes"] figure')].every((f) => f.getAttribute('data-t0')),
    );
    const report = await page.evaluate(() => {
      const out = [];
      for (const fig of document.querySelectorAll('[data-testid="lanes"] figure')) {
        const canvas = fig.querySelector('canvas');
        const x = Number(fig.getAttribute('data-t0'));
        const name = fig.getAttribute('data-lane');
        if (!canvas || !Number.isFinite(x)) {
          out.push({ name, ok: false, why: `T+0 at ${fig.getAttribute('data-t0')}` });
          continue;
        }
        const ctx = canvas.getContext('2d');
        let red = 0;
        const samples = 12;
        for (let i = 0; i < samples; i += 1) {
          const y = Math.round(canvas.height * (0.25 + (0.6 * i) / samples));
          const [r, g, b] = ctx.getImageData(x, y, 1, 1).data;
          if (r > 150 && g < 110 && b < 110) red += 1;
        }
        out.push({ name, ok: red >= samples / 2, why: `${red}/${samples} marker-red pixels at x=${x}` });
      }
      return out;
    });
    const bad = report.filter((r) => !r.ok);
    if (report.length < 2) throw new Error(`only ${report.length} lane(s)`);
    if (bad.length) throw new Error(bad.map((b) => `${b.name}: ${b.why}`).join('; '));
    return `${report.length} lanes (${report.map((r) => r.name).join(', ')}), T+0 drawn on each`;
  });

  await check('hovering one lane shows every lane’s value at that instant', async () => {
    const over = lanes.first().locator('.u-over');
    const box = await over.boundingBox();
    if (!box) throw new Error('the first lane has no plot');
    await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2);
    await page.waitForFunction(() => document.querySelector('[data-testid="cursor-time"]')?.textContent !== 'at T+0');
    const at = (await page.getByTestId('cursor-time').textContent())?.replace(/^at /, '') ?? '';
    const readouts = await lanes.evaluateAll((els) =>
      els.map((el) => ({
        at: el.querySelector('.readout-at')?.textContent ?? '',
        values: [...el.querySelectorAll('.readout-item b')].map((b) => b.textContent),
      })),
    );
    const wrong = readouts.filter((r) => r.at !== at);
    if (wrong.length) throw new Error(`${wrong.length} lane(s) read another instant than ${at}`);
    const empty = readouts.filter((r) => !r.values.some((v) => v && v !== '—'));
    if (empty.length === readouts.length) throw new Error('no lane shows a value');
    await page.mouse.move(5, 5);
    return `${readouts.length} lanes read at ${at}`;
  });

  await check('zooming one lane zooms every lane, double-click shows everything again', async () => {
    const timeline = page.getByTestId('timeline');
    const t0Before = await lanes.first().getAttribute('data-t0');
    const over = lanes.first().locator('.u-over');
    const box = await over.boundingBox();
    await page.mouse.move(box.x + box.width * 0.55, box.y + 20);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.98, box.y + 20, { steps: 6 });
    await page.mouse.up();
    await page.waitForSelector('[data-testid="timeline"][data-zoomed="true"]');
    const view = `${await timeline.getAttribute('data-x-min')}..${await timeline.getAttribute('data-x-max')}`;
    const t0s = await page.locator('[data-testid="lanes"] figure').evaluateAll((els) => els.map((e) => e.getAttribute('data-t0')));
    if (new Set(t0s).size !== 1) throw new Error(`the lanes disagree on where T+0 is: ${t0s.join(', ')}`);
    if (t0s[0] === t0Before) throw new Error('T+0 did not move: the lanes did not zoom');
    await over.dblclick();
    await page.waitForSelector('[data-testid="timeline"][data-zoomed="false"]');
    return `view ${view} s on every lane`;
  });

  await check('folded lanes draw their charts when opened', async () => {
    const fold = page.getByTestId('more-lanes');
    if ((await fold.count()) === 0) return 'no folded lanes in this incident';
    const before = await page.locator('[data-testid="lane"] canvas').count();
    await fold.locator('summary').click();
    await page.locator('[data-testid="more-lanes"] [data-testid="lane"] canvas').first().waitFor({ state: 'visible' });
    const after = await page.locator('[data-testid="lane"] canvas').count();
    if (after <= before) throw new Error(`opening the fold drew no lane (${before} -> ${after})`);
    await fold.locator('summary').click();
    return `${before} lanes first, ${after} after opening`;
  });

  await check('the trigger summary is not empty', async () => {
    const summary = page.getByTestId('trigger-summary');
    await summary.waitFor({ state: 'visible' });
    const text = (await summary.textContent())?.trim() ?? '';
    if (!text) throw new Error('the trigger summary is empty');
    return `"${short(text, 80)}"`;
  });

  await page.waitForTimeout(300);
  await shot(page, 'incident');

  const activity = page.getByTestId('activity');
  await check('a note written elsewhere appears in the activity without a reload', async () => {
    await page.waitForSelector('[data-testid="live-status"][data-state="live"]');
    await page.evaluate(() => {
      window.__e2eNoReload = true;
    });
    const text = `e2e live note ${Date.now()}`;
    await api('POST', `/api/v1/incidents/${cpuId}/notes`, { text });
    await activity.getByText(text).waitFor({ state: 'visible' });
    if (!(await page.evaluate(() => window.__e2eNoReload === true))) throw new Error('the page was reloaded');
    return `"${text}"`;
  });

  const buttons = () =>
    page.locator('[data-testid="lifecycle"] button').evaluateAll((els) => els.map((b) => b.getAttribute('data-testid')));
  const status = () => page.locator('[data-testid="status-badge"] .badge').textContent();

  await check('only the allowed moves are offered; Acknowledge moves it', async () => {
    const open = await buttons();
    const want = ['transition-acknowledged', 'transition-mitigated', 'transition-resolved'];
    if (JSON.stringify(open) !== JSON.stringify(want)) throw new Error(`from open: ${open.join(', ')}`);
    await page.getByTestId('transition-acknowledged').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="status-badge"]')?.textContent === 'acknowledged');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="lifecycle"] button').length === 2);
    const ack = await buttons();
    if (JSON.stringify(ack) !== JSON.stringify(['transition-mitigated', 'transition-resolved'])) throw new Error(`from acknowledged: ${ack.join(', ')}`);
    await activity.locator('[data-kind="transition"]').first().waitFor({ state: 'visible' });
    return `open: ${open.length} moves; acknowledged: ${ack.join(', ')}`;
  });

  const noteText = `e2e note from the page ${Date.now()}`;
  await check('a note added on the page shows in the activity', async () => {
    await page.getByTestId('note-input').fill(noteText);
    await page.getByTestId('note-submit').click();
    await activity.getByText(noteText).waitFor({ state: 'visible' });
    if ((await page.getByTestId('note-input').inputValue()) !== '') throw new Error('the note field was not emptied');
  });

  await check('Resolve moves it to resolved, after which nothing but Reopen is offered', async () => {
    await page.getByTestId('transition-resolved').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="status-badge"]')?.textContent === 'resolved');
    const left = await buttons();
    if (JSON.stringify(left) !== JSON.stringify(['reopen'])) throw new Error(`resolved offers: ${left.join(', ')}`);
    if (!(await page.getByTestId('note-input').isDisabled())) throw new Error('a resolved incident still takes notes');
    return `status ${await status()}`;
  });
  await shot(page, 'incident-resolved');

  await check('the Markdown export downloads the postmortem draft', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-markdown').click()]);
    const file = await download.path();
    const md = readFileSync(file, 'utf8');
    if (!md.startsWith('# ')) throw new Error(`it does not start with a heading: "${short(md, 40)}"`);
    if (!md.includes(cpuId)) throw new Error('it does not name the incident');
    if (!md.includes(noteText)) throw new Error('it does not hold the note written on the page');
    if (!/\| Status \| resolved \|/.test(md)) throw new Error('it does not say the incident is resolved');
    return `${download.suggestedFilename()}, ${md.length} characters`;
  });

  // --- a regression incident -------------------------------------------------------------------
  await check('a deploy regression shows its baseline, its deploy and its log event on the timeline', async () => {
    if (!regressionId) throw new Error('the demo made no deploy-regression incident');
    await page.goto(`${listUrl}#/incidents/${regressionId}`);
    await page.getByTestId('incident-title').waitFor({ state: 'visible' });
    const evidence = (await page.getByTestId('evidence-table').textContent()) ?? '';
    if (!evidence.includes('Baseline')) throw new Error('the evidence shows no baseline');
    const labels = (await page.getByTestId('trigger-labels').textContent()) ?? '';
    for (const k of ['deploy_id', 'service', 'version']) if (!labels.includes(k)) throw new Error(`the trigger labels lack ${k}`);
    await page.waitForFunction(() => {
      const label = document.querySelector('[data-testid="events-lane"] .lane-plot')?.getAttribute('aria-label') ?? '';
      return label.includes('Deploys') && label.includes('Logs');
    });
    const events = (await page.getByTestId('events-list').textContent()) ?? '';
    if (!events.includes('payment')) throw new Error('the log event of the bundle is not on the timeline');
    const lanesHere = await lanes.evaluateAll((els) => els.map((e) => e.getAttribute('data-lane')));
    return `lanes ${lanesHere.join(', ')}; events lane has the deploy and the log line`;
  });
  await page.waitForTimeout(300);
  await shot(page, 'incident-regression');

  // --- deploys ---------------------------------------------------------------------------------
  await check('the deploys page shows the checkout deploy: verdict regression, per-metric table, new log signature', async () => {
    await page.getByTestId('nav-deploys').click();
    const card = page.locator('[data-testid="deploy"][data-service="checkout"]').first();
    await card.waitFor({ state: 'visible' });
    await card.locator('[data-testid="deploy-verdict"][data-verdict="regression"]').waitFor({ state: 'visible' });
    const metrics = (await card.getByTestId('deploy-metrics').textContent()) ?? '';
    if (!metrics.includes('checkout/error_rate')) throw new Error('the metric table lacks checkout/error_rate');
    const sigs = (await card.getByTestId('log-signatures').textContent()) ?? '';
    if (!/payment <NUM> failed/.test(sigs)) throw new Error(`no new log signature: "${short(sigs)}"`);
    const link = await card.getByTestId('deploy-incident').getAttribute('href');
    if (regressionId && !link?.includes(regressionId)) throw new Error(`the incident link is ${link}`);
    return `regression; ${short(sigs.replace(/\s+/g, ' ').trim(), 60)}`;
  });
  await shot(page, 'deploys');

  // --- themes and a tablet ---------------------------------------------------------------------
  await check('the dark theme and a tablet width keep the incident page readable', async () => {
    await page.goto(`${listUrl}#/incidents/${regressionId || cpuId}`);
    await page.getByTestId('incident-title').waitFor({ state: 'visible' });
    await page.getByTestId('theme-toggle').click();
    const theme = await page.evaluate(() => document.documentElement.dataset.theme);
    if (theme !== 'dark') throw new Error(`the toggle gave the ${theme} theme`);
    await page.setViewportSize({ width: 820, height: 1180 });
    await page.waitForTimeout(500);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 0) throw new Error(`the page is ${overflow}px wider than a tablet`);
    await shot(page, 'incident-dark-tablet');
    await page.getByTestId('theme-toggle').click(); // back to the system theme
    await page.setViewportSize({ width: 1440, height: 900 });
    return 'dark at 820 px, no sideways scrolling';
  });

  // --- performance ---------------------------------------------------------------------------
  await check('a 300 s window at 10 Hz for 200 series draws through the same timeline code', async () => {
    await page.goto(`${listUrl}#/deploys`);
    await page.goto(`${listUrl}#/perf?series=200&seconds=300&hz=10`);
    await page.waitForFunction(() => window.__rewindPerf, null, { timeout: 60_000 });
    const perf = await page.evaluate(() => window.__rewindPerf);
    const renderFigure = `e2e: render ${perf.series} series x ${perf.points} points: ${perf.ms} ms (${perf.lanes} lanes; on screen after ${perf.painted} ms)`;
    console.log(renderFigure);
    return `${perf.ms} ms`;
  });
  await shot(page, 'perf', { fullPage: false });

  await check('the pages logged no console errors', async () => {
    if (consoleErrors.length > 0) throw new Error(consoleErrors.join(' | '));
  });

  await check('signing out returns to the sign-in view, also after a reload', async () => {
    await page.goto(`${listUrl}#/incidents/${cpuId}`);
    await page.getByTestId('incident-title').waitFor({ state: 'visible' });
    await page.getByTestId('signout').click();
    await signInView.waitFor({ state: 'visible' });
    const left = (await context.cookies(listUrl)).filter((c) => c.name === 'rewind_token' && c.value);
    if (left.length > 0) throw new Error('the session cookie is still set');
    await page.reload({ waitUntil: 'domcontentloaded' });
    await signInView.waitFor({ state: 'visible' });
  });

  await check('signing in through the form shows the page again', async () => {
    await page.getByTestId('signin-token').fill(token);
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('session-name').waitFor({ state: 'visible' });
    // The page that asked for the sign-in: this incident.
    await page.getByTestId('incident-title').waitFor({ state: 'visible' });
    if ((await signInView.count()) > 0) throw new Error('the sign-in view is still shown');
  });
}

try {
  await main();
} catch (e) {
  failed += 1;
  console.log(`FAIL setup: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  if (String(e).includes(executablePath)) {
    console.log(`hint: install Chromium (apt-get install -y chromium) or set CHROMIUM to its path`);
  }
} finally {
  clearTimeout(watchdog);
  await browser?.close().catch(() => {});
}
console.log(`screenshots: ${outDir}`);
finish(failed === 0 && passed > 0 ? 0 : 1);
