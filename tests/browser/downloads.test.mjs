// "Download this view": clicking the rankings page's CSV link downloads the table the page
// shows — the same regions in the same order, with the same ranks and scores.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { launch, openPage, rankingColumn, rankingRegions } from './helpers.mjs';

/** RFC 4180 CSV (quoted fields may hold commas, quotes and newlines) as rows of cells. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (c === '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else if (c !== '\r') {
      cell += c;
    }
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

describe('download this view', () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('the rankings CSV holds the rows of the table on the page', async () => {
    const { page, goto, assertClean, close } = await openPage(browser);
    try {
      await goto('/?lang=en&year=2018');
      const regions = await rankingRegions(page);
      const ranks = await rankingColumn(page, 'rank');
      const scores = await rankingColumn(page, 'score');
      assert.equal(regions.length, 31, 'one row per province');

      const link = page.locator('#view-downloads a[data-format="csv"]').first();
      const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
      const name = download.suggestedFilename();
      assert.match(name, /^cn-provinces-[0-9a-f]{12}-minmax-panel_entropy-panel_sum-rankings-2018-score\.csv$/);
      const [header, ...rows] = parseCsv(await readFile(await download.path(), 'utf8'));
      const col = (key) => {
        const i = header.indexOf(key);
        assert.ok(i >= 0, `the CSV has a ${key} column: ${header}`);
        return rows.map((r) => r[i]);
      };
      assert.deepEqual(col('code'), regions, 'the same regions in the same order');
      assert.deepEqual(col('rank').map(Number), ranks, 'the same ranks');
      assert.deepEqual(
        col('score').map((s) => Number(s).toFixed(2)),
        scores.map((s) => s.toFixed(2)),
        'the same scores, as the page rounds them',
      );
      assertClean();
    } finally {
      await close();
    }
  });
});
