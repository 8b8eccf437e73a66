// Shared harness of the browser lane: launches Debian's Chromium through playwright-core,
// opens pages while recording everything that should never happen on a healthy page
// (console errors, uncaught page errors, failed requests, HTTP statuses >= 400) and saves
// full-page screenshots for review. Owns no assertions about page content; the *.test.mjs
// files do. run.sh sets NQP_URL (the server under test) and NQP_SCREENSHOTS.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const BASE_URL = process.env.NQP_URL;
if (!BASE_URL) {
  // Fail loudly: running these files without a server would otherwise time out obscurely.
  throw new Error('NQP_URL is not set: run the lane with `bash tests/browser/run.sh`');
}
export const SHOTS_DIR = process.env.NQP_SCREENSHOTS ?? path.resolve('target/screenshots');
mkdirSync(SHOTS_DIR, { recursive: true });

export const LANGS = ['zh', 'en'];

/** The language's `html[lang]` value as rendered by base.html. */
export const HTML_LANG = { zh: 'zh-CN', en: 'en' };

const CHROMIUM = process.env.NQP_CHROMIUM ?? '/usr/bin/chromium';

// Flags: no sandbox (CI runs as root in a container), no GPU, and no background traffic to
// Google services, so that every request the browser makes is one the page asked for.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Headless Chromium; one per test file (launching costs about a second). */
export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** Absolute URL of a path on the server under test. */
export function url(p) {
  return new URL(p, BASE_URL).href;
}

/**
 * A fresh browser context (own cookies, own JS setting) with one page whose problems are
 * recorded. `options.javaScriptEnabled` defaults to true; `options.expectStatus` maps a path
 * (as passed to `goto`) to the HTTP status a test expects for it, e.g. `{ '/regions/CN-XX': 404 }`.
 * Returns `{ context, page, problems, goto, assertClean, close }`.
 */
export async function openPage(browser, options = {}) {
  const { javaScriptEnabled = true, expectStatus = {} } = options;
  const context = await browser.newContext({
    javaScriptEnabled,
    viewport: { width: 1280, height: 900 },
    // Headless Chromium defaults to en-US; pin it so nothing depends on the machine.
    locale: 'en-US',
  });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(15_000);
  const page = await context.newPage();
  const expected = new Map(Object.entries(expectStatus).map(([p, s]) => [url(p), s]));
  const problems = [];

  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location()?.url ?? '';
    // Chromium reports every 4xx response as a console error too; an expected status is
    // not a problem, and an unexpected one is already recorded by the response handler.
    if (/^Failed to load resource: the server responded with a status of \d+/.test(msg.text())) {
      if (expected.has(where)) return;
    }
    problems.push(`console error: ${msg.text()} (${where})`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    problems.push(`request failed: ${req.method()} ${req.url()} (${req.failure()?.errorText})`);
  });
  page.on('response', (res) => {
    const want = expected.get(res.url());
    if (want !== undefined) {
      if (res.status() !== want) {
        problems.push(`status ${res.status()} (expected ${want}): ${res.url()}`);
      }
    } else if (res.status() >= 400) {
      problems.push(`status ${res.status()}: ${res.request().method()} ${res.url()}`);
    }
  });

  /** Navigate and wait until every subresource has loaded. */
  async function goto(p) {
    const res = await page.goto(url(p), { waitUntil: 'load' });
    assert.ok(res, `no response for ${p}`);
    return res;
  }

  /** Fails the test with every recorded problem, if any. */
  function assertClean(label = page.url()) {
    assert.deepEqual(problems, [], `problems on ${label}:\n  ${problems.join('\n  ')}`);
  }

  async function close() {
    await context.close();
  }

  return { context, page, problems, goto, assertClean, close };
}

/** Full-page screenshot to $NQP_SCREENSHOTS/<name>.png; returns the file's path. */
export async function screenshot(page, name) {
  const file = path.join(SHOTS_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** The query parameters of the page's current URL. */
export function params(page) {
  return new URL(page.url()).searchParams;
}

/**
 * Numbers of one column of `table#rankings`, in row order, read from the cells' `data-sort`
 * attribute (the unformatted value the server renders for sorting).
 */
export async function rankingColumn(page, key) {
  return page.evaluate((key) => {
    const table = document.querySelector('table#rankings');
    const ths = Array.from(table.tHead.rows[0].cells);
    const index = ths.findIndex((th) => th.querySelector(`a[data-sort-key="${key}"]`));
    if (index < 0) throw new Error(`no column with data-sort-key=${key}`);
    return Array.from(table.tBodies[0].rows, (row) => {
      const cell = row.cells[index];
      const raw = cell.getAttribute('data-sort') ?? cell.textContent.trim();
      return raw === '' ? null : Number(raw);
    });
  }, key);
}

/** Region codes of the ranking table's rows, in order. */
export function rankingRegions(page) {
  return page.locator('table#rankings tbody tr[data-region]').evaluateAll((rows) =>
    rows.map((r) => r.getAttribute('data-region')),
  );
}

/** The `aria-sort` of every sortable header of `table#rankings`, keyed by data-sort-key. */
export function ariaSorts(page) {
  return page.evaluate(() =>
    Object.fromEntries(
      Array.from(document.querySelectorAll('table#rankings thead th'), (th) => [
        th.querySelector('a[data-sort-key]')?.getAttribute('data-sort-key'),
        th.getAttribute('aria-sort'),
      ]),
    ),
  );
}

/** Asserts `values` (no nulls allowed) are ordered ascending or descending. */
export function assertOrdered(values, direction, label) {
  assert.ok(values.length > 1, `${label}: too few values (${values.length})`);
  assert.ok(
    values.every((v) => typeof v === 'number' && Number.isFinite(v)),
    `${label}: missing values in ${JSON.stringify(values)}`,
  );
  for (let i = 1; i < values.length; i += 1) {
    const ok = direction === 'asc' ? values[i - 1] <= values[i] : values[i - 1] >= values[i];
    assert.ok(ok, `${label}: not ${direction} at row ${i}: ${values[i - 1]} then ${values[i]}`);
  }
}
