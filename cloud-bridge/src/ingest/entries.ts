import { EntriesMessageSchema, type EntriesMessage, type EntryEvent, type SnapshotTicket, type WhitelistChange, type WhitelistDelta } from '@stile/config';
import { judgeAdmissions, LaneRateLimiter, ticketFromPayload, type AdmissionVerdicts, type Anomaly } from './admission-check.js';
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
  /** Admissions stored as anomalies, by reason. */
  anomalies: Map<Anomaly, number>;
}

/** What the cloud tells a gate once its entries are committed (signed by the bridge). */
export interface EntriesReceipt {
  from: string;
  to: string;
  firstEventId: string;
  lastEventId: string;
}

export interface EntriesIngestDeps {
  store: CloudStore;
  keys: SiteKeys;
  whitelist: WhitelistPublisher;
  metrics: Metrics;
  log: Logger;
  unknownGates?: UnknownGatePolicy;
  /** A gate whose credential was revoked: its messages are refused (acknowledged, not stored). */
  isRevoked?: (site: string, gate: string) => Promise<boolean>;
  /** Admissions per second a lane of this site can pass (0: unchecked). Default 5. */
  maxAdmissionsPerSecond?: (site: string) => number;
  /** Tell the gate its entries are committed (they may leave its outbox). */
  receipt?: (site: string, gate: string, receipt: EntriesReceipt) => void;
  /** Admissions stored as anomalies: alert staff. */
  onAnomalies?: (site: string, gate: string, counts: ReadonlyMap<Anomaly, number>) => void;
  now?: () => number;
}

interface PendingMessage {
  msg: EntriesMessage;
  verdicts: AdmissionVerdicts;
}

/**
 * Gate entries → database. A message's events (idempotent on eventId and on (site, gate,
 * seq)), ticket usage, partition conflicts, the gate's high-water mark and the
 * used-elsewhere delta commit together or not at all. Messages that arrive while a commit
 * is running (several ingest connections) share the next transaction: one fsync for the
 * group instead of one per message.
 */
export class EntriesIngest {
  private readonly commits = new GroupCommit<PendingMessage, BatchResult | null>((group) => this.storeGroup(group));
  private readonly store: CloudStore;
  private readonly whitelist: WhitelistPublisher;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  private readonly unknownGates: UnknownGatePolicy;
  private readonly limiter: LaneRateLimiter;
  /** Gates whose gate_state row is committed (rows are never deleted): no lookup per message. */
  private readonly knownGates = new Set<string>();

  constructor(private readonly d: EntriesIngestDeps) {
    this.store = d.store;
    this.whitelist = d.whitelist;
    this.metrics = d.metrics;
    this.log = d.log;
    this.unknownGates = d.unknownGates ?? 'reject';
    this.limiter = new LaneRateLimiter(d.maxAdmissionsPerSecond ?? (() => 5));
  }

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
    if (!this.d.keys.has(msg.site)) return drop('unknown_site', { site: msg.site });
    if (msg.events.some((e) => BigInt(e.seq) > MAX_SEQ || (e.refSeq !== undefined && BigInt(e.refSeq) > MAX_SEQ))) return drop('seq_out_of_range');

