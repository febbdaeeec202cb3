import { EntriesMessageSchema, zodIssueLines, type EntriesMessage, type EntryEvent, type SnapshotTicket, type WhitelistChange, type WhitelistDelta } from '@stile/config';
import { bySeq, judgeAdmissions, LaneRateLimiter, ticketFromPayload, type AdmissionVerdicts, type Anomaly } from './admission-check.js';
import type { Logger } from '../../core/log.js';
import type { Metrics } from '../../core/metrics.js';
import type { SiteKeys } from '../../core/sites.js';
import { systemClock, type Clock } from '../../core/clock.js';
import type { CloudStore, Db } from '../../core/db/store.js';
import type { IngestLedger } from '../../core/ports.js';
import { parseGateTopic } from '../../core/mqtt/topics.js';
import { GroupCommit } from './group-commit.js';
import type { EntryRow, SyncRepository } from './repository.js';

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

export interface EntriesIngestOptions {
  /** The gates' rows (known, registered). */
  store: CloudStore;
  /** Entries, anomalies, conflicts. */
  repository: SyncRepository;
  /** Tickets, seqs and the used-elsewhere deltas (the whitelist module). */
  ledger: IngestLedger;
  keys: SiteKeys;
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
  /** "Now": when entries are received, and how far ahead an admission may be dated. */
  clock?: Clock;
  /**
   * Commit pipelines (group commits running at once), a gate's messages always in the same
   * one. Default: 2 on PostgreSQL (one transaction inserts its entries while the other
   * waits for its commit), 1 on SQLite (one connection: transactions take turns anyway).
   */
  pipelines?: number;
}

interface PendingMessage {
  msg: EntriesMessage;
  verdicts: AdmissionVerdicts;
  /** The events in seq order (stable: a repeated seq keeps its arrival order). */
  ordered: EntryEvent[];
  first: bigint;
  last: bigint;
  /** Admissions only: stored set-based with the rest of the group's such messages. */
  admitsOnly: boolean;
}

/** A message of an admissions-only run within a commit group, while it is stored. */
interface RunMessage {
  p: PendingMessage;
  /** Its index in the group (and in the results). */
  i: number;
  inserted: number;
  /** Inserted events, in order, that count (not anomalies, not given back by a stored correction). */
  counted: EntryEvent[];
  anomalies: Map<Anomaly, number>;
  /** Unknown tickets of this message that could not be learned: later events of them count for nothing. */
  unlearnable: Set<string>;
  /** ticket → entries used after this message. */
  usage: Map<string, number>;
  conflicts: number;
  /** The seq of its used-elsewhere delta (allocated when it counts anything). */
  seq: number | null;
}

/**
 * Gate entries → database. A message's events (idempotent on eventId and on (site, gate,
 * seq)), ticket usage, partition conflicts, the gate's high-water mark and the
 * used-elsewhere delta commit together or not at all. Messages that arrive while a commit
 * is running (several ingest connections) share the next transaction: one fsync for the
 * group instead of one per message. Within the group, messages of admissions only (nearly
 * all) are written set-based: one INSERT for all their events, one seq allocation, one
 * ticket UPDATE, one INSERT of their deltas and one high-water statement for the group,
 * with the same outcome as storing them one after the other in (site, gate, seq) order.
 * On PostgreSQL two such pipelines run at once (a gate's messages always in the same one):
 * one inserts its group's entries while the other holds the site's row up to its commit.
 */
export class EntriesIngest {
  private readonly pipelines: GroupCommit<PendingMessage, BatchResult | null>[];
  private readonly store: CloudStore;
  private readonly repository: SyncRepository;
  private readonly ledger: IngestLedger;
  private readonly clock: Clock;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  private readonly unknownGates: UnknownGatePolicy;
  private readonly limiter: LaneRateLimiter;
  /** Which commit pipeline takes each gate's messages. */
  private readonly gatePipeline = new Map<string, number>();
  /** Gates whose gate_state row is committed (rows are never deleted): no lookup per message. */
  private readonly knownGates = new Set<string>();

