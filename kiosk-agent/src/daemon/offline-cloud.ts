/**
 * The kiosk's cloud with the offline side in front (docs/kiosk-offline.md): every call goes to
 * the channel API while it answers. When it cannot be reached (no connection, a timeout, a
 * gateway error), the kiosk says so (`onReachability` → the machine's `network_status`, which
 * refuses codes and QR with "cash only for now") and a **cash** sale is sold from the signed
 * offline pack: the catalogue, today's price and what is left of the daily cap come from the
 * pack, the "order" is the kiosk's own (`offline-<saleId>`), and recording it signs ST2 codes
 * with the kiosk's key (`OfflineSeller.issue`: cap, codes, counter and outbox record in one
 * transaction). While unreachable the channel API is not asked again until a probe (every
 * `probeMs`) gets an answer, so an offline sale does not wait for timeouts.
 *
 * A sale placed online whose recording then fails is not sold offline: the cloud may have
 * taken it, and an ST2 copy would count it twice. The machine's retries, then its refund, apply.
 *
 * The visitors of an offline order are kept, hashed and masked (never the number), in the
 * outbox database until the codes are signed; the signed codes are kept under the sale id, so
 * recording again after a restart prints the same codes instead of signing new ones.
 */
import type { Logger } from 'pino';
import type { KioskPack } from '@stile/config';
import type { Availability, KioskCatalogue, Quote } from '../sale/model.js';
import type { KioskOutbox } from '../sync/outbox.js';
import type { KioskVisitor, OfflineSeller } from '../sync/offline-seller.js';
import { packUnusable } from '../sync/pack.js';
import { CloudCallError, type Issued, type KioskCloud, type OrderAnswer, type OrderRequest, type PaymentAnswer, type ProviderId } from './cloud.js';
import { cashMovementsOf, isOfflineOrder, OFFLINE_ORDER_PREFIX } from './sale-records.js';
import type { JournalEntry } from '../sale/events.js';

/** What the offline side needs of KioskSync. */
export interface OfflineSide {
  readonly offline: Pick<OfflineSeller, 'canSell' | 'issue' | 'hashVisitor'>;
  readonly packs: { readonly pack: KioskPack | undefined };
  readonly outbox: Pick<KioskOutbox, 'atomically' | 'meta' | 'setMeta' | 'db'>;
  kick(): void;
}

export interface FallbackCloudOptions {
  /** How often the channel API is tried again while unreachable. */
  probeMs: number;
  /** The sale's journal entries (its cash movements go into the offline record). */
  saleEntries: (saleId: string) => JournalEntry[];
  /** The park's local date now (what the probe asks about). */
  today: () => string;
  log: Logger;
  now?: () => number;
}

interface PendingOrder {
  typeId: string;
  date: string;
  slotId?: string;
  count: number;
  totalFen: number;
  visitors: KioskVisitor[];
}

const GATEWAY = new Set([502, 503, 504]);

/** An error that means the cloud could not be reached (not that it said no). */
export function isUnreachable(err: unknown): boolean {
  return err instanceof CloudCallError && (err.code === 'network' || GATEWAY.has(err.status));
}

const unreachable = (what: string) => new CloudCallError('cloud_unreachable', `${what}: the cloud is unreachable and the offline pack cannot answer`);

export class FallbackCloud implements KioskCloud {
  private up = true;
  private readonly listeners = new Set<(online: boolean) => void>();
  private probe: NodeJS.Timeout | undefined;
  private realName: KioskCatalogue['realName'] = { ticketsPerIdPerDay: 1, bookingHorizonDays: 0 };
  private readonly now: () => number;

  constructor(
    private readonly online: KioskCloud,
    private readonly side: OfflineSide,
    private readonly o: FallbackCloudOptions,
  ) {
    this.now = o.now ?? Date.now;
  }

  /** The channel API answered last time it was asked. */
  get reachable(): boolean {
    return this.up;
  }

