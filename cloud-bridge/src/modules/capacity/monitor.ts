import { randomUUID } from 'node:crypto';
import { localDate } from '@stile/config';
import { dashboardModel, todayLoad } from '../dashboard/dashboard-data.js';
import type { DashboardModel, Level } from '../dashboard/model.js';
import type { Logger } from '../../core/log.js';
import type { Publisher } from '../../core/mqtt/publisher.js';
import type { StaffAlert, StaffNotifier } from '../../core/notify/webhook.js';
import type { SalesSite } from '../sales/sales.js';
import type { CloudStore } from '../../core/db/store.js';
import type { SiteKeys } from '../../core/sites.js';
import { announcementMessage, announceTopic, capacityMessage, capacityTopic, nextLevel, type CapacityMessage } from '../../core/capacity-levels.js';

type Listener = (model: DashboardModel) => void;

export interface CapacityMonitorDeps {
  store: CloudStore;
  site: (id: string) => SalesSite | undefined;
  siteIds: () => string[];
  mqtt: Publisher;
  /** Capacity and announce are signed with the site's control key: screens and the PA refuse anything else. */
  keys: Pick<SiteKeys, 'sign'>;
  notifier: StaffNotifier;
  log: Logger;
  now?: () => Date;
  /** How long a burst of changes is gathered into one refresh. */
  coalesceMs?: number;
  /** The cloud's own health, shown on the dashboard (subscriptions lost, writes failing). */
  cloudHealth?: () => Promise<DashboardModel['cloud']>;
}

/**
 * Watches each site's load for today. After every sale, refund or stored batch of entries
 * (`changed(site)`, coalesced), it recomputes the load, publishes the retained
 * `stile/{site}/capacity`, and on a level change announces it on `stile/{site}/announce`
 * (PA / e-screens), alerts staff through the notifier and keeps the alert. Dashboard
 * streams get the new model each time.
 */
export class CapacityMonitor {
  /** Cache of the shared `capacity_levels` row per site; the store decides. */
  private readonly levels = new Map<string, { level: Level; date: string; version: number }>();
  private readonly lastPublished = new Map<string, string>();
  private readonly pending = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private poll: ReturnType<typeof setInterval> | null = null;
  private closed = false;
  private readonly store: CloudStore;
  private readonly site: (id: string) => SalesSite | undefined;
  private readonly siteIds: () => string[];
  private readonly mqtt: Publisher;
  private readonly keys: Pick<SiteKeys, 'sign'>;
  private readonly notifier: StaffNotifier;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly coalesceMs: number;
  private readonly cloudHealth: () => Promise<DashboardModel['cloud']>;

  constructor(deps: CapacityMonitorDeps) {
    this.store = deps.store;
    this.site = deps.site;
    this.siteIds = deps.siteIds;
    this.mqtt = deps.mqtt;
    this.keys = deps.keys;
    this.notifier = deps.notifier;
    this.log = deps.log;
    this.now = deps.now ?? (() => new Date());
    this.coalesceMs = deps.coalesceMs ?? 50;
    this.cloudHealth = deps.cloudHealth ?? (() => Promise.resolve({ ready: true, problems: [] }));
  }

  /**
   * Seed each site's shared level from its last alert (no repeated announcement after an
   * upgrade or restart), then refresh.
   */
  async start(pollMs = 2000): Promise<void> {
    for (const id of this.siteIds()) {
      const s = this.site(id);
      const last = await this.store.db.selectFrom('alerts').select(['level', 'at']).where('site', '=', id).where('kind', '=', 'capacity_level').orderBy('at', 'desc').limit(1).executeTakeFirst();
      if (last?.level && s) {
        const date = localDate(new Date(last.at), s.catalogue.timeZone);
        await this.store.db.insertInto('capacity_levels').values({ site: id, date, level: last.level, version: 1 }).onConflict((oc) => oc.column('site').doNothing()).execute();
      }
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
    return dashboardModel(this.store, site, level, load, now, await this.cloudHealth());
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
    const prev = await this.sharedLevel(siteId);
    const next = nextLevel(prev, { load: load.load, date: load.date }, site.capacity);
    let level = next.level;
    let announce = false;
    if (next.changed) {
      // Another instance may be making the same change: only the one whose write wins announces.
      if (await this.claimLevel(siteId, prev, { level, date: load.date })) announce = !(prev === null && level === 'green'); // a first look that finds the park green has nothing to announce
      else level = (await this.sharedLevel(siteId))?.level ?? level;
    }
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
    if (announce) await this.levelChanged(site, prev?.level ?? null, level, load.load, now);
    await this.alertNewConflicts(siteId, now);
    const listeners = this.listeners.get(siteId);
    if (listeners && listeners.size > 0) {
      const model = await dashboardModel(this.store, site, level, load, now, await this.cloudHealth());
      for (const l of listeners) l(model);
    }
  }

  /** The site's level as all instances share it (null before the first). */
  private async sharedLevel(siteId: string): Promise<{ level: Level; date: string } | null> {
    const row = await this.store.db.selectFrom('capacity_levels').select(['level', 'date', 'version']).where('site', '=', siteId).executeTakeFirst();
    if (!row) {
      this.levels.delete(siteId);
      return null;
    }
    const shared = { level: row.level as Level, date: row.date, version: Number(row.version) };
    this.levels.set(siteId, shared);
    return { level: shared.level, date: shared.date };
  }

  /** Compare-and-set of the shared level: true if this instance made the change. */
  private async claimLevel(siteId: string, prev: { level: Level; date: string } | null, to: { level: Level; date: string }): Promise<boolean> {
    const db = this.store.db;
    if (prev === null) {
      const r = await db.insertInto('capacity_levels').values({ site: siteId, date: to.date, level: to.level, version: 1 }).onConflict((oc) => oc.column('site').doNothing()).executeTakeFirst();
      const won = Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
      if (won) this.levels.set(siteId, { ...to, version: 1 });
      return won;
    }
    const version = this.levels.get(siteId)?.version ?? 0;
    const r = await db.updateTable('capacity_levels').set({ level: to.level, date: to.date, version: version + 1 }).where('site', '=', siteId).where('version', '=', version).executeTakeFirst();
    const won = Number(r.numUpdatedRows) === 1;
    if (won) this.levels.set(siteId, { ...to, version: version + 1 });
    return won;
  }

  private async levelChanged(site: SalesSite, from: Level | null, to: Level, load: number, now: Date): Promise<void> {
    const announcement = this.keys.sign(site.id, announcementMessage(site.capacity, site.id, to, load, now));
    const text = announcement.text;
    this.log.warn({ site: site.id, from, to, load, alert: 'capacity_level' }, 'capacity level changed');
    await this.mqtt.publish(announceTopic(site.id), JSON.stringify(announcement), { qos: 1 }).catch((err: Error) => this.log.warn({ site: site.id, err: err.message }, 'announcement not published'));
    await this.alert({ site: site.id, kind: 'capacity_level', level: to, message: text, at: now.toISOString(), details: { from, load, capacity: site.capacity.daily } });
  }

  /** Partition conflicts found by ingest and not alerted yet: one staff alert each, from the instance that claims it. */
  private async alertNewConflicts(siteId: string, now: Date): Promise<void> {
    const db = this.store.db;
    const fresh = await db.selectFrom('conflicts').selectAll().where('site', '=', siteId).where('alerted_at', 'is', null).orderBy('detected_at').execute();
    for (const c of fresh) {
      const claimed = await db.updateTable('conflicts').set({ alerted_at: now.toISOString() }).where('id', '=', c.id).where('alerted_at', 'is', null).executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) continue;
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
