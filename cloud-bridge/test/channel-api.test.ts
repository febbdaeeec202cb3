import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { basicAuthorization, hashIdNumber, TicketTypesDocumentSchema, topics, verifySiteDocument, WhitelistDeltaSchema, type WhitelistDelta } from '@stile/config';
import type { CloudBridge } from '../src/bridge.js';
import { DEMO_API_KEYS, demoCatalogue } from '@stile/demo/catalogue';
import type { Catalogue } from '../src/core/catalogue.js';
import { LogSmsSender } from '../src/core/notify/sms.js';
import { Reports } from '../src/modules/reports/report-service.js';
import { ReportsRepository } from '../src/modules/reports/repository.js';
import { admit, DIALECTS, entriesMessage, idNumber, seedTickets, silentLog, testBridge, testClient, testDb, testSite, uniqueId, waitFor, type TestDb } from './helpers.js';

const STAFF_TOKEN = 'staff-token-for-tests';
const ID_KEY = 'id-hash-key-for-tests-0123456789';
/** A Wednesday well ahead, so no weekend or off-season pricing applies. */
const DAY = '2027-03-10';
const NEXT_DAY = '2027-03-11';

describe.each(DIALECTS)('channel API on %s', (dialect) => {
  const open: { bridge: CloudBridge; db: TestDb }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.bridge.close();
      await o.db.cleanup();
    }
  });

  async function park(opts: { catalogue?: Catalogue; daily?: number; now?: () => Date; reportAt?: string } = {}) {
    const db = await testDb(dialect);
    const site = testSite(['g1']);
    const sms = new LogSmsSender(silentLog);
    const bridge = await testBridge(db, [{ ...site.config, sales: { catalogue: opts.catalogue ?? demoCatalogue(), capacity: { daily: opts.daily ?? 5000, yellow: 0.7, orange: 0.85 }, idHashKey: ID_KEY, staffTokenSha256: createHash('sha256').update(STAFF_TOKEN).digest('hex'), ...(opts.reportAt ? { reportAt: opts.reportAt } : {}) } }], { sms, demoMode: true, ...(opts.now ? { salesClock: opts.now } : {}) });
    open.push({ bridge, db });
    const base = `http://127.0.0.1:${bridge.httpPort}`;
    const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}, key: string = DEMO_API_KEYS.wechat) => {
      const res = await fetch(base + path, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const order = (body: Record<string, unknown>, idem = uniqueId('idem'), key?: string) => call('POST', '/v1/channel/orders', body, { 'idempotency-key': idem }, key);
    const write = (orderId: string, action: string, body: unknown, idem = uniqueId('idem'), key?: string) => call('POST', `/v1/channel/orders/${orderId}/${action}`, body, { 'idempotency-key': idem }, key);
    return { bridge, site: site.config.id, trusted: site.trusted, base, sms, call, order, write };
  }

  const adults = (n: number, from = 1) => ({ typeId: 'adult', date: DAY, slotId: 's10', contactPhone: '13800138000', visitors: Array.from({ length: n }, (_, i) => ({ name: `游客${from + i}`, idNumber: idNumber(from + i) })) });

  it('sells, takes payment, issues tickets to the gates and texts the code', async () => {
    const p = await park();
    const gate = await testClient();
    const deltas: WhitelistDelta[] = [];
    gate.on('message', (_t, payload) => deltas.push(WhitelistDeltaSchema.parse(JSON.parse(payload.toString()))));
    await gate.subscribeAsync(topics.whitelistDelta(p.site), { qos: 1 });
    try {
      const before = await p.call('GET', `/v1/channel/availability?date=${DAY}`);
      expect(before.status).toBe(200);
      const s10 = (before.body.slots as { slotId: string; remaining: number }[]).find((s) => s.slotId === 's10')!;
      expect(before.body.types.find((t: { typeId: string }) => t.typeId === 'adult').unitFen).toBe(8000);

      const created = await p.order(adults(2));
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ status: 'pending', persons: 2, amountFen: 16000 });
      expect(JSON.stringify(created.body)).not.toContain(idNumber(1));
      expect(created.body.visitors[0].idMasked).toMatch(/^\*{14}\d{3}[\dX]$/);
      const held = await p.call('GET', `/v1/channel/availability?date=${DAY}`);
      expect(held.body.slots.find((s: { slotId: string }) => s.slotId === 's10').remaining).toBe(s10.remaining - 2);

      const paid = await p.write(created.body.orderId, 'pay', { paymentRef: 'wxpay-1', amountFen: 16000 });
      expect(paid.status).toBe(200);
      expect(paid.body.status).toBe('paid');
      const tickets = paid.body.tickets as { ticketId: string; code: string }[];
      expect(tickets).toHaveLength(2);
      expect(tickets[0]!.code).toBe(`ST1:${tickets[0]!.ticketId}`);

      // Within the same second the delta reaches a gate, carrying the real-name binding as a keyed hash.
      const delta = await waitFor(() => deltas.find((d) => d.seq === paid.body.whitelistSeq), 'the sale delta', 1000);
      const upserts = delta.changes.flatMap((c) => (c.op === 'upsert' ? [c.ticket] : []));
      expect(upserts.map((t) => t.ticketId).sort()).toEqual(tickets.map((t) => t.ticketId).sort());
      expect(upserts.find((t) => t.ticketId === tickets[0]!.ticketId)).toMatchObject({ visitDate: DAY, slotStart: '10:00', slotEnd: '12:00', typeId: 'adult', idHash: hashIdNumber(ID_KEY, idNumber(1)) });
      await waitFor(() => p.sms.sent.length === 1, 'the SMS');
      expect(p.sms.sent[0]!.to).toBe('13800138000');
      expect(p.sms.sent[0]!.text).toContain(tickets[0]!.code);
      // The park's name from the catalogue, in the visitor's language (zh-CN unless the order says otherwise), not the site id.
      expect(p.sms.sent[0]!.text).toMatch(/^【青山湖风景区】您的入园码：/);
    } finally {
      await gate.endAsync();
    }
  });

  it('answers a retried write from its idempotency key: one order, the same answer; another body under the key is refused', async () => {
    const p = await park();
    const key = uniqueId('idem');
    const all = await Promise.all(Array.from({ length: 5 }, () => p.order(adults(1), key)));
    const ids = new Set(all.map((r) => r.body.orderId));
    expect(all.every((r) => r.status === 201)).toBe(true);
    expect(ids.size).toBe(1);
    expect(all.filter((r) => r.body.replayed === true)).toHaveLength(4);
    expect((await p.order(adults(1, 7), key)).body.error).toBe('idempotency_key_reused');
    const orders = await p.bridge.store.db.selectFrom('orders').select('order_id').where('site', '=', p.site).execute();
    expect(orders).toHaveLength(1);
  });

  it('never oversells the last places, even with 20 orders at once', async () => {
    const cat = demoCatalogue();
    const catalogue = { ...cat, slots: cat.slots.map((s) => (s.id === 's10' ? { ...s, quota: 5 } : s)) };
    const p = await park({ catalogue });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => p.order(adults(1, 100 + i))));
    expect(results.filter((r) => r.status === 201)).toHaveLength(5);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.error === 'sold_out')).toBe(true);
    expect(results.filter((r) => r.status === 409)).toHaveLength(15);
    const av = await p.call('GET', `/v1/channel/availability?date=${DAY}`);
    expect(av.body.slots.find((s: { slotId: string }) => s.slotId === 's10')).toMatchObject({ remaining: 0, almostFull: true });
  });

  it('online sales stop at the orange line; the kiosk sells the rest up to capacity, then nobody does', async () => {
    const p = await park({ daily: 10 });
    for (let i = 0; i < 8; i++) expect((await p.order(adults(1, 200 + i))).status).toBe(201);
    const orange = await p.order(adults(1, 300));
    expect(orange).toMatchObject({ status: 409, body: { error: 'capacity_orange' } });
    expect((await p.call('GET', `/v1/channel/availability?date=${DAY}`)).body).toMatchObject({ open: false, almostFull: true, capacity: { sold: 8, remaining: 0 } });
    expect((await p.order(adults(2, 400), uniqueId('k'), DEMO_API_KEYS.kiosk)).status).toBe(201);
    const red = await p.order(adults(1, 500), uniqueId('k'), DEMO_API_KEYS.kiosk);
    expect(red).toMatchObject({ status: 409, body: { error: 'capacity_red' } });
    // Another day is unaffected.
    expect((await p.order({ ...adults(1, 600), date: NEXT_DAY })).status).toBe(201);
  });

  it('refuses bad input with a reason and changes nothing', async () => {
    const p = await park();
    const bad = { ...adults(1), visitors: [{ name: '李四', idNumber: '110105199001000010' }] };
    const r = await p.order(bad);
    expect(r).toMatchObject({ status: 422, body: { error: 'invalid_id_number' } });
    expect(JSON.stringify(r.body)).not.toContain('110105199001000010');
    expect((await p.order({ ...adults(2), visitors: [adults(1).visitors[0], adults(1).visitors[0]] })).body.error).toBe('duplicate_visitor');
    expect((await p.order(adults(1), uniqueId('i'), 'not-a-key')).status).toBe(401);
    const schema = await p.order({ ...adults(1), visitors: [] });
    expect(schema).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(schema.body.message).toContain('visitors');
    expect((await p.call('POST', '/v1/channel/orders', adults(1))).status).toBe(400); // no Idempotency-Key
    const huge = await p.order({ ...adults(1), padding: 'x'.repeat(100_000) });
    expect(huge).toMatchObject({ status: 413, body: { error: 'payload_too_large' } });
    expect((await p.order({ ...adults(1), typeId: 'weekend' })).body.error).toBe('not_on_this_day');
    expect((await p.order({ ...adults(1), date: '2020-01-01' })).body.error).toBe('date_in_past');
    const orders = await p.bridge.store.db.selectFrom('orders').select('order_id').where('site', '=', p.site).execute();
    expect(orders).toHaveLength(0);

    const created = await p.order(adults(1));
    expect((await p.write(created.body.orderId, 'pay', { paymentRef: 'x', amountFen: 1 })).body.error).toBe('amount_mismatch');
    expect((await p.write(created.body.orderId, 'refund', { reason: 'weather' })).body.error).toBe('not_paid');
    await p.write(created.body.orderId, 'pay', { paymentRef: 'x', amountFen: 8000 });
    expect((await p.write(created.body.orderId, 'refund', { reason: 'bored' })).body.error).toBe('unknown_refund_reason');
    const refunded = await p.write(created.body.orderId, 'refund', { reason: 'weather' });
    expect(refunded).toMatchObject({ status: 200, body: { status: 'refunded', refundFen: 8000 } });
    expect((await p.write(created.body.orderId, 'refund', { reason: 'weather' })).body.error).toBe('already_refunded');
    const ticketId = refunded.body.orderId && (await p.call('GET', `/v1/channel/orders/${created.body.orderId}`)).body.visitors[0].ticketId;
    expect((await p.bridge.whitelist.getTicket(p.site, ticketId))?.status).toBe('refunded');
    expect((await p.call('GET', '/v1/channel/orders/ONOSUCHORDER', undefined, {}, DEMO_API_KEYS.meituan)).status).toBe(404);
  });

  it('rebooks an unused order to another slot with new codes; a used one is refused', async () => {
    const p = await park();
    const created = await p.order(adults(2));
    const paid = await p.write(created.body.orderId, 'pay', { paymentRef: 'p', amountFen: 16000 });
    const moved = await p.write(created.body.orderId, 'rebook', { date: NEXT_DAY, slotId: 's14' });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ date: NEXT_DAY, slotId: 's14', status: 'paid' });
    const oldIds = (paid.body.tickets as { ticketId: string }[]).map((t) => t.ticketId);
    const newIds = (moved.body.tickets as { ticketId: string }[]).map((t) => t.ticketId);
    expect(newIds.some((id) => oldIds.includes(id))).toBe(false);
    expect((await p.bridge.whitelist.getTicket(p.site, oldIds[0]!))?.status).toBe('rebooked');
    const av = await p.call('GET', `/v1/channel/availability?date=${DAY}`);
    expect(av.body.capacity.sold).toBe(0);

    await p.bridge.store.db.updateTable('tickets').set({ entries_used: 1 }).where('site', '=', p.site).where('ticket_id', '=', newIds[0]!).execute();
    expect((await p.write(created.body.orderId, 'rebook', { date: DAY, slotId: 's12' })).body.error).toBe('ticket_used');
    expect((await p.write(created.body.orderId, 'refund', { reason: 'weather' })).body.error).toBe('ticket_used');
  });

  it('refuses a slot of today that is over (its end plus the late grace), sells a later one', async () => {
    const p = await park({ now: () => new Date(`${DAY}T12:31:00+08:00`) }); // s10 is 10:00–12:00, adult late grace 30 min
    expect(await p.order(adults(1))).toMatchObject({ status: 422, body: { error: 'slot_over' } });
    expect((await p.order({ ...adults(1, 2), slotId: 's12' })).status).toBe(201);
    const early = await park({ now: () => new Date(`${DAY}T12:29:00+08:00`) });
    expect((await early.order(adults(1, 3))).status).toBe(201);
  });

  it('an unpaid order gives its places back after the hold and can no longer be paid', async () => {
    const cat = demoCatalogue();
    const p = await park({ catalogue: { ...cat, slots: cat.slots.map((s) => (s.id === 's10' ? { ...s, quota: 2 } : s)) } });
    const held = await p.order(adults(2));
    expect((await p.order(adults(1, 5))).body.error).toBe('sold_out');
    expect(await p.bridge.sales.expireHolds(60 * 60_000)).toBe(0); // still within the hold
    expect(await p.bridge.sales.expireHolds(-1)).toBe(1);
    expect((await p.order(adults(1, 5))).status).toBe(201);
    expect(await p.write(held.body.orderId, 'pay', { paymentRef: 'late', amountFen: 16000 })).toMatchObject({ status: 409, body: { error: 'order_expired' } });
  });

  it('rebooking does not carry a slot discount to a dearer slot, and a same-day slot move works on a full day', async () => {
    const p = await park({ daily: 3 }); // online may sell 2 (orange at 3)
    const early = await p.order({ ...adults(1, 900), slotId: 'early' });
    expect(early.body.amountFen).toBe(6400); // the early slot's 20 % off
    await p.write(early.body.orderId, 'pay', { paymentRef: 'e', amountFen: 6400 });
    expect((await p.write(early.body.orderId, 'rebook', { date: DAY, slotId: 's14' })).body.error).toBe('price_higher');
    const day = await p.order(adults(1, 901));
    await p.write(day.body.orderId, 'pay', { paymentRef: 'd', amountFen: 8000 });
    expect((await p.order(adults(1, 902))).body.error).toBe('capacity_orange'); // the day is full for online
    const moved = await p.write(day.body.orderId, 'rebook', { date: DAY, slotId: 's12' });
    expect(moved).toMatchObject({ status: 200, body: { slotId: 's12' } });
    const rows = await p.bridge.store.db.selectFrom('inventory').select(['slot_id', 'sold']).where('site', '=', p.site).where('visit_date', '=', DAY).execute();
    expect(Object.fromEntries(rows.map((r) => [r.slot_id, Number(r.sold)]))).toMatchObject({ '*': 2, s10: 0, s12: 1, early: 1 });
  });

  it('a sold multi-entry ticket re-enters without a partition conflict; a second site with the same API key is refused', async () => {
    const cat = demoCatalogue();
    const p = await park({ catalogue: { ...cat, ticketTypes: cat.ticketTypes.map((t) => (t.id === 'adult' ? { ...t, entries: { mode: 'multi' as const, max: 3 } } : t)) } });
    const o = await p.order(adults(1, 950));
    const paid = await p.write(o.body.orderId, 'pay', { paymentRef: 'm', amountFen: 8000 });
    const ticketId = paid.body.tickets[0].ticketId as string;
    const gate = await testClient();
    await gate.publishAsync(topics.entries(p.site, 'g1'), entriesMessage(p.site, 'g1', [admit(1, ticketId), admit(2, ticketId)]), { qos: 1 });
    await gate.endAsync();
    await waitFor(async () => (await p.bridge.whitelist.getTicket(p.site, ticketId))?.entriesUsed === 2, 'two entries counted');
    expect(await p.bridge.sync.conflicts(p.site)).toEqual([]);

    const db = await testDb(dialect);
    const a = testSite(['g1']);
    const b = testSite(['g1']);
    const sales = { catalogue: demoCatalogue(), capacity: { daily: 10, yellow: 0.7, orange: 0.85 }, idHashKey: ID_KEY };
    await expect(testBridge(db, [{ ...a.config, sales }, { ...b.config, sales }], { demoMode: true })).rejects.toThrow(/same API key/);
    await db.cleanup();
  });

  it('changes racing on one order take turns: its places are counted exactly once', async () => {
    const p = await park();
    const dates = ['2027-03-12', '2027-03-15', '2027-03-16'];
    for (let round = 0; round < 6; round++) {
      const o = await p.order(adults(2, 700 + round * 2));
      await p.write(o.body.orderId, 'pay', { paymentRef: `r${round}`, amountFen: 16000 });
      // Two rebookings and a refund at once on the same order.
      await Promise.all([p.write(o.body.orderId, 'rebook', { date: dates[0], slotId: 's14' }), p.write(o.body.orderId, 'rebook', { date: dates[1], slotId: 's14' }), p.write(o.body.orderId, 'refund', { reason: 'weather' })]);
    }
    const rows = await p.bridge.store.db.selectFrom('inventory').select(['visit_date', 'slot_id', 'sold']).where('site', '=', p.site).execute();
    expect(rows.every((r) => Number(r.sold) >= 0)).toBe(true);
    const orders = await p.bridge.store.db.selectFrom('orders').select(['visit_date', 'status', 'persons']).where('site', '=', p.site).execute();
    const expected = new Map<string, number>();
    for (const o of orders) if (o.status === 'paid' || o.status === 'pending') expected.set(o.visit_date, (expected.get(o.visit_date) ?? 0) + Number(o.persons));
    for (const d of [DAY, ...dates]) expect(Number(rows.find((r) => r.visit_date === d && r.slot_id === '*')?.sold ?? 0)).toBe(expected.get(d) ?? 0);
  });

  it('staff pause a channel (audit-logged, who and why): it stops selling until resumed', async () => {
    const p = await park();
    const path = `/v1/staff/sites/${p.site}/channels/meituan`;
    expect((await p.call('POST', `${path}/pause`, { by: 'staff:li', reason: 'x' }, {}, 'wrong-token')).status).toBe(401);
    expect(await p.call('POST', `/v1/staff/sites/${p.site}/channels/alipay/pause`, { by: 'staff:li', reason: 'x' }, {}, STAFF_TOKEN)).toMatchObject({ status: 404, body: { error: 'unknown_channel' } });
    expect((await p.call('POST', `${path}/pause`, { by: 'staff:li' }, {}, STAFF_TOKEN)).body.error).toBe('invalid_request'); // a reason is required
    expect((await p.call('POST', `${path}/pause`, { by: 'staff:li', reason: 'queue at east gate' }, {}, STAFF_TOKEN)).status).toBe(200);
    const av = await p.call('GET', `/v1/channel/availability?date=${DAY}`, undefined, {}, DEMO_API_KEYS.meituan);
    expect(av.body).toMatchObject({ paused: true, open: false });
    expect((await p.order(adults(1), uniqueId('i'), DEMO_API_KEYS.meituan)).body.error).toBe('channel_paused');
    expect((await p.order(adults(1, 2))).status).toBe(201); // other channels still sell
    await p.call('POST', `${path}/resume`, { by: 'staff:wang', reason: 'queue gone' }, {}, STAFF_TOKEN);
    expect((await p.order(adults(1, 3), uniqueId('i'), DEMO_API_KEYS.meituan)).status).toBe(201);
    const audit = await p.call('GET', `/v1/staff/sites/${p.site}/audit`, undefined, {}, STAFF_TOKEN);
    expect(audit.body.entries.map((e: { actor: string; action: string; reason: string }) => [e.actor, e.action, e.reason])).toEqual([
      ['staff:wang', 'channel_resume', 'queue gone'],
      ['staff:li', 'channel_pause', 'queue at east gate'],
    ]);
  });

  it('reports the day: sales and revenue by channel, refunds by reason, entries by hour; JSON, CSV and HTML; kept and scheduled', async () => {
    // reportAt 23:59: with the default 22:00 a run after 22:00 Shanghai time found today's report already made (empty) at start.
    const p = await park({ reportAt: '23:59' });
    const a = await p.order(adults(2));
    await p.write(a.body.orderId, 'pay', { paymentRef: 'a', amountFen: 16000 });
    const b = await p.order(adults(1, 9), uniqueId('i'), DEMO_API_KEYS.meituan);
    await p.write(b.body.orderId, 'pay', { paymentRef: 'b', amountFen: 7600 }, uniqueId('i'), DEMO_API_KEYS.meituan);
    await p.write(b.body.orderId, 'refund', { reason: 'weather' }, uniqueId('i'), DEMO_API_KEYS.meituan);
    // Two admissions at the gate today, at the start of the current local hour: never in the
    // future (the cloud flags those), whatever time of day the test runs.
    if (Date.now() % 3_600_000 < 2000) await new Promise((r) => setTimeout(r, 2000));
    const hourStart = Date.now() - (Date.now() % 3_600_000); // Shanghai is UTC+8: its hours start with UTC's
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(hourStart);
    const localHour = Number(new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', hourCycle: 'h23' }).format(hourStart));
    const atSecond = (s: number) => new Date(hourStart + s * 1000).toISOString();
    // Tickets the cloud issued (another channel's), admitted today: the cloud believes only those.
    await seedTickets(p.bridge, p.site, ['TKT-R1-0000', 'TKT-R2-0000'], today);
    const gate = await testClient();
    await gate.publishAsync(topics.entries(p.site, 'g1'), entriesMessage(p.site, 'g1', [admit(1, 'TKT-R1-0000', { at: atSecond(0), persons: 2 }), admit(2, 'TKT-R2-0000', { at: atSecond(1) })]), { qos: 1 });
    await gate.endAsync();
    await waitFor(async () => (await p.bridge.sync.countEntries(p.site)) === 2, 'the entries stored');

    const staff = { authorization: `Bearer ${STAFF_TOKEN}` };
    const r = await p.call('GET', `/v1/staff/sites/${p.site}/reports/${today}`, undefined, staff, STAFF_TOKEN);
    expect(r.status).toBe(200);
    expect(r.body.totals).toMatchObject({ orders: 2, ticketsSold: 3, revenueFen: 23600, refundedFen: 7600, netRevenueFen: 16000, refunds: 1 });
    expect(r.body.byChannel.map((c: { channel: string }) => c.channel)).toEqual(['wechat', 'meituan']);
    expect(r.body.refundsByReason[0]).toMatchObject({ reason: 'weather', count: 1, amountFen: 7600 });
    expect(r.body.peakHour).toEqual({ hour: localHour, persons: 3 });
    const reportUrl = `http://127.0.0.1:${p.bridge.httpPort}/v1/staff/sites/${p.site}/reports/${today}`;
    const csv = await fetch(`${reportUrl}?format=csv`, { headers: staff });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(await csv.text()).toContain('236.00');
    const html = await (await fetch(`${reportUrl}?format=html&lang=en`, { headers: staff })).text();
    expect(html).toContain('<svg');
    expect(html).toContain('lang="en"');
    expect((await fetch(reportUrl)).status).toBe(401);
    // Today is not over: what GET showed is not kept; POST keeps it (the scheduler does at reportAt).
    expect(await p.bridge.store.db.selectFrom('reports').select('date').where('site', '=', p.site).where('date', '=', today).execute()).toEqual([]);
    expect((await p.call('POST', `/v1/staff/sites/${p.site}/reports/${today}`, undefined, staff, STAFF_TOKEN)).status).toBe(200);
    expect((await p.call('GET', `/v1/staff/sites/${p.site}/reports/2026-02-30`, undefined, staff, STAFF_TOKEN)).body.error).toBe('invalid_date'); // #15: an impossible date is invalid_date everywhere
    const list = await p.call('GET', `/v1/staff/sites/${p.site}/reports`, undefined, staff, STAFF_TOKEN);
    expect(list.body.reports).toContainEqual(expect.objectContaining({ date: today, orders: 2, revenueFen: 23600, entries: 3 }));

    // The schedule: past reportAt (23:59 local here) without a report for the day → one is made.
    const late = () => new Date(`${NEXT_DAY}T23:59:30+08:00`);
    const scheduled = new Reports(new ReportsRepository(p.bridge.store), { sites: { site: (id) => p.bridge.sales.site(id), salesIds: [p.site] }, clock: late, log: silentLog });
    scheduled.start(20);
    try {
      await waitFor(async () => (await p.bridge.store.db.selectFrom('reports').select('date').where('site', '=', p.site).where('date', '=', NEXT_DAY).executeTakeFirst()) !== undefined, 'the scheduled report');
      // …and the day before, which has ended, gets its final report.
      expect(await p.bridge.store.db.selectFrom('reports').select('date').where('site', '=', p.site).where('date', '=', DAY).executeTakeFirst()).toEqual({ date: DAY });
    } finally {
      scheduled.stop();
    }
  });

  it('the daily report is in the reader\'s language: the catalogue\'s names of the site, ticket types, channels and refund reasons, not their ids (#16 point 8)', async () => {
    const p = await park({ reportAt: '23:59' });
    const a = await p.order({ ...adults(1, 30), slotId: 'early', lang: 'en' });
    const paidA = await p.write(a.body.orderId, 'pay', { paymentRef: 'a', amountFen: a.body.amountFen });
    // The visitor asked for English: the check-in text names the park and the slot in English.
    const text = await waitFor(() => p.sms.sent.find((m) => m.orderId === a.body.orderId), 'the SMS');
    expect(text).toMatchObject({ lang: 'en' });
    expect(text.text).toBe(`[Qingshan Lake Scenic Area] Your entry code: ${paidA.body.tickets[0].code} (${DAY} Early 06:30-08:00). Scan it or tap your ID card at the gate.`);
    await p.write(a.body.orderId, 'refund', { reason: 'weather' });
    const family = { typeId: 'family', date: DAY, slotId: 's10', contactPhone: '13800138000', visitors: [31, 32, 33].map((i) => ({ name: `游客${i}`, idNumber: idNumber(i) })) };
    const f = await p.order(family, uniqueId('i'), DEMO_API_KEYS.meituan);
    expect(f.status).toBe(201);
    await p.write(f.body.orderId, 'pay', { paymentRef: 'f', amountFen: f.body.amountFen }, uniqueId('i'), DEMO_API_KEYS.meituan);
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date(paidA.body.paidAt as string));
    const staff = { authorization: `Bearer ${STAFF_TOKEN}` };
    const url = `${p.base}/v1/staff/sites/${p.site}/reports/${today}`;
    const page = async (query: string) => (await fetch(`${url}?${query}`, { headers: staff })).text();
    // The sections of sales, channels, refunds and types (the reconciliation section that follows them lists channels by id).
    const cells = (html: string): string[] => [...html.split('<section class="reconciliation"')[0]!.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]!);

    const zh = await page('format=html&lang=zh-CN');
    expect(zh).toContain('<h1>青山湖风景区 · 每日报表</h1>');
    expect(cells(zh)).toEqual(expect.arrayContaining(['成人票', '家庭套票（2 大 1 小）', '微信小程序', '美团', '天气原因 / 景区闭园']));
    for (const text of ['adult', 'family', 'wechat', 'meituan', 'weather', 'Adult', 'Meituan']) expect(cells(zh), text).not.toContain(text);
    expect(zh).not.toMatch(/Family package|WeChat mini-program|Qingshan/);

    const en = await page('format=html&lang=en');
    expect(en).toContain('<h1>Qingshan Lake Scenic Area · Daily report</h1>');
    expect(cells(en)).toEqual(expect.arrayContaining(['Adult', 'Family package (2 adults + 1 child)', 'WeChat mini-program', 'Meituan', 'Bad weather / park closed']));
    expect(en).not.toMatch(/成人票|家庭套票|微信小程序|美团|青山湖/);

    const json = (await p.call('GET', `/v1/staff/sites/${p.site}/reports/${today}?lang=en`, undefined, staff, STAFF_TOKEN)).body;
    expect(json).toMatchObject({ site: p.site, siteName: 'Qingshan Lake Scenic Area', siteNames: { 'zh-CN': '青山湖风景区', en: 'Qingshan Lake Scenic Area' } });
    expect(json.typeMix).toEqual(expect.arrayContaining([expect.objectContaining({ typeId: 'family', typeName: 'Family package (2 adults + 1 child)', typeNames: { 'zh-CN': '家庭套票（2 大 1 小）', en: 'Family package (2 adults + 1 child)' } })]));
    const csv = await page('format=csv&lang=en');
    expect(csv).toContain('\r\nsite_name,Qingshan Lake Scenic Area\r\n');
    expect(csv).toContain('\r\nmeituan,Meituan,');
    // Kept (POST) and read again, the stored report still renders in either language.
    expect((await p.call('POST', `/v1/staff/sites/${p.site}/reports/${today}`, undefined, staff, STAFF_TOKEN)).status).toBe(200);
    expect(cells(await page('format=html&lang=en'))).toContain('Adult');
    expect(cells(await page('format=html'))).toContain('成人票');
  });

  it('real-name rules (#15): one place per ID number per day unless the catalogue allows more, a booking horizon; ID numbers need a real region and birth date', async () => {
    const p = await park({ now: () => new Date('2027-03-01T09:00:00+08:00') });
    expect((await p.order(adults(1, 40))).status).toBe(201);
    const again = await p.order({ ...adults(1, 41), visitors: [...adults(1, 41).visitors, ...adults(1, 40).visitors] });
    expect(again).toMatchObject({ status: 409, body: { error: 'visitor_already_booked', visitor: 1 } });
    expect(again.body.message).toContain('visitors[1]');
    expect(JSON.stringify(again.body)).not.toContain(idNumber(40));
    expect((await p.order({ ...adults(1, 40), date: NEXT_DAY })).status).toBe(201); // another day
    expect(await p.bridge.sales.expireHolds(-1)).toBe(2); // an expired order frees the ID number
    expect((await p.order(adults(1, 40))).status).toBe(201);
    // The default horizon: 180 days from 2027-03-01.
    expect((await p.order({ ...adults(1, 60), date: '2027-08-28' })).status).toBe(201);
    expect((await p.order({ ...adults(1, 61), date: '2027-08-29' })).body.error).toBe('beyond_booking_horizon');
    // Region 99 does not exist; a birth date of 1990-02-30 or in the future is no birth date.
    for (const body17 of ['99010519900101001', '11010519900230001', '11010520270302001', '11000019900101001']) {
      const sum = [...body17].reduce((s, d, i) => s + Number(d) * [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2][i]!, 0);
      const r = await p.order({ ...adults(1), visitors: [{ name: '甲', idNumber: body17 + '10X98765432'[sum % 11]! }] });
      expect(r, body17).toMatchObject({ status: 422, body: { error: 'invalid_id_number', visitor: 0 } });
    }

    // A park that sells 2 per ID number per day, 7 days ahead.
    const q = await park({ catalogue: { ...demoCatalogue(), realName: { ticketsPerIdPerDay: 2, bookingHorizonDays: 7 } }, now: () => new Date('2027-03-05T09:00:00+08:00') });
    expect((await q.order(adults(1, 70))).status).toBe(201);
    expect((await q.order(adults(1, 70))).status).toBe(201);
    expect((await q.order(adults(1, 70))).body.error).toBe('visitor_already_booked');
    expect((await q.order({ ...adults(1, 71), date: '2027-03-13' })).body.error).toBe('beyond_booking_horizon');
    const av = await q.call('GET', '/v1/channel/availability?date=2027-03-13');
    expect(av).toMatchObject({ status: 422, body: { error: 'beyond_booking_horizon' } });
    expect((await q.call('GET', `/v1/channel/availability?date=${DAY}`)).body.realName).toEqual({ ticketsPerIdPerDay: 2, bookingHorizonDays: 7, lastDate: '2027-03-12' });
    // Rebooking to a day where the visitor already holds the limit is refused too.
    const other = await q.order({ ...adults(1, 70), date: '2027-03-11' });
    await q.write(other.body.orderId, 'pay', { paymentRef: 'o', amountFen: 8000 });
    expect((await q.write(other.body.orderId, 'rebook', { date: DAY, slotId: 's12' })).body.error).toBe('visitor_already_booked');
  });

  it('availability is current with each sale, refund and pause at once, and with another instance within its TTL; a slot is almostFull by its own numbers; two instances never sell one ID number twice', async () => {
    const cat = demoCatalogue();
    const catalogue = { ...cat, slots: cat.slots.map((s) => (s.id === 's10' ? { ...s, quota: 10 } : s.id === 's12' ? { ...s, quota: 0 } : s)) };
    const db = await testDb(dialect);
    const site = testSite(['g1']);
    const config = { ...site.config, sales: { catalogue, capacity: { daily: 5000, yellow: 0.7, orange: 0.85 }, idHashKey: ID_KEY } };
    const a = await testBridge(db, [config], { demoMode: true, salesOptions: { availabilityTtlMs: 60_000 } });
    open.push({ bridge: a, db });
    const b = await testBridge(db, [config], { demoMode: true, salesOptions: { availabilityTtlMs: 200, groupCommit: false } });
    open.unshift({ bridge: b, db: { options: {}, cleanup: () => Promise.resolve() } });
    const req = async (bridge: CloudBridge, method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${bridge.httpPort}${path}`, { method, headers: { authorization: `Bearer ${DEMO_API_KEYS.wechat}`, 'content-type': 'application/json', 'idempotency-key': uniqueId('idem') }, ...(body ? { body: JSON.stringify(body) } : {}) });
      return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const slot = async (bridge: CloudBridge, id: string) => ((await req(bridge, 'GET', `/v1/channel/availability?date=${DAY}`)).body.slots as { slotId: string; remaining: number; almostFull: boolean }[]).find((s) => s.slotId === id)!;
    expect(await slot(a, 's10')).toMatchObject({ remaining: 10, almostFull: false });
    expect(await slot(a, 's12')).toMatchObject({ remaining: 0, almostFull: false }); // closed, not "almost full"
    expect(await slot(b, 's10')).toMatchObject({ remaining: 10 });
    const o = await req(a, 'POST', '/v1/channel/orders', adults(9, 800));
    expect(o.status).toBe(201);
    expect(await slot(a, 's10')).toMatchObject({ remaining: 1, almostFull: true }); // at once on the instance that sold
    expect(await slot(a, 's14')).toMatchObject({ almostFull: false }); // a quiet slot on the same day
    await waitFor(async () => (await slot(b, 's10')).remaining === 1, 'the other instance within its TTL', 3000);
    await req(a, 'POST', `/v1/channel/orders/${o.body.orderId}/pay`, { paymentRef: 'p', amountFen: 72000 });
    await req(a, 'POST', `/v1/channel/orders/${o.body.orderId}/refund`, { reason: 'weather' });
    expect(await slot(a, 's10')).toMatchObject({ remaining: 10, almostFull: false });
    await a.staff.setChannelPaused(site.config.id, 'wechat', true, 'staff:li', 'test');
    expect((await req(a, 'GET', `/v1/channel/availability?date=${DAY}`)).body).toMatchObject({ paused: true, open: false });
    await a.staff.setChannelPaused(site.config.id, 'wechat', false, 'staff:li', 'test');
    // One ID number ordered on both instances at once (group commit on a, none on b): one place.
    const race = await Promise.all(Array.from({ length: 6 }, (_, i) => req(i % 2 ? a : b, 'POST', '/v1/channel/orders', adults(1, 900))));
    expect(race.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    expect(race.filter((r) => r.status === 409).every((r) => r.body.error === 'visitor_already_booked')).toBe(true);
  });

  it('serves the OpenAPI document at /docs and the gates’ ticket-type rules', async () => {
    const p = await park();
    const doc = await p.call('GET', '/docs');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/v1/channel/availability', '/v1/channel/orders', '/v1/channel/orders/{orderId}/pay']));
    // A gate route: the gate's own credential, and the rules come signed for this site.
    expect((await p.call('GET', `/v1/sites/${p.site}/ticket-types`)).status).toBe(401);
    const login = await p.bridge.registry.issue(p.site, 'gate', 'g1');
    const res = await fetch(`${p.base}/v1/sites/${p.site}/ticket-types`, { headers: { authorization: basicAuthorization(login.username, login.token) } });
    const rules = (await res.json()) as Record<string, unknown>;
    const verified = verifySiteDocument(rules, TicketTypesDocumentSchema, p.site, p.trusted, new Date().toISOString().slice(0, 10));
    expect(verified.ok).toBe(true);
    expect((rules.ticketTypes as { id: string; entryWindow?: unknown }[]).find((t) => t.id === 'adult@early')!.entryWindow).toEqual({ from: '00:00', to: '08:00' });
  });
});
