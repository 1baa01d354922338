#!/usr/bin/env node
// Drives the tokencomp dashboards in a real Chromium against a running `tokencomp serve` whose
// data directory was made by `tokencomp demo` (it creates the demo logins used below).
//
//   CHROMIUM=/usr/bin/chromium node dashboards.mjs --base http://127.0.0.1:8099 --out DIR \
//     --payroll-period 2026-10
//
// Steps: admin logs in through the form, screenshots /admin, runs a period that is not run,
// downloads a payroll file; the auditor sees the hash chain verified on /audit, the events newest
// first, filters them by actor and exports the same list as CSV; employee ada
// sees as many tranche markers on her vesting chart as her grant has tranches, a fan chart, is
// refused someone else's grant (403 forbidden), and opens /governance; ada proves a wallet on /me
// through the page's injected-wallet path (a window.ethereum whose personal_sign is the test's
// key, signed by eth-account in the tools venv: TOKENCOMP_TEST_VENV) and cancels the pending
// change. Any uncaught page error,
// Content-Security-Policy violation or API error a page shows fails the run, and so does a
// periods table with no period left to run.
//
// Prints one JSON line on stdout: {"ok":true,...} and exits 0, or {"ok":false,"step",...} and
// exits 1. Progress goes to stderr. Every wait is bounded (--timeout ms per step, default
// 30000); nothing sleeps.

import { spawnSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';

import { chromium } from 'playwright-core';

const USAGE =
  'usage: CHROMIUM=/path/to/chromium node dashboards.mjs --base http://127.0.0.1:PORT --out DIR --payroll-period YYYY-MM [--timeout MS]';

const ACCOUNTS = {
  admin: { user: 'admin', password: 'demo-admin-pw', home: '/admin' },
  auditor: { user: 'auditor', password: 'demo-auditor-pw', home: '/audit' },
  ada: { user: 'ada', password: 'demo-ada-pw', home: '/me', person: 'ada' },
};

let args;
try {
  args = parseArgs({
    options: {
      base: { type: 'string' },
      out: { type: 'string' },
      'payroll-period': { type: 'string' },
      timeout: { type: 'string', default: '30000' },
    },
    strict: true,
  }).values;
} catch (e) {
  console.error(`${e.message}\n${USAGE}`);
  process.exit(2);
}
if (!args.base || !args.out || !args['payroll-period']) {
  console.error(USAGE);
  process.exit(2);
}
if (!process.env.CHROMIUM) {
  console.error(`set CHROMIUM to the Chromium executable (Debian: /usr/bin/chromium)\n${USAGE}`);
  process.exit(2);
}

const base = args.base.replace(/\/+$/, '');
const out = path.resolve(args.out);
const period = args['payroll-period'];
const timeout = Number(args.timeout);
if (!(timeout > 0)) {
  console.error(`--timeout must be a positive number of milliseconds\n${USAGE}`);
  process.exit(2);
}

const log = (msg) => process.stderr.write(`${msg}\n`);
const result = { ok: false, tranches: null, payroll: null, screenshots: [] };
const problems = []; // uncaught page errors, CSP violations, failures of the page script
const consoleErrors = [];
const apiErrors = []; // error messages the API answered with, as the pages show them
let current = 'setup';
let currentPage = null;
const failure = { page: null, screenshot: null };

class Failure extends Error {}
function check(cond, message) {
  if (!cond) throw new Failure(message);
}

async function step(name, fn) {
  current = name;
  const started = Date.now();
  log(`… ${name}`);
  const r = await fn();
  log(`✓ ${name} (${Date.now() - started} ms)`);
  return r;
}

function watch(page, who) {
  page.on('pageerror', (e) => problems.push(`${who} ${page.url()}: uncaught ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    if (/Content Security Policy|Refused to (execute|apply|load)|tokencomp dashboard:/i.test(text)) problems.push(`${who} ${page.url()}: ${text}`);
    else consoleErrors.push(`${who} ${page.url()}: ${text}`);
  });
}

async function newPage(browser, who) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(timeout);
  context.setDefaultNavigationTimeout(timeout);
  const page = await context.newPage();
  watch(page, who);
  currentPage = page;
  return { context, page };
}

/** Logs in through the form and waits until the role's dashboard has loaded everything. */
async function login(browser, account) {
  const { context, page } = await newPage(browser, account.user);
  await page.goto(`${base}/login`);
  await page.fill('#user', account.user);
  await page.fill('#password', account.password);
  await Promise.all([
    page.waitForURL((u) => new URL(u).pathname === account.home),
    page.click('#login-submit'),
  ]);
  await ready(page);
  const role = (await page.textContent('#current-role'))?.trim();
  const user = (await page.textContent('#current-user'))?.trim();
  check(user === account.user, `the header names ${user}, not ${account.user}`);
  log(`  logged in as ${user} (${role}) on ${new URL(page.url()).pathname}`);
  return { context, page };
}

/**
 * What the page shows in place of sections that failed: a failure of the page's own script or an
 * error the API answered with fails the run (every section of the sample company's pages loads).
 */
async function sectionErrors(page) {
  const where = new URL(page.url()).pathname;
  const bugs = await page.locator('.error[data-source="script"]').allTextContents();
  check(bugs.length === 0, `${where}: the page script failed: ${bugs.join(' | ')}`);
  for (const text of await page.locator('.error[data-source="api"]').allTextContents()) {
    apiErrors.push(`${where}: ${text.trim()}`);
  }
  check(apiErrors.length === 0, `a page shows an API error: ${apiErrors.join(' | ')}`);
}

/** The page's script sets data-ready once every section has loaded or shown its error. */
async function ready(page) {
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
}

async function shot(page, name) {
  const file = path.join(out, name);
  await page.screenshot({ path: file, fullPage: true });
  result.screenshots.push(file);
  log(`  screenshot ${file}`);
}

// Wallet proofs (issue 18, item 3): Hardhat's first development key (public, holds nothing).
const TEST_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const TEST_ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';

/** `message` signed with personal_sign (EIP-191) by TEST_KEY, through eth-account in the tools venv. */
function signWithTestKey(message) {
  const venv = process.env.TOKENCOMP_TEST_VENV;
  check(venv, 'TOKENCOMP_TEST_VENV is not set: run ./scripts/test, which installs eth-account (with siwe) in the tools venv');
  const code = [
    'import sys',
    'from eth_account import Account',
    'from eth_account.messages import encode_defunct',
    'sig = Account.sign_message(encode_defunct(text=sys.stdin.read()), sys.argv[1]).signature.hex()',
    'print(sig if sig.startswith("0x") else "0x" + sig)',
  ].join('\n');
  const r = spawnSync(path.join(venv, 'bin', 'python'), ['-c', code, TEST_KEY], { input: message, encoding: 'utf8' });
  check(r.status === 0, `signing with the test key failed: ${r.stderr}`);
  return r.stdout.trim();
}

const cssString = (s) => `"${String(s).replace(/["\\]/g, '\\$&')}"`;

async function main() {
  await mkdir(out, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout,
  });
  try {
    // 1. admin
    const admin = await step('admin logs in and sees /admin', async () => {
      const a = await login(browser, ACCOUNTS.admin);
      const p = a.page;
      await p.waitForSelector('#totals-chart');
      await p.waitForSelector('#periods-table');
      await p.waitForSelector('#calendar-chart');
      await p.waitForSelector('#supply-chart');
      await sectionErrors(p);
      await shot(p, 'admin.png');
      return a;
    });

    await step('admin sees token totals truncated, never rounded up', async () => {
      const p = admin.page;
      const c = await p.evaluate(async () => (await fetch('/api/company')).json());
      // Independently of the page's formatter: whole tokens, then the first two decimals as they are.
      const units = BigInt(c.totals.granted);
      const one = 10n ** BigInt(c.token.decimals);
      const whole = (units / one).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
      const cents = ((units % one) / 10n ** BigInt(c.token.decimals - 2)).toString().padStart(2, '0');
      const want = `${whole}.${cents} ${c.token.symbol}`;
      const shown = (await p.textContent('#total-granted .stat-value'))?.trim();
      check(shown === want, `granted shows ${shown}, the truncated amount is ${want}`);
      result.granted_display = shown;
      log(`  granted ${shown}`);
    });

    await step('admin runs a period that is not run', async () => {
      const p = admin.page;
      const btn = p.locator('#periods-table button.run-period').first();
      // The run is what this step tests: a page with nothing to run is a failure, not a pass.
      check((await btn.count()) > 0, 'the periods table offers no period to run');
      const id = await btn.getAttribute('data-period');
      await btn.click();
      await p.waitForSelector(`#periods-table tr[data-period=${cssString(id)}][data-run="true"]`);
      const badge = (await p.textContent(`#periods-table tr[data-period=${cssString(id)}] .run-state`))?.trim();
      check(badge === 'run', `period ${id} shows "${badge}" after running`);
      result.ran_period = id;
      log(`  ran ${id}: ${(await p.textContent('#periods-status'))?.trim()}`);
    });

    await step('admin closes the period just run (a second click confirms)', async () => {
      const p = admin.page;
      const id = result.ran_period;
      const row = `#periods-table tr[data-period=${cssString(id)}]`;
      const btn = p.locator(`${row} button.close-period`);
      check((await btn.count()) === 1, `period ${id} offers no Close button after its run`);
      await btn.click();
      check((await btn.textContent())?.trim() === 'Confirm close', 'the first click must ask for confirmation');
      const before = await p.evaluate(async (pid) => (await (await fetch('/api/periods')).json()).items.find((x) => x.id === pid).closed, id);
      check(before === false, `period ${id} was closed by the first click`);
      await btn.click();
      await p.waitForSelector(`${row}[data-closed="true"]`);
      const after = await p.evaluate(async (pid) => (await (await fetch('/api/periods')).json()).items.find((x) => x.id === pid).closed, id);
      check(after === true, `the API does not show ${id} closed`);
      log(`  closed ${id}: ${(await p.textContent('#periods-status'))?.trim()}`);
    });

    await step(`admin downloads the payroll for ${period}`, async () => {
      const p = admin.page;
      const sel = `#periods-table a[data-period=${cssString(period)}]`;
      if ((await p.locator(sel).count()) === 0 && (await p.locator('#periods-show-all').count()) > 0) {
        await p.click('#periods-show-all');
      }
      await p.waitForSelector(sel);
      const [download] = await Promise.all([p.waitForEvent('download'), p.click(sel)]);
      const failure = await download.failure();
      check(!failure, `the download failed: ${failure}`);
      const file = path.join(out, `payroll-${period}.csv`);
      await download.saveAs(file);
      const text = await readFile(file, 'utf8');
      const lines = text.split('\n').filter((l) => l.trim());
      check(lines.length >= 1 && lines[0].includes(','), `payroll-${period}.csv does not look like CSV: ${JSON.stringify(text.slice(0, 120))}`);
      check(!text.trimStart().startsWith('{'), `the server answered JSON instead of CSV: ${text.slice(0, 200)}`);
      result.payroll = file;
      result.payroll_rows = lines.length - 1;
      log(`  ${download.suggestedFilename()} → ${file} (${lines.length - 1} rows)`);
    });

    const other = await step('admin lists a grant that is not ada\'s', async () => {
      const grants = await admin.page.evaluate(async () => {
        const r = await fetch('/api/grants?limit=1000');
        return (await r.json()).items.map((g) => ({ id: g.id, holder: g.holder }));
      });
      const g = grants.find((x) => x.holder !== ACCOUNTS.ada.person);
      check(g, 'every grant is ada\'s: nothing to be refused');
      log(`  ${g.id} (held by ${g.holder})`);
      return g;
    });
    await admin.context.close();

    // 2. auditor
    await step('a wrong password is refused on the form', async () => {
      const { context, page } = await newPage(browser, 'anonymous');
      await page.goto(`${base}/login`);
      await page.fill('#user', ACCOUNTS.auditor.user);
      await page.fill('#password', 'not-the-password');
      await page.click('#login-submit');
      await page.waitForSelector('#login-error:not([hidden])');
      const msg = (await page.textContent('#login-error'))?.trim();
      check(msg, 'no error message is shown');
      check(new URL(page.url()).pathname === '/login', `left the login page for ${page.url()}`);
      log(`  "${msg}"`);
      await context.close();
    });

    await step('auditor sees the hash chain verified on /audit', async () => {
      const { context, page } = await login(browser, ACCOUNTS.auditor);
      await page.waitForSelector('#ledger-verify');
      const status = await page.getAttribute('#ledger-verify', 'data-status');
      const text = (await page.textContent('#ledger-verify'))?.trim();
      check(status === 'ok' && /\bOK\b/.test(text), `the hash chain status says: ${text}`);
      await page.waitForSelector('#events-table tbody tr');
      await page.waitForSelector('#kinds-chart');
      await sectionErrors(page);
      log(`  ${text}`);
      await shot(page, 'audit.png');
      // Newest first, each row's chain mark, hashes in full on hover (issue 18, item 6).
      const seqOf = async () => (await page.locator('#events-table tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.dataset.seq))));
      const all = await seqOf();
      check(all.every((v, i) => i === 0 || all[i - 1] > v), `the events are not newest first: ${all.slice(0, 5)}`);
      const marks = await page.locator('#events-table tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.chain));
      check(marks.every((m) => m === 'ok'), `a row's chain mark is not ok: ${marks.join(',')}`);
      const full = await page.locator('#events-table tbody tr:first-child code.hash').first().getAttribute('title');
      check(/^[0-9a-f]{64}$/.test(full || ''), `the hash cell's title is not the full hash: ${full}`);
      // The admin's period run above, filtered by actor and kind: the rows and the CSV agree.
      await page.fill('#filter-actor', 'user:admin');
      await page.fill('#filter-subject', '');
      await Promise.all([
        page.waitForResponse((r) => r.url().includes('/api/ledger/events?') && r.url().includes('actor=user%3Aadmin')),
        page.click('#filter-apply'),
      ]);
      await page.waitForSelector('#events-status:has-text("events shown")');
      const actors = await page.locator('#events-table tbody tr td:nth-child(5)').allTextContents();
      check(actors.length > 0 && actors.every((a) => a === 'user:admin'), `the actor filter shows ${actors.join(', ')}`);
      const href = await page.getAttribute('#events-export', 'href');
      check(href === '/api/ledger/events.csv?actor=user%3Aadmin', `the export link is ${href}`);
      const csv = await page.request.get(`${base}${href}`);
      check(csv.status() === 200, `the CSV export answered ${csv.status()}`);
      const lines = (await csv.text()).split('\r\n').filter((l) => l);
      check(lines[0].startsWith('seq,recorded_at,kind,subject,actor,'), `the CSV header is ${lines[0]}`);
      check(lines.length - 1 === actors.length, `the CSV has ${lines.length - 1} events, the page ${actors.length}`);
      await sectionErrors(page);
      await shot(page, 'audit-filtered.png');
      // A filter naming nobody is refused, and the page says so beside the form.
      await page.fill('#filter-actor', 'user:nobody');
      await page.click('#filter-apply');
      await page.waitForSelector('#events-info .error');
      const refusal = (await page.textContent('#events-info .error'))?.trim();
      check(/user:nobody/.test(refusal || ''), `the refusal says: ${refusal}`);
      log(`  filtered: ${actors.length} events by user:admin; refused: ${refusal}`);
      await context.close();
    });

    // 3. employee ada
    const ada = await step('ada sees her vesting chart with one marker per tranche', async () => {
      const a = await login(browser, ACCOUNTS.ada);
      const p = a.page;
      await p.waitForSelector('#vesting-chart .tranche-point');
      const grant = await p.getAttribute('#vesting-chart', 'data-grant');
      const selected = await p.inputValue('#grant-select');
      check(grant && grant === selected, `the chart shows ${grant} but the selector says ${selected}`);
      const markers = await p.locator('#vesting-chart .tranche-point').count();
      const tranches = await p.evaluate(async (id) => {
        const r = await fetch(`/api/grants/${encodeURIComponent(id)}`);
        return (await r.json()).grant.tranches.length;
      }, grant);
      check(markers === tranches, `grant ${grant}: ${markers} markers on the chart, ${tranches} tranches from the API`);
      result.tranches = tranches;
      result.grant = grant;
      log(`  ${grant}: ${markers} markers = ${tranches} tranches`);
      return a;
    });

    await step('ada sees the Monte Carlo fan chart', async () => {
      const p = ada.page;
      await p.waitForSelector('#fan-chart .fan-median');
      await p.waitForSelector('#fan-chart .band.fan-outer');
      await sectionErrors(p);
      await shot(p, 'employee.png');
    });

    await step('ada sees what her tokens are worth now and downloads her statement', async () => {
      const p = ada.page;
      await p.waitForSelector('#portal .stats');
      const portal = await p.evaluate(async () => (await fetch('/api/people/ada/portal')).json());
      const shown = await p.textContent('#portal');
      check(shown.includes(portal.held_value.display), `the page does not show ${portal.held_value.display}`);
      check((await p.textContent('#me-title')).includes(portal.name), 'the title does not name the person');
      const rows = await p.locator('#upcoming-table tbody tr').count();
      check(rows === portal.upcoming.length, `${rows} upcoming rows on the page, ${portal.upcoming.length} from the API`);
      const [download] = await Promise.all([p.waitForEvent('download'), p.click('#portal a[href*="format=pdf"]')]);
      const file = path.join(out, 'statement.pdf');
      await download.saveAs(file);
      result.statement = file;
      log(`  worth now ${portal.held_value.display}; ${rows} upcoming vests; statement saved`);
    });

    await step(`ada is refused ${other.holder}'s grant`, async () => {
      const p = ada.page;
      const resp = await p.goto(`${base}/api/grants/${encodeURIComponent(other.id)}`);
      check(resp, 'no response');
      const body = await resp.json().catch(() => null);
      check(resp.status() === 403, `GET /api/grants/${other.id} answered ${resp.status()}`);
      check(body && body.code === 'forbidden', `the refusal's code is ${body && body.code}`);
      log(`  403 ${body.code}: ${body.message}`);
    });

    await step('ada opens /governance', async () => {
      const p = ada.page;
      await p.goto(`${base}/governance`);
      await ready(p);
      await p.waitForSelector('#proposals :is(.proposals, p)');
      await p.waitForSelector('#my-power');
      await sectionErrors(p);
      await shot(p, 'governance.png');
    });
    await ada.context.close();

    // 4. ada proves a wallet with an injected wallet that signs with the test's key.
    await step('ada proves a wallet with her browser wallet and cancels the change', async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      context.setDefaultTimeout(timeout);
      context.setDefaultNavigationTimeout(timeout);
      const signed = [];
      await context.exposeFunction('tcTestSign', (message) => {
        signed.push(message);
        return signWithTestKey(message);
      });
      await context.addInitScript((address) => {
        window.ethereum = {
          request: async ({ method, params }) => {
            if (method === 'eth_requestAccounts') return [address];
            if (method === 'personal_sign' && params[1] === address) return window.tcTestSign(params[0]);
            throw new Error(`the test wallet does not do ${method}`);
          },
        };
      }, TEST_ADDRESS);
      const page = await context.newPage();
      watch(page, 'ada');
      currentPage = page;
      await page.goto(`${base}/login`);
      await page.fill('#user', ACCOUNTS.ada.user);
      await page.fill('#password', ACCOUNTS.ada.password);
      await Promise.all([page.waitForURL((u) => new URL(u).pathname === '/me'), page.click('#login-submit')]);
      await ready(page);
      await page.click('#wallet-connect');
      await page.waitForSelector('#wallet-status.ok');
      const status = (await page.textContent('#wallet-status')).trim();
      check(status.startsWith(`Proven: ${TEST_ADDRESS} becomes your wallet at `), `the card says: ${status}`);
      check(signed.length === 1 && signed[0].startsWith(`${new URL(base).host} wants you to sign in with your Ethereum account:\n${TEST_ADDRESS}\n`), `signed: ${signed[0]}`);
      const row = page.locator('#wallet-proofs tbody tr').first();
      check((await row.locator('td').nth(0).textContent()) === TEST_ADDRESS, 'the proof row names another address');
      check((await row.locator('td').nth(1).textContent()) === 'pending', 'the change is not pending');
      await sectionErrors(page);
      await shot(page, 'wallet.png');
      await page.click('#wallet-cancel');
      await page.locator('#wallet-status.ok', { hasText: 'The change was cancelled.' }).waitFor();
      const after = page.locator('#wallet-proofs tbody tr').first().locator('td').nth(1);
      check((await after.textContent()) === 'cancelled', `after cancelling the change is ${await after.textContent()}`);
      log(`  ${status}; then cancelled`);
      await context.close();
    });

    current = 'page errors';
    check(problems.length === 0, `page errors or CSP violations: ${problems.join(' | ')}`);
    result.ok = true;
    if (apiErrors.length) result.api_errors = apiErrors;
  } catch (e) {
    // While the page is still open: what it showed when the step failed.
    if (currentPage && !currentPage.isClosed()) {
      const file = path.join(out, 'failure.png');
      failure.page = currentPage.url();
      await currentPage
        .screenshot({ path: file, fullPage: true, timeout: 5000 })
        .then(() => {
          failure.screenshot = file;
        })
        .catch(() => {});
    }
    throw e;
  } finally {
    await browser.close().catch(() => {});
  }
}


// A bound on the whole run, on top of the per-step timeouts.
const watchdog = setTimeout(() => {
  process.stdout.write(`${JSON.stringify({ ok: false, step: current, error: 'the whole run took more than 5 minutes' })}\n`);
  process.exit(1);
}, 5 * 60 * 1000);
watchdog.unref();

try {
  await main();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} catch (e) {
  const doc = {
    ok: false,
    step: current,
    error: e instanceof Failure ? e.message : String(e && e.stack ? e.stack.split('\n').slice(0, 3).join(' ') : e),
    page: failure.page,
    screenshot: failure.screenshot,
    problems: problems.length ? problems : undefined,
    api_errors: apiErrors.length ? apiErrors : undefined,
    console_errors: consoleErrors.length ? consoleErrors : undefined,
  };
  process.stdout.write(`${JSON.stringify(doc)}\n`);
  process.exit(1);
}
