// The robustness page works without JavaScript: its options form submits as a plain GET, the
// chosen mode is rendered back, and the audit, rank intervals and comparison are drawn.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HTML_LANG, LANGS, launch, openPage, params, screenshot } from './helpers.mjs';

describe('robustness page without JavaScript', () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  for (const lang of LANGS) {
    test(`(${lang}) switching to exhaustive mode in the form`, async () => {
      const { page, goto, assertClean, close } = await openPage(browser, { javaScriptEnabled: false });
      try {
        await goto(`/analysis/robustness?lang=${lang}&draws=50`);
        await page.locator('select[name="mode"]').selectOption('exhaustive');
        await Promise.all([
          page.waitForURL(/mode=exhaustive/),
          page.locator('form.controls button[type="submit"]').click(),
        ]);
        await page.waitForLoadState('load');
        const q = params(page);
        assert.equal(q.get('mode'), 'exhaustive');
        assert.equal(q.get('lang'), lang, 'the hidden lang field is submitted');
        assert.equal(await page.locator('html').getAttribute('lang'), HTML_LANG[lang]);
        assert.equal(await page.locator('select[name="mode"]').inputValue(), 'exhaustive');
        // 19 audited indicators of the bundled framework, 31 rank intervals, 71 alternatives.
        assert.equal(await page.locator('#audit tbody tr').count(), 19);
        assert.ok((await page.locator('#audit tbody tr.flagged').count()) >= 1);
        assert.equal(await page.locator('svg.nqp-interval g.interval').count(), 31);
        assert.equal(await page.locator('#comparison tbody tr').count(), 71);
        assert.equal(await page.locator('#downloads a').count(), 20);
        await screenshot(page, `robustness-${lang}`);
        await assertClean();
      } finally {
        await close();
      }
    });
  }
});
