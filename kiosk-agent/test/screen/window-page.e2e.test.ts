/**
 * The staff window page in Chromium (a staff PC: 1440×900, mouse and keyboard) against a real
 * stile-kiosk in window mode, a cloud-bridge, the payment simulator and hardware-sim devices
 * (test/daemon/kiosk-harness.ts): a wrong PIN refused, login, a cash sale with the tender typed
 * in and the change shown, the visitor looked up by tapping their ID card, their ticket printed
 * again and refunded with a reason (the cloud refunds; the till hands the cash back), every
 * audit row naming the staff member, logout ending the session, lockout after wrong PINs.
 *
 * STILE_KIOSK_SCREENSHOTS=1 writes docs/img/kiosk-window-*.png (docs/kiosk-screen.md).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskIdNumber } from '@stile/config';
import { launchChromium } from '../../../cloud-bridge/test/browser.js';
import { startKiosk, type KioskDaemon } from '../../src/daemon/kiosk-daemon.js';
import { hashPin } from '../../src/window/pin.js';
import { ID_KEY, KEYS, nextIdNumber, scanPng, startKioskPark, type KioskPark } from '../daemon/kiosk-harness.js';

const SHOOT = process.env.STILE_KIOSK_SCREENSHOTS === '1';
const SHOTS = SHOOT ? new URL('../../../docs/img/', import.meta.url).pathname : join(tmpdir(), `stile-window-page-${process.pid}`);
if (SHOOT && !process.env.FONTCONFIG_PATH && existsSync('/etc/fonts/fonts.conf')) process.env.FONTCONFIG_PATH = '/etc/fonts';

const PIN = '2468';
let park: KioskPark;
let kiosk: KioskDaemon;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let base: string;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  park = await startKioskPark();
  writeFileSync(join(park.dir, 'id-hash.key'), `${ID_KEY}\n`);
  kiosk = await startKiosk(
    park.config((c) => {
      c.kiosk.mode = 'window';
      c.screen = { host: '127.0.0.1', port: 0 };
      c.window = {
        staff: [
          { id: 'wang', name: '王芳', pinHash: hashPin(PIN) },
          { id: 'li', name: '李强', pinHash: hashPin('1357') },
        ],
        idHashKeyFile: 'id-hash.key',
        maxPinTries: 3,
        lockoutMs: 60_000,
      };
      c.sale.doneMs = 1000;
    }),
  );
  base = `http://127.0.0.1:${kiosk.screen!.port}`;
  browser = (await launchChromium()).browser;
  context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  page = await context.newPage();
}, 60_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await kiosk?.stop();
  await park?.close();
  if (!SHOOT) rmSync(SHOTS, { recursive: true, force: true });
});

/** fetch cannot set Host: a raw request naming another host (DNS rebinding). */
function rawStatus(path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: kiosk.screen!.port, path, method: 'POST', headers: { host, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end('{"staffId":"wang","pin":"2468"}');
  });
}

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `kiosk-window-${name}.png`), animations: 'disabled', caret: 'hide' });
const phase = (p: string) => page.waitForSelector(`body[data-phase="${p}"]`, { timeout: 15_000 });
async function msg(text: string | RegExp): Promise<void> {
  await expect.poll(() => page.locator('#msg').textContent(), { timeout: 15_000 }).toMatch(text);
}

