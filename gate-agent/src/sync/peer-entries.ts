import type { Logger } from 'pino';
import { EntriesMessageSchema, entriesTopicGate, formatZodIssues, localClock, parseTicketCode, topics, verifyOfflineTicket, type EntryEvent, type TrustedKeys } from '@stile/config';
import type { GateStore, PeerApplyResult, PeerEntryInput } from '../store/index.js';
import { bump, type SyncStatus } from './status.js';

export interface PeerEntriesDeps {
  store: GateStore;
  site: string;
  /** This gate: its own entries come back on the same wildcard and are skipped. */
  gate: string;
  timeZone: string;
  /** The gate's offline keys: a peer's signed ticket this gate has no row for is believed only if its code verifies here. */
  offlineKeys: TrustedKeys;
  clock: () => number;
  status: SyncStatus;
  log: Logger;
}

/** Counters for `gatectl status` and the bench. A live object. */
export interface PeerStats {
  messages: number;
  counted: number;
  returned: number;
  duplicates: number;
  unknown: number;
  /** Peer events older than PEER_MAX_AGE_MS: no longer applied (their dedup rows are pruned). */
  tooOld: number;
  lastAppliedAt: string | null;
}

/**
 * How long a peer's event is remembered (and applied). Older ones are skipped: their rows
 * are pruned, so counting them again could double count; by then the cloud's used-elsewhere
 * deltas carry them.
 */
export const PEER_MAX_AGE_MS = 3 * 24 * 3600 * 1000;
const PRUNE_EVERY_MS = 3600 * 1000;

/**
 * Park-local broker mode (DESIGN §8, docs/park-local-broker.md): the entries the site's
 * other gates publish for the cloud also reach this gate through the park's broker, and
 * each admission is counted here at once, so a single-use ticket admitted at one lane is
 * refused at the next even while the cloud is unreachable.
 *
 * Peer entries are not signed (a gate has no signing key): what vouches for them is the
 * broker ACL, which lets only gate X publish on X's entries topic. The topic names the
 * gate; a message whose body names another gate or site is dropped. The worst a stolen
 * gate can do here is mark tickets of this site used (revocable denial of service).
 */
export class PeerEntries {
  readonly filter: string;
  readonly stats: PeerStats = { messages: 0, counted: 0, returned: 0, duplicates: 0, unknown: 0, tooOld: 0, lastAppliedAt: null };
  private readonly log: Logger;
  private prunedAt = 0;

  constructor(private readonly d: PeerEntriesDeps) {
    this.filter = topics.siteEntries(d.site);
    this.log = d.log.child({ module: 'peers' });
  }

  /** True when `topic` is a gate's entries topic of this site (this gate's own included). */
  matches(topic: string): boolean {
    return entriesTopicGate(this.d.site, topic) !== undefined;
  }

  /** One message from the broker. Never throws: a bad message is counted, logged and dropped. */
  handle(topic: string, payload: Buffer): void {
    const peer = entriesTopicGate(this.d.site, topic);
    if (peer === undefined || peer === this.d.gate) return;
    let raw: unknown;
    try {
      raw = JSON.parse(payload.toString('utf8'));
    } catch {
      return this.drop('peer_bad_json', peer, 'not JSON');
    }
    const parsed = EntriesMessageSchema.safeParse(raw);
    if (!parsed.success) return this.drop('peer_invalid', peer, formatZodIssues(parsed.error.issues, { limit: 1 }) || 'invalid');
    const msg = parsed.data;
    // The ACL binds the topic to its publisher, not the body: both must name the same gate.
    if (msg.site !== this.d.site || msg.gate !== peer) return this.drop('peer_wrong_gate', peer, `body names ${msg.site}/${msg.gate}`);
    this.stats.messages++;

    const now = this.d.clock();
    this.prune(now);
    const oldest = now - PEER_MAX_AGE_MS;
    const events: PeerEntryInput[] = [];
    for (const e of msg.events) {
      const at = Date.parse(e.at);
      if (at < oldest) {
        this.stats.tooOld++;
        continue;
      }
      events.push({
        eventId: e.eventId,
        seq: Number(e.seq),
        kind: e.kind,
        ...(e.refSeq !== undefined ? { refSeq: Number(e.refSeq) } : {}),
        ticketId: e.ticketId,
        persons: e.persons,
        at,
        day: localClock(this.d.timeZone, at).date,
        remoteOk: e.kind === 'admit' && this.signedCodeVerifies(e, now),
      });
    }
    if (events.length === 0) return;
    let r: PeerApplyResult;
    try {
      r = this.d.store.applyPeerEntries(peer, events);
    } catch (err) {
      // The message is acknowledged already; the peer sends its outbox again until the cloud has it.
      bump(this.d.status.dropped, 'peer_store_failed');
      this.log.error({ event: 'peer_entries_failed', peer, err: (err as Error).message }, 'could not apply peer entries');
      return;
    }
    this.stats.counted += r.counted;
    this.stats.returned += r.returned;
    this.stats.duplicates += r.duplicates;
    this.stats.unknown += r.unknown;
    const from = events[0]!.seq;
    const to = events[events.length - 1]!.seq;
    if (r.counted + r.returned > 0) {
      this.stats.lastAppliedAt = new Date(now).toISOString();
      this.log.info({ event: 'peer_entries', peer, from, to, ...r }, 'peer entries applied');
    } else {
      this.log.debug({ event: 'peer_entries', peer, from, to, ...r }, 'peer entries: nothing new');
    }
  }

  /** A signed-qr admission carries its code: believed for a ticket without a row only if it verifies under this gate's keys. */
  private signedCodeVerifies(e: EntryEvent, now: number): boolean {
    if (e.credential !== 'signed-qr' || e.code === undefined) return false;
    const parsed = parseTicketCode(e.code);
    if (!parsed.ok || parsed.kind !== 'st2') return false;
    const v = verifyOfflineTicket(parsed, this.d.offlineKeys, localClock(this.d.timeZone, now).date);
    return v.ok && v.payload.site === this.d.site && v.payload.ticketId === e.ticketId;
  }

  private prune(now: number): void {
    if (now - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = now;
    try {
      const n = this.d.store.prunePeerEntries(now - PEER_MAX_AGE_MS);
      if (n > 0) this.log.debug({ event: 'peer_entries_pruned', rows: n }, 'old peer entries forgotten');
    } catch (err) {
      this.log.warn({ event: 'peer_prune_failed', err: (err as Error).message }, 'could not prune old peer entries');
    }
  }

  private drop(reason: string, peer: string, detail: string): void {
    bump(this.d.status.dropped, reason);
    this.log.warn({ event: 'message_dropped', reason, peer, detail }, 'peer entries dropped');
  }
}
