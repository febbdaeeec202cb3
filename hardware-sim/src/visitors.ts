/**
 * Visitor flow: visitors arrive at `ratePerMin` (spread over the lanes, one at a time per lane),
 * each showing a QR code or an ID card of some kind, and the relay board says whether the gate
 * let them in. A visitor counts as admitted when the lane's relay channel switches on within
 * the window; latency runs from the last byte the scanner wrote (for ID cards: the last byte of
 * the read answer) to the arrival of the relay's ON command.
 *
 * Only the hardware is watched, so a pulse that comes after its window is counted as late, not
 * given to the next visitor; a window shorter than the gate's decision time skews the report.
 * A lane with a display reports why a visitor was turned away, and its `NO …` line ends the
 * wait at once instead of after the whole window.
 */
import { randomBytes } from 'node:crypto';
import type { IdFields } from '@stile/gate-agent/protocol';
import { SimError, SimErrorCode } from './errors.js';
import type { SimIdReader } from './id-reader.js';
import type { DisplayLine, SimLaneDisplay } from './lane-display.js';
import type { SimPassageSensor } from './passage-sensor.js';
import type { SimQrScanner } from './qr-scanner.js';
import type { SimRelayBoard } from './relay-board.js';
import { latencyStats, seededRandom, type LatencyStats } from './stats.js';

export const VISITOR_KINDS = ['validQr', 'idCard', 'expired', 'forged', 'duplicate'] as const;
export type VisitorKind = (typeof VISITOR_KINDS)[number];
/** What a correct gate does with each kind. */
export const EXPECTED_OUTCOME: Record<VisitorKind, 'admitted' | 'rejected'> = { validQr: 'admitted', idCard: 'admitted', expired: 'rejected', forged: 'rejected', duplicate: 'rejected' };

/** Where codes come from; undefined means "none left" and the visitor is skipped. */
export interface VisitorCodes {
  /** QR text of a valid ticket for today, e.g. "ST1:<ticketId>". */
  validQr?(): string | undefined;
  /** An ID number (or full card fields) a valid ticket is bound to. */
  idCard?(): string | IdFields | undefined;
  /** QR text of a ticket for an earlier day. */
  expired?(): string | undefined;
  /** Default: "ST1:" and a random id no whitelist has. */
  forged?(): string | undefined;
  /** Default: a QR code admitted earlier in this run (skipped until there is one). */
  duplicate?(): string | undefined;
}

export interface SimLane {
  scanner: SimQrScanner;
  idReader?: SimIdReader | undefined;
  relay: SimRelayBoard;
  sensor?: SimPassageSensor | undefined;
  display?: SimLaneDisplay | undefined;
  /** Relay channel of the lane. Default 1. */
  channel?: number;
}

export interface PlayVisitorsOptions {
  lanes: readonly SimLane[];
  /** Arrivals per minute over all lanes. */
  ratePerMin: number;
  /** Relative weights, e.g. { validQr: 80, idCard: 10, forged: 10 }. */
  mix: Partial<Record<VisitorKind, number>>;
  /** Stop after this many visitors… */
  count?: number;
  /** …or after arrivals for this long (whichever comes first). */
  durationMs?: number;
  codes: VisitorCodes;
  /** ON must arrive this long after the scan's last byte. Default 2000. */
  admitWindowMs?: number;
  /** ON must arrive this long after a card is placed (the gate polls, then reads). Default 4000. */
  idCardWindowMs?: number;
  /** After an ON, the relay must stay off this long before the lane takes the next visitor (group pulses). Default 400. */
  settleMs?: number;
  /** Time from a pulse to the PASS line per person on the lane's sensor. Default 150. */
  walkMs?: number;
  arrivals?: 'uniform' | 'poisson';
  /** Seed for the kind mix and poisson arrivals. Default 1. */
  seed?: number;
  signal?: AbortSignal;
  onVisitor?: (result: VisitorResult) => void;
  /** Must be the devices' clock. Default performance.now. */
  now?: () => number;
}

