import type { OrdersTable, PartnerRedemptionsTable, SplitLedgerTable } from '../../core/db/schema.js';
import { num, type CloudStore, type Db } from '../../core/db/store.js';

/** A partner's line as its API and statements show it (no ID number, no phone). */
export interface PartnerLineRow {
  id: string;
  order_id: string;
  part: string;
  kind: string;
  units: number;
  amount_fen: number;
  at: string;
  date: string;
  type_id: string | null;
  visit_date: string | null;
  persons: number | null;
  lead_name: string | null;
  redeemed_at: string | null;
}

export interface PaymentBillRow {
  order_id: string;
  out_trade_no: string;
  provider: string;
  paid_fen: number;
}

export interface RefundBillRow {
  order_id: string;
  out_refund_no: string;
  amount_fen: number;
  state: string;
}

/** The SQL of combos: the split ledger and partners' redemptions. Methods taking `db` run in the caller's transaction. */
export class PartnersRepository {
  constructor(private readonly store: CloudStore) {}

  get db(): CloudStore['db'] {
    return this.store.db;
  }

  ledgerOfOrder(db: Db, site: string, orderId: string): Promise<SplitLedgerTable[]> {
    return db.selectFrom('split_ledger').selectAll().where('site', '=', site).where('order_id', '=', orderId).orderBy('id').execute();
  }

  async insertLines(db: Db, rows: SplitLedgerTable[]): Promise<void> {
    if (rows.length > 0) await db.insertInto('split_ledger').values(rows).execute();
  }

  redemptionsOf(db: Db, site: string, orderId: string): Promise<PartnerRedemptionsTable[]> {
    return db.selectFrom('partner_redemptions').selectAll().where('site', '=', site).where('order_id', '=', orderId).execute();
  }

  /** The order, locked for the transaction (a no-op UPDATE takes PostgreSQL's row lock, as sales does): a refund and a redemption do not cross. */
  lockOrder(trx: Db, site: string, orderId: string): Promise<OrdersTable | undefined> {
    return trx
      .updateTable('orders')
      .set((eb) => ({ status: eb.ref('status') }))
      .where('order_id', '=', orderId)
      .where('site', '=', site)
      .returningAll()
      .executeTakeFirst();
  }

  /** The order a ticket belongs to. */
  async orderOfTicket(db: Db, site: string, ticketId: string): Promise<string | undefined> {
    const row = await db
      .selectFrom('order_visitors')
      .innerJoin('orders', 'orders.order_id', 'order_visitors.order_id')
      .select('orders.order_id')
      .where('order_visitors.ticket_id', '=', ticketId)
      .where('orders.site', '=', site)
      .executeTakeFirst();
    return row?.order_id;
  }

  /** Insert the redemption unless it is there; answers the row as stored (the first one wins). */
  async redeem(trx: Db, row: PartnerRedemptionsTable): Promise<{ row: PartnerRedemptionsTable; created: boolean }> {
    const inserted = await trx.insertInto('partner_redemptions').values(row).onConflict((oc) => oc.columns(['site', 'order_id', 'partner', 'part']).doNothing()).executeTakeFirst();
    const created = num(inserted.numInsertedOrUpdatedRows) > 0;
    const stored = await trx.selectFrom('partner_redemptions').selectAll().where('site', '=', row.site).where('order_id', '=', row.order_id).where('partner', '=', row.partner).where('part', '=', row.part).executeTakeFirstOrThrow();
    return { row: stored, created };
  }

