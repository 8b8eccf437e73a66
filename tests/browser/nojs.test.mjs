// The rankings page works without JavaScript: the year/measure form submits as a plain GET
// and the server renders the chosen state into the URL, the title and the captions.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HTML_LANG, LANGS, launch, openPage, params, rankingColumn, screenshot } from './helpers.mjs';

const OBJECTS = { zh: '劳动对象', en: 'Objects of labor' };

describe('rankings without JavaScript', () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  for (const lang of LANGS) {
    test(`(${lang}) choosing year 2018 and measure "objects" in the form`, async () => {
      const { page, goto, assertClean, close } = await openPage(browser, { javaScriptEnabled: false });
      try {
        await goto(`/?lang=${lang}`);
        await page.locator('#year-select').selectOption('2018');
        await page.locator('#measure-select').selectOption('objects');
        await Promise.all([
          page.waitForURL(/measure=objects/),
          page.locator('form.controls button[type="submit"]').click(),
        ]);
        await page.waitForLoadState('load');

        const q = params(page);
        assert.equal(q.get('year'), '2018');
        assert.equal(q.get('measure'), 'objects');
        assert.equal(q.get('lang'), lang, 'the hidden lang field is submitted');
        assert.equal(await page.locator('html').getAttribute('lang'), HTML_LANG[lang]);

        // The chosen state is rendered back: selects, title, captions and table heading.
        assert.equal(await page.locator('#year-select').inputValue(), '2018');
        assert.equal(await page.locator('#measure-select').inputValue(), 'objects');
        const title = await page.title();
        assert.ok(title.includes('2018') && title.includes(OBJECTS[lang]), `title: ${title}`);
        for (const sel of ['#table-title', '#map-caption', '#bars-caption']) {
          const text = await page.locator(sel).innerText();
          assert.ok(text.includes('2018') && text.includes(OBJECTS[lang]), `${sel}: ${text}`);
        }
        assert.match(await page.locator('figure.map svg > title').textContent(), /2018/);

        // The table is ranked by the objects score: rank 1 has the highest objects value.
        const ranks = await rankingColumn(page, 'rank');
        const objects = await rankingColumn(page, 'objects');
        assert.equal(ranks.length, 31);
        assert.equal(ranks[0], 1);
        assert.equal(objects[0], Math.max(...objects.filter((v) => v !== null)));
        await screenshot(page, `nojs-form-2018-objects-${lang}`);
        assertClean();
      } finally {
        await close();
      }
    });
  }
});
