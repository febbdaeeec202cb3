/**
 * stile-kiosk with its outbox (kiosk.yaml `sync`), end to end on the simulated devices and a
 * real cloud (kiosk-harness.ts) reached through cuttable TCP relays: one for the channel API's
 * HTTP, one for the broker. Online, every sale reaches the cloud as a record and is counted
 * once (as its order). With both relays cut, codes are refused and a cash sale prints an ST2
 * ticket, signed by the kiosk, that a gate trusting the kiosk's key admits; healed, the record
 * reaches the cloud, which counts the sale.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGateConfig, parseTicketCode } from '@stile/config';
import { openGate } from '@stile/gate-agent';
import { createDemoSite } from '@stile/demo/site';
import { MQTT_URL } from '../../../cloud-bridge/test/helpers.js';
import { Partition } from '../../../cloud-bridge/test/faults/harness.js';
import { startKiosk, type KioskDaemon } from '../../src/daemon/kiosk-daemon.js';
import type { Phase } from '../../src/sale/model.js';
import { KioskSyncConfigSchema } from '../../src/sync/sync-config.js';
import { provisionKioskKey } from '../../src/sync/keys.js';
import { ID_KEY, KEYS, scanPng, startKioskPark, toReview, until, type KioskPark } from './kiosk-harness.js';

const CAP = 4;
let park: KioskPark;
let kiosk: KioskDaemon | undefined;
let http: Partition;
let broker: Partition;
let keyDir = '';
let kioskKey: { keyId: string; publicKey: string };

beforeAll(async () => {
  keyDir = mkdtempSync(join(tmpdir(), 'stile-kiosk-key-'));
  kioskKey = provisionKioskKey(join(keyDir, 'offline.pem'), 'kiosk-k1');
  park = await startKioskPark({ site: { kiosks: [{ id: 'k1', channel: 'kiosk-cash', offlineCap: CAP, offlineKey: { id: kioskKey.keyId, publicKey: kioskKey.publicKey } }] } });
  http = new Partition(park.bridge.httpPort);
  broker = new Partition(Number(new URL(MQTT_URL).port || 1883));
  await http.start();
  await broker.start();
  writeFileSync(join(park.dir, 'idhash.key'), `${ID_KEY}\n`);
  const cfg = park.config((f) => {
    f.cloud.url = `http://127.0.0.1:${http.port}`;
    f.cloud.timeoutMs = 2000;
    f.sync = KioskSyncConfigSchema.parse({
      url: broker.url,
      reconnectMinMs: 200,
      reconnectMaxMs: 1000,
      outbox: 'outbox.db',
      offlineKey: { id: kioskKey.keyId, file: join(keyDir, 'offline.pem') },
      control: [park.control],
      idHashKeyFile: 'idhash.key',
      probeMs: 500,
      receiptTimeoutMs: 2000,
    });
  });
  kiosk = await startKiosk(cfg);
});

afterAll(async () => {
  await kiosk?.stop();
  await http?.close();
  await broker?.close();
  await park?.close();
  rmSync(keyDir, { recursive: true, force: true });
});

const phase = (p: Phase) => () => kiosk!.runtime.state().phase === p;

/** Pay the review screen's price with a ¥100 note: the ticket prints. Returns the code on the printed ticket. */
async function payCash(): Promise<string> {
  const printed = park.printer.pages.length;
  kiosk!.runtime.dispatch({ kind: 'choose_method', method: 'cash' });
  await until(phase('cash'), 'the cash screen');
  await until(() => park.cash.validator!.insertNote(10000) === 'held', 'the validator taking the note');
  await until(phase('done'), 'the printed ticket', 15_000);
  const page = park.printer.pages.slice(printed).find((p) => p.qrPngs.length > 0 && p.text.includes('票种 Type'))!;
  return scanPng(page.qrPngs[0]!)!;
}

const records = () => park.bridge.kiosks.repository.records(park.site, 'k1');

