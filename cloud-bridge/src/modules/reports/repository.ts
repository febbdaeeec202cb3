import type { CloudStore } from '../../core/db/store.js';

/** A kept report row: the report itself is stored as its JSON. */
export interface KeptReport {
  date: string;
  generatedAt: string;
  report: string;
}

/** The reports module's SQL: it reads the orders and entries of a day, and keeps reports in `reports`. */
export class ReportsRepository {
  constructor(private readonly store: CloudStore) {}

  /** Orders of the site paid or refunded within the UTC window around a local date. */
  async paidOrRefunded(site: string, window: { from: string; to: string }) {
    const { from, to } = window;
    return this.store.db
      .selectFrom('orders')
      .select(['order_id', 'channel', 'type_id', 'persons', 'amount_fen', 'paid_at', 'refunded_at', 'refund_reason'])
      .where('site', '=', site)
      .where((eb) => eb.or([eb.and([eb('paid_at', '>=', from), eb('paid_at', '<', to)]), eb.and([eb('refunded_at', '>=', from), eb('refunded_at', '<', to)])]))
      .execute();
  }

  /** Counted admissions of the site within the UTC window. */
  async admissions(site: string, window: { from: string; to: string }) {
    return this.store.db.selectFrom('entries').select(['at', 'gate', 'persons']).where('site', '=', site).where('kind', '=', 'admit').where('anomaly', 'is', null).where('at', '>=', window.from).where('at', '<', window.to).execute();
  }

  /** Keeps a day's report, replacing an earlier one of that day. */
  async keep(site: string, r: KeptReport): Promise<void> {
    const row = { site, date: r.date, generated_at: r.generatedAt, report: r.report };
    await this.store.db
      .insertInto('reports')
      .values(row)
      .onConflict((oc) => oc.columns(['site', 'date']).doUpdateSet({ generated_at: row.generated_at, report: row.report }))
      .execute();
  }

  /** The kept report's JSON of that day, if any. */
  async report(site: string, date: string): Promise<string | undefined> {
    return (await this.store.db.selectFrom('reports').select('report').where('site', '=', site).where('date', '=', date).executeTakeFirst())?.report;
  }

  /** When that day's kept report was made, if there is one. */
  async generatedAt(site: string, date: string): Promise<string | undefined> {
    return (await this.store.db.selectFrom('reports').select('generated_at').where('site', '=', site).where('date', '=', date).executeTakeFirst())?.generated_at;
  }

  /** The kept reports of a site, newest first. */
  async list(site: string, limit: number): Promise<KeptReport[]> {
    const rows = await this.store.db.selectFrom('reports').select(['date', 'generated_at', 'report']).where('site', '=', site).orderBy('date', 'desc').limit(limit).execute();
    return rows.map((r) => ({ date: r.date, generatedAt: r.generated_at, report: r.report }));
  }
}
