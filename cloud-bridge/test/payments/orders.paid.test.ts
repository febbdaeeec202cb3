/**
 * Orders paid by the provider, not by a claim (#16 point 3): a visitor pays through the
 * simulator (QR, in-app, payment code), the order becomes paid only from the verified
 * notification or an active query, the tickets reach the gates; refunds go through the
 * provider and are confirmed; partner channels keep confirming with …/pay.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, WhitelistDeltaSchema, type WhitelistDelta } from '@stile/config';
import { DIALECTS, testClient, waitFor } from '../helpers.js';
import { KEYS, startPayPark, untilOrder, untilState, type PayPark } from './orders-harness.js';

describe.each(DIALECTS)('orders paid through the providers on %s', (dialect) => {
  let p: PayPark;
  beforeAll(async () => {
    p = await startPayPark(dialect);
  });
  afterAll(async () => {
    const money = await p?.moneyAccounted();
    await p?.close();
    expect(money?.unaccounted).toEqual([]);
  });

  it('WeChat Native: a QR code, the visitor pays, the verified notification issues the tickets to the gates', async () => {
    const gate = await testClient();
    const deltas: WhitelistDelta[] = [];
    gate.on('message', (_t, payload) => deltas.push(WhitelistDeltaSchema.parse(JSON.parse(payload.toString()))));
    await gate.subscribeAsync(topics.whitelistDelta(p.site), { qos: 1 });
    try {
      const o = await p.order(2);
      expect(o).toMatchObject({ status: 'pending', amountFen: 16000 });
      // The channel cannot claim the money.
      const claim = await p.call('POST', `/v1/channel/orders/${o.orderId}/pay`, { paymentRef: 'trust-me', amountFen: 16000 }, KEYS.web, { 'idempotency-key': `claim-${o.orderId}` });
      expect(claim.status).toBe(409);
      expect(claim.body.error).toBe('payment_by_provider');

      const qr = await p.pay(o.orderId, { provider: 'wechat', method: 'qr' });
      expect(qr.status).toBe(200);
      expect(qr.body).toMatchObject({ orderId: o.orderId, provider: 'wechat', method: 'qr', state: 'pending', amountFen: 16000, orderStatus: 'pending' });
      expect(qr.body.codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
      // Asked again (the page reloaded): the same code, not a second trade.
      const again = await p.pay(o.orderId, { provider: 'wechat', method: 'qr' });
      expect(again.body).toMatchObject({ outTradeNo: qr.body.outTradeNo, codeUrl: qr.body.codeUrl });
      const trade = (await p.control('GET', `/sim/trades/wechat/${qr.body.outTradeNo}`)).body;
      expect(trade).toMatchObject({ amountFen: 16000, description: '青山湖风景区 成人票 ×2 2027-03-10 10:00', state: 'NOTPAY' });
      expect((await p.getOrder(o.orderId)).status).toBe('pending');

      expect((await p.control('POST', `/sim/trades/wechat/${qr.body.outTradeNo}/pay`)).status).toBe(200);
      const paid = await untilOrder(p, o.orderId, (x) => x.status === 'paid', 'the order paid by the notification');
      expect(paid.tickets).toHaveLength(2);
      expect(paid).toMatchObject({ paymentMode: 'provider', refundState: null });
      const tx = (await p.control('GET', `/sim/trades/wechat/${qr.body.outTradeNo}`)).body.transactionId as string;
      const state = await p.state(o.orderId);
      expect(state).toMatchObject({ orderStatus: 'paid', paymentRef: tx, payments: [{ outTradeNo: qr.body.outTradeNo, state: 'paid', transactionId: tx, outcome: 'ticketed' }], refunds: [] });
      const ids = (paid.tickets as { ticketId: string }[]).map((t) => t.ticketId).sort();
      const delta = await waitFor(() => deltas.find((d) => d.changes.some((c) => c.op === 'upsert' && ids.includes(c.ticket.ticketId))), 'the sale delta at a gate');
      expect(delta.changes.filter((c) => c.op === 'upsert').map((c) => (c.op === 'upsert' ? c.ticket.ticketId : '')).sort()).toEqual(ids);
      // Paid: no second payment.
      expect((await p.pay(o.orderId, { provider: 'alipay', method: 'qr' })).body.error).toBe('already_paid');
    } finally {
      await gate.endAsync();
    }
  });

  it('Alipay precreate: scanned and paid; the order is paid by the verified notification', async () => {
    const o = await p.order(1);
    const qr = await p.pay(o.orderId, { provider: 'alipay', method: 'qr' });
    expect(qr.body).toMatchObject({ provider: 'alipay', state: 'pending' });
    expect(qr.body.codeUrl).toMatch(/^https?:\/\//);
    await p.control('POST', `/sim/trades/alipay/${qr.body.outTradeNo}/pay`);
    const paid = await untilOrder(p, o.orderId, (x) => x.status === 'paid', 'paid by Alipay');
    expect(paid.tickets).toHaveLength(1);
  });

  it('in-app: WeChat JSAPI parameters the simulated WeChat accepts; an Alipay WAP link', async () => {
    const o = await p.order(1);
    expect((await p.pay(o.orderId, { provider: 'wechat', method: 'in_app' })).body.error).toBe('invalid_request'); // no openid
    const w = await p.pay(o.orderId, { provider: 'wechat', method: 'in_app', openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' });
    expect(w.status).toBe(200);
    expect(w.body.inApp).toMatchObject({ kind: 'wechat_jsapi', params: { signType: 'RSA' } });
    expect((await p.control('POST', '/sim/wechat/jsapi', w.body.inApp.params)).status).toBe(200);
    await untilOrder(p, o.orderId, (x) => x.status === 'paid', 'paid in WeChat');

    const a = await p.order(1);
    const wap = await p.pay(a.orderId, { provider: 'alipay', method: 'in_app', returnUrl: 'https://park.example/done' });
    expect(wap.body.inApp).toMatchObject({ kind: 'redirect' });
    expect(wap.body.inApp.url).toContain('alipay.trade.wap.pay');
    // The browser opens Alipay's cashier (the trade exists from then on), the visitor pays.
    expect(await (await fetch(wap.body.inApp.url)).text()).toContain('确认付款');
    await p.control('POST', `/sim/trades/alipay/${wap.body.outTradeNo}/pay`);
    await untilOrder(p, a.orderId, (x) => x.status === 'paid', 'paid in Alipay');
  });

  it('kiosk payment codes: paid at once; pending until the visitor confirms (found by the query); refused for no balance', async () => {
    const o = await p.order(1, KEYS.kiosk);
    const now = await p.pay(o.orderId, { provider: 'wechat', method: 'code', authCode: '134567890123450001', deviceId: 'kiosk-1' }, KEYS.kiosk);
    expect(now.body).toMatchObject({ state: 'paid', orderStatus: 'paid' });
    // The kiosk retries the same scan (its answer was lost): the same payment, not a second one.
    const retry = await p.pay(o.orderId, { provider: 'wechat', method: 'code', authCode: '134567890123450001', deviceId: 'kiosk-1' }, KEYS.kiosk);
    expect(retry.body.error).toBe('already_paid');

    const slow = await p.order(1, KEYS.kiosk);
    await p.control('POST', '/sim/codes', { authCode: '134567890123450002', behaviour: 'password' });
    const pending = await p.pay(slow.orderId, { provider: 'wechat', method: 'code', authCode: '134567890123450002' }, KEYS.kiosk);
    expect(pending.body).toMatchObject({ state: 'pending', orderStatus: 'pending' });
    expect((await p.state(slow.orderId, KEYS.kiosk)).orderStatus).toBe('pending');
    // The visitor types the password; WeChat sends no notification for codes: the kiosk's poll queries.
    await p.control('POST', `/sim/trades/wechat/${pending.body.outTradeNo}/pay`);
    await untilState(p, slow.orderId, (s) => s.orderStatus === 'paid', 'paid, found by the query', KEYS.kiosk);

    const poor = await p.order(1, KEYS.kiosk);
    await p.control('POST', '/sim/codes', { authCode: '284567890123450003', behaviour: 'insufficient' });
    const refused = await p.pay(poor.orderId, { provider: 'alipay', method: 'code', authCode: '284567890123450003' }, KEYS.kiosk);
    expect(refused.body).toMatchObject({ state: 'failed', orderStatus: 'pending' });
    expect(refused.body.failure.providerCode).toBeTruthy();
    // The visitor pays with another code.
    const ok = await p.pay(poor.orderId, { provider: 'alipay', method: 'code', authCode: '284567890123450004' }, KEYS.kiosk);
    expect(ok.body).toMatchObject({ state: 'paid', orderStatus: 'paid' });
    // The sweep reverses the refused code (to be sure no money moved) and touches nothing else.
    p.advance(20_000);
    await p.bridge.payments.sweep();
    const s = await p.state(poor.orderId, KEYS.kiosk);
    expect(s.payments.map((x: { state: string }) => x.state)).toEqual(['closed', 'paid']);
    expect(s.orderStatus).toBe('paid');
  });

  it('refunds go through the provider and are confirmed: WeChat (processing → succeeded), Alipay (at once)', async () => {
    for (const provider of ['wechat', 'alipay'] as const) {
      const o = await p.order(1);
      const qr = await p.pay(o.orderId, { provider, method: 'qr' });
      await p.control('POST', `/sim/trades/${provider}/${qr.body.outTradeNo}/pay`);
      await untilOrder(p, o.orderId, (x) => x.status === 'paid', 'paid');
      const r = await p.call('POST', `/v1/channel/orders/${o.orderId}/refund`, { reason: 'weather' }, KEYS.web, { 'idempotency-key': `refund-${o.orderId}` });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'refunded', refundFen: 8000, refundState: 'requested' });
      const done = await untilOrder(p, o.orderId, (x) => x.refundState === 'succeeded', `the ${provider} refund confirmed`);
      expect(done.status).toBe('refunded');
      const s = await p.state(o.orderId);
      expect(s.refunds).toMatchObject([{ outRefundNo: `${o.orderId}R`, outTradeNo: qr.body.outTradeNo, provider, amountFen: 8000, cause: 'visitor', reason: 'weather', state: 'succeeded' }]);
      const trade = (await p.control('GET', `/sim/trades/${provider}/${qr.body.outTradeNo}`)).body;
      expect(trade.refundedFen).toBe(8000);
    }
  });

  it('partner channels keep confirming with …/pay, and cannot create provider payments', async () => {
    const o = await p.order(1, KEYS.partner);
    expect((await p.pay(o.orderId, { provider: 'wechat', method: 'qr' }, KEYS.partner)).body.error).toBe('payment_by_partner');
    expect((await p.call('GET', `/v1/channel/orders/${o.orderId}/payment`, undefined, KEYS.partner)).body.error).toBe('payment_by_partner');
    const paid = await p.call('POST', `/v1/channel/orders/${o.orderId}/pay`, { paymentRef: 'mt-1', amountFen: 8000 }, KEYS.partner, { 'idempotency-key': `mt-${o.orderId}` });
    expect(paid.body).toMatchObject({ status: 'paid' });
    expect(paid.body.paymentMode).toBeUndefined();
    // Another channel's order is unknown here.
    expect((await p.pay(o.orderId, { provider: 'wechat', method: 'qr' })).body.error).toBe('unknown_order');
  });
});
