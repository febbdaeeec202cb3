/**
 * The reconciliation matcher (modules/payments/reconcile.ts) on vectors: one provider's bill
 * of 2027-03-10 (Beijing) against our attempts and refunds. Times in the bill are Beijing
 * time; ours are ISO UTC (Beijing − 8 h).
 */
import { describe, expect, it } from 'vitest';
import type { Bill, BillLine } from '../../src/modules/payments/bill.js';
import { beijingDay, matchBill, type AttemptFact, type MatchInput, type RefundFact } from '../../src/modules/payments/reconcile.js';

const DATE = '2027-03-10';
const MIN = 60_000;

let lineNo = 1;
const pay = (outTradeNo: string, amountFen: number, at = '2027-03-10 10:00:00', transactionId = `T-${outTradeNo}`): BillLine => ({ kind: 'payment', outTradeNo, transactionId, amountFen, status: 'SUCCESS', at, lineNo: ++lineNo });
const refund = (outTradeNo: string, outRefundNo: string, amountFen: number, at = '2027-03-10 15:00:00'): BillLine => ({ kind: 'refund', outTradeNo, transactionId: `T-${outTradeNo}`, amountFen, outRefundNo, status: 'SUCCESS', at, lineNo: ++lineNo });
const bill = (lines: BillLine[], extra: Partial<Bill> = {}): Bill => ({ provider: 'wechat', date: DATE, lines, rejected: [], empty: lines.length === 0, ...extra });

/** A ticketed payment of ours, paid at a Beijing time of DATE. */
const attempt = (outTradeNo: string, amountFen: number, beijing = '10:00:00', over: Partial<AttemptFact> = {}): AttemptFact => ({
  site: 'park1',
  outTradeNo,
  orderId: `O-${outTradeNo}`,
  state: 'paid',
  amountFen,
  paidFen: amountFen,
  paidAt: new Date(`${DATE}T${beijing}+08:00`).toISOString(),
  transactionId: `T-${outTradeNo}`,
  outcome: 'ticketed',
  ...over,
});
const ourRefund = (outTradeNo: string, outRefundNo: string, amountFen: number, beijing = '15:00:00', over: Partial<RefundFact> = {}): RefundFact => ({
  site: 'park1',
  outRefundNo,
  outTradeNo,
  orderId: `O-${outTradeNo}`,
  amountFen,
  state: 'succeeded',
  createdAt: new Date(`${DATE}T${beijing}+08:00`).toISOString(),
  ...over,
});

const input = (b: Bill, attempts: AttemptFact[], refunds: RefundFact[] = [], over: Partial<MatchInput> = {}): MatchInput => ({ site: 'park1', provider: 'wechat', date: DATE, bill: b, attempts, refunds, boundaryMs: 10 * MIN, ...over });
const kinds = (r: ReturnType<typeof matchBill>) => r.mismatches.map((m) => [m.kind, m.outTradeNo ?? m.lineNo]);

