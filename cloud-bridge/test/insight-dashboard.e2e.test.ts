import { createHash } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudBridge } from '../src/bridge.js';
import { launchChromium } from './browser.js';
import { testBridge, testDb, testSite, type TestDb } from './helpers.js';
import { insightCatalogue, seedInsight, TEST_RULES } from './insight-fixtures.js';

const STAFF = 'insight-dashboard-token';

/** The dashboard's insight panel in headless Chromium, on the hand-made March 2027. */
describe('insight panel in the staff dashboard', () => {
  let browser: Browser;
  let bridge: CloudBridge;
  let db: TestDb;
  let site: string;

  beforeAll(async () => {
    db = await testDb('sqlite');
    const s = testSite(['g1']);
    site = s.config.id;
    bridge = await testBridge(
      db,
      [{ ...s.config, insight: { rules: TEST_RULES }, sales: { catalogue: insightCatalogue(), capacity: { daily: 5000, yellow: 0.7, orange: 0.85 }, idHashKey: 'id-hash-key-for-tests-0123456789', staffTokenSha256: createHash('sha256').update(STAFF).digest('hex') } }],
      { demoMode: true },
    );
    await seedInsight(bridge.store, site);
    browser = (await launchChromium()).browser;
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await bridge?.close();
    await db?.cleanup();
  });

  it('shows a month’s suggestions and its three charts', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => void errors.push(e.message));
    await page.goto(`http://127.0.0.1:${bridge.httpPort}/dashboard/${site}?lang=en#token=${STAFF}`);
    await expect.poll(() => page.locator('#main').isVisible(), { timeout: 15_000 }).toBe(true);
    await page.fill('#insight-month', '2027-03');
    await page.click('#insight-load');
    const items = page.locator('#insight-suggestions li.suggestion');
    await expect.poll(() => items.count(), { timeout: 10_000 }).toBe(4);
    expect(await items.first().textContent()).toBe("Family package (2 adults + 1 child) 33 % of sales this month (threshold 30 %): consider children's attractions");
    expect(await page.locator('#insight-typemix rect[data-type]').count()).toBe(4);
    expect(await page.locator('#insight-refunds polyline[data-reason]').count()).toBe(2);
    expect(await page.locator('#insight-hours rect[data-hour]').count()).toBe(48);
    expect(await page.locator('#insight-spend').textContent()).toBe('Secondary-spend share 21 % · repeat visitors —');
    // Switching the language re-renders the suggestions in Chinese.
    await page.click('button[data-lang="zh-CN"]');
    await expect.poll(async () => items.first().textContent()).toBe('家庭套票（2 大 1 小）占本月销售的 33 %（阈值 30 %）：可考虑增加儿童游乐项目');
    expect(errors).toEqual([]);
    await page.close();
  });
});
