import { localDate } from '@stile/config';
import type { Alerts } from '../../core/alerts.js';
import { announcementMessage, announceTopic, capacityMessage, capacityTopic, nextLevel, type CapacityMessage, type Level } from '../../core/capacity-levels.js';
import type { ModuleContext } from '../../core/module.js';
import type { CapacityView, TodayLoad } from '../../core/ports.js';
import type { SalesSite } from '../../core/sites.js';
import type { CapacityRepository, SharedLevel } from './repository.js';
import { conflictAlert, levelAlert } from './staff-alerts.js';
import { todayLoad } from './today-load.js';

export interface CapacityMonitorOptions {
  /** How long a burst of changes is gathered into one refresh. Default 50 ms. */
  coalesceMs?: number;
  /** Every site is looked at this often even without a change (gate status, the day rolling over). Default 2 s. */
  pollMs?: number;
}

/**
 * Watches each selling site's load for today. After every sale, refund, stored batch of
 * entries or staff alert (site events `changed` and `alert`, coalesced), it recomputes the
 * load, publishes the retained `stile/{site}/capacity`, and on a level change announces it
 * on `stile/{site}/announce` (PA / e-screens) and raises a staff alert. Each refresh is
 * announced as a `capacity` site event (dashboards), each new level as a `level` event.
 */
