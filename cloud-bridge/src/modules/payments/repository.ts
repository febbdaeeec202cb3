import type { Selectable } from 'kysely';
import type { CloudStore, Db } from '../../core/db/store.js';
import type { PaymentRefundsTable, PaymentsTable } from '../../core/db/schema.js';

export type PaymentRow = Selectable<PaymentsTable>;
export type RefundRow = Selectable<PaymentRefundsTable>;

export type AttemptState = 'pending' | 'paid' | 'closed' | 'failed';
export type Outcome = 'ticketed' | 'late_payment' | 'duplicate' | 'amount_mismatch';
export type RefundCause = 'visitor' | Exclude<Outcome, 'ticketed'>;
export type RefundRowState = 'pending' | 'processing' | 'succeeded' | 'failed';

/** Attempts that may still take money: not paid, not yet closed at the provider. */
const OPEN: AttemptState[] = ['pending', 'failed'];

/**
 * Every statement of the payments module: payment attempts (one out_trade_no each), the
 * provider notifications already handled, and refunds until the provider confirms them.
 * Each state change is a conditional UPDATE, so a notification and a query (or two
 * instances) racing over one attempt change it once.
 */
export class PaymentsRepository {
  constructor(private readonly store: CloudStore) {}

  private get db(): Db {
    return this.store.db;
  }

  // ---- attempts ----------------------------------------------------------------------------

  async insertAttempt(row: PaymentsTable): Promise<void> {
    await this.db.insertInto('payments').values(row).execute();
  }

  attempt(outTradeNo: string): Promise<PaymentRow | undefined> {
    return this.db.selectFrom('payments').selectAll().where('out_trade_no', '=', outTradeNo).executeTakeFirst();
  }

  /** The order's attempts, oldest first. */
  attempts(site: string, orderId: string): Promise<PaymentRow[]> {
    return this.db.selectFrom('payments').selectAll().where('site', '=', site).where('order_id', '=', orderId).orderBy('created_at').orderBy('out_trade_no').execute();
  }