  onReachability(listener: (online: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    clearInterval(this.probe);
    this.probe = undefined;
  }

  private mark(up: boolean, why?: string): void {
    if (this.up === up) return;
    this.up = up;
    this.o.log.warn({ event: up ? 'cloud_reachable' : 'cloud_unreachable', ...(why ? { err: why } : {}) }, up ? 'cloud reachable again: selling online' : 'cloud unreachable: cash sales offline');
    if (up) this.stop();
    else {
      this.probe = setInterval(() => void this.online.availability(this.o.today()).then(() => this.mark(true), () => undefined), this.o.probeMs);
      this.probe.unref();
    }
    for (const l of this.listeners) l(up);
  }

  /** Online while it answers; an unreachable cloud switches to `offline` (which throws when it cannot answer either). */
  private async first<T>(online: () => Promise<T>, offline: () => T): Promise<T> {
    if (this.up) {
      try {
        const v = await online();
        return v;
      } catch (err) {
        if (!isUnreachable(err)) throw err;
        this.mark(false, (err as Error).message);
      }
    }
    return offline();
  }

  /** The pack when it lets the kiosk sell offline on `date`. */
  private packFor(date: string): KioskPack | undefined {
    const pack = this.side.packs.pack;
    if (!pack || packUnusable(pack, this.now()) || pack.date !== date) return undefined;
    return pack;
  }

  async catalogue(date: string): Promise<KioskCatalogue> {
    return this.first(
      async () => {
        const c = await this.online.catalogue(date);
        this.realName = c.realName;
        return c;
      },
      () => {
        const pack = this.packFor(date);
        if (!pack) throw unreachable('catalogue');
        return { types: pack.types.map((t) => ({ id: t.id, name: t.name, priceFen: t.priceFen, persons: t.persons })), slots: pack.slots, realName: this.realName, refundReasons: [] };
      },
    );
  }

  async availability(date: string): Promise<Availability> {
    return this.first(
      () => this.online.availability(date),
      () => {
        const pack = this.packFor(date);
        if (!pack) throw unreachable('availability');
        // What is left of the daily offline cap is all the kiosk may sell.
        const can = this.side.offline.canSell(0, new Date(this.now()));
        const left = can.left;
        return { date, level: left > 0 ? 'green' : 'red', remaining: left, reserve: 0, slots: pack.slots.map((s) => ({ slotId: s.id, remaining: left })) };
      },
    );
  }

  async quote(q: { typeId: string; date: string; slotId?: string; count: number }): Promise<Quote> {
    return this.first(
      () => this.online.quote(q),
      () => {
        const t = this.packFor(q.date)?.types.find((x) => x.id === q.typeId);
        if (!t) throw unreachable('quote');
        // Offline the kiosk charges the pack's day price: no time-window discounts.
        return { typeId: q.typeId, date: q.date, ...(q.slotId ? { slotId: q.slotId } : {}), count: q.count, unitFen: t.priceFen, baseFen: t.priceFen, discounts: [] };
      },
    );
  }

  async placeOrder(o: OrderRequest): Promise<OrderAnswer> {
    const cash = o.method === 'cash' || o.method === 'staff_cash';
    if (this.up) {
      try {
        return await this.online.placeOrder(o);
      } catch (err) {
        if (!isUnreachable(err)) throw err;
        this.mark(false, (err as Error).message);
      }
    }
    // Codes and QR are paid at the provider, through the cloud: not without it.
    if (!cash) return { ok: false, reason: 'other', code: 'cloud_unreachable' };
    // A coupon is redeemed by the cloud (once, atomically): offline the sale goes on without it, and the visitor is told.
    if (o.couponCode) return { ok: false, reason: 'coupon', code: 'coupon_offline' };
    return this.placeOffline(o);
  }

  private placeOffline(o: OrderRequest): OrderAnswer {
    const pack = this.packFor(o.date);
    const type = pack?.types.find((t) => t.id === o.typeId);
    if (!pack || !type || (o.slotId !== undefined && !pack.slots.some((s) => s.id === o.slotId))) {
      this.o.log.warn({ event: 'offline_refused', saleId: o.saleId, why: !pack ? 'no usable pack for the date' : 'type or slot not in the pack' }, 'cannot sell offline');
      return { ok: false, reason: 'other', code: 'offline_unavailable' };
    }
    if (o.totalFen !== o.count * type.priceFen) return { ok: false, reason: 'other', code: 'price_changed' };
    const can = this.side.offline.canSell(o.count * type.persons, new Date(this.now()));
    if (!can.ok) {
      this.o.log.warn({ event: 'offline_refused', saleId: o.saleId, why: can.reason, left: can.left }, 'cannot sell offline');
      return can.reason === 'over_cap' ? { ok: false, reason: 'capacity', code: 'offline_cap' } : { ok: false, reason: 'other', code: `offline_${can.reason}` };
    }
    const pending: PendingOrder = { typeId: o.typeId, date: o.date, ...(o.slotId ? { slotId: o.slotId } : {}), count: o.count, totalFen: o.totalFen, visitors: o.visitors.map((v) => this.side.offline.hashVisitor(v)) };
    this.side.outbox.setMeta(`offline_order:${o.saleId}`, JSON.stringify(pending));
    this.o.log.info({ event: 'offline_order', saleId: o.saleId, persons: o.count * type.persons, left: can.left }, 'selling offline');
    return { ok: true, orderId: `${OFFLINE_ORDER_PREFIX}${o.saleId}` };
  }

  async recordSale(r: { saleId: string; orderId: string; paidBy: OrderRequest['method']; amountFen: number }): Promise<Issued> {
    if (!isOfflineOrder(r.orderId)) return this.online.recordSale(r);
    return Promise.resolve(this.issueOffline(r.saleId));
  }

  /** Sign the offline sale's codes once: the same codes on every later call (a retry, a restart). */
  private issueOffline(saleId: string): Issued {
    const { outbox, offline } = this.side;
    const done = outbox.meta(`offline_issued:${saleId}`);
    if (done) return JSON.parse(done) as Issued;
    const raw = outbox.meta(`offline_order:${saleId}`);
    if (!raw) throw new CloudCallError('offline_order_unknown', `offline sale ${saleId} has no order at this kiosk`);
    const p = JSON.parse(raw) as PendingOrder;
    const issued = outbox.atomically(() => {
      const sold = offline.issue({
        saleId,
        typeId: p.typeId,
        date: p.date,
        ...(p.slotId ? { slotId: p.slotId } : {}),
        count: p.count,
        visitors: p.visitors,
        cash: cashMovementsOf(this.o.saleEntries(saleId)),
        at: new Date(this.now()),
      });
      const out: Issued = { codes: sold.codes.map((c) => c.code), persons: sold.codes.map((c) => c.persons) };
      outbox.setMeta(`offline_issued:${saleId}`, JSON.stringify(out));
      outbox.db.prepare('DELETE FROM kiosk_meta WHERE key = ?').run(`offline_order:${saleId}`);
      return out;
    });
    this.side.kick();
    this.o.log.info({ event: 'offline_sale', saleId, tickets: issued.codes.length }, 'sold offline: ST2 codes signed');
    return issued;
  }

  payWithCode(p: { orderId: string; provider: ProviderId; authCode: string }): Promise<PaymentAnswer> {
    return this.online.payWithCode(p);
  }

  createQr(p: { orderId: string; provider: ProviderId }): ReturnType<KioskCloud['createQr']> {
    return this.online.createQr(p);
  }

  paymentState(orderId: string, outTradeNo?: string): Promise<PaymentAnswer> {
    return this.online.paymentState(orderId, outTradeNo);
  }

  cancelOrder(orderId: string): ReturnType<NonNullable<KioskCloud['cancelOrder']>> {
    // An offline order holds no places in the cloud.
    if (isOfflineOrder(orderId)) return Promise.resolve({ status: 'cancelled' });
    return this.online.cancelOrder ? this.online.cancelOrder(orderId) : Promise.reject(new CloudCallError('no_cancel', 'this cloud cannot cancel orders'));
  }

  refundOrder(r: { orderId: string; reason: string; method: OrderRequest['method'] | 'provider' }): Promise<boolean> {
    // An offline sale's money is cash in this box: the cloud has no order to refund yet.
    if (isOfflineOrder(r.orderId)) return Promise.reject(new CloudCallError('offline_order', `${r.orderId} was sold offline: refund it at the window once the cloud has it`));
    return this.online.refundOrder(r);
  }
}
