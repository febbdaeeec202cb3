/**
 * GET /metrics as Prometheus text (docs/metrics.md): the ingest counters of core/metrics.ts,
 * each gate's last status as the cloud holds it, and each site's load and capacity level
 * from the capacity module's `capacity` events. prom-client is loaded on the first scrape,
 * and the gates' rows are read once per scrape.
 */
import { CAPACITY_LEVELS } from '@stile/config';
import { counterFrom, createMetricsRegistry, gaugeFrom, type MetricSetter, type Prom, type Registry } from '@stile/service';
import type { CloudStore } from './db/store.js';
import type { SiteEventMap, SiteEvents } from './events.js';
import type { Metrics } from './metrics.js';
import type { SiteRegistry } from './sites.js';

export interface CloudPrometheusDeps {
  metrics: Metrics;
  events: SiteEvents;
  store: CloudStore;
  sites: SiteRegistry;
}

/** One gate as its last status message left it. */
export interface GateFigures {
  site: string;
  gate: string;
  online: boolean;
  statusAt: string | null;
  outboxDepth: number | null;
  whitelistSeq: number | null;
}

export class CloudPrometheus {
  private registry: Promise<Registry> | undefined;
  private readonly capacity = new Map<string, SiteEventMap['capacity']>();
  private gates: GateFigures[] = [];
  private heads = new Map<string, number>();
  private readonly off: () => void;

  constructor(private readonly d: CloudPrometheusDeps) {
    // Kept from the start (a small map): the first scrape already knows every site's level.
    this.off = d.events.on('capacity', (e) => this.capacity.set(e.site, e));
  }

  /** The text and its content type, for the HTTP edge. */
  async render(): Promise<{ contentType: string; text: string }> {
    const registry = await (this.registry ??= this.build());
    await this.readGates();
    return { contentType: registry.contentType, text: await registry.metrics() };
  }

  close(): void {
    this.off();
  }

  private async readGates(): Promise<void> {
    const db = this.d.store.db;
    const [gates, sites] = await Promise.all([
      db.selectFrom('gate_state').select(['site', 'gate', 'online', 'last_status', 'status_at']).execute(),
      db.selectFrom('sites').select(['id', 'delta_seq']).execute(),
    ]);
    this.gates = gates.map((g) => ({ site: g.site, gate: g.gate, online: Number(g.online) === 1, statusAt: g.status_at, ...statusFigures(g.last_status) }));
    this.heads = new Map(sites.map((s) => [s.id, Number(s.delta_seq)]));
  }

  private async build(): Promise<Registry> {
    const { prom, registry } = await createMetricsRegistry();
    defineCloudMetrics(prom, registry, this.d.metrics, {
      gates: () => this.gates,
      heads: () => this.heads,
      capacity: () => this.capacity,
      daily: (site) => this.d.sites.site(site)?.capacity.daily,
    });
    return registry;
  }
}

/** outboxDepth and whitelistSeq from a stored GateStatus message; null where it has none. */
export function statusFigures(raw: string | null): Pick<GateFigures, 'outboxDepth' | 'whitelistSeq'> {
  try {
    const s = JSON.parse(raw ?? 'null') as { outboxDepth?: unknown; whitelistSeq?: unknown } | null;
    const depth = typeof s?.outboxDepth === 'number' ? s.outboxDepth : null;
    const seq = typeof s?.whitelistSeq === 'string' && /^\d+$/.test(s.whitelistSeq) ? Number(s.whitelistSeq) : null;
    return { outboxDepth: depth, whitelistSeq: seq };
  } catch {
    return { outboxDepth: null, whitelistSeq: null };
  }
}

interface CloudSources {
  gates: () => readonly GateFigures[];
  heads: () => ReadonlyMap<string, number>;
  capacity: () => ReadonlyMap<string, SiteEventMap['capacity']>;
  daily: (site: string) => number | undefined;
}

