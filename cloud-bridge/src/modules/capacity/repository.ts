import type { Level } from '../../core/capacity-levels.js';
import type { CloudStore } from '../../core/db/store.js';

/** The `capacity_levels` row all instances share: the store decides who changed a level. */
export interface SharedLevel {
  level: Level;
  date: string;
  version: number;
}

/** What today's load is counted from (see today-load.ts). */
export interface LoadRows {
  /** Persons sold for the date, all slots. */
  sold: number;
  /** Counted admissions in the window (the caller keeps those of the local date). */
  admissions: { at: string; persons: number; ticketId: string }[];
  /** Tickets of paid orders for the date. */
  soldTicketIds: string[];
}

export type ConflictRow = Awaited<ReturnType<CapacityRepository['unalertedConflicts']>>[number];

/** The capacity module's SQL. It reads what sales and ingest write; it writes only the shared level and the conflicts' alert claim. */
export class CapacityRepository {
  constructor(private readonly store: CloudStore) {}

  /** The three reads of today's load, side by side. `from`/`to` bound the entries' UTC timestamps around the local date. */
  async loadRows(site: string, date: string, window: { from: string; to: string }): Promise<LoadRows> {
    const db = this.store.db;
    const [sold, entries, soldTickets] = await Promise.all([
      db.selectFrom('inventory').select('sold').where('site', '=', site).where('visit_date', '=', date).where('slot_id', '=', '*').executeTakeFirst(),
      db.selectFrom('entries').select(['at', 'persons', 'ticket_id']).where('site', '=', site).where('kind', '=', 'admit').where('anomaly', 'is', null).where('at', '>=', window.from).where('at', '<', window.to).execute(),
      db
        .selectFrom('order_visitors')
        .innerJoin('orders', 'orders.order_id', 'order_visitors.order_id')
        .select('order_visitors.ticket_id')
        .where('orders.site', '=', site)
        .where('orders.visit_date', '=', date)
        .where('orders.status', '=', 'paid')
        .execute(),
    ]);
    return {
      sold: Number(sold?.sold ?? 0),
      admissions: entries.map((e) => ({ at: e.at, persons: Number(e.persons), ticketId: e.ticket_id })),
      soldTicketIds: soldTickets.flatMap((r) => (r.ticket_id !== null ? [r.ticket_id] : [])),
    };
  }

  /** The level of the site's newest capacity alert (what an older version announced last), if any. */
  async lastLevelAlert(site: string): Promise<{ level: Level; at: string } | undefined> {
    const last = await this.store.db.selectFrom('alerts').select(['level', 'at']).where('site', '=', site).where('kind', '=', 'capacity_level').orderBy('at', 'desc').limit(1).executeTakeFirst();
    return last?.level ? { level: last.level as Level, at: last.at } : undefined;
  }

  /** The shared level, or undefined before the site's first. */
  async sharedLevel(site: string): Promise<SharedLevel | undefined> {
    const row = await this.store.db.selectFrom('capacity_levels').select(['level', 'date', 'version']).where('site', '=', site).executeTakeFirst();
    return row ? { level: row.level as Level, date: row.date, version: Number(row.version) } : undefined;
  }

  /** The site's first shared level (version 1); true if this call wrote it, false if a row was there. */
  async insertFirstLevel(site: string, to: { level: Level; date: string }): Promise<boolean> {
    const r = await this.store.db.insertInto('capacity_levels').values({ site, date: to.date, level: to.level, version: 1 }).onConflict((oc) => oc.column('site').doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  /** Compare-and-set: moves the level from `version` to `version + 1`; false if another instance moved it first. */
  async updateLevel(site: string, version: number, to: { level: Level; date: string }): Promise<boolean> {
    const r = await this.store.db.updateTable('capacity_levels').set({ level: to.level, date: to.date, version: version + 1 }).where('site', '=', site).where('version', '=', version).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Partition conflicts ingest found and nobody has alerted yet, oldest first. */
  async unalertedConflicts(site: string) {
    return this.store.db.selectFrom('conflicts').selectAll().where('site', '=', site).where('alerted_at', 'is', null).orderBy('detected_at').execute();
  }

  /** Claims a conflict's staff alert for this instance; false if another claimed it first. */
  async claimConflict(id: string, at: string): Promise<boolean> {
    const claimed = await this.store.db.updateTable('conflicts').set({ alerted_at: at }).where('id', '=', id).where('alerted_at', 'is', null).executeTakeFirst();
    return Number(claimed.numUpdatedRows) === 1;
  }
}
