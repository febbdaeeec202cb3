/**
 * The daily reconciliation's matcher: one provider's bill of one day against our records of
 * the money (payment attempts and refunds). Pure: the service (reconciliation.ts) fetches the
 * bill and the rows and keeps the result.
 *
 * Each bill line is looked up by our own numbers (out_trade_no, out_refund_no) among all our
 * records, whatever their date, so a line is never a mismatch only because our clock and the
 * provider's put it on different sides of midnight. Our side is the day's records: payments
 * by the provider's payment time (paid_at is the provider's success_time / gmt_payment), refunds by
 * when we recorded and sent them (created_at). One of those within `boundaryMs` of midnight
 * and missing from this bill is looked for in the neighbouring day's bill: found there, it is
 * that day's match; the next day's bill not out yet, it is deferred (listed, not alerted) and
 * the next day's reconciliation, whose window starts `boundaryMs` before its midnight, takes it.
 */
import type { DeferredItem, Mismatch, MoneyCount, ProviderReconciliation, ReconcileProvider } from '../../core/reconciliation.js';
import type { Bill, BillLine } from './bill.js';

/** A payment attempt as the matcher needs it (payments table). */
export interface AttemptFact {
  site: string;
  outTradeNo: string;
  orderId: string;
  state: string;
  amountFen: number;
  paidFen: number | null;
  /** ISO; the provider's payment time when it gave one. */
  paidAt: string | null;
  transactionId: string | null;
  outcome: string | null;
}

/** A refund of ours (payment_refunds table). */
export interface RefundFact {
  site: string;
  outRefundNo: string;
  outTradeNo: string;
  orderId: string;
  amountFen: number;
  state: string;
  createdAt: string;
}

export interface MatchInput {
  site: string;
  provider: ReconcileProvider;
  /** YYYY-MM-DD, Beijing. */
  date: string;
  bill: Bill;
  /** Every attempt named by a bill line (any site: sites may share a merchant) and the site's paid attempts of the window. */
  attempts: readonly AttemptFact[];
  /** Every refund named by a bill line or of a trade in it, and the site's refunds recorded in the window. */
  refunds: readonly RefundFact[];
  boundaryMs: number;
  /** The day before's bill: undefined = not fetched (the result says whether it is needed), null = could not be had. */
  before?: Bill | null;
  /** The day after's bill: undefined = not fetched, null = not out yet. */
  after?: Bill | null;
}

export interface MatchResult extends ProviderReconciliation {
  /** Records near a midnight that only the neighbouring bill can settle: fetch it and match again. */
  needs: { before: boolean; after: boolean };
}

const DAY_MS = 86_400_000;
const REFUND_CAUSES = new Set(['late_payment', 'duplicate', 'amount_mismatch']);

/** The UTC instants of a Beijing date's midnight and the next one (China has no DST). */
export function beijingDay(date: string): { start: number; end: number } {
  const start = Date.parse(`${date}T00:00:00+08:00`);
  return { start, end: start + DAY_MS };
}

const add = (m: MoneyCount, fen: number): void => {
  m.count++;
  m.amountFen += fen;
};
const zero = (): MoneyCount => ({ count: 0, amountFen: 0 });

function lineKey(l: BillLine): string {
  return l.kind === 'payment' ? `p\0${l.outTradeNo}\0${l.transactionId}` : l.kind === 'refund' ? `r\0${l.outRefundNo ?? l.refundId ?? `${l.transactionId}\0${l.at}\0${l.amountFen}`}` : `o\0${l.lineNo}`;
}

