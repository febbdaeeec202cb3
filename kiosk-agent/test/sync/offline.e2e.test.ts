import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import {
  generateSigningKeyPair,
  issueOfflineTicket,
  kioskTopics,
  loadGateConfig,
  loadSigningKey,
  loadTrustedKeys,
  localDate,
  newTicketId,
  signControl,
  type SigningKey,
} from '@stile/config';
import { startCloudBridge, type CloudBridge, type SiteConfig } from '@stile/cloud-bridge';
import { openGate } from '@stile/gate-agent';
import { demoCatalogue } from '@stile/demo/catalogue';
import { createDemoSite, type DemoSite } from '@stile/demo/site';
import { freePort, Mosquitto, until } from '../../../cloud-bridge/test/faults/harness.js';
import { KioskSync } from '../../src/sync/index.js';

/**
 * Issue #17 point 4, end to end: a real Mosquitto with persistence on, cloud-bridge in
 * process on SQLite, the kiosk's sync on its own outbox file, a gate's real Gatekeeper with
 * the kiosk's key in keys.offline, and an observer on the broker that counts what went over
 * the wire. The cloud is unreachable (broker down) while the kiosk sells; the kiosk, the
 * cloud and the broker are restarted in turn; nothing is lost or counted twice.
 */
const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const SITE = 'demo-park';
const KIOSK = 'k1';
const CAP = 4;

let dir = '';
let broker: Mosquitto;
let demo: DemoSite;
let siteConfig: SiteConfig;
let control: ReturnType<typeof generateSigningKeyPair>;
let kioskKey: SigningKey;
let kioskPublic = '';
let cloud: CloudBridge | null = null;
let kiosk: KioskSync | null = null;
let observer: MqttClient | null = null;
const wire: { seq: string; saleId: string }[] = [];
const today = localDate(new Date(), 'Asia/Shanghai');

const startCloud = async (): Promise<CloudBridge> =>
  (cloud = await startCloudBridge({
    sqlitePath: join(dir, 'cloud.db'),
    mqttUrl: broker.url,
    httpPort: 0,
    sites: [siteConfig],
    sharedGroup: 'stile-cloud',
    clientId: 'kiosk-e2e-cloud',
    sessionExpirySec: 600,
    redeliverAfterMs: 300,
    demoMode: true,
    logger: silent,
  }));

const startKiosk = (): KioskSync => {
  kiosk = new KioskSync({
    site: SITE,
    kiosk: KIOSK,
    url: broker.url,
    mqtt: { protocolVersion: 5, keepaliveSec: 5, reconnectMinMs: 200, reconnectMaxMs: 1000, sessionExpirySec: 600 },
    dbPath: join(dir, 'kiosk.db'),
    control: loadTrustedKeys([{ id: control.keyId, publicKey: control.publicKey }]),
    offlineKey: kioskKey,
    idHashKey: demo.idHashKey,
    receiptTimeoutMs: 2000,
    log: silent,
  });
  kiosk.start();
  return kiosk;
};

async function startObserver(): Promise<void> {
  observer = await connectAsync(broker.url, { protocolVersion: 5, clientId: 'kiosk-e2e-observer', clean: false, properties: { sessionExpiryInterval: 600 }, reconnectPeriod: 200 });
  observer.on('message', (_t, p) => {
    const m = JSON.parse(p.toString()) as { records: { seq: string; saleId: string }[] };
    for (const r of m.records) wire.push({ seq: r.seq, saleId: r.saleId });
  });
  await observer.subscribeAsync(kioskTopics.sales(SITE, KIOSK), { qos: 1 });
}

