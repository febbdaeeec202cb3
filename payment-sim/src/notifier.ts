/**
 * Notification delivery the way the providers do it: POST to the merchant's notify_url,
 * success only on the provider's terms (WeChat Pay: HTTP 200 or 204 within 5 s; Alipay: the
 * body is exactly "success"), otherwise retried on the provider's schedule. Each attempt is
 * built afresh (WeChat Pay signs every attempt with a new timestamp and nonce), and every
 * attempt is logged for the control API.
 */

export type NotifyProvider = 'wechat' | 'alipay';

/** WeChat Pay: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h (24h4m in all). */
export const WECHAT_RETRY_MS = [15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600].map((s) => s * 1000);
/** Alipay: 4m/10m/10m/1h/2h/6h/15h (8 sends in 25 hours). */
export const ALIPAY_RETRY_MS = [240, 600, 600, 3600, 7200, 21600, 54000].map((s) => s * 1000);

export interface Delivery {
  id: string;
  provider: NotifyProvider;
  url: string;
  /** What it is about, for people: "TRANSACTION.SUCCESS T123". */
  about: string;
  outTradeNo: string;
  attempts: { at: string; status?: number; body?: string; error?: string; ok: boolean }[];
  delivered: boolean;
  /** Gave up after the last retry. */
  abandoned: boolean;
}

export interface Outgoing {
  headers: Record<string, string>;
  body: string;
}

export class Notifier {
  readonly deliveries: Delivery[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly schedule: Record<NotifyProvider, number[]>,
    private readonly now: () => Date,
    private readonly attemptTimeoutMs = 5000,
  ) {}

  /** Start delivering; `build` makes each attempt's request. */
  send(d: Omit<Delivery, 'attempts' | 'delivered' | 'abandoned'>, build: () => Outgoing): Delivery {
    const delivery: Delivery = { ...d, attempts: [], delivered: false, abandoned: false };
    this.deliveries.push(delivery);
    this.attempt(delivery, build, 0);
    return delivery;
  }

  private attempt(d: Delivery, build: () => Outgoing, n: number): void {
    if (this.closed) return;
    const p = this.post(d, build()).then((ok) => {
      if (ok) {
        d.delivered = true;
        return;
      }
      const delay = this.schedule[d.provider][n];
      if (delay === undefined || this.closed) {
        d.abandoned = true;
        return;
      }
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.attempt(d, build, n + 1);
      }, delay);
      this.timers.add(t);
    });
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async post(d: Delivery, out: Outgoing): Promise<boolean> {
    const record: Delivery['attempts'][number] = { at: this.now().toISOString(), ok: false };
    d.attempts.push(record);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.attemptTimeoutMs);
    try {
      const res = await fetch(d.url, { method: 'POST', headers: out.headers, body: out.body, signal: controller.signal, redirect: 'manual' });
      const text = await res.text();
      record.status = res.status;
      record.body = text.slice(0, 200);
      record.ok = d.provider === 'wechat' ? res.status === 200 || res.status === 204 : text.trim() === 'success';
    } catch (err) {
      record.error = controller.signal.aborted ? `no answer within ${this.attemptTimeoutMs} ms` : (err as Error).message;
    } finally {
      clearTimeout(timer);
    }
    return record.ok;
  }

  /** Resolves when no attempt is under way (retries may still be scheduled). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
