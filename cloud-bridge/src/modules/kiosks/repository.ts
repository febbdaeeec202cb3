import type { CloudStore, Db } from '../../core/db/store.js';
import type { KioskRecordsTable, OrdersTable } from '../../core/db/schema.js';

/** The whole day's inventory row (sales' places.ts DAY). */
const DAY = '*';

/**
 * The kiosks module's SQL. Its own table is `kiosk_records`; a counted offline sale is also
 * written as a paid order of the kiosk's channel with its inventory, in the shape sales
 * writes them, so capacity, availability, reports, the dashboard and refunds see it as a sale.
 */
export class KioskRepository {
  constructor(private readonly store: CloudStore) {}

  async recordExists(db: Db, site: string, kiosk: string, seq: string): Promise<boolean> {
    const row = await db.selectFrom('kiosk_records').select('sale_id').where('site', '=', site).where('kiosk', '=', kiosk).where('seq', '=', seq).executeTakeFirst();
    return row !== undefined;
  }

  async insertRecord(db: Db, row: KioskRecordsTable): Promise<void> {
    await db.insertInto('kiosk_records').values(row).onConflict((oc) => oc.columns(['site', 'kiosk', 'seq']).doNothing()).execute();
  }

  /** Persons the kiosk sold offline for `date` and the cloud counted. */
  async offlinePersons(db: Db, site: string, kiosk: string, date: string): Promise<number> {
    const row = await db
      .selectFrom('kiosk_records')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number | string>('persons'), eb.val(0)).as('n'))
      .where('site', '=', site)
      .where('kiosk', '=', kiosk)
      .where('visit_date', '=', date)
      .where('payment', '=', 'offline-cash')
      .where('order_id', 'is not', null)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** The paid order of an offline sale; false when that order exists already (the same sale sent under another seq). */
  async insertOrder(db: Db, order: OrdersTable, visitors: { name: string; idHash: string; idMasked: string; ticketId: string | null }[]): Promise<boolean> {
    const r = await db.insertInto('orders').values(order).onConflict((oc) => oc.column('order_id').doNothing()).executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0n) !== 1) return false;
    if (visitors.length > 0) {
      await db
        .insertInto('order_visitors')
        .values(visitors.map((v, idx) => ({ order_id: order.order_id, idx, name: v.name, id_hash: v.idHash, id_masked: v.idMasked, ticket_id: v.ticketId })))
        .execute();
    }
    return true;
  }

  /** Sold places of the day (and the slot): no limit — the sale has happened, the visitors hold tickets. */
  async addSold(db: Db, site: string, date: string, slotId: string | undefined, persons: number): Promise<void> {
    for (const slot of slotId ? [slotId, DAY] : [DAY]) {
      await db.insertInto('inventory').values({ site, visit_date: date, slot_id: slot, sold: 0 }).onConflict((oc) => oc.columns(['site', 'visit_date', 'slot_id']).doNothing()).execute();
      await db
        .updateTable('inventory')
        .set((eb) => ({ sold: eb('sold', '+', persons) }))
        .where('site', '=', site)
        .where('visit_date', '=', date)
        .where('slot_id', '=', slot)
        .execute();
    }
  }

  /** A kiosk's records as stored, in seq order (tests, kioskctl through the API later). */
  async records(site: string, kiosk?: string) {
    let q = this.store.db.selectFrom('kiosk_records').selectAll().where('site', '=', site);
    if (kiosk) q = q.where('kiosk', '=', kiosk);
    const rows = await q.execute();
    return rows.sort((a, b) => (a.kiosk === b.kiosk ? Number(BigInt(a.seq) - BigInt(b.seq)) : a.kiosk < b.kiosk ? -1 : 1));
  }
}
