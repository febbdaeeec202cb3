import type { CloudStore } from '../../core/db/store.js';

/** What the entrance screen is counted from (screen-data.ts). */
export interface ScreenRows {
  /** Persons sold or held by unpaid orders for the date, per slot id; `*` is the whole day (the sales guard's rows). */
  sold: Map<string, number>;
  /**
   * The passage sensor's `not-passed` corrections of admissions the cloud believes (no
   * anomaly) in the window: persons who were let through but did not walk in, each with its
   * admission's time and persons (the caller keeps those admitted on the local date).
   */
  notPassed: { gate: string; seq: string; at: string; admitted: number; persons: number }[];
}

/** The screen's SQL: it only reads what sales and ingest write (inventory, entries). */
export class ScreenRepository {
  constructor(private readonly store: CloudStore) {}

  /**
   * Sold counts for `date`, and the not-passed corrections whose UTC timestamps fall in
   * `window` (around the local date). Today's admissions themselves are not read here: the
   * capacity module counts them on every recount and says so in its `capacity` event (one
   * read of a busy day's entries per change, not two).
   */
  async rows(site: string, date: string, window: { from: string; to: string }): Promise<ScreenRows> {
    const db = this.store.db;
    const [sold, notPassed] = await Promise.all([
      db.selectFrom('inventory').select(['slot_id', 'sold']).where('site', '=', site).where('visit_date', '=', date).execute(),
      db
        .selectFrom('entries as np')
        .innerJoin('entries as a', (j) => j.onRef('a.site', '=', 'np.site').onRef('a.gate', '=', 'np.gate').onRef('a.seq', '=', 'np.ref_seq'))
        .select(['a.gate as gate', 'a.seq as seq', 'a.at as at', 'a.persons as admitted', 'np.persons as persons'])
        .where('np.site', '=', site)
        .where('np.kind', '=', 'not-passed')
        .where('np.at', '>=', window.from)
        .where('np.at', '<', window.to)
        .where('a.kind', '=', 'admit')
        .where('a.anomaly', 'is', null)
        .execute(),
    ]);
    return {
      sold: new Map(sold.map((r) => [r.slot_id, Number(r.sold)])),
      notPassed: notPassed.map((e) => ({ gate: e.gate, seq: String(e.seq), at: e.at, admitted: Number(e.admitted), persons: Number(e.persons) })),
    };
  }
}
