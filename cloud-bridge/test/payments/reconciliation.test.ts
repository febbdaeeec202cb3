/**
 * The daily reconciliation against the simulator's bills (#16 point 4), on SQLite and
 * PostgreSQL: visitors pay through the simulated WeChat Pay and Alipay, a partner channel
 * confirms its own money, then the day is reconciled through the staff route. The simulator
 * stages what real bills sometimes hold (PUT /sim/bills/{provider}/{date}/edits): money we
 * never asked for, a payment left out, another amount, a line twice, unreadable lines, a
 * wrong count, a bill not made yet; and faults on the bill download (5xx, a hang).
 *
 * The bill date is today in Beijing (the simulator's payments happen now); the bridge's clock
 * is moved a day on before reconciling, as the timer would run the next morning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers.js';
import { KEYS, startPayPark, untilOrder, type PayPark } from './orders-harness.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const DAY_MS = 86_400_000;
const beijingDate = (ms: number): string => new Date(ms + 8 * 3_600_000).toISOString().slice(0, 10);

/** Not across Beijing midnight: every payment of the file on one bill date. */
async function awayFromMidnight(): Promise<void> {
  const toMidnight = DAY_MS - ((Date.now() + 8 * 3_600_000) % DAY_MS);
  if (toMidnight < 3 * 60_000) await new Promise((r) => setTimeout(r, toMidnight + 1000));
}

