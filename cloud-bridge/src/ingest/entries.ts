import { EntriesMessageSchema, SnapshotTicketSchema, type EntriesAck, type EntriesMessage, type EntryEvent, type SnapshotTicket, type WhitelistChange, type WhitelistDelta } from '@stile/config';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { SiteKeys } from '../sites.js';
import type { CloudStore, Db } from '../store/store.js';
import { parseGateTopic } from '../topics.js';
import { GroupCommit } from './group-commit.js';
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
 * Gate entries → database. A message's events (idempotent on eventId and on (site, gate,
 * seq)), ticket usage, partition conflicts, the gate's high-water mark and the
 * used-elsewhere delta commit together or not at all. Messages that arrive while a commit
 * is running (several ingest connections) share the next transaction: one fsync for the
 * group instead of one per message.
 */
export class EntriesIngest {
  private readonly commits = new GroupCommit<EntriesMessage, BatchResult | null>((group) => this.storeGroup(group));

  constructor(
    private readonly store: CloudStore,
    private readonly keys: SiteKeys,
    private readonly whitelist: WhitelistPublisher,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly unknownGates: UnknownGatePolicy = 'reject',
    /** Tell the gate its entries are committed (they may leave its outbox). */
    private readonly receipt: (site: string, gate: string, ack: EntriesAck) => void = () => {},
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
      result = await this.commits.submit(msg);
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
    // The gate deletes outbox rows only on this receipt, never on a broker's PUBACK alone.
    // Duplicates get one too: their first receipt may have been lost.
    this.receipt(msg.site, msg.gate, { v: 1, from: String(minSeq(msg.events)), to: String(maxSeq(msg.events)) });
    return 'ack';
  }

  /** One transaction for the group, messages in (site, gate, first seq) order. */
  private async storeGroup(group: EntriesMessage[]): Promise<(BatchResult | null)[]> {
    const order = group.map((msg, i) => ({ msg, i, first: minSeq(msg.events) }));
    order.sort((a, b) => (a.msg.site < b.msg.site ? -1 : a.msg.site > b.msg.site ? 1 : a.msg.gate < b.msg.gate ? -1 : a.msg.gate > b.msg.gate ? 1 : a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    const results = await this.store.db.transaction().execute(async (trx) => {
      const out: (BatchResult | null)[] = new Array(group.length).fill(null);
      for (const { msg, i } of order) out[i] = await this.storeMessage(trx, msg);
      return out;
    });
    this.metrics.ingestCommits++;
    return results;
  }

  private async storeMessage(trx: Db, msg: EntriesMessage): Promise<BatchResult | null> {
    if (!(await this.store.gateKnown(msg.site, msg.gate, trx))) {
      if (this.unknownGates === 'reject') return null;
      await this.store.registerGate(msg.site, msg.gate, trx);
      this.log.info({ site: msg.site, gate: msg.gate }, 'new gate registered');
    }
    return this.storeBatch(trx, msg.site, msg.gate, msg.events);
  }

  private async storeBatch(trx: Db, site: string, gate: string, events: EntryEvent[]): Promise<BatchResult> {
    const receivedAt = new Date().toISOString();
    // Order by seq, not arrival, so an admission precedes its not-passed correction.
    const ordered = [...events].sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : BigInt(a.seq) > BigInt(b.seq) ? 1 : 0));
    const usage = new Map<string, number>();
    let inserted = 0;
    let conflicts = 0;
    /** The delta seq, when storeAdmits allocated it and marked the tickets with it. */
    let deltaSeq: number | null = null;
    if (ordered.every((e) => e.kind === 'admit')) {
      // The usual batch: admissions only. Set-based, a handful of statements per message.
      ({ inserted, conflicts, deltaSeq } = await this.storeAdmits(trx, site, gate, ordered, receivedAt, usage));
    } else {
      // With not-passed corrections the order within the batch matters: event by event.
      for (const e of ordered) {
        if (!(await this.store.insertEntry(trx, site, gate, e, receivedAt))) continue;
        inserted++;
        const outcome = e.kind === 'admit' ? await this.applyAdmit(trx, site, gate, e) : await this.applyNotPassed(trx, site, gate, e);
        if (outcome.conflict) conflicts++;
        if (outcome.entriesUsed !== null) usage.set(e.ticketId, outcome.entriesUsed);
      }
    }
    const first = ordered[0]!;
    const last = ordered[ordered.length - 1]!;
    const prevHigh = await this.store.raiseHighSeq(trx, site, gate, BigInt(last.seq));
    const gap = inserted > 0 && BigInt(first.seq) > prevHigh + 1n;
    // Usually batches overtaking each other (a gate keeps several in flight, and several
    // ingest connections take them): the missing one follows. Counted in metrics.
    if (gap) this.log.debug({ site, gate, after: prevHigh.toString(), next: first.seq }, 'gap in gate entry seq (out of order or missing batch)');

    let delta: WhitelistDelta | null = null;
    if (usage.size > 0) {
      const changes: WhitelistChange[] = [...usage].map(([ticketId, entriesUsed]) => ({ op: 'used-elsewhere', ticketId, gate, entriesUsed }));
      if (deltaSeq !== null) delta = await this.whitelist.appendDelta(trx, site, changes, deltaSeq);
      else {
        delta = await this.whitelist.appendDelta(trx, site, changes);
        await this.store.markTicketsChanged(trx, site, [...usage.keys()], Number(delta.seq));
      }
    }
    return { inserted, duplicates: events.length - inserted, conflicts, gap, delta };
  }

