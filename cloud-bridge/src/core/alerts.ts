import { randomUUID } from 'node:crypto';
import type { CloudStore } from './db/store.js';
import type { SiteEvents } from './events.js';
import type { Logger } from './log.js';
import type { StaffAlert, StaffNotifier } from './notify/webhook.js';

/**
 * Staff alerts from any module (capacity levels, partition conflicts, gate anomalies,
 * channel pauses): kept for the dashboard, sent to staff, announced as a site event.
 */
export class Alerts {
  constructor(
    private readonly store: CloudStore,
    private readonly notifier: StaffNotifier,
    private readonly events: SiteEvents,
    private readonly log: Logger,
  ) {}

  /** Keep the alert and send it to staff. Never throws. */
  async raise(a: StaffAlert): Promise<void> {
    try {
      await this.store.db.insertInto('alerts').values({ id: randomUUID(), site: a.site, at: a.at, kind: a.kind, level: a.level ?? null, message_zh: a.message.zh, message_en: a.message.en }).execute();
    } catch (err) {
      this.log.warn({ err, site: a.site }, 'alert not stored');
    }
    // In the background: a slow or dead webhook (retries, timeouts) must not hold up a staff
    // action or the dashboard; the notifier logs its own failures.
    void this.notifier.notify(a).catch((err: unknown) => this.log.warn({ err, site: a.site }, 'staff alert not sent'));
    this.events.emit('alert', a);
  }
}
