// The demo park's season as staff see it (#19 point 6): a demo cloud started on an empty store
// shows last month's insight report, a past day's report, the dashboard's insight panel and a
// partner's statement in a real browser, each with charts or lines drawn from the generated
// history. STILE_DEMO_SCREENSHOTS=1 writes the screenshots docs/visitor-data/*.md show into
// docs/img (otherwise into a temp folder that is removed).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDate } from '@stile/config';
import { launchChromium } from '../../cloud-bridge/test/browser.js';
import { DEMO_PARTNERS } from '../src/catalogue.js';
import { demoCloud } from '../src/cloud.js';

const SHOTS = process.env.STILE_DEMO_SCREENSHOTS ? new URL('../../docs/img/', import.meta.url).pathname : join(tmpdir(), `stile-demo-pages-${process.pid}`);

describe('demo season in the browser', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'stile-demo-pages-'));
  const cloud = demoCloud({ print: () => undefined, logLevel: 'silent', season: { visits: 30_000, days: 120 } });
  let browser: Browser;
  let base = '';
  let token = '';
  const today = localDate(Date.now(), 'Asia/Shanghai');
  const lastMonth = new Date(Date.parse(`${today.slice(0, 7)}-01T00:00:00Z`) - 86_400_000).toISOString().slice(0, 7);
  const yesterday = new Date(Date.parse(`${today}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const s = await cloud.start(dir, { id: 'demo-park', gates: ['east-1'], idHashKey: 'season-pages-id-hash-key-0123456789' });
    token = /#token=([0-9a-f]+)/.exec(s.dashboardUrl)![1]!;
    base = s.sales.baseUrl;
    browser = (await launchChromium()).browser;
  });
  afterAll(async () => {
    await browser?.close();
    await cloud.close();
    rmSync(dir, { recursive: true, force: true });
    if (!process.env.STILE_DEMO_SCREENSHOTS) rmSync(SHOTS, { recursive: true, force: true });
  });

  /** A staff page opened with the staff token as the bearer (as a browser extension or the dashboard's fetch would). */
  async function staffPage(path: string, width = 1100) {
    const context = await browser.newContext({ viewport: { width, height: 900 }, extraHTTPHeaders: { authorization: `Bearer ${token}` } });
    const page = await context.newPage();
    const res = await page.goto(base + path);
    expect(res?.status(), path).toBe(200);
    return { page, close: () => context.close() };
  }

  it("last month's insight report: every chart has bars or lines, and the two suggestions of the season", async () => {
    const { page, close } = await staffPage(`/v1/staff/sites/demo-park/insight/${lastMonth}?format=html&lang=en`);
    const html = await page.content();
    expect(await page.locator('svg').count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator('svg rect, svg polyline, svg path').count()).toBeGreaterThan(10);
    expect(html).toMatch(/family/i);
    expect(html).toMatch(/schedule/i);
    await page.screenshot({ path: join(SHOTS, 'insight-month-en.png'), fullPage: true });
    await close();
    const zh = await staffPage(`/v1/staff/sites/demo-park/insight/${lastMonth}?format=html&lang=zh-CN`);
    expect(await zh.page.locator('svg').count()).toBeGreaterThanOrEqual(3);
    await zh.page.screenshot({ path: join(SHOTS, 'insight-month-zh.png'), fullPage: true });
    await zh.close();
  });

  it("yesterday's daily report has its insight section", async () => {
    const { page, close } = await staffPage(`/v1/staff/sites/demo-park/reports/${yesterday}?format=html`);
    expect(await page.locator('svg').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(SHOTS, 'report-day-insight.png'), fullPage: true });
    await close();
  });

  it('the dashboard shows the insight panel for last month with its charts', async () => {
    const context = await browser.newContext({ viewport: { width: 420, height: 900 }, deviceScaleFactor: 2 });
    const page = await context.newPage();
    await page.goto(`${base}/dashboard/demo-park?lang=en#token=${token}`);
    await page.fill('#insight-month', lastMonth);
    await page.click('#insight-load');
    await page.locator('#insight-suggestions li.suggestion').first().waitFor({ timeout: 30_000 });
    expect(await page.locator('#insight-typemix rect[data-type]').count()).toBeGreaterThan(2);
    expect(await page.locator('#insight-refunds polyline[data-reason]').count()).toBeGreaterThan(0);
    // The sticky page header would cover the panel in an element screenshot.
    await page.addStyleTag({ content: 'header { position: static !important; }' });
    await page.locator('#insight').screenshot({ path: join(SHOTS, 'dashboard-insight-en.png') });
    await context.close();
  });

  it("a partner's monthly statement lists its combo lines", async () => {
    const partner = DEMO_PARTNERS[0].id;
    const { page, close } = await staffPage(`/v1/staff/sites/demo-park/partners/${partner}/statements/${lastMonth}?format=html`, 900);
    expect(await page.locator('table tr').count()).toBeGreaterThan(3);
    await page.screenshot({ path: join(SHOTS, 'partner-statement.png') }); // the top: totals, then the first lines
    await close();
  });
});
