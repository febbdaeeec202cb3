import type { Logger } from 'pino';

export interface PendingAdmission {
  seq: number;
  ticketId: string;
  persons: number;
  passed: number;
  /** Park-local date of the admission (for giving back a per-day entry). */
  admissionDay: string;
}

/**
 * Matches PASS events to admissions, oldest first. Each admission waits `windowMs` after
 * its last relay pulse; whoever has not passed by then is reported to `onExpire`.
 */
export class PassageTracker {
  private readonly pending: PendingAdmission[] = [];
  private readonly timers = new Map<number, NodeJS.Timeout>();

  constructor(
    private readonly windowMs: number,
    private readonly onExpire: (a: PendingAdmission, missing: number) => void,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.pending.length;
  }

  /** Register an admission before its pulses, so a quick visitor's PASS already matches. */
  admitted(a: Omit<PendingAdmission, 'passed'>): void {
    this.pending.push({ ...a, passed: 0 });
  }

  /** Its pulses are done: start the window. */
  arm(seq: number): void {
    if (!this.pending.some((p) => p.seq === seq) || this.timers.has(seq)) return;
    const timer = setTimeout(() => this.expire(seq), this.windowMs);
    timer.unref();
    this.timers.set(seq, timer);
  }

  /** One person went through. False when no admission was waiting: a tailgater. */
  pass(): boolean {
    const a = this.pending[0];
    if (!a) return false;
    a.passed++;
    if (a.passed >= a.persons) {
      this.remove(a.seq);
      this.log.debug({ event: 'passage_confirmed', seq: a.seq, ticketId: a.ticketId, persons: a.persons }, 'passage confirmed');
    }
    return true;
  }

  /**
   * Forget every waiting admission without compensating it: while the lane is held open
   * or the sensor is gone, the gate cannot tell who went through, and a recorded entry
   * is the safer error (see docs/architecture.md).
   */
  drop(reason: string): void {
    for (const a of [...this.pending]) {
      this.remove(a.seq);
      this.log.info({ event: 'passage_unconfirmed', reason, seq: a.seq, ticketId: a.ticketId, persons: a.persons, passed: a.passed }, 'passage cannot be confirmed; entry stands');
    }
  }

  private expire(seq: number): void {
    const a = this.pending.find((p) => p.seq === seq);
    if (!a) return;
    this.remove(seq);
    this.onExpire(a, a.persons - a.passed);
  }

  private remove(seq: number): void {
    const i = this.pending.findIndex((p) => p.seq === seq);
    if (i >= 0) this.pending.splice(i, 1);
    clearTimeout(this.timers.get(seq));
    this.timers.delete(seq);
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.pending.length = 0;
  }
}
