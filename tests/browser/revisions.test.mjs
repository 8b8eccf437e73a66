// Extending and revising a series through the upload form, then reading the version diff —
// without JavaScript, as the pages must work without it. The fixtures are the NBS-style GBK
// exports of tests/fixtures/revisions (made up beyond the bundled 2016–2022 values; see their
// 注 line): the first repeats the stored budget expenditure and adds 2023–2024, the second
// revises two published values. run.sh starts the server with this admin token.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { launch, openPage, screenshot } from './helpers.mjs';

const TOKEN = process.env.NQP_ADMIN_TOKEN ?? 'browser-test-token-0123456789abcdef';
const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name) => path.join(here, '..', 'fixtures', 'revisions', name);
const DATASET = 'cn-provinces-recent';

describe('revisions', () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('upload an extension and a revision through the form, then open the diff (without JS)', async () => {
    const { page, goto, assertClean, close } = await openPage(browser, { javaScriptEnabled: false });
    try {
      await goto('/datasets?lang=en');
      await page.locator('#token').fill(TOKEN);
      await Promise.all([page.waitForURL(/\/datasets/), page.locator('form#login button').click()]);

      async function upload(file) {
        await goto('/datasets/new?lang=en');
        await page.locator('#files').setInputFiles(fixture(file));
        await page.locator('input[name=target][value=existing]').check();
        await page.locator('#existing_id').selectOption(DATASET);
        await Promise.all([
          page.waitForURL(/\/datasets\/uploads\//),
          page.locator('form#upload button[type=submit]').click(),
        ]);
      }

      // The extension: the stored years agree, the new ones extend; nothing to revise.
      await upload('budget_extend_gbk.csv');
      assert.match(await page.locator('#agreed').innerText(), /^21 cells equal the stored values/);
      assert.equal(await page.locator('#revised-table').count(), 0);
      await Promise.all([page.waitForURL(/dataset=cn-provinces-recent/), page.locator('form#commit button').click()]);
      const extended = Number(new URL(page.url()).searchParams.get('v'));

      // The revision: two differing cells listed, committed with the checkbox.
      await upload('budget_revised_gbk.csv');
      const rows = await page.locator('#revised-table tbody tr').allInnerTexts();
      assert.equal(rows.length, 2);
      assert.match(rows[0], /CN-AH\s+2016\s+budget_total\s+5522\.95\s+5600\s+\+1\.40/);
      await screenshot(page, 'revision-preview');
      await page.locator('#revise').check();
      await Promise.all([page.waitForURL(/dataset=cn-provinces-recent/), page.locator('form#commit button').click()]);
      const revised = Number(new URL(page.url()).searchParams.get('v'));
      assert.equal(revised, extended + 1);

      // The datasets page links the new version to its diff and to its revision records.
      await goto('/datasets?lang=en');
      const section = page.locator(`#dataset-${DATASET}`);
      assert.equal(await section.locator('a.revisions').count(), 1);
      await Promise.all([page.waitForURL(/\/diff\?/), section.locator('a.diff').first().click()]);
      const diffUrl = new URL(page.url());
      assert.equal(diffUrl.searchParams.get('from'), String(extended));
      assert.equal(diffUrl.searchParams.get('to'), String(revised));
      assert.equal((await page.locator('#count-revised').innerText()).trim(), '2');
      assert.equal((await page.locator('#count-added').innerText()).trim(), '0');
      assert.equal(await page.locator('#effect-table tbody tr').count(), 31);
      assert.equal(await page.locator('#revised-table tbody tr').count(), 2);
      assert.ok((await page.locator('a[href*="format=csv"]').count()) > 0);
      await screenshot(page, 'revision-diff');

      // The form changes the versions compared without JavaScript.
      await page.locator('#diff-from').fill('1');
      await Promise.all([page.waitForURL(/from=1/), page.locator('#diff-form button').click()]);
      assert.equal((await page.locator('#count-added').innerText()).trim(), '6');
      assertClean();
    } finally {
      await close();
    }
  });
});
