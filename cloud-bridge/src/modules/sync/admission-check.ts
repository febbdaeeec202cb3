import { parseTicketCode, verifyOfflineTicket, type EntryEvent, type OfflineTicketPayload, type SnapshotTicket, type TrustedKeys } from '@stile/config';

/**
 * Why the cloud does not take an admission on the gate's word. Such an entry is stored
 * (the gate gets its receipt, staff see it) but changes no ticket, sends no delta and
 * counts in no capacity or report.
 */
export type Anomaly = 'unknown_ticket' | 'st2_unverified' | 'rate_exceeded' | 'future_time';

/** An event more than this far ahead of the cloud's clock cannot have happened yet. */
export const FUTURE_SKEW_MS = 10 * 60_000;

/**
 * A signed-qr admission must carry its `ST2:` code, and the code must verify under one of the
 * site's offline keys and name this site and this ticket.
 */
export function checkSignedAdmission(e: EntryEvent, site: string, trusted: TrustedKeys): { ok: true; payload: OfflineTicketPayload } | { ok: false; detail: string } {
  if (!e.code) return { ok: false, detail: 'no code carried' };
  const parsed = parseTicketCode(e.code);
  if (!parsed.ok || parsed.kind !== 'st2') return { ok: false, detail: 'not an ST2 code' };
  // Key validity is judged on the day of the admission, not of its (possibly late) arrival.
  const verified = verifyOfflineTicket(parsed, trusted, e.at.slice(0, 10));
  if (!verified.ok) return { ok: false, detail: verified.reason };
  const p = verified.payload;
  if (p.site !== site) return { ok: false, detail: `code is for site ${p.site}` };
  if (p.ticketId !== e.ticketId) return { ok: false, detail: 'code names another ticket' };
  return { ok: true, payload: p };
}

/** What the cloud learns of a verified signed ticket: the signed fields, not the gate's claims. */
export function ticketFromPayload(p: OfflineTicketPayload, entriesUsed: number): SnapshotTicket {
  return { ticketId: p.ticketId, typeId: p.typeId, status: 'valid', visitDate: p.visitDate, slotStart: p.slotStart, slotEnd: p.slotEnd, persons: p.persons, entriesUsed };
}

/**
 * Admissions per gate as a token bucket over the events' own timestamps: a lane passes a
 * few persons a second, so a gate claiming more is faulty or forged. Event time, not
 * arrival time, so a backlog drained after an outage is not mistaken for a flood.
 */
export class LaneRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    /** Sustained admissions per second; 0 turns the check off. */
    private readonly perSecond: (site: string) => number,
    /** Admissions allowed at once (a group arriving together). */
    private readonly burst = 20,
  ) {}

  /** true: within the lane's rate. Call in seq order. */
  take(site: string, gate: string, atMs: number): boolean {
    const rate = this.perSecond(site);
    if (rate <= 0) return true;
    const key = `${site}\u0000${gate}`;
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: atMs };
    if (atMs > b.at) {
      b.tokens = Math.min(this.burst, b.tokens + ((atMs - b.at) / 1000) * rate);
      b.at = atMs;
    }
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

export interface AdmissionVerdicts {
  anomalies: Map<string, Anomaly>;
  /** eventId → the verified payload of a signed admission. */
  signed: Map<string, OfflineTicketPayload>;
}

/**
 * Judge a message's admissions before they are stored: signed codes verified, timestamps
 * plausible, the lane's rate respected. Whether an ST1/ID-card ticket was ever issued needs
 * the database and is judged while storing.
 */
export function judgeAdmissions(
  site: string,
  gate: string,
  events: EntryEvent[],
  trusted: TrustedKeys,
  limiter: LaneRateLimiter,
  nowMs: number,
  /** `events` are in seq order already (bySeq). */
  ordered = false,
): AdmissionVerdicts {
  const anomalies = new Map<string, Anomaly>();
  const signed = new Map<string, OfflineTicketPayload>();
  const inOrder = ordered ? events : bySeq(events).ordered;
  for (const e of inOrder) {
    if (e.kind !== 'admit') continue;
    const at = Date.parse(e.at);
    if (at > nowMs + FUTURE_SKEW_MS) {
      anomalies.set(e.eventId, 'future_time');
      continue;
    }
    if (e.credential === 'signed-qr') {
      const v = checkSignedAdmission(e, site, trusted);
      if (!v.ok) {
        anomalies.set(e.eventId, 'st2_unverified');
        continue;
      }
      signed.set(e.eventId, v.payload);
    }
    if (!limiter.take(site, gate, at)) anomalies.set(e.eventId, 'rate_exceeded');
  }
  return { anomalies, signed };
}

/**
 * Events in seq order (a stable sort: a repeated seq keeps its arrival order), with their
 * seqs as bigints: each seq parsed once, not twice per comparison.
 */
export function bySeq(events: readonly EntryEvent[]): { ordered: EntryEvent[]; keys: bigint[] } {
  const idx = events.map((e, i) => ({ e, k: BigInt(e.seq), i }));
  idx.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i));
  return { ordered: idx.map((x) => x.e), keys: idx.map((x) => x.k) };
}