  /**
   * A batch of admissions only (in seq order), with the same outcome as applyAdmit() one
   * event at a time: the events are inserted in one statement, the stored not-passed
   * corrections read at once, the tickets' counts raised in one UPDATE … RETURNING, and
   * conflicts found by replaying the batch's admissions in seq order from the counts
   * before it. Fills `usage` (ticket → entries used after the batch).
   */
  private async storeAdmits(
    trx: Db,
    site: string,
    gate: string,
    ordered: EntryEvent[],
    receivedAt: string,
    usage: Map<string, number>,
  ): Promise<{ inserted: number; conflicts: number; deltaSeq: number | null }> {
    const ids = await this.store.insertEntries(trx, site, gate, ordered, receivedAt);
    // An event repeated within the batch is inserted once: count its first occurrence.
    const fresh: EntryEvent[] = [];
    for (const e of ordered) {
      if (ids.delete(e.eventId)) fresh.push(e);
    }
    if (fresh.length === 0) return { inserted: 0, conflicts: 0, deltaSeq: null };
    // Corrections stored before this batch (this batch has none): a fully given-back admission counts for nothing.
    const back = await this.store.notPassedForMany(trx, site, gate, fresh.map((e) => e.seq));
    const counts = fresh.map((e) => {
      const given = back.get(BigInt(e.seq).toString());
      return given === undefined || given < e.persons;
    });
    const added = new Map<string, number>();
    fresh.forEach((e, i) => counts[i] && added.set(e.ticketId, (added.get(e.ticketId) ?? 0) + 1));
    if (added.size === 0) return { inserted: fresh.length, conflicts: 0, deltaSeq: null };

    // The used-elsewhere delta's seq, allocated now so the ticket writes carry it.
    const deltaSeq = await this.store.allocateSeq(trx, site);
    const after = await this.store.addTicketUsage(trx, site, [...added], deltaSeq);
    /** Running count per ticket, from its count before this batch; and its limit. */
    const used = new Map<string, number>();
    const limit = new Map<string, number>();
    for (const [id, t] of after) {
      used.set(id, t.entriesUsed - added.get(id)!);
      limit.set(id, t.maxEntries);
    }
    const learned = new Map<string, SnapshotTicket>();
    const unlearnable = new Set<string>();
    let conflicts = 0;
    for (let i = 0; i < fresh.length; i++) {
      const e = fresh[i]!;
      if (!counts[i] || unlearnable.has(e.ticketId)) continue;
      const before = used.get(e.ticketId);
      if (before === undefined) {
        // Not sold through the cloud (a signed offline ticket): learn it from the admission,
        // so other gates hear it is used. Only ids a snapshot can carry.
        const parsedTicket = SnapshotTicketSchema.safeParse({ ticketId: e.ticketId, typeId: e.typeId, status: 'valid', visitDate: e.at.slice(0, 10), persons: e.persons, entriesUsed: 1 });
        if (!parsedTicket.success) {
          unlearnable.add(e.ticketId);
          this.log.warn({ site, gate, ticketId: e.ticketId }, 'admission of a ticket the cloud does not know and cannot learn (bad id); usage not tracked');
          continue;
        }
        learned.set(e.ticketId, parsedTicket.data);
        used.set(e.ticketId, 1);
        limit.set(e.ticketId, 1); // as stored by upsertTickets: the default max_entries
        usage.set(e.ticketId, 1);
        continue;
      }
      const now = before + 1;
      if (now > limit.get(e.ticketId)!) {
        // Admissions of this batch later in seq order are not there yet for this one.
        const later = new Set(fresh.slice(i + 1).map((x) => BigInt(x.seq).toString()));
        const earlier = await this.store.earlierAdmission(trx, site, e.ticketId, gate, e.seq, (g, seq) => g === gate && later.has(BigInt(seq).toString()));
        const conflict = await this.store.insertConflict(trx, {
          site,
          ticketId: e.ticketId,
          firstGate: earlier?.gate ?? null,
          firstSeq: earlier?.seq ?? null,
          secondGate: gate,
          secondSeq: e.seq,
        });
        if (conflict) {
          conflicts++;
          this.log.warn(
            { alert: 'partition_conflict', site, ticketId: e.ticketId, first: earlier, second: { gate, seq: e.seq }, entriesUsed: now, maxEntries: limit.get(e.ticketId) },
            'ticket admitted more often than it allows (gates admitted it while partitioned)',
          );
        }
      }
      used.set(e.ticketId, now);
      const l = learned.get(e.ticketId);
      if (l) l.entriesUsed = now;
      usage.set(e.ticketId, now);
    }
    if (usage.size === 0) {
      // Only unlearnable tickets: no delta, so give the seq back (still ours: same transaction).
      await this.store.releaseSeq(trx, site, deltaSeq);
      return { inserted: fresh.length, conflicts, deltaSeq: null };
    }
    if (learned.size > 0) await this.store.upsertTickets(trx, site, [...learned.values()], deltaSeq);
    return { inserted: fresh.length, conflicts, deltaSeq };
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

function minSeq(events: EntryEvent[]): bigint {
  return events.reduce((m, e) => (BigInt(e.seq) < m ? BigInt(e.seq) : m), BigInt(events[0]!.seq));
}

function maxSeq(events: EntryEvent[]): bigint {
  return events.reduce((m, e) => (BigInt(e.seq) > m ? BigInt(e.seq) : m), BigInt(events[0]!.seq));
}
