// Getting around: the keyboard order of the header, keyboard access to the map, clicking a
// province on the map to reach its profile, and the language switch keeping the state.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HTML_LANG, LANGS, launch, openPage, params, screenshot, url } from './helpers.mjs';

const GUANGDONG = { zh: '广东', en: 'Guangdong' };

describe('navigation', () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  /** A short description of the focused element: "tag.class text". */
  function focused(page) {
    return page.evaluate(() => {
      const el = document.activeElement;
      return {
        tag: el.tagName.toLowerCase(),
        cls: el.getAttribute('class') ?? '',
        href: el.getAttribute('href') ?? '',
        inNav: Boolean(el.closest('header nav')),
        text: el.textContent.trim(),
      };
    });
  }

  for (const lang of LANGS) {
    test(`keyboard (${lang}): Tab reaches the skip link, then the header, then the navigation`, async () => {
      const { page, goto, assertClean, close } = await openPage(browser);
      try {
        await goto(`/?lang=${lang}`);
        await page.keyboard.press('Tab');
        const first = await focused(page);
        assert.equal(first.cls, 'skip', `first Tab lands on ${JSON.stringify(first)}`);
        assert.equal(first.href, '#main');
        // A visually hidden skip link must become visible when focused.
        const box = await page.locator('a.skip').boundingBox();
        assert.ok(box && box.width > 1 && box.height > 1, `focused skip link is visible: ${JSON.stringify(box)}`);
        assert.ok(box.y >= 0 && box.x >= 0, `focused skip link is on screen: ${JSON.stringify(box)}`);
        await screenshot(page, `keyboard-skip-link-${lang}`);

        await page.keyboard.press('Tab');
        const second = await focused(page);
        assert.equal(second.cls, 'brand', `second Tab lands on ${JSON.stringify(second)}`);
        await page.keyboard.press('Tab');
        const third = await focused(page);
        assert.ok(third.inNav, `third Tab is in the navigation: ${JSON.stringify(third)}`);
        assert.equal(new URL(third.href, url('/')).pathname, '/');

        // Enter on the skip link moves focus to <main>.
        await page.keyboard.press('Shift+Tab');
        await page.keyboard.press('Shift+Tab');
        assert.equal((await focused(page)).cls, 'skip');
        await page.keyboard.press('Enter');
        await page.waitForFunction(() => document.activeElement?.id === 'main');
        assert.equal(new URL(page.url()).hash, '#main');
        assertClean();
      } finally {
        await close();
      }
    });

    test(`keyboard (${lang}): a map province is focusable and Enter opens its profile`, async () => {
      const { page, goto, assertClean, close } = await openPage(browser);
      try {
        await goto(`/?lang=${lang}`);
        const link = page.locator('figure.map svg a[data-code="CN-GD"]');
        assert.equal(await link.count(), 1);
        await link.focus();
        assert.equal(
          await page.evaluate(() => document.activeElement?.getAttribute('data-code')),
          'CN-GD',
          'the province link has focus',
        );
        await screenshot(page, `keyboard-map-focus-${lang}`);
        await Promise.all([page.waitForURL(/\/regions\/CN-GD/), page.keyboard.press('Enter')]);
        await page.waitForLoadState('load');
        assert.equal(new URL(page.url()).pathname, '/regions/CN-GD');
        assert.equal(params(page).get('lang'), lang);
        assert.match(await page.locator('h1').innerText(), new RegExp(GUANGDONG[lang]));
        assertClean();
      } finally {
        await close();
      }
    });

    test(`map (${lang}): clicking Guangdong opens its profile`, async () => {
      const { page, goto, assertClean, close } = await openPage(browser);
      try {
        await goto(`/?lang=${lang}`);
        const province = page.locator('figure.map svg a[data-code="CN-GD"]');
        assert.match(await province.locator('title').textContent(), new RegExp(GUANGDONG[lang]));
        // Hover shows the province's <title> tooltip; the click must land on Guangdong itself
        // (Hong Kong and Macao are drawn on top of its coast).
        await Promise.all([
          page.waitForURL(/\/regions\/CN-GD/),
          province.locator('path').click(),
        ]);
        await page.waitForLoadState('load');
        assert.equal(new URL(page.url()).pathname, '/regions/CN-GD');
        assert.equal(await page.locator('html').getAttribute('lang'), HTML_LANG[lang]);
        assert.match(await page.locator('h1').innerText(), new RegExp(GUANGDONG[lang]));
        // The profile shows Guangdong's data, not an empty shell.
        assert.match(await page.locator('#overall-rank').innerText(), /\d/);
        await screenshot(page, `map-click-guangdong-${lang}`);
        assertClean();
      } finally {
        await close();
      }
    });
  }

  test('the language switch keeps year and measure', async () => {
    const { page, goto, assertClean, close } = await openPage(browser);
    try {
      await goto('/?year=2019&measure=tools&lang=zh');
      assert.equal(await page.locator('html').getAttribute('lang'), HTML_LANG.zh);
      const zhHeading = await page.locator('h1').innerText();
      assert.match(zhHeading, /[\u4e00-\u9fff]/, 'the zh page is in Chinese');

      const sw = page.locator('header a.lang-switch');
      assert.equal(await sw.getAttribute('hreflang'), 'en');
      await Promise.all([page.waitForURL(/lang=en/), sw.click()]);
      await page.waitForLoadState('load');

      const q = params(page);
      assert.equal(q.get('lang'), 'en');
      assert.equal(q.get('year'), '2019');
      assert.equal(q.get('measure'), 'tools');
      assert.equal(await page.locator('html').getAttribute('lang'), HTML_LANG.en);
      const enHeading = await page.locator('h1').innerText();
      assert.doesNotMatch(enHeading, /[\u4e00-\u9fff]/, `the en heading is English: ${enHeading}`);
      assert.notEqual(enHeading, zhHeading);
      // The controls still show the chosen state, now in English.
      assert.equal(await page.locator('#year-select').inputValue(), '2019');
      assert.equal(await page.locator('#measure-select').inputValue(), 'tools');
      assert.match(await page.locator('#table-title').innerText(), /2019/);
      assert.doesNotMatch(await page.locator('#table-title').innerText(), /[\u4e00-\u9fff]/);
      // Region names in the table are English too.
      assert.equal(
        await page.locator('table#rankings tbody tr[data-region="CN-GD"] th a').innerText(),
        'Guangdong',
      );
      await screenshot(page, 'language-switch-en');

      // And back: the switch on the English page returns to Chinese with the same state.
      await Promise.all([page.waitForURL(/lang=zh/), page.locator('header a.lang-switch').click()]);
      await page.waitForLoadState('load');
      assert.equal(params(page).get('year'), '2019');
      assert.equal(params(page).get('measure'), 'tools');
      assert.equal(await page.locator('h1').innerText(), zhHeading);
      assertClean();
    } finally {
      await close();
    }
  });
});
