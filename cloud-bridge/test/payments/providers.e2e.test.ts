/**
 * Both providers end to end against the running simulator: create, pay in the simulator,
 * the notification verified (and for WeChat Pay decrypted) at the merchant's endpoint,
 * query, refund, close, payment codes, the day's bill downloaded and parsed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beijingToday, startHarness, tradeNo, type Harness } from './sim-harness.js';
import { expectCode } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const events = (kind: string, outTradeNo: string) => h.received.filter((r) => r.event?.kind === kind && 'outTradeNo' in r.event && r.event.outTradeNo === outTradeNo);

describe('WeChat Pay against the simulator', () => {
  const paidNo = tradeNo('WQ');

  it('Native: QR, paid in the simulator, notification verified and decrypted, query says paid', async () => {
    const { codeUrl } = await h.wechat.createQr({ outTradeNo: paidNo, amountFen: 12000, description: '成人票 2024-05-01', expiresAt: new Date(Date.now() + 15 * 60_000) });
    expect(codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
    // The same order again gives the same code (idempotent), another amount is refused.
    expect((await h.wechat.createQr({ outTradeNo: paidNo, amountFen: 12000, description: '成人票 2024-05-01', expiresAt: new Date(Date.now() + 15 * 60_000) })).codeUrl).toBe(codeUrl);
    await expectCode(() => h.wechat.createQr({ outTradeNo: paidNo, amountFen: 100, description: '成人票 2024-05-01' }), 'payment_refused');
    expect(await h.wechat.query(paidNo)).toEqual({ state: 'not_paid', exists: true });

    expect((await h.control('POST', `/sim/trades/wechat/${paidNo}/pay`)).status).toBe(200);
    await h.waitFor(() => events('paid', paidNo).length === 1);
    const event = events('paid', paidNo)[0]!.event!;
    expect(event).toMatchObject({ kind: 'paid', provider: 'wechat', outTradeNo: paidNo, amountFen: 12000 });
    const q = await h.wechat.query(paidNo);
    expect(q).toMatchObject({ state: 'paid', amountFen: 12000 });
    expect(q.state === 'paid' && event.kind === 'paid' && q.transactionId === event.transactionId).toBe(true);
    // Closing a paid order is refused by the provider.
    await expectCode(() => h.wechat.close(paidNo), 'payment_refused');
  });

  it('refund: accepted (PROCESSING), then the REFUND.SUCCESS notification; query says refunded', async () => {
    const r = await h.wechat.refund({ outTradeNo: paidNo, outRefundNo: `${paidNo}R1`, amountFen: 5000, totalFen: 12000, reason: '行程变更' });
    expect(r).toMatchObject({ state: 'processing', amountFen: 5000 });
    // The same refund number again is the same refund.
    expect((await h.wechat.refund({ outTradeNo: paidNo, outRefundNo: `${paidNo}R1`, amountFen: 5000, totalFen: 12000 })).refundId).toBe(r.refundId);
    await h.waitFor(() => events('refund', paidNo).length === 1);
    expect(events('refund', paidNo)[0]!.event).toMatchObject({ kind: 'refund', outRefundNo: `${paidNo}R1`, amountFen: 5000, state: 'succeeded', refundId: r.refundId });
    expect(await h.wechat.query(paidNo)).toMatchObject({ state: 'refunded', amountFen: 12000 });
    // More than what is left is refused.
    await expectCode(() => h.wechat.refund({ outTradeNo: paidNo, outRefundNo: `${paidNo}R2`, amountFen: 7001, totalFen: 12000 }), 'payment_refused');
  });

  it('close: an unpaid order is closed and cannot be paid any more', async () => {
    const no = tradeNo('WC');
    await h.wechat.createQr({ outTradeNo: no, amountFen: 3000, description: '儿童票' });
    await h.wechat.close(no);
    await h.wechat.close(no); // again: fine
    expect(await h.wechat.query(no)).toEqual({ state: 'closed' });
    expect((await h.control('POST', `/sim/trades/wechat/${no}/pay`)).status).toBe(409);
    expect(await h.wechat.query('NEVER_CREATED_1')).toEqual({ state: 'not_paid', exists: false });
  });

  it('JSAPI: the page parameters carry a paySign the simulated WeChat checks', async () => {
    const no = tradeNo('WJ');
    const pay = await h.wechat.createInApp({ outTradeNo: no, amountFen: 8000, description: '夜场票', openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' });
    expect(pay.kind).toBe('wechat_jsapi');
    if (pay.kind !== 'wechat_jsapi') return;
    expect((await h.control('POST', '/sim/wechat/jsapi', { ...pay.params, paySign: pay.params.paySign.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) })).status).toBe(400);
    expect((await h.control('POST', '/sim/wechat/jsapi', pay.params)).status).toBe(200);
    await h.waitFor(() => events('paid', no).length === 1);
    await expectCode(() => h.wechat.createInApp({ outTradeNo: tradeNo('WJ'), amountFen: 8000, description: 'x' }), 'invalid_request');
  });

  it('payment code: paid at once, pending until the visitor confirms, refused for no balance; reverse', async () => {
    const paid = await h.wechat.payWithCode({ outTradeNo: tradeNo('WM'), amountFen: 6000, description: '成人票', authCode: '134567890123456789', deviceId: 'kiosk-1' });
    expect(paid).toMatchObject({ result: 'paid', amountFen: 6000 });

    await h.control('POST', '/sim/codes', { authCode: '134567890123456780', behaviour: 'password' });
    const no = tradeNo('WM');
    expect(await h.wechat.payWithCode({ outTradeNo: no, amountFen: 6000, description: '成人票', authCode: '134567890123456780' })).toEqual({ result: 'pending' });
    expect(await h.wechat.query(no)).toEqual({ state: 'paying' });
    await h.control('POST', `/sim/trades/wechat/${no}/pay`);
    expect(await h.wechat.query(no)).toMatchObject({ state: 'paid', amountFen: 6000 });

    const timedOut = tradeNo('WM');
    expect(await h.wechat.payWithCode({ outTradeNo: timedOut, amountFen: 6000, description: '成人票', authCode: '134567890123456780' })).toEqual({ result: 'pending' });
    expect(await h.wechat.reverse(timedOut)).toEqual({ action: 'closed' });
    expect(await h.wechat.query(timedOut)).toEqual({ state: 'closed' });

    await h.control('POST', '/sim/codes', { authCode: '134567890123456781', behaviour: 'insufficient' });
    expect(await h.wechat.payWithCode({ outTradeNo: tradeNo('WM'), amountFen: 6000, description: '成人票', authCode: '134567890123456781' })).toMatchObject({ result: 'failed', providerCode: 'NOT_ENOUGH' });
  });

  it('a duplicate delivery arrives again, verified (deduplication is the caller’s)', async () => {
    await h.control('POST', `/sim/trades/wechat/${paidNo}/renotify`);
    await h.waitFor(() => events('paid', paidNo).length === 2);
  });

  it("the day's trade bill: downloaded, SHA1 checked, parsed", async () => {
    const bill = await h.wechat.downloadBill(beijingToday());
    expect(bill.rejected).toEqual([]);
    expect(bill.countMatches).toBe(true);
    expect(bill.lines.filter((l) => l.outTradeNo === paidNo).map((l) => [l.kind, l.amountFen])).toEqual([
      ['payment', 12000],
      ['refund', 5000],
    ]);
    expect(await h.wechat.downloadBill('2001-01-01')).toMatchObject({ empty: true, lines: [] });
  });
});

describe('Alipay against the simulator', () => {
  const paidNo = tradeNo('AQ');

  it('precreate: QR; no trade until scanned; paid, notified, query says paid', async () => {
    const { codeUrl } = await h.alipay.createQr({ outTradeNo: paidNo, amountFen: 12000, description: '成人票 2024-05-01', expiresAt: new Date(Date.now() + 15 * 60_000) });
    expect(codeUrl).toMatch(/^https:\/\/qr\.alipay\.com\//);
    expect(await h.alipay.query(paidNo)).toEqual({ state: 'not_paid', exists: false });
    await h.control('POST', `/sim/trades/alipay/${paidNo}/scan`);
    expect(await h.alipay.query(paidNo)).toEqual({ state: 'not_paid', exists: true });
    await h.control('POST', `/sim/trades/alipay/${paidNo}/pay`);
    await h.waitFor(() => events('paid', paidNo).length === 1);
    const e = events('paid', paidNo)[0]!;
    expect(e.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(e.event).toMatchObject({ kind: 'paid', provider: 'alipay', outTradeNo: paidNo, amountFen: 12000 });
    expect(await h.alipay.query(paidNo)).toMatchObject({ state: 'paid', amountFen: 12000 });
  });

  it('refund: part, then the rest; each notified; query says refunded at the end', async () => {
    expect(await h.alipay.refund({ outTradeNo: paidNo, outRefundNo: `${paidNo}R1`, amountFen: 3000, totalFen: 12000, reason: '行程变更' })).toMatchObject({ state: 'succeeded', amountFen: 3000 });
    await h.waitFor(() => events('refund', paidNo).length === 1);
    expect(events('refund', paidNo)[0]!.event).toMatchObject({ outRefundNo: `${paidNo}R1`, refundedTotalFen: 3000, state: 'succeeded' });
    expect(await h.alipay.query(paidNo)).toMatchObject({ state: 'paid' });
    // Retrying the same request number does not refund twice.
    await h.alipay.refund({ outTradeNo: paidNo, outRefundNo: `${paidNo}R1`, amountFen: 3000, totalFen: 12000 });
    await h.alipay.refund({ outTradeNo: paidNo, outRefundNo: `${paidNo}R2`, amountFen: 9000, totalFen: 12000 });
    await h.waitFor(() => events('refund', paidNo).length === 2);
    expect(events('refund', paidNo)[1]!.event).toMatchObject({ refundedTotalFen: 12000 });
    expect(await h.alipay.query(paidNo)).toMatchObject({ state: 'refunded' });
    await expectCode(() => h.alipay.refund({ outTradeNo: paidNo, outRefundNo: `${paidNo}R3`, amountFen: 1, totalFen: 12000 }), 'payment_refused');
  });

  it('close: never scanned is fine; scanned is closed; a timed-out trade is closed and notified', async () => {
    const a = tradeNo('AC');
    await h.alipay.createQr({ outTradeNo: a, amountFen: 3000, description: '儿童票' });
    await h.alipay.close(a);
    const b = tradeNo('AC');
    await h.alipay.createQr({ outTradeNo: b, amountFen: 3000, description: '儿童票' });
    await h.control('POST', `/sim/trades/alipay/${b}/scan`);
    await h.alipay.close(b);
    await h.alipay.close(b);
    expect(await h.alipay.query(b)).toEqual({ state: 'closed' });
    const c = tradeNo('AC');
    await h.alipay.createQr({ outTradeNo: c, amountFen: 3000, description: '儿童票' });
    await h.control('POST', `/sim/trades/alipay/${c}/scan`);
    await h.control('POST', `/sim/trades/alipay/${c}/expire`);
    await h.waitFor(() => events('closed', c).length === 1);
    expect((await h.control('POST', `/sim/trades/alipay/${c}/pay`)).status).toBe(409);
  });

  it('WAP: the signed redirect opens the simulated cashier; paying returns to return_url and notifies', async () => {
    const no = tradeNo('AW');
    const pay = await h.alipay.createInApp({ outTradeNo: no, amountFen: 8000, description: '夜场票', returnUrl: 'https://park.example/paid', quitUrl: 'https://park.example/back' });
    expect(pay.kind).toBe('redirect');
    if (pay.kind !== 'redirect') return;
    const page = await fetch(pay.url);
    expect(await page.text()).toContain('确认付款');
    // A changed amount in the link fails the gateway's signature check.
    const forged = await (await fetch(pay.url.replace('80.00', '0.01'))).text();
    expect(forged).toContain('isv.invalid-signature');
    const back = await fetch(`${h.sim.baseUrl}/sim/trades/alipay/${no}/pay?redirect=1`, { method: 'POST', redirect: 'manual' });
    expect(back.status).toBe(302);
    expect(back.headers.get('location')).toMatch(/^https:\/\/park\.example\/paid\?.*out_trade_no=/);
    await h.waitFor(() => events('paid', no).length === 1);
  });

  it('payment code (bar_code): paid, pending then paid, invalid code; cancel', async () => {
    expect(await h.alipay.payWithCode({ outTradeNo: tradeNo('AB'), amountFen: 6000, description: '成人票', authCode: '281234567890123456', deviceId: 'kiosk-1' })).toMatchObject({ result: 'paid', amountFen: 6000 });
    await h.control('POST', '/sim/codes', { authCode: '281234567890123450', behaviour: 'password' });
    const no = tradeNo('AB');
    expect(await h.alipay.payWithCode({ outTradeNo: no, amountFen: 6000, description: '成人票', authCode: '281234567890123450' })).toEqual({ result: 'pending' });
    expect(await h.alipay.query(no)).toEqual({ state: 'not_paid', exists: true });
    await h.control('POST', `/sim/trades/alipay/${no}/pay`);
    expect(await h.alipay.query(no)).toMatchObject({ state: 'paid' });
    const gaveUp = tradeNo('AB');
    await h.alipay.payWithCode({ outTradeNo: gaveUp, amountFen: 6000, description: '成人票', authCode: '281234567890123450' });
    expect(await h.alipay.reverse(gaveUp)).toEqual({ action: 'closed' });
    expect(await h.alipay.reverse(no)).toEqual({ action: 'refunded' });
    expect(await h.alipay.payWithCode({ outTradeNo: tradeNo('AB'), amountFen: 6000, description: '成人票', authCode: '999' })).toMatchObject({ result: 'failed', providerCode: 'ACQ.PAYMENT_AUTH_CODE_INVALID' });
  });

  it("the day's bill: a GBK zip, downloaded and parsed", async () => {
    const bill = await h.alipay.downloadBill(beijingToday());
    expect(bill.rejected).toEqual([]);
    expect(bill.countMatches).toBe(true);
    expect(bill.lines.filter((l) => l.outTradeNo === paidNo).map((l) => [l.kind, l.amountFen, l.outRefundNo])).toEqual([
      ['payment', 12000, undefined],
      ['refund', 3000, `${paidNo}R1`],
      ['refund', 9000, `${paidNo}R2`],
    ]);
    expect(await h.alipay.downloadBill('2001-01-01')).toMatchObject({ empty: true });
  });
});

describe('notification retries', () => {
  it('WeChat Pay and Alipay retry until the merchant acknowledges', async () => {
    h.failNext(2);
    const no = tradeNo('WR');
    await h.wechat.createQr({ outTradeNo: no, amountFen: 100, description: 'retry' });
    await h.control('POST', `/sim/trades/wechat/${no}/pay`);
    await h.waitFor(() => events('paid', no).length === 3);
    const d = h.sim.notifier.deliveries.find((x) => x.outTradeNo === no)!;
    await h.waitFor(() => d.delivered);
    expect(d.attempts.map((a) => a.status)).toEqual([500, 500, 204]);

    h.failNext(1);
    const an = tradeNo('AR');
    await h.alipay.createQr({ outTradeNo: an, amountFen: 100, description: 'retry' });
    await h.control('POST', `/sim/trades/alipay/${an}/pay`);
    await h.waitFor(() => events('paid', an).length === 2);
    const ad = h.sim.notifier.deliveries.find((x) => x.outTradeNo === an)!;
    await h.waitFor(() => ad.delivered);
    expect(ad.attempts.map((a) => a.body)).toEqual(['fail', 'success']);
  });
});
