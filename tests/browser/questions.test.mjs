// The three questions, answered by a reader in the browser, in both languages:
// which province ranked first in laborers in the latest year; how Guangdong's rank changed;
// which indicators hold Gansu back.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LANGS, launch, openPage, rankingColumn, rankingRegions, screenshot } from './helpers.mjs';

describe("the issue's three questions", () => {
  let browser;
  // Answers per language, compared across languages at the end.
  const answers = { zh: {}, en: {} };
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  for (const lang of LANGS) {
    test(`(${lang}) which province ranked first in laborers in the latest year`, async () => {
      const { page, goto, assertClean, close } = await openPage(browser);
      try {
        await goto(`/?measure=laborers&lang=${lang}`);
        // Without a year parameter the page shows the latest year of the dataset.
        const years = await page
          .locator('#year-select option')
          .evaluateAll((os) => os.map((o) => Number(o.value)));
        assert.deepEqual([...years].sort(), [2013, 2014, 2015, 2016, 2017, 2018, 2019]);
        assert.equal(await page.locator('#year-select').inputValue(), '2019');
        assert.equal(await page.locator('#measure-select').inputValue(), 'laborers');

        const ranks = await rankingColumn(page, 'rank');
        const laborers = await rankingColumn(page, 'laborers');
        const regions = await rankingRegions(page);
        assert.equal(regions.length, 31);
        assert.equal(ranks[0], 1, 'the first row is rank 1');
        assert.equal(laborers[0], Math.max(...laborers), 'rank 1 has the highest laborers score');
        assert.ok(laborers[0] > laborers[30], 'scores differ between first and last');
        const first = page.locator('table#rankings tbody tr[data-region]').first();
        const name = (await first.locator('th a').innerText()).trim();
        assert.notEqual(name, '');
        assert.match(await first.locator('td').first().innerText(), /^1$/);
        // The map agrees: the winner's tooltip names it with rank 1.
        const tip = await page.locator(`figure.map svg a[data-code="${regions[0]}"] > title`).textContent();
        assert.ok(tip.includes(name), `map tooltip ${tip} names ${name}`);
        assert.match(tip, /\b1\b/);
        answers[lang].first = regions[0];
        await screenshot(page, `q1-first-in-laborers-${lang}`);
        assertClean();
      } finally {
        await close();
      }
    });

    test(`(${lang}) how did Guangdong's rank change`, async () => {
      const { page, goto, assertClean, close } = await openPage(browser);
      try {
        await goto(`/regions/CN-GD?lang=${lang}`);
        assert.match(await page.locator('h1').innerText(), lang === 'zh' ? /广东/ : /Guangdong/);
        const rankText = await page.locator('#overall-rank').innerText();
        const m = rankText.match(/^(\d+)\s*\/\s*(\d+)$/);
        assert.ok(m, `rank card: ${rankText}`);
        const [rank, of] = [Number(m[1]), Number(m[2])];
        assert.equal(of, 31);
        assert.ok(rank >= 1 && rank <= 31);
        assert.match(await page.locator('#overall-score').innerText(), /^\d+\.\d\d$/);

        // The rank trend chart: one point per year, and the latest point is the card's rank.
        const chart = page.locator('figure[aria-labelledby="rank-caption"] svg');
        assert.equal(await chart.count(), 1, 'rank trend chart present');
        assert.ok((await chart.boundingBox()).height > 100, 'rank chart is drawn');
        const points = await chart.locator('title').evaluateAll((ts) =>
          ts
            .map((t) => t.textContent.match(/(20\d\d)\D+?(\d+)\s*$/))
            .filter(Boolean)
            .map((m) => [Number(m[1]), Number(m[2])]),
        );
        assert.deepEqual(
          points.map((p) => p[0]),
          [2013, 2014, 2015, 2016, 2017, 2018, 2019],
          `points: ${JSON.stringify(points)}`,
        );
        assert.equal(points.at(-1)[1], rank, 'the last point is the rank on the card');
        assert.ok(points.every(([, r]) => r >= 1 && r <= 31));
        answers[lang].gdRanks = points;
        await screenshot(page, `q2-guangdong-rank-${lang}`);
        assertClean();
      } finally {
        await close();
      }
    });

    test(`(${lang}) which indicators hold Gansu back`, async () => {
      const { page, goto, assertClean, close } = await openPage(browser);
      try {
        await goto(`/regions/CN-GS?lang=${lang}`);
        assert.match(await page.locator('h1').innerText(), lang === 'zh' ? /甘肃/ : /Gansu/);
        const items = page.locator('ol#weaknesses > li');
        assert.equal(await items.count(), 3);
        const weak = await items.evaluateAll((lis) =>
          lis.map((li) => ({
            href: li.querySelector('a')?.getAttribute('href') ?? '',
            name: li.querySelector('a')?.textContent.trim() ?? '',
            rank: Number(li.textContent.match(/(\d+)\s*\/\s*31/)?.[1]),
          })),
        );
        for (const w of weak) {
          assert.match(w.href, /^\/indicators\/[a-z0-9_]+\?/, `link: ${w.href}`);
          assert.notEqual(w.name, '');
          assert.ok(w.rank >= 1 && w.rank <= 31, `rank of ${w.name}`);
        }
        // Weaknesses are the worst ranks, listed worst first, and all in the bottom half.
        const ranks = weak.map((w) => w.rank);
        assert.deepEqual(ranks, [...ranks].sort((a, b) => b - a), `ordered worst first: ${ranks}`);
        assert.ok(ranks.every((r) => r > 15), `weaknesses are in the bottom half: ${ranks}`);
        assert.equal(await page.locator('ol#strengths > li').count(), 3);
        // Each weakness is a row of the indicator table with the same rank.
        for (const w of weak) {
          const row = page.locator('table#indicators tbody tr', {
            has: page.locator(`th a[href="${w.href}"]`),
          });
          assert.equal(await row.count(), 1, `indicator row for ${w.href}`);
          assert.match(await row.locator('td').nth(4).innerText(), new RegExp(`^${w.rank}\\b`));
        }
        answers[lang].gsWeak = weak.map((w) => w.href.replace(/\?.*/, ''));
        await screenshot(page, `q3-gansu-weaknesses-${lang}`);
        assertClean();
      } finally {
        await close();
      }
    });
  }

  test('both languages give the same answers', () => {
    assert.ok(answers.zh.first && answers.en.first, 'both first-place answers recorded');
    assert.equal(answers.zh.first, answers.en.first);
    assert.deepEqual(answers.zh.gdRanks, answers.en.gdRanks);
    assert.deepEqual(answers.zh.gsWeak, answers.en.gsWeak);
  });
});
