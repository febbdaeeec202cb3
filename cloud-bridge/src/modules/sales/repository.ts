import { sql } from 'kysely';
import type { CloudStore, Db } from '../../core/db/store.js';
import type { OrdersTable } from '../../core/db/schema.js';

/** A channel's pause state as staff left it (channel_state, written by the staff module). */
export interface ChannelPause {
  paused: boolean;
  by?: string;
  reason?: string;
  at?: string;
}

/** A savepoint inside a transaction: keep what ran since it, or undo it. */
export interface Savepoint {
  release(): Promise<void>;
  /** Undo everything since the savepoint, and drop it. */
  rollback(): Promise<void>;
}

/** The answer stored under an idempotency key. */
export interface StoredAnswer {
  request_hash: string;
  status: number;
  response: string;
}

const pauseOf = (r: { paused: number; changed_by: string; reason: string; changed_at: string }): ChannelPause =>
  r.paused === 0 ? { paused: false } : { paused: true, by: r.changed_by, reason: r.reason, at: r.changed_at };

/**
 * Every statement of the sales module: orders and their visitors, the inventory (sold
 * counts, the oversell guard), idempotency keys, and the channel pauses staff set. Methods
 * whose first argument is `trx` run inside the caller's transaction; reads with a last
 * `db` argument run in a transaction when given one, on the store otherwise.
 */
export class SalesRepository {
  constructor(private readonly store: CloudStore) {}

  get dialect(): CloudStore['dialect'] {
    return this.store.dialect;
  }

  /** The store itself, for reads outside a transaction. */
  get db(): Db {
    return this.store.db;
  }

  transaction<T>(work: (trx: Db) => Promise<T>): Promise<T> {
    return this.store.db.transaction().execute(work);
  }

  async savepoint(trx: Db, name: 'sales_work' | 'sales_group'): Promise<Savepoint> {
    const id = sql.raw(name);
    await sql`SAVEPOINT ${id}`.execute(trx);
    return {
      release: async () => {
        await sql`RELEASE SAVEPOINT ${id}`.execute(trx);
      },
      rollback: async () => {
        await sql`ROLLBACK TO SAVEPOINT ${id}`.execute(trx);
        await sql`RELEASE SAVEPOINT ${id}`.execute(trx);
      },
    };
  }

  // ---- channel pauses (read only: staff writes them) -----------------------------------

  /** Pause state of every channel of a site that staff ever paused or resumed. */
  async channelPauses(site: string): Promise<Map<string, ChannelPause>> {
    const rows = await this.store.db.selectFrom('channel_state').selectAll().where('site', '=', site).execute();
    return new Map(rows.map((r) => [r.channel, pauseOf(r)]));
  }

  async channelPause(site: string, channel: string, db: Db = this.store.db): Promise<ChannelPause> {
    const row = await db.selectFrom('channel_state').selectAll().where('site', '=', site).where('channel', '=', channel).executeTakeFirst();
    return row ? pauseOf(row) : { paused: false };
  }

  // ---- inventory -------------------------------------------------------------------------

  /** Persons sold per slot (and the day's row) for one site and date. */
  async sold(site: string, date: string, db: Db = this.store.db): Promise<Map<string, number>> {
    const rows = await db.selectFrom('inventory').select(['slot_id', 'sold']).where('site', '=', site).where('visit_date', '=', date).execute();
    return new Map(rows.map((r) => [r.slot_id, Number(r.sold)]));
  }

