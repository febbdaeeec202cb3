import { kioskTopics } from '@stile/config';
import type { Alerts } from '../../core/alerts.js';
import type { CloudModule, ModuleContext } from '../../core/module.js';
import type { IngestLedger } from '../../core/ports.js';
import { KioskAlerts } from './alerts.js';
import { KioskIngest } from './ingest.js';
import { PackPublisher } from './pack.js';
import { KioskRepository } from './repository.js';

export interface KiosksModuleDeps {
  /** Stages the offline tickets as whitelist deltas in the batch's transaction (the whitelist module). */
  ledger: Pick<IngestLedger, 'lockSite' | 'stageChanges' | 'announce' | 'getTicket'>;
  isRevoked: (site: string, kiosk: string) => Promise<boolean>;
  alerts: Pick<Alerts, 'raise'>;
  /** How often the packs are looked at (a new local day); default 60 s. */
  packEveryMs?: number;
}

export interface KiosksModule extends CloudModule {
  readonly repository: KioskRepository;
  readonly packs: PackPublisher;
}

/**
 * The kiosks (issue #17 point 4): their records through `stile/{site}/kiosks/{kiosk}/sales`
 * with signed receipts, offline sales counted into capacity and reports, and each kiosk's
 * signed offline pack. See docs/kiosk-offline.md.
 */
export function createKiosksModule(ctx: ModuleContext, deps: KiosksModuleDeps): KiosksModule {
  const repository = new KioskRepository(ctx.store);
  const alerts = new KioskAlerts(deps.alerts, ctx.clock);
  const ingest = new KioskIngest({
    store: ctx.store,
    repository,
    ledger: deps.ledger,
    sites: ctx.sites,
    metrics: ctx.metrics,
    log: ctx.log,
    clock: ctx.clock,
    isRevoked: deps.isRevoked,
    changed: (site) => ctx.events.emit('changed', { site }),
    onAnomalies: (site, kiosk, counts) => alerts.raise(site, kiosk, counts),
    // Not awaited: if it is lost, the kiosk sends the batch again and gets the duplicates' receipt.
    receipt: (site, kiosk, r) => {
      const ack = ctx.sites.keys.sign(site, { v: 1 as const, site, kiosk, ...r });
      ctx.publisher.publish(kioskTopics.salesAck(site, kiosk), JSON.stringify(ack), { qos: 1 }).catch((err: Error) => ctx.log.warn({ site, kiosk, err: err.message }, 'kiosk receipt not published; the kiosk will send again'));
    },
  });
  const packs = new PackPublisher({ sites: ctx.sites, publisher: ctx.publisher, clock: ctx.clock, log: ctx.log, ...(deps.packEveryMs !== undefined ? { everyMs: deps.packEveryMs } : {}) });
  return {
    name: 'kiosks',
    repository,
    packs,
    kioskMqtt: { sales: async (topic, payload) => (await ingest.handle(topic, payload)) === 'ack' },
    start: () => packs.start(),
    stop: () => {
      packs.stop();
      return Promise.resolve();
    },
  };
}