export function defineCloudMetrics(prom: Prom, registry: Registry, m: Metrics, src: CloudSources): void {
  const p = 'stile_cloud_';
  const count = (name: string, help: string, value: () => number) => counterFrom(prom, registry, { name: `${p}${name}`, help }, (set) => set({}, value()));
  const byReason = (name: string, help: string, value: () => Record<string, number>) =>
    counterFrom(prom, registry, { name: `${p}${name}`, help, labelNames: ['reason'] }, (set) => Object.entries(value()).forEach(([reason, n]) => set({ reason }, n)));

  // Ingest and sync (this instance, since it started).
  count('ingest_messages_total', 'Entries messages taken off the broker (gates and kiosks).', () => m.received);
  count('ingest_events_inserted_total', 'Entry events newly stored.', () => m.inserted);
  count('ingest_events_duplicate_total', 'Entry events already stored (QoS 1 redelivery, a gate resending its outbox).', () => m.duplicates);
  byReason('ingest_dropped_total', 'Messages dropped, by reason (bad_json, schema, unknown_gate, oversized, …).', () => m.invalid);
  count('ingest_commits_total', 'Transactions that stored entries (several messages can share one).', () => m.ingestCommits);
  count('partition_conflicts_total', 'Tickets admitted beyond what they allow (two gates apart while offline).', () => m.conflicts);
  count('db_errors_total', 'Messages not acknowledged because the database write failed.', () => m.dbErrors);
  count('seq_gaps_total', "Gaps in a gate's entry seq (a batch starting past high-water + 1).", () => m.seqGaps);
  count('deltas_published_total', 'Whitelist deltas published to the gates.', () => m.deltasPublished);
  count('publish_errors_total', 'Publishes to the broker that failed (retried).', () => m.publishErrors);
  count('status_applied_total', 'Gate status messages applied.', () => m.statusApplied);
  count('status_stale_total', 'Gate status messages older than the one held (ignored).', () => m.staleStatusIgnored);
  count('commands_sent_total', 'Signed commands sent to gates.', () => m.commandsSent);
  count('command_acks_total', 'Command acknowledgements received from gates.', () => m.acksReceived);
  byReason('anomalies_total', 'Admissions stored as anomalies that count nowhere, by reason (unknown_ticket, st2_unverified, rate_exceeded, future_time).', () => m.anomalies);
  byReason('refused_total', 'Refusals at a trust boundary, by reason (http_unauthorized, metrics_unauthorized, broker_…, …).', () => m.refused);
  gaugeFrom(prom, registry, { name: `${p}last_commit_timestamp_seconds`, help: 'When ingest last committed (Unix time; NaN until the first since start).' }, (set) => set({}, m.lastCommitAt > 0 ? m.lastCommitAt / 1000 : NaN));
  // Scheduled backups of the SQLite store (cloud.yaml `backup`, docs/backup.md).
  count('backups_total', 'Scheduled backups of the SQLite store written (this instance, since it started).', () => m.backups.done);
  count('backup_failures_total', 'Scheduled backups that failed (each also logged; the first of a run also a staff alert).', () => m.backups.failed);
  gaugeFrom(prom, registry, { name: `${p}last_backup_timestamp_seconds`, help: 'When the last scheduled backup was written (Unix time; NaN until the first since start).' }, (set) => set({}, m.backups.lastAt > 0 ? m.backups.lastAt / 1000 : NaN));

  // Gates, as their last retained status left them (the store: every instance agrees).
  const gates = (name: string, help: string, value: (g: GateFigures) => number | null) =>
    gaugeFrom(prom, registry, { name: `${p}${name}`, help, labelNames: ['site', 'gate'] }, (set) =>
      src.gates().forEach((g) => {
        const v = value(g);
        if (v !== null) set({ site: g.site, gate: g.gate }, v);
      }),
    );
  gates('gate_online', '1 while the gate says it is online or degraded, 0 after its offline will (or before its first status).', (g) => (g.online ? 1 : 0));
  gates('gate_outbox_depth', "Entries waiting in the gate's outbox, as its last status said.", (g) => g.outboxDepth);
  gates('gate_whitelist_seq', "The gate's whitelist seq, as its last status said.", (g) => g.whitelistSeq);
  gates('gate_whitelist_lag', "Whitelist changes the gate is behind the site's head, as its last status said.", (g) => (g.whitelistSeq === null ? null : Math.max(0, (src.heads().get(g.site) ?? 0) - g.whitelistSeq)));
  gates('gate_status_timestamp_seconds', 'When the gate last sent its status (Unix time).', (g) => (g.statusAt ? Date.parse(g.statusAt) / 1000 : null));
  gaugeFrom(prom, registry, { name: `${p}gates_online`, help: 'Gates online per site.', labelNames: ['site'] }, (set) => {
    const n = new Map<string, number>();
    for (const g of src.gates()) n.set(g.site, (n.get(g.site) ?? 0) + (g.online ? 1 : 0));
    n.forEach((v, site) => set({ site }, v));
  });
  gaugeFrom(prom, registry, { name: `${p}whitelist_head_seq`, help: "The site's newest whitelist delta seq.", labelNames: ['site'] }, (set) => src.heads().forEach((seq, site) => set({ site }, seq)));

  // Each selling site's day, as the capacity module last counted it (every 2 s).
  const perSite = (name: string, help: string, value: (e: SiteEventMap['capacity']) => number | undefined) =>
    gaugeFrom(prom, registry, { name: `${p}${name}`, help, labelNames: ['site'] }, (set: MetricSetter) =>
      src.capacity().forEach((e, site) => {
        const v = value(e);
        if (v !== undefined) set({ site }, v);
      }),
    );
  perSite('admitted_today', 'Persons admitted today at all gates of the site (its time zone).', (e) => e.load.admitted);
  perSite('sold_today', 'Persons sold for today through the channels.', (e) => e.load.soldToday);
  perSite('capacity_load', "Today's load: sold for today plus walk-ins; the level is computed from it.", (e) => e.load.load);
  perSite('capacity_daily', "The site's daily capacity (persons).", (e) => src.daily(e.site));
  gaugeFrom(prom, registry, { name: `${p}capacity_level`, help: "The site's capacity level today: 1 on the current level (green, yellow, orange, red).", labelNames: ['site', 'level'] }, (set) =>
    src.capacity().forEach((e, site) => CAPACITY_LEVELS.forEach((level) => set({ site, level }, level === e.level ? 1 : 0))),
  );
}