describe('reconciliation matcher', () => {
  it('Beijing day: 2027-03-10 runs from 2027-03-09T16:00Z for 24 h', () => {
    const d = beijingDay(DATE);
    expect(new Date(d.start).toISOString()).toBe('2027-03-09T16:00:00.000Z');
    expect(d.end - d.start).toBe(86_400_000);
  });

  it('a clean day: every line matched, every payment and refund of ours in the bill', () => {
    const r = matchBill(input(bill([pay('A', 8000), pay('B', 18000), refund('A', 'AR1', 8000)]), [attempt('A', 8000), attempt('B', 18000)], [ourRefund('A', 'AR1', 8000)]));
    expect(r.mismatches).toEqual([]);
    expect(r.bill).toMatchObject({ payments: { count: 2, amountFen: 26000 }, refunds: { count: 1, amountFen: 8000 } });
    expect(r.matched).toEqual({ payments: { count: 2, amountFen: 26000 }, refunds: { count: 1, amountFen: 8000 } });
    expect(r.ours).toEqual({ payments: { count: 2, amountFen: 26000 }, refunds: { count: 1, amountFen: 8000 } });
    expect(r.needs).toEqual({ before: false, after: false });
  });

  it('money without a ticket: a trade not ours, a trade we closed, a payment never settled, an auto-refund that failed', () => {
    const r = matchBill(
      input(bill([pay('SHOP1', 500), pay('C', 8000), pay('U', 8000), pay('L1', 8000), pay('L2', 8000)]), [
        attempt('C', 8000, '10:00:00', { state: 'closed', paidFen: null, transactionId: null, outcome: null }),
        attempt('U', 8000, '10:00:00', { outcome: null }),
        attempt('L1', 8000, '10:00:00', { outcome: 'late_payment' }),
        attempt('L2', 8000, '10:00:00', { outcome: 'late_payment' }),
      ], [ourRefund('L1', 'L1R', 8000, '10:01:00', { state: 'processing' }), ourRefund('L2', 'L2R', 8000, '10:01:00', { state: 'failed' })]),
    );
    // L1's refund is recorded (processing): its money is accounted for.
    expect(kinds(r)).toEqual([
      ['money_without_ticket', 'SHOP1'],
      ['money_without_ticket', 'C'],
      ['money_without_ticket', 'U'],
      ['money_without_ticket', 'L2'],
    ]);
    expect(r.mismatches[0]).toMatchObject({ billFen: 500, transactionId: 'T-SHOP1' });
    expect(r.mismatches[0]!.orderId).toBeUndefined();
    expect(r.mismatches[1]).toMatchObject({ orderId: 'O-C', ourFen: 8000 });
    expect(r.matched.payments).toEqual({ count: 1, amountFen: 8000 });
  });

  it('a payment code the provider reversed the same day (payment and refund lines on a closed trade) matches', () => {
    const r = matchBill(input(bill([pay('K', 8000), refund('K', 'REVERSE-K', 8000)]), [attempt('K', 8000, '10:00:00', { state: 'closed', paidFen: null, transactionId: null, outcome: null })]));
    expect(r.mismatches).toEqual([]);
    expect(r.matched.refunds.count).toBe(1);
  });

  it('ticket without money: a payment we recorded that the bill does not list', () => {
    const r = matchBill(input(bill([pay('A', 8000)]), [attempt('A', 8000), attempt('B', 18000, '13:30:00')]));
    expect(kinds(r)).toEqual([['ticket_without_money', 'B']]);
    expect(r.mismatches[0]).toMatchObject({ orderId: 'O-B', ourFen: 18000, transactionId: 'T-B' });
    expect(r.ours.payments).toEqual({ count: 2, amountFen: 26000 });
  });

  it('amounts that differ: a payment and a refund', () => {
    const r = matchBill(input(bill([pay('A', 8001), refund('B', 'BR', 500)]), [attempt('A', 8000), attempt('B', 8000)], [ourRefund('B', 'BR', 800)]));
    expect(r.mismatches.map((m) => [m.kind, m.billFen, m.ourFen])).toEqual([
      ['amount_differs', 8001, 8000],
      ['amount_differs', 500, 800],
      // B's payment is not in the bill.
      ['ticket_without_money', undefined, 8000],
    ]);
    expect(kinds(matchBill(input(bill([pay('A', 8000)]), [attempt('A', 8000)], [ourRefund('A', 'AR', 800)])))).toEqual([['refund_missing_in_bill', 'A']]);
  });

  it('refunds: one we did not send, one confirmed to us but missing, one still processing that the bill lists', () => {
    const r = matchBill(
      input(bill([pay('A', 8000), refund('A', 'NOT-OURS', 100), refund('X', 'XR', 100), refund('A', 'AR2', 200)]), [attempt('A', 8000)], [ourRefund('A', 'AR1', 300), ourRefund('A', 'AR2', 200, '16:00:00', { state: 'processing' })]),
    );
    expect(r.mismatches.map((m) => [m.kind, m.outRefundNo])).toEqual([
      ['refund_not_ours', 'NOT-OURS'],
      ['refund_not_ours', 'XR'],
      ['refund_missing_in_bill', 'AR1'],
    ]);
    expect(r.matched.refunds).toEqual({ count: 1, amountFen: 200 });
    // Only refunds the provider confirmed count as ours.
    expect(r.ours.refunds).toEqual({ count: 1, amountFen: 300 });
  });

  it('a duplicate line is listed and counted once; unreadable, unknown and miscounted lines are listed', () => {
    const a = pay('A', 8000);
    const other: BillLine = { ...pay('Z', 100), kind: 'other', status: 'REVOKED' };
    const r = matchBill(
      input(bill([a, { ...a, lineNo: 99 }, other], { rejected: [{ lineNo: 7, raw: '`2027-03-10 …,`oUpF8…', reason: 'order amount unreadable' }], declaredCount: 5, countMatches: false }), [attempt('A', 8000)]),
    );
    expect(r.mismatches.map((m) => [m.kind, m.lineNo])).toEqual([
      ['unreadable_bill_line', 7],
      ['bill_count_differs', undefined],
      ['duplicate_bill_line', 99],
      ['unknown_bill_line', other.lineNo],
    ]);
    expect(r.bill.payments).toEqual({ count: 1, amountFen: 8000 });
    expect(r.matched.payments).toEqual({ count: 1, amountFen: 8000 });
    // The raw text of a line (it may hold a payer's openid) is never carried.
    expect(JSON.stringify(r)).not.toContain('oUpF8');
  });

  it("another site's trade under a shared merchant account is left to that site", () => {
    const r = matchBill(input(bill([pay('A', 8000), pay('S2', 500)]), [attempt('A', 8000), attempt('S2', 500, '10:00:00', { site: 'park2' })]));
    expect(r.mismatches).toEqual([]);
    expect(r.matched.payments.count).toBe(1);
  });

  describe('midnight', () => {
    const late = attempt('LATE', 8000, '23:59:59');
    it('paid at 23:59:59 and not in this bill: the next bill decides; not out yet → deferred, not a mismatch', () => {
      const first = matchBill(input(bill([]), [late]));
      expect(first.needs).toEqual({ before: false, after: true });
      const r = matchBill(input(bill([]), [late], [], { after: null }));
      expect(r.mismatches).toEqual([]);
      expect(r.deferred).toEqual([{ provider: 'wechat', kind: 'payment', outTradeNo: 'LATE', orderId: 'O-LATE', amountFen: 8000, at: late.paidAt }]);
    });

    it('… in the next bill: settled there; missing from a published next bill: ticket without money', () => {
      expect(matchBill(input(bill([]), [late], [], { after: { ...bill([pay('LATE', 8000, '2027-03-11 00:00:02')]), date: '2027-03-11' } })).mismatches).toEqual([]);
      expect(kinds(matchBill(input(bill([]), [late], [], { after: { ...bill([pay('OTHER', 1)]), date: '2027-03-11' } })))).toEqual([['ticket_without_money', 'LATE']]);
    });

    it("the day after: a payment deferred from 23:59:59 is this day's to settle, and one in the previous bill is not counted again", () => {
      const next = '2027-03-11';
      const nextInput = (b: Bill, before: Bill | null) => ({ ...input(b, [late, attempt('EARLY', 500, '23:58:00')], [], { before }), date: next });
      const prevBill = { ...bill([pay('EARLY', 500, '2027-03-10 23:58:00')]), date: DATE };
      // LATE is in neither bill: now it is a mismatch; EARLY was matched on the 10th.
      expect(kinds(matchBill(nextInput({ ...bill([]), date: next }, prevBill)))).toEqual([['ticket_without_money', 'LATE']]);
      expect(matchBill(nextInput({ ...bill([pay('LATE', 8000, '2027-03-11 00:00:02')]), date: next }, prevBill)).mismatches).toEqual([]);
      // Our records of the 10th are not the 11th's.
      expect(matchBill(nextInput({ ...bill([]), date: next }, prevBill)).ours.payments.count).toBe(0);
    });

    it('paid at 00:00:05 and listed in the previous bill (the provider dated it before midnight): no mismatch', () => {
      const early = attempt('E', 8000, '00:00:05');
      expect(matchBill(input(bill([]), [early])).needs.before).toBe(true);
      expect(matchBill(input(bill([]), [early], [], { before: { ...bill([pay('E', 8000, '2027-03-09 23:59:59')]), date: '2027-03-09' } })).mismatches).toEqual([]);
      expect(kinds(matchBill(input(bill([]), [early], [], { before: null })))).toEqual([['ticket_without_money', 'E']]);
    });

    it('a bill line is matched against our records of any day (its date is the provider’s)', () => {
      const r = matchBill(input(bill([pay('OLD', 8000, '2027-03-10 00:00:01')]), [attempt('OLD', 8000, '10:00:00', { paidAt: '2027-03-09T15:59:58.000Z' })]));
      expect(r.mismatches).toEqual([]);
      expect(r.matched.payments.count).toBe(1);
    });
  });
});
