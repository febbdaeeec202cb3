/**
 * What the kiosk asks of the cloud, in the sale machine's words (`KioskCloud`), and its online
 * implementation over the channel API (`HttpKioskCloud`). The executor only knows the
 * interface, so an offline implementation (ST2 codes signed by the kiosk, the outbox) can
 * stand in front of this one.
 *
 * Channel API calls (docs/park-operations.md, docs/payments.md):
 *   GET  /v1/channel/availability?date=        availability, the catalogue's kiosk types and prices
 *   POST /v1/channel/orders                    Idempotency-Key `<saleId>-order`: a retry is the same order
 *   POST /v1/channel/orders/{id}/payments      provider channel: a scanned payment code or a QR code
 *   GET  /v1/channel/orders/{id}/payment       provider channel: the payment state (asks the provider)
 *   POST /v1/channel/orders/{id}/pay           partner channel: cash taken, tickets issued
 *   GET  /v1/channel/orders/{id}               the order's tickets (provider channel, once paid)
 *   POST /v1/channel/orders/{id}/refund        money back with a catalogue reason
 *   POST /v1/channel/orders/{id}/cancel        Idempotency-Key `<kiosk>-<order>-cancel`: an unpaid order given up —
 *                                              its payments closed/reversed at the provider, its places back at once
 */
import type { Availability, KioskCatalogue, KioskSlot, KioskTicketType, Level, PayMethod, Quote } from '../sale/model.js';

export type ProviderId = 'wechat' | 'alipay';

export interface OrderRequest {
  saleId: string;
  method: PayMethod;
  typeId: string;
  date: string;
  slotId?: string;
  count: number;
  totalFen: number;
  visitors: { name: string; idNumber: string }[];
  /** A coupon the visitor entered (#19): taken off by the cloud, or the order refused with the reason. */
  couponCode?: string;
}

/** amountFen: present when a coupon took money off (what the visitor pays). */
export type OrderAnswer = { ok: true; orderId: string; amountFen?: number } | { ok: false; reason: 'id_limit' | 'capacity' | 'invalid_id' | 'coupon' | 'other'; visitor?: number; code: string };

export type PaymentAnswer = { status: 'paid' | 'pending' | 'failed'; amountFen?: number; outTradeNo?: string; detail?: string };

/** A cancel's answer: `paid` when the visitor paid before the close reached the provider (the payment wins). */
export type CancelAnswer = { status: 'cancelled' } | { status: 'paid'; amountFen?: number };

export interface Issued {
  codes: string[];
  /** Persons admitted on each code, in the same order. */
  persons: number[];
}

export interface KioskCloud {
  /** The kiosk's types, slots and real-name rules for a date (the catalogue as the kiosk channel sees it). */
  catalogue(date: string): Promise<KioskCatalogue>;
  availability(date: string): Promise<Availability>;
  quote(q: { typeId: string; date: string; slotId?: string; count: number }): Promise<Quote>;
  placeOrder(o: OrderRequest): Promise<OrderAnswer>;
  payWithCode(p: { orderId: string; provider: ProviderId; authCode: string }): Promise<PaymentAnswer>;
  createQr(p: { orderId: string; provider: ProviderId }): Promise<{ ok: true; codeUrl: string; outTradeNo: string } | { ok: false; detail: string }>;
  paymentState(orderId: string, outTradeNo?: string): Promise<PaymentAnswer>;
  /** Cash (partner channel): the money is in; issue the tickets. Provider channel: read the paid order's tickets. */
  recordSale(r: { saleId: string; orderId: string; paidBy: PayMethod; amountFen: number }): Promise<Issued>;
  /** `staff`: the staffed window's staff member who gave the refund (sent with it, logged by the cloud). */
  refundOrder(r: { orderId: string; reason: string; method: PayMethod | 'provider'; staff?: string }): Promise<boolean>;
  /**
   * Give up an unpaid order: the cloud closes (QR) or reverses (code) its open payments at the
   * provider and gives its places back at once. Throws when the cloud or the provider cannot be
   * reached (the order then keeps its places until the cloud's sweep at its deadline). A cloud
   * without it leaves the order to that sweep.
   */
  cancelOrder?(orderId: string): Promise<CancelAnswer>;
}

/** A refusal or failure of one call, with the channel API's code ("network" when there was no answer). */
export class CloudCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 0,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CloudCallError';
  }
}

