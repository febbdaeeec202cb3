import type { CloudStore, Db } from '../../core/db/store.js';
import { num } from '../../core/db/store.js';
import type { Insertable, Selectable } from 'kysely';
import type { PosLinesTable } from '../../core/db/schema.js';

/** A stored POS line as the module reads it back. */
export interface StoredLine {
  lineId: string;
  at: string;
  visitDate: string;
  amountFen: number;
  discountFen: number;
  category: string;
  item: string | null;
  link: string;
  idHash: string | null;
  couponCode: string | null;
  receivedAt: string;
}

const toStored = (r: Selectable<PosLinesTable>): StoredLine => ({
  lineId: r.line_id,
  at: r.at,
  visitDate: r.visit_date,
  amountFen: num(r.amount_fen),
  discountFen: num(r.discount_fen),
  category: r.category,
  item: r.item,
  link: r.link,
  idHash: r.id_hash,
  couponCode: r.coupon_code,
  receivedAt: r.received_at,
});

/** The POS module's SQL (table pos_lines, migration 0015_visitor_data). */
export class PosRepository {
  constructor(readonly store: CloudStore) {}

  transaction<T>(work: (trx: Db) => Promise<T>): Promise<T> {
    return this.store.db.transaction().execute(work);
  }

  /**
   * Claim (site, source, lineId) for this line: false when the id is already stored. The
   * primary key decides, so of two identical requests at once exactly one inserts (on
   * PostgreSQL the second waits for the first's commit, then finds the row).
   */
  async insertLine(db: Db, row: Insertable<PosLinesTable>): Promise<boolean> {
    const r = await db
      .insertInto('pos_lines')
      .values(row)
      .onConflict((oc) => oc.columns(['site', 'source', 'line_id']).doNothing())
      .executeTakeFirst();
    return num(r.numInsertedOrUpdatedRows) > 0;
  }

  async setDiscount(db: Db, site: string, source: string, lineId: string, discountFen: number): Promise<void> {
    await db.updateTable('pos_lines').set({ discount_fen: discountFen }).where('site', '=', site).where('source', '=', source).where('line_id', '=', lineId).execute();
  }

  async getLine(db: Db, site: string, source: string, lineId: string): Promise<StoredLine | undefined> {
    const r = await db.selectFrom('pos_lines').selectAll().where('site', '=', site).where('source', '=', source).where('line_id', '=', lineId).executeTakeFirst();
    return r ? toStored(r) : undefined;
  }

  /** A source's lines of a park-local day, in time order. */
  async linesOfDay(site: string, source: string, date: string): Promise<StoredLine[]> {
    const rows = await this.store.db
      .selectFrom('pos_lines')
      .selectAll()
      .where('site', '=', site)
      .where('visit_date', '=', date)
      .where('source', '=', source)
      .orderBy('at')
      .orderBy('line_id')
      .execute();
    return rows.map(toStored);
  }
}