describe('the staff window page', () => {
  it('login, a cash sale with typed tender and change, lookup by ID card tap, print again, refund with a reason; all audited with the staff', async () => {
    const started = Date.now();
    await page.goto(`${base}/`);
    await page.waitForSelector('body[data-screen="login"]');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('staff-id');

    // A wrong PIN, by keyboard: refused, no session.
    await page.keyboard.type('wang');
    await page.keyboard.press('Tab');
    await page.keyboard.type('9999');
    await page.keyboard.press('Enter');
    await msg('工号或密码错误');
    expect(await context.cookies()).toEqual([]);
    await shot('01-login-refused');

    // The API without a session: every desk action refused.
    const noSession = await page.evaluate(async () => (await fetch('/window/lookup', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status);
    expect(noSession).toBe(401);

    await page.fill('#pin', PIN);
    await page.press('#pin', 'Enter');
    await page.waitForSelector('body[data-screen="desk"]');
    await expect.poll(() => page.textContent('#who')).toBe('当前员工：王芳');
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'stile_window', httpOnly: true, sameSite: 'Strict' });

    // A cash sale: type and count chosen, the visitor's ID card on the reader, cash typed in.
    const pagesBefore = park.printer.pages.length;
    await phase('idle');
    await page.click('#new-sale');
    await phase('choosing');
    await page.waitForSelector('#type option:nth-child(2)', { state: 'attached' });
    await page.selectOption('#type', { index: 1 });
    await page.waitForSelector('#next:not([disabled])');
    await shot('02-choose');
    await page.click('#next');
    await phase('identifying');
    const id = nextIdNumber();
    park.reader.placeCard({ idNumber: id, name: '李四' });
    await phase('review');
    park.reader.removeCard();
    await expect.poll(() => page.textContent('#total')).toBe('应收 ¥80');
    await page.click('#pay-cash');
    await phase('staff_cash');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('tendered');
    await page.keyboard.type('50');
    await expect.poll(() => page.textContent('#change-preview')).toBe('实收不足：至少 ¥80');
    expect(await page.isDisabled('#take-cash')).toBe(true);
    await page.fill('#tendered', '100');
    await expect.poll(() => page.textContent('#change-preview')).toBe('找零 ¥20');
    await shot('03-cash-change');
    await page.press('#tendered', 'Enter');
    await expect.poll(() => page.textContent('#last-change'), { timeout: 15_000 }).toBe('上一单：实收 ¥100，找零 ¥20');
    await phase('idle');
    const placed = kiosk.journal.entriesBetween(started, Date.now() + 1000).find((e) => e.kind === 'order_placed') as { orderId: string; saleId: string; staff?: string };
    expect(placed.staff).toBe('wang');
    expect(kiosk.journal.saleEntries(placed.saleId).find((e) => e.kind === 'staff_cash')).toMatchObject({ tenderedFen: 10000, changeFen: 2000, staff: 'wang' });
    const printed = park.printer.pages.slice(pagesBefore).find((p) => p.qrPngs.length > 0)!;
    const code = scanPng(printed.qrPngs[0]!);
    expect(code).toBeTruthy();

    // The visitor comes back: their card on the reader, Look up (retried until the reader has read it).
    park.reader.placeCard({ idNumber: id, name: '李四' });
    const row = page.locator(`.order[data-order="${placed.orderId}"]`);
    for (const end = Date.now() + 10_000; (await row.count()) === 0; ) {
      if (Date.now() > end) throw new Error('the lookup never found the order');
      await page.click('#look-up');
      await page.waitForTimeout(200);
    }
    park.reader.removeCard();
    await expect.poll(() => row.getAttribute('data-status')).toBe('paid');
    expect(await row.textContent()).toContain(maskIdNumber(id));
    expect(await page.content()).not.toContain(id);
    await shot('04-lookup');

    // Print again: a copy with the same code.
    const pagesNow = park.printer.pages.length;
    await row.locator('.print-again').click();
    await msg('已补打 1 张');
    const copy = park.printer.pages.slice(pagesNow).find((p) => p.qrPngs.length > 0)!;
    expect(scanPng(copy.qrPngs[0]!)).toBe(code);

    // Refund with a reason from the park's list: no reason, no refund; then the cloud refunds.
    await row.locator('.refund').click();
    await page.waitForSelector('#refund-reason');
    await page.click('#confirm-refund');
    await msg('请选择退票原因');
    await page.selectOption('#refund-reason', 'kiosk_fault');
    await shot('05-refund-reason');
    await page.click('#confirm-refund');
    await msg('已退款：从钱箱退还现金 ¥80');
    await expect.poll(() => row.getAttribute('data-status')).toBe('refunded');
    await shot('06-refunded');
    expect(await park.getOrder(placed.orderId, KEYS.cash)).toMatchObject({ status: 'refunded', refundReason: 'kiosk_fault' });

    // English, then log out: the old cookie no longer opens the desk.
    await page.click('#lang');
    await expect.poll(() => page.textContent('#who')).toBe('Staff: 王芳');
    await shot('07-english');
    await page.click('#logout');
    await page.waitForSelector('body[data-screen="login"]');
    const stale = await fetch(`${base}/window/lookup`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: `stile_window=${cookie!.value}` }, body: '{}' });
    expect(stale.status).toBe(401);

    const audit = kiosk.journal.auditBetween(started, Date.now() + 1000);
    expect(audit.map((a) => [a.action, a.staff])).toEqual([
      ['login_refused', null],
      ['login', 'wang'],
      ['lookup', 'wang'],
      ['print_again', 'wang'],
      ['refund', 'wang'],
      ['refund_result', 'wang'],
      ['logout', 'wang'],
    ]);
    expect(JSON.stringify(audit)).not.toContain(id);
  }, 120_000);

  it('wrong PINs lock the staff id out, and the page says for how long', async () => {
    await context.clearCookies();
    await page.goto(`${base}/window`);
    await page.waitForSelector('body[data-screen="login"]');
    await page.click('#lang');
    await page.fill('#staff-id', 'li');
    for (let i = 0; i < 3; i++) {
      await page.fill('#pin', '2580');
      await page.press('#pin', 'Enter');
      await msg('Wrong staff id or PIN');
    }
    await page.fill('#pin', '1357');
    await page.press('#pin', 'Enter');
    await msg(/^Too many wrong PINs: locked out for (60|59) s$/);
    await shot('08-locked-out');
    expect(kiosk.window!.staff).toBeUndefined();
  });

  it('keeps the screen guards, and sale touches need a staff session in window mode', async () => {
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    expect((await post('/input', '{"kind":"start"}')).status).toBe(403);
    expect((await post('/window/login', '{"staffId":"wang","pin":"2468"}', { origin: 'http://evil.example' })).status).toBe(403);
    expect(await rawStatus('/window/login', 'evil.example')).toBe(403);
    expect((await post('/window/login', 'staffId=wang', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    const bad = await post('/window/login', '{"staffId":"wang","pin":"24x8"}');
    expect(bad.status).toBe(400);
    expect(await bad.text()).not.toContain('24x8');
    const shell = await fetch(`${base}/`);
    expect(shell.headers.get('content-security-policy')).toMatch(/script-src 'nonce-/);
    expect(await shell.text()).toMatch(/src="\/window\.js\?v=[0-9a-f]{16}" integrity="sha384-/);
  });
});
