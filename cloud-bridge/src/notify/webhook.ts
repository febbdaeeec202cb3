/**
 * Staff alerts. Notifiers never throw: an alert that cannot be delivered is logged and
 * dropped, because the caller (capacity, conflict detection) must carry on regardless.
 */
import { createHmac } from 'node:crypto';
import type { Level, LocalizedText } from '../capacity/levels.js';
import type { Logger } from '../log.js';

export interface StaffAlert {
  site: string;
  kind: 'capacity_level' | 'partition_conflict' | 'channel_paused' | 'channel_resumed';
  level?: Level;
  message: LocalizedText;
  /** ISO timestamp. */
  at: string;
  details?: Record<string, unknown>;
}

export interface StaffNotifier {
  notify(alert: StaffAlert): Promise<void>;
}

export interface WebhookNotifierOptions {
  url: string;
  /** When set, each request carries `x-stile-signature: sha256=<hex HMAC-SHA256 of the body>`. */
  secret?: string;
  logger: Logger;
  /** Total attempts, default 3. */
  attempts?: number;
  /** Waits before attempt 2, 3, …; the last value repeats. Default [200, 1000]. */
  backoffMs?: number[];
  /** Per-attempt timeout, default 5000. */
  timeoutMs?: number;
}

/** The hex signature a receiver recomputes over the raw request body. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** Errors worth another attempt: the network, timeouts, 5xx, 408 and 429. Other 4xx will not get better. */
const retryable = (status: number) => status >= 500 || status === 408 || status === 429;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class WebhookNotifier implements StaffNotifier {
  private readonly attempts: number;
  private readonly backoffMs: number[];
  private readonly timeoutMs: number;
  /** For logs: webhook URLs often carry a token in the query (e.g. WeCom ?key=), so it is left out. */
  private readonly where: string;

  constructor(private readonly opts: WebhookNotifierOptions) {
    this.attempts = Math.max(1, opts.attempts ?? 3);
    this.backoffMs = opts.backoffMs && opts.backoffMs.length > 0 ? opts.backoffMs : [200, 1000];
    this.timeoutMs = opts.timeoutMs ?? 5000;
    let where = '(invalid url)';
    try {
      const u = new URL(opts.url);
      where = `${u.origin}${u.pathname}`;
    } catch {
      // reported on first notify
    }
    this.where = where;
  }

  async notify(alert: StaffAlert): Promise<void> {
    let body: string;
    try {
      body = JSON.stringify(alert);
    } catch (err) {
      this.opts.logger.warn({ site: alert.site, kind: alert.kind, reason: (err as Error).message }, 'staff alert not sent: not serializable');
      return;
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.opts.secret !== undefined) headers['x-stile-signature'] = signBody(this.opts.secret, body);
    let reason = 'no attempt made';
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      if (attempt > 1) await sleep(this.backoffMs[Math.min(attempt - 2, this.backoffMs.length - 1)]!);
      try {
        // redirect: manual — a redirected POST would be re-sent as a GET to somewhere else.
        const res = await fetch(this.opts.url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
        // Free the connection; the receiver's body is of no interest.
        await res.body?.cancel().catch(() => undefined);
        if (res.status >= 200 && res.status < 300) return;
        reason = `HTTP ${res.status}`;
        if (!retryable(res.status)) break;
      } catch (err) {
        const e = err as Error & { cause?: { code?: string; message?: string } };
        reason = e.name === 'TimeoutError' ? `timeout after ${this.timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
      }
      this.opts.logger.debug({ url: this.where, attempt, reason }, 'staff alert attempt failed');
    }
    this.opts.logger.warn({ url: this.where, site: alert.site, kind: alert.kind, attempts: this.attempts, reason }, 'staff alert not delivered');
  }
}

/** Writes alerts to the log; the demo uses it in place of a webhook. */
export class LogNotifier implements StaffNotifier {
  constructor(private readonly logger: Logger) {}

  async notify(alert: StaffAlert): Promise<void> {
    this.logger.info({ alert }, `staff alert: ${alert.kind} at ${alert.site}: ${alert.message.en}`);
  }
}

/** Sends to every notifier in parallel; one failing (or throwing, if a custom one does) does not stop the rest. */
export class MultiNotifier implements StaffNotifier {
  constructor(
    private readonly notifiers: readonly StaffNotifier[],
    private readonly logger?: Logger,
  ) {}

  async notify(alert: StaffAlert): Promise<void> {
    const results = await Promise.allSettled(this.notifiers.map((n) => n.notify(alert)));
    for (const r of results) {
      if (r.status === 'rejected') this.logger?.warn({ site: alert.site, kind: alert.kind, reason: String(r.reason) }, 'staff notifier failed');
    }
  }
}
