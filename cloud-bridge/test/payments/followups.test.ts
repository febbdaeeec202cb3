/**
 * Following up on what the provider has not finished, as the providers document it:
 *
 * - refunds: one the provider accepted (WeChat Pay PROCESSING), or whose answer was lost, is
 *   asked about with the refund query (WeChat GET /v3/refund/domestic/refunds/{no}, Alipay
 *   alipay.trade.fastpay.refund.query) and sent again only when the provider has no such refund;
 * - payment codes the visitor confirms on the phone: queried, and reversed after 30 s unpaid.
 *
 * Against the simulator (its request log counts what the bridge sent), on SQLite and PostgreSQL;
 * every paid trade bought a ticket or has a recorded refund at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, waitFor } from '../helpers.js';
import { KEYS, startPayPark, untilOrder, type PayPark } from './orders-harness.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The provider requests the simulator received whose endpoint contains `match`. */
async function calls(p: PayPark, provider: 'wechat' | 'alipay', match: string): Promise<number> {
  return ((await p.control('GET', `/sim/calls?provider=${provider}&match=${encodeURIComponent(match)}`)).body as unknown as Json[]).length;
}

let codeSeq = 0;
/** A fresh payment code that waits for the visitor's password. */
async function passwordCode(p: PayPark, provider: 'wechat' | 'alipay'): Promise<string> {
  const n = String(++codeSeq + (process.pid % 1000) * 1000).padStart(12, '0');
  const authCode = provider === 'wechat' ? `134567${n}` : `284567${n}`;
  await p.control('POST', '/sim/codes', { authCode, behaviour: 'password' });
  return authCode;
}

async function refundOrder(p: PayPark, orderId: string, reason = 'weather'): Promise<void> {
  const r = await p.call('POST', `/v1/channel/orders/${orderId}/refund`, { reason }, KEYS.web, { 'idempotency-key': `rf-${orderId}` });
  expect(r.status).toBe(200);
}

