import type { TicketType, WhitelistChange, WhitelistDelta } from '@stile/config';
import type { CloudModule, ModuleContext } from '../../core/module.js';
import type { IngestLedger } from '../../core/ports.js';
import { gateRoutes, type GateAuth } from './gate-routes.js';
import { WhitelistLedger } from './ledger.js';
import { WhitelistPublisher } from './publisher.js';
import { WhitelistRepository } from './repository.js';

export interface WhitelistModuleDeps {
  /** Checks a gate's HTTP Basic credential for a site (the device registry). */
  gateAuth: GateAuth;
  /** The catalogue's gate rules for a site (sites with sales), for GET …/ticket-types. */
  ticketTypes(site: string): TicketType[] | undefined;
  /** Where gates fetch the site's snapshot; put into the retained head when set. */
  snapshotUrl?: (site: string) => string | undefined;
  /** Deltas kept per site for changes?since (default 10,000). */
  retainDeltas?: number;
}

export interface WhitelistModule extends CloudModule {
  /** What sales (stage, announce) and the ingest (its commit group) do to the tickets and deltas. */
  readonly ledger: IngestLedger;
  /** Apply `changes` to the site's tickets as one delta, and publish it. */
  publishChanges(site: string, changes: WhitelistChange[]): Promise<WhitelistDelta>;
  readonly repository: WhitelistRepository;
}

/**
 * The site's ticket whitelist: tickets and their signed, gap-free deltas, published to the
 * gates in seq order; the gates' snapshot, changes and ticket-type routes.
 */
export function createWhitelistModule(ctx: ModuleContext, deps: WhitelistModuleDeps): WhitelistModule {
  const keys = ctx.sites.keys;
  const repository = new WhitelistRepository(ctx.store, { clock: ctx.clock, ...(deps.retainDeltas !== undefined ? { retainDeltas: deps.retainDeltas } : {}) });
  const publisher = new WhitelistPublisher({ repository, mqtt: ctx.publisher, log: ctx.log, metrics: ctx.metrics, ...(deps.snapshotUrl ? { snapshotUrl: deps.snapshotUrl } : {}) });
  const ledger = new WhitelistLedger(repository, keys, publisher);
  return {
    name: 'whitelist',
    ledger,
    repository,
    publishChanges: (site, changes) => ledger.publishChanges(site, changes),
    gateRoutes: (app) => gateRoutes(app, { repository, keys, log: ctx.log, metrics: ctx.metrics, gateAuth: deps.gateAuth, ticketTypes: deps.ticketTypes, gateMarks: (site, gate) => ctx.store.gateMarks(site, gate), clock: ctx.clock }),
    // Deltas committed but not published (another instance's, a failed publish) go out on the sweep.
    start: () => Promise.resolve(publisher.startSweep(() => ctx.sites.ids)),
    stop: () => Promise.resolve(publisher.close()),
  };
}