  constructor(private readonly d: EntriesIngestOptions) {
    this.store = d.store;
    this.repository = d.repository;
    this.ledger = d.ledger;
    this.clock = d.clock ?? systemClock;
    this.metrics = d.metrics;
    this.log = d.log;
    this.unknownGates = d.unknownGates ?? 'reject';
    this.limiter = new LaneRateLimiter(d.maxAdmissionsPerSecond ?? (() => 5));
    const n = Math.max(1, d.pipelines ?? (d.repository.dialect === 'postgres' ? 2 : 1));
    this.pipelines = Array.from({ length: n }, () => new GroupCommit<PendingMessage, BatchResult | null>((group) => this.storeGroup(group)));
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
    if (!parsed.success) return drop('schema', zodIssueLines(parsed.error.issues, { limit: 3 }));
    const msg = parsed.data;
    if (msg.site !== where.site || msg.gate !== where.gate) return drop('topic_mismatch', { site: msg.site, gate: msg.gate });
    if (!this.d.keys.has(msg.site)) return drop('unknown_site', { site: msg.site });
    // Order by seq, not arrival, so an admission precedes its not-passed correction.
    const { ordered, keys } = bySeq(msg.events);
    if (keys[keys.length - 1]! > MAX_SEQ || msg.events.some((e) => e.refSeq !== undefined && BigInt(e.refSeq) > MAX_SEQ)) return drop('seq_out_of_range');
    let result: BatchResult | null;
    try {
      if (await this.d.isRevoked?.(msg.site, msg.gate)) return drop('gate_revoked', { site: msg.site, gate: msg.gate });
      const verdicts = judgeAdmissions(msg.site, msg.gate, ordered, this.d.keys.offlineKeys(msg.site), this.limiter, this.clock().getTime(), true);
      const admitsOnly = ordered.every((e) => e.kind === 'admit');
      // A gate's messages always in the same pipeline: its corrections, duplicates and
      // high-water mark never race themselves. Pipelines meet only on a site's row (locked
      // from the seq allocation to the commit), so a site's deltas still commit in seq order.
      const pipeline = this.pipelines[this.pipelineOf(msg.site, msg.gate)]!;
      result = await pipeline.submit({ msg, verdicts, ordered, first: keys[0]!, last: keys[keys.length - 1]!, admitsOnly });
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
    if (result.delta) void this.ledger.announce(result.delta);
    // The gate deletes outbox rows only on this receipt, never on a broker's PUBACK alone.
    // Duplicates get one too: their first receipt may have been lost.
    this.d.receipt?.(msg.site, msg.gate, receiptFor(ordered, keys));
    return 'ack';
  }

  /** The gate's commit pipeline: assigned in turn as gates are first seen, so the gates spread evenly. */
  private pipelineOf(site: string, gate: string): number {
    if (this.pipelines.length === 1) return 0;
    const k = `${site}\u0000${gate}`;
    let p = this.gatePipeline.get(k);
    if (p === undefined) {
      p = this.gatePipeline.size % this.pipelines.length;
      this.gatePipeline.set(k, p);
    }
    return p;
  }

  /** One transaction for the group, messages in (site, gate, first seq) order. */
  private async storeGroup(group: PendingMessage[]): Promise<(BatchResult | null)[]> {
    const order = group.map((p, i) => ({ p, i }));
    order.sort((a, b) => {
      const x = a.p.msg;
      const y = b.p.msg;
      if (x.site !== y.site) return x.site < y.site ? -1 : 1;
      if (x.gate !== y.gate) return x.gate < y.gate ? -1 : 1;
      return a.p.first < b.p.first ? -1 : a.p.first > b.p.first ? 1 : 0;
    });
    const receivedAt = this.clock().toISOString();
    const results = await this.repository.db.transaction().execute(async (trx) => {
      const out: (BatchResult | null)[] = new Array(group.length).fill(null);
      const stored: { p: PendingMessage; i: number }[] = [];
      /** The runs' signed deltas, stored at the end with the high-water marks. */
      const deltas: WhitelistDelta[] = [];
      // Consecutive admissions-only messages are stored as one run; a message with
      // corrections is stored on its own, event by event, between runs (order kept).
      let run: { p: PendingMessage; i: number }[] = [];
      for (const it of order) {
        const { msg } = it.p;
        if (!this.knownGates.has(`${msg.site}\u0000${msg.gate}`) && !(await this.store.gateKnown(msg.site, msg.gate, trx))) {
          if (this.unknownGates === 'reject') continue; // out[i] stays null
          await this.store.registerGate(msg.site, msg.gate, trx);
          this.log.info({ site: msg.site, gate: msg.gate }, 'new gate registered');
        }
        stored.push(it);
        if (it.p.admitsOnly) {
          run.push(it);
          continue;
        }
        await this.storeAdmitRun(trx, run, out, receivedAt, deltas);
        run = [];
        out[it.i] = await this.storeWithCorrections(trx, it.p, receivedAt);
      }
      await this.storeAdmitRun(trx, run, out, receivedAt, deltas);
      await this.finishGroup(trx, stored, out, deltas);
      return out;
    });
    for (const { p, i } of order) if (results[i] !== null) this.knownGates.add(`${p.msg.site}\u0000${p.msg.gate}`);
    this.metrics.ingestCommits++;
    this.metrics.lastCommitAt = Date.now();
    return results;
  }

  /**
   * The runs' deltas stored, and each gate's high-water mark raised once for the group (one
   * statement on PostgreSQL); a message's gap is judged against the mark as the messages
   * before it in the group left it (as if stored one by one).
   */
  private async finishGroup(trx: Db, stored: { p: PendingMessage; i: number }[], out: (BatchResult | null)[], deltas: WhitelistDelta[]): Promise<void> {
    const marks = new Map<string, { site: string; gate: string; seq: bigint }>();
    for (const { p } of stored) {
      const k = `${p.msg.site}\u0000${p.msg.gate}`;
      const m = marks.get(k);
      if (!m) marks.set(k, { site: p.msg.site, gate: p.msg.gate, seq: p.last });
      else if (p.last > m.seq) m.seq = p.last;
    }
    const high = await this.ledger.finishGroup(trx, deltas, [...marks.values()]);
    for (const { p, i } of stored) {
      const r = out[i];
      if (!r) continue;
      const k = `${p.msg.site}\u0000${p.msg.gate}`;
      const prev = high.get(k) ?? 0n;
      r.gap = r.inserted > 0 && p.first > prev + 1n;
      // Usually batches overtaking each other (a gate keeps several in flight, and several
      // ingest connections take them): the missing one follows. Counted in metrics.
      if (r.gap) this.log.debug({ site: p.msg.site, gate: p.msg.gate, after: prev.toString(), next: p.first.toString() }, 'gap in gate entry seq (out of order or missing batch)');
      if (p.last > prev) high.set(k, p.last);
    }
  }

  /** A message with not-passed corrections: the order within it matters, so event by event. */
  private async storeWithCorrections(trx: Db, p: PendingMessage, receivedAt: string): Promise<BatchResult> {
    const { site, gate } = p.msg;
    const v = p.verdicts;
    const usage = new Map<string, number>();
    let inserted = 0;
    let conflicts = 0;
    const anomalies = new Map<Anomaly, number>();
    // Read-then-write of ticket counts below: first the site's row, as the runs hold it.
    await this.ledger.lockSite(trx, site);
    for (const e of p.ordered) {
      if (!(await this.repository.insertEntry(trx, site, gate, e, receivedAt, v.anomalies.get(e.eventId) ?? null))) continue;
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
    let delta: WhitelistDelta | null = null;
    if (usage.size > 0) {
      delta = await this.ledger.appendDelta(trx, site, usageChanges(usage, gate));
      await this.ledger.markTicketsChanged(trx, site, [...usage.keys()], Number(delta.seq));
    }
    return { inserted, duplicates: p.msg.events.length - inserted, conflicts, gap: false, delta, anomalies };
  }

  /**
   * An admission of a ticket the cloud has no row for: a verified signed ticket is learned
   * from its signed payload (so other gates hear it is used); anything else is an anomaly —
   * the cloud never issued it, and a gate's word does not make it real.
   */
  private async unknownTicket(trx: Db, site: string, gate: string, e: EntryEvent, v: AdmissionVerdicts, anomalies: Map<Anomaly, number>): Promise<SnapshotTicket | null> {
    const payload = v.signed.get(e.eventId);
    if (payload) return ticketFromPayload(payload, 1);
    await this.repository.flagEntries(trx, site, [e.eventId], 'unknown_ticket');
    anomalies.set('unknown_ticket', (anomalies.get('unknown_ticket') ?? 0) + 1);
    this.log.warn({ site, gate, seq: e.seq, credential: e.credential }, 'admission of a ticket the cloud never issued: stored as an anomaly');
    return null;
  }

  /**
   * A run of admissions-only messages (any sites and gates, in (site, gate, seq) order),
   * with the same outcome as applyAdmit() one event at a time, message after message: the
   * events of all of them inserted in one statement (which also reads the corrections stored
   * before), one seq allocated per message that counts something, the tickets' counts raised
   * in one UPDATE … RETURNING, and conflicts found by replaying the admissions in that order
   * from the counts before the run. Every message that counted something gets its own
   * used-elsewhere delta (as before: one per message), all stored in one statement.
   */
  private async storeAdmitRun(trx: Db, run: { p: PendingMessage; i: number }[], out: (BatchResult | null)[], receivedAt: string, pending: WhitelistDelta[]): Promise<void> {
    if (run.length === 0) return;
    const rows: EntryRow[] = [];
    for (const { p } of run) {
      const { site, gate } = p.msg;
      for (const e of p.ordered) rows.push({ site, gate, e, anomaly: p.verdicts.anomalies.get(e.eventId) ?? null });
    }
    const ids = await this.repository.insertEntries(trx, rows, receivedAt);

    // An event repeated (within a message or in a later one) is inserted once: its first
    // occurrence counts. Anomalies are stored but count for nothing; an admission whose full
    // not-passed correction was stored before counts for nothing either.
    const msgs: RunMessage[] = run.map(({ p, i }) => {
      const m: RunMessage = { p, i, inserted: 0, counted: [], anomalies: new Map(), unlearnable: new Set(), usage: new Map(), conflicts: 0, seq: null };
      for (const e of p.ordered) {
        if (!ids.has(e.eventId)) continue;
        const back = ids.get(e.eventId)!;
        ids.delete(e.eventId);
        m.inserted++;
        const judged = p.verdicts.anomalies.get(e.eventId);
        if (judged) m.anomalies.set(judged, (m.anomalies.get(judged) ?? 0) + 1);
        else if (back === null || back < e.persons) m.counted.push(e);
      }
      return m;
    });

    // One seq per message that counts something, in run order per site; the sites' rows stay
    // locked to the commit, so deltas commit in seq order.
    const perSite = new Map<string, RunMessage[]>();
    for (const m of msgs) {
      if (m.counted.length === 0) continue;
      const list = perSite.get(m.p.msg.site);
      if (list) list.push(m);
      else perSite.set(m.p.msg.site, [m]);
    }
    if (perSite.size > 0) {
      const firsts = await this.ledger.allocateSeqs(trx, new Map([...perSite].map(([site, list]) => [site, list.length])));
      for (const [site, list] of perSite) list.forEach((m, k) => (m.seq = firsts.get(site)! + k));

      /** `${site}\0${ticket}` → admissions added by the run, and the seq of the last message adding one. */
      const added = new Map<string, { site: string; ticketId: string; n: number; seq: number }>();
      for (const m of msgs) {
        for (const e of m.counted) {
          const k = `${m.p.msg.site}\u0000${e.ticketId}`;
          const a = added.get(k);
          if (a) {
            a.n++;
            a.seq = m.seq!;
          } else added.set(k, { site: m.p.msg.site, ticketId: e.ticketId, n: 1, seq: m.seq! });
        }
      }
      const after = await this.ledger.addTicketUsageMany(trx, [...added.values()]);
      /** Running count per ticket, from its count before this run; and its limit. */
      const used = new Map<string, number>();
      const limit = new Map<string, number>();
      for (const [k, t] of after) {
        used.set(k, t.entriesUsed - added.get(k)!.n);
        limit.set(k, t.maxEntries);
      }
      /** Tickets learned from verified signed codes, with the message that last counted them. */
      const learned = new Map<string, { site: string; ticket: SnapshotTicket; m: RunMessage }>();
      for (let mi = 0; mi < msgs.length; mi++) {
        const m = msgs[mi]!;
        const { site, gate } = m.p.msg;
        for (let ei = 0; ei < m.counted.length; ei++) {
          const e = m.counted[ei]!;
          if (m.unlearnable.has(e.ticketId)) continue;
          const k = `${site}\u0000${e.ticketId}`;
          const before = used.get(k);
          if (before === undefined) {
            const ticket = await this.unknownTicket(trx, site, gate, e, m.p.verdicts, m.anomalies);
            if (!ticket) {
              m.unlearnable.add(e.ticketId);
              continue;
            }
            learned.set(k, { site, ticket, m });
            used.set(k, 1);
            limit.set(k, 1); // as stored by upsertTickets: the default max_entries
            m.usage.set(e.ticketId, 1);
            continue;
          }
          const now = before + 1;
          if (now > limit.get(k)!) {
            // Admissions of this run later in order are not there yet for this one.
            const later = laterInRun(msgs, mi, e, site);
            if (await this.flagConflict(trx, site, gate, e, now, limit.get(k)!, (g, seq) => later.has(`${g}\u0000${BigInt(seq).toString()}`))) m.conflicts++;
          }
          used.set(k, now);
          const l = learned.get(k);
          if (l) {
            l.ticket.entriesUsed = now;
            l.m = m;
          }
          m.usage.set(e.ticketId, now);
        }
      }

      // A message whose every counted admission was of a ticket nobody issued sends no delta:
      // the site's later messages move down and the seqs left over are given back (still ours:
      // same transaction), so the sequence stays gap-free.
      for (const [site, list] of perSite) {
        if (list.every((m) => m.usage.size > 0)) continue;
        const first = firsts.get(site)!;
        let next = first;
        for (const m of list) m.seq = m.usage.size > 0 ? next++ : null;
        await this.ledger.releaseSeqs(trx, site, first + list.length - next, first + list.length - 1);
        for (const m of list) if (m.seq !== null) await this.ledger.markTicketsChanged(trx, site, [...m.usage.keys()], m.seq);
      }
      // Learned tickets, stored once with their count after the run, named by the delta of the last message that counted them.
      const toLearn = new Map<string, { site: string; seq: number; tickets: SnapshotTicket[] }>();
      for (const { site, ticket, m } of learned.values()) {
        const k = `${site}\u0000${m.seq}`;
        const l = toLearn.get(k);
        if (l) l.tickets.push(ticket);
        else toLearn.set(k, { site, seq: m.seq!, tickets: [ticket] });
      }
      for (const { site, seq, tickets } of toLearn.values()) await this.ledger.upsertTickets(trx, site, tickets, seq);
    }

    const withDelta = msgs.filter((m) => m.seq !== null);
    // Stored with the group's last statement (finishGroup).
    const deltas = this.ledger.signDeltas(withDelta.map((m) => ({ site: m.p.msg.site, seq: m.seq!, changes: usageChanges(m.usage, m.p.msg.gate) })));
    pending.push(...deltas);
    const deltaOf = new Map(withDelta.map((m, k) => [m, deltas[k]!]));
    for (const m of msgs) {
      out[m.i] = { inserted: m.inserted, duplicates: m.p.msg.events.length - m.inserted, conflicts: m.conflicts, gap: false, delta: deltaOf.get(m) ?? null, anomalies: m.anomalies };
    }
  }

  /** A new admission: count it on the ticket; beyond what the ticket allows is a partition conflict. */
  private async applyAdmit(trx: Db, site: string, gate: string, e: EntryEvent, v: AdmissionVerdicts, anomalies: Map<Anomaly, number>): Promise<{ entriesUsed: number | null; conflict: boolean }> {
    // Its full not-passed correction arrived first (batches out of order): net zero.
    const back = await this.repository.notPassedFor(trx, site, gate, e.seq);
    if (back !== null && back >= e.persons) return { entriesUsed: null, conflict: false };
    const t = await this.ledger.getTicket(site, e.ticketId, trx);
    if (!t) {
      const learned = await this.unknownTicket(trx, site, gate, e, v, anomalies);
      if (!learned) return { entriesUsed: null, conflict: false };
      await this.ledger.upsertTicket(trx, site, learned, null);
      return { entriesUsed: 1, conflict: false };
    }
    const used = t.entriesUsed + 1;
    const conflict = used > t.maxEntries && (await this.flagConflict(trx, site, gate, e, used, t.maxEntries));
    await this.ledger.setTicketUsage(trx, site, e.ticketId, used);
    return { entriesUsed: used, conflict };
  }

  /**
   * An admission past the ticket's limit: gates admitted it while partitioned. Records the
   * conflict with the admission that came first (once: true only when it is new) and logs it.
   */
  private async flagConflict(
    trx: Db,
    site: string,
    gate: string,
    e: EntryEvent,
    entriesUsed: number,
    maxEntries: number,
    skip?: Parameters<SyncRepository['earlierAdmission']>[5],
  ): Promise<boolean> {
    const earlier = await this.repository.earlierAdmission(trx, site, e.ticketId, gate, e.seq, skip);
    const conflict = await this.repository.insertConflict(trx, {
      site,
      ticketId: e.ticketId,
      firstGate: earlier?.gate ?? null,
      firstSeq: earlier?.seq ?? null,
      secondGate: gate,
      secondSeq: e.seq,
    });
    if (conflict) {
      this.log.warn(
        { alert: 'partition_conflict', site, ticketId: e.ticketId, first: earlier, second: { gate, seq: e.seq }, entriesUsed, maxEntries },
        'ticket admitted more often than it allows (gates admitted it while partitioned)',
      );
    }
    return conflict;
  }

  /** Nobody of the admission walked through: the gate gave the entry back, and so does the cloud. */
  private async applyNotPassed(trx: Db, site: string, gate: string, e: EntryEvent): Promise<{ entriesUsed: number | null; conflict: boolean }> {
    const admitted = await this.repository.admissionPersons(trx, site, gate, e.refSeq!);
    // Admission not here yet: applyAdmit sees this correction when it arrives.
    if (admitted === null || e.persons < admitted) return { entriesUsed: null, conflict: false };
    const t = await this.ledger.getTicket(site, e.ticketId, trx);
    if (!t) return { entriesUsed: null, conflict: false };
    const used = Math.max(0, t.entriesUsed - 1);
    await this.ledger.setTicketUsage(trx, site, e.ticketId, used);
    return { entriesUsed: used, conflict: false };
  }
}

/** The receipt names the message's first and last events by seq and by their random eventIds. */
function receiptFor(ordered: readonly EntryEvent[], keys: readonly bigint[]): EntriesReceipt {
  const first = ordered[0]!;
  // The first event with the highest seq (a repeated seq: the one that arrived first).
  let j = ordered.length - 1;
  while (j > 0 && keys[j - 1] === keys[j]) j--;
  const last = ordered[j]!;
  return { from: keys[0]!.toString(), to: keys[j]!.toString(), firstEventId: first.eventId, lastEventId: last.eventId };
}

/** A message's used-elsewhere changes: each ticket it counted, with the count after it. */
function usageChanges(usage: ReadonlyMap<string, number>, gate: string): WhitelistChange[] {
  return [...usage].map(([ticketId, entriesUsed]) => ({ op: 'used-elsewhere', ticketId, gate, entriesUsed }));
}

/**
 * The events a conflict's earlier admission must not be: those of the run after `e` (the
 * rest of its message and the later messages of its site), stored by the run's one INSERT but
 * not there yet in the order the run stands for. Keys `${gate}\0${seq}`.
 */
function laterInRun(msgs: readonly RunMessage[], mi: number, e: EntryEvent, site: string): Set<string> {
  const later = new Set<string>();
  const own = msgs[mi]!;
  const pos = own.p.ordered.indexOf(e);
  own.p.ordered.slice(pos + 1).forEach((x) => later.add(`${own.p.msg.gate}\u0000${BigInt(x.seq).toString()}`));
  for (const m of msgs.slice(mi + 1)) if (m.p.msg.site === site) for (const x of m.p.ordered) later.add(`${m.p.msg.gate}\u0000${BigInt(x.seq).toString()}`);
  return later;
}