describe.each(DIALECTS)('refunds asked about before they are sent again, on %s', (dialect) => {
  let p: PayPark;
  beforeAll(async () => {
    // WeChat refunds stay PROCESSING until the test completes them; the bridge's notification endpoint never hears of it.
    p = await startPayPark(dialect, { refundMode: 'manual', timeoutMs: 600 });
  });
  afterAll(async () => {
    const money = await p?.moneyAccounted();
    await p?.close();
    expect(money?.unaccounted).toEqual([]);
  });

  async function paidWechatOrder(): Promise<Json> {
    p.relay.mode = 'forward';
    const o = await p.order(1);
    const qr = await p.pay(o.orderId, { provider: 'wechat', method: 'qr' });
    await p.control('POST', `/sim/trades/wechat/${qr.body.outTradeNo}/pay`);
    return untilOrder(p, o.orderId, (x) => x.status === 'paid', 'paid');
  }

  it('a WeChat refund stuck in PROCESSING becomes succeeded by the refund query, without a second refund request', async () => {
    const o = await paidWechatOrder();
    const refundPosts = await calls(p, 'wechat', 'POST /v3/refund/domestic/refunds');
    await refundOrder(p, o.orderId);
    await untilOrder(p, o.orderId, (x) => x.refundState === 'processing', 'accepted, processing');
    expect(await calls(p, 'wechat', 'POST /v3/refund/domestic/refunds')).toBe(refundPosts + 1);
    const queries = `GET /v3/refund/domestic/refunds/${o.orderId}R`;

    // 30 s later it is still processing at WeChat Pay: asked about, not sent again.
    p.advance(31_000);
    await p.bridge.payments.sweep();
    expect(await calls(p, 'wechat', queries)).toBe(1);
    expect((await p.getOrder(o.orderId)).refundState).toBe('processing');

    // WeChat Pay finishes it; its notification is lost on the way.
    p.relay.mode = 'hold';
    await p.control('POST', `/sim/refunds/wechat/${o.orderId}R/complete`, { status: 'SUCCESS' });
    await waitFor(() => p.relay.held.some((d) => d.path.includes('wechat')), 'the lost refund notification');
    p.advance(31_000);
    await p.bridge.payments.sweep();
    const done = await p.getOrder(o.orderId);
    expect(done.refundState).toBe('succeeded');
    expect(await calls(p, 'wechat', queries)).toBe(2);
    expect(await calls(p, 'wechat', 'POST /v3/refund/domestic/refunds')).toBe(refundPosts + 1);
    const trade = (await p.state(o.orderId)).payments[0];
    expect((await p.control('GET', `/sim/trades/wechat/${trade.outTradeNo}`)).body.refundedFen).toBe(o.amountFen);
    // Later sweeps leave a finished refund alone.
    p.advance(31_000);
    await p.bridge.payments.sweep();
    expect(await calls(p, 'wechat', queries)).toBe(2);
  });

  it('a refund the query finds ABNORMAL is failed and staff are alerted', async () => {
    const o = await paidWechatOrder();
    await refundOrder(p, o.orderId, 'changed_plans');
    await untilOrder(p, o.orderId, (x) => x.refundState === 'processing', 'accepted, processing');
    p.relay.mode = 'hold';
    const held = p.relay.held.length;
    await p.control('POST', `/sim/refunds/wechat/${o.orderId}R/complete`, { status: 'ABNORMAL' });
    await waitFor(() => p.relay.held.length > held, 'the lost notification');
    p.advance(31_000);
    await p.bridge.payments.sweep();
    expect((await p.getOrder(o.orderId)).refundState).toBe('failed');
    const alert = p.alerts.alerts.find((a) => a.kind === 'payment_problem' && a.details?.outRefundNo === `${o.orderId}R`);
    expect(alert?.message.en).toMatch(/Refund failed .*abnormal/);
    const refund = (await p.state(o.orderId)).refunds[0];
    expect(refund).toMatchObject({ state: 'failed' });
    // Failed is final: nothing is sent or asked any more.
    const before = await calls(p, 'wechat', '/v3/refund/domestic/refunds');
    p.advance(31_000);
    await p.bridge.payments.sweep();
    expect(await calls(p, 'wechat', '/v3/refund/domestic/refunds')).toBe(before);
    // The money is still the park's: reconciliation and staff handle it (the ledger check counts the recorded refund).
  });

  it('an Alipay refund whose answer was garbled is found done by the query, not sent twice', async () => {
    p.relay.mode = 'forward';
    const o = await p.order(1);
    const qr = await p.pay(o.orderId, { provider: 'alipay', method: 'qr' });
    await p.control('POST', `/sim/trades/alipay/${qr.body.outTradeNo}/pay`);
    await untilOrder(p, o.orderId, (x) => x.status === 'paid', 'paid');
    // Alipay refunds at once; its answer is cut in half on the way, and its notification lost.
    p.relay.mode = 'hold';
    const sends = await calls(p, 'alipay', 'alipay.trade.refund');
    await p.control('POST', '/sim/faults', { kind: 'malformed', provider: 'alipay', match: 'alipay.trade.refund' });
    await refundOrder(p, o.orderId);
    const row = () => p.bridge.store.db.selectFrom('payment_refunds').select(['state', 'attempts', 'last_error']).where('order_id', '=', o.orderId).executeTakeFirst();
    const tried = await waitFor(async () => ((await row())?.attempts ?? 0) >= 1 && (await row()), 'the garbled first answer');
    expect(tried).toMatchObject({ state: 'pending', last_error: expect.stringMatching(/payment_malformed/) });
    expect((await p.control('GET', `/sim/trades/alipay/${qr.body.outTradeNo}`)).body.refundedFen).toBe(o.amountFen ?? 8000);
    p.advance(10_000);
    await p.bridge.payments.sweep();
    expect((await p.getOrder(o.orderId)).refundState).toBe('succeeded');
    expect(await calls(p, 'alipay', 'alipay.trade.fastpay.refund.query')).toBeGreaterThanOrEqual(1);
    expect(await calls(p, 'alipay', 'alipay.trade.refund')).toBe(sends + 1);
  });

  it('an Alipay refund that never arrived (timeout) is queried, found missing, and sent again with the same number', async () => {
    p.relay.mode = 'forward';
    const o = await p.order(1);
    const qr = await p.pay(o.orderId, { provider: 'alipay', method: 'qr' });
    await p.control('POST', `/sim/trades/alipay/${qr.body.outTradeNo}/pay`);
    await untilOrder(p, o.orderId, (x) => x.status === 'paid', 'paid');
    p.relay.mode = 'hold';
    const sends = await calls(p, 'alipay', 'alipay.trade.refund');
    const queries = await calls(p, 'alipay', 'alipay.trade.fastpay.refund.query');
    await p.control('POST', '/sim/faults', { kind: 'timeout', provider: 'alipay', match: 'alipay.trade.refund', hangMs: 1500 });
    await refundOrder(p, o.orderId);
    const row = () => p.bridge.store.db.selectFrom('payment_refunds').select(['state', 'attempts']).where('order_id', '=', o.orderId).executeTakeFirst();
    await waitFor(async () => ((await row())?.attempts ?? 0) >= 1, 'the timed-out first try');
    expect((await p.control('GET', `/sim/trades/alipay/${qr.body.outTradeNo}`)).body.refundedFen).toBe(0);
    p.advance(10_000);
    await p.bridge.payments.sweep();
    expect((await p.getOrder(o.orderId)).refundState).toBe('succeeded');
    expect(await calls(p, 'alipay', 'alipay.trade.fastpay.refund.query')).toBe(queries + 1);
    expect(await calls(p, 'alipay', 'alipay.trade.refund')).toBe(sends + 2);
    const t = (await p.control('GET', `/sim/trades/alipay/${qr.body.outTradeNo}`)).body;
    expect(t.refunds).toEqual([expect.objectContaining({ outRefundNo: `${o.orderId}R`, status: 'SUCCESS' })]);
  });
});

