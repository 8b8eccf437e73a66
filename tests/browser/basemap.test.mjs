// A standard base map through the /publish form, without JavaScript, as an author preparing a
// journal figure does it: sign in, upload the province GeoJSON with its approval number (审图号),
// see the page say maps are drawn on it, download the map figure and find the caption and the
// South China Sea inset in it; a projected file is refused in the page's language and changes
// nothing; going back to the schematic map restores the note. The fixture is the repository's
// own invented squares (tests/fixtures/basemap/make_fixtures.py).
// The test removes its map in `finally`: figures.test.mjs expects the schematic note.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { launch, openPage, screenshot, url } from './helpers.mjs';

const TOKEN = process.env.NQP_ADMIN_TOKEN ?? 'browser-test-token-0123456789abcdef';
const here = path.dirname(fileURLToPath(import.meta.url));
const SQUARES = path.join(here, '..', 'fixtures', 'basemap', 'squares.geojson');
const APPROVAL = 'GS(2024)0650号';
const PROJECTED = JSON.stringify({
  type: 'FeatureCollection',
  features: [
    {
      type: 'Feature',
      properties: { name: '北京市' },
      geometry: {
        type: 'Polygon',
        coordinates: [[[12950000, 4850000], [12960000, 4850000], [12960000, 4860000], [12950000, 4850000]]],
      },
    },
  ],
});

describe('standard base map', () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('upload on /publish draws the maps on it with the inset and the 审图号 caption', async () => {
    const { page, context, goto, close } = await openPage(browser, { javaScriptEnabled: false });
    try {
      await goto('/datasets?lang=zh');
      await page.locator('#token').fill(TOKEN);
      await Promise.all([page.waitForURL(/\/datasets/), page.locator('form#login button').click()]);

      await goto('/publish?lang=zh');
      assert.equal(await page.locator('#basemap-status').getAttribute('data-standard'), 'false');
      assert.match(await page.locator('#basemap-status').innerText(), /示意图，非标准地图/);

      // A projected file is refused, named, in Chinese; the maps stay schematic.
      await page.locator('#basemap-form input[name=files]').setInputFiles({
        name: 'projected.geojson',
        mimeType: 'application/geo+json',
        buffer: Buffer.from(PROJECTED),
      });
      await page.locator('#basemap-form input[name=approval]').fill(APPROVAL);
      const refused = await Promise.all([
        page.waitForEvent('response', (r) => r.url().includes('/publish/basemap')),
        page.locator('#basemap-form button[type=submit]').click(),
      ]).then(([r]) => r);
      assert.equal(refused.status(), 422);
      await page.waitForLoadState();
      const message = await page.locator('main').innerText();
      assert.match(message, /EPSG:4326/, message);
      assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
      await goto('/publish?lang=zh');
      assert.equal(await page.locator('#basemap-status').getAttribute('data-standard'), 'false');

      // The real upload: back on /publish, in Chinese, the status names the map and its caption.
      await page.locator('#basemap-form input[name=files]').setInputFiles(SQUARES);
      await page.locator('#basemap-form input[name=approval]').fill(APPROVAL);
      await Promise.all([
        page.waitForURL(/\/publish\?/),
        page.locator('#basemap-form button[type=submit]').click(),
      ]);
      assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
      const status = page.locator('#basemap-status');
      assert.equal(await status.getAttribute('data-standard'), 'true');
      assert.match(await status.innerText(), /squares\.geojson/);
      assert.match(await status.locator('.basemap-caption').innerText(), /审图号：GS\(2024\)0650号/);
      await screenshot(page, 'publish-basemap-zh');

      // The map figure listed on /publish carries the caption and the inset, not the note.
      const mapLink = page.locator('#publish-figure-links a[data-format="svg"][href*="map"]').first();
      const res = await context.request.get(url(await mapLink.getAttribute('href')));
      assert.equal(res.status(), 200);
      const svg = await res.text();
      assert.ok(svg.includes(`审图号：${APPROVAL}`), 'caption in the figure');
      assert.ok(svg.includes('南海诸岛'), 'inset label in the figure');
      assert.ok(!svg.includes('示意图，非标准地图'), 'no schematic note on a standard map');

      // The rankings page draws its map on the same base map.
      await goto('/?lang=zh');
      assert.match(await page.locator('svg.nqp-map').first().innerHTML(), /南海诸岛/);
    } finally {
      // Back to the schematic map, through the form.
      await goto('/publish?lang=zh');
      const remove = page.locator('form[action^="/publish/basemap/remove"] button');
      if ((await remove.count()) > 0) {
        await Promise.all([page.waitForURL(/\/publish\?/), remove.click()]);
      }
      assert.equal(await page.locator('#basemap-status').getAttribute('data-standard'), 'false');
      await close();
    }
  });
});
