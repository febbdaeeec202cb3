import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser.js';
import type { CloudBridge } from '../src/bridge.js';
import { parseCatalogue, sha256Hex } from '../src/core/catalogue.js';
import type { SiteConfig } from '../src/core/sites.js';
import type { ScreenModel } from '../src/modules/screen/model.js';
import { entriesMessage, idNumber, testBridge, testClient, testDb, testSite, uniqueId, type TestDb } from './helpers.js';

// STILE_SCREEN_SCREENSHOTS=1 writes the TV screenshots into docs/img (the ones docs/park-operations.md shows).
const SHOTS = process.env.STILE_SCREEN_SCREENSHOTS ? new URL('../../docs/img/', import.meta.url).pathname : join(tmpdir(), `stile-screen-${process.pid}`);
// The npm Chromium reads only its own fonts; for the screenshots let it use the system's (a CJK font: fonts-noto-cjk).
if (process.env.STILE_SCREEN_SCREENSHOTS && !process.env.FONTCONFIG_PATH && existsSync('/etc/fonts/fonts.conf')) process.env.FONTCONFIG_PATH = '/etc/fonts';

const KIOSK = 'screen-e2e-kiosk-key-0123456789';
const WEB = 'screen-e2e-web-key-0123456789';
/** The cloud's clock: 10:30 on a Wednesday in Shanghai (the 08:00 slot is over, four are on sale). */
const NOW = new Date('2027-03-10T10:30:00+08:00');
const DAY = '2027-03-10';

function catalogue() {
  return parseCatalogue({
    name: { 'zh-CN': '青山湖风景区', en: 'Qingshan Lake Scenic Area' },
    ticketTypes: [{ id: 'adult', name: '成人票', priceFen: 8000 }],
    slots: [
      { id: 's08', start: '08:00', end: '10:00', quota: 60, name: { 'zh-CN': '早场', en: 'Morning' } },
      { id: 's10', start: '10:00', end: '12:00', quota: 60 },
      { id: 's12', start: '12:00', end: '14:00', quota: 60 },
      { id: 's14', start: '14:00', end: '16:00', quota: 50 },
      { id: 's16', start: '16:00', end: '17:30', quota: 30 },
    ],
    channels: [
      { id: 'web', kind: 'online', apiKeySha256: sha256Hex(WEB) },
      { id: 'kiosk', kind: 'kiosk', apiKeySha256: sha256Hex(KIOSK) },
    ],
    refundReasons: [{ code: 'weather', label: '天气' }],
  });
}

/** Script errors and console errors (a CSP violation is one) of a page, to assert there are none. */
function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => void errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/net::ERR_CONNECTION_REFUSED|Failed to load resource/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/**
 * The entrance screen in a real headless Chromium on a TV's viewport, against a real
 * cloud-bridge on the real Mosquitto: sales through the channel API and admissions as a gate
 * sends them change the page live; it reads in both languages; and when the cloud goes away the
 * page says so, then carries on by itself once it is back.
 */
