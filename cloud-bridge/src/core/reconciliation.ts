/**
 * The daily reconciliation of provider payments as other modules see it (the payments module
 * makes it, the daily report shows it): per provider, the bill's totals, what matched our
 * records, and each mismatch. Amounts are integer fen. No personal data: order numbers,
 * provider transaction ids and bill line numbers only (a bill's raw text, which may hold a
 * payer's openid or masked account, is never kept).
 */

export type ReconcileProvider = 'wechat' | 'alipay';

/**
 * What can disagree between a provider's bill and our records:
 *
 * - `money_without_ticket`: the provider took money (a payment line) and we have no paid order
 *   for it (no such trade of ours, a trade we closed, or an unsettled payment) and no recorded refund;
 * - `ticket_without_money`: we recorded a payment (an order paid through the provider) that
 *   is not in the bill;
 * - `amount_differs`: the line and our record name different amounts;
 * - `refund_missing_in_bill`: a refund the provider confirmed to us is not in the bill;
 * - `refund_not_ours`: a refund in the bill that we did not send (and that is not the
 *   provider's own reversal of one of our payment-code trades);
 * - `duplicate_bill_line`: the same payment or refund listed twice (counted once);
 * - `unreadable_bill_line`: a line the parser could not read (its line number and why);
 * - `unknown_bill_line`: a readable line of a kind we do not reconcile (not a payment or refund);
 * - `bill_count_differs`: the bill's own summary count disagrees with its lines;
 * - `bill_unavailable`: the bill could not be downloaded after every retry.
 */
export type MismatchKind =
  | 'money_without_ticket'
  | 'ticket_without_money'
  | 'amount_differs'
  | 'refund_missing_in_bill'
  | 'refund_not_ours'
  | 'duplicate_bill_line'
  | 'unreadable_bill_line'
  | 'unknown_bill_line'
  | 'bill_count_differs'
  | 'bill_unavailable';

export const MISMATCH_KINDS: readonly MismatchKind[] = [
  'money_without_ticket',
  'ticket_without_money',
  'amount_differs',
  'refund_missing_in_bill',
  'refund_not_ours',
  'duplicate_bill_line',
  'unreadable_bill_line',
  'unknown_bill_line',
  'bill_count_differs',
  'bill_unavailable',
];

export interface Mismatch {
  kind: MismatchKind;
  provider: ReconcileProvider;
  /** Our order number at the provider (out_trade_no). */
  outTradeNo?: string;
  outRefundNo?: string;
  transactionId?: string;
  /** Our order, when the trade is ours. */
  orderId?: string;
  /** What the bill says / what we recorded. */
  billFen?: number;
  ourFen?: number;
  /** 1-based line of the bill file. */
  lineNo?: number;
  /** The bill's time (Beijing) or our record's time (ISO). */
  at?: string;
  /** A short English explanation for staff and logs. */
  detail: string;
}

/** One of our records near midnight that is not in this day's bill and waits for the next day's. */
export interface DeferredItem {
  provider: ReconcileProvider;
  kind: 'payment' | 'refund';
  outTradeNo: string;
  outRefundNo?: string;
  orderId: string;
  amountFen: number;
  at: string;
}

export interface MoneyCount {
  count: number;
  amountFen: number;
}

export interface ProviderReconciliation {
  provider: ReconcileProvider;
  /** `matched`: the bill was read and matched; `unavailable`: not downloaded (yet), see `reason`. */
  state: 'matched' | 'unavailable';
  /** Why unavailable: the provider has not made the bill yet, answered with an error, or listed nothing while we recorded money. */
  reason?: 'bill_not_ready' | 'provider_error' | 'bill_empty';
  /** The provider's error code when it failed (payment_timeout, payment_unavailable…). */
  error?: string;
  bill: { payments: MoneyCount; refunds: MoneyCount; lines: number; rejected: number; declaredCount?: number; empty: boolean };
  matched: { payments: MoneyCount; refunds: MoneyCount };
  /** Our records of the day: payments the provider verifiably reported, refunds it confirmed. */
  ours: { payments: MoneyCount; refunds: MoneyCount };
  mismatches: Mismatch[];
  deferred: DeferredItem[];
}

export interface ReconciliationResult {
  v: 1;
  site: string;
  /** The bill date (YYYY-MM-DD, Beijing time, as the providers date their bills). */
  date: string;
  /** `done`: every provider's bill was matched; `retrying`: a bill is not there yet (`nextAt`); `failed`: retries used up. */
  state: 'done' | 'retrying' | 'failed';
  ranAt: string;
  attempts: number;
  nextAt?: string;
  providers: ProviderReconciliation[];
  /** Mismatches of all providers, by kind. */
  mismatchCounts: Partial<Record<MismatchKind, number>>;
}

/** Each kind in staff's words, both languages (alerts, the daily report). */
export const MISMATCH_LABELS: Record<MismatchKind, { 'zh-CN': string; en: string }> = {
  money_without_ticket: { 'zh-CN': '有款无票', en: 'money without a ticket' },
  ticket_without_money: { 'zh-CN': '有票无款', en: 'ticket without money' },
  amount_differs: { 'zh-CN': '金额不符', en: 'amount differs' },
  refund_missing_in_bill: { 'zh-CN': '退款未入账单', en: 'refund missing in the bill' },
  refund_not_ours: { 'zh-CN': '非本系统退款', en: 'refund we did not send' },
  duplicate_bill_line: { 'zh-CN': '账单重复行', en: 'duplicate bill line' },
  unreadable_bill_line: { 'zh-CN': '账单无法识别的行', en: 'unreadable bill line' },
  unknown_bill_line: { 'zh-CN': '账单未知类型的行', en: 'bill line of an unknown kind' },
  bill_count_differs: { 'zh-CN': '账单笔数不符', en: 'bill count differs' },
  bill_unavailable: { 'zh-CN': '账单无法下载', en: 'bill not downloadable' },
};

export const PROVIDER_LABELS: Record<ReconcileProvider, { 'zh-CN': string; en: string }> = {
  wechat: { 'zh-CN': '微信支付', en: 'WeChat Pay' },
  alipay: { 'zh-CN': '支付宝', en: 'Alipay' },
};
