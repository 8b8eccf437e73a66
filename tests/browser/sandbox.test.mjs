// The weight sandbox with and without JavaScript, and the change waterfall of the region page.
// Without JS the weights form is a plain GET and the URL is the permalink; with JS the sliders
// refresh the table from /api/v1/sandbox in place and keep the address bar and the downloads
// on the current weights.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HTML_LANG, LANGS, launch, openPage, params, screenshot, url } from './helpers.mjs';

/** The table as [region, rank, shift] rows. */
async function tableRows(page) {
  return page.locator('#sandbox-table tbody tr').evaluateAll((rows) =>
    rows.map((r) => [
      r.getAttribute('data-region'),
      r.cells[0].textContent.trim(),
      r.cells[4].textContent.trim(),
    ]),
  );
}

describe('weight sandbox', () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  for (const lang of LANGS) {
    test(`(${lang}) without JavaScript the form recomputes and the URL is the permalink`, async () => {
      const { page, goto, assertClean, close } = await openPage(browser, { javaScriptEnabled: false });
      try {
        await goto(`/sandbox?lang=${lang}`);
        assert.equal(await page.locator('html').getAttribute('lang'), HTML_LANG[lang]);
        assert.equal(await page.locator('.weight-slider').count(), 0, 'no sliders without JS');
        assert.equal(await page.locator('#sandbox-table tbody tr').count(), 31);
        // The nominal weights: nobody moves.
        for (const [, , shift] of await tableRows(page)) assert.equal(shift, '0');
        const first = page.locator('input[name^="w."]').first();
        const firstName = await first.getAttribute('name');
        await first.fill('0');
        await page.locator('input[name="d.tools"]').fill('3');
        await Promise.all([
          page.waitForURL(/d\.tools=3/),
          page.locator('#sandbox-form button[type="submit"]').click(),
        ]);
        await page.waitForLoadState('load');
        const q = params(page);
        assert.equal(q.get('d.tools'), '3');
        assert.equal(q.get(firstName), '0');
        assert.equal(q.get('lang'), lang);
        assert.equal(await page.locator('input[name="d.tools"]').inputValue(), '3');
        assert.equal(await page.locator(`input[name="${firstName}"]`).inputValue(), '0');
        const rows = await tableRows(page);
        assert.equal(rows.length, 31);
        assert.ok(rows.some(([, , s]) => s !== '0'), 'tripling a dimension moves some region');
        // The page's table is the API's view of the same URL.
        const api = await (await fetch(url(`/api/v1/sandbox?${q.toString()}`))).json();
        assert.deepEqual(rows.map((r) => r[0]), api.rows.map((r) => r.region));
        await screenshot(page, `sandbox-nojs-${lang}`);
        await assertClean();
      } finally {
        await close();
      }
    });

    test(`(${lang}) with JavaScript the sliders update the table in place`, async () => {
      const { page, problems, goto, assertClean, close } = await openPage(browser);
      try {
        await goto(`/sandbox?lang=${lang}`);
        const inputs = await page.locator('input[data-weight]').count();
        assert.equal(await page.locator('.weight-slider').count(), inputs);
        const before = await page.locator('output[data-effective="d.objects"]').textContent();
        const mapBefore = await page.locator('#sandbox-map svg').innerHTML();
        await page.locator('input[name="d.objects"]').fill('5');
        await page.waitForURL(/d\.objects=5/);
        await page.waitForFunction(
          (old) => document.querySelector('output[data-effective="d.objects"]').textContent !== old,
          before,
        );
        const q = params(page);
        const api = await (await fetch(url(`/api/v1/sandbox?${q.toString()}`))).json();
        await page.waitForFunction(
          (first) => document.querySelector('#sandbox-table tbody tr').getAttribute('data-region') === first,
          api.rows[0].region,
        );
        const rows = await tableRows(page);
        assert.deepEqual(rows.map((r) => r[0]), api.rows.map((r) => r.region));
        assert.deepEqual(rows.map((r) => r[1]), api.rows.map((r) => String(r.rank)));
        const shown = await page.locator('output[data-effective="d.objects"]').textContent();
        assert.equal(shown, (100 * api.dimensions[2].effective).toFixed(1));
        // The server-drawn map is swapped for the one of the new weights (its tooltips carry
        // the scores, which changed).
        await page.waitForFunction(
          (old) => document.querySelector('#sandbox-map svg').innerHTML !== old,
          mapBefore,
        );
                const csv = await page.locator('#view-downloads a[data-format="csv"]').first().getAttribute('href');
        assert.match(csv, /d\.objects=5/, 'the downloads follow the weights');
        await screenshot(page, `sandbox-js-${lang}`);
        assertClean();
        // A bad weight shows the server's message, in the page's language, and keeps the table.
        await page.locator('input[name="d.objects"]').fill('-1');
        await page.waitForFunction(() => document.getElementById('sandbox-status').textContent.length > 1);
        const status = await page.locator('#sandbox-status').textContent();
        assert.match(status, lang === 'zh' ? /不是大于或等于 0 的有限数/ : /not a finite number/);
        assert.equal(await page.locator('#sandbox-table tbody tr').count(), 31);
        // The only problems are the refused request itself (a 400 Chromium also logs).
        assert.ok(problems.length > 0);
        for (const p of problems) assert.match(p, /400/, p);
      } finally {
        await close();
      }
    });
  }
});

describe('change waterfall on the region page', () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  for (const lang of LANGS) {
    test(`(${lang}) choosing two years without JavaScript`, async () => {
      const { page, goto, assertClean, close } = await openPage(browser, { javaScriptEnabled: false });
      try {
        await goto(`/regions/CN-GD?lang=${lang}`);
        assert.equal(await page.locator('#change svg.nqp-waterfall').count(), 2);
        assert.match(await page.locator('#change-title').textContent(), /2013 → 2019/);
        assert.equal(await page.locator('#change-exactness').getAttribute('data-exact'), 'true');
        assert.equal(await page.locator('#change-dimensions tbody tr').count(), 3);
        await page.locator('#change-from').selectOption('2016');
        await page.locator('#change-to').selectOption('2018');
        await Promise.all([
          page.waitForURL(/from=2016/),
          page.locator('#change form button[type="submit"]').click(),
        ]);
        await page.waitForLoadState('load');
        const q = params(page);
        assert.equal(q.get('to'), '2018');
        assert.equal(q.get('lang'), lang);
        assert.match(await page.locator('#change-title').textContent(), /2016 → 2018/);
        // Each chart has a title and a description for assistive technology.
        for (const svg of await page.locator('#change svg.nqp-waterfall').all()) {
          assert.ok(await svg.getAttribute('aria-labelledby'));
          assert.ok(await svg.getAttribute('aria-describedby'));
        }
        const links = page.locator('#change-downloads a');
        assert.equal(await links.count(), 4);
        const href = await links.first().getAttribute('href');
        const res = await fetch(url(href));
        assert.equal(res.status, 200);
        assert.match(await res.text(), /^id,name,dimension,contribution/);
        await screenshot(page, `region-change-${lang}`);
        await assertClean();
      } finally {
        await close();
      }
    });
  }
});
