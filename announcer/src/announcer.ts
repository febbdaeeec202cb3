import type { Logger } from 'pino';
import {
  AnnounceMessageSchema,
  CapacityMessageSchema,
  localClock,
  verifySiteDocument,
  type AnnounceMessage,
  type CapacityMessage,
  type TrustedKeys,
} from '@stile/config';
import type { Level } from './config.js';
import { AbortedError, SpeechError, type Speaker, type Utterance } from './speech.js';

/** Why a message is not acted on. The first group is the signature check, the second the announcer's own. */
export type Refusal =
  | 'bad_json'
  | 'invalid'
  | 'unsigned'
  | 'unknown_key'
  | 'bad_signature'
  | 'key_expired'
  | 'wrong_site'
  | 'replayed'
  | 'too_old'
  | 'future'
  | 'superseded';

export type Outcome = { ok: true; action: 'spoken' | 'updated' | 'ignored' } | { ok: false; reason: Refusal; detail: string };

export interface AnnouncerOptions {
  site: string;
  timeZone: string;
  /** The site's control keys. */
  trusted: TrustedKeys;
  /** Announcements older than this (or as far ahead of this clock) are not spoken. */
  maxAgeMs: number;
  /** Pause between the end of one saying and the next while the level holds; 0 = no repeat. */
  repeatMs: number;
  repeatLevels: readonly Level[];
  /** What to play for a level: its clip, else its text in each language (text null: only a clip will do). */
  plan: (level: Level, text: { zh: string; en: string } | null) => Utterance[];
  speaker: Speaker;
  log: Logger;
  now?: () => number;
}

/** An announcement being said and repeated while its level holds. */
interface Held {
  level: Level;
  plan: Utterance[];
  at: string;
  repeats: number;
}

interface Job {
  plan: Utterance[];
  level: Level;
  reason: 'announce' | 'repeat' | 'resume';
  held: Held | null;
  at: string;
}

type Verified<T> = { ok: true; doc: T } | { ok: false; reason: Refusal; detail: string };

/**
 * Parse and verify a signed site message: JSON, the schema, the control signature over the
 * raw object (zod defaults would change the signed bytes) and the site it names.
 */
export function verifySigned<T extends { site: string }>(
  payload: Buffer | string,
  schema: Parameters<typeof verifySiteDocument<T>>[1],
  site: string,
  trusted: TrustedKeys,
  today: string,
): Verified<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'bad_json', detail: (err as Error).message };
  }
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && typeof (raw as { sig?: unknown }).sig !== 'string') {
    return { ok: false, reason: 'unsigned', detail: 'no signature: only messages signed with the site\'s control key are spoken' };
  }
  const v = verifySiteDocument(raw, schema, site, trusted, today);
  if (v.ok) return v;
  return { ok: false, reason: v.reason === 'mismatch' ? 'invalid' : v.reason, detail: v.detail };
}

/**
 * The PA's brain, without MQTT: takes the raw payloads of `stile/{site}/announce` and the
 * retained `stile/{site}/capacity`, speaks each new verified announcement at once
 * (interrupting whatever is playing), repeats it every `repeatMs` after it ends while the
 * level holds, and stops when the level changes or drops to green. One thing plays at a
 * time. Nothing it cannot verify is ever spoken; every refusal is logged with its reason.
 */
export class Announcer {
  private readonly now: () => number;
  /** `at` (ms) of the newest announcement accepted. */
  private lastAnnounceAt = Number.NEGATIVE_INFINITY;
  /** The park's level as of the newest verified message (capacity or announcement). */
  private level: { level: Level; at: number } | null = null;
  private held: Held | null = null;
  /** `date|level` already said (or resumed) in this process: a restart at red resumes a clip once. */
  private resumedKey: string | null = null;
  private pending: Job | null = null;
  private current: { job: Job; ac: AbortController } | null = null;
  private loop: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  readonly stats = { spoken: 0, repeats: 0, interrupted: 0, failed: 0, refused: 0 };
  /** Refusals by reason (bad_signature, too_old, replayed, …), and when the PA last finished saying something (ms). */
  readonly refusals: Partial<Record<Refusal, number>> = {};
  lastSpokenAt: number | null = null;

  constructor(private readonly o: AnnouncerOptions) {
    this.now = o.now ?? Date.now;
  }