  /**
   * Add `persons` to one inventory row unless that would pass `limit`: the guarded update
   * whose row lock (PostgreSQL) or single writer (SQLite) makes sales of the last places
   * take turns. False: refused, nothing changed.
   */
  async take(trx: Db, site: string, date: string, slotId: string, persons: number, limit: number): Promise<boolean> {
    await trx.insertInto('inventory').values({ site, visit_date: date, slot_id: slotId, sold: 0 }).onConflict((oc) => oc.columns(['site', 'visit_date', 'slot_id']).doNothing()).execute();
    const row = await trx
      .updateTable('inventory')
      .set((eb) => ({ sold: eb('sold', '+', persons) }))
      .where('site', '=', site)
      .where('visit_date', '=', date)
      .where('slot_id', '=', slotId)
      .where((eb) => eb(eb('sold', '+', persons), '<=', limit))
      .returning('sold')
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Give `persons` back to each of these inventory rows. */
  async release(trx: Db, site: string, date: string, slotIds: string[], persons: number): Promise<void> {
    for (const key of slotIds) {
      await trx
        .updateTable('inventory')
        .set((eb) => ({ sold: eb('sold', '-', persons) }))
        .where('site', '=', site)
        .where('visit_date', '=', date)
        .where('slot_id', '=', key)
        .execute();
    }
  }

  // ---- idempotency keys ------------------------------------------------------------------

  /** Claim the key for this request; false: it was claimed before (read its answer). */
  async claimKey(trx: Db, site: string, channel: string, key: string, requestHash: string, createdAt: string): Promise<boolean> {
    const inserted = await trx
      .insertInto('idempotency')
      .values({ site, channel, key, request_hash: requestHash, status: 0, response: '', created_at: createdAt })
      .onConflict((oc) => oc.columns(['site', 'channel', 'key']).doNothing())
      .executeTakeFirst();
    return Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  storedAnswer(trx: Db, site: string, channel: string, key: string): Promise<StoredAnswer> {
    return trx.selectFrom('idempotency').select(['request_hash', 'status', 'response']).where('site', '=', site).where('channel', '=', channel).where('key', '=', key).executeTakeFirstOrThrow();
  }

  async storeAnswer(trx: Db, site: string, channel: string, key: string, status: number, response: string): Promise<void> {
    await trx.updateTable('idempotency').set({ status, response }).where('site', '=', site).where('channel', '=', channel).where('key', '=', key).execute();
  }

  // ---- orders ----------------------------------------------------------------------------

  /** Places `idHashes` hold for `date` in pending and paid orders of the site (any channel), by ID hash. */
  async placesHeld(trx: Db, site: string, date: string, idHashes: string[], exceptOrder?: string): Promise<Map<string, number>> {
    const rows = await trx
      .selectFrom('order_visitors as v')
      .innerJoin('orders as o', 'o.order_id', 'v.order_id')
      .select((eb) => ['v.id_hash', eb.fn.countAll().as('n')])
      .where('v.id_hash', 'in', [...new Set(idHashes)])
      .where('o.site', '=', site)
      .where('o.visit_date', '=', date)
      .where('o.status', 'in', ['pending', 'paid'])
      .$if(exceptOrder !== undefined, (qb) => qb.where('o.order_id', '!=', exceptOrder!))
      .groupBy('v.id_hash')
      .execute();
    return new Map(rows.map((r) => [r.id_hash, Number(r.n)]));
  }

  async insertOrder(trx: Db, order: OrdersTable, visitors: { name: string; idHash: string; idMasked: string; age_band?: string | null; gender?: string | null; region?: string | null }[]): Promise<void> {
    await trx.insertInto('orders').values(order).execute();
    await trx
      .insertInto('order_visitors')
      .values(visitors.map((v, idx) => ({ order_id: order.order_id, idx, name: v.name, id_hash: v.idHash, id_masked: v.idMasked, ticket_id: null, age_band: v.age_band ?? null, gender: v.gender ?? null, region: v.region ?? null })))
      .execute();
  }

  order(site: string, channel: string, orderId: string, db: Db = this.store.db): Promise<OrdersTable | undefined> {
    return db.selectFrom('orders').selectAll().where('order_id', '=', orderId).where('site', '=', site).where('channel', '=', channel).executeTakeFirst();
  }

  /** The site's orders (any channel) for `date` that name a visitor with this ID hash, oldest first (the staffed window's lookup; index order_visitors_id_hash_ix). */
  ordersOfIdHash(site: string, date: string, idHash: string, limit: number): Promise<OrdersTable[]> {
    return this.store.db
      .selectFrom('orders')
      .selectAll()
      .where('site', '=', site)
      .where('visit_date', '=', date)
      .where('order_id', 'in', (qb) => qb.selectFrom('order_visitors').select('order_id').where('id_hash', '=', idHash))
      .orderBy('created_at')
      .orderBy('order_id')
      .limit(limit)
      .execute();
  }

  /** A channel's orders with this contact phone, newest first (the booking page's "my orders"; index orders_contact_phone_ix). */
  ordersOfPhone(site: string, channel: string, phone: string, limit: number): Promise<OrdersTable[]> {
    return this.store.db
      .selectFrom('orders')
      .selectAll()
      .where('site', '=', site)
      .where('contact_phone', '=', phone)
      .where('channel', '=', channel)
      .orderBy('created_at', 'desc')
      .orderBy('order_id', 'desc')
      .limit(limit)
      .execute();
  }

  /** The visitors of these orders as shown (masked), in order. */
  visitorsOfOrders(orderIds: string[]): Promise<{ order_id: string; idx: number; name: string; id_masked: string; ticket_id: string | null }[]> {
    if (orderIds.length === 0) return Promise.resolve([]);
    return this.store.db.selectFrom('order_visitors').select(['order_id', 'idx', 'name', 'id_masked', 'ticket_id']).where('order_id', 'in', orderIds).orderBy('order_id').orderBy('idx').execute();
  }

  /** The order of a site, whatever its channel (payments: the provider names the order, not the channel). */
  orderOfSite(site: string, orderId: string, db: Db = this.store.db): Promise<OrdersTable | undefined> {
    return db.selectFrom('orders').selectAll().where('order_id', '=', orderId).where('site', '=', site).executeTakeFirst();
  }

  /** lockOrder() for an order of the site on any channel. */
  lockOrderOfSite(trx: Db, site: string, orderId: string): Promise<OrdersTable | undefined> {
    return trx
      .updateTable('orders')
      .set((eb) => ({ status: eb.ref('status') }))
      .where('order_id', '=', orderId)
      .where('site', '=', site)
      .returningAll()
      .executeTakeFirst();
  }

  /**
   * The order, locked for the rest of the transaction: a no-op UPDATE takes PostgreSQL's row
   * lock (SQLite has one writer anyway) and returns the row as the previous holder left it.
   */
  lockOrder(trx: Db, site: string, channel: string, orderId: string): Promise<OrdersTable | undefined> {
    return trx
      .updateTable('orders')
      .set((eb) => ({ status: eb.ref('status') }))
      .where('order_id', '=', orderId)
      .where('site', '=', site)
      .where('channel', '=', channel)
      .returningAll()
      .executeTakeFirst();
  }

  /** pending → paid; undefined when the order is no longer pending. */
  markPaid(trx: Db, orderId: string, paidAt: string, paymentRef: string): Promise<OrdersTable | undefined> {
    return trx.updateTable('orders').set({ status: 'paid', paid_at: paidAt, payment_ref: paymentRef }).where('order_id', '=', orderId).where('status', '=', 'pending').returningAll().executeTakeFirst();
  }

  /** paid → refunded; undefined when the order is no longer paid. */
  markRefunded(trx: Db, orderId: string, at: string, reason: string): Promise<OrdersTable | undefined> {
    return trx.updateTable('orders').set({ status: 'refunded', refunded_at: at, refund_reason: reason }).where('order_id', '=', orderId).where('status', '=', 'paid').returningAll().executeTakeFirst();
  }

  /** A paid order to another date and slot. */
  moveOrder(trx: Db, orderId: string, date: string, slotId: string): Promise<OrdersTable> {
    return trx.updateTable('orders').set({ visit_date: date, slot_id: slotId }).where('order_id', '=', orderId).where('status', '=', 'paid').returningAll().executeTakeFirstOrThrow();
  }

  /**
   * Pending orders created before `cutoff` (at most `limit`) of one payment mode. Partner-mode
   * holds are expired by sales' timer; provider-mode ones by the payments sweep, which closes
   * the order at the provider first.
   */
  staleHolds(cutoff: string, limit = 500, mode: 'partner' | 'provider' = 'partner'): Promise<{ order_id: string; site: string }[]> {
    return this.store.db
      .selectFrom('orders')
      .select(['order_id', 'site'])
      .where('payment_mode', '=', mode)
      .where('status', '=', 'pending')
      .where('created_at', '<', cutoff)
      .orderBy('created_at')
      .limit(limit)
      .execute();
  }

  /** A provider-mode refund was committed: the provider has yet to take it (refund_state requested). */
  async setRefundRequested(trx: Db, orderId: string, refundNo: string): Promise<void> {
    await trx.updateTable('orders').set({ refund_state: 'requested', refund_no: refundNo }).where('order_id', '=', orderId).execute();
  }

  /** Refunded provider-mode orders whose refund the provider has not accepted yet. */
  refundsRequested(limit: number): Promise<OrdersTable[]> {
    return this.store.db.selectFrom('orders').selectAll().where('payment_mode', '=', 'provider').where('status', '=', 'refunded').where('refund_state', '=', 'requested').orderBy('refunded_at').limit(limit).execute();
  }

  /** Move a provider-mode refund's state forward (from one of `from`); false when it was elsewhere. */
  async setRefundState(site: string, orderId: string, refundNo: string, state: string, from: string[]): Promise<boolean> {
    const r = await this.store.db
      .updateTable('orders')
      .set({ refund_state: state })
      .where('order_id', '=', orderId)
      .where('site', '=', site)
      .where('refund_no', '=', refundNo)
      .where('refund_state', 'in', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** pending → expired by its channel's cancel (cancelled_at set); undefined when it was not pending. */
  markCancelled(trx: Db, orderId: string, at: string): Promise<OrdersTable | undefined> {
    return trx.updateTable('orders').set({ status: 'expired', cancelled_at: at }).where('order_id', '=', orderId).where('status', '=', 'pending').returningAll().executeTakeFirst();
  }

  /** pending → expired; undefined when it was paid meanwhile. */
  markExpired(trx: Db, orderId: string): Promise<OrdersTable | undefined> {
    return trx.updateTable('orders').set({ status: 'expired' }).where('order_id', '=', orderId).where('status', '=', 'pending').returningAll().executeTakeFirst();
  }

  // ---- visitors and tickets --------------------------------------------------------------

  /** The order's visitors as shown (masked), in order. */
  visitors(orderId: string, db: Db = this.store.db): Promise<{ idx: number; name: string; id_masked: string; ticket_id: string | null }[]> {
    return db.selectFrom('order_visitors').select(['idx', 'name', 'id_masked', 'ticket_id']).where('order_id', '=', orderId).orderBy('idx').execute();
  }

  /** The order's visitors' ID hashes, in order. */
  visitorHashes(trx: Db, orderId: string): Promise<{ idx: number; id_hash: string }[]> {
    return trx.selectFrom('order_visitors').select(['idx', 'id_hash']).where('order_id', '=', orderId).orderBy('idx').execute();
  }

  async setVisitorTicket(trx: Db, orderId: string, idx: number, ticketId: string): Promise<void> {
    await trx.updateTable('order_visitors').set({ ticket_id: ticketId }).where('order_id', '=', orderId).where('idx', '=', idx).execute();
  }

  /** The tickets issued to the order's visitors. */
  async ticketIds(trx: Db, orderId: string): Promise<string[]> {
    const rows = await trx.selectFrom('order_visitors').select('ticket_id').where('order_id', '=', orderId).execute();
    return [...new Set(rows.map((r) => r.ticket_id).filter((t): t is string => t !== null))];
  }

  /** Which of these tickets a gate has already let in. */
  async usedTickets(trx: Db, site: string, ticketIds: string[]): Promise<string[]> {
    const used = await trx.selectFrom('tickets').select('ticket_id').where('site', '=', site).where('ticket_id', 'in', ticketIds).where('entries_used', '>', 0).execute();
    return used.map((r) => r.ticket_id);
  }
}
