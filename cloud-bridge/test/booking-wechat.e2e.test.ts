// The booking page inside WeChat's in-app browser, in Chromium (issue #16 point 5): a visitor
// books, the page gets the openid through WeChat's web authorization (the payment simulator's
// authorize page and code exchange), opens the JSAPI sheet through WeixinJSBridge — here the
// simulator playing the WeChat app (SimulatedWeChatApp, injected with addInitScript) — closes
// it once, pays, and sees the ticket once the provider has confirmed the money.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Request } from 'playwright-core';
import { SimulatedWeChatApp } from '@stile/payment-sim';
import { launchChromium } from './browser.js';
import { newPhone, startBookPark, type BookPark } from './booking/harness.js';

const SHOTS = process.env.STILE_BOOKING_SCREENSHOTS ? new URL('../../docs/img/', import.meta.url).pathname : undefined;

describe('visitor booking page inside WeChat, paid with JSAPI', () => {
  let p: BookPark;
  let browser: Browser;
  beforeAll(async () => {
    p = await startBookPark('sqlite');
    browser = (await launchChromium()).browser;
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await p?.close();
  });

  it('books, goes through WeChat OAuth once, cancels the sheet, pays, and sees the ticket', async () => {
    const wx = new SimulatedWeChatApp(p.sim.baseUrl, { user: 'e2e-wx-visitor' });
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, userAgent: wx.userAgent, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    await context.addCookies([wx.userCookie()]);
    await context.exposeFunction(SimulatedWeChatApp.BINDING, (name: string, params: Record<string, unknown>) => wx.invoke(name, params));
    await context.addInitScript(SimulatedWeChatApp.initScript());
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => void errors.push(e.message));
    page.on('console', (m) => void (m.type() === 'error' && !/Failed to load resource/.test(m.text()) && errors.push(m.text())));
    const requests: Request[] = [];
    page.on('request', (r) => void requests.push(r));
    const openid = p.sim.oauth.openid(wx.user);

    await page.goto(`${p.base}/book/${p.site}`);
    await expect.poll(() => page.locator('#day-left').count(), { timeout: 10_000 }).toBe(1);
    await page.locator('.chip').nth(1).click(); // tomorrow
    // (The harness park sells 20 a day: almost full from the start.)
    await expect.poll(() => page.locator('label[data-slot="s10"]').getAttribute('data-state'), { timeout: 10_000 }).toMatch(/^(open|almostFull)$/);
    await page.locator('label[data-slot="s10"]').click();
    await page.locator('label[data-type="adult"]').click();
    await page.locator('#pick-next').click();
    const [visitor] = p.visitors(1);
    await page.locator('input[name="name0"]').fill(visitor!.name);
    await page.locator('input[name="id0"]').fill(visitor!.idNumber);
    await page.locator('#visitors-next').click();
    const phone = newPhone();
    await page.locator('input[type="tel"]').fill(phone);
    await page.locator('#send-code').click();
    await expect.poll(() => p.lastCode(phone)).toMatch(/^\d{6}$/);
    await page.locator('input[autocomplete="one-time-code"]').fill(p.lastCode(phone)!);
    await page.locator('#login').click();

    // Inside WeChat: WeChat Pay in the app first, its QR code as the fallback; no Alipay (WeChat blocks it).
    const payButtons = page.locator('.pay-buttons button');
    await expect.poll(() => payButtons.count(), { timeout: 10_000 }).toBe(2);
    expect(await payButtons.evaluateAll((bs) => bs.map((b) => `${b.getAttribute('data-provider')}:${b.getAttribute('data-method')}`))).toEqual(['wechat:in_app', 'wechat:qr']);
    const orderId = decodeURIComponent(/#pay\/(.+)$/.exec(page.url())![1]!);
    if (SHOTS) {
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: join(SHOTS, 'booking-12-wechat-pay.png'), fullPage: true });
    }

    // The first tap: off to WeChat's authorization and back to this order, where the sheet opens by itself. The visitor closes it.
    wx.answers.push('cancel');
    await payButtons.first().click();
    await expect.poll(() => wx.invocations.length, { timeout: 15_000 }).toBe(1);
    expect(wx.invocations[0]!.errMsg).toBe('chooseWXPay:cancel');
    await expect.poll(() => page.locator('#notice').textContent(), { timeout: 10_000 }).toBe('您取消了支付，订单仍在等待付款。可以再次点“微信支付”，或改用二维码付款。');
    // Back on the pay step of the same order; the openid is out of the address bar.
    expect(await page.locator('[data-step]').getAttribute('data-step')).toBe('pay');
    expect(page.url()).toBe(`${p.base}/book/${p.site}#pay/${encodeURIComponent(orderId)}`);
    await expect.poll(() => payButtons.first().isDisabled()).toBe(false);

    // The second tap: no second authorization (the openid is kept for the visit); the visitor pays.
    await payButtons.first().click();
    await expect.poll(() => page.locator('#paid-banner').textContent(), { timeout: 15_000 }).toBe('支付成功');
    expect(wx.invocations.map((i) => i.errMsg)).toEqual(['chooseWXPay:cancel', 'chooseWXPay:ok']);
    const tickets = page.locator('figure.ticket');
    expect(await tickets.count()).toBe(1);
    expect(await tickets.first().getAttribute('data-code')).toMatch(/^ST1:/);
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'booking-13-wechat-ticket.png'), fullPage: true });

    // One authorization; the JSAPI order was made for the openid WeChat gave this user; the
    // openid travelled only in the pay request's body, never in a URL a server or proxy logs.
    expect(requests.filter((r) => r.url().includes('/wechat-oauth/start'))).toHaveLength(1);
    const trades = [...p.sim.trades.values()].filter((t) => t.provider === 'wechat' && t.kind === 'jsapi');
    expect(trades.map((t) => [t.openid, t.state])).toEqual([[openid, 'SUCCESS']]);
    expect(requests.filter((r) => r.url().includes(openid))).toEqual([]);
    expect(requests.filter((r) => r.url().endsWith('/pay') && (r.postData() ?? '').includes(openid))).toHaveLength(2);
    expect(errors).toEqual([]);
    await context.close();
  });
});
