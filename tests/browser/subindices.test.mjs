// The paper's second view in the browser: without JavaScript, the rankings form switches the
// measure to the micro mechanism level and then to the intelligence-and-digital sub-index, and
// the table follows each choice (ranked by it, its values in the value column, the overall
// score beside it); a region page shows the level radar and the sub-index beside the score.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LANGS, launch, openPage, params, rankingColumn, rankingRegions, screenshot } from './helpers.mjs';

const LABELS = {
  'level/micro': { zh: '微观（企业）', en: 'Micro (firms)' },
  'subindex/ai_digital': { zh: '智能与数字分指数', en: 'Intelligence & digital sub-index' },
};

describe('mechanism levels and the intelligence-and-digital sub-index', () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  for (const lang of LANGS) {
    test(`(${lang}) the rankings form switches to the micro level, then to the AI-digital sub-index, without JS`, async () => {
      const { page, goto, assertClean, close } = await openPage(browser, { javaScriptEnabled: false });
      try {
        await goto(`/?lang=${lang}&year=2018`);
        const byScore = await rankingRegions(page);
        let previous = byScore;
        for (const key of ['level/micro', 'subindex/ai_digital']) {
          await page.locator('#measure-select').selectOption(key);
          await Promise.all([
            page.waitForURL((u) => new URL(u).searchParams.get('measure') === key),
            page.locator('form.controls button[type="submit"]').click(),
          ]);
          await page.waitForLoadState('load');
          assert.equal(params(page).get('measure'), key);
          assert.equal(params(page).get('year'), '2018');
          assert.equal(await page.locator('#measure-select').inputValue(), key);
          const heading = await page.locator('#table-title').innerText();
          assert.ok(heading.includes(LABELS[key][lang]), `${key}: ${heading}`);

          // The table changed: ranked by the measure, which has its own value column that
          // equals the measure's column, with the overall score beside it.
          const regions = await rankingRegions(page);
          assert.equal(regions.length, 31);
          assert.notDeepEqual(regions, previous, `${key}: the order changed`);
          previous = regions;
          const value = await rankingColumn(page, 'value');
          const own = await rankingColumn(page, key);
          const score = await rankingColumn(page, 'score');
          assert.deepEqual(value, own, `${key}: value column = its own column`);
          for (let i = 1; i < value.length; i++) {
            assert.ok(value[i - 1] >= value[i], `${key}: descending at row ${i}`);
          }
          assert.equal((await rankingColumn(page, 'rank'))[0], 1);
          assert.ok(score.every((s) => s !== null), 'every row shows its overall score');
          assert.notDeepEqual(score, value, `${key} is not the overall score`);
          // The map colours the same measure: its title names it.
          const mapTitle = await page.locator('figure.map svg > title').textContent();
          assert.ok(mapTitle.includes(LABELS[key][lang]), `map: ${mapTitle}`);
          await screenshot(page, `subindex-${key.replace('/', '-')}-${lang}`);
        }
        assertClean();
      } finally {
        await close();
      }
    });

    test(`(${lang}) a region page shows the levels radar and the AI-digital sub-index beside the score`, async () => {
      const { page, goto, assertClean, close } = await openPage(browser);
      try {
        await goto(`/regions/CN-ZJ?lang=${lang}`);
        const radar = page.locator('#subindex-view figure.radar svg');
        assert.equal(await radar.count(), 1);
        assert.ok(await radar.isVisible());
        const axes = await radar.locator('text').allTextContents();
        for (const level of lang === 'zh' ? ['微观（企业）', '中观（产业）', '宏观（治理）'] : ['Micro', 'Meso', 'Macro']) {
          assert.ok(axes.some((t) => t.includes(level)), `${level} axis in ${axes}`);
        }
        assert.equal(await page.locator('table#levels tbody tr').count(), 3);
        const ai = Number(await page.locator('#ai-digital-score').innerText());
        assert.ok(ai > 0 && ai <= 100, `AI-digital sub-index ${ai}`);
        // The sub-index card sits next to the overall score card.
        const cards = await page.locator('.cards .card .big').evaluateAll((els) => els.map((e) => e.id));
        assert.equal(cards.indexOf('ai-digital-score'), cards.indexOf('overall-score') + 1);
        await screenshot(page, `subindex-region-${lang}`);
        assertClean();
      } finally {
        await close();
      }
    });
  }
});