export function matchBill(input: MatchInput): MatchResult {
  const { site, provider, bill, boundaryMs } = input;
  const { start, end } = beijingDay(input.date);
  const mismatches: Mismatch[] = [];
  const deferred: DeferredItem[] = [];
  const miss = (m: Omit<Mismatch, 'provider'>): void => void mismatches.push({ provider, ...m });
  const attempts = new Map(input.attempts.map((a) => [a.outTradeNo, a]));
  const refunds = new Map(input.refunds.map((r) => [r.outRefundNo, r]));
  const refundsOfTrade = new Map<string, RefundFact[]>();
  for (const r of input.refunds) refundsOfTrade.set(r.outTradeNo, [...(refundsOfTrade.get(r.outTradeNo) ?? []), r]);
  const billOut = { payments: zero(), refunds: zero() };
  const matched = { payments: zero(), refunds: zero() };

  for (const r of bill.rejected) miss({ kind: 'unreadable_bill_line', lineNo: r.lineNo, detail: `line ${r.lineNo} unreadable: ${r.reason}` });
  if (bill.countMatches === false) miss({ kind: 'bill_count_differs', detail: `the bill declares ${bill.declaredCount} rows; ${bill.lines.length} read and ${bill.rejected.length} unreadable` });

  // Lines once each; a repeated payment or refund is listed, not counted twice.
  const seen = new Set<string>();
  const lines: BillLine[] = [];
  const refundedInBill = new Map<string, number>();
  for (const l of bill.lines) {
    if (l.kind === 'other') {
      miss({ kind: 'unknown_bill_line', outTradeNo: l.outTradeNo, transactionId: l.transactionId, billFen: l.amountFen, lineNo: l.lineNo, at: l.at, detail: `line ${l.lineNo} has status ${l.status}, neither a payment nor a refund` });
      continue;
    }
    const key = lineKey(l);
    if (seen.has(key)) {
      miss({ kind: 'duplicate_bill_line', outTradeNo: l.outTradeNo, ...(l.outRefundNo ? { outRefundNo: l.outRefundNo } : {}), transactionId: l.transactionId, billFen: l.amountFen, lineNo: l.lineNo, at: l.at, detail: `line ${l.lineNo} repeats an earlier ${l.kind}: counted once` });
      continue;
    }
    seen.add(key);
    lines.push(l);
    if (l.kind === 'payment') add(billOut.payments, l.amountFen);
    else {
      add(billOut.refunds, l.amountFen);
      refundedInBill.set(l.outTradeNo, (refundedInBill.get(l.outTradeNo) ?? 0) + l.amountFen);
    }
  }

  for (const l of lines) {
    const a = attempts.get(l.outTradeNo);
    // Another site's trade under a shared merchant account: reconciled with that site.
    if (a && a.site !== site) continue;
    const ref = { outTradeNo: l.outTradeNo, transactionId: l.transactionId, billFen: l.amountFen, lineNo: l.lineNo, at: l.at };
    if (l.kind === 'payment') {
      const why = paymentProblem(l, a, refundsOfTrade.get(l.outTradeNo) ?? [], refundedInBill.get(l.outTradeNo) ?? 0);
      if (why === undefined) add(matched.payments, l.amountFen);
      else miss({ ...ref, ...(a ? { orderId: a.orderId, ourFen: a.paidFen ?? a.amountFen } : {}), ...why });
      continue;
    }
    const r = l.outRefundNo !== undefined ? refunds.get(l.outRefundNo) : undefined;
    if (r && r.site !== site) continue;
    if (r) {
      if (r.amountFen === l.amountFen) add(matched.refunds, l.amountFen);
      else miss({ ...ref, kind: 'amount_differs', outRefundNo: r.outRefundNo, orderId: r.orderId, ourFen: r.amountFen, detail: `refund ${r.outRefundNo}: the bill says ${l.amountFen} fen, we sent ${r.amountFen}` });
    } else if (a && a.state !== 'paid') {
      // The provider's own reversal of a trade we closed (a payment code reversed after the money was taken).
      add(matched.refunds, l.amountFen);
    } else {
      miss({ ...ref, kind: 'refund_not_ours', ...(l.outRefundNo ? { outRefundNo: l.outRefundNo } : {}), ...(a ? { orderId: a.orderId } : {}), detail: a ? `a refund of our trade that we did not send (${l.outRefundNo ?? 'no refund number'})` : 'a refund of a trade that is not ours' });
    }
  }

  // Our side: the day's money, each in the bill (or a neighbouring day's).
  const billPayments = new Set(lines.filter((l) => l.kind === 'payment').map((l) => l.outTradeNo));
  const billRefunds = new Set(lines.filter((l) => l.kind === 'refund' && l.outRefundNo !== undefined).map((l) => l.outRefundNo!));
  const has = (b: Bill, kind: 'payment' | 'refund', no: string): boolean => b.lines.some((l) => l.kind === kind && (kind === 'payment' ? l.outTradeNo === no : l.outRefundNo === no));
  const needs = { before: false, after: false };
  const ours = { payments: zero(), refunds: zero() };
  /** 'match' (settled elsewhere or here), 'miss', or 'defer'. */
  const place = (t: number, kind: 'payment' | 'refund', no: string): 'match' | 'miss' | 'defer' => {
    if (t < start + boundaryMs) {
      if (input.before === undefined) needs.before = true;
      return input.before && has(input.before, kind, no) ? 'match' : 'miss';
    }
    if (t >= end - boundaryMs) {
      if (input.after === undefined) needs.after = true;
      if (!input.after || input.after.empty) return 'defer';
      return has(input.after, kind, no) ? 'match' : 'miss';
    }
    return 'miss';
  };
  for (const a of input.attempts) {
    if (a.site !== site || a.state !== 'paid' || a.paidAt === null) continue;
    const t = Date.parse(a.paidAt);
    if (!(t >= start - boundaryMs && t < end)) continue;
    const fen = a.paidFen ?? a.amountFen;
    if (t >= start) add(ours.payments, fen);
    if (billPayments.has(a.outTradeNo)) continue;
    const p = place(t, 'payment', a.outTradeNo);
    if (p === 'defer') deferred.push({ provider, kind: 'payment', outTradeNo: a.outTradeNo, orderId: a.orderId, amountFen: fen, at: a.paidAt });
    else if (p === 'miss') miss({ kind: 'ticket_without_money', outTradeNo: a.outTradeNo, ...(a.transactionId ? { transactionId: a.transactionId } : {}), orderId: a.orderId, ourFen: fen, at: a.paidAt, detail: `we recorded this payment (${a.outcome ?? 'unsettled'}) but the bill does not list it` });
  }
  for (const r of input.refunds) {
    if (r.site !== site || r.state !== 'succeeded') continue;
    const t = Date.parse(r.createdAt);
    if (!(t >= start - boundaryMs && t < end)) continue;
    if (t >= start) add(ours.refunds, r.amountFen);
    if (billRefunds.has(r.outRefundNo)) continue;
    const p = place(t, 'refund', r.outRefundNo);
    if (p === 'defer') deferred.push({ provider, kind: 'refund', outTradeNo: r.outTradeNo, outRefundNo: r.outRefundNo, orderId: r.orderId, amountFen: r.amountFen, at: r.createdAt });
    else if (p === 'miss') miss({ kind: 'refund_missing_in_bill', outTradeNo: r.outTradeNo, outRefundNo: r.outRefundNo, orderId: r.orderId, ourFen: r.amountFen, at: r.createdAt, detail: 'the provider confirmed this refund to us but the bill does not list it' });
  }

  return {
    provider,
    state: 'matched',
    bill: { payments: billOut.payments, refunds: billOut.refunds, lines: bill.lines.length, rejected: bill.rejected.length, ...(bill.declaredCount !== undefined ? { declaredCount: bill.declaredCount } : {}), empty: bill.empty },
    matched,
    ours,
    mismatches,
    deferred,
    needs,
  };
}

