import type { Alerts } from '../../core/alerts.js';
import type { CloudModule, ModuleContext } from '../../core/module.js';
import type { IngestLedger } from '../../core/ports.js';
import { AnomalyAlerts } from './anomaly-alerts.js';
import { EntriesIngest, type UnknownGatePolicy } from './entries.js';
import { receiptPublisher } from './receipts.js';
import { SyncRepository } from './repository.js';
import { StatusIngest } from './status.js';

export interface SyncModuleDeps {
  /** Tickets, seqs and used-elsewhere deltas (the whitelist module). */
  ledger: IngestLedger;
  /** A gate whose credential was revoked: its messages are refused (acknowledged, not stored). */
  isRevoked: (site: string, gate: string) => Promise<boolean>;
  /** register: a gate seen for the first time is added; reject (default): only known gates count. */
  unknownGates?: UnknownGatePolicy;
  /** Admissions per second a lane of this site can pass (0: unchecked). */
  maxAdmissionsPerSecond: (site: string) => number;
  /** Staff alerts for gates reporting admissions the cloud does not believe. */
  alerts: Pick<Alerts, 'raise'>;
  /** Commit pipelines of the entries ingest (default: 2 on PostgreSQL, 1 on SQLite). */
  pipelines?: number;
}

export interface SyncModule extends CloudModule {
  readonly repository: SyncRepository;
}

/**
 * What the gates report: their entries (stored in group commits, each message answered with
 * a signed receipt) and their retained status. A stored admission changes the site's load:
 * announced as `changed`.
 */
export function createSyncModule(ctx: ModuleContext, deps: SyncModuleDeps): SyncModule {
  const keys = ctx.sites.keys;
  const repository = new SyncRepository(ctx.store, ctx.clock);
  const unknownGates = deps.unknownGates ?? 'reject';
  const receipt = receiptPublisher({ mqtt: ctx.publisher, keys, log: ctx.log });
  const anomalies = new AnomalyAlerts(deps.alerts, ctx.clock);
  const entries = new EntriesIngest({
    store: ctx.store,
    repository,
    ledger: deps.ledger,
    keys,
    metrics: ctx.metrics,
    log: ctx.log,
    clock: ctx.clock,
    unknownGates,
    isRevoked: deps.isRevoked,
    maxAdmissionsPerSecond: deps.maxAdmissionsPerSecond,
    receipt: (site, gate, r) => {
      ctx.events.emit('changed', { site });
      receipt(site, gate, r);
    },
    onAnomalies: (site, gate, counts) => anomalies.raise(site, gate, counts),
    ...(deps.pipelines !== undefined ? { pipelines: deps.pipelines } : {}),
  });
  const status = new StatusIngest({ store: ctx.store, repository, keys, metrics: ctx.metrics, log: ctx.log, unknownGates });
  return {
    name: 'sync',
    repository,
    mqtt: {
      entries: async (topic, payload) => (await entries.handle(topic, payload)) === 'ack',
      status: async (topic, payload) => {
        await status.handle(topic, payload);
        return true;
      },
    },
  };
}