  /** A pending QR or in-app attempt of the order with this provider and method that reached the provider (it is shown again). */
  reusable(site: string, orderId: string, provider: string, method: string): Promise<PaymentRow | undefined> {
    return this.db
      .selectFrom('payments')
      .selectAll()
      .where('site', '=', site)
      .where('order_id', '=', orderId)
      .where('provider', '=', provider)
      .where('method', '=', method)
      .where('state', '=', 'pending')
      .where('code_url', 'is not', null)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** The attempt that already took this payment code for the order (a retried scan). */
  byAuthCode(site: string, orderId: string, authCodeHash: string): Promise<PaymentRow | undefined> {
    return this.db.selectFrom('payments').selectAll().where('site', '=', site).where('order_id', '=', orderId).where('auth_code_hash', '=', authCodeHash).executeTakeFirst();
  }

  /** What the visitor is shown again on a repeated request (the QR text, or the in-app payload as JSON). */
  async setShown(outTradeNo: string, shown: string, now: string): Promise<void> {
    await this.db.updateTable('payments').set({ code_url: shown, updated_at: now }).where('out_trade_no', '=', outTradeNo).execute();
  }

  /**
   * The provider verifiably took the money: → paid. From pending, failed or closed (a payment
   * that arrives after we closed the trade is still money taken). False when it was paid already.
   */
  async markPaid(outTradeNo: string, p: { transactionId: string; amountFen: number; paidAt: string }, now: string, db: Db = this.db): Promise<boolean> {
    const r = await db
      .updateTable('payments')
      .set({ state: 'paid', transaction_id: p.transactionId, paid_fen: p.amountFen, paid_at: p.paidAt, updated_at: now })
      .where('out_trade_no', '=', outTradeNo)
      .where('state', '!=', 'paid')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** pending → failed (a refused payment code, a refused request), with the provider's word. */
  async markFailed(outTradeNo: string, failure: string, now: string): Promise<void> {
    await this.db.updateTable('payments').set({ state: 'failed', failure, updated_at: now }).where('out_trade_no', '=', outTradeNo).where('state', '=', 'pending').execute();
  }

  /** A problem worth showing (close refused, query failed) without changing the state. */
  async noteFailure(outTradeNo: string, failure: string, now: string): Promise<void> {
    await this.db.updateTable('payments').set({ failure, updated_at: now }).where('out_trade_no', '=', outTradeNo).execute();
  }

  /** Closed (or reversed) at the provider: it cannot take money any more. */
  async markClosed(outTradeNo: string, now: string): Promise<void> {
    await this.db.updateTable('payments').set({ state: 'closed', closed_at: now, updated_at: now }).where('out_trade_no', '=', outTradeNo).where('state', 'in', OPEN).execute();
  }

  /** Attempts not closed at the provider yet, created before `before` (at most `limit`), oldest first. */
  openAttempts(before: string, limit: number): Promise<PaymentRow[]> {
    return this.db.selectFrom('payments').selectAll().where('state', 'in', OPEN).where('created_at', '<', before).orderBy('created_at').limit(limit).execute();
  }

  /** Payment codes still pending (not paid, not refused, not reversed), created before `before`, oldest first. */
  pendingCodes(before: string, limit: number): Promise<PaymentRow[]> {
    return this.db.selectFrom('payments').selectAll().where('method', '=', 'code').where('state', '=', 'pending').where('created_at', '<', before).orderBy('created_at').limit(limit).execute();
  }

  /** The order's attempts not closed at the provider yet. */
  openAttemptsOf(site: string, orderId: string): Promise<PaymentRow[]> {
    return this.db.selectFrom('payments').selectAll().where('site', '=', site).where('order_id', '=', orderId).where('state', 'in', OPEN).execute();
  }

  /** Paid attempts whose money has not been settled (ticketed or refunded) yet: a crash between the two steps. */
  unsettled(limit: number): Promise<PaymentRow[]> {
    return this.db.selectFrom('payments').selectAll().where('state', '=', 'paid').where('outcome', 'is', null).orderBy('paid_at').limit(limit).execute();
  }

  /** The money bought the order's tickets. False when another caller settled it first. */
  async settleTicketed(outTradeNo: string, now: string, db: Db = this.db): Promise<boolean> {
    const r = await db.updateTable('payments').set({ outcome: 'ticketed', updated_at: now }).where('out_trade_no', '=', outTradeNo).where('outcome', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * The money bought nothing (late, twice, wrong amount): the outcome and the refund that
   * sends it back, in the caller's transaction. False when another caller settled it first.
   */
  async settleRefunded(outTradeNo: string, outcome: Exclude<Outcome, 'ticketed'>, refund: PaymentRefundsTable, db: Db): Promise<boolean> {
    const r = await db.updateTable('payments').set({ outcome, updated_at: refund.created_at }).where('out_trade_no', '=', outTradeNo).where('outcome', 'is', null).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return false;
    await db.insertInto('payment_refunds').values(refund).onConflict((oc) => oc.column('out_refund_no').doNothing()).execute();
    return true;
  }

  /**
   * The attempt whose money bought the order (the one a visitor refund sends back): the paid
   * attempt of the order's transaction (its outcome may not be recorded yet: the order takes
   * the money first).
   */
  paidWith(site: string, orderId: string, transactionId: string): Promise<PaymentRow | undefined> {
    return this.db.selectFrom('payments').selectAll().where('site', '=', site).where('order_id', '=', orderId).where('state', '=', 'paid').where('transaction_id', '=', transactionId).executeTakeFirst();
  }

  // ---- notifications -----------------------------------------------------------------------

  async seenNotification(provider: string, notificationId: string): Promise<boolean> {
    const row = await this.db.selectFrom('payment_notifications').select('kind').where('provider', '=', provider).where('notification_id', '=', notificationId).executeTakeFirst();
    return row !== undefined;
  }

  async recordNotification(provider: string, notificationId: string, kind: string, outTradeNo: string | null, at: string, db: Db = this.db): Promise<void> {
    await db
      .insertInto('payment_notifications')
      .values({ provider, notification_id: notificationId, kind, out_trade_no: outTradeNo, received_at: at })
      .onConflict((oc) => oc.columns(['provider', 'notification_id']).doNothing())
      .execute();
  }

  // ---- refunds -------------------------------------------------------------------------------

  /** Record a refund to send; false when it is recorded already. */
  async insertRefund(row: PaymentRefundsTable): Promise<boolean> {
    const r = await this.db.insertInto('payment_refunds').values(row).onConflict((oc) => oc.column('out_refund_no').doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  refund(outRefundNo: string): Promise<RefundRow | undefined> {
    return this.db.selectFrom('payment_refunds').selectAll().where('out_refund_no', '=', outRefundNo).executeTakeFirst();
  }

  /** The newest refund of a trade (an Alipay refund notification may name only the trade). */
  latestRefundOfTrade(outTradeNo: string): Promise<RefundRow | undefined> {
    return this.db.selectFrom('payment_refunds').selectAll().where('out_trade_no', '=', outTradeNo).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
  }

  refundsOfOrder(site: string, orderId: string): Promise<RefundRow[]> {
    return this.db.selectFrom('payment_refunds').selectAll().where('site', '=', site).where('order_id', '=', orderId).orderBy('created_at').execute();
  }

  /** Refunds to send or ask about again: pending or processing, due by `now`. */
  refundsDue(now: string, limit: number): Promise<RefundRow[]> {
    return this.db.selectFrom('payment_refunds').selectAll().where('state', 'in', ['pending', 'processing']).where('next_at', '<=', now).orderBy('next_at').limit(limit).execute();
  }

  /** Move a refund on; `from` guards against moving a finished one back. */
  async updateRefund(outRefundNo: string, set: Partial<Omit<PaymentRefundsTable, 'out_refund_no' | 'attempts'>> & { attempts?: number }, from: RefundRowState[]): Promise<boolean> {
    const r = await this.db.updateTable('payment_refunds').set(set).where('out_refund_no', '=', outRefundNo).where('state', 'in', from).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}
