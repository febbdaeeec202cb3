import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser.js';
import type { CloudBridge } from '../src/bridge.js';
import { DEMO_API_KEYS, demoCatalogue } from '@stile/demo/catalogue';
import { generateSigningKeyPair } from '@stile/config';
import { feed, makeGate, SITE, startGate, Teardown, gateCleanup, type CloudSide, type GateSide } from './faults/harness.js';
import { idNumber, MQTT_URL, testBridge, testDb, uniqueId, type TestDb } from './helpers.js';

const STAFF_TOKEN = 'staff-token-for-the-dashboard-test';
// STILE_DASHBOARD_SCREENSHOTS=1 writes the phone screenshots into docs/img (the ones docs/park-operations.md shows).
const SHOTS = process.env.STILE_DASHBOARD_SCREENSHOTS ? new URL('../../docs/img/', import.meta.url).pathname : join(tmpdir(), `stile-dashboard-${process.pid}`);

/** Script errors and console errors (a CSP violation is one) of a page, to assert there are none. */
function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => void errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/**
 * The staff dashboard in a real headless Chromium (Debian's, driven by playwright-core)
 * against a real cloud-bridge and a real stile-gate process on the real Mosquitto.
 */
describe('dashboard in Chromium', () => {
  let browser: Browser;
  let bridge: CloudBridge;
  let db: TestDb;
  let gate: GateSide;
  const t = new Teardown();

  beforeAll(async () => {
    const pair = generateSigningKeyPair('ck1');
    const gateId = `dash-${process.pid}`;
    db = await testDb('sqlite');
    bridge = await testBridge(db, [
      {
        id: SITE,
        controlKey: { id: pair.keyId, privateKeyPem: pair.privateKeyPem },
        gates: [gateId],
        sales: { catalogue: { ...demoCatalogue(), slots: [] }, capacity: { daily: 50, yellow: 0.7, orange: 0.85 }, idHashKey: 'id-hash-key-for-tests-0123456789', staffTokenSha256: createHash('sha256').update(STAFF_TOKEN).digest('hex') },
      },
    ], { demoMode: true });
    // Provisioned by the cloud (its tickets issued there, its credential), so its admissions count.
    const cloud: CloudSide = { dialect: 'sqlite', db, configPath: '', publicKey: pair.publicKey, httpUrl: `http://127.0.0.1:${bridge.httpPort}` };
    gate = await makeGate({ gateId, mqttUrl: MQTT_URL, controlPublicKey: pair.publicKey, tickets: 50, cloud });
    gateCleanup(t, gate);
    await startGate(gate);
    browser = (await launchChromium()).browser;
  }, 90_000);

  afterAll(async () => {
    if (!process.env.STILE_DASHBOARD_SCREENSHOTS) rmSync(SHOTS, { recursive: true, force: true });
    await browser?.close();
    await bridge?.close();
    await t.run();
    await db?.cleanup();
  });

  it('serves the page with its CSP header and its built script and style sheet, versioned', async () => {
    const base = `http://127.0.0.1:${bridge.httpPort}`;
    const res = await fetch(`${base}/dashboard/${SITE}?lang=en`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'nonce-[^']+'; style-src 'self' 'unsafe-inline';.*frame-ancestors 'none'$/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    for (const [name, type] of [['dashboard.js', 'text/javascript'], ['dashboard.css', 'text/css']] as const) {
      const path = new RegExp(`/dashboard/assets/${name.replace('.', '\\.')}\\?v=[0-9a-f]{16}`).exec(html)?.[0];
      expect(path, name).toBeDefined();
      const a = await fetch(base + path);
      expect(a.status).toBe(200);
      expect(a.headers.get('content-type')).toContain(type);
      expect(a.headers.get('cache-control')).toContain('immutable');
      const body = Buffer.from(await a.arrayBuffer());
      // The page pins the exact bytes it gets (SRI).
      expect(html).toContain(`integrity="sha384-${createHash('sha384').update(body).digest('base64')}"`);
      const again = await fetch(`${base}/dashboard/assets/${name}`, { headers: { 'if-none-match': a.headers.get('etag')! } });
      expect(again.status).toBe(304);
      expect(again.headers.get('cache-control')).toBe('no-cache'); // unversioned URL: revalidate
    }
    expect((await fetch(`${base}/dashboard/assets/other.js`)).status).toBe(404);
    expect((await fetch(`${base}/dashboard/no-such-site`)).status).toBe(404);
  });

  it('shows a scan at the gate live, and pausing a channel closes its availability', async () => {
    const page = await browser.newPage();
    const errors = pageErrors(page);
    // Every URL the page asks for: the token must be in none of them (only in the fragment it was opened with).
    const requested: string[] = [];
    page.context().on('request', (r) => void requested.push(r.url()));
    const base = `http://127.0.0.1:${bridge.httpPort}`;
    await page.goto(`${base}/dashboard/${SITE}?lang=en#token=${STAFF_TOKEN}`);
    const admitted = page.locator('#admitted');
    await expect.poll(async () => (await admitted.textContent())?.trim(), { timeout: 10_000 }).toMatch(/^0\b/);
    await expect.poll(async () => page.locator(`[data-gate="${gate.gateId}"]`).count(), { timeout: 10_000 }).toBe(1);

    // A visitor scans a ticket at the real gate; the entry travels gate → MQTT → cloud → page.
    await feed(gate, [`ST1:${gate.site.sample.ids[0]}`]);
    await expect.poll(async () => (await admitted.textContent())?.trim(), { timeout: 10_000 }).toMatch(/^1\b/);
    await expect.poll(async () => page.locator('[data-level]').first().getAttribute('data-level')).toBe('green');

    // Staff pause Meituan from the page: its availability closes.
    const row = page.locator('[data-channel="meituan"]');
    await row.locator('[data-action="pause"]').click();
    const form = page.locator('form').filter({ has: page.locator('input') }).last();
    const inputs = form.locator('input, textarea');
    await inputs.nth(0).fill('staff:li');
    await inputs.nth(1).fill('queue at the east gate');
    await form.locator('button[type="submit"], button:not([type])').first().click();
    const availability = async () => {
      const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
      const res = await fetch(`${base}/v1/channel/availability?date=${today}`, { headers: { authorization: `Bearer ${DEMO_API_KEYS.meituan}` } });
      return ((await res.json()) as { open: boolean; paused: boolean }).paused;
    };
    await expect.poll(availability, { timeout: 10_000 }).toBe(true);
    await expect.poll(async () => row.locator('[data-action="resume"]').count(), { timeout: 10_000 }).toBe(1);
    const audit = await (await fetch(`${base}/v1/staff/sites/${SITE}/audit`, { headers: { authorization: `Bearer ${STAFF_TOKEN}` } })).json();
    expect((audit as { entries: { actor: string; action: string; reason: string }[] }).entries[0]).toMatchObject({ actor: 'staff:li', action: 'channel_pause', reason: 'queue at the east gate' });

    // The stream came over fetch() with the header: live, with no token in its URL.
    await expect.poll(async () => page.locator('#conn-badge').getAttribute('data-state')).toBe('live');
    // Today's report: fetched with the header, shown in a new tab from a blob: URL.
    const popup = page.waitForEvent('popup');
    await page.locator('#report-html').click();
    const tab = await popup;
    await expect.poll(() => tab.url(), { timeout: 10_000 }).toMatch(/^blob:/);
    await tab.waitForLoadState();
    expect(await tab.locator('svg').count()).toBeGreaterThan(0);
    expect(await tab.title()).toMatch(/\d{4}-\d{2}-\d{2}$/); // the report's own title, with its date
    // Styled: a blob: document inherits the dashboard's CSP, which must let the report's own <style> apply.
    expect(await tab.evaluate(() => getComputedStyle(document.body).paddingTop)).toBe('24px');
    await expect.poll(async () => page.locator('#report-link').isVisible()).toBe(true);
    expect(await page.locator('#report-link').getAttribute('href')).toMatch(/^blob:/);
    await tab.close();
    // The CSV downloads the same way.
    const download = page.waitForEvent('download');
    await page.locator('#report-csv').click();
    expect((await download).suggestedFilename()).toMatch(new RegExp(`^${SITE}-\\d{4}-\\d{2}-\\d{2}\\.csv$`));

    // The cloud's store starts refusing writes: the open page says so over its live stream,
    // with the reason, and clears once the gate's entry is stored.
    const banner = page.locator('#cloud-health');
    expect(await banner.isVisible()).toBe(false);
    const original = bridge.sync.insertEntries.bind(bridge.sync);
    let readOnly = true;
    bridge.sync.insertEntries = (...args) => (readOnly ? Promise.reject(new Error('attempt to write a readonly database')) : original(...args));
    await feed(gate, [`ST1:${gate.site.sample.ids[1]}`]);
    await expect.poll(async () => banner.isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await banner.textContent()).toMatch(/admissions from the gates are not being stored[\s\S]*readonly/);
    readOnly = false;
    await expect.poll(async () => (await admitted.textContent())?.trim(), { timeout: 30_000 }).toMatch(/^2\b/);
    await expect.poll(async () => banner.isVisible(), { timeout: 15_000 }).toBe(false);
    bridge.sync.insertEntries = original;

    expect(requested.some((u) => u.includes(`${base}/v1/staff/sites/${SITE}/dashboard/stream`))).toBe(true);
    expect(requested.filter((u) => u.includes(STAFF_TOKEN) && !u.endsWith(`#token=${STAFF_TOKEN}`))).toEqual([]);
    expect(requested.filter((u) => /[?&]token=/.test(u))).toEqual([]);
    // Its script and style sheet came from this server, and the CSP refused nothing.
    expect(requested.filter((u) => u.startsWith(`${base}/dashboard/assets/`)).map((u) => new URL(u).pathname).sort()).toEqual(['/dashboard/assets/dashboard.css', '/dashboard/assets/dashboard.js']);
    expect(requested.filter((u) => !u.startsWith(base) && !u.startsWith('blob:'))).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('on a phone, in Chinese and English: each channel in one state, status words translated, the red announcement right', async () => {
    const base = `http://127.0.0.1:${bridge.httpPort}`;
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
    const staff = { authorization: `Bearer ${STAFF_TOKEN}` };
    const load = async () => ((await (await fetch(`${base}/v1/staff/sites/${SITE}/dashboard`, { headers: staff })).json()) as { capacity: { load: number; level: string } }).capacity;
    let n = 0;
    const sell = async (persons: number, key: string) => {
      const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const visitors = Array.from({ length: persons }, () => ({ name: '游客', idNumber: idNumber(++n) }));
      const res = await fetch(`${base}/v1/channel/orders`, { method: 'POST', headers: { ...auth, 'idempotency-key': uniqueId('idem') }, body: JSON.stringify({ typeId: 'adult', date: today, contactPhone: '13800138000', visitors }) });
      const order = (await res.json()) as { orderId: string; amountFen: number; error?: string };
      expect(res.status, JSON.stringify(order)).toBe(201);
      const paid = await fetch(`${base}/v1/channel/orders/${order.orderId}/pay`, { method: 'POST', headers: { ...auth, 'idempotency-key': uniqueId('idem') }, body: JSON.stringify({ paymentRef: uniqueId('pay'), amountFen: order.amountFen }) });
      expect(paid.status).toBe(200);
    };
    // To orange (43 of 50 persons): online up to 42, the kiosk the last one. Meituan is still paused by staff (above).
    const before = (await load()).load;
    expect(before).toBeLessThan(42);
    await sell(42 - before, DEMO_API_KEYS.wechat);
    await sell(1, DEMO_API_KEYS.kiosk);
    await expect.poll(async () => (await load()).level, { timeout: 10_000 }).toBe('orange');

    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    const page = await context.newPage();
    const errors = pageErrors(page);
    await page.goto(`${base}/dashboard/${SITE}?lang=zh-CN#token=${STAFF_TOKEN}`);
    await expect.poll(async () => page.locator('#capacity').getAttribute('data-level'), { timeout: 10_000 }).toBe('orange');
    await expect.poll(async () => page.locator('#conn-badge').getAttribute('data-state')).toBe('live');

    /** Each channel row: its one state (data-state), the state line(s) it shows, and all its text. */
    const channels = () =>
      page.locator('[data-channel]').evaluateAll((rows) =>
        rows.map((r) => ({ id: r.getAttribute('data-channel'), state: r.getAttribute('data-state'), lines: [...r.querySelectorAll('[data-field="state"]')].map((e) => e.textContent ?? ''), text: r.textContent ?? '' })),
      );
    const states = (rows: Awaited<ReturnType<typeof channels>>) => Object.fromEntries(rows.map((r) => [r.id, r.state]));
    let rows = await channels();
    expect(states(rows)).toEqual({ wechat: 'stopped', meituan: 'paused', kiosk: 'selling' });
    for (const r of rows) {
      expect(r.lines, r.id!).toHaveLength(1); // one state, never "selling" and "stopped" together
      expect(r.lines[0], r.id!).toMatch(/[\u4e00-\u9fff]/);
      expect(r.text, r.id!).not.toMatch(/Selling|Paused|Stopped|capacity/);
    }
    expect(rows.find((r) => r.id === 'kiosk')!.lines[0]).toBe('售票中');
    // The catalogue's names in the page's language: the park and each channel, not their ids.
    const names = () => page.locator('[data-channel] .ch-name').allTextContents();
    expect(await names()).toEqual(['微信小程序', '美团', '自助售票机']);
    expect(await page.locator('#site').textContent()).toBe('青山湖风景区');
    expect(await page.title()).toContain('青山湖风景区');
    expect(rows.find((r) => r.id === 'wechat')!.lines[0]).toBe('因容量停售（橙色）');
    expect(rows.find((r) => r.id === 'meituan')!.lines[0]).toContain('staff:li');
    // The gate's status words and device states are Chinese too.
    const gateText = (await page.locator(`[data-gate="${gate.gateId}"]`).textContent()) ?? '';
    expect(gateText).not.toMatch(/\b(online|offline|degraded|ok|reconnecting|failed)\b/);
    expect(gateText).toMatch(/在线/);
    // Nothing wider than the phone.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'dashboard-zh.png'), fullPage: true });

    await page.locator('button[data-lang="en"]').tap();
    await expect.poll(async () => page.locator('html').getAttribute('lang')).toBe('en');
    rows = await channels();
    for (const r of rows) expect(r.lines, r.id!).toHaveLength(1);
    expect(rows.find((r) => r.id === 'kiosk')!.lines[0]).toBe('Selling');
    expect(await names()).toEqual(['WeChat mini-program', 'Meituan', 'On-site kiosk']);
    expect(await page.locator('#site').textContent()).toBe('Qingshan Lake Scenic Area');
    expect(rows.find((r) => r.id === 'wechat')!.lines[0]).toBe('Stopped by capacity (orange)');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(SHOTS, 'dashboard-en.png'), fullPage: true });

    // Red: every channel stops selling (Meituan stays "paused by staff"), and the announcement
    // does not tell visitors with tickets that entry is paused: the gates keep admitting them.
    await sell(50 - (await load()).load, DEMO_API_KEYS.kiosk);
    await expect.poll(async () => page.locator('#capacity').getAttribute('data-level'), { timeout: 10_000 }).toBe('red');
    await expect.poll(async () => states(await channels())).toEqual({ wechat: 'stopped', meituan: 'paused', kiosk: 'stopped' });
    const red = page.locator('#alerts [data-level="red"] .msg').first();
    await expect.poll(async () => red.textContent(), { timeout: 10_000 }).toMatch(/ticket for today can still enter/);
    await page.locator('button[data-lang="zh-CN"]').tap();
    expect(await red.textContent()).toMatch(/仍可凭票入园/);
    expect(await red.textContent()).not.toMatch(/暂停.*入园/);
    expect(errors).toEqual([]);
    await context.close();
  });
});
