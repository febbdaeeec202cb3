/**
 * The kiosk's touchscreen page in Chromium with a touch viewport (1080×1920, hasTouch),
 * driving a real kiosk daemon on simulated devices and a real cloud (test/daemon/kiosk-harness.ts):
 * a cash sale (type, date, persons by touch; two ID cards on the simulated reader; two notes
 * into the simulated validator; change from the hopper; "take your tickets"; the printed QR
 * codes decode to the order's tickets), a payment-code sale in English, the QR code on screen
 * paid from the phone, and the refusal and fault screens. The local API's guards over HTTP.
 *
 * STILE_KIOSK_SCREENSHOTS=1 writes the screenshots into docs/img (the ones docs/kiosk-screen.md shows).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../../cloud-bridge/test/browser.js';
import type { KioskConfigFile } from '../../src/config.js';
import { startKiosk, type KioskDaemon } from '../../src/daemon/kiosk-daemon.js';
import type { Phase } from '../../src/sale/model.js';
import { KEYS, nextIdNumber, scanPng, startKioskPark, type KioskPark } from '../daemon/kiosk-harness.js';

const SHOOT = process.env.STILE_KIOSK_SCREENSHOTS === '1';
const SHOTS = SHOOT ? new URL('../../../docs/img/', import.meta.url).pathname : join(tmpdir(), `stile-kiosk-screen-${process.pid}`);
// The npm Chromium reads only its own fonts; for the screenshots let it use the system's (a CJK font: fonts-noto-cjk).
if (SHOOT && !process.env.FONTCONFIG_PATH && existsSync('/etc/fonts/fonts.conf')) process.env.FONTCONFIG_PATH = '/etc/fonts';

let park: KioskPark;
let kiosk: KioskDaemon | undefined;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let phases: Phase[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  // Hopper coins paid at 60 ms each: the change screen stays long enough to be seen.
  park = await startKioskPark({ coinMs: 60 });
  browser = (await launchChromium()).browser;
  context = await browser.newContext({ viewport: { width: 1080, height: 1920 }, hasTouch: true, deviceScaleFactor: 0.5, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  page = await context.newPage();
}, 60_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await kiosk?.stop();
  await park?.close();
  if (!SHOOT) rmSync(SHOTS, { recursive: true, force: true });
});

/** A kiosk with its screen on a free loopback port, and the page open on it. */
async function openKiosk(over: (c: KioskConfigFile) => void = () => undefined): Promise<string> {
  await kiosk?.stop();
  kiosk = await startKiosk(
    park.config((c) => {
      c.screen = { host: '127.0.0.1', port: 0 };
      c.sale = { ...c.sale, doneMs: 3000 };
      over(c);
    }),
  );
  phases = [];
  kiosk.runtime.subscribe((s) => {
    if (phases.at(-1) !== s.phase) phases.push(s.phase);
  });
  const base = `http://127.0.0.1:${kiosk.screen!.port}`;
  await page.goto(`${base}/`);
  await screen('welcome');
  return base;
}

async function screen(id: string, timeout = 15_000): Promise<void> {
  await page.waitForSelector(`body[data-screen="${id}"]`, { timeout });
}

const tap = (selector: string) => page.tap(selector);

/** Wait for an element to show exactly this text (the page redraws when the daemon answers). */
async function hasText(selector: string, text: string, timeout = 10_000): Promise<void> {
  await page.waitForFunction(([sel, want]) => document.querySelector(sel!)?.textContent === want, [selector, text], { timeout });
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `kiosk-${name}.png`), animations: 'disabled', caret: 'hide' });
}

/** Buttons smaller than 64 CSS px either way (a finger's target on a kiosk), by their text. */
async function smallTargets(): Promise<string[]> {
  return page.$$eval('button', (bs) =>
    bs
      .filter((b) => (b as HTMLElement).offsetParent !== null)
      .filter((b) => {
        const r = b.getBoundingClientRect();
        return r.width < 64 || r.height < 64;
      })
      .map((b) => `${b.id || b.className}: ${b.textContent}`),
  );
}