  /** The level being repeated, if any. */
  get holding(): Level | null {
    return this.held?.level ?? null;
  }

  get currentLevel(): Level | null {
    return this.level?.level ?? null;
  }

  private today(): string {
    return localClock(this.o.timeZone, this.now()).date;
  }

  private refuse(topic: string, reason: Refusal, detail: string, extra: Record<string, unknown> = {}): Outcome {
    this.stats.refused++;
    this.refusals[reason] = (this.refusals[reason] ?? 0) + 1;
    this.o.log.warn({ event: topic === 'announce' ? 'announcement_refused' : 'capacity_refused', reason, detail, ...extra }, `${topic} message not acted on: ${reason}`);
    return { ok: false, reason, detail };
  }

  /** A payload from `stile/{site}/announce`. */
  handleAnnounce(payload: Buffer | string): Outcome {
    if (this.stopped) return { ok: true, action: 'ignored' };
    const v = verifySigned<AnnounceMessage>(payload, AnnounceMessageSchema, this.o.site, this.o.trusted, this.today());
    if (!v.ok) return this.refuse('announce', v.reason, v.detail);
    const msg = v.doc;
    const at = Date.parse(msg.at);
    const now = this.now();
    const max = this.o.maxAgeMs;
    const ctx = { level: msg.level, at: msg.at };
    if (now - at > max) return this.refuse('announce', 'too_old', `announced at ${msg.at}, ${minutes(now - at)} ago (older than ${minutes(max)})`, ctx);
    if (at - now > max) return this.refuse('announce', 'future', `announced at ${msg.at}, ${minutes(at - now)} ahead of this clock: check the time (timedatectl)`, ctx);
    if (at <= this.lastAnnounceAt) return this.refuse('announce', 'replayed', `at ${msg.at} is not after the last announcement's ${new Date(this.lastAnnounceAt).toISOString()}`, ctx);
    if (this.level && this.level.at > at && this.level.level !== msg.level) {
      return this.refuse('announce', 'superseded', `the level is ${this.level.level} since ${new Date(this.level.at).toISOString()}, after this ${msg.level} announcement`, ctx);
    }
    this.lastAnnounceAt = at;
    this.level = { level: msg.level, at };
    this.resumedKey = `${localClock(this.o.timeZone, at).date}|${msg.level}`;
    this.o.log.info({ event: 'announcement', level: msg.level, at: msg.at, text: msg.text }, `announcement: ${msg.level}`);
    this.start(msg.level, this.o.plan(msg.level, msg.text), 'announce', msg.at);
    return { ok: true, action: 'spoken' };
  }

  /**
   * A payload from the retained `stile/{site}/capacity`: the level that holds (or ends) the
   * repeat. `retained`: the broker's stored copy, delivered on (re)subscribing.
   */
  handleCapacity(payload: Buffer | string, opts: { retained?: boolean } = {}): Outcome {
    if (this.stopped) return { ok: true, action: 'ignored' };
    const today = this.today();
    const v = verifySigned<CapacityMessage>(payload, CapacityMessageSchema, this.o.site, this.o.trusted, today);
    if (!v.ok) return this.refuse('capacity', v.reason, v.detail);
    const msg = v.doc;
    const at = Date.parse(msg.at);
    if (this.level && at < this.level.at) {
      this.o.log.debug({ event: 'capacity_stale', level: msg.level, at: msg.at }, 'older than the level already known');
      return { ok: true, action: 'ignored' };
    }
    const changed = this.level?.level !== msg.level;
    this.level = { level: msg.level, at };
    if (changed) this.o.log.info({ event: 'level', level: msg.level, percent: msg.percent, date: msg.date, at: msg.at }, `level ${msg.level}`);
    if (this.held && this.held.level !== msg.level) this.endRepeat(msg.level === 'green' ? 'green' : 'level_changed', msg.level);
    // After a restart mid-level there is no announcement to repeat (they are not retained):
    // a level with a recorded clip resumes from the retained capacity alone, once. A live
    // capacity change is followed by its own announcement, which is what gets said.
    const key = `${msg.date}|${msg.level}`;
    if (opts.retained === true && !this.held && msg.date === today && this.repeats(msg.level) && this.resumedKey !== key) {
      const plan = this.o.plan(msg.level, null);
      if (plan.length > 0) {
        this.resumedKey = key;
        this.o.log.info({ event: 'resume', level: msg.level, at: msg.at }, `resuming the ${msg.level} clip from the retained capacity`);
        this.start(msg.level, plan, 'resume', msg.at);
        return { ok: true, action: 'spoken' };
      }
    }
    return { ok: true, action: 'updated' };
  }

