// Every page, in both languages, loads in Chromium without console errors or failed
// requests, has one <h1>, the right html[lang] and an accessible name on every inline SVG;
// every internal link found on those pages answers 200; an unknown region gets the 404 page.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HTML_LANG, LANGS, launch, openPage, screenshot, url } from './helpers.mjs';

const PAGES = [
  { name: 'rankings', path: '/' },
  { name: 'rankings-laborers', path: '/?measure=laborers' },
  { name: 'rankings-indicator', path: '/?measure=rd_intensity&year=2017' },
  { name: 'region-gd', path: '/regions/CN-GD' },
  { name: 'compare-empty', path: '/compare' },
  { name: 'compare', path: '/compare?r=CN-BJ,CN-SH' },
  { name: 'indicator', path: '/indicators/rd_intensity' },
  { name: 'methodology', path: '/methodology' },
  { name: 'publish', path: '/publish' },
  { name: 'analysis-disparities', path: '/analysis/disparities' },
  { name: 'analysis-dynamics', path: '/analysis/dynamics?measure=tools' },
  { name: 'analysis-spatial', path: '/analysis/spatial?year=2019' },
];

function withLang(p, lang) {
  return `${p}${p.includes('?') ? '&' : '?'}lang=${lang}`;
}

describe('every page', () => {
  let browser;
  // Internal links seen on the pages, checked once at the end.
  const links = new Set();
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  for (const lang of LANGS) {
    for (const { name, path } of PAGES) {
      const p = withLang(path, lang);
      test(`${p} loads cleanly`, async () => {
        const { page, goto, assertClean, close } = await openPage(browser);
        try {
          const res = await goto(p);
          assert.equal(res.status(), 200, `status of ${p}`);
          assert.equal(await page.locator('html').getAttribute('lang'), HTML_LANG[lang]);
          assert.equal(await page.locator('h1').count(), 1, 'exactly one <h1>');
          assert.notEqual((await page.locator('h1').innerText()).trim(), '', '<h1> has text');
          assert.match(await page.title(), /\S/, 'document has a <title>');

          // Every inline SVG has an accessible name: a non-empty <title> child.
          const svgs = await page.locator('svg').evaluateAll((all) =>
            all.map((svg) => ({
              id: svg.id || svg.getAttribute('aria-labelledby') || svg.outerHTML.slice(0, 80),
              title: svg.querySelector(':scope > title')?.textContent.trim() ?? '',
            })),
          );
          for (const svg of svgs) {
            assert.notEqual(svg.title, '', `svg without <title>: ${svg.id}`);
          }

          // The language switch points to the other language.
          const other = lang === 'zh' ? 'en' : 'zh';
          const switchHref = await page.locator('a.lang-switch').getAttribute('href');
          assert.equal(new URL(switchHref, url('/')).searchParams.get('lang'), other);

          for (const href of await page
            .locator('a[href]')
            .evaluateAll((as) =>
              as.map((a) => new URL(a.getAttribute('href'), document.baseURI).href),
            )) {
            const u = new URL(href);
            // PNG figures are rendered per request (seconds each on a debug build);
            // figures.test.mjs downloads them. Their SVG twins stay in the walk.
            if (u.searchParams.get('format') === 'png' && u.searchParams.has('figure')) continue;
            if (u.origin === new URL(url('/')).origin) {
              u.hash = '';
              links.add(u.href);
            }
          }
          await screenshot(page, `${name}-${lang}`);
          assertClean(p);
        } finally {
          await close();
        }
      });
    }
  }

  test('every internal link on those pages answers 200', async () => {
    assert.ok(links.size > 50, `only ${links.size} links collected`);
    const { context, close } = await openPage(browser);
    try {
      const broken = [];
      for (const href of links) {
        const res = await context.request.get(href, { maxRedirects: 0 });
        if (res.status() !== 200) broken.push(`${res.status()} ${href}`);
      }
      assert.deepEqual(broken, []);
    } finally {
      await close();
    }
  });

  for (const lang of LANGS) {
    test(`an unknown region gets the ${lang} 404 page`, async () => {
      const p = `/regions/CN-XX?lang=${lang}`;
      const { page, goto, assertClean, close } = await openPage(browser, {
        expectStatus: { [p]: 404 },
      });
      try {
        const res = await goto(p);
        assert.equal(res.status(), 404);
        assert.equal(await page.locator('html').getAttribute('lang'), HTML_LANG[lang]);
        assert.match(await page.locator('h1').innerText(), /404/);
        assert.match(await page.locator('main').innerText(), /CN-XX/);
        await screenshot(page, `not-found-${lang}`);
        assertClean(p);
      } finally {
        await close();
      }
    });
  }
});