/** Which provider a scanned payment code belongs to: WeChat 10–15 + 16 digits, Alipay 25–30 and 16–24 digits. */
export function providerOfAuthCode(code: string): ProviderId | undefined {
  if (/^1[0-5]\d{16}$/.test(code)) return 'wechat';
  if (/^(2[5-9]|30)\d{14,22}$/.test(code)) return 'alipay';
  return undefined;
}

const ID_LIMIT = new Set(['visitor_already_booked']);
const CAPACITY = new Set(['sold_out', 'capacity_red', 'capacity_orange', 'capacity_exceeded', 'kiosk_reserve_exhausted', 'channel_paused', 'slot_over']);

/** A refused order in the sale machine's terms. */
export function orderRefusal(code: string, visitor: unknown): Extract<OrderAnswer, { ok: false }> {
  const v = typeof visitor === 'number' && Number.isInteger(visitor) ? { visitor } : {};
  if (ID_LIMIT.has(code)) return { ok: false, reason: 'id_limit', code, ...v };
  if (code === 'invalid_id_number' || code === 'duplicate_visitor') return { ok: false, reason: 'invalid_id', code, ...v };
  if (CAPACITY.has(code)) return { ok: false, reason: 'capacity', code };
  if (code.startsWith('coupon_')) return { ok: false, reason: 'coupon', code };
  return { ok: false, reason: 'other', code };
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface AvailabilityJson {
  date: string;
  open: boolean;
  paused: boolean;
  capacity: { remaining: number; percent: number; level?: Level };
  slots: { slotId: string; start: string; end: string; remaining: number }[];
  types: { typeId: string; names: { 'zh-CN': string; en: string }; persons: number; unitFen?: number; discounts?: Quote['discounts']; slotPrices?: { slotId: string; unitFen: number; discounts: Quote['discounts'] }[]; available?: false }[];
  realName: { ticketsPerIdPerDay: number; bookingHorizonDays: number };
}

export interface HttpCloudOptions {
  url: string;
  /** The kiosk channel's key: availability, and orders of its payment mode. */
  apiKey: string;
  payment: 'provider' | 'partner';
  /** A partner-mode kiosk channel for cash when the first is provider-mode. */
  cashApiKey?: string;
  contactPhone: string;
  kioskId: string;
  timeoutMs: number;
  refundReasons?: KioskCatalogue['refundReasons'];
}

/** Level for a date other than today (the cloud names the level only for today): by the sold share. */
function levelOf(a: AvailabilityJson): Level {
  if (a.paused || !a.open) return a.capacity.remaining <= 0 || a.paused ? 'red' : a.capacity.level ?? 'green';
  return a.capacity.level ?? (a.capacity.percent >= 100 ? 'red' : 'green');
}

export class HttpKioskCloud implements KioskCloud {
  private readonly base: string;
  /** The last availability answer per date: quotes come from its prices. */
  private readonly seen = new Map<string, AvailabilityJson>();

  constructor(private readonly o: HttpCloudOptions) {
    this.base = o.url.replace(/\/+$/, '');
  }

  private keyFor(method: PayMethod | 'provider'): string {
    if ((method === 'cash' || method === 'staff_cash') && this.o.payment === 'provider' && this.o.cashApiKey) return this.o.cashApiKey;
    return this.o.apiKey;
  }

  private async call(method: 'GET' | 'POST', path: string, key: string, body?: unknown, idem?: string): Promise<Json> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(idem ? { 'idempotency-key': idem } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
    } catch (err) {
      throw new CloudCallError('network', `${method} ${path}: ${(err as Error).message}`);
    }
    const text = await res.text();
    let json: Json;
    try {
      json = text ? (JSON.parse(text) as Json) : {};
    } catch {
      throw new CloudCallError('bad_answer', `${method} ${path}: ${res.status} with a body that is not JSON`, res.status);
    }
    if (!res.ok) throw new CloudCallError(typeof json.error === 'string' ? json.error : `http_${res.status}`, `${method} ${path}: ${res.status} ${String(json.message ?? '')}`, res.status, json);
    return json;
  }

  private async read(date: string): Promise<AvailabilityJson> {
    const a = (await this.call('GET', `/v1/channel/availability?date=${encodeURIComponent(date)}`, this.o.apiKey)) as AvailabilityJson;
    this.seen.set(date, a);
    if (this.seen.size > 32) this.seen.delete(this.seen.keys().next().value as string);
    return a;
  }

  async catalogue(date: string): Promise<KioskCatalogue> {
    const a = await this.read(date);
    const types: KioskTicketType[] = a.types
      .filter((t) => t.available !== false && t.unitFen !== undefined)
      .map((t) => ({ id: t.typeId, name: { 'zh-CN': t.names['zh-CN'], en: t.names.en }, priceFen: t.unitFen as number, persons: t.persons }));
    const slots: KioskSlot[] = a.slots.map((s) => ({ id: s.slotId, start: s.start, end: s.end }));
    return { types, slots, realName: { ticketsPerIdPerDay: a.realName.ticketsPerIdPerDay, bookingHorizonDays: a.realName.bookingHorizonDays }, refundReasons: this.o.refundReasons ?? [] };
  }

  async availability(date: string): Promise<Availability> {
    const a = await this.read(date);
    return { date: a.date, level: levelOf(a), remaining: a.paused ? 0 : a.capacity.remaining, reserve: 0, slots: a.slots.map((s) => ({ slotId: s.slotId, remaining: a.paused ? 0 : s.remaining })) };
  }

  async quote(q: { typeId: string; date: string; slotId?: string; count: number }): Promise<Quote> {
    const a = this.seen.get(q.date) ?? (await this.read(q.date));
    const t = a.types.find((x) => x.typeId === q.typeId);
    if (!t || t.unitFen === undefined || t.available === false) throw new CloudCallError('type_not_on_channel', `type ${q.typeId} is not sold by this kiosk on ${q.date}`);
    const slot = q.slotId ? t.slotPrices?.find((s) => s.slotId === q.slotId) : undefined;
    const unitFen = slot?.unitFen ?? t.unitFen;
    return { typeId: q.typeId, date: q.date, ...(q.slotId ? { slotId: q.slotId } : {}), count: q.count, unitFen, baseFen: t.unitFen, discounts: slot?.discounts ?? t.discounts ?? [] };
  }

  async placeOrder(o: OrderRequest): Promise<OrderAnswer> {
    const body = { typeId: o.typeId, date: o.date, ...(o.slotId ? { slotId: o.slotId } : {}), contactPhone: this.o.contactPhone, visitors: o.visitors, ...(o.couponCode ? { couponCode: o.couponCode } : {}) };
    try {
      // The sale id makes the key: a retry after a lost answer is the same order, never a second one.
      const r = await this.call('POST', '/v1/channel/orders', this.keyFor(o.method), body, `${this.o.kioskId}-${o.saleId}-order`);
      // With a coupon the cloud charges the quoted total less the coupon's discount, and says so.
      const discounted = o.couponCode !== undefined && typeof r.discountFen === 'number' && r.discountFen > 0 && r.amountFen === o.totalFen - r.discountFen;
      if (r.amountFen !== o.totalFen && !discounted) return { ok: false, reason: 'other', code: 'price_changed' };
      return { ok: true, orderId: String(r.orderId), ...(discounted ? { amountFen: Number(r.amountFen) } : {}) };
    } catch (err) {
      if (err instanceof CloudCallError && err.status >= 400 && err.status < 500) return orderRefusal(err.code, err.body.visitor);
      throw err;
    }
  }

  async payWithCode(p: { orderId: string; provider: ProviderId; authCode: string }): Promise<PaymentAnswer> {
    const r = await this.call('POST', `/v1/channel/orders/${encodeURIComponent(p.orderId)}/payments`, this.o.apiKey, { provider: p.provider, method: 'code', authCode: p.authCode, deviceId: this.o.kioskId });
    return { status: r.state === 'paid' ? 'paid' : r.state === 'pending' ? 'pending' : 'failed', amountFen: r.amountFen, outTradeNo: r.outTradeNo, ...(r.failure ? { detail: String(r.failure.providerCode) } : {}) };
  }

  async createQr(p: { orderId: string; provider: ProviderId }): Promise<{ ok: true; codeUrl: string; outTradeNo: string } | { ok: false; detail: string }> {
    const r = await this.call('POST', `/v1/channel/orders/${encodeURIComponent(p.orderId)}/payments`, this.o.apiKey, { provider: p.provider, method: 'qr' });
    if (typeof r.codeUrl !== 'string') return { ok: false, detail: `no codeUrl (state ${String(r.state)})` };
    return { ok: true, codeUrl: r.codeUrl, outTradeNo: String(r.outTradeNo) };
  }

  async paymentState(orderId: string, outTradeNo?: string): Promise<PaymentAnswer> {
    const r = await this.call('GET', `/v1/channel/orders/${encodeURIComponent(orderId)}/payment`, this.o.apiKey);
    if (r.orderStatus === 'paid') return { status: 'paid', amountFen: r.amountFen };
    const payments = (r.payments ?? []) as { outTradeNo: string; state: string; failure: string | null }[];
    const mine = (outTradeNo ? payments.find((p) => p.outTradeNo === outTradeNo) : undefined) ?? payments.at(-1);
    if (r.orderStatus !== 'pending') return { status: 'failed', detail: `order ${String(r.orderStatus)}` };
    if (!mine || mine.state === 'pending') return { status: 'pending' };
    return { status: 'failed', detail: mine.failure ?? mine.state };
  }

  async recordSale(r: { saleId: string; orderId: string; paidBy: PayMethod; amountFen: number }): Promise<Issued> {
    const id = encodeURIComponent(r.orderId);
    let order: Json;
    if (r.paidBy === 'cash' || r.paidBy === 'staff_cash') {
      const ref = `cash:${this.o.kioskId}:${r.saleId}`;
      order = await this.call('POST', `/v1/channel/orders/${id}/pay`, this.keyFor(r.paidBy), { paymentRef: ref, amountFen: r.amountFen }, `${this.o.kioskId}-${r.saleId}-pay`);
    } else {
      order = await this.call('GET', `/v1/channel/orders/${id}`, this.o.apiKey);
      if (order.status !== 'paid') throw new CloudCallError('not_paid', `order ${r.orderId} is ${String(order.status)}`);
    }
    const tickets = (order.tickets ?? []) as { code: string; persons: number }[];
    if (tickets.length === 0) throw new CloudCallError('no_tickets', `order ${r.orderId} has no tickets`);
    return { codes: tickets.map((t) => t.code), persons: tickets.map((t) => t.persons) };
  }

  async cancelOrder(orderId: string): Promise<CancelAnswer> {
    const path = `/v1/channel/orders/${encodeURIComponent(orderId)}/cancel`;
    const once = async (key: string): Promise<CancelAnswer> => {
      try {
        await this.call('POST', path, key, undefined, `${this.o.kioskId}-${orderId}-cancel`);
        return { status: 'cancelled' };
      } catch (err) {
        const amountFen = err instanceof CloudCallError ? (err.body.order as Json | undefined)?.amountFen : undefined;
        if (err instanceof CloudCallError && err.code === 'already_paid') return { status: 'paid', ...(typeof amountFen === 'number' ? { amountFen } : {}) };
        throw err;
      }
    };
    try {
      return await once(this.o.apiKey);
    } catch (err) {
      // A cash order of a provider kiosk is the cash channel's.
      if (err instanceof CloudCallError && err.code === 'unknown_order' && this.o.cashApiKey) return once(this.o.cashApiKey);
      throw err;
    }
  }

  async refundOrder(r: { orderId: string; reason: string; method: PayMethod | 'provider'; staff?: string }): Promise<boolean> {
    const path = `/v1/channel/orders/${encodeURIComponent(r.orderId)}/refund`;
    const body = { reason: r.reason, ...(r.staff ? { staff: r.staff } : {}) };
    const key = this.keyFor(r.method);
    try {
      await this.call('POST', path, key, body, `${this.o.kioskId}-${r.orderId}-refund`);
      return true;
    } catch (err) {
      if (err instanceof CloudCallError && err.code === 'already_refunded') return true;
      // A window refund names only the order: one sold for cash is the cash channel's.
      const other = key === this.o.apiKey ? this.o.cashApiKey : undefined;
      if (err instanceof CloudCallError && err.code === 'unknown_order' && other) {
        try {
          await this.call('POST', path, other, body, `${this.o.kioskId}-${r.orderId}-refund`);
          return true;
        } catch (err2) {
          if (err2 instanceof CloudCallError && err2.code === 'already_refunded') return true;
          throw err2;
        }
      }
      throw err;
    }
  }
}
