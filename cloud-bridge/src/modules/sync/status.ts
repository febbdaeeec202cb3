import { GateStatusSchema, MAX_EPOCH_JUMP, zodIssueLines } from '@stile/config';
import type { Logger } from '../../core/log.js';
import type { Metrics } from '../../core/metrics.js';
import type { SiteKeys } from '../../core/sites.js';
import type { CloudStore } from '../../core/db/store.js';
import { parseGateTopic } from '../../core/mqtt/topics.js';
import type { UnknownGatePolicy } from './entries.js';
import type { SyncRepository } from './repository.js';

export interface StatusIngestOptions {
  /** The gates' rows (known or not). */
  store: CloudStore;
  repository: SyncRepository;
  keys: SiteKeys;
  metrics: Metrics;
  log: Logger;
  unknownGates?: UnknownGatePolicy;
}

/**
 * Retained gate status (and its LWT) → gate_state. Always acknowledged. An older epoch is
 * stale (a late Last Will); an epoch more than MAX_EPOCH_JUMP above the one the cloud knows
 * is refused, so one forged or corrupt retained status cannot pin the gate's epoch.
 */
export class StatusIngest {
  private readonly store: CloudStore;
  private readonly repository: SyncRepository;
  private readonly keys: SiteKeys;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  private readonly unknownGates: UnknownGatePolicy;

  constructor(opts: StatusIngestOptions) {
    this.store = opts.store;
    this.repository = opts.repository;
    this.keys = opts.keys;
    this.metrics = opts.metrics;
    this.log = opts.log;
    this.unknownGates = opts.unknownGates ?? 'reject';
  }

  async handle(topic: string, payload: Buffer): Promise<void> {
    if (payload.length === 0) return; // a cleared retained message
    const where = parseGateTopic(topic);
    if (!where || where.leaf !== 'status' || !this.keys.has(where.site)) return;
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      this.metrics.drop('status_bad_json');
      return;
    }
    const parsed = GateStatusSchema.safeParse(json);
    if (!parsed.success) {
      this.metrics.drop('status_schema');
      this.log.warn({ topic, issues: zodIssueLines(parsed.error.issues, { limit: 3 }) }, 'gate status dropped');
      return;
    }
    try {
      if (this.unknownGates === 'reject' && !(await this.store.gateKnown(where.site, where.gate))) {
        this.metrics.drop('status_unknown_gate');
        return;
      }
      const s = parsed.data;
      const r = await this.repository.recordStatus(where.site, where.gate, s, payload.toString('utf8'), MAX_EPOCH_JUMP);
      if (r === 'epoch_jump') {
        this.metrics.drop('status_epoch_jump');
        const known = (await this.repository.gateState(where.site, where.gate))?.epoch ?? 0;
        this.log.warn({ site: where.site, gate: where.gate, epoch: s.epoch, known, maxJump: MAX_EPOCH_JUMP }, 'gate status refused: epoch too far ahead of the known one');
      } else if (r === 'stale') {
        this.metrics.staleStatusIgnored++;
        this.log.info({ site: where.site, gate: where.gate, state: s.state, epoch: s.epoch }, 'stale gate status ignored (older epoch)');
      } else {
        this.metrics.statusApplied++;
      }
    } catch (err) {
      this.metrics.dbErrors++;
      this.log.error({ err, topic }, 'gate status not stored');
    }
  }
}
