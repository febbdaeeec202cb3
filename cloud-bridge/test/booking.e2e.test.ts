import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsQRModule from 'jsqr';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { generateSigningKeyPair, localDate, localTime } from '@stile/config';
import { PaymentSimulator } from '@stile/payment-sim';
import { startSimGate, type SimGate } from '../../hardware-sim/src/index.js';
import { launchChromium } from './browser.js';
import type { CloudBridge } from '../src/bridge.js';
import { parseCatalogue, sha256Hex, type Catalogue } from '../src/core/catalogue.js';
import { LogSmsSender } from '../src/core/notify/sms.js';
import { priceFor } from '../src/modules/sales/pricing.js';
import { yuan } from '../web/booking/price.js';
import type { SitePayments } from '../src/modules/payments/config.js';
import { makeGate, SITE, startGate, Teardown, gateCleanup, until, usedOnGate, type CloudSide, type GateSide } from './faults/harness.js';
import { idNumber, MQTT_URL, silentLog, testBridge, testDb, type TestDb } from './helpers.js';

// STILE_BOOKING_SCREENSHOTS=1 writes the phone screenshots into docs/img (the ones docs/booking.md shows).
const SHOTS = process.env.STILE_BOOKING_SCREENSHOTS ? new URL('../../docs/img/', import.meta.url).pathname : join(tmpdir(), `stile-booking-${process.pid}`);
// The npm Chromium reads only its own fonts; for the screenshots let it use the system's (a CJK font: fonts-noto-cjk).
if (process.env.STILE_BOOKING_SCREENSHOTS && !process.env.FONTCONFIG_PATH && existsSync('/etc/fonts/fonts.conf')) process.env.FONTCONFIG_PATH = '/etc/fonts';

// jsqr is CommonJS with an ES-style default in its types: take the function whichever way it comes.
const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ?? jsQRModule) as unknown as (data: Uint8ClampedArray, w: number, h: number) => { data: string } | null;
const TZ = 'Asia/Shanghai';
const WEB_KEY = 'booking-e2e-web-key-0123456789';
const KIOSK_KEY = 'booking-e2e-kiosk-key-0123456789';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';

/**
 * The park sells today on the real clock (the gate decides on it too), so its slots cover the
 * whole day: whenever the test runs, one is open now.
 */
function catalogue(): Catalogue {
  const bounds = ['00:00', '04:00', '08:00', '12:00', '16:00', '20:00', '23:59'];
  const grace = { earlyMin: 15, lateMin: 30 };
  return parseCatalogue({
    name: { 'zh-CN': '青山湖风景区', en: 'Qingshan Lake Scenic Area' },
    timeZone: TZ,
    ticketTypes: [
      { id: 'adult', name: { 'zh-CN': '成人票', en: 'Adult' }, priceFen: 8000, slotGrace: grace },
      { id: 'family', name: { 'zh-CN': '家庭套票（2 大 1 小）', en: 'Family package (2 adults + 1 child)' }, priceFen: 18000, persons: 3, slotGrace: grace },
      { id: 'weekend', name: { 'zh-CN': '周末特惠票', en: 'Weekend special' }, priceFen: 6800, days: 'weekend', slotGrace: grace },
    ],
    slots: bounds.slice(0, -1).map((start, i) => ({ id: `s${start.slice(0, 2)}`, start, end: bounds[i + 1]!, quota: 200 })),
    pricing: [
      { kind: 'earlyBird', before: '08:00', percentOff: 20 },
      { kind: 'night', from: '20:00', percentOff: 30 },
      { kind: 'offSeasonWeekend', months: [1, 2, 3, 11, 12], percentOff: 15, types: ['adult'] },
    ],
    channels: [
      { id: 'web', name: { 'zh-CN': '官网购票', en: 'Booking page' }, kind: 'online', apiKeySha256: sha256Hex(WEB_KEY), payment: 'provider' },
      { id: 'kiosk', kind: 'kiosk', apiKeySha256: sha256Hex(KIOSK_KEY), payment: 'provider' },
    ],
    refundReasons: [
      { code: 'weather', label: { 'zh-CN': '天气原因', en: 'Bad weather' } },
      { code: 'changed_plans', label: { 'zh-CN': '行程变更', en: 'Changed plans' } },
    ],
    realName: { ticketsPerIdPerDay: 1, bookingHorizonDays: 14 },
  });
}

