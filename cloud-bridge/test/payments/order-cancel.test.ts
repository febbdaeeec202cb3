/**
 * A channel cancels a pending order (POST /v1/channel/orders/{id}/cancel): the provider-mode
 * order's payments are closed at the payment simulator first, then its places go back at once
 * — not at the 15-minute deadline. Paid meanwhile, the payment wins (409 already_paid with the
 * order); a provider that cannot be reached keeps the places held (503). On SQLite and
 * PostgreSQL; every paid trade bought a ticket or has a recorded refund at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, uniqueId } from '../helpers.js';
import { DAY, KEYS, startPayPark, type PayPark } from './orders-harness.js';

let codeSeq = 0;

describe.each(DIALECTS)('cancelling a pending order, on %s', (dialect) => {
  let p: PayPark;
  beforeAll(async () => {
    p = await startPayPark(dialect, { timeoutMs: 600 });
  });
  afterAll(async () => {
    const money = await p?.moneyAccounted();
    await p?.close();
    expect(money?.unaccounted).toEqual([]);
  });

  const remaining = () => p.call('GET', `/v1/channel/availability?date=${DAY}`).then((r) => (r.body.slots as { slotId: string; remaining: number }[]).find((s) => s.slotId === 's10')!.remaining);
  const cancel = (orderId: string, key = KEYS.web, idem = uniqueId('cancel')) => p.call('POST', `/v1/channel/orders/${orderId}/cancel`, undefined, key, { 'idempotency-key': idem });

  it('a pending QR order: closed at WeChat Pay, places back at once, the visitor can no longer pay it; a replay answers the same', async () => {
    const o = await p.order(2);
    const qr = await p.pay(o.orderId, { provider: 'wechat', method: 'qr' });
    expect(qr.body.codeUrl).toMatch(/^weixin:/);
    const held = await remaining();
    const key = uniqueId('cancel');
    const r = await cancel(o.orderId, KEYS.web, key);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ orderId: o.orderId, status: 'expired', cancelledAt: expect.any(String), tickets: [] });
    // The trade is closed at the provider, and the 2 places are for sale now, not in 15 minutes.
    expect((await p.control('GET', `/sim/trades/wechat/${qr.body.outTradeNo}`)).body.state).toBe('CLOSED');
    expect(await remaining()).toBe(held + 2);
    expect((await p.state(o.orderId)).payments[0].state).toBe('closed');
    // The visitor scans the code on the screen anyway: the provider refuses.
    expect((await p.control('POST', `/sim/trades/wechat/${qr.body.outTradeNo}/pay`)).status).toBe(409);
    expect((await p.pay(o.orderId, { provider: 'wechat', method: 'qr' })).body.error).toBe('order_expired');
    // The same key: the stored answer; another key: the order as it is. The places went back once.
    expect(await cancel(o.orderId, KEYS.web, key)).toMatchObject({ status: 200, body: { status: 'expired', replayed: true } });
    expect((await cancel(o.orderId)).body.status).toBe('expired');
    expect(await remaining()).toBe(held + 2);
  });

  it.each(['wechat', 'alipay'] as const)('%s: a payment code the visitor confirms as the kiosk cancels: paid wins, 409 already_paid with the order', async (provider) => {
    const o = await p.order(1, KEYS.kiosk);
    const n = String(++codeSeq + (process.pid % 1000) * 1000).padStart(12, '0');
    const authCode = provider === 'wechat' ? `134568${n}` : `284568${n}`;
    await p.control('POST', '/sim/codes', { authCode, behaviour: 'password' });
    const code = await p.pay(o.orderId, { provider, method: 'code', authCode }, KEYS.kiosk);
    expect(code.body.state).toBe('pending');
    const held = await remaining();
    // The visitor types the password the moment the kiosk gives up: the notification is still on its way.
    p.relay.mode = 'hold';
    try {
      expect((await p.control('POST', `/sim/trades/${provider}/${code.body.outTradeNo}/pay`)).status).toBe(200);
      const r = await cancel(o.orderId, KEYS.kiosk);
      expect(r.status).toBe(409);
      expect(r.body).toMatchObject({ error: 'already_paid', order: { orderId: o.orderId, status: 'paid', tickets: [{ persons: 1 }] } });
    } finally {
      p.relay.mode = 'forward';
    }
    // Not reversed: the money bought the ticket, and the place stays sold.
    expect(['SUCCESS', 'TRADE_SUCCESS']).toContain((await p.control('GET', `/sim/trades/${provider}/${code.body.outTradeNo}`)).body.state);
    expect(await remaining()).toBe(held);
    expect((await cancel(o.orderId, KEYS.kiosk)).body.error).toBe('already_paid');
  });

  it('the provider cannot be reached: 503, the places stay held; the same key again closes and cancels', async () => {
    const o = await p.order(1);
    const qr = await p.pay(o.orderId, { provider: 'alipay', method: 'qr' });
    const held = await remaining();
    await p.control('POST', '/sim/faults', { kind: '5xx', provider: 'alipay', match: 'alipay.trade.close' });
    const key = uniqueId('cancel');
    const down = await cancel(o.orderId, KEYS.web, key);
    expect(down).toMatchObject({ status: 503, body: { error: 'payment_unavailable' } });
    expect((await p.getOrder(o.orderId)).status).toBe('pending');
    expect(await remaining()).toBe(held);
    expect((await p.control('GET', `/sim/trades/alipay/${qr.body.outTradeNo}`)).body.state).not.toBe('CLOSED');
    // Not stored under the key: the retry closes at the provider now.
    const again = await cancel(o.orderId, KEYS.web, key);
    expect(again).toMatchObject({ status: 200, body: { status: 'expired' } });
    expect(again.body.replayed).toBeUndefined();
    expect(await remaining()).toBe(held + 1);
  });

  it('a partner channel: places back at once, a later …/pay refused as cancelled; a paid order is refused; another channel\'s order is unknown', async () => {
    const o = await p.order(1, KEYS.partner);
    const held = await remaining();
    expect((await cancel(o.orderId, KEYS.partner)).body).toMatchObject({ status: 'expired', cancelledAt: expect.any(String) });
    expect(await remaining()).toBe(held + 1);
    const pay = await p.call('POST', `/v1/channel/orders/${o.orderId}/pay`, { paymentRef: 'late', amountFen: 8000 }, KEYS.partner, { 'idempotency-key': uniqueId('pay') });
    expect(pay.body).toMatchObject({ error: 'order_expired', message: expect.stringContaining('cancelled') });
    const paid = await p.order(1, KEYS.partner);
    await p.call('POST', `/v1/channel/orders/${paid.orderId}/pay`, { paymentRef: 'ok', amountFen: 8000 }, KEYS.partner, { 'idempotency-key': uniqueId('pay') });
    expect(await cancel(paid.orderId, KEYS.partner)).toMatchObject({ status: 409, body: { error: 'already_paid', order: { status: 'paid' } } });
    expect((await cancel(paid.orderId, KEYS.web)).status).toBe(404);
  });
});
