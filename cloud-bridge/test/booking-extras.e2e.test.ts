// The booking page's coupon field and marketing-consent box in Chromium (#19): the box is
// unticked until the visitor ticks it and says what it is for; a refused coupon brings the
// visitor back to the field with the reason in their language; a good one lowers the price to
// pay, and the consent answer is on the order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './browser.js';
import { MarketingConfigSchema } from '../src/core/site-config/marketing.js';
import { DAY, newPhone, startBookPark, STAFF, type BookPark } from './booking/harness.js';

const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const marketing = MarketingConfigSchema.parse({ coupons: [{ id: 'ten-off', kind: 'fixed', amountFen: 1000, appliesTo: 'ticket', validDays: 60 }] });

describe('booking page: coupon code and marketing consent, in Chromium', { timeout: 120_000 }, () => {
  let park: BookPark;
  let browser: Browser;
  // Each visitor on a phone of their own (the page remembers the session and a pending order).
  const phoneContext = (locale: string): Promise<BrowserContext> => browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, userAgent: IPHONE, locale, timezoneId: 'Asia/Shanghai' });
  beforeAll(async () => {
    park = await startBookPark('sqlite', { site: { marketing } });
    browser = (await launchChromium()).browser;
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await park?.close();
  });

  /** Date, slot and an adult ticket, then the visitor's name and ID number. */
  async function toVisitors(page: Page, lang: 'zh-CN' | 'en'): Promise<void> {
    await page.goto(`${park.base}/book/${park.site}${lang === 'en' ? '?lang=en' : ''}`);
    await page.locator('input[type="date"]').fill(DAY);
    await page.locator('label[data-slot="s10"]').click();
    await page.locator('label[data-type="adult"]').click();
    await page.locator('#pick-next').click();
    const v = park.visitors(1)[0]!;
    await page.locator('input[name="name0"]').fill(v.name);
    await page.locator('input[name="id0"]').fill(v.idNumber);
  }

  async function login(page: Page, phone: string): Promise<void> {
    await page.locator('input[type="tel"]').fill(phone);
    await page.locator('#send-code').click();
    await expect.poll(() => park.lastCode(phone), { timeout: 10_000 }).toMatch(/^\d{6}$/);
    await page.locator('input[autocomplete="one-time-code"]').fill(park.lastCode(phone)!);
    await page.locator('#login').click();
  }

  it('the consent box is unticked and says its purpose; a wrong code comes back to its field in Chinese; the right one lowers the price', async () => {
    const context = await phoneContext('zh-CN');
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => void errors.push(e.message));
    await toVisitors(page, 'zh-CN');
    const box = page.locator('input[name="marketing-consent"]');
    expect(await box.isChecked()).toBe(false);
    const label = await page.locator(`label[for="${await box.getAttribute('id')}"]`).textContent();
    expect(label).toContain('短信'); // by SMS
    expect(label).toContain('优惠券'); // offers and coupons
    expect(label).toContain('随时退订'); // opt out any time
    expect(label).toContain('不勾选也能正常购票'); // not a condition of the purchase
    // A code that does not exist.
    await page.locator('input[name="coupon"]').fill('NOSUCH99');
    await box.check();
    await page.locator('#visitors-next').click();
    await login(page, newPhone());
    await expect.poll(() => page.locator('#notice').textContent(), { timeout: 15_000 }).toBe('没有找到这张优惠券，请核对券码（区分字母和数字），或删掉券码后再提交。');
    expect(await page.locator('[data-step]').getAttribute('data-step')).toBe('visitors');
    expect(await page.locator('input[name="coupon"]').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('input[name="coupon"]').evaluate((e) => e.id && document.getElementById(`${e.id}-err`)?.textContent)).toContain('没有找到这张优惠券');
    // What was typed and ticked is kept on the way back.
    expect(await page.locator('input[name="coupon"]').inputValue()).toBe('NOSUCH99');
    expect(await page.locator('input[name="marketing-consent"]').isChecked()).toBe(true);

    // A real coupon from the park: ¥80 − ¥10.
    const issued = await park.call('POST', `/v1/staff/sites/${park.site}/coupons`, { template: 'ten-off' }, { authorization: `Bearer ${STAFF}`, 'content-type': 'application/json' });
    const code = String(issued.body.code);
    await page.locator('input[name="coupon"]').fill(code);
    expect(await page.locator('input[name="coupon"]').getAttribute('aria-invalid')).toBeNull();
    await page.locator('#visitors-next').click();
    await expect.poll(() => page.locator('.pay-buttons button').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(await page.locator('.pay-buttons button').first().textContent()).toContain('70');
    const orderId = decodeURIComponent(/#pay\/(.+)$/.exec(page.url())![1]!);
    const row = await park.bridge.store.db.selectFrom('orders').select(['amount_fen', 'coupon_code', 'marketing_consent']).where('order_id', '=', orderId).executeTakeFirstOrThrow();
    expect(row).toEqual({ amount_fen: 7000, coupon_code: code, marketing_consent: 1 });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('in English, left unticked: the order says no to marketing, and the refusal is in English', async () => {
    const context = await phoneContext('en');
    const page = await context.newPage();
    await toVisitors(page, 'en');
    const box = page.locator('input[name="marketing-consent"]');
    expect(await box.isChecked()).toBe(false);
    expect(await page.locator(`label[for="${await box.getAttribute('id')}"]`).textContent()).toMatch(/offers and coupons by SMS.*opt out at any time/);
    await page.locator('input[name="coupon"]').fill('NOSUCH98');
    await page.locator('#visitors-next').click();
    await login(page, newPhone());
    await expect.poll(() => page.locator('#notice').textContent(), { timeout: 15_000 }).toBe('There is no coupon with that code. Check it, or clear it and try again.');
    // Cleared: the order goes through, without marketing consent.
    await page.locator('input[name="coupon"]').fill('');
    await page.locator('#visitors-next').click();
    await expect.poll(() => page.locator('.pay-buttons button').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    const orderId = decodeURIComponent(/#pay\/(.+)$/.exec(page.url())![1]!);
    const row = await park.bridge.store.db.selectFrom('orders').select(['amount_fen', 'coupon_code', 'marketing_consent']).where('order_id', '=', orderId).executeTakeFirstOrThrow();
    expect(row).toEqual({ amount_fen: 8000, coupon_code: null, marketing_consent: 0 });
    await context.close();
  });
});