describe('stile-kiosk with its outbox and offline cash sales', () => {
  it('online: a cash sale is an order of the cash channel, and its record reaches the cloud as the audit trail without a second order', async () => {
    const saleId = await toReview(kiosk!, park, '王五');
    const code = await payCash();
    expect(code).toMatch(/^ST1:/);
    const rows = await until(async () => ((await records()).some((r) => r.sale_id === saleId) ? records() : undefined), 'the sale record at the cloud');
    const row = rows.find((r) => r.sale_id === saleId)!;
    expect(row).toMatchObject({ kind: 'sale', payment: 'cash', order_id: null, anomaly: null, persons: 1, amount_fen: 8000 });
    const rec = JSON.parse(row.payload) as { tickets: { code: string }[]; cash: { kind: string; fen: number }[]; print: string; orderId: string };
    expect(rec.tickets.map((t) => t.code)).toEqual([code]);
    expect(rec.cash.map((c) => [c.kind, c.fen])).toEqual([
      ['note_in', 10000],
      ['change_out', 2000],
    ]);
    expect(rec.print).toBe('printed');
    // Counted once: the channel API's order, nothing made from the record.
    const orders = await park.bridge.store.db.selectFrom('orders').select(['order_id', 'channel', 'status']).where('site', '=', park.site).execute();
    expect(orders.filter((o) => o.status === 'paid')).toEqual([expect.objectContaining({ order_id: rec.orderId, channel: 'kiosk-cash' })]);
    await until(() => kiosk!.sync!.outbox.outboxDepth() === 0, 'the receipt to empty the outbox');
  });

  const offline: { saleId: string; code: string } = { saleId: '', code: '' };

  it('cloud unreachable (its HTTP and the broker cut): codes are refused, a cash sale prints an ST2 ticket that a gate trusting the kiosk key admits', async () => {
    await until(() => kiosk!.sync!.packs.pack, 'the offline pack');
    http.cut();
    broker.cut();
    await until(() => !kiosk!.sync!.online, 'the kiosk to lose the broker');
    const t0 = performance.now();
    const saleId = await toReview(kiosk!, park, '王五');
    expect(kiosk!.runtime.state().dev.online).toBe(false);
    // A payment code needs the provider, through the cloud: the machine says cash only.
    kiosk!.runtime.dispatch({ kind: 'choose_method', method: 'code' });
    expect(kiosk!.runtime.state()).toMatchObject({ phase: 'review', notice: { key: 'offline_cash_only' } });
    const code = await payCash();
    const ms = performance.now() - t0;
    console.info(`kiosk offline cash sale, first touch to printed ST2 ticket (¥100 for ¥80, 20 coins change): ${ms.toFixed(0)} ms`);
    expect(code).toMatch(/^ST2:/);
    expect(ms).toBeLessThan(5000);
    offline.saleId = saleId;
    offline.code = code;
    const placed = kiosk!.journal.saleEntries(saleId).find((e) => e.kind === 'order_placed') as { orderId: string };
    expect(placed.orderId).toBe(`offline-${saleId}`);
    // sale (with the codes, at signing) + print (at the close), waiting in the outbox.
    expect(kiosk!.sync!.outbox.outboxDepth()).toBe(2);
    expect(kiosk!.sync!.offline.canSell(0).left).toBe(CAP - 1);

    const demo = await createDemoSite(join(park.dir, 'gate'), { tickets: 5 });
    const cfg = loadGateConfig(demo.configPath);
    const gateCfg = { ...cfg, site: { ...cfg.site, id: park.site }, keys: { ...cfg.keys, offline: [...cfg.keys.offline, { id: kioskKey.keyId, publicKey: kioskKey.publicKey }] } };
    const { store, gatekeeper } = openGate(gateCfg, pino({ level: 'silent' }));
    try {
      expect(gatekeeper.evaluate({ kind: 'qr', text: code })).toMatchObject({ decision: 'admit', credential: 'signed-qr' });
    } finally {
      store.close();
    }
  });

  it('back online: the offline sale reaches the cloud, becomes a paid order of the kiosk and counts in capacity', async () => {
    const soldBefore = (await park.bridge.capacity.current(park.site))?.load.soldToday ?? 0;
    http.heal();
    broker.heal();
    await until(() => kiosk!.sync!.outbox.outboxDepth() === 0, 'the receipts to empty the outbox', 30_000);
    const rows = (await records()).filter((r) => r.sale_id === offline.saleId);
    expect(rows.map((r) => [r.kind, r.payment, r.anomaly])).toEqual([
      ['sale', 'offline-cash', null],
      ['print', null, null],
    ]);
    expect(rows[0]!.order_id).toBeTruthy();
    const order = await park.getOrder(rows[0]!.order_id!, KEYS.cash);
    expect(order).toMatchObject({ status: 'paid' });
    // The cloud's order holds the ticket the ST2 code names (the channel API shows it as ST1:<id>).
    const st2 = parseTicketCode(offline.code);
    expect(st2.ok && st2.kind === 'st2').toBe(true);
    expect(order.tickets.map((t: { code: string }) => t.code)).toEqual([`ST1:${st2.ok && st2.kind === 'st2' ? st2.payload.ticketId : ''}`]);
    const load = await until(async () => {
      const cur = await park.bridge.capacity.current(park.site);
      return cur && cur.load.soldToday === soldBefore + 1 ? cur : undefined;
    }, 'capacity to count the offline sale');
    expect(load.load.soldToday).toBe(soldBefore + 1);
    // The kiosk hears the cloud again: codes are offered again.
    await until(() => kiosk!.runtime.state().dev.online, 'the kiosk back online', 5000);
  });
});