/** Why a payment line is not matched, or undefined when the money bought a ticket or has a recorded refund. */
function paymentProblem(l: BillLine, a: AttemptFact | undefined, refunds: readonly RefundFact[], refundedInBill: number): Pick<Mismatch, 'kind' | 'detail'> | undefined {
  if (!a) return { kind: 'money_without_ticket', detail: 'the provider took money for a trade that is not ours' };
  if (a.state !== 'paid') {
    // Taken and given back the same day (a reversed payment code), or refunded by us.
    if (refundedInBill >= l.amountFen || refunds.some((r) => r.state !== 'failed')) return undefined;
    return { kind: 'money_without_ticket', detail: `the provider took money on a trade we hold as ${a.state}: no ticket, no refund` };
  }
  if (a.transactionId !== null && a.transactionId !== l.transactionId) return { kind: 'money_without_ticket', detail: `a second transaction on our trade (we recorded ${a.transactionId})` };
  const ours = a.paidFen ?? a.amountFen;
  if (ours !== l.amountFen) return { kind: 'amount_differs', detail: `the bill says ${l.amountFen} fen, the provider reported ${ours} to us` };
  if (a.outcome === 'ticketed') return undefined;
  if (a.outcome !== null && REFUND_CAUSES.has(a.outcome)) {
    if (refunds.some((r) => r.state !== 'failed')) return undefined;
    return { kind: 'money_without_ticket', detail: `the money bought no ticket (${a.outcome}) and its refund failed` };
  }
  return { kind: 'money_without_ticket', detail: 'paid but not settled: no ticket and no refund recorded' };
}
