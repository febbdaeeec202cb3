/**
 * Staff alerts. Notifiers never throw once built: an alert that cannot be delivered is logged
 * and dropped, because the caller (capacity, conflict detection) must carry on regardless.
 * Webhook requests are always signed (Stripe-style, with a timestamp); receivers check them
 * with {@link verifyWebhookSignature} (docs/park-operations.md, "Staff alerts").
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { StileError, StileErrorCode } from '@stile/config';
import type { Level, LocalizedText } from '../capacity-levels.js';
import type { Logger } from '../log.js';

export interface StaffAlert {
  site: string;
  kind: 'capacity_level' | 'partition_conflict' | 'channel_paused' | 'channel_resumed' | 'gate_anomaly' | 'kiosk_anomaly' | 'payment_refunded' | 'payment_problem' | 'backup_failed';
  level?: Level;
  message: LocalizedText;
  /** ISO timestamp. */
  at: string;
  details?: Record<string, unknown>;
}

export interface StaffNotifier {
  notify(alert: StaffAlert): Promise<void>;
}

/** Shortest webhook secret accepted: 32 characters (e.g. `openssl rand -hex 24` gives 48). */
export const MIN_WEBHOOK_SECRET = 32;
/** Default replay window of {@link verifyWebhookSignature}, seconds either side of the receiver's clock. */
export const WEBHOOK_TOLERANCE_SEC = 300;
export const SIGNATURE_HEADER = 'x-stile-signature';
export const TIMESTAMP_HEADER = 'x-stile-timestamp';

export interface WebhookNotifierOptions {
  url: string;
  /**
   * Every request is signed with it: `x-stile-signature: t=<unix seconds>,v1=<hex
   * HMAC-SHA256 of "<t>.<body>">` and `x-stile-timestamp: <t>`. At least 32 characters.
   */
  secret: string;
  logger: Logger;
  /** Total attempts, default 3. */
  attempts?: number;
  /** Waits before attempt 2, 3, …; the last value repeats. Default [200, 1000]. */
  backoffMs?: number[];
  /** Per-attempt timeout, default 5000. */
  timeoutMs?: number;
  /** Clock for the signature timestamp (ms since the epoch); default Date.now. */
  now?: () => number;
}

/** The hex HMAC-SHA256 of `"<t>.<body>"`: what `v1=` carries. */
function hmacHex(secret: string, t: number, body: string | Uint8Array): string {
  const h = createHmac('sha256', secret).update(`${t}.`, 'utf8');
  return (typeof body === 'string' ? h.update(body, 'utf8') : h.update(body)).digest('hex');
}

/** The `x-stile-signature` value for a body sent at `t` (unix seconds). */
export function signWebhook(secret: string, t: number, body: string): string {
  return `t=${t},v1=${hmacHex(secret, t, body)}`;
}

export type WebhookVerification = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'bad_signature' | 'expired' };

/**
 * For receivers: checks `x-stile-signature` against the raw request body (the exact bytes,
 * before any JSON parsing) and refuses a request signed more than `toleranceSec` away from
 * `nowSec`, so a captured request cannot be replayed later. Pure; compares in constant time.
 * Several `v1=` entries are allowed (any one matching will do).
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | readonly string[] | null | undefined,
  rawBody: string | Uint8Array,
  nowSec: number,
  toleranceSec: number = WEBHOOK_TOLERANCE_SEC,
): WebhookVerification {
  if (header === null || header === undefined || header.length === 0) return { ok: false, reason: 'missing' };
  if (typeof header !== 'string') return header.length === 1 ? verifyWebhookSignature(secret, header[0], rawBody, nowSec, toleranceSec) : { ok: false, reason: 'malformed' };
  let t: number | undefined;
  const sigs: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return { ok: false, reason: 'malformed' };
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (t !== undefined || !/^\d{1,12}$/.test(value)) return { ok: false, reason: 'malformed' };
      t = Number(value);
    } else if (key === 'v1') {
      if (!/^[0-9a-f]{64}$/i.test(value)) return { ok: false, reason: 'malformed' };
      sigs.push(Buffer.from(value, 'hex'));
    }
    // Other keys (a future v2) are skipped, as Stripe's scheme does.
  }
  if (t === undefined || sigs.length === 0) return { ok: false, reason: 'malformed' };
  const want = Buffer.from(hmacHex(secret, t, rawBody), 'hex');
  // Every candidate is compared, so the time taken does not say which one matched.
  let match = false;
  for (const sig of sigs) match = timingSafeEqual(sig, want) || match;
  if (!match) return { ok: false, reason: 'bad_signature' };
  if (!Number.isFinite(nowSec) || Math.abs(nowSec - t) > toleranceSec) return { ok: false, reason: 'expired' };
  return { ok: true };
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
  private readonly now: () => number;

  constructor(private readonly opts: WebhookNotifierOptions) {
    // Unsigned alerts could be forged by anyone who learns the URL: refuse rather than send them.
    if (typeof opts.secret !== 'string' || opts.secret.length < MIN_WEBHOOK_SECRET)
      throw new StileError(StileErrorCode.ConfigInvalid, `alert webhook: secret is required, at least ${MIN_WEBHOOK_SECRET} characters (e.g. openssl rand -hex 24)`);
    this.now = opts.now ?? Date.now;
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
    let reason = 'no attempt made';
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      if (attempt > 1) await sleep(this.backoffMs[Math.min(attempt - 2, this.backoffMs.length - 1)]!);
      // Signed per attempt: the timestamp says when this copy was sent, for the receiver's window.
      const t = Math.floor(this.now() / 1000);
      const headers = { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhook(this.opts.secret, t, body), [TIMESTAMP_HEADER]: String(t) };
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
