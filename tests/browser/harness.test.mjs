// The harness itself: openPage must record each kind of problem the other files rely on it
// to catch, or a green lane would mean nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launch, openPage } from './helpers.mjs';

describe('harness', () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('records console errors, page errors, 4xx responses and failed requests', async () => {
    const { page, problems, goto, assertClean, close } = await openPage(browser);
    try {
      await goto('/methodology?lang=en');
      assertClean();
      await page.evaluate(async () => {
        console.error('deliberate console error');
        setTimeout(() => {
          throw new Error('deliberate page error');
        }, 0);
        // An image, not fetch(): the site's CSP allows same-origin images only.
        await new Promise((done) => {
          const img = new Image();
          img.onload = img.onerror = done;
          img.src = '/static/missing.png';
        });
      });
      // A request that never gets a response.
      await page.route('**/static/style.css', (route) => route.abort('connectionrefused'));
      await page.reload({ waitUntil: 'load' });
      await page.waitForTimeout(100);
      const kinds = (prefix) => problems.filter((p) => p.startsWith(prefix));
      assert.equal(kinds('console error: deliberate').length, 1, problems.join('\n'));
      assert.equal(kinds('page error: deliberate page error').length, 1, problems.join('\n'));
      assert.equal(kinds('status 404: GET ').length, 1, problems.join('\n'));
      assert.equal(kinds('request failed: GET ').length, 1, problems.join('\n'));
      assert.ok(
        kinds('request failed: GET ')[0].includes('/static/style.css'),
        problems.join('\n'),
      );
      assert.throws(() => assertClean(), /problems on/);
    } finally {
      await close();
    }
  });

  test('an expected 404 is not a problem, but a different status is', async () => {
    const ok = await openPage(browser, { expectStatus: { '/regions/CN-XX': 404 } });
    const wrong = await openPage(browser, { expectStatus: { '/regions/CN-GD': 404 } });
    try {
      assert.equal((await ok.goto('/regions/CN-XX')).status(), 404);
      ok.assertClean();
      assert.equal((await wrong.goto('/regions/CN-GD')).status(), 200);
      assert.deepEqual(
        wrong.problems.filter((p) => p.startsWith('status 200 (expected 404)')).length,
        1,
        wrong.problems.join('\n'),
      );
    } finally {
      await ok.close();
      await wrong.close();
    }
  });
});