    let result: BatchResult | null;
    try {
      if (await this.d.isRevoked?.(msg.site, msg.gate)) return drop('gate_revoked', { site: msg.site, gate: msg.gate });
      const verdicts = judgeAdmissions(msg.site, msg.gate, msg.events, this.d.keys.offlineKeys(msg.site), this.limiter, (this.d.now ?? Date.now)());
      result = await this.commits.submit({ msg, verdicts });
    } catch (err) {
      this.metrics.dbErrors++;
      this.metrics.lastWriteError = { at: Date.now(), message: (err as Error).message };
      this.log.error({ err, topic }, 'entries not stored; message left unacknowledged for redelivery');
      return 'retry';
    }
    if (result === null) return drop('unknown_gate', { site: msg.site, gate: msg.gate });
    this.metrics.inserted += result.inserted;
    this.metrics.duplicates += result.duplicates;
    this.metrics.conflicts += result.conflicts;
    if (result.gap) this.metrics.seqGaps++;
    if (result.anomalies.size > 0) {
      for (const [reason, n] of result.anomalies) this.metrics.anomaly(reason, n);
      this.log.warn({ alert: 'gate_anomaly', site: msg.site, gate: msg.gate, anomalies: Object.fromEntries(result.anomalies) }, 'admissions not taken on the gate\'s word: stored as anomalies, not counted');
      this.d.onAnomalies?.(msg.site, msg.gate, result.anomalies);
    }
    // Published after the commit, and not awaited: the PUBACK for the entries must not wait
    // on the broker's PUBACK for the delta (both travel through the same client).
    if (result.delta) void this.whitelist.announce(result.delta);
    // The gate deletes outbox rows only on this receipt, never on a broker's PUBACK alone.
    // Duplicates get one too: their first receipt may have been lost.
    this.d.receipt?.(msg.site, msg.gate, receiptFor(msg.events));
    return 'ack';
  }

  /** One transaction for the group, messages in (site, gate, first seq) order. */
  private async storeGroup(group: PendingMessage[]): Promise<(BatchResult | null)[]> {
    const order = group.map((p, i) => ({ msg: p.msg, verdicts: p.verdicts, i, first: minSeq(p.msg.events) }));
    order.sort((a, b) => (a.msg.site < b.msg.site ? -1 : a.msg.site > b.msg.site ? 1 : a.msg.gate < b.msg.gate ? -1 : a.msg.gate > b.msg.gate ? 1 : a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    const results = await this.store.db.transaction().execute(async (trx) => {
      const out: (BatchResult | null)[] = new Array(group.length).fill(null);
      for (const { msg, verdicts, i } of order) out[i] = await this.storeMessage(trx, msg, verdicts);
      return out;
    });
    for (const { msg, i } of order) if (results[i] !== null) this.knownGates.add(`${msg.site}\u0000${msg.gate}`);
    this.metrics.ingestCommits++;
    this.metrics.lastCommitAt = Date.now();
    return results;
  }

  private async storeMessage(trx: Db, msg: EntriesMessage, verdicts: AdmissionVerdicts): Promise<BatchResult | null> {
    if (!this.knownGates.has(`${msg.site}\u0000${msg.gate}`) && !(await this.store.gateKnown(msg.site, msg.gate, trx))) {
      if (this.unknownGates === 'reject') return null;
      await this.store.registerGate(msg.site, msg.gate, trx);
      this.log.info({ site: msg.site, gate: msg.gate }, 'new gate registered');
    }
    return this.storeBatch(trx, msg.site, msg.gate, msg.events, verdicts);
  }

  private async storeBatch(trx: Db, site: string, gate: string, events: EntryEvent[], v: AdmissionVerdicts): Promise<BatchResult> {
    const receivedAt = new Date().toISOString();
    // Order by seq, not arrival, so an admission precedes its not-passed correction.
    const ordered = [...events].sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : BigInt(a.seq) > BigInt(b.seq) ? 1 : 0));
    const usage = new Map<string, number>();
    let inserted = 0;
    let conflicts = 0;
    /** The delta seq, when storeAdmits allocated it and marked the tickets with it. */
    let deltaSeq: number | null = null;
    const anomalies = new Map<Anomaly, number>();
    if (ordered.every((e) => e.kind === 'admit')) {
      // The usual batch: admissions only. Set-based, a handful of statements per message.
      ({ inserted, conflicts, deltaSeq } = await this.storeAdmits(trx, site, gate, ordered, receivedAt, usage, v, anomalies));
    } else {
      // With not-passed corrections the order within the batch matters: event by event.
      for (const e of ordered) {
        if (!(await this.store.insertEntry(trx, site, gate, e, receivedAt, v.anomalies.get(e.eventId) ?? null))) continue;
        inserted++;
        const judged = v.anomalies.get(e.eventId);
        if (judged) {
          anomalies.set(judged, (anomalies.get(judged) ?? 0) + 1);
          continue;
        }
        const outcome = e.kind === 'admit' ? await this.applyAdmit(trx, site, gate, e, v, anomalies) : await this.applyNotPassed(trx, site, gate, e);
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
    return { inserted, duplicates: events.length - inserted, conflicts, gap, delta, anomalies };
  }

  /**
   * An admission of a ticket the cloud has no row for: a verified signed ticket is learned
   * from its signed payload (so other gates hear it is used); anything else is an anomaly —
   * the cloud never issued it, and a gate's word does not make it real.
   */
  private async unknownTicket(trx: Db, site: string, gate: string, e: EntryEvent, v: AdmissionVerdicts, anomalies: Map<Anomaly, number>): Promise<SnapshotTicket | null> {
    const payload = v.signed.get(e.eventId);
    if (payload) return ticketFromPayload(payload, 1);
    await this.store.flagEntries(trx, site, [e.eventId], 'unknown_ticket');
    anomalies.set('unknown_ticket', (anomalies.get('unknown_ticket') ?? 0) + 1);
    this.log.warn({ site, gate, seq: e.seq, credential: e.credential }, 'admission of a ticket the cloud never issued: stored as an anomaly');
    return null;
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
    v: AdmissionVerdicts,
    anomalies: Map<Anomaly, number>,
  ): Promise<{ inserted: number; conflicts: number; deltaSeq: number | null }> {
    const ids = await this.store.insertEntries(trx, site, gate, ordered, receivedAt, v.anomalies);
    // An event repeated within the batch is inserted once: count its first occurrence.
    // Anomalies are stored but count for nothing.
    const fresh: EntryEvent[] = [];
    let inserted = 0;
    for (const e of ordered) {
      if (!ids.delete(e.eventId)) continue;
      inserted++;
      const judged = v.anomalies.get(e.eventId);
      if (judged) anomalies.set(judged, (anomalies.get(judged) ?? 0) + 1);
      else fresh.push(e);
    }
    if (fresh.length === 0) return { inserted, conflicts: 0, deltaSeq: null };
    // Corrections stored before this batch (this batch has none): a fully given-back admission counts for nothing.
    const back = await this.store.notPassedForMany(trx, site, gate, fresh.map((e) => e.seq));
    const counts = fresh.map((e) => {
      const given = back.get(BigInt(e.seq).toString());
      return given === undefined || given < e.persons;
    });
    const added = new Map<string, number>();
    fresh.forEach((e, i) => counts[i] && added.set(e.ticketId, (added.get(e.ticketId) ?? 0) + 1));
    if (added.size === 0) return { inserted, conflicts: 0, deltaSeq: null };

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
        const ticket = await this.unknownTicket(trx, site, gate, e, v, anomalies);
        if (!ticket) {
          unlearnable.add(e.ticketId);
          continue;
        }
        learned.set(e.ticketId, ticket);
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
      // Only anomalies: no delta, so give the seq back (still ours: same transaction).
      await this.store.releaseSeq(trx, site, deltaSeq);
      return { inserted, conflicts, deltaSeq: null };
    }
    if (learned.size > 0) await this.store.upsertTickets(trx, site, [...learned.values()], deltaSeq);
    return { inserted, conflicts, deltaSeq };
  }

  /** A new admission: count it on the ticket; beyond what the ticket allows is a partition conflict. */
  private async applyAdmit(trx: Db, site: string, gate: string, e: EntryEvent, v: AdmissionVerdicts, anomalies: Map<Anomaly, number>): Promise<{ entriesUsed: number | null; conflict: boolean }> {
    // Its full not-passed correction arrived first (batches out of order): net zero.
    const back = await this.store.notPassedFor(trx, site, gate, e.seq);
    if (back !== null && back >= e.persons) return { entriesUsed: null, conflict: false };
    const t = await this.store.getTicket(site, e.ticketId, trx);
    if (!t) {
      const learned = await this.unknownTicket(trx, site, gate, e, v, anomalies);
      if (!learned) return { entriesUsed: null, conflict: false };
      await this.store.upsertTicket(trx, site, learned, null);
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

/** The receipt names the message's first and last events by seq and by their random eventIds. */
function receiptFor(events: EntryEvent[]): EntriesReceipt {
  let first = events[0]!;
  let last = events[0]!;
  for (const e of events) {
    if (BigInt(e.seq) < BigInt(first.seq)) first = e;
    if (BigInt(e.seq) > BigInt(last.seq)) last = e;
  }
  return { from: BigInt(first.seq).toString(), to: BigInt(last.seq).toString(), firstEventId: first.eventId, lastEventId: last.eventId };
}

function minSeq(events: EntryEvent[]): bigint {
  return events.reduce((m, e) => (BigInt(e.seq) < m ? BigInt(e.seq) : m), BigInt(events[0]!.seq));
}
