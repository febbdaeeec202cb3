// The API contract (#15 point 5): every route of the OpenAPI document is called for real, for
// its success and for each refusal that is reasonable to provoke, and every answer's status,
// content type and body are validated against the document's schema for that status. The
// validator is ajv (a devDependency for this test only): the document is JSON Schema
// (OpenAPI 3.0 dialect, whose `nullable` ajv knows), and zod cannot check a document it did not
// generate itself. Capacity codes that need a particular park state (capacity_orange,
// capacity_red, slot_over) have the same body shape and are provoked in channel-api.test.ts.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashIdNumber, maskIdNumber } from '@stile/config';
import { PaymentSimulator } from '@stile/payment-sim';
import type { CloudBridge } from '../src/bridge.js';
import { parseCatalogue, sha256Hex } from '../src/core/catalogue.js';
import { documentedCodes } from '../src/core/http/openapi.js';
import { REFUSAL_CODES } from '../src/core/http/refusals.js';
import type { SitePayments } from '../src/modules/payments/config.js';
import { LogSmsSender } from '../src/core/notify/sms.js';
import { ContractClient, mainContract, type Answer, type CallOptions, type Doc } from './contract-kit.js';
import { idNumber, silentLog, testBridge, testDb, testSite, type TestDb } from './helpers.js';

const KEYS = { web: 'contract-web-key-0123456789', kiosk: 'contract-kiosk-key-0123456789', small: 'contract-small-key-0123456789', smallKiosk: 'contract-small-kiosk-0123456789', booking: 'contract-booking-key-0123456789' };
const STAFF = 'contract-staff-token';
/** The sales clock: 10:00 on 1 March 2027 in Shanghai; DAY is a Wednesday nine days later. */
const NOW = new Date('2027-03-01T10:00:00+08:00');
const DAY = '2027-03-10';
const NEXT = '2027-03-11';


function catalogue(keys: { online: string; kiosk: string; booking?: string }) {
  return parseCatalogue({
    ticketTypes: [
      { id: 'adult', name: 'Adult', priceFen: 8000 },
      { id: 'family', name: 'Family', priceFen: 18000, persons: 3 },
      { id: 'weekend', name: 'Weekend', priceFen: 6000, days: 'weekend' },
    ],
    slots: [
      { id: 'early', start: '06:30', end: '08:00', quota: 100 },
      { id: 's10', start: '10:00', end: '12:00', quota: 1000 },
      { id: 'tiny', start: '12:00', end: '14:00', quota: 1 },
    ],
    pricing: [{ kind: 'earlyBird', before: '08:00', percentOff: 20 }],
    channels: [
      { id: 'web', kind: 'online', apiKeySha256: sha256Hex(keys.online) },
      { id: 'kiosk', kind: 'kiosk', apiKeySha256: sha256Hex(keys.kiosk) },
      // The park's own booking page: paid through WeChat Pay (the payment simulator).
      ...(keys.booking ? [{ id: 'booking', kind: 'online', apiKeySha256: sha256Hex(keys.booking), payment: 'provider' }] : []),
    ],
    refundReasons: [{ code: 'weather', label: 'Weather' }],
    realName: { ticketsPerIdPerDay: 1, bookingHorizonDays: 30 },
  });
}