/** Script errors and console errors (a CSP violation is one) of a page, to assert there are none. */
function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => void errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // The payment simulator's cashier page is not ours; a refused request (4xx/5xx) is answered in the page.
    if (m.type() === 'error' && !page.url().includes('/gateway') && !/Failed to load resource/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/** The QR code in a screenshot (PNG), decoded by jsQR from the pixels the browser drew. */
async function decodeQr(page: Page, png: Buffer): Promise<string | null> {
  const img = await page.evaluate(async (b64) => {
    const el = new Image();
    el.src = `data:image/png;base64,${b64}`;
    await el.decode();
    const c = document.createElement('canvas');
    c.width = el.naturalWidth;
    c.height = el.naturalHeight;
    const g = c.getContext('2d')!;
    g.drawImage(el, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height);
    return { w: d.width, h: d.height, data: Array.from(d.data) };
  }, png.toString('base64'));
  return jsQR(new Uint8ClampedArray(img.data), img.w, img.h)?.data ?? null;
}

// A whole visit in a real browser (pages, payment redirects, a gate) takes 20–60 s on a loaded 2-CPU machine.
describe('visitor booking page in Chromium, on a phone', { timeout: 120_000 }, () => {
  let browser: Browser;
  let bridge: CloudBridge;
  let db: TestDb;
  let sim: PaymentSimulator;
  let gate: GateSide;
  let hw: SimGate;
  let base: string;
  let simDir: string;
  let context: BrowserContext;
  const sms = new LogSmsSender(silentLog, 1000);
  const t = new Teardown();
  const phone = '13912345678';
  const nowHm = localTime(Date.now(), TZ);
  const slotNow = catalogue().slots.find((s) => s.start <= nowHm && nowHm < s.end)!;
  let shot = 0;
  const snap = async (page: Page, name: string) => {
    mkdirSync(SHOTS, { recursive: true });
    // From the top: a full-page shot of a scrolled page draws the sticky header mid-page.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(SHOTS, `booking-${String(++shot).padStart(2, '0')}-${name}.png`), fullPage: true });
  };
  const lastCode = () => sms.sent.filter((m) => m.to === phone && m.template === 'code').at(-1)?.vars?.code;

  beforeAll(async () => {
    simDir = mkdtempSync(join(tmpdir(), 'stile-paysim-book-e2e-'));
    sim = new PaymentSimulator({ stateDir: simDir, retryDelaysMs: { wechat: [100, 200, 400], alipay: [100, 200, 400] }, notifyAttemptTimeoutMs: 3000, refundDelayMs: 50 });
    await sim.listen();
    const cfg = sim.merchantConfig() as { wechat: Record<string, any>; alipay: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    const payments: SitePayments = {
      wechat: { mchid: cfg.wechat.mchid, appid: cfg.wechat.appid, merchantSerial: cfg.wechat.merchantSerial, merchantPrivateKeyPath: cfg.wechat.merchantPrivateKeyPath, apiV3KeyPath: cfg.wechat.apiV3KeyPath, platformKeys: cfg.wechat.platformKeys, baseUrl: cfg.wechat.baseUrl, timeoutMs: 3000 },
      alipay: { appId: cfg.alipay.appId, appPrivateKeyPath: cfg.alipay.appPrivateKeyPath, alipayPublicKeyPath: cfg.alipay.alipayPublicKeyPath, gatewayUrl: cfg.alipay.gatewayUrl, billHosts: cfg.alipay.billHosts, timeoutMs: 3000 },
    };
    const pair = generateSigningKeyPair('ck1');
    const gateId = `book-${process.pid}`;
    db = await testDb('sqlite');
    bridge = await testBridge(
      db,
      [
        {
          id: SITE,
          controlKey: { id: pair.keyId, privateKeyPem: pair.privateKeyPem },
          gates: [gateId],
          maxAdmissionsPerSecond: 0,
          sales: {
            catalogue: catalogue(),
            capacity: { daily: 1000, yellow: 0.7, orange: 0.85 },
            idHashKey: 'booking-e2e-id-hash-key-0123456789',
            staffTokenSha256: createHash('sha256').update('staff').digest('hex'),
            tourRouteUrl: 'https://park.example.com/route',
            bookingChannel: 'web',
          },
        },
      ],
      { sms, payments: { sites: { [SITE]: payments }, sweepEveryMs: 3_600_000 } },
    );
    base = `http://127.0.0.1:${bridge.httpPort}`;

    // A real stile-gate, provisioned by the cloud (its credential; the whitelist deltas reach it
    // over MQTT), reading QR codes from hardware-sim's virtual serial scanner and pulsing its
    // simulated LCUS relay board.
    const cloud: CloudSide = { dialect: 'sqlite', db, configPath: '', publicKey: pair.publicKey, httpUrl: base };
    gate = await makeGate({ gateId, mqttUrl: MQTT_URL, controlPublicKey: pair.publicKey, tickets: 20, cloud });
    gateCleanup(t, gate);
    hw = await startSimGate({ dir: mkdtempSync(join(tmpdir(), 'stile-book-hw-')), idCard: false, sensor: false, display: false });
    t.add(() => hw.close());
    const simYaml = parse(hw.gateYaml()) as { inputs: Record<string, unknown>[]; relay: Record<string, unknown> };
    const cfgYaml = parse(readFileSync(gate.configPath, 'utf8')) as { inputs: Record<string, unknown>[]; relay: Record<string, unknown> };
    // The FIFO input stays (the harness opens it); the scanner is the one the visitor uses.
    writeFileSync(gate.configPath, stringify({ ...cfgYaml, inputs: [...cfgYaml.inputs, ...simYaml.inputs], relay: { ...simYaml.relay, pulseMs: 100, gapMs: 50 } }));
    await startGate(gate);
    browser = (await launchChromium()).browser;
    context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, userAgent: IPHONE, locale: 'zh-CN', timezoneId: TZ });
  }, 120_000);

  afterAll(async () => {
    if (!process.env.STILE_BOOKING_SCREENSHOTS) rmSync(SHOTS, { recursive: true, force: true });
    await context?.close();
    await browser?.close();
    await bridge?.close();
    await t.run();
    await sim?.close();
    await db?.cleanup();
    rmSync(simDir, { recursive: true, force: true });
  });

  it('serves the page, its compressed assets and nothing secret', async () => {
    const res = await fetch(`${base}/book/${SITE}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'nonce-[^']+';.*frame-ancestors 'none'$/);
    const html = await res.text();
    expect(html).toMatch(/<html lang="zh-CN">/);
    expect(html).not.toMatch(/booking-e2e|idHashKey|privateKey|apiKey/i);
    const js = /\/book\/assets\/booking\.js\?v=[0-9a-f]{16}/.exec(html)![0];
    const a = await fetch(base + js, { headers: { 'accept-encoding': 'br' } });
    expect(a.headers.get('content-encoding')).toBe('br');
    expect(a.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${base}/book/no-such-park`)).status).toBe(404);
    expect(await (await fetch(`${base}/book/${SITE}?lang=en`)).text()).toMatch(/<html lang="en">/);
  });

  it('a visitor books, verifies the phone, leaves the cashier, comes back, pays with Alipay, and the QR code admits at the gate', async () => {
    const page = await context.newPage();
    const errors = pageErrors(page);
    await page.goto(`${base}/book/${SITE}`);
    // 1. Date, slot, type: the live count, and each slot's own.
    // The count the booking channel may still sell today (online sales stop at orange), as the API says it.
    const left = ((await (await fetch(`${base}/v1/book/${SITE}/availability?date=${localDate(Date.now(), TZ)}`)).json()) as { capacity: { remaining: number } }).capacity.remaining;
    expect(left).toBeGreaterThan(800);
    await expect.poll(() => page.locator('#day-left').textContent(), { timeout: 10_000 }).toBe(`当前剩余票量 ${left} 张`);
    expect(await page.locator('h1').textContent()).toBe('青山湖风景区');
    const slot = page.locator(`label[data-slot="${slotNow.id}"]`);
    expect(await slot.getAttribute('data-state')).toBe('open');
    expect(await slot.locator('.slot-left').textContent()).toBe('余 200 张');
    // A slot that has ended today cannot be picked.
    if (slotNow.id !== 's00') expect(await page.locator('label[data-slot="s00"]').getAttribute('data-state')).toBe('over');
    await slot.click();
    await page.locator('label[data-type="adult"]').click();
    await page.locator('button[aria-label="增加一张"]').click();
    // What sales will charge for this slot today: ¥80 × 2, less early-bird, night or off-season weekend, whichever is largest.
    const quote = priceFor(catalogue(), { typeId: 'adult', channelId: 'web', visitDate: localDate(Date.now(), TZ), slotId: slotNow.id });
    expect(quote.ok).toBe(true);
    expect(await page.locator('#total').textContent()).toBe(yuan(quote.ok ? quote.unitFen * 2 : 0));
    await snap(page, 'pick');
    await page.locator('#pick-next').click();

    // 2. Real names: a mistyped ID number is caught in the page, in plain words, before anything is sent.
    await page.locator('input[name="name0"]').fill('张伟');
    await page.locator('input[name="id0"]').fill(idNumber(101));
    await page.locator('input[name="name1"]').fill('王芳');
    const wrong = `${idNumber(102).slice(0, 17)}${idNumber(102).endsWith('1') ? '2' : '1'}`;
    await page.locator('input[name="id1"]').fill(wrong);
    await page.locator('#visitors-next').click();
    expect(await page.locator('[data-visitor="1"] .field-error').nth(1).textContent()).toBe('身份证号校验位不对，请核对每一位');
    expect(await page.locator('input[name="id1"]').getAttribute('aria-invalid')).toBe('true');
    await snap(page, 'visitors-invalid-id');
    await page.locator('input[name="id1"]').fill(idNumber(102));
    await page.locator('#visitors-next').click();

    // 3. The phone and its SMS code (read from the texts the log provider keeps, as the visitor reads the SMS).
    await page.locator('input[type="tel"]').fill(phone);
    await page.locator('#send-code').click();
    await expect.poll(() => page.locator('#send-code').textContent()).toMatch(/^\d+ 秒后重发$/);
    expect(await page.locator('#send-code').isDisabled()).toBe(true);
    await expect.poll(lastCode).toMatch(/^\d{6}$/);
    await page.locator('input[autocomplete="one-time-code"]').fill(lastCode()!);
    await snap(page, 'login');
    await page.locator('#login').click();

    // 4. The order waits for payment; in a phone's own browser the Alipay cashier comes first.
    const payButtons = page.locator('.pay-buttons button');
    await expect.poll(() => payButtons.count(), { timeout: 10_000 }).toBe(3);
    expect(await payButtons.evaluateAll((bs) => bs.map((b) => `${b.getAttribute('data-provider')}:${b.getAttribute('data-method')}`))).toEqual(['alipay:in_app', 'wechat:qr', 'alipay:qr']);
    const orderId = decodeURIComponent(/#pay\/(.+)$/.exec(page.url())![1]!);
    await snap(page, 'pay');
    await payButtons.first().click();
    await page.waitForURL((u) => u.href.startsWith(sim.baseUrl), { timeout: 10_000 });
    await page.locator('#pay').waitFor();
    await snap(page, 'alipay-cashier');

    // The visitor closes the page at the cashier and opens the booking page again: the order is there, waiting.
    await page.goto(`${base}/book/${SITE}`);
    await expect.poll(() => page.locator('.pay-buttons button').count(), { timeout: 10_000 }).toBe(3);
    expect(page.url()).toContain(`#pay/${encodeURIComponent(orderId)}`);
    await page.locator('#orders-link').click();
    await expect.poll(() => page.locator(`article[data-order="${orderId}"]`).getAttribute('data-status'), { timeout: 10_000 }).toBe('pending');
    await page.locator(`article[data-order="${orderId}"] button.primary`).click();
    await page.locator('.pay-buttons button[data-provider="alipay"][data-method="in_app"]').click();
    await page.waitForURL((u) => u.href.startsWith(sim.baseUrl), { timeout: 10_000 });
    await page.locator('#pay').click(); // 确认付款: Alipay sends the browser back to the page

    // 5. The ticket: one QR code per ticket, its slot and the gate rules.
    await page.waitForURL((u) => u.href.startsWith(base), { timeout: 10_000 });
    await expect.poll(() => page.locator('#paid-banner').textContent(), { timeout: 15_000 }).toBe('支付成功');
    const tickets = page.locator('figure.ticket');
    expect(await tickets.count()).toBe(2);
    const codes = await tickets.evaluateAll((fs) => fs.map((f) => f.getAttribute('data-code')!));
    for (const c of codes) expect(c).toMatch(/^ST1:[A-Za-z0-9_-]{8,64}$/);
    expect(await page.locator('.rules').textContent()).toContain(`${slotNow.start}–${slotNow.end}`);
    expect(await page.locator('a.route').getAttribute('href')).toBe('https://park.example.com/route');
    await snap(page, 'ticket');
    // What a scanner sees: the QR code as drawn on the phone's screen decodes to the ticket's code.
    const png = await tickets.first().locator('svg.qr').screenshot();
    const scanned = await decodeQr(page, png);
    expect(scanned).toBe(codes[0]);

    // At the gate: the code from the screen, read by the (virtual) QR scanner, admits, and the turnstile turns.
    const ticketId = scanned!.slice(4);
    // The sale reached the gate's own whitelist over MQTT (a signed delta) before the visitor walks up.
    await until(() => usedOnGate(gate, ticketId) !== undefined, 'the ticket in the gate whitelist', 15_000);
    const pulses = hw.relay.pulses.length;
    await hw.scanner.scan(scanned!);
    await gate.proc!.waitFor((l) => l.some((x) => (x.event === 'admit' || x.event === 'reject') && x.ticketId === ticketId), 15_000);
    const decision = gate.proc!.logs.find((x) => (x.event === 'admit' || x.event === 'reject') && x.ticketId === ticketId)!;
    expect(decision.event, JSON.stringify(decision)).toBe('admit');
    await expect.poll(() => hw.relay.pulses.length, { timeout: 5000 }).toBe(pulses + 1);
    // The same code again is refused: one entry per ticket.
    await hw.scanner.scan(scanned!);
    await gate.proc!.waitFor((l) => l.filter((x) => x.ticketId === ticketId && (x.event === 'admit' || x.event === 'reject')).length === 2, 15_000);
    expect(gate.proc!.logs.filter((x) => x.ticketId === ticketId && x.event === 'reject')).toHaveLength(1);

    // The same person again on the same day: the server's real-name rule, said in plain words on the visitor's field.
    await page.locator('.bar button.primary').click(); // book again
    await expect.poll(() => page.locator('#day-left').textContent(), { timeout: 10_000 }).toMatch(/^当前剩余票量 \d+ 张$/);
    await page.locator(`label[data-slot="${slotNow.id}"]`).click();
    await page.locator('label[data-type="adult"]').click();
    await page.locator('#pick-next').click();
    await page.locator('input[name="name0"]').fill('张伟');
    await page.locator('input[name="id0"]').fill(idNumber(101));
    await page.locator('#visitors-next').click();
    await expect.poll(() => page.locator('#notice').textContent(), { timeout: 10_000 }).toBe('游客 1这一天已经订过票了，每人每天限购。');
    expect(await page.locator('[data-step]').getAttribute('data-step')).toBe('visitors');
    await snap(page, 'refused-already-booked');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('in English with large text: a family package paid by WeChat QR, then refunded from "My orders"', async () => {
    const page = await context.newPage();
    const errors = pageErrors(page);
    await page.goto(`${base}/book/${SITE}?lang=en`);
    await expect.poll(() => page.locator('#day-left').textContent(), { timeout: 10_000 }).toMatch(/^\d+ tickets left$/);
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    // Large text: a visible toggle, remembered on this phone.
    const before = await page.locator('#day-left').evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
    await page.locator('#large-toggle').click();
    expect(await page.locator('#large-toggle').getAttribute('aria-pressed')).toBe('true');
    await page.reload();
    await expect.poll(() => page.locator('#day-left').textContent(), { timeout: 10_000 }).toMatch(/tickets left/);
    expect(await page.locator('html').getAttribute('class')).toContain('large');
    expect(await page.locator('#day-left').evaluate((e) => parseFloat(getComputedStyle(e).fontSize))).toBeGreaterThanOrEqual(before * 1.25);
    // Tomorrow, a family of three (one ticket, three real names); prices in English.
    await page.locator('.chip').nth(1).click();
    await expect.poll(() => page.locator('label[data-slot="s08"]').getAttribute('data-state'), { timeout: 10_000 }).toBe('open');
    await page.locator('label[data-slot="s08"]').click();
    await page.locator('label[data-type="family"]').click();
    expect(await page.locator('label[data-type="family"]').textContent()).toContain('Package for 3');
    expect(await page.locator('#total').textContent()).toBe('¥180');
    await snap(page, 'pick-en-large');
    await page.locator('#pick-next').click();
    expect(await page.locator('fieldset.visitor legend').allTextContents()).toEqual(['Ticket 1 · Visitor 1', 'Ticket 1 · Visitor 2', 'Ticket 1 · Visitor 3']);
    for (let i = 0; i < 3; i++) {
      await page.locator(`input[name="name${i}"]`).fill(['Li Na', 'Liu Yang', 'Liu Xiaoming'][i]!);
      await page.locator(`input[name="id${i}"]`).fill(idNumber(200 + i));
    }
    await page.locator('#visitors-next').click();
    // Still verified from the first booking (the session is kept on this phone): straight to payment.
    const qrButton = page.locator('.pay-buttons button[data-provider="wechat"][data-method="qr"]');
    await qrButton.waitFor({ timeout: 10_000 });
    const orderId = decodeURIComponent(/#pay\/(.+)$/.exec(page.url())![1]!);
    await qrButton.click();
    await page.locator('#pay-qr svg.qr').waitFor();
    expect(await page.locator('#pay-qr p').textContent()).toBe('Scan this code with WeChat to pay');
    await snap(page, 'pay-wechat-qr-en');
    // The visitor scans it with WeChat on the phone of a friend and pays there.
    const codeUrl = await decodeQr(page, await page.locator('#pay-qr svg.qr').screenshot());
    const trade = ((await (await fetch(`${sim.baseUrl}/sim/trades?provider=wechat`)).json()) as { outTradeNo: string; codeUrl?: string }[]).find((x) => x.codeUrl === codeUrl);
    expect(trade, `a WeChat trade with code_url ${codeUrl}`).toBeDefined();
    expect((await fetch(`${sim.baseUrl}/sim/trades/wechat/${trade!.outTradeNo}/pay`, { method: 'POST' })).status).toBe(200);
    await expect.poll(() => page.locator('#paid-banner').textContent(), { timeout: 15_000 }).toBe('Payment received');
    expect(await page.locator('figure.ticket figcaption strong').textContent()).toBe('Admits 3');

    // 6. My orders → another date (same price), then a refund with a reason from the park's list.
    await page.locator('#orders-link').click();
    const card = page.locator(`article[data-order="${orderId}"]`);
    await card.waitFor({ timeout: 10_000 });
    expect(await card.getAttribute('data-status')).toBe('paid');
    const codeBefore = await page.evaluate(async (id) => {
      const w = window as unknown as { __stileBooking: { ctx: { api: { order(id: string): Promise<{ tickets: { code: string }[] }> } } } };
      return (await w.__stileBooking.ctx.api.order(id)).tickets[0]!.code;
    }, orderId);
    await card.locator('button[data-action="rebook"]').click();
    const later = localDate(Date.now() + 2 * 86_400_000, TZ);
    await card.locator('input[type="date"]').fill(later);
    await card.locator('input[type="date"]').dispatchEvent('change');
    await expect.poll(() => card.locator('select[name="slot"] option[value="s08"]').textContent(), { timeout: 10_000 }).toMatch(/^08:00–12:00 · \d+ left$/);
    await card.locator('select[name="slot"]').selectOption('s08');
    await card.locator('button[data-action="rebook-confirm"]').click();
    await expect.poll(() => card.locator('.panel p').last().textContent(), { timeout: 10_000 }).toBe('Date changed; your new entry code is valid.');
    await expect.poll(() => page.locator(`article[data-order="${orderId}"] p`).first().textContent(), { timeout: 10_000 }).toContain('08:00–12:00');
    const codeAfter = await page.evaluate(async (id) => {
      const w = window as unknown as { __stileBooking: { ctx: { api: { order(id: string): Promise<{ date: string; tickets: { code: string }[] }> } } } };
      const o = await w.__stileBooking.ctx.api.order(id);
      return [o.date, o.tickets[0]!.code];
    }, orderId);
    expect(codeAfter[0]).toBe(later);
    expect(codeAfter[1]).not.toBe(codeBefore);
    await page.locator(`article[data-order="${orderId}"] button[data-action="refund"]`).click();
    expect(await card.locator('select[name="reason"] option').allTextContents()).toEqual(['Bad weather', 'Changed plans']);
    await card.locator('select[name="reason"]').selectOption('changed_plans');
    await snap(page, 'orders-refund-en');
    await card.locator('button[data-action="refund-confirm"]').click();
    await expect.poll(() => card.locator('.panel p').last().textContent(), { timeout: 10_000 }).toBe('Refund submitted; the money goes back the way you paid.');
    await expect.poll(() => page.locator(`article[data-order="${orderId}"]`).getAttribute('data-status'), { timeout: 10_000 }).toBe('refunded');
    await snap(page, 'orders-refunded-en');
    await page.locator('#large-toggle').click(); // back to normal for the next test
    expect(errors).toEqual([]);
    await page.close();
  });

  it('at 360×640: nothing jumps or spills over, every field has a label, the text has contrast', async () => {
    const small = await browser.newContext({ viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true, userAgent: IPHONE, locale: 'zh-CN', timezoneId: TZ });
    const page = await small.newPage();
    const errors = pageErrors(page);
    await page.addInitScript(() => {
      (window as unknown as { __shift: number }).__shift = 0;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries() as (PerformanceEntry & { value: number; hadRecentInput: boolean })[]) if (!e.hadRecentInput) (window as unknown as { __shift: number }).__shift += e.value;
      }).observe({ type: 'layout-shift', buffered: true });
    });
    await page.goto(`${base}/book/${SITE}`);
    const typesTop = () => page.locator('fieldset.types').evaluate((e) => e.getBoundingClientRect().top);
    await page.locator('fieldset.types').waitFor();
    const topBefore = await typesTop();
    await expect.poll(() => page.locator('#day-left').count(), { timeout: 10_000 }).toBe(1);
    // The count arrived without moving what is below it.
    expect(await typesTop()).toBe(topBefore);
    expect(await page.evaluate(() => (window as unknown as { __shift: number }).__shift)).toBeLessThan(0.02);
    const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    expect(await fits()).toBe(true);
    await page.locator(`label[data-slot="${slotNow.id}"]`).click();
    await page.locator('label[data-type="adult"]').click();
    await page.locator('#pick-next').click();
    expect(await fits()).toBe(true);
    // The step's heading has the focus (a screen reader announces the new step).
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('step-title');
    const unlabelled = () => page.evaluate(() => Array.from(document.querySelectorAll('input, select')).filter((i) => (i as HTMLInputElement).labels?.length === 0 && !i.getAttribute('aria-label')).map((i) => i.outerHTML));
    expect(await unlabelled()).toEqual([]);
    // Contrast (WCAG AA, 4.5:1) of the main text, muted text, buttons and header.
    const ratios = await page.evaluate(() => {
      const lum = (c: string) => {
        const [r, g, b] = (c.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((v) => {
          const s = Number(v) / 255;
          return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
        }) as [number, number, number];
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const bgOf = (e: Element | null): string => {
        for (; e; e = e.parentElement) {
          const bg = getComputedStyle(e).backgroundColor;
          if (bg && !/rgba\(.*, 0\)$|transparent/.test(bg)) return bg;
        }
        return 'rgb(255, 255, 255)';
      };
      const ratio = (e: Element) => {
        const [a, b] = [lum(getComputedStyle(e).color), lum(bgOf(e))];
        return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      };
      return ['.step-title', '.muted', '.primary', '.secondary', '#site-name', 'label'].map((s) => [s, ratio(document.querySelector(s)!)] as const);
    });
    for (const [sel, r] of ratios) expect(r, sel).toBeGreaterThanOrEqual(4.5);
    expect(errors).toEqual([]);
    await small.close();
  });
});
