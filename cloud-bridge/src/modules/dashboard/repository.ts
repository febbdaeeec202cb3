import type { CloudStore } from '../../core/db/store.js';

export type DashboardRows = Awaited<ReturnType<DashboardRepository['rows']>>;

/** The dashboard's SQL: it only reads what the other modules write. */
export class DashboardRepository {
  constructor(private readonly store: CloudStore) {}

  /** A site's gates, channel states, newest 20 alerts and newest 20 partition conflicts. */
  async rows(site: string) {
    const db = this.store.db;
    const [gates, channels, alerts, conflicts] = await Promise.all([
      db.selectFrom('gate_state').select(['gate', 'online', 'state', 'last_status', 'status_at']).where('site', '=', site).orderBy('gate').execute(),
      db.selectFrom('channel_state').selectAll().where('site', '=', site).execute(),
      db.selectFrom('alerts').selectAll().where('site', '=', site).orderBy('at', 'desc').limit(20).execute(),
      db.selectFrom('conflicts').selectAll().where('site', '=', site).orderBy('detected_at', 'desc').limit(20).execute(),
    ]);
    return { gates, channels, alerts, conflicts };
  }
}