describe.each(DIALECTS)('payment codes the visitor confirms on the phone, on %s', (dialect) => {
  let p: PayPark;
  beforeAll(async () => {
    p = await startPayPark(dialect, { timeoutMs: 600 });
  });
  afterAll(async () => {
    const money = await p?.moneyAccounted();
    await p?.close();
    expect(money?.unaccounted).toEqual([]);
  });

  async function pendingCode(provider: 'wechat' | 'alipay'): Promise<{ orderId: string; outTradeNo: string }> {
    const o = await p.order(1, KEYS.kiosk);
    const r = await p.pay(o.orderId, { provider, method: 'code', authCode: await passwordCode(p, provider) }, KEYS.kiosk);
    expect(r.body).toMatchObject({ state: 'pending', orderStatus: 'pending' });
    return { orderId: o.orderId, outTradeNo: r.body.outTradeNo };
  }

  it.each(['wechat', 'alipay'] as const)('%s: the visitor confirms after 10 s: paid by the follow-up query', async (provider) => {
    const { orderId, outTradeNo } = await pendingCode(provider);
    p.advance(5000);
    expect(await p.bridge.payments.followUpCodes()).toMatchObject({ queried: 1, paid: 0, reversed: 0 });
    p.advance(5000);
    await p.control('POST', `/sim/trades/${provider}/${outTradeNo}/pay`);
    expect(await p.bridge.payments.followUpCodes()).toMatchObject({ paid: 1, reversed: 0 });
    // Read without a query of its own: the follow-up did it.
    expect((await p.getOrder(orderId, KEYS.kiosk)).status).toBe('paid');
    expect((await p.control('GET', `/sim/trades/${provider}/${outTradeNo}`)).body.state).toBe('SUCCESS');
  });

  it.each([
    ['wechat', 'REVOKED'],
    ['alipay', 'CLOSED'],
  ] as const)('%s: never confirmed: reversed after 30 s, the attempt reads closed, the order stays payable', async (provider, reversed) => {
    const { orderId, outTradeNo } = await pendingCode(provider);
    p.advance(15_000);
    expect(await p.bridge.payments.followUpCodes()).toMatchObject({ reversed: 0 });
    expect((await p.control('GET', `/sim/trades/${provider}/${outTradeNo}`)).body.state).toBe('USERPAYING');
    p.advance(16_000);
    expect(await p.bridge.payments.followUpCodes()).toMatchObject({ reversed: 1 });
    expect((await p.control('GET', `/sim/trades/${provider}/${outTradeNo}`)).body.state).toBe(reversed);
    expect(await calls(p, provider, provider === 'wechat' ? `POST /v3/pay/transactions/out-trade-no/${outTradeNo}/reverse` : 'alipay.trade.cancel')).toBeGreaterThanOrEqual(1);
    const s = await p.state(orderId, KEYS.kiosk);
    expect(s.orderStatus).toBe('pending');
    expect(s.payments).toEqual([expect.objectContaining({ outTradeNo, method: 'code', state: 'closed' })]);
    // Too late to confirm now; the visitor shows a fresh code and pays.
    expect((await p.control('POST', `/sim/trades/${provider}/${outTradeNo}/pay`)).status).toBe(409);
    const again = await p.pay(orderId, { provider, method: 'code', authCode: provider === 'wechat' ? `13456789${String(++codeSeq).padStart(10, '0')}` : `28456789${String(++codeSeq).padStart(10, '0')}` }, KEYS.kiosk);
    expect(again.body).toMatchObject({ state: 'paid', orderStatus: 'paid' });
  });

  it('the provider down while reversing: retried at the next follow-up, nothing kept', async () => {
    const { orderId, outTradeNo } = await pendingCode('wechat');
    p.advance(31_000);
    await p.control('POST', '/sim/faults', { kind: '5xx', provider: 'wechat', match: '/reverse', count: 2 });
    expect(await p.bridge.payments.followUpCodes()).toMatchObject({ reversed: 0, errors: 1 });
    expect(await p.bridge.payments.followUpCodes()).toMatchObject({ reversed: 0, errors: 1 });
    // Not closed while the provider could still take the money.
    expect((await p.state(orderId, KEYS.kiosk)).payments[0]).toMatchObject({ state: 'pending', failure: expect.stringMatching(/payment_unavailable/) });
    expect((await p.control('GET', `/sim/trades/wechat/${outTradeNo}`)).body.state).toBe('USERPAYING');
    p.advance(5000);
    expect(await p.bridge.payments.followUpCodes()).toMatchObject({ reversed: 1, errors: 0 });
    expect((await p.control('GET', `/sim/trades/wechat/${outTradeNo}`)).body).toMatchObject({ state: 'REVOKED', refundedFen: 0 });
    expect((await p.state(orderId, KEYS.kiosk)).payments[0].state).toBe('closed');
  });

  it('confirmed while the provider could not reverse it: the payment wins', async () => {
    const { orderId, outTradeNo } = await pendingCode('alipay');
    // Alipay would also notify the payment: lost here, so only the follow-up can find it.
    p.relay.mode = 'hold';
    p.advance(31_000);
    await p.control('POST', '/sim/faults', { kind: '5xx', provider: 'alipay', match: 'alipay.trade.cancel' });
    expect(await p.bridge.payments.followUpCodes()).toMatchObject({ errors: 1 });
    await p.control('POST', `/sim/trades/alipay/${outTradeNo}/pay`);
    p.advance(5000);
    expect(await p.bridge.payments.followUpCodes()).toMatchObject({ paid: 1, reversed: 0 });
    expect((await p.getOrder(orderId, KEYS.kiosk)).status).toBe('paid');
    expect((await p.control('GET', `/sim/trades/alipay/${outTradeNo}`)).body).toMatchObject({ state: 'SUCCESS', refundedFen: 0 });
    p.relay.mode = 'forward';
  });
});

describe('payment codes followed up by the timer (short intervals)', () => {
  let p: PayPark;
  beforeAll(async () => {
    p = await startPayPark('sqlite', { codePayments: { queryEveryMs: 200, reverseAfterMs: 2500 } });
  });
  afterAll(async () => {
    const money = await p?.moneyAccounted();
    await p?.close();
    expect(money?.unaccounted).toEqual([]);
  });

  it('queried, then reversed, with nobody calling', async () => {
    const o = await p.order(1, KEYS.kiosk);
    const r = await p.pay(o.orderId, { provider: 'wechat', method: 'code', authCode: await passwordCode(p, 'wechat') }, KEYS.kiosk);
    const no = String(r.body.outTradeNo);
    await waitFor(async () => (await calls(p, 'wechat', `GET /v3/pay/transactions/out-trade-no/${no}`)) >= 1, 'a query by the timer', 5000);
    const t = await waitFor(async () => {
      const x = (await p.control('GET', `/sim/trades/wechat/${no}`)).body;
      return x.state === 'REVOKED' ? x : undefined;
    }, 'reversed by the timer', 10_000);
    expect(t.state).toBe('REVOKED');
    expect((await p.getOrder(o.orderId, KEYS.kiosk)).status).toBe('pending');
  });
});
