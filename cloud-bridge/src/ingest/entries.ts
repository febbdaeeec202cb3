import { EntriesMessageSchema, SnapshotTicketSchema, type EntryEvent, type WhitelistChange, type WhitelistDelta } from '@stile/config';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { SiteKeys } from '../sites.js';
import type { CloudStore, Db } from '../store/store.js';
import { parseGateTopic } from '../topics.js';
import type { WhitelistPublisher } from '../whitelist/publisher.js';

export const MAX_ENTRIES_PAYLOAD = 256 * 1024;
const MAX_SEQ = 2n ** 63n - 1n;

/** register: a gate seen for the first time is added; reject: only gates in the store (config) count. */
export type UnknownGatePolicy = 'register' | 'reject';

/** ack: send the PUBACK (stored, duplicate, or dropped as invalid); retry: do not ack, the broker redelivers. */
export type IngestOutcome = 'ack' | 'retry';

interface BatchResult {
  inserted: number;
  duplicates: number;
  conflicts: number;
  gap: boolean;
  delta: WhitelistDelta | null;
}

/**
 * Gate entries → database. One message is one transaction: the events (idempotent on
 * eventId and on (site, gate, seq)), ticket usage, partition conflicts, the gate's
 * high-water mark and the used-elsewhere delta commit together or not at all.
 */
export class EntriesIngest {
  constructor(
    private readonly store: CloudStore,
    private readonly keys: SiteKeys,
    private readonly whitelist: WhitelistPublisher,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly unknownGates: UnknownGatePolicy = 'reject',
  ) {}