async function noticeKey(): Promise<string | null> {
  return page.locator('#notice').getAttribute('data-key', { timeout: 5000 });
}

/** Waits for the notice and returns its text as shown then: a passing notice may be redrawn a moment later. */
async function waitNotice(key: string, timeout = 15_000): Promise<string> {
  const shown = await page.waitForSelector(`#notice[data-key="${key}"]`, { timeout });
  return (await shown?.textContent()) ?? '';
}

/** The note into the validator, once the machine has enabled it. */
async function insert(fen: number | 'fake'): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    const r = park.cash.validator!.insertNote(fen);
    if (r !== 'busy' && (fen === 'fake' || r === 'held' || r === 'stacked')) return;
    if (Date.now() > end) throw new Error(`the validator did not take the note (${r})`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** Start, the first type for `persons` (the catalogue has one, ¥80), each visitor's ID card on the reader: the review screen. */
async function toReview(persons = 1): Promise<string[]> {
  await tap('#start');
  await screen('choose');
  await page.waitForSelector('.level');
  for (let i = 1; i < persons; i++) await tap('#more');
  await tap('#next');
  await screen('identify');
  const ids: string[] = [];
  for (let i = 0; i < persons; i++) {
    const id = nextIdNumber();
    ids.push(id);
    park.reader.placeCard({ idNumber: id, name: ['张三', '李四', '王五'][i] ?? '赵六' });
    if (i < persons - 1) await page.waitForSelector(`#progress:has-text("第 ${i + 2} 位")`);
    else await screen('review');
    park.reader.removeCard();
    if (i < persons - 1) await page.waitForFunction((n) => document.querySelectorAll('#visitors li').length === n, i + 1);
  }
  return ids;
}

/** The QR codes of the tickets printed since `from`, decoded from the simulated printer's PNGs. */
function printedCodes(from: number): string[] {
  return park.printer.pages
    .slice(from)
    .filter((p) => p.qrPngs.length > 0 && p.text.includes('票种 Type'))
    .map((p) => scanPng(p.qrPngs[0]!)!);
}

async function orderOf(saleId: string | undefined): Promise<{ orderId: string }> {
  const placed = kiosk!.journal.saleEntries(saleId!).find((e) => e.kind === 'order_placed') as { orderId: string } | undefined;
  expect(placed).toBeDefined();
  return placed!;
}

describe('the touchscreen page on a real kiosk (Chromium, 1080×1920 touch)', { timeout: 60_000 }, () => {
  let base: string;
  beforeAll(async () => {
    base = await openKiosk();
  }, 60_000);

  it('a cash sale by touch: 2 visitors, 2 ID cards, ¥200 in notes for ¥160, ¥40 change, the printed codes are the order\'s tickets', async () => {
    await shot('01-welcome');
    expect(await page.textContent('#start')).toContain('开始购票');
    const from = park.printer.pages.length;
    const coins = park.cash.hopper!.coins;
    await tap('#start');
    await screen('choose');
    await page.waitForSelector('.level');
    await tap('#more');
    await hasText('#count', '2');
    expect(await smallTargets()).toEqual([]);
    await shot('02-choose');
    await tap('#next');
    await screen('identify');
    const [first, second] = [nextIdNumber(), nextIdNumber()];
    park.reader.placeCard({ idNumber: first, name: '张三' });
    await page.waitForSelector('#progress:has-text("第 2 位，共 2 位")');
    park.reader.removeCard();
    await shot('03-identify');
    // The screen and its API show the masked number and a masked name, never the full number.
    const shown = await page.textContent('#visitors');
    expect(shown).toContain(`**************${first.slice(-4)}`);
    expect(shown).toContain('张*');
    expect(await page.content()).not.toContain(first);
    expect(await (await fetch(`${base}/state`)).text()).not.toContain(first);
    park.reader.placeCard({ idNumber: second, name: '李四' });
    await screen('review');
    park.reader.removeCard();
    await hasText('.order .total dd', '¥160');
    expect(await smallTargets()).toEqual([]);
    await shot('04-review');
    await tap('[data-method="cash"]');
    await screen('cash');
    await shot('05-cash');
    await insert(10000);
    await hasText('#sum-paid', '¥100');
    await hasText('#sum-due', '¥60');
    await insert(10000);
    await screen('change');
    await hasText('#sum-change', '¥40');
    await shot('06-change');
    await screen('done');
    const saleId = kiosk!.runtime.state().sale?.id;
    expect(await noticeKey()).toBe('take_ticket');
    expect(await page.textContent('#notice')).toContain('出票成功');
    await shot('07-done');

    expect(coins - park.cash.hopper!.coins).toBe(40);
    const order = await park.getOrder((await orderOf(saleId)).orderId, KEYS.cash);
    expect(order.status).toBe('paid');
    const codes = printedCodes(from);
    expect(codes).toHaveLength(2);
    expect(codes.every((c) => /^ST1:/.test(c))).toBe(true);
    expect(order.tickets.map((t: { code: string }) => t.code).sort()).toEqual([...codes].sort());
    expect(phases).toEqual(expect.arrayContaining(['choosing', 'identifying', 'quoting', 'review', 'placing', 'cash', 'change', 'recording', 'printing', 'done']));
    // Done counts down to the start, and the next visitor starts afresh.
    await screen('welcome', 10_000);
  });

  it('a payment-code sale in English: the switch on the screen, the code at the scanner, the ticket; back in Chinese for the next visitor', async () => {
    const from = park.printer.pages.length;
    await tap('#start');
    await screen('choose');
    await tap('#lang');
    await hasText('#next', 'Next');
    expect(await page.textContent('#guide')).toContain('Choose the ticket type');
    await page.waitForSelector('.level');
    await tap('#next');
    await screen('identify');
    park.reader.placeCard({ idNumber: nextIdNumber(), name: 'Li Lei' });
    await screen('review');
    park.reader.removeCard();
    await shot('08-review-en');
    await tap('[data-method="code"]');
    await screen('code');
    expect(await page.textContent('#guide')).toContain('payment code');
    await shot('09-code-en');
    await park.scanner.scan('134567890123456700');
    await screen('done');
    const saleId = kiosk!.runtime.state().sale?.id;
    expect(await page.textContent('#notice')).toContain('please take your tickets');
    const codes = printedCodes(from);
    expect(codes).toHaveLength(1);
    const order = await park.getOrder((await orderOf(saleId)).orderId);
    expect(order).toMatchObject({ status: 'paid', paymentMode: 'provider' });
    expect(order.tickets[0].code).toBe(codes[0]);
    await screen('welcome', 10_000);
    await hasText('#lang', 'English');
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
  });

  it('the QR code on screen (WeChat Pay Native): decoded from the screen, paid on the "phone", the ticket prints', async () => {
    const from = park.printer.pages.length;
    await toReview();
    await tap('[data-method="qr"]');
    await screen('qr');
    await page.waitForSelector('#pay-qr svg.qr');
    expect(await page.textContent('#countdown-text')).toMatch(/请在 \d+ 秒内完成付款/);
    await shot('10-qr');
    const codeUrl = scanPng(await page.locator('#pay-qr svg.qr').screenshot({ scale: 'device' }));
    expect(codeUrl).toMatch(/^weixin:\/\//);
    const trades = (await (await fetch(`${park.paysim.baseUrl}/sim/trades?provider=wechat`)).json()) as { outTradeNo: string; codeUrl?: string }[];
    const trade = trades.find((t) => t.codeUrl === codeUrl);
    expect(trade).toBeDefined();
    expect((await fetch(`${park.paysim.baseUrl}/sim/trades/wechat/${trade!.outTradeNo}/pay`, { method: 'POST' })).status).toBe(200);
    await screen('done', 20_000);
    expect(printedCodes(from)).toHaveLength(1);
    await screen('welcome', 10_000);
  });

  it('landscape 1920×1080: the same page, no sideways scrolling, targets still 64 px', async () => {
    const wide = await browser.newContext({ viewport: { width: 1920, height: 1080 }, hasTouch: true, deviceScaleFactor: 0.5, locale: 'zh-CN' });
    const p = await wide.newPage();
    try {
      await p.goto(`${base}/`);
      await p.waitForSelector('body[data-screen="welcome"]');
      expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1920);
      const start = await p.locator('#start').boundingBox();
      expect(start!.height).toBeGreaterThan(400);
      if (SHOOT) await p.screenshot({ path: join(SHOTS, 'kiosk-25-landscape-welcome.png'), animations: 'disabled' });
    } finally {
      await wide.close();
    }
  });

  it('the local API: CSP nonce and SRI on the page, JSON touches only, nothing from another host or origin', async () => {
    const res = await fetch(`${base}/`);
    const csp = res.headers.get('content-security-policy')!;
    const html = await res.text();
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1]!;
    expect(html).toContain(`nonce="${nonce}"`);
    expect(csp).toContain("frame-ancestors 'none'");
    const src = /<script src="([^"]+)" integrity="([^"]+)"/.exec(html)!;
    const js = Buffer.from(await (await fetch(`${base}${src[1]}`)).arrayBuffer());
    expect(src[2]).toBe(`sha384-${createHash('sha384').update(js).digest('base64')}`);
    const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => fetch(`${base}/input`, { method: 'POST', headers, body });
    expect((await post('{"kind":"start"}', { 'content-type': 'text/plain' })).status).toBe(415);
    const refused = await post(JSON.stringify({ kind: 'note_stacked', valueFen: 10000 }));
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'bad_input' });
    expect((await post(JSON.stringify({ kind: 'payment_update', attemptId: 'x', status: 'paid' }))).status).toBe(400);
    expect((await post('{"kind":"start"}', { 'content-type': 'application/json', origin: 'http://evil.example' })).status).toBe(403);
    // DNS rebinding: a page on another name that resolves here.
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const r = request({ host: '127.0.0.1', port: kiosk!.screen!.port, path: '/state', headers: { host: 'evil.example' } }, (a) => (a.resume(), resolve(a.statusCode ?? 0)));
      r.on('error', reject);
      r.end();
    });
    expect(status).toBe(403);
    expect(kiosk!.runtime.state().phase).toBe('idle');
  });
});

