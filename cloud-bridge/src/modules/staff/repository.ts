import { randomUUID } from 'node:crypto';
import type { CloudStore } from '../../core/db/store.js';

/** One staff action as the audit log shows it. */
export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  target: string;
  reason: string;
}

/** Every statement of the staff module: channel pauses (read by sales) and the audit log. */
export class StaffRepository {
  constructor(private readonly store: CloudStore) {}

  /** Pause or resume a channel and log who and why, in one transaction. */
  async setChannelPaused(site: string, channel: string, paused: boolean, actor: string, reason: string, at: string): Promise<void> {
    await this.store.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('channel_state')
        .values({ site, channel, paused: paused ? 1 : 0, changed_by: actor, reason, changed_at: at })
        .onConflict((oc) => oc.columns(['site', 'channel']).doUpdateSet({ paused: paused ? 1 : 0, changed_by: actor, reason, changed_at: at }))
        .execute();
      await trx.insertInto('audit_log').values({ id: randomUUID(), site, at, actor, action: paused ? 'channel_pause' : 'channel_resume', target: channel, reason, details: null }).execute();
    });
  }

  /** The site's staff actions, newest first. */
  async auditLog(site: string, limit = 100): Promise<AuditEntry[]> {
    const rows = await this.store.db.selectFrom('audit_log').selectAll().where('site', '=', site).orderBy('at', 'desc').limit(limit).execute();
    return rows.map((r) => ({ at: r.at, actor: r.actor, action: r.action, target: r.target, reason: r.reason }));
  }
}