describe('entrance screen in Chromium', () => {
  let browser: Browser;
  let bridge: CloudBridge;
  let db: TestDb;
  let mqtt: MqttClient;
  let site: SiteConfig;
  let base: string;
  let visitor = 0;
  let seq = 0;
  const options = { clock: () => NOW };

  const sell = async (n: number, slotId: string, key = KIOSK): Promise<string[]> => {
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const visitors = Array.from({ length: n }, () => ({ name: `游客${++visitor}`, idNumber: idNumber(7000 + visitor) }));
    const res = await fetch(`${base}/v1/channel/orders`, { method: 'POST', headers: { ...auth, 'idempotency-key': uniqueId('idem') }, body: JSON.stringify({ typeId: 'adult', date: DAY, slotId, contactPhone: '13800138000', visitors }) });
    const order = (await res.json()) as { orderId: string; amountFen: number };
    expect(res.status, JSON.stringify(order)).toBe(201);
    const paid = await fetch(`${base}/v1/channel/orders/${order.orderId}/pay`, { method: 'POST', headers: { ...auth, 'idempotency-key': uniqueId('idem') }, body: JSON.stringify({ paymentRef: uniqueId('pay'), amountFen: order.amountFen }) });
    expect(paid.status).toBe(200);
    return ((await paid.json()) as { tickets: { ticketId: string }[] }).tickets.map((t) => t.ticketId);
  };
  /** Gate east-1 admits these tickets, as a gate reports them (MQTT, QoS 1). */
  const admit = async (tickets: string[]) => {
    const events = tickets.map((ticketId) => ({ eventId: uniqueId('ev'), seq: String(++seq), epoch: 1, kind: 'admit', ticketId, typeId: 'adult', credential: 'qr', persons: 1, at: '2027-03-10T10:25:00+08:00' }));
    await mqtt.publishAsync(`stile/${site.id}/gates/east-1/entries`, entriesMessage(site.id, 'east-1', events), { qos: 1 });
  };
  /** The page's connection state (window.__stileScreen, web/screen/main.ts). */
  const connState = (page: Page) => page.evaluate(() => (window as unknown as { __stileScreen?: { state: string } }).__stileScreen?.state);
  const text = async (page: Page, selector: string) => ((await page.locator(selector).first().textContent()) ?? '').trim();
  const model = async (): Promise<ScreenModel> => (await (await fetch(`${base}/screen/${site.id}/model`)).json()) as ScreenModel;

  beforeAll(async () => {
    db = await testDb('sqlite');
    const s = testSite(['east-1']);
    site = { ...s.config, sales: { catalogue: catalogue(), capacity: { daily: 200, yellow: 0.7, orange: 0.85 }, idHashKey: 'screen-e2e-id-hash-key-0123456789', staffTokenSha256: createHash('sha256').update('staff').digest('hex') } };
    bridge = await testBridge(db, [site], options);
    base = `http://127.0.0.1:${bridge.httpPort}`;
    mqtt = await testClient();
    browser = (await launchChromium()).browser;
  }, 90_000);

  afterAll(async () => {
    if (!process.env.STILE_SCREEN_SCREENSHOTS) rmSync(SHOTS, { recursive: true, force: true });
    await browser?.close();
    await mqtt?.endAsync();
    await bridge?.close();
    await db?.cleanup();
  });

  it('on a 1920×1080 TV, in both languages: a sale and an admission show live, readable from across the entrance', async () => {
    // A busy morning: 140 of 200 sold (yellow from 140).
    for (const [n, slot] of [[50, 's10'], [50, 's12'], [40, 's14']] as const) await sell(n, slot);
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    const page = await context.newPage();
    const errors = pageErrors(page);
    const requested: string[] = [];
    page.on('request', (r) => void requested.push(r.url()));
    await page.goto(`${base}/screen/${site.id}`);
    await expect.poll(() => connState(page), { timeout: 10_000 }).toBe('live');
    await expect.poll(() => text(page, '#remaining'), { timeout: 10_000 }).toBe('60');
    expect(await text(page, '#admitted')).toBe('0');
    expect(await page.locator('#level').getAttribute('data-level')).toBe('yellow');
    // Both languages at once: the Chinese label and its English line, both announcements.
    expect(await page.locator('#tickets .label .zh').textContent()).toBe('当前剩余票量');
    expect(await page.locator('#tickets .label .en').isVisible()).toBe(true);
    // The park's and a slot's names from the catalogue, in both languages.
    expect(await page.locator('#site-name .zh').textContent()).toBe('青山湖风景区');
    expect(await page.locator('#site-name .en').isVisible()).toBe(true);
    expect(await page.locator('#site-name').innerText()).toMatch(/^青山湖风景区\s*Qingshan Lake Scenic Area$/);
    expect(await page.locator('#slots li[data-slot="s08"] .slot-name').innerText()).toMatch(/^早场\s*Morning$/);
    expect(await page.locator('#slots li[data-slot="s10"] .slot-name').count()).toBe(0);
    await expect.poll(() => text(page, '#notice-zh')).toMatch(/70%/);
    expect(await page.locator('#notice-zh').isVisible()).toBe(true);
    expect(await page.locator('#notice-en').isVisible()).toBe(true);
    expect(await text(page, '#notice-en')).toMatch(/almost full today \(70% of capacity\)/);
    const slots = () => page.locator('#slots li').evaluateAll((lis) => lis.map((li) => [li.getAttribute('data-slot'), li.getAttribute('data-state'), li.querySelector('.left .zh')?.textContent]));
    expect(await slots()).toEqual([
      ['s08', 'over', '已结束'],
      ['s10', 'open', '余 10 张'],
      ['s12', 'open', '余 10 张'],
      ['s14', 'open', '余 10 张'],
      ['s16', 'open', '余 30 张'],
    ]);

    // A visitor buys 3 at the window for 10:00–12:00: the numbers drop at once, no reload.
    const tickets = await sell(3, 's10');
    await expect.poll(() => text(page, '#remaining'), { timeout: 5000 }).toBe('57');
    await expect.poll(async () => (await slots())[1]![2]).toBe('余 7 张');
    // They walk through the east gate.
    await admit(tickets);
    await expect.poll(() => text(page, '#admitted'), { timeout: 10_000 }).toBe('3');

    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'screen-tv.png') });
    // Readable from 10 m: the two numbers are a fifth of the screen's height, nothing spills off the screen.
    const numberPx = await page.locator('#remaining').evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
    expect(numberPx).toBeGreaterThanOrEqual(200);
    expect(await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight])).toEqual([1920, 1080]);
    const bottom = await page.locator('#notice-en').evaluate((e) => e.getBoundingClientRect().bottom);
    expect(bottom).toBeLessThanOrEqual(1080);
    // Only its own script and style sheet and its own stream, and nothing refused by the CSP.
    expect(requested.filter((u) => !u.startsWith(base))).toEqual([]);
    expect(requested.some((u) => u === `${base}/screen/${site.id}/stream`)).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('on a 1366×768 TV, one language each: English and Chinese, up to red', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'en-US', timezoneId: 'Asia/Shanghai' });
    const en = await context.newPage();
    const zh = await context.newPage();
    const errors = [...pageErrors(en), ...pageErrors(zh)];
    await en.goto(`${base}/screen/${site.id}?lang=en`);
    await zh.goto(`${base}/screen/${site.id}?lang=zh-CN`);
    for (const page of [en, zh]) await expect.poll(() => connState(page), { timeout: 10_000 }).toBe('live');
    expect(await en.locator('html').getAttribute('lang')).toBe('en');
    expect(await en.locator('h1').innerText()).toBe('Today at the park');
    expect(await en.locator('#tickets .label').innerText()).toBe('Tickets left today');
    expect(await en.locator('#notice-zh').isVisible()).toBe(false);
    expect(await en.locator('#site-name').innerText()).toBe('Qingshan Lake Scenic Area');
    expect(await en.locator('#slots li[data-slot="s08"] .slot-name').innerText()).toBe('Morning');
    expect(await zh.locator('#site-name').innerText()).toBe('青山湖风景区');
    expect(await zh.locator('#slots li[data-slot="s08"] .slot-name').innerText()).toBe('早场');
    expect(await zh.locator('h1').innerText()).toBe('今日入园信息');
    expect(await zh.locator('#tickets .label').innerText()).toBe('当前剩余票量');
    expect(await zh.locator('#notice-en').isVisible()).toBe(false);

    // The window sells the rest of the day: both pages go red, say so, and show nothing left.
    const left = (await model()).remaining;
    for (const [n, slot] of [[7, 's10'], [10, 's12'], [10, 's14'], [30, 's16']] as const) await sell(n, slot);
    expect(left).toBe(57);
    for (const page of [en, zh]) {
      await expect.poll(() => page.locator('#level').getAttribute('data-level'), { timeout: 10_000 }).toBe('red');
      await expect.poll(() => text(page, '#remaining')).toBe('0');
    }
    expect(await en.locator('#level-name').innerText()).toBe('Full');
    expect(await en.locator('#sales-note').innerText()).toBe('Ticket sales have stopped for today');
    expect(await en.locator('#notice-en').innerText()).toMatch(/Visitors with a ticket for today can still enter/);
    expect(await zh.locator('#level-name').innerText()).toBe('已满员');
    expect(await zh.locator('#sales-note').innerText()).toBe('今日已停止售票');
    expect(await zh.locator('#notice-zh').innerText()).toMatch(/持今日门票的游客仍可凭票入园/);
    for (const page of [en, zh]) {
      expect(await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight])).toEqual([1366, 768]);
      expect(await page.locator('#remaining').evaluate((e) => parseFloat(getComputedStyle(e).fontSize))).toBeGreaterThanOrEqual(140);
    }
    await en.screenshot({ path: join(SHOTS, 'screen-tv-en.png') });

    // An LED board's small browser (384×192, Chinese only): the numbers, the level and the announcement, large.
    const led = await browser.newContext({ viewport: { width: 384, height: 192 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    const board = await led.newPage();
    errors.push(...pageErrors(board));
    await board.goto(`${base}/screen/${site.id}?lang=zh-CN`);
    await expect.poll(() => text(board, '#remaining'), { timeout: 10_000 }).toBe('0');
    expect(await board.locator('#level-name').innerText()).toBe('已满员');
    expect(await board.locator('#slots-section').isVisible()).toBe(false);
    expect(await board.locator('#remaining').evaluate((e) => parseFloat(getComputedStyle(e).fontSize))).toBeGreaterThanOrEqual(50);
    expect(await board.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight])).toEqual([384, 192]);
    await board.screenshot({ path: join(SHOTS, 'screen-led.png') });
    await led.close();
    expect(errors).toEqual([]);
    await context.close();
  });

  it('when the cloud goes away the screen says since when and greys its numbers; it comes back by itself', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    const page = await context.newPage();
    const errors = pageErrors(page);
    await page.goto(`${base}/screen/${site.id}`);
    await expect.poll(() => connState(page), { timeout: 10_000 }).toBe('live');
    expect(await page.locator('#lost').isVisible()).toBe(false);
    const admitted = await text(page, '#admitted');

    // The cloud stops (an upgrade, a crash): the stream drops and nothing answers.
    const port = bridge.httpPort;
    await bridge.close();
    await expect.poll(() => connState(page), { timeout: 15_000 }).toBe('lost');
    const lost = page.locator('#lost');
    expect(await lost.isVisible()).toBe(true);
    // The time is the server's (park time) of the last news: 10:30 on the cloud's clock.
    expect(await lost.locator('.zh').textContent()).toBe('连接中断（自 10:30 起），屏幕上的数字可能不是最新');
    expect(await lost.locator('.en').textContent()).toBe('Connection lost since 10:30: the numbers on this screen may be out of date');
    expect(await page.locator('#remaining').evaluate((e) => getComputedStyle(e).color)).toBe('rgb(122, 122, 122)');
    expect(await text(page, '#admitted')).toBe(admitted); // still there, greyed, not blanked
    await page.screenshot({ path: join(SHOTS, 'screen-tv-lost.png') });

    // Back on the same port: the page reconnects on its own (backoff 1, 2, 4 … s) and shows what happened meanwhile.
    bridge = await testBridge(db, [site], { ...options, httpPort: port });
    const more = await sell(1, 's16').catch(() => null); // red: sales refused, the numbers stay
    expect(more).toBeNull();
    await admit([(await freshTicket())]);
    await expect.poll(() => connState(page), { timeout: 30_000 }).toBe('live');
    expect(await lost.isVisible()).toBe(false);
    await expect.poll(() => text(page, '#admitted'), { timeout: 10_000 }).toBe(String(Number(admitted) + 1));
    expect(await page.locator('#remaining').evaluate((e) => getComputedStyle(e).color)).not.toBe('rgb(122, 122, 122)');
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  /** A ticket sold earlier and not yet admitted (red: nothing more can be sold). */
  async function freshTicket(): Promise<string> {
    const row = await bridge.store.db.selectFrom('tickets').select('ticket_id').where('site', '=', site.id).where('entries_used', '=', 0).limit(1).executeTakeFirstOrThrow();
    return row.ticket_id;
  }
});
