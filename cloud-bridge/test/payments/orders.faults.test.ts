/**
 * A provider on a bad day, at the order level: timeouts, 5xx and malformed or unverifiable
 * answers when a payment is created, queried, closed or refunded; the sweep that closes an
 * overdue order at the provider before its places go back (and pays it instead when the
 * provider says it was paid meanwhile); refunds retried until confirmed; and the crash
 * windows between our own steps. Money is accounted for at the end, as everywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, waitFor } from '../helpers.js';
import { DAY, HOLD_MS, KEYS, startPayPark, untilOrder, type PayPark } from './orders-harness.js';

describe.each(DIALECTS)('payments when the provider fails, on %s', (dialect) => {
  let p: PayPark;
  beforeAll(async () => {
    p = await startPayPark(dialect, { timeoutMs: 600 });
  });
  afterAll(async () => {
    const money = await p?.moneyAccounted();
    await p?.close();
    expect(money?.unaccounted).toEqual([]);
  });

  const fault = (body: Record<string, unknown>) => p.control('POST', '/sim/faults', body);
  const remaining = (slot = 's10') => p.call('GET', `/v1/channel/availability?date=${DAY}`).then((r) => (r.body.slots as { slotId: string; remaining: number }[]).find((s) => s.slotId === slot)!.remaining);

  it('creating a payment: timeout, 5xx, garbage and a bad signature are refused without selling anything', async () => {
    const o = await p.order(1);
    await fault({ kind: 'timeout', provider: 'wechat', match: 'native', hangMs: 1500 });
    const t = await p.pay(o.orderId, { provider: 'wechat', method: 'qr' });
    expect(t.status).toBe(504);
    expect(t.body.error).toBe('payment_timeout');
    await fault({ kind: '5xx', provider: 'alipay', match: 'precreate' });
    expect(await p.pay(o.orderId, { provider: 'alipay', method: 'qr' })).toMatchObject({ status: 503, body: { error: 'payment_unavailable' } });
    for (const kind of ['malformed', 'bad_signature', 'stale', 'unknown_key']) {
      await fault({ kind, provider: 'wechat', match: 'native' });
      const r = await p.pay(o.orderId, { provider: 'wechat', method: 'qr' });
      expect(r, kind).toMatchObject({ status: 503, body: { error: 'payment_unavailable' } });
    }
    // Every attempt is on record (the sweep closes them at the deadline); the order is not paid.
    const s = await p.state(o.orderId);
    expect(s.orderStatus).toBe('pending');
    expect(s.payments.length).toBe(6);
    expect(s.payments.every((a: { state: string }) => a.state !== 'paid')).toBe(true);
    // The provider is back: a good QR code.
    const ok = await p.pay(o.orderId, { provider: 'wechat', method: 'qr' });
    expect(ok.body.codeUrl).toMatch(/^weixin:/);
    await p.control('POST', `/sim/trades/wechat/${ok.body.outTradeNo}/pay`);
    await untilOrder(p, o.orderId, (x) => x.status === 'paid', 'paid');
    // The sweep closes the failed attempts of the paid order (one of them did create a trade at WeChat Pay).
    p.advance(20_000);
    await p.bridge.payments.sweep();
    const after = await p.state(o.orderId);
    expect(after.payments.filter((a: { state: string }) => a.state === 'closed').length).toBeGreaterThanOrEqual(4);
  });

  it('a payment code whose answer timed out: the kiosk polls, the query finds the truth', async () => {
    const o = await p.order(1, KEYS.kiosk);
    await fault({ kind: 'timeout', provider: 'alipay', match: 'alipay.trade.pay', hangMs: 1500 });
    const r = await p.pay(o.orderId, { provider: 'alipay', method: 'code', authCode: '284567890123459001' }, KEYS.kiosk);
    expect(r.body.error).toBe('payment_timeout');
    const s = await p.state(o.orderId, KEYS.kiosk);
    expect(s).toMatchObject({ orderStatus: 'pending', payments: [{ method: 'code', state: 'pending' }] });
    // The same code scanned again: the same attempt (never a second charge), still unknown.
    expect((await p.pay(o.orderId, { provider: 'alipay', method: 'code', authCode: '284567890123459001' }, KEYS.kiosk)).body.state).toBe('pending');
    // A query that answers 5xx leaves it pending (the poll answers what is known).
    await fault({ kind: '5xx', provider: 'alipay', match: 'alipay.trade.query' });
    expect((await p.state(o.orderId, KEYS.kiosk)).payments[0].state).toBe('pending');
    // The kiosk gives up; at the deadline the sweep reverses it and the places go back.
    const before = await remaining();
    p.advance(HOLD_MS + 60_000);
    const report = await p.bridge.payments.sweep();
    expect(report.expired).toBeGreaterThanOrEqual(1);
    expect((await p.state(o.orderId, KEYS.kiosk)).payments[0].state).toBe('closed');
    expect((await p.getOrder(o.orderId, KEYS.kiosk)).status).toBe('expired');
    expect(await remaining()).toBe(before + 1);
  });

  it('at the deadline a provider that cannot be reached keeps the places held; the next sweep closes, then expires', async () => {
    const o = await p.order(1);
    const qr = await p.pay(o.orderId, { provider: 'alipay', method: 'qr' });
    await p.control('POST', `/sim/trades/alipay/${qr.body.outTradeNo}/scan`);
    p.advance(HOLD_MS + 60_000);
    await fault({ kind: '5xx', provider: 'alipay', match: 'alipay.trade.close', count: 1 });
    const first = await p.bridge.payments.sweep();
    expect(first.errors).toBeGreaterThanOrEqual(1);
    // Not closed at Alipay: the order keeps its places (it could still be paid).
    expect((await p.getOrder(o.orderId)).status).toBe('pending');
    expect((await p.state(o.orderId)).payments[0].failure).toMatch(/payment_unavailable/);
    await p.bridge.payments.sweep();
    expect((await p.control('GET', `/sim/trades/alipay/${qr.body.outTradeNo}`)).body.state).toBe('CLOSED');
    expect((await p.getOrder(o.orderId)).status).toBe('expired');
  });

  it('paid just before the deadline, its notification lost: the sweep finds the payment and pays the order instead', async () => {
    const o = await p.order(1);
    const qr = await p.pay(o.orderId, { provider: 'wechat', method: 'qr' });
    p.relay.mode = 'hold';
    try {
      await p.control('POST', `/sim/trades/wechat/${qr.body.outTradeNo}/pay`);
      await waitFor(() => p.relay.held.length > 0, 'the held notification');
      p.advance(HOLD_MS + 60_000);
      await p.bridge.payments.sweep();
      // Closing was refused (ORDERPAID), the query said paid: tickets, not expiry.
      const order = await p.getOrder(o.orderId);
      expect(order.status).toBe('paid');
      expect(order.tickets).toHaveLength(1);
    } finally {
      p.relay.mode = 'forward';
    }
  });

  it('a refund the provider cannot take now is retried by the sweep until confirmed', async () => {
    const o = await p.order(1);
    const qr = await p.pay(o.orderId, { provider: 'wechat', method: 'qr' });
    await p.control('POST', `/sim/trades/wechat/${qr.body.outTradeNo}/pay`);
    await untilOrder(p, o.orderId, (x) => x.status === 'paid', 'paid');
    await fault({ kind: '5xx', provider: 'wechat', match: 'refund', count: 1 });
    const r = await p.call('POST', `/v1/channel/orders/${o.orderId}/refund`, { reason: 'changed_plans' }, KEYS.web, { 'idempotency-key': `rf-${o.orderId}` });
    expect(r.body.refundState).toBe('requested');
    const row = () => p.bridge.store.db.selectFrom('payment_refunds').select(['state', 'attempts', 'last_error']).where('order_id', '=', o.orderId).executeTakeFirst();
    const tried = await waitFor(async () => ((await row())?.attempts ?? 0) >= 1 && (await row()), 'the failed first try');
    expect(tried).toMatchObject({ state: 'pending', last_error: expect.stringMatching(/payment_unavailable/) });
    expect((await p.state(o.orderId)).refundState).toBe('requested');
    p.advance(10_000);
    await p.bridge.payments.sweep();
    const done = await untilOrder(p, o.orderId, (x) => x.refundState === 'succeeded', 'the refund confirmed');
    expect(done.status).toBe('refunded');
    expect((await p.state(o.orderId)).refunds[0]).toMatchObject({ state: 'succeeded', reason: 'changed_plans' });
  });

  it('a refund still processing is asked about again until the provider confirms it', async () => {
    const m = await startPayPark(dialect, { refundMode: 'manual' });
    try {
      const o = await m.order(1);
      const qr = await m.pay(o.orderId, { provider: 'wechat', method: 'qr' });
      await m.control('POST', `/sim/trades/wechat/${qr.body.outTradeNo}/pay`);
      await untilOrder(m, o.orderId, (x) => x.status === 'paid', 'paid');
      // The refund notification will be lost: only asking again tells us the refund went through.
      await m.call('POST', `/v1/channel/orders/${o.orderId}/refund`, { reason: 'weather' }, KEYS.web, { 'idempotency-key': `rp-${o.orderId}` });
      await untilOrder(m, o.orderId, (x) => x.refundState === 'processing', 'accepted, processing');
      m.relay.mode = 'hold';
      await m.control('POST', `/sim/refunds/wechat/${o.orderId}R/complete`, { status: 'SUCCESS' });
      await waitFor(() => m.relay.held.length > 0, 'the lost refund notification');
      m.advance(31_000);
      await m.bridge.payments.sweep();
      expect((await m.getOrder(o.orderId)).refundState).toBe('succeeded');
    } finally {
      const money = await m.moneyAccounted();
      await m.close();
      expect(money.unaccounted).toEqual([]);
    }
  });

  it('crash windows: a refund whose event was lost, money recorded but not yet settled', async () => {
    const db = p.bridge.store.db;
    // Sales committed a refund and the process died before the payments module heard of it.
    const o = await p.order(1);
    const qr = await p.pay(o.orderId, { provider: 'alipay', method: 'qr' });
    await p.control('POST', `/sim/trades/alipay/${qr.body.outTradeNo}/pay`);
    const paid = await untilOrder(p, o.orderId, (x) => x.status === 'paid', 'paid');
    await db.updateTable('orders').set({ status: 'refunded', refunded_at: new Date().toISOString(), refund_reason: 'weather', refund_state: 'requested', refund_no: `${o.orderId}R` }).where('order_id', '=', o.orderId).execute();
    await p.bridge.payments.sweep();
    expect((await p.getOrder(o.orderId)).refundState).toBe('succeeded');
    expect((await p.control('GET', `/sim/trades/alipay/${qr.body.outTradeNo}`)).body.refundedFen).toBe(paid.amountFen);

    // The money was recorded, and the process died before the order took it (notification lost too).
    const w = await p.order(1);
    const wq = await p.pay(w.orderId, { provider: 'wechat', method: 'qr' });
    p.relay.mode = 'hold';
    try {
      await p.control('POST', `/sim/trades/wechat/${wq.body.outTradeNo}/pay`);
      await waitFor(() => p.relay.held.some((d) => d.path.includes('wechat')), 'held');
      const t = (await p.control('GET', `/sim/trades/wechat/${wq.body.outTradeNo}`)).body;
      await db.updateTable('payments').set({ state: 'paid', transaction_id: t.transactionId, paid_fen: 8000, paid_at: t.paidAt }).where('out_trade_no', '=', wq.body.outTradeNo).execute();
      expect((await p.getOrder(w.orderId)).status).toBe('pending');
      const report = await p.bridge.payments.sweep();
      expect(report.settled).toBeGreaterThanOrEqual(1);
      expect((await p.getOrder(w.orderId)).status).toBe('paid');
    } finally {
      p.relay.mode = 'forward';
    }
  });
});
