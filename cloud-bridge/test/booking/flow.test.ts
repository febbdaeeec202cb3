// The visitor's whole booking by API (issue #16 point 5), on SQLite and PostgreSQL, against a
// real bridge and the payment simulator: SMS code → session → availability → order → pay
// (Alipay WAP, WeChat Native) → paid with ST1 codes → my orders → refund with a reason →
// refund confirmed by the provider; and a rebooking.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, waitFor } from '../helpers.js';
import { DAY, idem, KEYS, newPhone, OTHER_DAY, startBookPark, type BookPark } from './harness.js';

describe.each(DIALECTS)('booking page API, the visitor flow (%s)', (dialect) => {
  let p: BookPark;
  beforeAll(async () => {
    p = await startBookPark(dialect);
  }, 30_000);
  afterAll(async () => {
    await p?.close();
  });

  it('info: names in both languages, the booking channel\'s types and prices, slots, refund reasons, providers', async () => {
    const r = await p.book('GET', '/info');
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toContain('max-age=60');
    expect(r.body.name).toEqual({ 'zh-CN': '测试景区', en: 'Test Park' });
    expect(r.body.today).toBe('2027-03-01');
    expect(r.body.lastDate).toBe('2027-03-31');
    expect(r.body.types.map((t: { typeId: string }) => t.typeId)).toEqual(['adult', 'family']);
    expect(r.body.types[1]).toMatchObject({ name: { 'zh-CN': '家庭套票', en: 'Family package' }, persons: 3, baseFen: 18000, days: 'any', entries: [] });
    expect(r.body.refundReasons).toContainEqual({ code: 'weather', label: { 'zh-CN': '天气原因', en: 'Bad weather' } });
    expect(r.body.providers).toEqual(['wechat', 'alipay']);
    expect(r.body.tourRouteUrl).toBe('https://park.example.com/route');
  });

  it('availability is the booking channel\'s, exactly as the channel API answers it', async () => {
    const mine = await p.book('GET', `/availability?date=${DAY}`);
    const channel = await p.call('GET', `/v1/channel/availability?date=${DAY}`, undefined, { authorization: `Bearer ${KEYS.web}` });
    expect(mine.status).toBe(200);
    expect(mine.body).toEqual(channel.body);
    expect(mine.body.channel).toBe('web');
    expect((await p.book('GET', '/availability?date=2027-02-30')).body.error).toBe('invalid_date');
    expect((await p.book('GET', '/availability?date=2026-01-01')).body.error).toBe('date_in_past');
  });

  it('code → session → order → pay with Alipay WAP → paid with ST1 codes → my orders → refund → confirmed', async () => {
    const phone = newPhone();
    const sent = await p.book('POST', '/sms-code', { phone, lang: 'en' });
    expect(sent.status).toBe(200);
    expect(sent.body).toEqual({ sent: true, resendAfterSec: 60, expiresInSec: 300 });
    const text = p.sms.sent.at(-1)!;
    expect(text).toMatchObject({ to: phone, site: p.site, template: 'code', lang: 'en' });
    expect(text.vars!.code).toMatch(/^\d{6}$/);
    const s = await p.book('POST', '/session', { phone, code: p.lastCode(phone) });
    expect(s.status).toBe(200);
    expect(s.body.phoneMasked).toBe(`${phone.slice(0, 3)}****${phone.slice(7)}`);
    const token = String(s.body.token);

    const before = (await p.book('GET', `/availability?date=${DAY}`)).body.slots.find((x: { slotId: string }) => x.slotId === 's10').remaining as number;
    const visitors = p.visitors(2);
    const created = await p.book('POST', '/orders', { typeId: 'adult', date: DAY, slotId: 's10', visitors, lang: 'en' }, { token, headers: idem() });
    expect(created.status).toBe(201);
    const order = created.body;
    expect(order).toMatchObject({ status: 'pending', typeId: 'adult', typeName: { 'zh-CN': '成人票', en: 'Adult' }, date: DAY, slot: { slotId: 's10', start: '10:00', end: '12:00' }, persons: 2, amountFen: 16000, tickets: [], canRefund: false });
    expect(order.visitors[0].idMasked).not.toContain(visitors[0]!.idNumber.slice(6, 14));
    expect(Date.parse(order.deadline)).toBeGreaterThan(Date.parse('2027-03-01T02:00:00Z'));
    // The places are held: the live count the page shows went down by two.
    expect((await p.book('GET', `/availability?date=${DAY}`)).body.slots.find((x: { slotId: string }) => x.slotId === 's10').remaining).toBe(before - 2);
    // The order is the session phone's, in the visitor's language.
    const row = await p.bridge.store.db.selectFrom('orders').selectAll().where('order_id', '=', order.orderId).executeTakeFirstOrThrow();
    expect([row.channel, row.contact_phone, row.lang]).toEqual(['web', phone, 'en']);

    const pay = await p.book('POST', `/orders/${order.orderId}/pay`, { provider: 'alipay', method: 'in_app', returnUrl: 'https://park.example.com/book/done' }, { token });
    expect(pay.status).toBe(200);
    expect(pay.body).toMatchObject({ orderId: order.orderId, provider: 'alipay', method: 'in_app', state: 'pending', amountFen: 16000, orderStatus: 'pending', inApp: { kind: 'redirect' } });
    // The browser goes to Alipay's cashier page, and the visitor pays there.
    const cashier = await fetch(String(pay.body.inApp.url));
    expect(cashier.status).toBe(200);
    await p.payAtProvider('alipay', String(pay.body.outTradeNo));
    const paid = await p.untilOrder(token, order.orderId, (o) => o.status === 'paid', 'the order paid');
    expect(paid.tickets).toHaveLength(2);
    for (const t of paid.tickets) expect(t.code).toMatch(/^ST1:[A-Za-z0-9_-]+$/);
    expect(paid).toMatchObject({ canRefund: true, canRebook: true, deadline: null });
    // The check-in text went out in the visitor's language.
    expect(await waitFor(() => p.sms.sent.find((m) => m.orderId === order.orderId), 'the check-in text')).toMatchObject({ to: phone, lang: 'en' });

    // A second order, paid with WeChat Native (a QR code scanned with another phone).
    const second = await p.book('POST', '/orders', { typeId: 'adult', date: DAY, slotId: 's10', visitors: p.visitors(1) }, { token, headers: idem() });
    expect(second.status).toBe(201);
    const qr = await p.book('POST', `/orders/${second.body.orderId}/pay`, { provider: 'wechat', method: 'qr' }, { token });
    expect(qr.status).toBe(200);
    expect(qr.body.codeUrl).toMatch(/^weixin:\/\//);
    await p.payAtProvider('wechat', String(qr.body.outTradeNo));
    await p.untilOrder(token, second.body.orderId, (o) => o.status === 'paid' && o.tickets.length === 1, 'the second order paid');

    const mine = await p.book('GET', '/orders', undefined, { token });
    expect(mine.status).toBe(200);
    expect(mine.headers.get('cache-control')).toBe('no-store');
    expect(mine.body.orders.map((o: { orderId: string }) => o.orderId)).toEqual([second.body.orderId, order.orderId]);

    const refunded = await p.book('POST', `/orders/${order.orderId}/refund`, { reason: 'weather' }, { token, headers: idem() });
    expect(refunded.status).toBe(200);
    expect(refunded.body).toMatchObject({ status: 'refunded', refundReason: 'weather', tickets: [], canRefund: false });
    expect(['requested', 'processing', 'succeeded']).toContain(refunded.body.refundState);
    await p.untilOrder(token, order.orderId, (o) => o.refundState === 'succeeded', 'the provider confirms the refund');
    const trade = (await (await fetch(`${p.sim.baseUrl}/sim/trades/alipay/${String(pay.body.outTradeNo)}`)).json()) as { refundedFen: number };
    expect(trade.refundedFen).toBe(16000);
    // Refunded again: the sales refusal.
    expect((await p.book('POST', `/orders/${order.orderId}/refund`, { reason: 'weather' }, { token })).body.error).toBe('already_refunded');
    expect((await p.book('POST', `/orders/${second.body.orderId}/refund`, { reason: 'no_such_reason' }, { token })).body.error).toBe('unknown_refund_reason');
  }, 30_000);

  it('rebooks a paid order to another day: new codes, the old ones gone', async () => {
    const token = await p.login(newPhone());
    const created = await p.book('POST', '/orders', { typeId: 'adult', date: DAY, slotId: 's10', visitors: p.visitors(1) }, { token, headers: idem() });
    const qr = await p.book('POST', `/orders/${created.body.orderId}/pay`, { provider: 'wechat', method: 'qr' }, { token });
    await p.payAtProvider('wechat', String(qr.body.outTradeNo));
    const paid = await p.untilOrder(token, created.body.orderId, (o) => o.status === 'paid', 'paid');
    const moved = await p.book('POST', `/orders/${created.body.orderId}/rebook`, { date: OTHER_DAY, slotId: 's10' }, { token, headers: idem() });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ status: 'paid', date: OTHER_DAY, canRebook: true });
    expect(moved.body.tickets[0].code).not.toBe(paid.tickets[0].code);
    const again = await p.book('POST', `/orders/${created.body.orderId}/rebook`, { date: OTHER_DAY, slotId: 's10' }, { token });
    expect(again.body.error).toBe('same_date_and_slot');
  }, 20_000);

  it('an order refused by the sales rules answers their code: sold-out slot, invalid ID number', async () => {
    const token = await p.login(newPhone());
    const full = await p.book('POST', '/orders', { typeId: 'adult', date: DAY, slotId: 'tiny', visitors: p.visitors(3) }, { token, headers: idem() });
    expect(full.status).toBe(409);
    expect(full.body).toMatchObject({ error: 'sold_out', slotId: 'tiny', remaining: 2 });
    const bad = await p.book('POST', '/orders', { typeId: 'adult', date: DAY, slotId: 's10', visitors: [{ name: '张三', idNumber: '110105194912310021' }] }, { token, headers: idem() });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ error: 'invalid_id_number', visitor: 0 });
    expect(bad.body.message).not.toContain('110105194912310021');
  });
});
