// /publish without JavaScript: the GET form chooses the year (the captions follow), the Cite
// box in the footer names nqp, the dataset version and the data publishers, and the download
// links return the DOCX tables (a Word package) and the replication pack.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { launch, openPage, screenshot, url } from './helpers.mjs';

describe('publish', () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('the form, the Cite box and the DOCX download work without JavaScript', async () => {
    const { page, context, goto, assertClean, close } = await openPage(browser, {
      javaScriptEnabled: false,
    });
    try {
      await goto('/publish?lang=zh');
      assert.match(await page.locator('h1').innerText(), /发表/);

      // The GET form: choose 2017 and submit; the page and its links follow.
      await page.locator('select[name="year"]').selectOption('2017');
      await Promise.all([page.waitForURL(/year=2017/), page.locator('form.controls button[type="submit"]').click()]);
      const captions = await page.locator('#publish-captions li').allInnerTexts();
      assert.equal(captions.length, 7, captions.join('\n'));
      assert.ok(captions.some((c) => c.includes('2017年各地区综合得分与分维度得分')), captions.join('\n'));

      // The Cite box: a closed <details> in the footer that opens without script.
      const cite = page.locator('footer details.cite');
      assert.equal(await cite.count(), 1);
      await cite.locator('summary').click();
      const gbt = await cite.locator('.cite-gbt').innerText();
      assert.match(gbt, /\[CP\/OL\]/);
      assert.match(gbt, /sha256:[0-9a-f]{64}/);
      assert.match(await cite.locator('.cite-bibtex').innerText(), /@software\{nqp/);
      assert.ok((await cite.locator('.cite-publishers li').count()) > 0, 'publishers listed');
      assert.match(await cite.locator('.cite-publishers').innerText(), /国家统计局/);

      // The DOCX link downloads a Word package with the chosen year.
      const link = page.locator('#publish-downloads a[data-format="docx"]');
      assert.match(await link.getAttribute('href'), /year=2017/);
      const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
      assert.match(download.suggestedFilename(), /^cn-provinces-[0-9a-f]{12}-.*-tables\.docx$/);
      const bytes = await readFile(await download.path());
      assert.equal(bytes.subarray(0, 2).toString('latin1'), 'PK', 'a zip package');
      assert.ok(bytes.includes(Buffer.from('word/document.xml')), 'with word/document.xml');

      // The replication pack answers as a zip.
      const pack = await page.locator('#publish-downloads a[data-format="zip"]').getAttribute('href');
      const res = await context.request.get(url(pack));
      assert.equal(res.status(), 200);
      assert.equal(res.headers()['content-type'], 'application/zip');
      assert.equal((await res.body()).subarray(0, 2).toString('latin1'), 'PK');

      await screenshot(page, 'publish-zh');
      assertClean();
    } finally {
      await close();
    }
  });

  test('every page carries the Cite box, in English too', async () => {
    const { page, goto, assertClean, close } = await openPage(browser);
    try {
      for (const p of ['/?lang=en', '/methodology?lang=en', '/publish?lang=en']) {
        await goto(p);
        const cite = page.locator('footer details.cite');
        assert.equal(await cite.count(), 1, p);
        assert.equal((await cite.locator('summary').innerText()).trim(), 'Cite', p);
      }
      const bib = await page.locator('footer details.cite a[download]').getAttribute('href');
      assert.match(bib, /^\/publish\/cite\.bib\?/);
      assertClean();
    } finally {
      await close();
    }
  });
});