  async handle(topic: string, payload: Buffer): Promise<IngestOutcome> {
    this.metrics.received++;
    const drop = (reason: string, detail?: unknown): IngestOutcome => {
      this.metrics.drop(reason);
      this.log.warn({ topic, reason, detail }, 'entries message dropped');
      return 'ack';
    };
    if (payload.length > MAX_ENTRIES_PAYLOAD) return drop('oversized', { bytes: payload.length });
    const where = parseGateTopic(topic);
    if (!where || where.leaf !== 'entries') return drop('bad_topic');
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      return drop('bad_json');
    }
    const parsed = EntriesMessageSchema.safeParse(json);
    if (!parsed.success) return drop('schema', parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`));
    const msg = parsed.data;
    if (msg.site !== where.site || msg.gate !== where.gate) return drop('topic_mismatch', { site: msg.site, gate: msg.gate });
    if (!this.keys.has(msg.site)) return drop('unknown_site', { site: msg.site });
    if (msg.events.some((e) => BigInt(e.seq) > MAX_SEQ || (e.refSeq !== undefined && BigInt(e.refSeq) > MAX_SEQ))) return drop('seq_out_of_range');

    let result: BatchResult | null;
    try {
      result = await this.store.db.transaction().execute(async (trx) => {
        if (!(await this.store.gateKnown(msg.site, msg.gate, trx))) {
          if (this.unknownGates === 'reject') return null;
          await this.store.registerGate(msg.site, msg.gate, trx);
          this.log.info({ site: msg.site, gate: msg.gate }, 'new gate registered');
        }
        return this.storeBatch(trx, msg.site, msg.gate, msg.events);
      });
    } catch (err) {
      this.metrics.dbErrors++;
      this.log.error({ err, topic }, 'entries not stored; message left unacknowledged for redelivery');
      return 'retry';
    }
    if (result === null) return drop('unknown_gate', { site: msg.site, gate: msg.gate });
    this.metrics.inserted += result.inserted;
    this.metrics.duplicates += result.duplicates;
    this.metrics.conflicts += result.conflicts;
    if (result.gap) this.metrics.seqGaps++;
    // Published after the commit, and not awaited: the PUBACK for the entries must not wait
    // on the broker's PUBACK for the delta (both travel through the same client).
    if (result.delta) void this.whitelist.announce(result.delta);
    return 'ack';
  }

  private async storeBatch(trx: Db, site: string, gate: string, events: EntryEvent[]): Promise<BatchResult> {
    const receivedAt = new Date().toISOString();
    // Order by seq, not arrival, so an admission precedes its not-passed correction.
    const ordered = [...events].sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : BigInt(a.seq) > BigInt(b.seq) ? 1 : 0));
    const usage = new Map<string, number>();
    let inserted = 0;
    let conflicts = 0;
    for (const e of ordered) {
      if (!(await this.store.insertEntry(trx, site, gate, e, receivedAt))) continue;
      inserted++;
      const outcome = e.kind === 'admit' ? await this.applyAdmit(trx, site, gate, e) : await this.applyNotPassed(trx, site, gate, e);
      if (outcome.conflict) conflicts++;
      if (outcome.entriesUsed !== null) usage.set(e.ticketId, outcome.entriesUsed);
    }
    const first = ordered[0]!;
    const last = ordered[ordered.length - 1]!;
    const prevHigh = await this.store.raiseHighSeq(trx, site, gate, BigInt(last.seq));
    const gap = inserted > 0 && BigInt(first.seq) > prevHigh + 1n;
    if (gap) this.log.warn({ site, gate, after: prevHigh.toString(), next: first.seq }, 'gap in gate entry seq (out of order or missing batch)');

    let delta: WhitelistDelta | null = null;
    if (usage.size > 0) {
      const changes: WhitelistChange[] = [...usage].map(([ticketId, entriesUsed]) => ({ op: 'used-elsewhere', ticketId, gate, entriesUsed }));
      delta = await this.whitelist.appendDelta(trx, site, changes);
      await this.store.markTicketsChanged(trx, site, [...usage.keys()], Number(delta.seq));
    }
    return { inserted, duplicates: events.length - inserted, conflicts, gap, delta };
  }

  /** A new admission: count it on the ticket; beyond what the ticket allows is a partition conflict. */
  private async applyAdmit(trx: Db, site: string, gate: string, e: EntryEvent): Promise<{ entriesUsed: number | null; conflict: boolean }> {
    // Its full not-passed correction arrived first (batches out of order): net zero.
    const back = await this.store.notPassedFor(trx, site, gate, e.seq);
    if (back !== null && back >= e.persons) return { entriesUsed: null, conflict: false };
    const t = await this.store.getTicket(site, e.ticketId, trx);
    if (!t) {
      // Not sold through the cloud (a signed offline ticket): learn it from the admission,
      // so other gates hear it is used. Only ids a snapshot can carry.
      const learned = SnapshotTicketSchema.safeParse({ ticketId: e.ticketId, typeId: e.typeId, status: 'valid', visitDate: e.at.slice(0, 10), persons: e.persons, entriesUsed: 1 });
      if (!learned.success) {
        this.log.warn({ site, gate, ticketId: e.ticketId }, 'admission of a ticket the cloud does not know and cannot learn (bad id); usage not tracked');
        return { entriesUsed: null, conflict: false };
      }
      await this.store.upsertTicket(trx, site, learned.data, null);
      return { entriesUsed: 1, conflict: false };
    }
    const used = t.entriesUsed + 1;
    let conflict = false;
    if (used > t.maxEntries) {
      const earlier = await this.store.earlierAdmission(trx, site, e.ticketId, gate, e.seq);
      conflict = await this.store.insertConflict(trx, {
        site,
        ticketId: e.ticketId,
        firstGate: earlier?.gate ?? null,
        firstSeq: earlier?.seq ?? null,
        secondGate: gate,
        secondSeq: e.seq,
      });
      if (conflict) {
        this.log.warn(
          { alert: 'partition_conflict', site, ticketId: e.ticketId, first: earlier, second: { gate, seq: e.seq }, entriesUsed: used, maxEntries: t.maxEntries },
          'ticket admitted more often than it allows (gates admitted it while partitioned)',
        );
      }
    }
    await this.store.setTicketUsage(trx, site, e.ticketId, used);
    return { entriesUsed: used, conflict };
  }

  /** Nobody of the admission walked through: the gate gave the entry back, and so does the cloud. */
  private async applyNotPassed(trx: Db, site: string, gate: string, e: EntryEvent): Promise<{ entriesUsed: number | null; conflict: boolean }> {
    const admitted = await this.store.admissionPersons(trx, site, gate, e.refSeq!);
    // Admission not here yet: applyAdmit sees this correction when it arrives.
    if (admitted === null || e.persons < admitted) return { entriesUsed: null, conflict: false };
    const t = await this.store.getTicket(site, e.ticketId, trx);
    if (!t) return { entriesUsed: null, conflict: false };
    const used = Math.max(0, t.entriesUsed - 1);
    await this.store.setTicketUsage(trx, site, e.ticketId, used);
    return { entriesUsed: used, conflict: false };
  }
}
