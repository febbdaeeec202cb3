/**
 * The announcer's Prometheus figures (docs/metrics.md), read from the running daemon at each
 * scrape: what it said, what it could not say, what it refused, and whether it listens.
 * Served only with a `metrics:` section in announcer.yaml; prom-client is loaded then only.
 */
import type { Logger } from 'pino';
import { CAPACITY_LEVELS } from '@stile/config';
import { counterFrom, gaugeFrom, startConfiguredMetrics, type Prom, type Registry } from '@stile/service';
import type { AnnouncerConfig } from './config.js';
import type { AnnouncerDaemon } from './daemon.js';

export interface AnnouncerMetrics {
  readonly url: string;
  close(): Promise<void>;
}

/** Start the metrics server of announcer.yaml's `metrics:`; undefined without one, or when it cannot start (logged: the PA keeps speaking). */
export async function startAnnouncerMetrics(cfg: AnnouncerConfig, daemon: AnnouncerDaemon, log: Logger): Promise<AnnouncerMetrics | undefined> {
  if (!cfg.metrics) return undefined;
  try {
    const server = await startConfiguredMetrics(cfg.metrics, log, (prom, registry) => defineAnnouncerMetrics(prom, registry, cfg, daemon));
    log.info({ event: 'metrics_started', url: server.url }, `metrics at ${server.url}`);
    return server;
  } catch (err) {
    log.error({ event: 'metrics_unavailable', err: (err as Error).message }, 'metrics not served; the announcer runs on without them');
    return undefined;
  }
}

export function defineAnnouncerMetrics(prom: Prom, registry: Registry, cfg: AnnouncerConfig, daemon: AnnouncerDaemon): void {
  const p = 'stile_announcer_';
  const a = daemon.announcer;
  new prom.Gauge({ name: `${p}info`, help: 'Always 1; labels name the site and the PA device.', labelNames: ['site', 'device'], registers: [registry] }).set({ site: cfg.site.id, device: cfg.device.id }, 1);
  counterFrom(prom, registry, { name: `${p}played_total`, help: 'Announcements said to the end (repeats included).' }, (set) => set({}, a.stats.spoken));
  counterFrom(prom, registry, { name: `${p}repeats_total`, help: 'Repeats of a held announcement started.' }, (set) => set({}, a.stats.repeats));
  counterFrom(prom, registry, { name: `${p}failed_total`, help: 'Announcements that could not be said (no speech engine, player failed, …): see the log line speech_failed.' }, (set) => set({}, a.stats.failed));
  counterFrom(prom, registry, { name: `${p}interrupted_total`, help: 'Announcements cut short by a newer one or a level change.' }, (set) => set({}, a.stats.interrupted));
  counterFrom(prom, registry, { name: `${p}refused_total`, help: 'Messages not acted on, by reason (bad_signature, too_old, replayed, …).', labelNames: ['reason'] }, (set) =>
    Object.entries(a.refusals).forEach(([reason, n]) => set({ reason }, n ?? 0)),
  );
  gaugeFrom(prom, registry, { name: `${p}last_played_timestamp_seconds`, help: 'When an announcement was last said to the end (Unix time; NaN until the first since start).' }, (set) =>
    set({}, a.lastSpokenAt === null ? NaN : a.lastSpokenAt / 1000),
  );
  gaugeFrom(prom, registry, { name: `${p}level`, help: "The park's capacity level as last verified: 1 on the current level (green, yellow, orange, red).", labelNames: ['level'] }, (set) => {
    const now = a.currentLevel;
    for (const level of CAPACITY_LEVELS) set({ level }, level === now ? 1 : 0);
  });
  gaugeFrom(prom, registry, { name: `${p}repeating`, help: '1 while a held announcement is being repeated.' }, (set) => set({}, a.holding ? 1 : 0));
  gaugeFrom(prom, registry, { name: `${p}broker_connected`, help: "1 while connected to the broker and subscribed to the site's announcements." }, (set) => set({}, daemon.status.connected && daemon.status.subscribed ? 1 : 0));
}