/** Today's adult price on the kiosk channel, from the signed pack. */
const price = (): number => kiosk!.packs.pack!.types.find((t) => t.id === 'adult')!.priceFen;
const sale = (saleId: string, count: number) => ({ saleId, typeId: 'adult', date: today, count, visitors: [] as { name: string; idNumber: string }[], cash: [{ kind: 'note_in' as const, fen: count * 6000, at: new Date().toISOString() }], at: new Date() });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stile-kiosk-e2e-'));
  demo = await createDemoSite(join(dir, 'gate'), { tickets: 5 });
  control = generateSigningKeyPair('ck1');
  const k = generateSigningKeyPair('kiosk-k1');
  kioskKey = loadSigningKey(k.keyId, k.privateKeyPem);
  kioskPublic = k.publicKey;
  siteConfig = {
    id: SITE,
    controlKey: { id: control.keyId, privateKeyPem: control.privateKeyPem },
    gates: ['east-1'],
    kiosks: [{ id: KIOSK, channel: 'kiosk', offlineCap: CAP, offlineKey: { id: k.keyId, publicKey: k.publicKey } }],
    maxAdmissionsPerSecond: 0,
    sales: { catalogue: { ...demoCatalogue(), slots: [] }, capacity: { daily: 100, yellow: 0.7, orange: 0.85, red: 1, kioskReserve: 10 }, idHashKey: demo.idHashKey },
  };
  broker = new Mosquitto(await freePort(), dir, { persistence: true });
  await broker.start();
  await startObserver();
  await startCloud();
  startKiosk();
});

