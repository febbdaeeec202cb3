import type { Logger } from 'pino';
import { isStileError, StileErrorCode } from '@stile/config';

/** wrong_mode: present but set up for another mode; `error` says how to fix it. */
export type DeviceState = 'starting' | 'ok' | 'degraded' | 'reconnecting' | 'wrong_mode' | 'stopped';

/** What `gatectl status` shows per device. Counters only grow; reasons are machine-readable. */
export interface DeviceHealth {
  name: string;
  kind: string;
  state: DeviceState;
  error?: string | undefined;
  since: string;
  reconnects: number;
  /** Frames, reports or lines thrown away, by reason (bad_checksum, too_long, …). */
  discarded: Record<string, number>;
  scans: number;
}

export function newHealth(name: string, kind: string): DeviceHealth {
  return { name, kind, state: 'starting', since: new Date().toISOString(), reconnects: 0, discarded: {}, scans: 0 };
}

export function countDiscard(h: DeviceHealth, reason: string): void {
  h.discarded[reason] = (h.discarded[reason] ?? 0) + 1;
}

export function setState(h: DeviceHealth, state: DeviceState, error?: string): void {
  if (h.state !== state || h.error !== error) h.since = new Date().toISOString();
  h.state = state;
  h.error = error;
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 250, maxMs: 15_000 };

/** Exponential backoff with ±25 % jitter, so a row of gates does not retry in lockstep. */
export function backoffDelay(attempt: number, b: Backoff, random = Math.random): number {
  const base = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(attempt, 20));
  return Math.round(base * (0.75 + random() * 0.5));
}

/**
 * Keeps one device connection open: opens it, and after it fails or closes, reopens it
 * with backoff — forever, until stop(). The daemon never restarts for an unplugged device.
 */
export class Reconnector<C extends { close(): Promise<void> }> {
  private conn: C | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private stopped = false;

  constructor(
    private readonly health: DeviceHealth,
    private readonly log: Logger,
    private readonly open: () => Promise<C>,
    /** Wire up a fresh connection; call `lost(err)` when it goes away. */
    private readonly attach: (conn: C, lost: (err: Error | undefined) => void) => void,
    private readonly backoff: Backoff = DEFAULT_BACKOFF,
  ) {}

  start(): void {
    void this.connect();
  }

  get connection(): C | undefined {
    return this.conn;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    try {
      const conn = await this.open();
      if (this.stopped) {
        await conn.close();
        return;
      }
      this.conn = conn;
      if (this.attempt > 0) this.health.reconnects++;
      this.attempt = 0;
      setState(this.health, 'ok');
      this.log.info({ event: 'device_ok', device: this.health.name }, 'device connected');
      let gone = false;
      this.attach(conn, (err) => {
        if (gone) return;
        gone = true;
        this.lost(conn, err);
      });
    } catch (err) {
      this.retry(err as Error);
    }
  }

  private lost(conn: C, err: Error | undefined): void {
    if (this.conn === conn) this.conn = undefined;
    void conn.close().catch(() => {});
    if (this.stopped) return;
    this.retry(err ?? new Error('device closed'));
  }

  private retry(err: Error): void {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt++, this.backoff);
    // Log the first failure loudly, then quietly: an unplugged scanner must not flood the log.
    const level = this.attempt <= 1 || this.attempt % 20 === 0 ? 'warn' : 'debug';
    this.log[level]({ event: 'device_fault', device: this.health.name, err: err.message, retryInMs: delay, attempt: this.attempt }, 'device unavailable; retrying');
    // Keep looking: once the technician scans the setup code the device re-enumerates in the right mode.
    setState(this.health, isStileError(err, StileErrorCode.DeviceWrongMode) ? 'wrong_mode' : 'reconnecting', err.message);
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    setState(this.health, 'stopped');
    const conn = this.conn;
    this.conn = undefined;
    if (conn) await conn.close().catch(() => {});
  }
}
