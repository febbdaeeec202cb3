/**
 * The provider's request rate, honoured: a token bucket of `qps` per second (burst `qps`,
 * at least 1) and at most `maxInFlight` requests at once, which callers wait on in arrival
 * order (a request's timeout starts when it leaves, not while it waits here). Time here is
 * elapsed time (performance.now), not the business clock.
 */
import { performance } from 'node:perf_hooks';
import { CloudError } from '../../core/errors.js';

export class RateLimiter {
  private tokens: number;
  private last = performance.now();
  private readonly burst: number;
  private readonly waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private inFlight = 0;

  constructor(
    private readonly qps: number,
    private readonly maxInFlight = 16,
  ) {
    this.burst = Math.max(1, qps);
    this.tokens = this.burst;
  }

  /** Callers waiting for a token. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Resolves when the caller may send one request; it calls release() when the answer is in. */
  take(): Promise<void> {
    if (this.closed) return Promise.reject(new CloudError('sms_unavailable', 'SMS sender closing', { outcome: 'not_sent' }));
    this.refill();
    if (this.waiters.length === 0 && this.tokens >= 1 && this.inFlight < this.maxInFlight) {
      this.tokens -= 1;
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  release(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.pump();
  }

  /** Every waiter is refused (its text was never sent). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.waiters.splice(0)) w.reject(new CloudError('sms_unavailable', 'SMS sender closed before this text could be sent', { outcome: 'not_sent' }));
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
  }

  /** Let waiters go while there are tokens and room; wait for a token if that is what is missing. */
  private pump(): void {
    this.refill();
    while (this.waiters.length > 0 && this.tokens >= 1 && this.inFlight < this.maxInFlight) {
      this.tokens -= 1;
      this.inFlight++;
      this.waiters.shift()!.resolve();
    }
    if (this.waiters.length > 0 && this.inFlight < this.maxInFlight) this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    if (this.inFlight >= this.maxInFlight) return; // release() pumps
    const wait = Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.qps));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, wait);
  }
}