describe('refusal and fault screens', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    // A fresh journal whose hopper count starts at 0 (exact change only), a short idle timeout and code timeout.
    await openKiosk((c) => {
      c.journal = { path: 'journal-faults.db' };
      c.devices.hopperCoins = 0;
      c.sale = { ...c.sale, idleMs: 8000, codeTimeoutMs: 5000, closeRetries: 2 };
    });
  }, 60_000);

  it('capacity: orange sells the reserve with what is left, red stops sales and says so', async () => {
    await tap('#start');
    await screen('choose');
    await page.waitForSelector('.level');
    const today = kiosk!.runtime.today();
    // What the cloud answers when the day reaches orange, then red.
    kiosk!.runtime.dispatch({ kind: 'availability', availability: { date: today, level: 'orange', remaining: 6, reserve: 25, slots: [] } });
    await page.waitForSelector('.banner[data-key="capacity_orange_kiosk"]');
    expect(await page.textContent('.banner.warn')).toContain('还可售 6 人');
    await shot('11-capacity-orange');
    kiosk!.runtime.dispatch({ kind: 'availability', availability: { date: today, level: 'red', remaining: 0, reserve: 25, slots: [] } });
    await page.waitForSelector('.banner.error[data-key="capacity_red"]');
    expect(await page.isDisabled('#next')).toBe(true);
    await shot('12-capacity-red');
    await tap('#cancel');
    await screen('welcome');
    expect(await noticeKey()).toBe('cancelled');
  });

  it('idle: the countdown shows before the timeout, "continue" keeps the sale, then back to the start', async () => {
    await tap('#start');
    await screen('choose');
    await page.waitForSelector('#countdown-text', { timeout: 10_000 });
    expect(await page.textContent('#countdown-text')).toMatch(/\d 秒后返回首页/);
    await shot('13-idle-countdown');
    await tap('#stay');
    await page.waitForSelector('#countdown', { state: 'hidden' });
    expect(kiosk!.runtime.state().phase).toBe('choosing');
    await screen('welcome', 15_000);
    expect(await noticeKey()).toBe('idle_timeout');
    await shot('14-idle-timeout');
  });

  it('no coins: exact change only; a fake note is returned; a ¥100 note for ¥80 is returned with the reason', async () => {
    await toReview();
    await page.waitForSelector('.banner[data-key="exact_change_only"]');
    await shot('15-exact-change');
    await tap('[data-method="cash"]');
    await screen('cash');
    await insert('fake');
    await waitNotice('note_rejected');
    await shot('16-note-rejected');
    await insert(10000);
    expect(await waitNotice('no_change')).toContain('¥20');
    await shot('17-no-change');
    expect(kiosk!.journal.cashSince().filter((r) => r.kind === 'note_in')).toHaveLength(0);
    await tap('#cancel');
    await screen('welcome');
  });

  it('the network down: cash only, with the reason on the payment-code and QR buttons', async () => {
    await toReview();
    kiosk!.runtime.dispatch({ kind: 'network_status', online: false });
    await page.waitForSelector('.banner[data-key="offline_cash_only"]');
    expect(await page.isDisabled('[data-method="code"]')).toBe(true);
    expect(await page.isDisabled('[data-method="qr"]')).toBe(true);
    expect(await page.isEnabled('[data-method="cash"]')).toBe(true);
    await shot('18-offline-cash-only');
    kiosk!.runtime.dispatch({ kind: 'network_status', online: true });
    await tap('#cancel');
    await screen('welcome');
  });

  it('a payment code left unconfirmed: timed out, then not confirmed (refunded automatically if charged)', async () => {
    await toReview();
    await tap('[data-method="code"]');
    await screen('code');
    park.paysim.codes.set('134567890123456701', 'password');
    await park.scanner.scan('134567890123456701');
    await waitNotice('payment_pending');
    await page.waitForSelector('#countdown-text');
    await shot('19-payment-pending');
    await waitNotice('payment_timeout', 10_000);
    await shot('20-payment-timeout');
    await waitNotice('payment_unresolved', 15_000);
    await shot('21-payment-unresolved');
  });

  it('paper out after payment: the paid ticket waits, and prints by itself when paper is loaded', async () => {
    await screen('welcome');
    await toReview();
    park.printer.setPaperOut();
    await tap('[data-method="code"]');
    await screen('code');
    await park.scanner.scan('134567890123456702');
    await screen('print_failed');
    expect(await noticeKey()).toBe('paper_out');
    await shot('22-paper-out');
    park.printer.loadPaper();
    await screen('done', 15_000);
    await screen('welcome', 10_000);
  });

  it('printer jam: "print again" while jammed calls staff; cleared, the ticket prints', async () => {
    await toReview();
    park.printer.jam('paper_jam');
    await tap('[data-method="code"]');
    await screen('code');
    await park.scanner.scan('134567890123456703');
    await screen('print_failed');
    await waitNotice('printer_jam');
    await shot('23-printer-jam');
    await tap('#reprint');
    await waitNotice('staff_called');
    await shot('24-staff-called');
    park.printer.clearJam();
    await screen('done', 15_000);
  });
});
