import { randomUUID } from 'node:crypto';
import { dashboardModel, todayLoad } from '../dashboard/dashboard-data.js';
import type { DashboardModel, Level } from '../dashboard/model.js';
import type { Logger } from '../log.js';
import type { Publisher } from '../mqtt/publisher.js';
import type { StaffAlert, StaffNotifier } from '../notify/webhook.js';
import { localDate } from '../sales/local-date.js';
import type { SalesSite } from '../sales/sales.js';
import type { CloudStore } from '../store/store.js';
import type { SiteKeys } from '../sites.js';
import { announcementMessage, announceTopic, capacityMessage, capacityTopic, nextLevel, type CapacityMessage } from './levels.js';

type Listener = (model: DashboardModel) => void;

/**
 * Watches each site's load for today. After every sale, refund or stored batch of entries
 * (`changed(site)`, coalesced), it recomputes the load, publishes the retained
 * `stile/{site}/capacity`, and on a level change announces it on `stile/{site}/announce`
 * (PA / e-screens), alerts staff through the notifier and keeps the alert. Dashboard
 * streams get the new model each time.
 */
export class CapacityMonitor {
  private readonly levels = new Map<string, { level: Level; date: string }>();
  private readonly lastPublished = new Map<string, string>();
  private readonly pending = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly listeners = new Map<string, Set<Listener>>();
  /** Newest partition conflict already alerted, per site. */
  private readonly conflictsSeen = new Map<string, string>();
  private poll: ReturnType<typeof setInterval> | null = null;
  private closed = false;

  constructor(
    private readonly store: CloudStore,
    private readonly site: (id: string) => SalesSite | undefined,
    private readonly siteIds: () => string[],
    private readonly mqtt: Publisher,
    /** Capacity and announce are signed with the site's control key: screens and the PA refuse anything else. */
    private readonly keys: Pick<SiteKeys, 'sign'>,
    private readonly notifier: StaffNotifier,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
    /** How long a burst of changes is gathered into one refresh. */
    private readonly coalesceMs = 50,
  ) {}

  /** Resume each site's level from its last alert (no repeated announcement after a restart), then refresh. */
  async start(pollMs = 2000): Promise<void> {
    for (const id of this.siteIds()) {
      const last = await this.store.db.selectFrom('alerts').select(['level', 'at']).where('site', '=', id).where('kind', '=', 'capacity_level').orderBy('at', 'desc').limit(1).executeTakeFirst();
      const s = this.site(id);
      if (last?.level && s) {
        const date = localDate(new Date(last.at), s.catalogue.timeZone);
        this.levels.set(id, { level: last.level as Level, date });
      }
      const newest = await this.store.db.selectFrom('conflicts').select('detected_at').where('site', '=', id).orderBy('detected_at', 'desc').limit(1).executeTakeFirst();
      this.conflictsSeen.set(id, newest?.detected_at ?? '');
      await this.refresh(id);
    }
    // Gate status and the day rolling over change the picture without a sale or an entry.
    this.poll = setInterval(() => {
      for (const id of this.siteIds()) this.changed(id);
    }, pollMs);
    this.poll.unref();
  }

  close(): void {
    this.closed = true;
    if (this.poll) clearInterval(this.poll);
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }

  /** Something that moves the load happened at `site`; refreshes soon, once per burst. */
  changed(siteId: string): void {
    if (this.closed || !this.site(siteId) || this.pending.has(siteId)) return;
    this.pending.set(
      siteId,
      setTimeout(() => {
        this.pending.delete(siteId);
        // One refresh at a time per site; a change during it schedules the next.
        const prev = this.running.get(siteId) ?? Promise.resolve();
        const run = prev.then(() => this.refresh(siteId)).catch((err: unknown) => this.log.warn({ err, site: siteId }, 'capacity refresh failed; retrying on the next change'));
        this.running.set(siteId, run);
      }, this.coalesceMs),
    );
  }

  subscribe(siteId: string, listener: Listener): () => void {
    const set = this.listeners.get(siteId) ?? new Set<Listener>();
    set.add(listener);
    this.listeners.set(siteId, set);
    return () => set.delete(listener);
  }

  /** The dashboard model now (also what a new stream gets first). */
  async model(siteId: string): Promise<DashboardModel | undefined> {
    const site = this.site(siteId);
    if (!site) return undefined;
    const now = this.now();
    const load = await todayLoad(this.store, site, now);
    const level = this.levels.get(siteId)?.level ?? nextLevel(null, { load: load.load, date: load.date }, site.capacity).level;
    return dashboardModel(this.store, site, level, load, now);
  }

