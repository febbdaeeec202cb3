import type { Selectable } from 'kysely';
import type { CloudStore, Db } from '../../core/db/store.js';
import type { PaymentReconciliationsTable } from '../../core/db/schema.js';
import type { AttemptFact, RefundFact } from './reconcile.js';

export type ReconciliationRow = Selectable<PaymentReconciliationsTable>;

/** Bill lines name our numbers; they are looked up this many at a time (well under every driver's parameter limit). */
const CHUNK = 500;

const attemptFact = (a: { site: string; out_trade_no: string; order_id: string; state: string; amount_fen: number; paid_fen: number | null; paid_at: string | null; transaction_id: string | null; outcome: string | null }): AttemptFact => ({
  site: a.site,
  outTradeNo: a.out_trade_no,
  orderId: a.order_id,
  state: a.state,
  amountFen: Number(a.amount_fen),
  paidFen: a.paid_fen === null ? null : Number(a.paid_fen),
  paidAt: a.paid_at,
  transactionId: a.transaction_id,
  outcome: a.outcome,
});

const refundFact = (r: { site: string; out_refund_no: string; out_trade_no: string; order_id: string; amount_fen: number; state: string; created_at: string }): RefundFact => ({
  site: r.site,
  outRefundNo: r.out_refund_no,
  outTradeNo: r.out_trade_no,
  orderId: r.order_id,
  amountFen: Number(r.amount_fen),
  state: r.state,
  createdAt: r.created_at,
});

function chunks<T>(xs: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += CHUNK) out.push(xs.slice(i, i + CHUNK));
  return out;
}

/** The reconciliation's SQL: reads payments and refunds, keeps one result per site and day. */
export class ReconciliationRepository {
  constructor(private readonly store: CloudStore) {}

  private get db(): Db {
    return this.store.db;
  }

  /** The site's attempts with this provider paid within [from, to) (ISO), plus any attempt of the provider with one of `numbers`. */
  async attempts(site: string, provider: string, from: string, to: string, numbers: readonly string[]): Promise<AttemptFact[]> {
    const cols = ['site', 'out_trade_no', 'order_id', 'state', 'amount_fen', 'paid_fen', 'paid_at', 'transaction_id', 'outcome'] as const;
    const byTime = await this.db.selectFrom('payments').select(cols).where('site', '=', site).where('provider', '=', provider).where('paid_at', '>=', from).where('paid_at', '<', to).execute();
    const out = new Map(byTime.map((a) => [a.out_trade_no, attemptFact(a)]));
    for (const part of chunks([...new Set(numbers)].filter((n) => !out.has(n)))) {
      const rows = await this.db.selectFrom('payments').select(cols).where('provider', '=', provider).where('out_trade_no', 'in', part).execute();
      for (const a of rows) out.set(a.out_trade_no, attemptFact(a));
    }
    return [...out.values()];
  }

  /** The site's refunds with this provider recorded within [from, to), plus any refund with one of `refundNumbers` or of one of `tradeNumbers`. */
  async refunds(site: string, provider: string, from: string, to: string, refundNumbers: readonly string[], tradeNumbers: readonly string[]): Promise<RefundFact[]> {
    const cols = ['site', 'out_refund_no', 'out_trade_no', 'order_id', 'amount_fen', 'state', 'created_at'] as const;
    const byTime = await this.db.selectFrom('payment_refunds').select(cols).where('site', '=', site).where('provider', '=', provider).where('created_at', '>=', from).where('created_at', '<', to).execute();
    const out = new Map(byTime.map((r) => [r.out_refund_no, refundFact(r)]));
    for (const part of chunks([...new Set(refundNumbers)])) {
      for (const r of await this.db.selectFrom('payment_refunds').select(cols).where('provider', '=', provider).where('out_refund_no', 'in', part).execute()) out.set(r.out_refund_no, refundFact(r));
    }
    for (const part of chunks([...new Set(tradeNumbers)])) {
      for (const r of await this.db.selectFrom('payment_refunds').select(cols).where('provider', '=', provider).where('out_trade_no', 'in', part).execute()) out.set(r.out_refund_no, refundFact(r));
    }
    return [...out.values()];
  }

  get(site: string, date: string): Promise<ReconciliationRow | undefined> {
    return this.db.selectFrom('payment_reconciliations').selectAll().where('site', '=', site).where('date', '=', date).executeTakeFirst();
  }

  /** Keep a day's result, replacing an earlier one (the alert digest stays unless given). */
  async put(row: Omit<PaymentReconciliationsTable, 'alert_digest'> & { alert_digest?: string | null }): Promise<void> {
    const { alert_digest, ...rest } = row;
    const update = { state: rest.state, attempts: rest.attempts, next_at: rest.next_at, result: rest.result, ran_at: rest.ran_at, ...(alert_digest !== undefined ? { alert_digest } : {}) };
    await this.db
      .insertInto('payment_reconciliations')
      .values({ ...rest, alert_digest: alert_digest ?? null })
      .onConflict((oc) => oc.columns(['site', 'date']).doUpdateSet(update))
      .execute();
  }

  /** Record the digest of what was alerted; false when another run recorded this one first (alert once). */
  async claimAlert(site: string, date: string, digest: string): Promise<boolean> {
    const r = await this.db
      .updateTable('payment_reconciliations')
      .set({ alert_digest: digest })
      .where('site', '=', site)
      .where('date', '=', date)
      .where((eb) => eb.or([eb('alert_digest', 'is', null), eb('alert_digest', '!=', digest)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}