  /** A partner's ledger lines from `from` to `to` (park-local dates), with what a hotel needs to check the guest in. */
  async partnerLines(site: string, partner: string, from: string, to: string): Promise<PartnerLineRow[]> {
    const rows = await this.db
      .selectFrom('split_ledger as l')
      .leftJoin('orders as o', (j) => j.onRef('o.order_id', '=', 'l.order_id').onRef('o.site', '=', 'l.site'))
      .leftJoin('order_visitors as v', (j) => j.onRef('v.order_id', '=', 'l.order_id').on('v.idx', '=', 0))
      .leftJoin('partner_redemptions as r', (j) => j.onRef('r.site', '=', 'l.site').onRef('r.order_id', '=', 'l.order_id').onRef('r.partner', '=', 'l.partner').onRef('r.part', '=', 'l.part'))
      .select(['l.id', 'l.order_id', 'l.part', 'l.kind', 'l.units', 'l.amount_fen', 'l.at', 'l.date', 'o.type_id', 'o.visit_date', 'o.persons', 'v.name as lead_name', 'r.redeemed_at'])
      .where('l.site', '=', site)
      .where('l.partner', '=', partner)
      .where('l.date', '>=', from)
      .where('l.date', '<=', to)
      .orderBy('l.date')
      .orderBy('l.at')
      .orderBy('l.id')
      .execute();
    return rows.map((r) => ({ ...r, units: num(r.units), amount_fen: num(r.amount_fen), persons: r.persons === null ? null : num(r.persons) }));
  }

  /** Every ledger line of the site from `from` to `to`. */
  async ledgerBetween(site: string, from: string, to: string): Promise<SplitLedgerTable[]> {
    const rows = await this.db.selectFrom('split_ledger').selectAll().where('site', '=', site).where('date', '>=', from).where('date', '<=', to).orderBy('order_id').orderBy('id').execute();
    return rows.map((r) => ({ ...r, units: num(r.units), amount_fen: num(r.amount_fen) }));
  }

  /** Orders of the given types paid or refunded between two instants (ISO; the caller narrows to park-local days). */
  async ordersTouched(site: string, typeIds: readonly string[], fromIso: string, toIso: string): Promise<OrdersTable[]> {
    if (typeIds.length === 0) return [];
    return this.db
      .selectFrom('orders')
      .selectAll()
      .where('site', '=', site)
      .where(this.store.oneOf('type_id', typeIds, 'text'))
      .where((eb) => eb.or([eb.and([eb('paid_at', '>=', fromIso), eb('paid_at', '<', toIso)]), eb.and([eb('refunded_at', '>=', fromIso), eb('refunded_at', '<', toIso)])]))
      .execute();
  }

  async ordersByIds(site: string, ids: readonly string[]): Promise<OrdersTable[]> {
    if (ids.length === 0) return [];
    return this.db.selectFrom('orders').selectAll().where('site', '=', site).where(this.store.oneOf('order_id', ids, 'text')).execute();
  }

  /** The provider payments that bought the orders' tickets (WeChat Pay / Alipay bill lines). */
  async paymentBills(site: string, orderIds: readonly string[]): Promise<PaymentBillRow[]> {
    if (orderIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('payments')
      .select(['order_id', 'out_trade_no', 'provider', 'paid_fen', 'amount_fen'])
      .where('site', '=', site)
      .where('state', '=', 'paid')
      .where('outcome', '=', 'ticketed')
      .where(this.store.oneOf('order_id', orderIds, 'text'))
      .execute();
    return rows.map((r) => ({ order_id: r.order_id, out_trade_no: r.out_trade_no, provider: r.provider, paid_fen: num(r.paid_fen ?? r.amount_fen) }));
  }

  /** The payments module's reconciliations of the providers' daily bills (core/reconciliation.ts ReconciliationResult as JSON). */
  async billReconciliations(site: string, from: string, to: string): Promise<{ date: string; state: string; result: string }[]> {
    return this.db.selectFrom('payment_reconciliations').select(['date', 'state', 'result']).where('site', '=', site).where('date', '>=', from).where('date', '<=', to).orderBy('date').execute();
  }

  /** The visitors' refunds of the orders through the providers. */
  async refundBills(site: string, orderIds: readonly string[]): Promise<RefundBillRow[]> {
    if (orderIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('payment_refunds')
      .select(['order_id', 'out_refund_no', 'amount_fen', 'state'])
      .where('site', '=', site)
      .where('cause', '=', 'visitor')
      .where(this.store.oneOf('order_id', orderIds, 'text'))
      .execute();
    return rows.map((r) => ({ ...r, amount_fen: num(r.amount_fen) }));
  }
}