  /** Today's level; undefined until the first refresh of the day (just after midnight). */
  level(siteId: string): Level | undefined {
    const l = this.levels.get(siteId);
    const site = this.site(siteId);
    if (!l || !site) return undefined;
    return l.date === localDate(this.now(), site.catalogue.timeZone) ? l.level : undefined;
  }

  async refresh(siteId: string): Promise<void> {
    const site = this.site(siteId);
    if (!site || this.closed) return;
    const now = this.now();
    const load = await todayLoad(this.store, site, now);
    const prev = this.levels.get(siteId) ?? null;
    const { level, changed } = nextLevel(prev, { load: load.load, date: load.date }, site.capacity);
    this.levels.set(siteId, { level, date: load.date });
    const unsigned = { ...capacityMessage(site.capacity, siteId, { level, date: load.date }, load.load, now), admitted: load.admitted, soldForToday: load.soldToday };
    const key = `${unsigned.date}|${unsigned.level}|${unsigned.load}`;
    if (this.lastPublished.get(siteId) !== key) {
      const capacity: CapacityMessage = this.keys.sign(siteId, unsigned);
      // Remembered only once published: a failed publish is tried again on the next refresh.
      await this.mqtt.publish(capacityTopic(siteId), JSON.stringify(capacity), { qos: 1, retain: true }).then(
        () => this.lastPublished.set(siteId, key),
        (err: Error) => this.log.warn({ site: siteId, err: err.message }, 'capacity not published; retrying on the next refresh'),
      );
    }
    // A first look that finds the park green has nothing to announce.
    if (changed && !(prev === null && level === 'green')) await this.levelChanged(site, prev?.level ?? null, level, load.load, now);
    await this.alertNewConflicts(siteId, now);
    const listeners = this.listeners.get(siteId);
    if (listeners && listeners.size > 0) {
      const model = await dashboardModel(this.store, site, level, load, now);
      for (const l of listeners) l(model);
    }
  }

  private async levelChanged(site: SalesSite, from: Level | null, to: Level, load: number, now: Date): Promise<void> {
    const announcement = this.keys.sign(site.id, announcementMessage(site.capacity, site.id, to, load, now));
    const text = announcement.text;
    this.log.warn({ site: site.id, from, to, load, alert: 'capacity_level' }, 'capacity level changed');
    await this.mqtt.publish(announceTopic(site.id), JSON.stringify(announcement), { qos: 1 }).catch((err: Error) => this.log.warn({ site: site.id, err: err.message }, 'announcement not published'));
    await this.alert({ site: site.id, kind: 'capacity_level', level: to, message: text, at: now.toISOString(), details: { from, load, capacity: site.capacity.daily } });
  }

  /** Partition conflicts found by ingest since the last look: one staff alert each. */
  private async alertNewConflicts(siteId: string, now: Date): Promise<void> {
    const seen = this.conflictsSeen.get(siteId);
    if (seen === undefined) return; // not started: start() takes the existing ones as seen
    const fresh = await this.store.db.selectFrom('conflicts').selectAll().where('site', '=', siteId).where('detected_at', '>', seen).orderBy('detected_at').execute();
    for (const c of fresh) {
      this.conflictsSeen.set(siteId, c.detected_at);
      const where = `${c.first_gate ?? '?'} → ${c.second_gate}`;
      await this.alert({
        site: siteId,
        kind: 'partition_conflict',
        message: { zh: `票 ${c.ticket_id} 在断网期间于两个闸机重复入园（${where}），请核查。`, en: `Ticket ${c.ticket_id} was admitted twice while gates were cut off (${where}); please check.` },
        at: now.toISOString(),
        details: { ticketId: c.ticket_id, firstGate: c.first_gate, firstSeq: c.first_seq, secondGate: c.second_gate, secondSeq: c.second_seq },
      });
    }
  }

  /** Keep an alert for the dashboard and send it to staff. Never throws. */
  async alert(a: StaffAlert): Promise<void> {
    try {
      await this.store.db.insertInto('alerts').values({ id: randomUUID(), site: a.site, at: a.at, kind: a.kind, level: a.level ?? null, message_zh: a.message.zh, message_en: a.message.en }).execute();
    } catch (err) {
      this.log.warn({ err, site: a.site }, 'alert not stored');
    }
    // In the background: a slow or dead webhook (retries, timeouts) must not hold up a staff
    // action or the dashboard; the notifier logs its own failures.
    void this.notifier.notify(a).catch((err: unknown) => this.log.warn({ err, site: a.site }, 'staff alert not sent'));
    this.changed(a.site);
  }
}
