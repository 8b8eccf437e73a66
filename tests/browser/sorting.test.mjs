// Sorting the rankings table by a column header: with JavaScript the rows are re-ordered in
// place (no navigation) and aria-sort follows; without JavaScript the same link loads the
// server-sorted permalink.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ariaSorts,
  assertOrdered,
  launch,
  openPage,
  params,
  rankingColumn,
  rankingRegions,
  screenshot,
} from './helpers.mjs';

const HEADER = 'table#rankings thead th a[data-sort-key="laborers"]';

describe('sorting the rankings table', () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('with JavaScript: two clicks sort laborers descending, then ascending, in place', async () => {
    const { page, goto, assertClean, close } = await openPage(browser);
    try {
      await goto('/?lang=en&year=2018');
      const before = await rankingColumn(page, 'laborers');
      assert.equal(before.length, 31, 'one row per province');
      const regionsBefore = await rankingRegions(page);
      // The default order is by rank, and laborers is not in that order: otherwise the
      // test below could not tell a sort from no sort.
      assert.equal((await ariaSorts(page)).rank, 'ascending');
      assert.throws(() => assertOrdered(before, 'desc', 'default order'));
      const urlBefore = page.url();
      // Count navigations: a JS sort must not reload the page.
      let navigations = 0;
      page.on('framenavigated', (frame) => {
        if (frame === page.mainFrame()) navigations += 1;
      });

      await page.locator(HEADER).click();
      await page.waitForFunction(
        (sel) => document.querySelector(sel).closest('th').getAttribute('aria-sort') === 'descending',
        HEADER,
      );
      const desc = await rankingColumn(page, 'laborers');
      assertOrdered(desc, 'desc', 'laborers after one click');
      assert.deepEqual([...desc].sort((a, b) => a - b), [...before].sort((a, b) => a - b), 'same rows');
      const sorts = await ariaSorts(page);
      assert.equal(sorts.laborers, 'descending');
      assert.equal(sorts.rank, null, 'aria-sort removed from the previously sorted column');
      await screenshot(page, 'sort-js-laborers-desc');

      await page.locator(HEADER).click();
      await page.waitForFunction(
        (sel) => document.querySelector(sel).closest('th').getAttribute('aria-sort') === 'ascending',
        HEADER,
      );
      const asc = await rankingColumn(page, 'laborers');
      assertOrdered(asc, 'asc', 'laborers after two clicks');
      assert.deepEqual(asc, [...desc].reverse());
      const regionsAsc = await rankingRegions(page);
      assert.deepEqual([...regionsAsc].sort(), [...regionsBefore].sort(), 'rows kept');
      // Every row moved with its cells: the row with the lowest laborers score is the same
      // province in the server's data as in the re-sorted table.
      const lowest = regionsAsc[0];
      assert.equal(asc[0], before[regionsBefore.indexOf(lowest)]);

      assert.equal(page.url(), urlBefore, 'the URL did not change');
      assert.equal(navigations, 0, 'no navigation');
      await screenshot(page, 'sort-js-laborers-asc');
      assertClean();
    } finally {
      await close();
    }
  });

  test('without JavaScript: the header link loads the server-sorted page', async () => {
    const { page, goto, assertClean, close } = await openPage(browser, { javaScriptEnabled: false });
    try {
      await goto('/?lang=zh&year=2018');
      const before = await rankingColumn(page, 'laborers');
      assert.throws(() => assertOrdered(before, 'desc', 'default order'));

      await Promise.all([page.waitForURL(/sort=laborers/), page.locator(HEADER).click()]);
      await page.waitForLoadState('load');
      let q = params(page);
      assert.equal(q.get('sort'), 'laborers');
      assert.equal(q.get('dir'), 'desc', 'a score column sorts high-to-low first');
      assert.equal(q.get('year'), '2018', 'the year is kept');
      assert.equal(q.get('lang'), 'zh', 'the language is kept');
      const desc = await rankingColumn(page, 'laborers');
      assertOrdered(desc, 'desc', 'server-sorted laborers');
      assert.deepEqual([...desc].sort((a, b) => a - b), [...before].sort((a, b) => a - b));
      assert.equal((await ariaSorts(page)).laborers, 'descending');
      assert.equal((await ariaSorts(page)).rank, null);
      await screenshot(page, 'sort-nojs-laborers-desc');

      await Promise.all([page.waitForURL(/dir=asc/), page.locator(HEADER).click()]);
      await page.waitForLoadState('load');
      q = params(page);
      assert.equal(q.get('sort'), 'laborers');
      assert.equal(q.get('dir'), 'asc');
      const asc = await rankingColumn(page, 'laborers');
      assertOrdered(asc, 'asc', 'server-sorted laborers, second click');
      assert.equal((await ariaSorts(page)).laborers, 'ascending');
      assertClean();
    } finally {
      await close();
    }
  });

  test('the JS sort and the server sort agree on the order of regions', async () => {
    const js = await openPage(browser);
    const server = await openPage(browser, { javaScriptEnabled: false });
    try {
      await js.goto('/?lang=en&year=2018');
      await js.page.locator(HEADER).click();
      await js.page.waitForFunction(
        (sel) => document.querySelector(sel).closest('th').getAttribute('aria-sort') === 'descending',
        HEADER,
      );
      await server.goto('/?lang=en&year=2018&sort=laborers&dir=desc');
      // Ties could legitimately differ in order; compare values, and regions where unique.
      const jsValues = await rankingColumn(js.page, 'laborers');
      const serverValues = await rankingColumn(server.page, 'laborers');
      assert.deepEqual(jsValues, serverValues);
      if (new Set(jsValues).size === jsValues.length) {
        assert.deepEqual(await rankingRegions(js.page), await rankingRegions(server.page));
      }
      js.assertClean();
      server.assertClean();
    } finally {
      await js.close();
      await server.close();
    }
  });
});