describe('the OpenAPI document is the contract of every route', () => {
  let db: TestDb;
  let bridge: CloudBridge;
  let base: string;
  let doc: Doc;
  let site: string;
  let small: string;
  let sim: PaymentSimulator;
  let simDir: string;
  let client: ContractClient;
  /** The visitors' phones: the booking page's login codes are read here. */
  const texts = new LogSmsSender(silentLog, 1000);

  beforeAll(async () => {
    db = await testDb('sqlite');
    const a = testSite(['g1']);
    const b = testSite(['g1']);
    site = a.config.id;
    small = b.config.id;
    const staffTokenSha256 = createHash('sha256').update(STAFF).digest('hex');
    const idHashKey = 'contract-id-hash-key-0123456789abcdef';
    simDir = mkdtempSync(join(tmpdir(), 'stile-contract-paysim-'));
    sim = new PaymentSimulator({ stateDir: simDir });
    await sim.listen();
    const w = (sim.merchantConfig() as { wechat: NonNullable<SitePayments['wechat']> & { baseUrl: string } }).wechat;
    bridge = await testBridge(
      db,
      [
        { ...a.config, sales: { catalogue: catalogue({ online: KEYS.web, kiosk: KEYS.kiosk, booking: KEYS.booking }), capacity: { daily: 5000, yellow: 0.7, orange: 0.85 }, idHashKey, staffTokenSha256, bookingChannel: 'booking' } },
        // Small: online may sell 7 of 10 (3 kept for the kiosk), for the day's capacity codes.
        { ...b.config, sales: { catalogue: catalogue({ online: KEYS.small, kiosk: KEYS.smallKiosk }), capacity: { daily: 10, yellow: 0.5, orange: 0.95, red: 1, kioskReserve: 3 }, idHashKey, staffTokenSha256 } },
      ],
      {
        salesClock: () => NOW,
        sms: texts,
        // WeChat Pay only (Alipay answers provider_not_configured); a short deadline for payment_timeout.
        payments: { sites: { [a.config.id]: { wechat: { mchid: w.mchid, appid: w.appid, merchantSerial: w.merchantSerial, merchantPrivateKeyPath: w.merchantPrivateKeyPath, apiV3KeyPath: w.apiV3KeyPath, platformKeys: w.platformKeys, baseUrl: w.baseUrl, timeoutMs: 500, oauth: w.oauth } } }, sweepEveryMs: 3_600_000 },
      },
    );
    base = `http://127.0.0.1:${bridge.httpPort}`;
    client = await ContractClient.connect(base);
    doc = client.doc;
  });
  afterAll(async () => {
    await bridge?.close();
    await db?.cleanup();
    await sim?.close();
    if (simDir) rmSync(simDir, { recursive: true, force: true });
  });

  const call = (method: string, template: string, path: string, opts: CallOptions = {}): Promise<Answer> => client.call(method, template, path, opts);

  const visitors = (from: number, n = 1) => Array.from({ length: n }, (_, i) => ({ name: `游客${from + i}`, idNumber: idNumber(from + i) }));
  const order = (extra: Record<string, unknown> = {}, from = 1, n = 1) => ({ typeId: 'adult', date: DAY, slotId: 's10', contactPhone: '13800138000', visitors: visitors(from, n), ...extra });
  const AV = '/v1/channel/availability';
  const ORDERS = '/v1/channel/orders';
  const ORDER = '/v1/channel/orders/{orderId}';
  const act = (a: string) => `/v1/channel/orders/{orderId}/${a}`;

  it('lists every refusal code in the code somewhere in the document', () => {
    // The validator does refuse what the document does not allow (a check of the check).
    const schemaOf = (path: string, method: string, status: string) => client.schemaOf(path, method, status);
    expect(schemaOf(AV, 'get', '200')({ site: 'x' })).toBe(false);
    expect(schemaOf(ORDERS, 'post', '409')({ error: 'invalid_id_number', message: 'a 422 code under 409' })).toBe(false);
    expect(schemaOf(ORDERS, 'post', '409')({ error: 'sold_out', message: 'm', undocumented: 1 })).toBe(false);
    expect(schemaOf(ORDERS, 'post', '409')({ error: 'sold_out', message: 'm', slotId: 's10', requested: 2, remaining: 1 })).toBe(true);
    const listed = documentedCodes(doc as Parameters<typeof documentedCodes>[0]);
    expect(REFUSAL_CODES.filter((c) => !listed.has(c))).toEqual([]);
    // Every route documents 413 and 500 and gives every response a schema.
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops)) {
        const creates = method === 'post' && (path === ORDERS || path === '/v1/book/{site}/orders');
        // The WeChat OAuth routes are browser navigations: their success is a 302 (documented with its Location, no body).
        const navigates = /\/wechat-oauth\//.test(path);
        expect(Object.keys(op.responses), `${method} ${path}`).toEqual(expect.arrayContaining([navigates ? '302' : '200', '413', '500'].filter((s) => !(s === '200' && creates))));
        for (const [status, r] of Object.entries(op.responses)) if (status !== '302') expect(Object.keys(r.content ?? {}).length, `${method} ${path} ${status} has a schema`).toBeGreaterThan(0);
      }
  });

  it('availability: answers, and refuses bad dates, unknown keys, the past and beyond the horizon', async () => {
    const ok = await call('GET', AV, `${AV}?date=${DAY}`, { key: KEYS.web });
    expect(ok.status).toBe(200);
    expect(ok.body.realName).toEqual({ ticketsPerIdPerDay: 1, bookingHorizonDays: 30, lastDate: '2027-03-31' });
    expect((await call('GET', AV, `${AV}?date=2027-02-30`, { key: KEYS.web })).body.error).toBe('invalid_date');
    expect((await call('GET', AV, `${AV}?date=2027-2-3`, { key: KEYS.web })).body.error).toBe('invalid_date');
    expect((await call('GET', AV, AV, { key: KEYS.web })).body.error).toBe('invalid_request');
    expect((await call('GET', AV, `${AV}?date=${DAY}`, { key: 'nope' })).body.error).toBe('unknown_api_key');
    expect((await call('GET', AV, `${AV}?date=2027-02-28`, { key: KEYS.web })).body.error).toBe('date_in_past');
    expect((await call('GET', AV, `${AV}?date=2027-04-01`, { key: KEYS.web })).body.error).toBe('beyond_booking_horizon');
  });

  it('orders: created, replayed, and every request and rule refusal', async () => {
    const created = await call('POST', ORDERS, ORDERS, { key: KEYS.web, body: order(), idem: 'contract-order-1' });
    expect(created.status).toBe(201);
    expect((await call('POST', ORDERS, ORDERS, { key: KEYS.web, body: order(), idem: 'contract-order-1' })).body.replayed).toBe(true);
    expect((await call('POST', ORDERS, ORDERS, { key: KEYS.web, body: order({}, 2), idem: 'contract-order-1' })).body.error).toBe('idempotency_key_reused');
    const refused = async (body: unknown, code: string, key = KEYS.web) => {
      const r = await call('POST', ORDERS, ORDERS, { key, body, idem: true });
      expect(r.body.error, JSON.stringify(r.body)).toBe(code);
      return r;
    };
    await refused({ ...order(), visitors: [] }, 'invalid_request');
    await refused(order({ date: '2027-02-30' }), 'invalid_date');
    await refused(order(), 'unknown_api_key', 'nope');
    await refused(order({ date: '2027-02-28' }, 3), 'date_in_past');
    await refused(order({ date: '2027-04-01' }, 3), 'beyond_booking_horizon');
    await refused(order({ slotId: undefined }, 3), 'slot_required');
    await refused(order({ typeId: 'nope' }, 3), 'unknown_type');
    await refused(order({ slotId: 'nope' }, 3), 'unknown_slot');
    await refused(order({ typeId: 'weekend' }, 3), 'not_on_this_day');
    await refused(order({ entry: 'night' }, 3), 'entry_not_available');
    await refused(order({ typeId: 'family' }, 3, 2), 'package_size');
    await refused(order({ slotId: 'tiny' }, 3, 2), 'sold_out');
    // ID numbers: check digit, region, birth date; the same one twice; one already booked that day.
    const bad = (idNumber: string) => order({ visitors: [{ name: '甲', idNumber: idNumber }] });
    expect((await refused(bad('110105199001000010'), 'invalid_id_number')).body).toMatchObject({ visitor: 0, message: expect.stringContaining('visitors[0]') });
    await refused(bad(withCheck('99010519900101001')), 'invalid_id_number');
    await refused(bad(withCheck('11010520270302001')), 'invalid_id_number');
    await refused({ ...order(), visitors: [...visitors(3), ...visitors(3)] }, 'duplicate_visitor');
    expect((await refused({ ...order(), visitors: [...visitors(4), ...visitors(1)] }, 'visitor_already_booked')).body.visitor).toBe(1);
    expect((await call('POST', ORDERS, ORDERS, { key: KEYS.web, raw: `{"x":"${'y'.repeat(70_000)}"}`, idem: true })).body.error).toBe('payload_too_large');
    expect((await call('POST', ORDERS, ORDERS, { key: KEYS.web, raw: '{nope', idem: true })).body.error).toBe('invalid_request');
    expect((await call('POST', ORDERS, ORDERS, { key: KEYS.web, body: order({}, 5) })).body.error).toBe('invalid_request'); // no Idempotency-Key
  });

  it('orders: the day limits of a small park (kiosk reserve, capacity)', async () => {
    const whole = (from: number, n: number) => order({}, from, n);
    expect((await call('POST', ORDERS, ORDERS, { key: KEYS.small, body: whole(100, 7), idem: true })).status).toBe(201);
    expect((await call('POST', ORDERS, ORDERS, { key: KEYS.small, body: whole(110, 1), idem: true })).body.error).toBe('kiosk_reserve_exhausted');
    const over = await call('POST', ORDERS, ORDERS, { key: KEYS.smallKiosk, body: whole(120, 4), idem: true });
    expect(over.body).toMatchObject({ error: 'capacity_exceeded', requested: 4, remaining: 3 });
    const paused = await call('POST', '/v1/staff/sites/{site}/channels/{channel}/pause', `/v1/staff/sites/${small}/channels/web/pause`, { key: STAFF, body: { by: 'staff:li', reason: 'test' } });
    expect(paused.body.paused).toBe(true);
    expect((await call('POST', ORDERS, ORDERS, { key: KEYS.small, body: whole(130, 1), idem: true })).body.error).toBe('channel_paused');
    expect((await call('POST', '/v1/staff/sites/{site}/channels/{channel}/resume', `/v1/staff/sites/${small}/channels/web/resume`, { key: STAFF, body: { by: 'staff:li', reason: 'test' } })).status).toBe(200);
  });

  it('an order: read, paid, refunded, rebooked, and their refusals', async () => {
    const o = await call('POST', ORDERS, ORDERS, { key: KEYS.web, body: order({}, 200, 2), idem: true });
    const id = o.body.orderId as string;
    const p = (a: string) => `/v1/channel/orders/${id}/${a}`;
    expect((await call('GET', ORDER, `/v1/channel/orders/${id}`, { key: KEYS.web })).body.status).toBe('pending');
    expect((await call('GET', ORDER, '/v1/channel/orders/ONOPE', { key: KEYS.web })).body.error).toBe('unknown_order');
    expect((await call('GET', ORDER, `/v1/channel/orders/${id}`, { key: 'nope' })).body.error).toBe('unknown_api_key');
    expect((await call('POST', act('refund'), p('refund'), { key: KEYS.web, body: { reason: 'weather' }, idem: true })).body.error).toBe('not_paid');
    expect((await call('POST', act('rebook'), p('rebook'), { key: KEYS.web, body: { date: NEXT, slotId: 's10' }, idem: true })).body.error).toBe('not_paid');
    expect((await call('POST', act('pay'), p('pay'), { key: KEYS.web, body: { paymentRef: 'x', amountFen: 1 }, idem: true })).body.error).toBe('amount_mismatch');
    expect((await call('POST', act('pay'), p('pay'), { key: KEYS.web, body: { paymentRef: 'x' }, idem: true })).body.error).toBe('invalid_request');
    expect((await call('POST', act('pay'), '/v1/channel/orders/ONOPE/pay', { key: KEYS.web, body: { paymentRef: 'x', amountFen: 1 }, idem: true })).body.error).toBe('unknown_order');
    const paid = await call('POST', act('pay'), p('pay'), { key: KEYS.web, body: { paymentRef: 'pay-1', amountFen: 16000 }, idem: true });
    expect(paid.body.tickets).toHaveLength(2);
    expect((await call('POST', act('pay'), p('pay'), { key: KEYS.web, body: { paymentRef: 'pay-1', amountFen: 16000 }, idem: true })).status).toBe(200);
    expect((await call('POST', act('pay'), p('pay'), { key: KEYS.web, body: { paymentRef: 'pay-2', amountFen: 16000 }, idem: true })).body.error).toBe('already_paid');
    expect((await call('POST', act('rebook'), p('rebook'), { key: KEYS.web, body: { date: DAY, slotId: 's10' }, idem: true })).body.error).toBe('same_date_and_slot');
    expect((await call('POST', act('rebook'), p('rebook'), { key: KEYS.web, body: { date: '2027-02-31' }, idem: true })).body.error).toBe('invalid_date');
    const moved = await call('POST', act('rebook'), p('rebook'), { key: KEYS.web, body: { date: NEXT, slotId: 's10' }, idem: true });
    expect(moved.body).toMatchObject({ status: 'paid', date: NEXT });
    expect((await call('POST', act('refund'), p('refund'), { key: KEYS.web, body: { reason: 'bored' }, idem: true })).body.error).toBe('unknown_refund_reason');
    expect((await call('POST', act('refund'), p('refund'), { key: KEYS.web, body: { reason: 'weather' }, idem: true })).body.status).toBe('refunded');
    expect((await call('POST', act('refund'), p('refund'), { key: KEYS.web, body: { reason: 'weather' }, idem: true })).body.error).toBe('already_refunded');
    expect((await call('POST', act('rebook'), p('rebook'), { key: KEYS.web, body: { date: DAY, slotId: 's10' }, idem: true })).body.error).toBe('already_refunded');

    // An early-slot ticket (20 % off) cannot move to a dearer slot; a used ticket is neither refunded nor moved.
    const early = await call('POST', ORDERS, ORDERS, { key: KEYS.web, body: order({ slotId: 'early' }, 210), idem: true });
    const e = (a: string) => `/v1/channel/orders/${early.body.orderId}/${a}`;
    const ep = await call('POST', act('pay'), e('pay'), { key: KEYS.web, body: { paymentRef: 'e', amountFen: early.body.amountFen }, idem: true });
    expect((await call('POST', act('rebook'), e('rebook'), { key: KEYS.web, body: { date: DAY, slotId: 's10' }, idem: true })).body.error).toBe('price_higher');
    await bridge.store.db.updateTable('tickets').set({ entries_used: 1 }).where('site', '=', site).where('ticket_id', '=', ep.body.tickets[0].ticketId).execute();
    expect((await call('POST', act('refund'), e('refund'), { key: KEYS.web, body: { reason: 'weather' }, idem: true })).body.error).toBe('ticket_used');
    expect((await call('POST', act('rebook'), e('rebook'), { key: KEYS.web, body: { date: NEXT, slotId: 'early' }, idem: true })).body.error).toBe('ticket_used');

    // An unpaid order past its hold.
    const late = await call('POST', ORDERS, ORDERS, { key: KEYS.web, body: order({}, 220), idem: true });
    await bridge.sales.expireHolds(-1);
    expect((await call('POST', act('pay'), `/v1/channel/orders/${late.body.orderId}/pay`, { key: KEYS.web, body: { paymentRef: 'l', amountFen: 8000 }, idem: true })).body.error).toBe('order_expired');
  });

  it('payments (provider-mode channels): created, read, and their refusals; …/pay refused for them', async () => {
    const PAYMENTS = act('payments');
    const PAYMENT = act('payment');
    const o = await call('POST', ORDERS, ORDERS, { key: KEYS.booking, body: order({}, 300), idem: true });
    const id = o.body.orderId as string;
    const at = (a: string, order = id) => `/v1/channel/orders/${order}/${a}`;
    const qr = await call('POST', PAYMENTS, at('payments'), { key: KEYS.booking, body: { provider: 'wechat', method: 'qr' } });
    expect(qr.body).toMatchObject({ state: 'pending', orderStatus: 'pending' });
    expect((await call('GET', PAYMENT, at('payment'), { key: KEYS.booking })).body.payments).toHaveLength(1);
    expect((await call('POST', act('pay'), at('pay'), { key: KEYS.booking, body: { paymentRef: 'claim', amountFen: 8000 }, idem: true })).body.error).toBe('payment_by_provider');
    const refused = async (path: string, body: unknown, code: string, key = KEYS.booking) => expect((await call('POST', PAYMENTS, path, { key, body })).body.error).toBe(code);
    await refused(at('payments'), { provider: 'alipay', method: 'qr' }, 'provider_not_configured');
    await refused(at('payments'), { provider: 'wechat', method: 'code' }, 'invalid_request');
    await refused(at('payments'), { provider: 'paypal', method: 'qr' }, 'invalid_request');
    await refused(at('payments'), { provider: 'wechat', method: 'qr' }, 'unknown_api_key', 'nope');
    await refused(at('payments', 'ONOPE'), { provider: 'wechat', method: 'qr' }, 'unknown_order');
    await refused(at('payments'), { provider: 'wechat', method: 'qr' }, 'payment_by_partner', KEYS.web);
    sim.faults.add({ kind: '5xx', provider: 'wechat', match: 'jsapi', remaining: 1 });
    await refused(at('payments'), { provider: 'wechat', method: 'in_app', openid: 'o1' }, 'payment_unavailable');
    sim.faults.add({ kind: 'timeout', provider: 'wechat', match: 'jsapi', remaining: 1, hangMs: 1500 });
    await refused(at('payments'), { provider: 'wechat', method: 'in_app', openid: 'o1' }, 'payment_timeout');
    sim.codes.set('134567890123400001', 'insufficient');
    expect((await call('POST', PAYMENTS, at('payments'), { key: KEYS.booking, body: { provider: 'wechat', method: 'code', authCode: '134567890123400001' } })).body).toMatchObject({ state: 'failed', failure: {} });
    expect((await call('GET', PAYMENT, at('payment', 'ONOPE'), { key: KEYS.booking })).body.error).toBe('unknown_order');
    expect((await call('GET', PAYMENT, at('payment'), { key: KEYS.web })).body.error).toBe('payment_by_partner');
    // Paid at the provider: the order is paid (found by the query), and a second payment is refused.
    const t = sim.trade('wechat', qr.body.outTradeNo as string)!;
    sim.pay(t);
    expect((await call('GET', PAYMENT, at('payment'), { key: KEYS.booking })).body.orderStatus).toBe('paid');
    await refused(at('payments'), { provider: 'wechat', method: 'qr' }, 'already_paid');
    expect((await call('POST', act('refund'), at('refund'), { key: KEYS.booking, body: { reason: 'weather' }, idem: true })).body).toMatchObject({ status: 'refunded', refundState: 'requested' });
    await refused(at('payments'), { provider: 'wechat', method: 'qr' }, 'not_payable');
    const late = await call('POST', ORDERS, ORDERS, { key: KEYS.booking, body: order({}, 301), idem: true });
    await bridge.store.db.updateTable('orders').set({ status: 'expired' }).where('order_id', '=', late.body.orderId).execute();
    await refused(at('payments', late.body.orderId), { provider: 'wechat', method: 'qr' }, 'order_expired');
  });

  it('reconciliation (staff): a past day run and read, today refused, staff only', async () => {
    const RECON = '/v1/staff/sites/{site}/reconciliation/{date}';
    const r = (date: string) => `/v1/staff/sites/${site}/reconciliation/${date}`;
    expect((await call('GET', RECON, r('2027-02-27'), { key: STAFF })).body).toMatchObject({ state: 'not_run' });
    expect((await call('POST', RECON, r('2027-02-27'), { key: STAFF })).body).toMatchObject({ state: 'done', mismatchCounts: {} });
    expect((await call('GET', RECON, r('2027-02-27'), { key: STAFF })).body).toMatchObject({ state: 'done' });
    expect((await call('POST', RECON, r('2027-03-01'), { key: STAFF })).body.error).toBe('bill_not_ready');
    expect((await call('POST', RECON, r('2027-02-30'), { key: STAFF })).body.error).toBe('invalid_date');
    expect((await call('GET', RECON, r('2027-02-27'), { key: 'wrong' })).body.error).toBe('unauthorized');
  });

  it('staff routes: answers and refusals, 401 bodies as documented', async () => {
    const s = (rest: string) => `/v1/staff/sites/${site}${rest}`;
    const PAUSE = '/v1/staff/sites/{site}/channels/{channel}/pause';
    expect((await call('POST', PAUSE, s('/channels/web/pause'), { key: 'wrong', body: { by: 'a', reason: 'b' } })).body.error).toBe('unauthorized');
    expect((await call('POST', PAUSE, s('/channels/nope/pause'), { key: STAFF, body: { by: 'a', reason: 'b' } })).body.error).toBe('unknown_channel');
    expect((await call('POST', PAUSE, s('/channels/web/pause'), { key: STAFF, body: { by: 'a' } })).body.error).toBe('invalid_request');
    expect((await call('POST', PAUSE, s('/channels/web/pause'), { key: STAFF, raw: `{"by":"${'y'.repeat(70_000)}"}` })).body.error).toBe('payload_too_large');
    expect((await call('POST', '/v1/staff/sites/{site}/channels/{channel}/resume', s('/channels/web/resume'), { key: 'wrong', body: { by: 'a', reason: 'b' } })).status).toBe(401);
    for (const [template, rest] of [
      ['/v1/staff/sites/{site}/audit', '/audit'],
      ['/v1/staff/sites/{site}/reports', '/reports'],
      ['/v1/staff/sites/{site}/dashboard', '/dashboard'],
      ['/v1/staff/sites/{site}/dashboard/stream', '/dashboard/stream'],
      ['/v1/staff/sites/{site}/reports/{date}', `/reports/${DAY}`],
    ] as const) {
      expect((await call('GET', template, s(rest), { key: STAFF })).status).toBe(200);
      expect((await call('GET', template, s(rest), { key: 'wrong' })).body.error).toBe('unauthorized');
    }
    const REPORT = '/v1/staff/sites/{site}/reports/{date}';
    expect((await call('POST', REPORT, s(`/reports/${DAY}`), { key: STAFF })).status).toBe(200);
    expect((await call('POST', REPORT, s(`/reports/${DAY}`), { key: 'wrong' })).status).toBe(401);
    expect((await call('GET', REPORT, s(`/reports/${DAY}?format=csv`), { key: STAFF })).type).toBe('text/csv');
    expect((await call('GET', REPORT, s(`/reports/${DAY}?format=html`), { key: STAFF })).type).toBe('text/html');
    expect((await call('GET', REPORT, s('/reports/2027-02-30'), { key: STAFF })).body.error).toBe('invalid_date');
    expect((await call('GET', REPORT, s(`/reports/${DAY}?format=xml`), { key: STAFF })).body.error).toBe('invalid_request');
  });

  it('the entrance screen: its model and stream, public, and an unknown site', async () => {
    for (const [template, rest] of [
      ['/screen/{site}/model', 'model'],
      ['/screen/{site}/stream', 'stream'],
    ] as const) {
      expect((await call('GET', template, `/screen/${site}/${rest}`)).status).toBe(200);
      expect((await call('GET', template, `/screen/nope/${rest}`)).body.error).toBe('unknown_site');
    }
  });

  it('the booking page (/v1/book/{site}/…): every route, a success and a refusal', async () => {
    const B = (p: string) => `/v1/book/{site}${p}`;
    const at = (p: string, s = site) => `/v1/book/${s}${p}`;
    const phone = '13912345678';
    expect((await call('GET', B('/info'), at('/info'))).body.providers).toEqual(['wechat']);
    expect((await call('GET', B('/info'), at('/info', small))).body.error).toBe('unknown_site');
    expect((await call('GET', B('/availability'), at(`/availability?date=${DAY}`))).body.channel).toBe('booking');
    expect((await call('GET', B('/availability'), at('/availability?date=2027-02-30'))).body.error).toBe('invalid_date');
    expect((await call('POST', B('/sms-code'), at('/sms-code'), { body: { phone } })).body.sent).toBe(true);
    expect((await call('POST', B('/sms-code'), at('/sms-code'), { body: { phone } })).body.error).toBe('sms_code_throttled');
    const code = texts.sent.filter((m) => m.to === phone && m.template === 'code').at(-1)!.vars!.code!;
    expect((await call('POST', B('/session'), at('/session'), { body: { phone, code: code === '000000' ? '000001' : '000000' } })).body.error).toBe('sms_code_wrong');
    const token = (await call('POST', B('/session'), at('/session'), { body: { phone, code } })).body.token as string;
    expect((await call('GET', B('/orders'), at('/orders'))).body.error).toBe('session_required');
    expect((await call('POST', B('/orders'), at('/orders'), { key: token, body: { typeId: 'adult', date: DAY, slotId: 'tiny', visitors: visitors(400, 2) }, idem: true })).body.error).toBe('sold_out');
    const o = await call('POST', B('/orders'), at('/orders'), { key: token, body: { typeId: 'adult', date: DAY, slotId: 's10', visitors: visitors(401) }, idem: true });
    expect(o.status).toBe(201);
    const ORDER_B = B('/orders/{orderId}');
    const mine = (a = '', id = o.body.orderId as string) => at(`/orders/${id}${a}`);
    expect((await call('GET', B('/orders'), at('/orders'), { key: token })).body.orders).toHaveLength(1);
    expect((await call('GET', ORDER_B, mine('', 'ONOPE'), { key: token })).body.error).toBe('unknown_order');
    expect((await call('POST', B('/orders/{orderId}/pay'), mine('/pay', 'ONOPE'), { key: token, body: { provider: 'wechat', method: 'qr' } })).body.error).toBe('unknown_order');
    const qr = await call('POST', B('/orders/{orderId}/pay'), mine('/pay'), { key: token, body: { provider: 'wechat', method: 'qr' } });
    expect(qr.body.codeUrl).toBeDefined();
    expect((await call('POST', B('/orders/{orderId}/refund'), mine('/refund'), { key: token, body: { reason: 'weather' } })).body.error).toBe('not_paid');
    sim.pay(sim.trade('wechat', qr.body.outTradeNo as string)!);
    expect((await call('GET', ORDER_B, mine(), { key: token })).body.status).toBe('paid');
    // Cancel: the visitor's own pending order (its QR closed, places back); a paid one is refused with the order; another phone's is unknown.
    const CANCEL_B = B('/orders/{orderId}/cancel');
    expect((await call('POST', CANCEL_B, mine('/cancel'), { key: token })).body).toMatchObject({ error: 'already_paid', order: { status: 'paid' } });
    const o2 = await call('POST', B('/orders'), at('/orders'), { key: token, body: { typeId: 'adult', date: DAY, slotId: 's10', visitors: visitors(402) }, idem: true });
    await call('POST', B('/orders/{orderId}/pay'), mine('/pay', o2.body.orderId as string), { key: token, body: { provider: 'wechat', method: 'qr' } });
    expect((await call('POST', CANCEL_B, mine('/cancel', o2.body.orderId as string), { key: token, idem: true })).body.status).toBe('expired');
    const theirs = await call('POST', ORDERS, ORDERS, { key: KEYS.booking, body: order({}, 403), idem: true });
    expect((await call('POST', CANCEL_B, mine('/cancel', theirs.body.orderId as string), { key: token })).status).toBe(404);
    expect((await call('POST', CANCEL_B, mine('/cancel'))).body.error).toBe('session_required');
    expect((await call('POST', B('/orders/{orderId}/rebook'), mine('/rebook'), { key: token, body: { date: NEXT, slotId: 's10' } })).body.date).toBe(NEXT);
    expect((await call('POST', B('/orders/{orderId}/refund'), mine('/refund'), { key: token, body: { reason: 'weather' } })).body.status).toBe('refunded');
    expect((await call('POST', B('/orders/{orderId}/rebook'), mine('/rebook'), { key: token, body: { date: DAY, slotId: 's10' } })).body.error).toBe('already_refunded');
    // WeChat web OAuth (browser navigations): off to WeChat, back to the page; refusals when there is no page to go to.
    const START = B('/wechat-oauth/start');
    const CALLBACK = B('/wechat-oauth/callback');
    const started = await call('GET', START, at(`/wechat-oauth/start?returnTo=${encodeURIComponent(`/book/${site}#pay/x`)}`));
    expect(started.body.location).toMatch(/\/connect\/oauth2\/authorize\?appid=/);
    expect((await call('GET', START, at('/wechat-oauth/start?returnTo=https%3A%2F%2Fevil.example%2F'))).body.error).toBe('invalid_request');
    expect((await call('GET', START, at(`/wechat-oauth/start?returnTo=${encodeURIComponent(`/book/${small}`)}`, small))).body.error).toBe('unknown_site');
    expect((await call('GET', CALLBACK, at('/wechat-oauth/callback?code=c&state=forged'))).body.location).toBe(`/book/${site}#wx_error=state_invalid`);
    expect((await call('GET', CALLBACK, at('/wechat-oauth/callback?code=c', small))).body.error).toBe('unknown_site');
    expect((await call('DELETE', B('/session'), at('/session'), { key: token })).body.ended).toBe(true);
    expect((await call('DELETE', B('/session'), at('/session'), { key: token })).body.error).toBe('session_required');
  });

  it("visitor orders (kiosk channels): today's orders holding an ID hash, masked; other channels and bad hashes refused", async () => {
    const LOOKUP = '/v1/channel/visitor-orders';
    const today = '2027-03-01';
    const placed = await call('POST', ORDERS, ORDERS, { key: KEYS.kiosk, body: order({ date: today }, 700), idem: true });
    expect(placed.status).toBe(201);
    const idHash = hashIdNumber('contract-id-hash-key-0123456789abcdef', idNumber(700));
    const found = await call('POST', LOOKUP, LOOKUP, { key: KEYS.kiosk, body: { idHash } });
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ date: today, orders: [{ orderId: placed.body.orderId, channelId: 'kiosk', status: 'pending', visitors: [{ idMasked: maskIdNumber(idNumber(700)) }] }] });
    expect(JSON.stringify(found.body)).not.toContain(idNumber(700));
    expect((await call('POST', LOOKUP, LOOKUP, { key: KEYS.kiosk, body: { idHash: hashIdNumber('contract-id-hash-key-0123456789abcdef', idNumber(701)) } })).body.orders).toEqual([]);
    expect((await call('POST', LOOKUP, LOOKUP, { key: KEYS.web, body: { idHash } })).body.error).toBe('invalid_request');
    expect((await call('POST', LOOKUP, LOOKUP, { key: KEYS.kiosk, body: { idHash: idNumber(700) } })).body.error).toBe('invalid_request');
    expect((await call('POST', LOOKUP, LOOKUP, { key: 'nope', body: { idHash } })).body.error).toBe('unknown_api_key');
  });

  it('cancel: a pending order released (provider mode: closed at the provider first), replayed, and its refusals', async () => {
    const CANCEL = act('cancel');
    const c = (id: string) => `/v1/channel/orders/${id}/cancel`;
    const partner = await call('POST', ORDERS, ORDERS, { key: KEYS.web, body: order({}, 500), idem: true });
    const ok = await call('POST', CANCEL, c(partner.body.orderId as string), { key: KEYS.web, idem: 'contract-cancel-1' });
    expect(ok.body).toMatchObject({ status: 'expired', cancelledAt: expect.any(String) });
    expect((await call('POST', CANCEL, c(partner.body.orderId as string), { key: KEYS.web, idem: 'contract-cancel-1' })).body.replayed).toBe(true);
    expect((await call('POST', CANCEL, c('ONOPE'), { key: KEYS.web, idem: true })).body.error).toBe('unknown_order');
    expect((await call('POST', CANCEL, c(partner.body.orderId as string), { key: KEYS.web })).body.error).toBe('invalid_request'); // no Idempotency-Key
    expect((await call('POST', CANCEL, c(partner.body.orderId as string), { key: 'nope', idem: true })).body.error).toBe('unknown_api_key');
    const paid = await call('POST', ORDERS, ORDERS, { key: KEYS.web, body: order({}, 501), idem: true });
    await call('POST', act('pay'), `/v1/channel/orders/${paid.body.orderId}/pay`, { key: KEYS.web, body: { paymentRef: 'c-1', amountFen: 8000 }, idem: true });
    expect((await call('POST', CANCEL, c(paid.body.orderId as string), { key: KEYS.web, idem: true })).body).toMatchObject({ error: 'already_paid', order: { status: 'paid' } });
    await call('POST', act('refund'), `/v1/channel/orders/${paid.body.orderId}/refund`, { key: KEYS.web, body: { reason: 'weather' }, idem: true });
    expect((await call('POST', CANCEL, c(paid.body.orderId as string), { key: KEYS.web, idem: true })).body.error).toBe('already_refunded');
    // Provider mode: WeChat Pay down → 503 and the order still pending; back up → cancelled.
    const prov = await call('POST', ORDERS, ORDERS, { key: KEYS.booking, body: order({}, 502), idem: true });
    const id = prov.body.orderId as string;
    await call('POST', act('payments'), `/v1/channel/orders/${id}/payments`, { key: KEYS.booking, body: { provider: 'wechat', method: 'qr' } });
    sim.faults.add({ kind: '5xx', provider: 'wechat', match: 'close', remaining: 1 });
    expect((await call('POST', CANCEL, c(id), { key: KEYS.booking, idem: 'contract-cancel-2' })).body.error).toBe('payment_unavailable');
    expect((await call('GET', ORDER, `/v1/channel/orders/${id}`, { key: KEYS.booking })).body.status).toBe('pending');
    expect((await call('POST', CANCEL, c(id), { key: KEYS.booking, idem: 'contract-cancel-2' })).body.status).toBe('expired');
  });

  it('every route of the document was called, with a success and a refusal (the modules of #19: their own contract-<module>.test.ts)', () => {
    client.expectEveryRouteCalled(mainContract);
  });
});

/** 17 digits and their MOD 11-2 check character. */
function withCheck(body17: string): string {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body17].reduce((s, d, i) => s + Number(d) * w[i]!, 0);
  return body17 + '10X98765432'[sum % 11]!;
}
