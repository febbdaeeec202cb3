import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import type { CloudBridge } from '../src/bridge.js';
import { DEMO_API_KEYS, demoCatalogue } from '../src/catalogue/catalogue.js';
import { generateSigningKeyPair } from '@stile/config';
import { feed, makeGate, SITE, startGate, Teardown, gateCleanup, type CloudSide, type GateSide } from './faults/harness.js';
import { MQTT_URL, testBridge, testDb, type TestDb } from './helpers.js';

const CHROMIUM = process.env.STILE_CHROMIUM ?? '/usr/bin/chromium';
const STAFF_TOKEN = 'staff-token-for-the-dashboard-test';

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
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium (.ci/run does), or set STILE_CHROMIUM`);
    const pair = generateSigningKeyPair('ck1');
    const gateId = `dash-${process.pid}`;
    db = await testDb('sqlite');
    bridge = await testBridge(db, [
      {
        id: SITE,
        controlKey: { id: pair.keyId, privateKeyPem: pair.privateKeyPem },
        gates: [gateId],
        sales: { catalogue: demoCatalogue(), capacity: { daily: 50, yellow: 0.7, orange: 0.85 }, idHashKey: 'id-hash-key-for-tests-0123456789', staffTokenSha256: createHash('sha256').update(STAFF_TOKEN).digest('hex') },
      },
    ], { demoMode: true });
    // Provisioned by the cloud (its tickets issued there, its credential), so its admissions count.
    const cloud: CloudSide = { dialect: 'sqlite', db, configPath: '', publicKey: pair.publicKey, httpUrl: `http://127.0.0.1:${bridge.httpPort}` };
    gate = await makeGate({ gateId, mqttUrl: MQTT_URL, controlPublicKey: pair.publicKey, tickets: 50, cloud });
    gateCleanup(t, gate);
    await startGate(gate);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await bridge?.close();
    await t.run();
    await db?.cleanup();
  });

  it('shows a scan at the gate live, and pausing a channel closes its availability', async () => {
    const page = await browser.newPage();
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
    const original = bridge.store.insertEntries.bind(bridge.store);
    let readOnly = true;
    bridge.store.insertEntries = (...args) => (readOnly ? Promise.reject(new Error('attempt to write a readonly database')) : original(...args));
    await feed(gate, [`ST1:${gate.site.sample.ids[1]}`]);
    await expect.poll(async () => banner.isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await banner.textContent()).toMatch(/admissions from the gates are not being stored[\s\S]*readonly/);
    readOnly = false;
    await expect.poll(async () => (await admitted.textContent())?.trim(), { timeout: 30_000 }).toMatch(/^2\b/);
    await expect.poll(async () => banner.isVisible(), { timeout: 15_000 }).toBe(false);
    bridge.store.insertEntries = original;

    expect(requested.some((u) => u.includes(`${base}/v1/staff/sites/${SITE}/dashboard/stream`))).toBe(true);
    expect(requested.filter((u) => u.includes(STAFF_TOKEN) && !u.endsWith(`#token=${STAFF_TOKEN}`))).toEqual([]);
    expect(requested.filter((u) => /[?&]token=/.test(u))).toEqual([]);
    await page.close();
  });
});
