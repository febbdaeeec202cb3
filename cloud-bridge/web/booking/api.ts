/**
 * The booking API (`/v1/book/{site}/…`, src/modules/booking/schemas.ts) from the page: typed
 * answers, and every refusal as an ApiError with the server's code and details (`visitor`:
 * which visitor an ID refusal is about). A network failure is the code `offline`.
 */
import type { Availability, BookInfo, BookOrder, BookOrderRequest, BookPayRequest, BookSession, PayStarted, SmsCodeSent } from './types.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** A random key per order attempt: a retried POST (a flaky phone network) books once. */
export function idempotencyKey(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return s;
}

export class BookApi {
  /** The session token (phone + SMS code), for the visitor's own routes. */
  token: string | null = null;
  /** Called when the server says the session is no longer valid. */
  onUnauthorized: () => void = () => undefined;

  constructor(private readonly base: string) {}

  /**
   * `open`: a public GET sent exactly as the shell preloads it (no header, default cache and
   * credentials), so the browser hands over the preloaded answer instead of asking again.
   */
  private async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, headers: Record<string, string> = {}, open = false): Promise<T> {
    const h: Record<string, string> = { ...headers };
    if (body !== undefined) h['content-type'] = 'application/json';
    if (this.token && !open) h.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(this.base + path, open ? {} : { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, 'offline', (e as Error).message);
    }
    let json: Record<string, unknown> = {};
    try {
      json = (await res.json()) as Record<string, unknown>;
    } catch {
      if (res.ok) throw new ApiError(res.status, 'internal', 'not JSON');
    }
    if (!res.ok) {
      const code = typeof json.error === 'string' ? json.error : res.status === 401 ? 'session_required' : 'internal';
      // Only a dead session logs the visitor out (a wrong SMS code is a 401 too).
      if (code === 'session_required') this.onUnauthorized();
      throw new ApiError(res.status, code, typeof json.message === 'string' ? json.message : res.statusText, json);
    }
    return json as T;
  }

  info(): Promise<BookInfo> {
    return this.call('GET', '/info', undefined, {}, true);
  }
  availability(date: string): Promise<Availability> {
    return this.call('GET', `/availability?date=${encodeURIComponent(date)}`, undefined, {}, true);
  }
  sendCode(phone: string, lang: string): Promise<SmsCodeSent> {
    return this.call('POST', '/sms-code', { phone, lang });
  }
  session(phone: string, code: string): Promise<BookSession> {
    return this.call('POST', '/session', { phone, code });
  }
  /** Log out: the token stops working on the server too. */
  endSession(): Promise<{ ended: boolean }> {
    return this.call('DELETE', '/session');
  }
  createOrder(req: BookOrderRequest, key: string): Promise<BookOrder> {
    return this.call('POST', '/orders', req, { 'idempotency-key': key });
  }
  pay(orderId: string, req: BookPayRequest): Promise<PayStarted> {
    return this.call('POST', `/orders/${encodeURIComponent(orderId)}/pay`, req);
  }
  order(orderId: string): Promise<BookOrder> {
    return this.call('GET', `/orders/${encodeURIComponent(orderId)}`);
  }
  orders(): Promise<{ orders: BookOrder[] }> {
    return this.call('GET', '/orders');
  }
  refund(orderId: string, reason: string, key: string): Promise<BookOrder> {
    return this.call('POST', `/orders/${encodeURIComponent(orderId)}/refund`, { reason }, { 'idempotency-key': key });
  }
  /** Give up a pending order: closed at the provider, places released. 409 already_paid carries the paid order in `details.order`. */
  cancel(orderId: string, key: string): Promise<BookOrder> {
    return this.call('POST', `/orders/${encodeURIComponent(orderId)}/cancel`, undefined, { 'idempotency-key': key });
  }
  rebook(orderId: string, date: string, slotId: string | undefined, key: string): Promise<BookOrder> {
    return this.call('POST', `/orders/${encodeURIComponent(orderId)}/rebook`, slotId ? { date, slotId } : { date }, { 'idempotency-key': key });
  }
}