  private repeats(level: Level): boolean {
    return this.o.repeatMs > 0 && this.o.repeatLevels.includes(level);
  }

  private start(level: Level, plan: Utterance[], reason: 'announce' | 'resume', at: string): void {
    if (this.held && this.held.level !== level) this.endRepeat(level === 'green' ? 'green' : 'level_changed', level);
    clearTimeout(this.timer);
    this.held = this.repeats(level) ? { level, plan, at, repeats: 0 } : null;
    this.enqueue({ plan, level, reason, held: this.held, at });
  }

  private endRepeat(why: 'green' | 'level_changed', to: Level): void {
    const held = this.held!;
    this.held = null;
    clearTimeout(this.timer);
    this.o.log.info({ event: 'repeat_stopped', reason: why, level: held.level, to, repeats: held.repeats }, `stopped repeating the ${held.level} announcement (${why === 'green' ? 'level green' : `level now ${to}`})`);
    if (this.pending?.held === held) this.pending = null;
    if (this.current?.job.held === held) this.interrupt(`level now ${to}`);
  }

  private interrupt(why: string): void {
    const cur = this.current;
    if (!cur || cur.ac.signal.aborted) return;
    this.o.log.info({ event: 'interrupted', level: cur.job.level, reason: cur.job.reason, by: why }, `interrupted the ${cur.job.level} announcement: ${why}`);
    cur.ac.abort();
  }

  /** Play `job` next: whatever is playing stops at once; a job still waiting is replaced. */
  private enqueue(job: Job): void {
    this.pending = job;
    this.interrupt(job.reason === 'repeat' ? 'repeat' : `new ${job.level} announcement`);
    this.loop ??= this.drain();
  }

  private async drain(): Promise<void> {
    while (this.pending && !this.stopped) {
      const job = this.pending;
      this.pending = null;
      const ac = new AbortController();
      this.current = { job, ac };
      const t0 = this.now();
      const ctx = { level: job.level, reason: job.reason, at: job.at, ...(job.reason === 'repeat' ? { repeat: job.held?.repeats } : {}) };
      try {
        if (job.plan.length === 0) this.o.log.info({ event: 'nothing_to_say', ...ctx }, 'no text and no clip for this level');
        else {
          this.o.log.info({ event: 'speaking', ...ctx, parts: job.plan.map((u) => (u.kind === 'tts' ? u.lang : 'clip')) }, `speaking the ${job.level} announcement`);
          await this.o.speaker.say(job.plan, ac.signal);
          this.stats.spoken++;
          this.lastSpokenAt = this.now();
          this.o.log.info({ event: 'spoken', ...ctx, ms: this.now() - t0 }, `spoke the ${job.level} announcement`);
        }
      } catch (err) {
        if (err instanceof AbortedError || ac.signal.aborted) this.stats.interrupted++;
        else {
          this.stats.failed++;
          const fix = err instanceof SpeechError ? err.fix : undefined;
          this.o.log.error({ event: 'speech_failed', ...ctx, err: (err as Error).message, ...(fix ? { fix } : {}) }, `could not speak the ${job.level} announcement: ${(err as Error).message}`);
        }
      } finally {
        this.current = null;
      }
      // A failed saying repeats too: once the fault is fixed (espeak-ng installed) the PA speaks again without a restart.
      if (!ac.signal.aborted && job.held && job.held === this.held && !this.stopped) this.scheduleRepeat(job.held);
    }
    this.loop = null;
  }

  private scheduleRepeat(held: Held): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.held !== held || this.stopped) return;
      held.repeats++;
      this.stats.repeats++;
      this.enqueue({ plan: held.plan, level: held.level, reason: 'repeat', held, at: held.at });
    }, this.o.repeatMs);
  }

  /** Stop speaking now and forget the repeat. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.pending = null;
    this.held = null;
    this.current?.ac.abort();
    await this.loop;
  }
}

function minutes(ms: number): string {
  const m = ms / 60_000;
  return m >= 1 ? `${Math.round(m * 10) / 10} min` : `${Math.round(ms / 1000)} s`;
}