export class CapacityMonitor implements CapacityView {
  /** Cache of the shared `capacity_levels` row per site; the store decides. */
  private readonly levels = new Map<string, SharedLevel>();
  private readonly lastPublished = new Map<string, string>();
  /** The `date|level` last announced as a `level` event, per site. */
  private readonly lastLevelEvent = new Map<string, string>();
  private readonly pending = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly unsubscribe: (() => void)[] = [];
  private poll: ReturnType<typeof setInterval> | null = null;
  private closed = false;
  private readonly coalesceMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly ctx: ModuleContext,
    private readonly repo: CapacityRepository,
    private readonly alerts: Pick<Alerts, 'raise'>,
    opts: CapacityMonitorOptions = {},
  ) {
    this.coalesceMs = opts.coalesceMs ?? 50;
    this.pollMs = opts.pollMs ?? 2000;
  }

  /**
   * Seed each site's shared level from its last alert (no repeated announcement after an
   * upgrade or restart), then refresh.
   */
  async start(): Promise<void> {
    const { events, sites } = this.ctx;
    this.unsubscribe.push(
      events.on('changed', (e) => this.changed(e.site)),
      // A new alert is on the dashboard: its model is pushed with the next refresh.
      events.on('alert', (a) => this.changed(a.site)),
    );
    for (const id of sites.salesIds) {
      const s = sites.site(id);
      const last = await this.repo.lastLevelAlert(id);
      if (last && s) await this.repo.insertFirstLevel(id, { level: last.level, date: localDate(new Date(last.at), s.catalogue.timeZone) });
      await this.refresh(id);
    }
    // Gate status and the day rolling over change the picture without a sale or an entry.
    this.poll = setInterval(() => {
      for (const id of sites.salesIds) this.changed(id);
    }, this.pollMs);
    this.poll.unref();
  }

  stop(): void {
    this.closed = true;
    for (const off of this.unsubscribe.splice(0)) off();
    if (this.poll) clearInterval(this.poll);
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }

  /** Something that moves the load happened at `site`; refreshes soon, once per burst. */
  private changed(siteId: string): void {
    if (this.closed || !this.ctx.sites.site(siteId) || this.pending.has(siteId)) return;
    this.pending.set(
      siteId,
      setTimeout(() => {
        this.pending.delete(siteId);
        // One refresh at a time per site; a change during it schedules the next.
        const prev = this.running.get(siteId) ?? Promise.resolve();
        const run = prev.then(() => this.refresh(siteId)).catch((err: unknown) => this.ctx.log.warn({ err, site: siteId }, 'capacity refresh failed; retrying on the next change'));
        this.running.set(siteId, run);
      }, this.coalesceMs),
    );
  }

  /** Load and level now (a dashboard's first model): the cached shared level, or the load's own before there is one. */
  async current(siteId: string): Promise<{ level: Level; load: TodayLoad } | undefined> {
    const site = this.ctx.sites.site(siteId);
    if (!site) return undefined;
    const load = await todayLoad(this.repo, site, this.ctx.clock());
    const level = this.levels.get(siteId)?.level ?? nextLevel(null, { load: load.load, date: load.date }, site.capacity).level;
    return { level, load };
  }

  /** Today's level; undefined until the first refresh of the day (just after midnight). */
  level(siteId: string): Level | undefined {
    const l = this.levels.get(siteId);
    const site = this.ctx.sites.site(siteId);
    if (!l || !site) return undefined;
    return l.date === localDate(this.ctx.clock(), site.catalogue.timeZone) ? l.level : undefined;
  }

  async refresh(siteId: string): Promise<void> {
    const site = this.ctx.sites.site(siteId);
    if (!site || this.closed) return;
    const now = this.ctx.clock();
    const load = await todayLoad(this.repo, site, now);
    const prev = await this.sharedLevel(siteId);
    const next = nextLevel(prev, { load: load.load, date: load.date }, site.capacity);
    let level = next.level;
    let announce = false;
    if (next.changed) {
      // Another instance may be making the same change: only the one whose write wins announces.
      if (await this.claimLevel(siteId, prev, { level, date: load.date })) announce = !(prev === null && level === 'green'); // a first look that finds the park green has nothing to announce
      else level = (await this.sharedLevel(siteId))?.level ?? level;
    }
    this.announceLevel(siteId, load.date, level);
    const unsigned = { ...capacityMessage(site.capacity, siteId, { level, date: load.date }, load.load, now), admitted: load.admitted, soldForToday: load.soldToday };
    const key = `${unsigned.date}|${unsigned.level}|${unsigned.load}`;
    if (this.lastPublished.get(siteId) !== key) {
      const capacity: CapacityMessage = this.ctx.sites.keys.sign(siteId, unsigned);
      // Remembered only once published: a failed publish is tried again on the next refresh.
      await this.ctx.publisher.publish(capacityTopic(siteId), JSON.stringify(capacity), { qos: 1, retain: true }).then(
        () => this.lastPublished.set(siteId, key),
        (err: Error) => this.ctx.log.warn({ site: siteId, err: err.message }, 'capacity not published; retrying on the next refresh'),
      );
    }
    if (announce) await this.levelChanged(site, prev?.level ?? null, level, load.load, now);
    await this.alertNewConflicts(siteId, now);
    this.ctx.events.emit('capacity', { site: siteId, level, load, at: now });
  }

  /** A `level` site event whenever the level this instance serves for a date is new to it (its first refresh, a change by any instance, a new day). */
  private announceLevel(site: string, date: string, level: Level): void {
    const key = `${date}|${level}`;
    if (this.lastLevelEvent.get(site) === key) return;
    this.lastLevelEvent.set(site, key);
    this.ctx.events.emit('level', { site, date, level });
  }

  /** The site's level as all instances share it (null before the first). */
  private async sharedLevel(siteId: string): Promise<{ level: Level; date: string } | null> {
    const shared = await this.repo.sharedLevel(siteId);
    if (!shared) {
      this.levels.delete(siteId);
      return null;
    }
    this.levels.set(siteId, shared);
    return { level: shared.level, date: shared.date };
  }

  /** Compare-and-set of the shared level: true if this instance made the change. */
  private async claimLevel(siteId: string, prev: { level: Level; date: string } | null, to: { level: Level; date: string }): Promise<boolean> {
    if (prev === null) {
      const won = await this.repo.insertFirstLevel(siteId, to);
      if (won) this.levels.set(siteId, { ...to, version: 1 });
      return won;
    }
    const version = this.levels.get(siteId)?.version ?? 0;
    const won = await this.repo.updateLevel(siteId, version, to);
    if (won) this.levels.set(siteId, { ...to, version: version + 1 });
    return won;
  }

  private async levelChanged(site: SalesSite, from: Level | null, to: Level, load: number, now: Date): Promise<void> {
    const announcement = this.ctx.sites.keys.sign(site.id, announcementMessage(site.capacity, site.id, to, load, now));
    this.ctx.log.warn({ site: site.id, from, to, load, alert: 'capacity_level' }, 'capacity level changed');
    await this.ctx.publisher.publish(announceTopic(site.id), JSON.stringify(announcement), { qos: 1 }).catch((err: Error) => this.ctx.log.warn({ site: site.id, err: err.message }, 'announcement not published'));
    await this.alerts.raise(levelAlert(site.id, from, to, announcement.text, load, site.capacity.daily, now));
  }

  /** Partition conflicts found by ingest and not alerted yet: one staff alert each, from the instance that claims it. */
  private async alertNewConflicts(siteId: string, now: Date): Promise<void> {
    for (const c of await this.repo.unalertedConflicts(siteId)) {
      if (!(await this.repo.claimConflict(c.id, now.toISOString()))) continue;
      await this.alerts.raise(conflictAlert(siteId, c, now));
    }
  }
}