export interface VisitorResult {
  seq: number;
  kind: VisitorKind;
  lane: number;
  /** The QR text, or the ID number masked to its last 4 (as the gate masks it). */
  code: string | null;
  outcome: 'admitted' | 'rejected' | 'skipped' | 'error';
  expected: 'admitted' | 'rejected';
  latencyMs: number | null;
  /** Pulses the gate gave this visitor (more than 1 for a group ticket). */
  pulses: number;
  /** Reject reason from the lane display's `NO <reason> …` line (null without one). */
  reason: string | null;
  /** What the lane display showed for this visitor. */
  display: string | null;
  error?: string;
}

export interface KindSummary {
  visitors: number;
  admitted: number;
  rejected: number;
  skipped: number;
  errors: number;
  latencyMs: LatencyStats | null;
}

export interface VisitorReport {
  visitors: number;
  admitted: number;
  rejected: number;
  skipped: number;
  errors: number;
  /** Admitted or rejected against EXPECTED_OUTCOME. */
  unexpected: number;
  /** ON commands outside every visitor's window. */
  latePulses: number;
  latencyMs: LatencyStats | null;
  byKind: Record<VisitorKind, KindSummary>;
  durationMs: number;
  results: VisitorResult[];
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((r) => {
    if (signal?.aborted) return r();
    const t = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      r();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

const mask = (id: string) => (id.length > 8 ? `${'*'.repeat(id.length - 4)}${id.slice(-4)}` : '*'.repeat(id.length));

/** Watches one lane's relay channel; every ON goes to the visitor being served, or counts as late. */
class LaneWatch {
  private ons: number[] = [];
  private shown: DisplayLine[] = [];
  private lastEventAt = -Infinity;
  private since: number | null = null;
  private wake: (() => void) | undefined;
  late = 0;

  constructor(
    private readonly relay: SimRelayBoard,
    private readonly channel: number,
    private readonly now: () => number,
    private readonly display: SimLaneDisplay | undefined,
  ) {
    relay.events.on('on', this.onOn);
    relay.events.on('off', this.onOff);
    display?.events.on('line', this.onLine);
  }

  private readonly onLine = (line: DisplayLine) => {
    if (this.since === null) return;
    this.shown.push(line);
    this.wake?.();
  };

  /** The display line for the current visitor, and its reject reason. */
  get shownLine(): { display: string | null; reason: string | null } {
    const line = this.shown[0];
    return { display: line?.text ?? null, reason: line?.decision?.decision === 'reject' ? line.decision.reason : null };
  }

  private readonly onOn = (ch: number, at: number) => {
    if (ch !== this.channel) return;
    this.lastEventAt = at;
    if (this.since !== null && at >= this.since) this.ons.push(at);
    else this.late++;
    this.wake?.();
  };

  private readonly onOff = (ch: number, at: number) => {
    if (ch !== this.channel) return;
    this.lastEventAt = at;
    this.wake?.();
  };

  begin(): void {
    this.ons = [];
    this.shown = [];
    this.since = this.now();
  }

  end(): number {
    this.since = null;
    return this.ons.length;
  }

  private waitEvent(untilAt: number): Promise<void> {
    return new Promise((r) => {
      const done = () => {
        clearTimeout(t);
        this.wake = undefined;
        r();
      };
      const t = setTimeout(done, Math.max(0, untilAt - this.now()));
      this.wake = done;
    });
  }

  /** The first ON, or null at the deadline or as soon as the display says NO. */
  async firstOn(deadline: number): Promise<number | null> {
    const refused = () => this.shown.some((l) => l.decision?.decision === 'reject');
    while (this.ons.length === 0 && !refused() && this.now() < deadline) await this.waitEvent(deadline);
    return this.ons[0] ?? null;
  }

  /** Until the channel is off and quiet for settleMs (at most 10 s: a stuck relay ends the wait). */
  async settle(settleMs: number): Promise<void> {
    const giveUp = this.now() + 10_000;
    for (;;) {
      const t = this.now();
      if (t >= giveUp) return;
      if (this.relay.isOn(this.channel)) await this.waitEvent(giveUp);
      else if (t - this.lastEventAt >= settleMs) return;
      else await this.waitEvent(this.lastEventAt + settleMs);
    }
  }

  stop(): void {
    this.relay.events.off('on', this.onOn);
    this.relay.events.off('off', this.onOff);
    this.display?.events.off('line', this.onLine);
  }
}

function pickerFor(mix: PlayVisitorsOptions['mix'], random: () => number): () => VisitorKind {
  const entries = VISITOR_KINDS.map((k) => [k, mix[k] ?? 0] as const).filter(([, w]) => w > 0);
  const total = entries.reduce((a, [, w]) => a + w, 0);
  if (entries.length === 0 || !Number.isFinite(total)) throw new SimError(SimErrorCode.BadArgument, 'mix needs at least one kind with a positive weight');
  return () => {
    let x = random() * total;
    for (const [k, w] of entries) if ((x -= w) < 0) return k;
    return (entries[entries.length - 1] as readonly [VisitorKind, number])[0];
  };
}

export async function playVisitors(opts: PlayVisitorsOptions): Promise<VisitorReport> {
  const now = opts.now ?? (() => performance.now());
  if (opts.lanes.length === 0) throw new SimError(SimErrorCode.BadArgument, 'playVisitors needs at least one lane');
  if (!(opts.ratePerMin > 0)) throw new SimError(SimErrorCode.BadArgument, `ratePerMin must be positive, got ${opts.ratePerMin}`);
  if (opts.count === undefined && opts.durationMs === undefined) throw new SimError(SimErrorCode.BadArgument, 'give count or durationMs');
  for (const k of ['validQr', 'idCard', 'expired'] as const) {
    if ((opts.mix[k] ?? 0) > 0 && !opts.codes[k]) throw new SimError(SimErrorCode.BadArgument, `mix has ${k} but codes.${k} is missing`);
  }
  const random = seededRandom(opts.seed ?? 1);
  const pick = pickerFor(opts.mix, random);
  const admittedQr: string[] = [];
  const codes: Required<VisitorCodes> = {
    validQr: () => opts.codes.validQr?.(),
    idCard: () => opts.codes.idCard?.(),
    expired: () => opts.codes.expired?.(),
    forged: () => (opts.codes.forged ? opts.codes.forged() : `ST1:${randomBytes(16).toString('base64url')}`),
    duplicate: () => (opts.codes.duplicate ? opts.codes.duplicate() : admittedQr[Math.floor(random() * admittedQr.length)]),
  };
  const cfg = { admitWindowMs: opts.admitWindowMs ?? 2000, idCardWindowMs: opts.idCardWindowMs ?? 4000, settleMs: opts.settleMs ?? 400, walkMs: opts.walkMs ?? 150 };
  const watches = opts.lanes.map((l) => new LaneWatch(l.relay, l.channel ?? 1, now, l.display));
  const queues: Promise<void>[] = opts.lanes.map(() => Promise.resolve());
  const results: VisitorResult[] = [];

  const serve = async (seq: number, kind: VisitorKind, laneNo: number): Promise<VisitorResult> => {
    const lane = opts.lanes[laneNo] as SimLane;
    const watch = watches[laneNo] as LaneWatch;
    const base = { seq, kind, lane: laneNo, expected: EXPECTED_OUTCOME[kind], latencyMs: null, pulses: 0, reason: null, display: null };
    const raw = codes[kind]();
    if (raw === undefined || (kind === 'idCard' && !lane.idReader)) return { ...base, code: null, outcome: 'skipped' };
    const code = typeof raw === 'string' ? (kind === 'idCard' ? mask(raw) : raw) : mask(raw.cardType === 'foreign_permanent' ? raw.permitNumber : raw.idNumber);
    watch.begin();
    try {
      let start: number | null;
      let onAt: number | null;
      if (kind === 'idCard') {
        const reader = lane.idReader as SimIdReader;
        let readAt: number | null = null;
        const onRead = (_card: IdFields, at: number) => (readAt ??= at);
        reader.events.on('read', onRead);
        try {
          reader.placeCard(typeof raw === 'string' ? { idNumber: raw } : raw);
          onAt = await watch.firstOn(now() + cfg.idCardWindowMs);
          // The read is stamped when its answer has drained, which can be after a fast gate's ON.
          for (let i = 0; onAt !== null && readAt === null && i < 20; i++) await sleep(5);
          start = readAt;
          if (onAt !== null) await watch.settle(cfg.settleMs);
        } finally {
          reader.events.off('read', onRead);
          reader.removeCard();
        }
      } else {
        const scan = await lane.scanner.scan(raw as string);
        if (!scan.sent) return { ...base, code, outcome: 'error', error: `scanner: ${scan.reason}` };
        start = scan.writtenAt;
        onAt = await watch.firstOn(start + cfg.admitWindowMs);
        if (onAt !== null) await watch.settle(cfg.settleMs);
      }
      const shown = watch.shownLine;
      const pulses = watch.end();
      if (onAt === null) return { ...base, ...shown, code, outcome: 'rejected' };
      if (kind === 'validQr') admittedQr.push(raw as string);
      if (lane.sensor) void sleep(cfg.walkMs).then(() => lane.sensor?.pass(pulses).catch(() => undefined));
      return { ...base, ...shown, code, outcome: 'admitted', pulses, latencyMs: start === null ? null : Math.max(0, onAt - start) };
    } catch (err) {
      watch.end();
      return { ...base, code, outcome: 'error', error: (err as Error).message };
    }
  };

  const t0 = now();
  const interval = 60_000 / opts.ratePerMin;
  let at = t0;
  const limit = opts.count ?? Infinity;
  try {
    for (let seq = 0; seq < limit && !opts.signal?.aborted; seq++) {
      if (opts.durationMs !== undefined && at - t0 >= opts.durationMs) break;
      await sleep(at - now(), opts.signal);
      if (opts.signal?.aborted) break;
      const kind = pick();
      const laneNo = seq % opts.lanes.length;
      queues[laneNo] = (queues[laneNo] as Promise<void>).then(async () => {
        const r = await serve(seq, kind, laneNo);
        results.push(r);
        opts.onVisitor?.(r);
      });
      at += opts.arrivals === 'poisson' ? -Math.log(1 - random()) * interval : interval;
    }
    await Promise.all(queues);
  } finally {
    watches.forEach((w) => w.stop());
  }
  results.sort((a, b) => a.seq - b.seq);
  return summarize(results, watches.reduce((a, w) => a + w.late, 0), now() - t0);
}

function summarize(results: VisitorResult[], latePulses: number, durationMs: number): VisitorReport {
  const count = (rs: VisitorResult[], o: VisitorResult['outcome']) => rs.filter((r) => r.outcome === o).length;
  const lat = (rs: VisitorResult[]) => latencyStats(rs.flatMap((r) => (r.latencyMs === null ? [] : [r.latencyMs])));
  const byKind = Object.fromEntries(
    VISITOR_KINDS.map((k) => {
      const rs = results.filter((r) => r.kind === k);
      return [k, { visitors: rs.length, admitted: count(rs, 'admitted'), rejected: count(rs, 'rejected'), skipped: count(rs, 'skipped'), errors: count(rs, 'error'), latencyMs: lat(rs) }];
    }),
  ) as Record<VisitorKind, KindSummary>;
  return {
    visitors: results.length,
    admitted: count(results, 'admitted'),
    rejected: count(results, 'rejected'),
    skipped: count(results, 'skipped'),
    errors: count(results, 'error'),
    unexpected: results.filter((r) => (r.outcome === 'admitted' || r.outcome === 'rejected') && r.outcome !== r.expected).length,
    latePulses,
    latencyMs: lat(results),
    byKind,
    durationMs: Math.round(durationMs),
    results,
  };
}
