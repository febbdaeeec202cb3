import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { demoCatalogue } from '@stile/demo/catalogue';
import { generateSigningKeyPair, issueOfflineTicket, kioskTopics, loadSigningKey, localDate, newTicketId, verifySiteDocument, KioskPackSchema, KioskSalesAckSchema, type SigningKey } from '@stile/config';
import type { CloudBridge } from '../../src/bridge.js';
import { DIALECTS, testBridge, testClient, testDb, testSite, waitFor, type TestDb, type TestSite } from '../helpers.js';

/**
 * The kiosks module against the real Mosquitto: kiosk records published as a kiosk would,
 * a receipt signed by the site, idempotent by (kiosk, seq), offline sales counted into
 * capacity and the daily report, and what it refuses or flags.
 */
describe.each(DIALECTS)('kiosk records (%s)', (dialect) => {
  let db: TestDb;
  let site: TestSite;
  let bridge: CloudBridge;
  let client: MqttClient;
  let kioskKey: SigningKey;
  let otherKey: SigningKey;
  const got: { topic: string; payload: string }[] = [];
  let s = '';
  const today = localDate(new Date(), 'Asia/Shanghai');

  beforeAll(async () => {
    db = await testDb(dialect);
    site = testSite(['g1']);
    s = site.config.id;
    const k = generateSigningKeyPair('kiosk1');
    const o = generateSigningKeyPair('kiosk2');
    kioskKey = loadSigningKey(k.keyId, k.privateKeyPem);
    otherKey = loadSigningKey(o.keyId, o.privateKeyPem);
    bridge = await testBridge(db, [
      {
        ...site.config,
        kiosks: [
          { id: 'k1', channel: 'kiosk', offlineCap: 5, offlineKey: { id: k.keyId, publicKey: k.publicKey } },
          { id: 'k2', channel: 'kiosk', offlineCap: 5, offlineKey: { id: o.keyId, publicKey: o.publicKey } },
        ],
        sales: { catalogue: { ...demoCatalogue(), slots: [] }, capacity: { daily: 100, yellow: 0.7, orange: 0.85, red: 1, kioskReserve: 10 }, idHashKey: 'id-hash-key-for-tests-0123456789' },
      },
    ], { demoMode: true });
    client = await testClient();
    client.on('message', (topic, p) => got.push({ topic, payload: p.toString() }));
    await client.subscribeAsync({ [kioskTopics.salesAck(s, 'k1')]: { qos: 1 }, [kioskTopics.pack(s, 'k1')]: { qos: 1 } });
  });
  afterAll(async () => {
    await client?.endAsync();
    await bridge?.close();
    await db?.cleanup();
  });

  const offlineSale = (seq: number, persons: number, key: SigningKey = kioskKey) => {
    const tickets = Array.from({ length: persons }, () => {
      const ticketId = newTicketId();
      return { ticketId, persons: 1, code: issueOfflineTicket(key, { site: s, ticketId, typeId: 'adult', visitDate: today, slotStart: null, slotEnd: null, persons: 1, issuedAt: Math.floor(Date.now() / 1000) }) };
    });
    return { kind: 'sale', saleId: `S${seq}-${newTicketId().slice(0, 10)}`, seq: String(seq), at: new Date().toISOString(), typeId: 'adult', date: today, persons, amountFen: persons * 6000, payment: 'offline-cash', tickets, cash: [{ kind: 'note_in', fen: persons * 6000, at: new Date().toISOString() }], print: 'printed' };
  };
  const publish = (kiosk: string, records: unknown[]) => client.publishAsync(kioskTopics.sales(s, kiosk), JSON.stringify({ v: 1, site: s, kiosk, records }), { qos: 1 });
  const receipts = () => got.filter((m) => m.topic === kioskTopics.salesAck(s, 'k1')).map((m) => JSON.parse(m.payload) as Record<string, unknown>);

  it('publishes a signed, retained offline pack for each kiosk', async () => {
    const m = await waitFor(() => got.find((x) => x.topic === kioskTopics.pack(s, 'k1')), 'the pack');
    const v = verifySiteDocument(JSON.parse(m.payload), KioskPackSchema, s, site.trusted, today);
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.doc).toMatchObject({ kiosk: 'k1', date: today, keyId: 'kiosk1', offlineCap: 5 });
    expect(v.doc.types.map((t) => t.id)).toContain('adult');
    expect(Date.parse(v.doc.expiresAt)).toBeGreaterThan(Date.now());
  });

  it('counts offline sales once into capacity and the report, and answers every batch with a signed receipt', async () => {
    const before = (await bridge.capacity.current(s))!.load.soldToday;
    const a = offlineSale(1, 2);
    const b = offlineSale(2, 1);
    await publish('k1', [a, b]);
    await publish('k1', [a, b]); // QoS 1 redelivery, or a kiosk that lost the receipt
    await waitFor(() => receipts().length >= 2, 'two receipts');
    for (const r of receipts()) {
      expect(verifySiteDocument(r, KioskSalesAckSchema, s, site.trusted, today).ok).toBe(true);
      expect(r).toMatchObject({ kiosk: 'k1', from: '1', to: '2', firstSaleId: a.saleId, lastSaleId: b.saleId });
    }
    const rows = await bridge.kiosks.repository.records(s, 'k1');
    expect(rows.map((r) => [r.seq, r.anomaly, r.order_id !== null])).toEqual([
      ['1', null, true],
      ['2', null, true],
    ]);
    await waitFor(async () => (await bridge.capacity.current(s))!.load.soldToday === before + 3, 'capacity to count 3 more persons');
    const report = await bridge.reports.get(s, today);
    const kioskLine = report!.byChannel.find((c) => c.channel === 'kiosk');
    expect(kioskLine).toMatchObject({ orders: 2, persons: 3, revenueFen: 18000 });
    expect(report!.reconciliation?.channels.find((c) => c.channel === 'kiosk')).toMatchObject({ kind: 'cash', orders: 2, amountFen: 18000 });
    // The tickets are in the whitelist: a gate admission of one later counts as used, not as a walk-in.
    expect(await bridge.whitelist.getTicket(s, a.tickets[0]!.ticketId)).toMatchObject({ status: 'valid', visitDate: today });
  });

  it('flags a sale over the daily cap (counted) and codes not signed by this kiosk (not counted), and alerts staff', async () => {
    await publish('k1', [offlineSale(3, 2), offlineSale(4, 1, otherKey)]);
    await waitFor(async () => (await bridge.kiosks.repository.records(s, 'k1')).length === 4, 'the two records');
    const rows = await bridge.kiosks.repository.records(s, 'k1');
    expect(rows.slice(2).map((r) => [r.seq, r.anomaly, r.order_id !== null])).toEqual([
      ['3', null, true],
      ['4', 'unverified_code', false],
    ]);
    await publish('k1', [offlineSale(5, 1)]);
    await waitFor(async () => (await bridge.kiosks.repository.records(s, 'k1')).length === 5, 'the sixth person');
    expect((await bridge.kiosks.repository.records(s, 'k1'))[4]).toMatchObject({ seq: '5', anomaly: 'over_cap' });
    expect(bridge.metrics.anomalies).toMatchObject({ kiosk_unverified_code: 1, kiosk_over_cap: 1 });
    const alerts = await bridge.store.db.selectFrom('alerts').select(['kind', 'message_en']).where('site', '=', s).where('kind', '=', 'kiosk_anomaly').execute();
    expect(alerts.map((a) => a.message_en).join('\n')).toMatch(/Kiosk k1 reported offline tickets not signed by its own key[\s\S]*Kiosk k1 sold more offline than its daily cap/);
  });

  it('refuses (and counts) a kiosk the site does not list, and a batch whose topic names another kiosk', async () => {
    const dropped = bridge.metrics.invalid.kiosk_unknown_kiosk ?? 0;
    await publish('k9', [offlineSale(1, 1)]);
    await client.publishAsync(kioskTopics.sales(s, 'k2'), JSON.stringify({ v: 1, site: s, kiosk: 'k1', records: [offlineSale(9, 1)] }), { qos: 1 });
    await waitFor(() => (bridge.metrics.invalid.kiosk_unknown_kiosk ?? 0) === dropped + 1 && (bridge.metrics.invalid.kiosk_topic_mismatch ?? 0) >= 1, 'both refusals counted');
    expect(await bridge.kiosks.repository.records(s, 'k9')).toEqual([]);
    expect((await bridge.kiosks.repository.records(s, 'k1')).map((r) => r.seq)).not.toContain('9');
  });
});
