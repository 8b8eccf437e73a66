// The whole upload flow in the browser, as an analyst does it: sign in with the token,
// choose an NBS export (GBK) of a new indicator, preview, map it to a dimension, commit, and
// see the dashboard on the new version while the old version stays available.
// The fixture is synthetic (see its 注 line); run.sh starts the server with this admin token.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { launch, openPage, screenshot } from './helpers.mjs';

const TOKEN = process.env.NQP_ADMIN_TOKEN ?? 'browser-test-token-0123456789abcdef';
const here = path.dirname(fileURLToPath(import.meta.url));
// One new indicator per run, so each run adds a version with an indicator the dataset lacks.
const EXPORTS = {
  js: path.join(here, 'fixtures', 'broadband_nbs_synthetic.csv'),
  nojs: path.join(here, 'fixtures', 'mobile_nbs_synthetic.csv'),
};

describe('upload flow', () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  for (const javaScriptEnabled of [true, false]) {
    const mode = javaScriptEnabled ? 'with JS' : 'without JS';
    test(`sign in, upload an NBS export, map it and commit a new version (${mode})`, async () => {
      const { page, goto, assertClean, close } = await openPage(browser, { javaScriptEnabled });
      try {
        await goto('/datasets?lang=en');
        await page.locator('#token').fill(TOKEN);
        await Promise.all([page.waitForURL(/\/datasets/), page.locator('form#login button').click()]);
        assert.match((await page.locator('#signed-in-as').innerText()).trim(), /^admin/);
        const versionsBefore = await page.locator('#dataset-cn-provinces table.versions tbody tr').count();

        await page.locator('#upload-link').click();
        await page.waitForURL(/\/datasets\/new/);
        await page.locator('#files').setInputFiles(EXPORTS[javaScriptEnabled ? 'js' : 'nojs']);
        await page.locator('input[name=target][value=existing]').check();
        await page.locator('#existing_id').selectOption('cn-provinces');
        await screenshot(page, `upload-form-${javaScriptEnabled ? 'js' : 'nojs'}`);
        await Promise.all([
          page.waitForURL(/\/datasets\/uploads\//),
          page.locator('form#upload button[type=submit]').click(),
        ]);

        // Preview: what was detected.
        const cells = await page.locator('table#files-table tbody td').allInnerTexts();
        assert.equal(cells[0], 'gb18030');
        assert.equal(cells[1], 'nbs');
        assert.equal((await page.locator('#regions-count').innerText()).trim(), '31');
        assert.equal(await page.locator('fieldset.mapping').count(), 1);
        await screenshot(page, `upload-preview-${javaScriptEnabled ? 'js' : 'nojs'}`);

        // Map the new indicator to the means of labor and commit.
        const [id, name] = javaScriptEnabled
          ? ['broadband_ports', 'Broadband ports']
          : ['mobile_phones', 'Mobile phones per 100 people'];
        await page.locator('input[name="map.0.id"]').fill(id);
        await page.locator('input[name="map.0.name_en"]').fill(name);
        await page.locator('select[name="map.0.dimension"]').selectOption('tools');
        await Promise.all([page.waitForURL(/dataset=cn-provinces/), page.locator('form#commit button').click()]);
        const committed = new URL(page.url());
        const version = Number(committed.searchParams.get('v'));
        assert.equal(version, versionsBefore + 1);
        assert.equal(await page.locator('table#rankings tbody tr').count(), 31);
        assert.match(await page.locator('footer').innerText(), new RegExp(`v${version}`));
        await screenshot(page, `upload-committed-${javaScriptEnabled ? 'js' : 'nojs'}`);

        // The new indicator is in the methodology of the new version, not of the old one.
        await goto(`/methodology?lang=en&dataset=cn-provinces&v=${version}`);
        assert.ok((await page.locator('ul.tree').innerText()).includes(name));
        await goto(`/methodology?lang=en&dataset=cn-provinces&v=${version - 1}`);
        assert.ok(!(await page.locator('ul.tree').innerText()).includes(id));
        assertClean();
      } finally {
        await close();
      }
    });
  }

  test('a bad file is rejected with its line and column, and nothing is stored', async () => {
    const { page, goto, close } = await openPage(browser, { expectStatus: { '/datasets/new?lang=en': 422 } });
    try {
      await goto('/datasets?lang=en');
      await page.locator('#token').fill(TOKEN);
      await Promise.all([page.waitForURL(/\/datasets/), page.locator('form#login button').click()]);
      const before = await page.locator('table.versions tbody tr').count();
      await page.locator('#upload-link').click();
      await page.locator('#files').setInputFiles({
        name: 'bad.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from('region,year,indicator,value\nCN-BJ,2020,x,abc\n'),
      });
      await page.locator('#new_id').fill('bad-one');
      await page.locator('form#upload button[type=submit]').click();
      await page.waitForSelector('p.message');
      const message = await page.locator('p.message').innerText();
      assert.match(message, /bad\.csv:2/);
      await goto('/datasets?lang=en');
      assert.equal(await page.locator('table.versions tbody tr').count(), before);
      assert.equal(await page.locator('#dataset-bad-one').count(), 0);
    } finally {
      await close();
    }
  });
  test('a table with two candidate region columns names them; the layout field settles it', async () => {
    const { page, goto, close } = await openPage(browser, { expectStatus: { '/datasets/new?lang=en': 422 } });
    const table = {
      name: 'thesis.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('序号,,,代码,2019,2020\n1,地区生产总值（亿元）i,北京,110000,1.5,2\n2,,天津,120000,3,4\n'),
    };
    try {
      await goto('/datasets?lang=en');
      await page.locator('#token').fill(TOKEN);
      await Promise.all([page.waitForURL(/\/datasets/), page.locator('form#login button').click()]);
      await page.locator('#upload-link').click();
      await page.locator('#files').setInputFiles(table);
      await page.locator('#new_id').fill('thesis-layout');
      await page.locator('form#upload button[type=submit]').click();
      await page.waitForSelector('p.message');
      const message = await page.locator('p.message').innerText();
      assert.match(message, /thesis\.csv:1:3/);
      assert.match(message, /region=C,years=E:F/);

      await goto('/datasets?lang=en');
      await page.locator('#upload-link').click();
      await page.waitForURL(/\/datasets\/new/);
      await page.locator('#files').setInputFiles(table);
      await page.locator('#new_id').fill('thesis-layout');
      assert.equal(await page.locator('label[for=layout]').innerText(), 'Layout hint (optional)');
      await page.locator('#layout').fill('region=C,indicator=B');
      await Promise.all([
        page.waitForURL(/\/datasets\/uploads\//),
        page.locator('form#upload button[type=submit]').click(),
      ]);
      const cells = await page.locator('table#files-table tbody td').allInnerTexts();
      assert.equal(cells[1], 'blocks');
      assert.equal((await page.locator('#regions-count').innerText()).trim(), '2');
      await screenshot(page, 'upload-preview-layout-hint');
    } finally {
      await close();
    }
  });
});