afterAll(async () => {
  await kiosk?.stop().catch(() => undefined);
  await observer?.endAsync(true).catch(() => undefined);
  await cloud?.close().catch(() => undefined);
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('kiosk offline sales (real Mosquitto with persistence, cloud-bridge, a gate)', () => {
  const sold: { saleId: string; codes: string[] }[] = [];

  it('keeps the signed pack, then sells ST2 cash tickets with the cloud unreachable, up to its cap and not beyond', async () => {
    await until(() => kiosk!.packs.pack, 'the offline pack at the kiosk');
    expect(kiosk!.packs.pack).toMatchObject({ date: today, offlineCap: CAP, keyId: 'kiosk-k1' });
    await broker.stop(); // the internet is down
    await until(() => !kiosk!.online, 'the kiosk to notice');
    const t0 = performance.now();
    expect(kiosk!.offline.canSell(2)).toMatchObject({ ok: true, left: CAP });
    const a = kiosk!.offline.issue(sale('SALE-A-0001', 2));
    const ms = performance.now() - t0;
    const b = kiosk!.offline.issue(sale('SALE-B-0001', 1));
    sold.push({ saleId: 'SALE-A-0001', codes: a.codes.map((c) => c.code) }, { saleId: 'SALE-B-0001', codes: b.codes.map((c) => c.code) });
    expect(a.amountFen).toBe(2 * price());
    expect(a.codes.every((c) => c.code.startsWith('ST2:'))).toBe(true);
    expect(ms).toBeLessThan(1000);
    // 3 of 4 sold: 2 more persons would pass the cap.
    expect(kiosk!.offline.canSell(2)).toEqual({ ok: false, reason: 'over_cap', left: 1 });
    expect(() => kiosk!.offline.issue(sale('SALE-C-0001', 2))).toThrow(/over_cap \(1 left today\)/);
    expect(kiosk!.outbox.outboxDepth()).toBe(2);
  });

  it('the codes admit at a gate that trusts the kiosk key; a code signed by another key does not', () => {
    const cfg = loadGateConfig(demo.configPath);
    const withKiosk = { ...cfg, keys: { ...cfg.keys, offline: [...cfg.keys.offline, { id: 'kiosk-k1', publicKey: kioskPublic }] } };
    const now = Date.parse(`${today}T12:00:00+08:00`);
    const { store, gatekeeper } = openGate(withKiosk, silent, { clock: () => now });
    try {
      for (const s of sold) for (const code of s.codes) expect(gatekeeper.evaluate({ kind: 'qr', text: code })).toMatchObject({ decision: 'admit', credential: 'signed-qr' });
      expect(gatekeeper.evaluate({ kind: 'qr', text: sold[0]!.codes[0]! })).toMatchObject({ decision: 'reject', reason: 'entries_exhausted' });
      const rogue = loadSigningKey('kiosk-k1', generateSigningKeyPair('kiosk-k1').privateKeyPem);
      const forged = issueOfflineTicket(rogue, { site: SITE, ticketId: newTicketId(), typeId: 'adult', visitDate: today, slotStart: null, slotEnd: null, persons: 1, issuedAt: Math.floor(now / 1000) });
      expect(gatekeeper.evaluate({ kind: 'qr', text: forged })).toMatchObject({ decision: 'reject', reason: 'bad_signature' });
    } finally {
      store.close();
    }
  });

  it('a kiosk restarted offline keeps its outbox and its count; the cloud restarted meanwhile; every sale arrives once when the broker is back', async () => {
    await kiosk!.stop();
    startKiosk();
    expect(kiosk!.outbox.outboxDepth()).toBe(2);
    expect(kiosk!.offline.canSell(2)).toMatchObject({ ok: false, reason: 'over_cap', left: 1 });
    const c = kiosk!.offline.issue(sale('SALE-C-0002', 1)); // the last place under the cap
    sold.push({ saleId: 'SALE-C-0002', codes: c.codes.map((x) => x.code) });
    // The cloud goes down too (it needs the broker to start again, so it comes back after it).
    await cloud!.close();
    await broker.start();
    await startCloud();
    await until(() => kiosk!.outbox.outboxDepth() === 0, 'receipts to empty the kiosk outbox', 30_000);
    const rows = await cloud!.kiosks.repository.records(SITE, KIOSK);
    expect(rows.map((r) => [r.seq, r.sale_id, r.anomaly])).toEqual([
      ['1', 'SALE-A-0001', null],
      ['2', 'SALE-B-0001', null],
      ['3', 'SALE-C-0002', null],
    ]);
    await until(() => wire.length >= 3, 'the observer to see the batches');
    expect([...new Set(wire.map((w) => w.seq))].sort()).toEqual(['1', '2', '3']);
    const load = await until(async () => {
      const cur = await cloud!.capacity.current(SITE);
      return cur && cur.load.soldToday === CAP ? cur : undefined;
    }, 'capacity to count the offline sales');
    expect(load.load.soldToday).toBe(CAP);
    const report = await cloud!.reports.get(SITE, today);
    expect(report!.byChannel.find((x) => x.channel === 'kiosk')).toMatchObject({ orders: 3, persons: 4, revenueFen: 4 * price() });
  });

  it('ignores a forged receipt; the real one empties the outbox, also after the broker is killed', async () => {
    await cloud!.close();
    cloud = null;
    const r = kiosk!.enqueue({ kind: 'print', saleId: 'SALE-C-0002', at: new Date().toISOString(), outcome: 'printed', reprint: true });
    const intruder = generateSigningKeyPair('ck1');
    const forged = signControl({ v: 1 as const, site: SITE, kiosk: KIOSK, from: r.seq, to: r.seq, firstSaleId: r.saleId, lastSaleId: r.saleId }, loadSigningKey('ck1', intruder.privateKeyPem));
    await observer!.publishAsync(kioskTopics.salesAck(SITE, KIOSK), JSON.stringify(forged), { qos: 1 });
    await until(() => (kiosk!.status.dropped.bad_signature ?? 0) >= 1, 'the kiosk to drop the forged receipt');
    expect(kiosk!.outbox.outboxDepth()).toBe(1);
    await broker.kill9();
    await broker.start();
    await startCloud();
    await until(() => kiosk!.outbox.outboxDepth() === 0, 'the real receipt', 30_000);
    const rows = await cloud!.kiosks.repository.records(SITE, KIOSK);
    expect(rows.map((x) => [x.seq, x.kind])).toEqual([
      ['1', 'sale'],
      ['2', 'sale'],
      ['3', 'sale'],
      ['4', 'print'],
    ]);
    expect((await cloud!.capacity.current(SITE))!.load.soldToday).toBe(CAP);
  });
});
