import { topics } from '@stile/config';
import type { Db } from '../../core/db/store.js';
import type { Logger } from '../../core/log.js';
import type { Metrics } from '../../core/metrics.js';
import type { Publisher } from '../../core/mqtt/publisher.js';
import type { WhitelistRepository } from './repository.js';

/** Deltas read and published per pass. */
const PUBLISH_BATCH = 500;
/** How often a site is checked for committed deltas nobody published (another instance's, a failed publish). */
const SWEEP_MS = 500;

export interface WhitelistPublisherOptions {
  repository: WhitelistRepository;
  /** The connection deltas and heads go out on. */
  mqtt: Publisher;
  log: Logger;
  metrics: Metrics;
  /** Where gates fetch the site's snapshot; put into the retained head when set. */
  snapshotUrl?: (site: string) => string | undefined;
}

/**
 * Publishes every stored delta a site has not published yet, **in seq order** (QoS 1 on the
 * delta topic, then the retained head). Publication reads from the deltas table under the
 * site's publisher lock (one instance at a time on PostgreSQL) and records how far it got,
 * so concurrent commits, several ingest connections or several cloud-bridge instances never
 * put delta 7 on the wire before delta 6 — a gate would see a gap and resync over HTTP. A
 * delta committed but not published (broker down, crash) goes out on the next pass or sweep.
 */
export class WhitelistPublisher {
  private readonly running = new Map<string, Promise<void>>();
  /** Kicks waiting for the next pass to start and finish, per site. */
  private readonly waiting = new Map<string, (() => void)[]>();
  private sweep: ReturnType<typeof setInterval> | null = null;
  private closed = false;
  private readonly repository: WhitelistRepository;
  private readonly mqtt: Publisher;
  private readonly log: Logger;
  private readonly metrics: Metrics;
  private readonly snapshotUrl: (site: string) => string | undefined;

  constructor(opts: WhitelistPublisherOptions) {
    this.repository = opts.repository;
    this.mqtt = opts.mqtt;
    this.log = opts.log;
    this.metrics = opts.metrics;
    this.snapshotUrl = opts.snapshotUrl ?? (() => undefined);
  }

  /** After the commit: publish the site's unpublished deltas in order (this one among them). Never rejects. */
  announce(site: string): Promise<void> {
    return this.kick(site);
  }

  /** Check every `sites()` site now and then for committed deltas nobody published. */
  startSweep(sites: () => string[]): void {
    this.sweep = setInterval(() => {
      // One query for every site behind, not two per site: the sweep's cost must not grow with the fleet.
      const mine = new Set(sites());
      void this.repository.sitesBehind(this.repository.db).then(
        (behind) => {
          for (const site of behind) if (mine.has(site) && !this.running.has(site)) void this.kick(site);
        },
        () => undefined,
      );
    }, SWEEP_MS);
    this.sweep.unref();
  }

  close(): void {
    this.closed = true;
    if (this.sweep) clearInterval(this.sweep);
  }

  /**
   * One publishing pass per site at a time. A kick resolves when the first pass that starts
   * after it has finished (so its delta is out), not when the whole run of passes ends: under
   * steady admissions a new delta arrives during nearly every pass, and a sale's answer waited
   * on the run for up to 55 s (bench/mixed.js).
   */
  private kick(site: string): Promise<void> {
    const done = new Promise<void>((resolve) => {
      const list = this.waiting.get(site);
      if (list) list.push(resolve);
      else this.waiting.set(site, [resolve]);
    });
    if (!this.running.has(site)) this.run(site);
    return done;
  }

  private run(site: string): void {
    const loop = (async () => {
      for (;;) {
        const batch = this.waiting.get(site);
        if (!batch || batch.length === 0 || this.closed) break;
        this.waiting.set(site, []);
        await this.publishPending(site);
        for (const resolve of batch) resolve();
      }
    })().finally(() => {
      this.running.delete(site);
      const left = this.waiting.get(site) ?? [];
      if (left.length === 0) return;
      // A kick that came between the last check and here gets its own pass; once closed, nobody waits forever.
      if (!this.closed) return this.run(site);
      this.waiting.set(site, []);
      for (const resolve of left) resolve();
    });
    this.running.set(site, loop);
  }

  /** The retained head at `seq`, then `seq` marked published. */
  private async publishHead(db: Db, site: string, seq: number): Promise<void> {
    const url = this.snapshotUrl(site);
    await this.mqtt.publish(topics.whitelistHead(site), JSON.stringify({ v: 1, seq: String(seq), ...(url ? { snapshotUrl: url } : {}) }), { qos: 1, retain: true });
    await this.repository.markDeltasPublished(db, site, seq);
  }

  private async publishPending(site: string): Promise<void> {
    try {
      await this.repository.asDeltaPublisher(site, async (db) => {
        for (;;) {
          const { published, head } = await this.repository.deltaProgress(db, site);
          const deltas = await this.repository.deltasAfter(db, site, published, PUBLISH_BATCH);
          if (deltas.length === 0) {
            // A head past every stored delta (the store was restored from a backup and its seq
            // moved on: docs/backup.md): announced, so the gates ahead of the backup resnapshot.
            if (head > published) await this.publishHead(db, site, head);
            return;
          }
          const first = Number(deltas[0]!.seq);
          if (first !== published + 1) this.log.warn({ site, published, next: first }, 'deltas after the last published one were pruned; gates behind will resnapshot');
          // In order on one connection: the broker keeps the order per topic; wait for every PUBACK.
          await Promise.all(deltas.map((d) => this.mqtt.publish(topics.whitelistDelta(site), JSON.stringify(d), { qos: 1 })));
          this.metrics.deltasPublished += deltas.length;
          await this.publishHead(db, site, Number(deltas[deltas.length - 1]!.seq));
          if (deltas.length < PUBLISH_BATCH) return;
        }
      });
    } catch (err) {
      this.metrics.publishErrors++;
      this.log.warn({ err, site }, 'whitelist deltas stored but not published yet; the next pass or sweep sends them');
    }
  }
}
