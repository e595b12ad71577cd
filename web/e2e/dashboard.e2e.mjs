// End-to-end check of the dashboard against a running Rewind server.
//
//   REWIND_URL=http://127.0.0.1:8420 REWIND_TOKEN=rwd_… npm run e2e
//
// The server must hold at least one incident (run `rewind demo` first), and
// the dashboard needs a viewer token: REWIND_TOKEN, or the sign-in link
// `rewind demo` prints (`…#/incidents/ID?token=rwd_…`) given as REWIND_URL. Uses
// Debian's Chromium through playwright-core (no browser download): set
// CHROMIUM to use another binary. Screenshots go to $E2E_SCREENSHOT_DIR
// (default web/e2e/out/). The last line is `e2e: N passed, N failed`.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const OVERALL_TIMEOUT_MS = 60_000;
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
  console.error('e2e: no token. Set REWIND_TOKEN to a viewer token (rewind token create --name e2e --role viewer),');
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
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
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
    return `"${text.length > 60 ? `${text.slice(0, 57)}...` : text}"`;
  });
  await page.screenshot({ path: path.join(outDir, 'signin.png'), fullPage: true }).catch(() => {});

  const signedIn = await check('a sign-in link (#/?token=…) signs in and leaves the address bar', async () => {
    await page.goto('about:blank');
    await page.goto(`${listUrl}#/?token=${encodeURIComponent(token)}`, { waitUntil: 'domcontentloaded' });
    await page.getByTestId('session-name').waitFor({ state: 'visible' });
    if (page.url().includes('token=')) throw new Error(`the token is still in the address bar: ${page.url()}`);
    const cookies = await page.context().cookies(listUrl);
    const session = cookies.find((c) => c.name === 'rewind_token');
    if (!session) throw new Error('no rewind_token cookie was set');
    if (!session.httpOnly) throw new Error('the session cookie is readable by scripts (not HttpOnly)');
    return `signed in as ${(await page.getByTestId('session-name').textContent())?.trim()}`;
  });
  if (!signedIn) return;
  // The refused calls before signing in are logged by the browser as failed loads: expected.
  consoleErrors.length = 0;

  const listed = await check('incident list shows at least one incident', async () => {
    await page.getByTestId('incident-list').waitFor({ state: 'visible' });
    await rows.first().waitFor({ state: 'visible' });
    return `${await rows.count()} row(s)`;
  });
  await page.screenshot({ path: path.join(outDir, 'list.png'), fullPage: true }).catch(() => {});
  if (!listed) return;

  let firstId = '';
  await check('clicking the first row opens its incident', async () => {
    firstId = (await rows.first().getAttribute('data-id')) ?? '';
    await rows.first().click();
    await page.waitForURL(/#\/incidents\//);
    if (firstId && !page.url().includes(encodeURIComponent(firstId))) {
      throw new Error(`expected the URL to name ${firstId}, got ${page.url()}`);
    }
    const title = page.getByTestId('incident-title');
    await title.waitFor({ state: 'visible' });
    const text = (await title.textContent())?.trim() ?? '';
    if (!text) throw new Error('the incident title is empty');
    return `"${text}"`;
  });

  await check('at least one series chart is drawn on a canvas', async () => {
    const charts = page.getByTestId('series-chart');
    await charts.first().waitFor({ state: 'visible' });
    await page.locator('[data-testid="series-chart"] canvas').first().waitFor({ state: 'visible' });
    const names = await charts.evaluateAll((els) =>
      els.filter((el) => el.querySelector('canvas')).map((el) => el.getAttribute('data-series')),
    );
    if (names.length === 0) throw new Error('no series-chart contains a canvas');
    if (names.some((n) => !n)) throw new Error('a series-chart has no data-series name');
    return names.join(', ');
  });

  await check('folded series draw their charts when opened', async () => {
    const fold = page.getByTestId('more-series');
    if ((await fold.count()) === 0) return 'no folded series in this incident';
    const before = await page.locator('[data-testid="series-chart"] canvas').count();
    await fold.locator('summary').click();
    await page.locator('[data-testid="more-series"] [data-testid="series-chart"] canvas').first().waitFor({ state: 'visible' });
    const after = await page.locator('[data-testid="series-chart"] canvas').count();
    if (after <= before) throw new Error(`opening the fold drew no chart (${before} -> ${after})`);
    await fold.locator('summary').click();
    return `${before} shown first, ${after} after opening`;
  });

  await check('the trigger summary is not empty', async () => {
    const summary = page.getByTestId('trigger-summary');
    await summary.waitFor({ state: 'visible' });
    const text = (await summary.textContent())?.trim() ?? '';
    if (!text) throw new Error('the trigger summary is empty');
    return `"${text.length > 80 ? `${text.slice(0, 77)}...` : text}"`;
  });

  // Let the charts finish drawing before the picture.
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(outDir, 'incident.png'), fullPage: true }).catch((e) => {
    console.log(`note: could not save the screenshot: ${e.message}`);
  });

  await check('the page logged no console errors', async () => {
    if (consoleErrors.length > 0) throw new Error(consoleErrors.join(' | '));
  });

  await check('signing out returns to the sign-in view, also after a reload', async () => {
    await page.getByTestId('signout').click();
    await signInView.waitFor({ state: 'visible' });
    const left = (await page.context().cookies(listUrl)).filter((c) => c.name === 'rewind_token' && c.value);
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
