// Print output: the region brief prints as two A4 pages without the site chrome, and the figure
// links under a chart download a standalone SVG and a 300-dpi PNG with the Chinese text drawn
// (run.sh installs fonts-noto-cjk, so the PNG must render, not fail for want of glyphs).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { LANGS, launch, openPage, screenshot } from './helpers.mjs';

/** Pages of a PDF written by Chromium: its page objects (`/Type /Page`, not `/Pages`). */
function pdfPages(pdf) {
  return (pdf.toString('latin1').match(/\/Type\s*\/Page(?![a-z])/g) ?? []).length;
}

describe('print output', () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  for (const lang of LANGS) {
    test(`the region brief prints as two A4 pages (${lang})`, async () => {
      const { page, goto, assertClean, close } = await openPage(browser);
      try {
        await goto(`/regions/CN-GD/brief?lang=${lang}`);
        await page.emulateMedia({ media: 'print' });
        // The site chrome, the figure links and the downloads are not printed.
        for (const sel of ['header.site', 'footer.site', 'p.figure-downloads', '.view-downloads']) {
          const shown = await page.locator(sel).first().isVisible();
          assert.equal(shown, false, `${sel} is hidden in print`);
        }
        // Both pages' content is there: charts, history, diagnosis, sources.
        assert.equal(await page.locator('.brief-page').count(), 2);
        assert.ok((await page.locator('#brief-history tbody tr').count()) >= 2);
        assert.ok((await page.locator('#brief-sources li').count()) >= 1);
        assert.equal(await page.locator('.brief svg[role]').count(), 2);
        // Page 2 starts on a new sheet.
        const breakBefore = await page
          .locator('#brief-page-2')
          .evaluate((el) => getComputedStyle(el).breakBefore);
        assert.equal(breakBefore, 'page');
        const pdf = await page.pdf({ format: 'A4', preferCSSPageSize: true, printBackground: true });
        assert.equal(pdfPages(pdf), 2, 'two printed pages');
        await page.emulateMedia({ media: 'screen' });
        await screenshot(page, `brief-${lang}`);
        assertClean();
      } finally {
        await close();
      }
    });
  }

  test('the map figure links download a standalone SVG and a 300-dpi PNG', async () => {
    const { page, goto, assertClean, close } = await openPage(browser);
    try {
      await goto('/?lang=zh');
      const links = page.locator('svg.nqp-map + p.figure-downloads a');
      assert.equal(await links.count(), 3, 'SVG, PNG and grayscale PNG');

      const [svgDownload] = await Promise.all([page.waitForEvent('download'), links.nth(0).click()]);
      assert.match(svgDownload.suggestedFilename(), /^nqp-rankings-map\.svg$/);
      const svg = await readFile(await svgDownload.path(), 'utf8');
      assert.ok(svg.startsWith('<?xml'));
      assert.ok(!/<link|<style|href="(?!#)/.test(svg), 'nothing external');
      assert.ok(svg.includes('示意图，非标准地图 / schematic, not a standard map'));

      const [pngDownload] = await Promise.all([page.waitForEvent('download'), links.nth(1).click()]);
      const png = await readFile(await pngDownload.path());
      assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
      // IHDR width: 16 cm at 300 dpi = round(16 / 2.54 × 300) = 1890 px.
      assert.equal(png.readUInt32BE(16), 1890);
      const phys = png.indexOf(Buffer.from('pHYs'));
      assert.ok(phys > 0, 'a pHYs chunk');
      assert.equal(png.readUInt32BE(phys + 4), 11811, '300 dpi = 11811 px/m');
      assert.equal(png[phys + 12], 1, 'unit: metre');

      // The PNG as a picture: open it in the browser and count dark pixels in the note's
      // line at the bottom (Chinese and English text drawn, not empty).
      const dark = await page.evaluate(async (b64) => {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const c = document.createElement('canvas');
        [c.width, c.height] = [img.width, img.height];
        const g = c.getContext('2d');
        g.drawImage(img, 0, 0);
        const band = Math.round(img.height * 0.04);
        const data = g.getImageData(0, img.height - band, Math.round(img.width / 2), band).data;
        let n = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i] < 128) n += 1;
        return n;
      }, png.toString('base64'));
      assert.ok(dark > 500, `the note is drawn (${dark} dark pixels)`);
      assertClean();
    } finally {
      await close();
    }
  });
});