describe.each(DIALECTS)('daily reconciliation against the providers’ bills on %s', (dialect) => {
  let p: PayPark;
  let D: string;
  const paid: Record<string, { orderId: string; outTradeNo: string; amountFen: number }> = {};
  const staff = async (method: string, path: string): Promise<{ status: number; body: Json; text: string }> => {
    const res = await fetch(p.base + path, { method, headers: { authorization: 'Bearer staff' } });
    const text = await res.text();
    let body: Json = {};
    try {
      body = JSON.parse(text) as Json;
    } catch {
      /* csv, html */
    }
    return { status: res.status, body, text };
  };
  const reconcile = (date = D) => staff('POST', `/v1/staff/sites/${p.site}/reconciliation/${date}`);
  const reconAlerts = () => p.alerts.alerts.filter((a) => a.details?.reconciliation === D);
  const edits = (provider: string, body: unknown) => p.control('PUT', `/sim/bills/${provider}/${D}/edits`, body);
  const provider = (r: Json, id: string): Json => (r.providers as Json[]).find((x) => x.provider === id)!;

  /** An order of the park's booking page, paid by scanning its QR code in the simulator. */
  async function payWith(prov: 'wechat' | 'alipay', persons = 1): Promise<{ orderId: string; outTradeNo: string; amountFen: number }> {
    const o = await p.order(persons);
    const qr = await p.pay(o.orderId, { provider: prov, method: 'qr' });
    expect((await p.control('POST', `/sim/trades/${prov}/${qr.body.outTradeNo}/pay`)).status).toBe(200);
    await untilOrder(p, o.orderId, (x) => x.status === 'paid', `paid by ${prov}`);
    return { orderId: o.orderId, outTradeNo: qr.body.outTradeNo, amountFen: o.amountFen };
  }

  beforeAll(async () => {
    await awayFromMidnight();
    D = beijingDate(Date.now());
    p = await startPayPark(dialect, { reconciliation: { boundaryMinutes: 0, checkEveryMs: 0, maxAttempts: 3 } });
  });
  afterAll(async () => {
    await p?.close();
  });

  it('today is refused (its bill comes tomorrow), staff only, and an unreconciled day says so in the report', async () => {
    expect((await reconcile()).body).toMatchObject({ error: 'bill_not_ready' });
    expect((await reconcile()).status).toBe(409);
    const anon = await fetch(`${p.base}/v1/staff/sites/${p.site}/reconciliation/${D}`, { method: 'POST' });
    expect(anon.status).toBe(401);
    expect((await staff('POST', `/v1/staff/sites/${p.site}/reconciliation/2027-02-30`)).body.error).toBe('invalid_date');
    expect((await staff('GET', `/v1/staff/sites/${p.site}/reconciliation/${D}`)).body).toEqual({ v: 1, site: p.site, date: D, state: 'not_run' });
    const report = await staff('GET', `/v1/staff/sites/${p.site}/reports/${D}`);
    expect(report.body.reconciliation).toMatchObject({ state: 'not_run', providers: [] });
  });

  it('a clean day: every transaction matched, nothing alerted; the report lists each provider and the partner channel', async () => {
    paid.w1 = await payWith('wechat', 2);
    paid.w2 = await payWith('wechat');
    paid.w3 = await payWith('wechat');
    paid.a1 = await payWith('alipay');
    paid.a2 = await payWith('alipay');
    // w2 is refunded by the visitor: the money goes back through WeChat Pay.
    const r = await p.call('POST', `/v1/channel/orders/${paid.w2.orderId}/refund`, { reason: 'weather' }, KEYS.web, { 'idempotency-key': `refund-${paid.w2.orderId}` });
    expect(r.status).toBe(200);
    await untilOrder(p, paid.w2.orderId, (x) => x.refundState === 'succeeded', 'the refund confirmed');
    // Meituan-style: the partner collected the money itself.
    const po = await p.order(1, KEYS.partner);
    expect((await p.call('POST', `/v1/channel/orders/${po.orderId}/pay`, { paymentRef: 'MT-1', amountFen: po.amountFen }, KEYS.partner, { 'idempotency-key': `pay-${po.orderId}` })).status).toBe(200);
    // The evening report is kept before the bills exist.
    expect((await staff('POST', `/v1/staff/sites/${p.site}/reports/${D}`)).body.reconciliation.state).toBe('not_run');

    p.advance(DAY_MS); // the next morning
    const res = await reconcile();
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ v: 1, site: p.site, date: D, state: 'done', attempts: 1, mismatchCounts: {} });
    expect(provider(res.body, 'wechat')).toMatchObject({
      state: 'matched',
      bill: { payments: { count: 3, amountFen: 32000 }, refunds: { count: 1, amountFen: 8000 } },
      matched: { payments: { count: 3, amountFen: 32000 }, refunds: { count: 1, amountFen: 8000 } },
      ours: { payments: { count: 3, amountFen: 32000 }, refunds: { count: 1, amountFen: 8000 } },
      mismatches: [],
    });
    expect(provider(res.body, 'alipay')).toMatchObject({ state: 'matched', bill: { payments: { count: 2, amountFen: 16000 } }, matched: { payments: { count: 2 } }, mismatches: [] });
    expect(reconAlerts()).toEqual([]);
    expect((await staff('GET', `/v1/staff/sites/${p.site}/reconciliation/${D}`)).body).toEqual(res.body);

    // The kept report is made again with the reconciliation.
    const report = (await staff('GET', `/v1/staff/sites/${p.site}/reports/${D}`)).body;
    expect(report.reconciliation).toMatchObject({
      state: 'done',
      ranAt: res.body.ranAt,
      providers: [
        { provider: 'wechat', state: 'matched', transactions: 3, amountFen: 32000, refunds: 1, refundedFen: 8000, matched: 4, matchedFen: 24000, mismatches: 0 },
        { provider: 'alipay', state: 'matched', transactions: 2, amountFen: 16000, matched: 2, mismatches: 0 },
      ],
      mismatches: [],
      channels: [{ channel: 'partner', kind: 'partner', orders: 1, amountFen: 8000, refundedFen: 0 }],
    });
    const csv = (await staff('GET', `/v1/staff/sites/${p.site}/reports/${D}?format=csv`)).text;
    expect(csv).toContain('reconciliation_state,reconciliation_ran_at\r\ndone,');
    expect(csv).toContain('wechat,matched,3,320.00,1,80.00,4,240.00,0\r\n');
    expect(csv).toContain('partner,partner,1,80.00,0.00\r\n');
    const en = (await staff('GET', `/v1/staff/sites/${p.site}/reports/${D}?format=html&lang=en`)).text;
    expect(en).toContain('<h2>Payment reconciliation</h2>');
    expect(en).toContain('<h2>Cash and partner channels</h2>');
    expect(en).toContain('No mismatches');
    const zh = (await staff('GET', `/v1/staff/sites/${p.site}/reports/${D}?format=html&lang=zh-CN`)).text;
    expect(zh).toContain('<h2>支付对账</h2>');
    expect(zh).toContain('合作渠道收款');
  });

  it('every kind of mismatch is found, listed in the report and alerted once; a bill with unknown and duplicate lines is read, not crashed on', async () => {
    expect(paid.w1).toBeDefined();
    expect(
      (
        await edits('wechat', {
          extra: [{ outTradeNo: 'SHOP-0001', amountFen: 1234 }],
          omit: [paid.w3!.outTradeNo, `${paid.w2!.orderId}R`],
          amounts: { [paid.w1!.outTradeNo]: 16001 },
          garbage: ['this is not a bill line', '`2026-01-01 00:00:00,`broken'],
          declaredCount: 99,
        })
      ).status,
    ).toBe(200);
    await edits('alipay', { duplicate: [paid.a1!.outTradeNo], extra: [{ outTradeNo: paid.a2!.outTradeNo, amountFen: 100, at: '13:00:00', refund: { outRefundNo: 'NOT-OURS-1' } }] });

    const res = await reconcile();
    expect(res.body.state).toBe('done');
    expect(res.body.mismatchCounts).toEqual({
      money_without_ticket: 1,
      ticket_without_money: 1,
      amount_differs: 1,
      refund_missing_in_bill: 1,
      refund_not_ours: 1,
      duplicate_bill_line: 1,
      unreadable_bill_line: 2,
      bill_count_differs: 1,
    });
    const all = (res.body.providers as Json[]).flatMap((x) => x.mismatches as Json[]);
    const of = (kind: string) => all.find((m) => m.kind === kind)!;
    expect(of('money_without_ticket')).toMatchObject({ provider: 'wechat', outTradeNo: 'SHOP-0001', billFen: 1234 });
    expect(of('ticket_without_money')).toMatchObject({ provider: 'wechat', outTradeNo: paid.w3!.outTradeNo, orderId: paid.w3!.orderId, ourFen: 8000 });
    expect(of('amount_differs')).toMatchObject({ provider: 'wechat', outTradeNo: paid.w1!.outTradeNo, orderId: paid.w1!.orderId, billFen: 16001, ourFen: 16000 });
    expect(of('refund_missing_in_bill')).toMatchObject({ provider: 'wechat', outRefundNo: `${paid.w2!.orderId}R`, ourFen: 8000 });
    expect(of('refund_not_ours')).toMatchObject({ provider: 'alipay', outRefundNo: 'NOT-OURS-1', orderId: paid.a2!.orderId });
    expect(of('duplicate_bill_line')).toMatchObject({ provider: 'alipay', outTradeNo: paid.a1!.outTradeNo });
    expect(all.filter((m) => m.kind === 'unreadable_bill_line').map((m) => m.lineNo)).toEqual([3, 4]);
    // The duplicate is counted once.
    expect(provider(res.body, 'alipay').bill.payments).toEqual({ count: 2, amountFen: 16000 });

    // One alert, with counts and no personal data.
    const alerts = reconAlerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.kind).toBe('payment_problem');
    expect(alerts[0]!.message.en).toContain(`Payment reconciliation of ${D}: 9 mismatches (WeChat Pay 7, Alipay 2)`);
    expect(alerts[0]!.message.zh).toContain('有款无票 1');
    expect(alerts[0]!.message.zh).toContain('有票无款 1');

    // Running it again replaces the result and alerts nothing new.
    const again = await reconcile();
    expect(again.body.mismatchCounts).toEqual(res.body.mismatchCounts);
    expect(reconAlerts()).toHaveLength(1);
    const stored = await p.bridge.store.db.selectFrom('payment_reconciliations').selectAll().where('site', '=', p.site).execute();
    expect(stored).toHaveLength(1);

    const report = (await staff('GET', `/v1/staff/sites/${p.site}/reports/${D}`)).body;
    expect(report.reconciliation.providers.map((x: Json) => [x.provider, x.mismatches])).toEqual([
      ['wechat', 7],
      ['alipay', 2],
    ]);
    expect((report.reconciliation.mismatches as Json[]).map((m) => m.kind).sort()).toEqual(all.map((m) => m.kind).sort());
    const html = (await staff('GET', `/v1/staff/sites/${p.site}/reports/${D}?format=html&lang=zh-CN`)).text;
    for (const label of ['有款无票', '有票无款', '金额不符', '退款未入账单', '非本系统退款', '账单重复行', '账单无法识别的行', '账单笔数不符']) expect(html).toContain(label);

    // The bills as the providers really wrote them: clean again, and nothing more to alert.
    await p.control('DELETE', `/sim/bills/wechat/${D}/edits`);
    await p.control('DELETE', `/sim/bills/alipay/${D}/edits`);
    const clean = await reconcile();
    expect(clean.body).toMatchObject({ state: 'done', mismatchCounts: {} });
    expect(reconAlerts()).toHaveLength(1);
  });

  it('a provider that answers 5xx or hangs, or a bill not made yet: the day is retried and says why; after the last try it fails and is alerted', async () => {
    expect(paid.a1).toBeDefined();
    await p.control('POST', '/sim/faults', { kind: '5xx', provider: 'wechat', match: '/v3/bill', count: 1 });
    await p.control('POST', '/sim/faults', { kind: 'timeout', provider: 'alipay', match: 'bill', count: 1, hangMs: 4000 });
    const first = await reconcile();
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ state: 'retrying', attempts: 1 });
    expect(Date.parse(first.body.nextAt as string)).toBeGreaterThan(Date.parse(first.body.ranAt as string));
    expect(provider(first.body, 'wechat')).toMatchObject({ state: 'unavailable', reason: 'provider_error', error: 'payment_unavailable' });
    expect(provider(first.body, 'alipay')).toMatchObject({ state: 'unavailable', reason: 'provider_error', error: 'payment_timeout' });
    expect((await staff('GET', `/v1/staff/sites/${p.site}/reports/${D}`)).body.reconciliation).toMatchObject({ state: 'retrying', nextAt: first.body.nextAt });
    expect(reconAlerts()).toHaveLength(1); // nothing new while retrying
    // The provider is back: matched at the second attempt.
    expect((await reconcile()).body).toMatchObject({ state: 'done', attempts: 2, mismatchCounts: {} });

    // Bills not made yet: WeChat Pay says so; Alipay says "no bill" though we took money with it.
    await edits('wechat', { notReady: true });
    await edits('alipay', { notReady: true });
    const waiting = await reconcile();
    expect(waiting.body).toMatchObject({ state: 'retrying', attempts: 1 });
    expect(provider(waiting.body, 'wechat')).toMatchObject({ state: 'unavailable', reason: 'bill_not_ready' });
    expect(provider(waiting.body, 'alipay')).toMatchObject({ state: 'unavailable', reason: 'bill_empty' });
    expect((await reconcile()).body).toMatchObject({ state: 'retrying', attempts: 2 });
    const failed = await reconcile();
    expect(failed.body).toMatchObject({ state: 'failed', attempts: 3 });
    expect(provider(failed.body, 'wechat').mismatches).toMatchObject([{ kind: 'bill_unavailable' }]);
    // An empty Alipay bill taken at its word after the last try: our two payments are not in it.
    expect((provider(failed.body, 'alipay').mismatches as Json[]).map((m) => [m.kind, m.outTradeNo]).sort()).toEqual(
      [
        ['ticket_without_money', paid.a1!.outTradeNo],
        ['ticket_without_money', paid.a2!.outTradeNo],
      ].sort(),
    );
    expect(reconAlerts()).toHaveLength(2);
    expect(reconAlerts()[1]!.message.en).toContain('bill not downloadable 1');

    await p.control('DELETE', `/sim/bills/wechat/${D}/edits`);
    await p.control('DELETE', `/sim/bills/alipay/${D}/edits`);
    expect((await reconcile()).body).toMatchObject({ state: 'done', attempts: 1, mismatchCounts: {} });
  });
});
