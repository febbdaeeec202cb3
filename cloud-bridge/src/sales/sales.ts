import { createHash, createHmac, randomUUID } from 'node:crypto';
import {
  canonicalJson,
  hashIdNumber,
  isValidIdNumber,
  maskIdNumber,
  minutesOfDay,
  newTicketId,
  normalizeIdNumber,
  type SnapshotTicket,
  type WhitelistChange,
  type WhitelistDelta,
} from '@stile/config';
import { percentOf, salesDecision, sellLimit, thresholds, type CapacityLimits, type Level, type SalesRefusal } from '../capacity/levels.js';
import type { Catalogue, Channel } from '../catalogue/catalogue.js';
import { priceFor } from '../catalogue/pricing.js';
import type { Logger } from '../log.js';
import type { SmsSender } from '../notify/sms.js';
import type { CloudStore, Db } from '../store/store.js';
import type { OrdersTable } from '../store/schema.js';
import type { WhitelistPublisher } from '../whitelist/publisher.js';
import { localDate, localTime } from './local-date.js';
import type { CreateOrderBody, PayBody, RebookBody, RefundBody } from './schemas.js';

/** What a site sells: its catalogue, its daily capacity and the key its gates hash ID numbers with. */
export interface SalesSite {
  id: string;
  catalogue: Catalogue;
  /** Daily capacity and level thresholds: online sales stop below orange, all sales at red. */
  capacity: CapacityLimits;
  /** Same secret as the gates' keys.idHash, so an ID card tapped at a gate finds the ticket. */
  idHashKey: string;
  /** Put into the SMS: the park's tour-route page. */
  tourRouteUrl?: string;
  /** Local time of day ("HH:MM") the daily report is generated; default 22:00. */
  reportAt?: string;
}

/** An answer to a channel request: HTTP status and JSON body. Errors carry a machine-readable `error`. */
export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** Business refusals: stored under the idempotency key like a success, so a retry gets the same answer. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
  reply(): Reply {
    return { status: this.status, body: { error: this.error, message: this.message, ...this.details } };
  }
}

const DAY = '*';
const REFUSAL_TEXT: Record<SalesRefusal, (date: string) => string> = {
  capacity_red: (date) => `the park is full on ${date}`,
  capacity_exceeded: (date) => `not enough places left on ${date} for this many visitors`,
  capacity_orange: (date) => `online sales for ${date} are closed: the park is nearly full (the rest is kept for on-site sales)`,
  kiosk_reserve_exhausted: (date) => `online sales for ${date} are closed: the remaining places are kept for on-site sales`,
};

/** How long an unpaid order holds its places. */
export const HOLD_MS = 15 * 60_000;
const NO_SLOT = '';

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

interface IssuedTicket {
  ticketId: string;
  code: string;
  persons: number;
  visitors: number[];
}

/**
 * Orders from sales channels: availability, real-name orders holding quota, payment that
 * issues tickets (whitelist delta in the same transaction), refunds and rebooking.
 *
 * Overselling: every sale adds its persons to the slot's and the day's `inventory` row with
 * `UPDATE … SET sold = sold + n WHERE sold + n <= limit`. The row lock (PostgreSQL) or the
 * single writer (SQLite) makes concurrent sales of the last ticket take turns, and the
 * second one's condition fails: it is refused, not oversold.
 *
 * Idempotency: every write names a key; the key's row is inserted in the same transaction
 * as the write and holds the answer. A retry (also one racing the first) gets that answer;
 * the same key with a different request is refused.
 */
export class Sales {
  private readonly sites = new Map<string, SalesSite>();
  private readonly byKeyHash = new Map<string, { site: SalesSite; channel: Channel }>();
  /** Called after a committed sale, payment, refund, rebooking or channel change (the capacity monitor). */
  onChange: (site: string) => void = () => {};

  constructor(
    private readonly store: CloudStore,
    private readonly whitelist: WhitelistPublisher,
    sites: SalesSite[],
    private readonly sms: SmsSender,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    for (const s of sites) {
      this.sites.set(s.id, s);
      for (const c of s.catalogue.channels) {
        const taken = this.byKeyHash.get(c.apiKeySha256);
        // One key must name one channel of one site, or a partner could sell for another park.
        if (taken) throw new Error(`sites ${taken.site.id} (channel ${taken.channel.id}) and ${s.id} (channel ${c.id}) have the same API key`);
        this.byKeyHash.set(c.apiKeySha256, { site: s, channel: c });
      }
    }
  }

  get siteIds(): string[] {
    return [...this.sites.keys()];
  }

  site(id: string): SalesSite | undefined {
    return this.sites.get(id);
  }

  /** The channel an API key belongs to (keys are configured as SHA-256 only). */
  channelForKey(apiKey: string): { site: SalesSite; channel: Channel } | undefined {
    return this.byKeyHash.get(sha256(apiKey));
  }

  /** Persons a channel may have sold for one day (capacity/levels.ts sellLimit: online stops below orange). */
  private dayLimit(site: SalesSite, channel: Channel): number {
    return sellLimit(site.capacity, channel.kind);
  }

  /** Today's announced level (from the capacity monitor): walk-ins can push it past what was sold. */
  levelToday: (site: string) => Level | undefined = () => undefined;

  /**
   * Refuse a slot of today that a visitor could no longer enter: past its end plus the
   * type's late grace (the same grace the gates allow).
   */
  private checkSlotNotOver(site: SalesSite, typeId: string, date: string, slotId: string | undefined): void {
    if (slotId === undefined || date !== localDate(this.now(), site.catalogue.timeZone)) return;
    const slot = site.catalogue.slots.find((s) => s.id === slotId);
    if (!slot) return; // priceFor refuses unknown slots
    const lateMin = site.catalogue.ticketTypes.find((t) => t.id === typeId)?.slotGrace.lateMin ?? 0;
    const now = localTime(this.now(), site.catalogue.timeZone);
    if (minutesOfDay(now) > minutesOfDay(slot.end) + lateMin) throw new Refusal(422, 'slot_over', `slot ${slot.id} (${slot.start}–${slot.end}) is over for today`);
  }

  /** Refuse a sale for today when the park's live level already says so (the sold count alone may not). */
  private checkLiveLevel(site: SalesSite, channel: Channel, date: string): void {
    if (date !== localDate(this.now(), site.catalogue.timeZone)) return;
    const level = this.levelToday(site.id);
    if (level === 'red') throw new Refusal(409, 'capacity_red', 'the park is full today');
    if (level === 'orange' && channel.kind === 'online') throw new Refusal(409, 'capacity_orange', 'online sales for today are closed: the park is nearly full (the rest is kept for on-site sales)');
  }

  async channelPaused(site: string, channel: string, db: Db = this.store.db): Promise<{ paused: boolean; by?: string; reason?: string; at?: string }> {
    const row = await db.selectFrom('channel_state').selectAll().where('site', '=', site).where('channel', '=', channel).executeTakeFirst();
    if (!row || row.paused === 0) return { paused: false };
    return { paused: true, by: row.changed_by, reason: row.reason, at: row.changed_at };
  }

  private async sold(site: string, date: string, db: Db = this.store.db): Promise<Map<string, number>> {
    const rows = await db.selectFrom('inventory').select(['slot_id', 'sold']).where('site', '=', site).where('visit_date', '=', date).execute();
    return new Map(rows.map((r) => [r.slot_id, Number(r.sold)]));
  }

  /** Live availability for one channel and day. */
  async availability(site: SalesSite, channel: Channel, date: string): Promise<Reply> {
    if (date < localDate(this.now(), site.catalogue.timeZone)) return new Refusal(422, 'date_in_past', `${date} is in the past`).reply();
    const sold = await this.sold(site.id, date);
    const daySold = sold.get(DAY) ?? 0;
    const { daily } = site.capacity;
    const t = thresholds(site.capacity);
    const level = date === localDate(this.now(), site.catalogue.timeZone) ? this.levelToday(site.id) : undefined;
    const blocked = level === 'red' || (level === 'orange' && channel.kind === 'online');
    const dayRemaining = blocked ? 0 : Math.max(0, this.dayLimit(site, channel) - daySold);
    const almostFull = daySold >= t.yellow || (level !== undefined && level !== 'green');
    const pause = await this.channelPaused(site.id, channel.id);
    const types = site.catalogue.ticketTypes
      .filter((t) => !t.channels || t.channels.includes(channel.id))
      .map((t) => {
        const q = priceFor(site.catalogue, { typeId: t.id, channelId: channel.id, visitDate: date });
        return { typeId: t.id, name: t.name, persons: t.persons, ...(q.ok ? { unitFen: q.unitFen, discounts: q.discounts } : { available: false, reason: q.reason }) };
      });
    const slots = site.catalogue.slots.map((s) => {
      const remaining = Math.max(0, Math.min(s.quota - (sold.get(s.id) ?? 0), dayRemaining));
      return { slotId: s.id, start: s.start, end: s.end, quota: s.quota, remaining, almostFull: almostFull || remaining <= Math.max(1, Math.floor(s.quota / 10)) };
    });
    return {
      status: 200,
      body: {
        site: site.id,
        channel: channel.id,
        date,
        open: !pause.paused && dayRemaining > 0,
        paused: pause.paused,
        capacity: { daily, sold: daySold, remaining: dayRemaining, percent: percentOf(daySold, daily), ...(level ? { level } : {}) },
        almostFull,
        slots,
        types,
      },
    };
  }

  /** Run `work` under an idempotency key, in one transaction with it. */
  private async idempotent(site: SalesSite, channel: Channel, key: string, request: unknown, work: (trx: Db, after: (() => Promise<void>)[]) => Promise<Reply>): Promise<Reply> {
    // Keyed: the body holds ID numbers, and a plain hash of it could be brute-forced from
    // the rest of the order (the masked number leaves only a birth date and a few digits).
    const requestHash = createHmac('sha256', site.idHashKey).update(canonicalJson(request)).digest('hex');
    const after: (() => Promise<void>)[] = [];
    const reply = await this.store.db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('idempotency')
        .values({ site: site.id, channel: channel.id, key, request_hash: requestHash, status: 0, response: '', created_at: this.now().toISOString() })
        .onConflict((oc) => oc.columns(['site', 'channel', 'key']).doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) {
        after.length = 0;
        const row = await trx.selectFrom('idempotency').select(['request_hash', 'status', 'response']).where('site', '=', site.id).where('channel', '=', channel.id).where('key', '=', key).executeTakeFirstOrThrow();
        if (row.request_hash !== requestHash) return new Refusal(422, 'idempotency_key_reused', 'this Idempotency-Key was used for a different request').reply();
        return { status: Number(row.status), body: { ...(JSON.parse(row.response) as Record<string, unknown>), replayed: true } };
      }
      let r: Reply;
      try {
        r = await work(trx, after);
      } catch (err) {
        if (!(err instanceof Refusal)) throw err;
        after.length = 0;
        r = err.reply();
      }
      await trx.updateTable('idempotency').set({ status: r.status, response: JSON.stringify(r.body) }).where('site', '=', site.id).where('channel', '=', channel.id).where('key', '=', key).execute();
      return r;
    });
    for (const f of after) await f().catch((err: unknown) => this.log.warn({ err, site: site.id }, 'after-commit step failed'));
    if (reply.status < 300 && reply.body.replayed !== true) this.onChange(site.id);
    return reply;
  }

  /** Add `persons` to the slot's and the day's sold counts, or refuse: the oversell guard. */
  private async reserve(trx: Db, site: SalesSite, channel: Channel, date: string, slotId: string, persons: number, opts: { day?: boolean } = {}): Promise<void> {
    const slot = slotId === NO_SLOT ? undefined : site.catalogue.slots.find((s) => s.id === slotId);
    const take = async (key: string, limit: number): Promise<boolean> => {
      await trx.insertInto('inventory').values({ site: site.id, visit_date: date, slot_id: key, sold: 0 }).onConflict((oc) => oc.columns(['site', 'visit_date', 'slot_id']).doNothing()).execute();
      const row = await trx
        .updateTable('inventory')
        .set((eb) => ({ sold: eb('sold', '+', persons) }))
        .where('site', '=', site.id)
        .where('visit_date', '=', date)
        .where('slot_id', '=', key)
        .where((eb) => eb(eb('sold', '+', persons), '<=', limit))
        .returning('sold')
        .executeTakeFirst();
      return row !== undefined;
    };
    // Slot first, day second, in every transaction: the same lock order, so no deadlocks.
    if (slot && !(await take(slot.id, slot.quota))) throw new Refusal(409, 'sold_out', `slot ${slot.id} on ${date} has fewer than ${persons} places left`, { slotId: slot.id });
    if (opts.day !== false && !(await take(DAY, this.dayLimit(site, channel)))) {
      if (slot) await this.release(trx, site.id, date, slot.id, persons, false);
      // Which rule said no, for the channel: the same rules the limit came from.
      const load = (await this.sold(site.id, date, trx)).get(DAY) ?? 0;
      const d = salesDecision(site.capacity, { load, channelKind: channel.kind, requestedPersons: persons });
      const reason = d.ok ? 'capacity_exceeded' : d.reason;
      throw new Refusal(409, reason, REFUSAL_TEXT[reason](date));
    }
  }

  private async release(trx: Db, site: string, date: string, slotId: string, persons: number, day = true): Promise<void> {
    for (const key of day ? [slotId, DAY].filter((k) => k !== NO_SLOT) : [slotId]) {
      await trx
        .updateTable('inventory')
        .set((eb) => ({ sold: eb('sold', '-', persons) }))
        .where('site', '=', site)
        .where('visit_date', '=', date)
        .where('slot_id', '=', key)
        .execute();
    }
  }

  async createOrder(site: SalesSite, channel: Channel, key: string, body: CreateOrderBody): Promise<Reply> {
    return this.idempotent(site, channel, key, { op: 'order', body }, async (trx) => {
      if ((await this.channelPaused(site.id, channel.id, trx)).paused) throw new Refusal(409, 'channel_paused', `sales on ${channel.id} are paused by park staff`);
      if (body.date < localDate(this.now(), site.catalogue.timeZone)) throw new Refusal(422, 'date_in_past', `${body.date} is in the past`);
      if (site.catalogue.slots.length > 0 && body.slotId === undefined) throw new Refusal(422, 'slot_required', 'this park sells time slots: name one (slotId)');
      this.checkLiveLevel(site, channel, body.date);
      this.checkSlotNotOver(site, body.typeId, body.date, body.slotId);
      const seen = new Set<string>();
      const visitors = body.visitors.map((v, i) => {
        // The number itself never goes into a message or a log.
        if (!isValidIdNumber(v.idNumber)) throw new Refusal(422, 'invalid_id_number', `visitor ${i + 1}: not a valid ID number (check digit)`, { visitor: i });
        const n = normalizeIdNumber(v.idNumber);
        if (seen.has(n)) throw new Refusal(422, 'duplicate_visitor', `visitor ${i + 1}: the same ID number twice in one order`, { visitor: i });
        seen.add(n);
        return { name: v.name, idHash: hashIdNumber(site.idHashKey, n), idMasked: maskIdNumber(n) };
      });
      const quote = priceFor(site.catalogue, { typeId: body.typeId, channelId: channel.id, visitDate: body.date, ...(body.slotId !== undefined ? { slotId: body.slotId } : {}), ...(body.entry ? { entry: body.entry } : {}) });
      if (!quote.ok) throw new Refusal(422, quote.reason, quote.message);
      if (visitors.length % quote.persons !== 0) throw new Refusal(422, 'package_size', `"${body.typeId}" is sold for ${quote.persons} persons per ticket; ${visitors.length} visitors do not fill whole tickets`);
      const slotId = body.slotId ?? NO_SLOT;
      await this.reserve(trx, site, channel, body.date, slotId, visitors.length);
      const orderId = `O${newTicketId()}`;
      const amountFen = quote.unitFen * (visitors.length / quote.persons);
      const pricing = { unitFen: quote.unitFen, baseFen: quote.baseFen, discounts: quote.discounts, ...(quote.entryWindow ? { entryWindow: quote.entryWindow } : {}) };
      await trx
        .insertInto('orders')
        .values({
          order_id: orderId,
          site: site.id,
          channel: channel.id,
          status: 'pending',
          type_id: body.typeId,
          gate_type_id: quote.gateTypeId,
          visit_date: body.date,
          slot_id: slotId,
          persons: visitors.length,
          amount_fen: amountFen,
          pricing: JSON.stringify(pricing),
          contact_phone: body.contactPhone,
          created_at: this.now().toISOString(),
          paid_at: null,
          payment_ref: null,
          refunded_at: null,
          refund_reason: null,
        })
        .execute();
      await trx.insertInto('order_visitors').values(visitors.map((v, idx) => ({ order_id: orderId, idx, name: v.name, id_hash: v.idHash, id_masked: v.idMasked, ticket_id: null }))).execute();
      this.log.info({ site: site.id, channel: channel.id, orderId, persons: visitors.length, amountFen, date: body.date, slotId }, 'order created');
      return { status: 201, body: { orderId, status: 'pending', typeId: body.typeId, date: body.date, slotId: body.slotId ?? null, persons: visitors.length, amountFen, pricing, visitors: visitors.map((v) => ({ name: v.name, idMasked: v.idMasked })) } };
    });
  }

  private async order(trx: Db, site: SalesSite, channel: Channel, orderId: string): Promise<OrdersTable> {
    const row = await trx.selectFrom('orders').selectAll().where('order_id', '=', orderId).where('site', '=', site.id).where('channel', '=', channel.id).executeTakeFirst();
    if (!row) throw new Refusal(404, 'unknown_order', `no order ${orderId} on this channel`);
    return row;
  }

  /**
   * The order, locked for the rest of the transaction: a no-op UPDATE takes PostgreSQL's row
   * lock (SQLite has one writer anyway) and returns the row as the previous holder left it,
   * so two changes to one order (a refund racing a rebooking) take turns instead of both
   * giving its places back.
   */
  private async lockOrder(trx: Db, site: SalesSite, channel: Channel, orderId: string): Promise<OrdersTable> {
    const row = await trx
      .updateTable('orders')
      .set((eb) => ({ status: eb.ref('status') }))
      .where('order_id', '=', orderId)
      .where('site', '=', site.id)
      .where('channel', '=', channel.id)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new Refusal(404, 'unknown_order', `no order ${orderId} on this channel`);
    return row;
  }

  /** Tickets for the order's visitors: one per visitor, or one per package of `persons`, bound to its first visitor's ID. */
  private async issue(trx: Db, site: SalesSite, order: OrdersTable): Promise<{ tickets: IssuedTicket[]; snapshot: SnapshotTicket[] }> {
    const visitors = await trx.selectFrom('order_visitors').select(['idx', 'id_hash']).where('order_id', '=', order.order_id).orderBy('idx').execute();
    const type = site.catalogue.ticketTypes.find((t) => t.id === order.type_id);
    const per = type?.persons ?? 1;
    const slot = site.catalogue.slots.find((s) => s.id === order.slot_id);
    const tickets: IssuedTicket[] = [];
    const snapshot: SnapshotTicket[] = [];
    for (let i = 0; i < visitors.length; i += per) {
      const group = visitors.slice(i, i + per);
      const ticketId = newTicketId();
      tickets.push({ ticketId, code: `ST1:${ticketId}`, persons: group.length, visitors: group.map((v) => Number(v.idx)) });
      snapshot.push({ ticketId, typeId: order.gate_type_id, status: 'valid', visitDate: order.visit_date, slotStart: slot?.start ?? null, slotEnd: slot?.end ?? null, persons: group.length, entriesUsed: 0, idHash: group[0]!.id_hash });
      for (const v of group) await trx.updateTable('order_visitors').set({ ticket_id: ticketId }).where('order_id', '=', order.order_id).where('idx', '=', v.idx).execute();
    }
    return { tickets, snapshot };
  }

  /** Admissions each issued ticket allows, from its type's entries rule (single: 1). */
  private maxEntries(site: SalesSite, order: OrdersTable, tickets: IssuedTicket[]): Map<string, number> {
    const rule = site.catalogue.ticketTypes.find((t) => t.id === order.type_id)?.entries;
    const max = !rule || rule.mode === 'single' ? 1 : rule.max;
    return new Map(tickets.map((t) => [t.ticketId, max]));
  }

  private smsText(site: SalesSite, order: { visit_date: string; slot_id: string }, tickets: IssuedTicket[]): string {
    const slot = site.catalogue.slots.find((s) => s.id === order.slot_id);
    const when = slot ? `${order.visit_date} ${slot.start}-${slot.end}` : order.visit_date;
    const codes = tickets.map((t) => t.code).join(' ');
    return `【${site.id}】您的入园码：${codes}（${when}）。请在闸机扫码或刷身份证入园。${site.tourRouteUrl ? ` 游览路线：${site.tourRouteUrl}` : ''}`;
  }

  private announceAfter(after: (() => Promise<void>)[], delta: WhitelistDelta, phone: string, text: string, orderId: string): void {
    after.push(() => this.whitelist.announce(delta));
    after.push(() => this.sms.send({ to: phone, text, orderId }));
  }

  async pay(site: SalesSite, channel: Channel, key: string, orderId: string, body: PayBody): Promise<Reply> {
    return this.idempotent(site, channel, key, { op: 'pay', orderId, body }, async (trx, after) => {
      const order = await this.lockOrder(trx, site, channel, orderId);
      if (order.status === 'paid' && order.payment_ref === body.paymentRef) return { status: 200, body: await this.orderView(trx, order) };
      if (order.status === 'expired') throw new Refusal(409, 'order_expired', `order ${orderId} was not paid within ${HOLD_MS / 60_000} minutes; its places were released`);
      if (order.status !== 'pending') throw new Refusal(409, order.status === 'paid' ? 'already_paid' : 'not_payable', `order ${orderId} is ${order.status}`);
      if (body.amountFen !== Number(order.amount_fen)) throw new Refusal(422, 'amount_mismatch', `the order costs ${order.amount_fen} fen, the payment says ${body.amountFen}`);
      const paidAt = this.now().toISOString();
      const updated = await trx.updateTable('orders').set({ status: 'paid', paid_at: paidAt, payment_ref: body.paymentRef }).where('order_id', '=', orderId).where('status', '=', 'pending').returningAll().executeTakeFirst();
      if (!updated) throw new Refusal(409, 'not_payable', `order ${orderId} changed meanwhile`);
      const { tickets, snapshot } = await this.issue(trx, site, updated);
      const delta = await this.whitelist.stageChanges(trx, site.id, snapshot.map((ticket): WhitelistChange => ({ op: 'upsert', ticket })), this.maxEntries(site, updated, tickets));
      this.announceAfter(after, delta, order.contact_phone, this.smsText(site, order, tickets), orderId);
      this.log.info({ site: site.id, orderId, tickets: tickets.length, seq: delta.seq }, 'order paid, tickets issued');
      return { status: 200, body: { ...(await this.orderView(trx, updated)), whitelistSeq: delta.seq } };
    });
  }

  /** Tickets of a paid order that a gate has already let in. */
  private async usedTickets(trx: Db, site: string, orderId: string): Promise<{ ticketIds: string[]; used: string[] }> {
    const ids = [...new Set((await trx.selectFrom('order_visitors').select('ticket_id').where('order_id', '=', orderId).execute()).map((r) => r.ticket_id).filter((t): t is string => t !== null))];
    if (ids.length === 0) return { ticketIds: [], used: [] };
    const used = await trx.selectFrom('tickets').select('ticket_id').where('site', '=', site).where('ticket_id', 'in', ids).where('entries_used', '>', 0).execute();
    return { ticketIds: ids, used: used.map((r) => r.ticket_id) };
  }

  async refund(site: SalesSite, channel: Channel, key: string, orderId: string, body: RefundBody): Promise<Reply> {
    return this.idempotent(site, channel, key, { op: 'refund', orderId, body }, async (trx, after) => {
      const reason = site.catalogue.refundReasons.find((r) => r.code === body.reason);
      if (!reason) throw new Refusal(422, 'unknown_refund_reason', `refund reason "${body.reason}" is not one of: ${site.catalogue.refundReasons.map((r) => r.code).join(', ')}`);
      const order = await this.lockOrder(trx, site, channel, orderId);
      if (order.status === 'refunded') throw new Refusal(409, 'already_refunded', `order ${orderId} was refunded at ${order.refunded_at}`);
      if (order.status !== 'paid') throw new Refusal(409, 'not_paid', `order ${orderId} is ${order.status}; only paid orders are refunded`);
      const { ticketIds, used } = await this.usedTickets(trx, site.id, orderId);
      if (used.length > 0) throw new Refusal(409, 'ticket_used', `${used.length} ticket(s) of order ${orderId} already entered the park`);
      const at = this.now().toISOString();
      const done = await trx.updateTable('orders').set({ status: 'refunded', refunded_at: at, refund_reason: reason.code }).where('order_id', '=', orderId).where('status', '=', 'paid').returningAll().executeTakeFirst();
      if (!done) throw new Refusal(409, 'already_refunded', `order ${orderId} changed meanwhile`);
      await this.release(trx, site.id, order.visit_date, order.slot_id, Number(order.persons));
      const delta = await this.whitelist.stageChanges(trx, site.id, ticketIds.map((ticketId): WhitelistChange => ({ op: 'refund', ticketId })));
      after.push(() => this.whitelist.announce(delta));
      this.log.info({ site: site.id, orderId, reason: reason.code, seq: delta.seq }, 'order refunded');
      return { status: 200, body: { orderId, status: 'refunded', refundFen: Number(order.amount_fen), reason: reason.code, whitelistSeq: delta.seq } };
    });
  }

  async rebook(site: SalesSite, channel: Channel, key: string, orderId: string, body: RebookBody): Promise<Reply> {
    return this.idempotent(site, channel, key, { op: 'rebook', orderId, body }, async (trx, after) => {
      const order = await this.lockOrder(trx, site, channel, orderId);
      if (order.status !== 'paid') throw new Refusal(409, order.status === 'refunded' ? 'already_refunded' : 'not_paid', `order ${orderId} is ${order.status}; only paid orders are rebooked`);
      if ((await this.channelPaused(site.id, channel.id, trx)).paused) throw new Refusal(409, 'channel_paused', `sales on ${channel.id} are paused by park staff`);
      if (body.date < localDate(this.now(), site.catalogue.timeZone)) throw new Refusal(422, 'date_in_past', `${body.date} is in the past`);
      if (site.catalogue.slots.length > 0 && body.slotId === undefined) throw new Refusal(422, 'slot_required', 'this park sells time slots: name one (slotId)');
      this.checkLiveLevel(site, channel, body.date);
      this.checkSlotNotOver(site, order.type_id, body.date, body.slotId);
      const newSlot = body.slotId ?? NO_SLOT;
      if (body.date === order.visit_date && newSlot === order.slot_id) throw new Refusal(422, 'same_date_and_slot', 'the order is already for that date and slot');
      const { ticketIds, used } = await this.usedTickets(trx, site.id, orderId);
      if (used.length > 0) throw new Refusal(409, 'ticket_used', `${used.length} ticket(s) of order ${orderId} already entered the park`);
      // The price stays what was paid; the type must still be sold on the new day and slot.
      // An early/night ticket keeps its window: the new slot must meet it.
      const entry = order.gate_type_id.endsWith('@early') ? 'early' : order.gate_type_id.endsWith('@night') ? 'night' : undefined;
      const quote = priceFor(site.catalogue, { typeId: order.type_id, channelId: channel.id, visitDate: body.date, ...(body.slotId !== undefined ? { slotId: body.slotId } : {}), ...(entry ? { entry } : {}) });
      if (!quote.ok) throw new Refusal(422, quote.reason, quote.message);
      // A discount earned by the old slot (early, night) does not carry over to a dearer one.
      const paidUnit = (JSON.parse(order.pricing) as { unitFen: number }).unitFen;
      if (quote.unitFen > paidUnit) throw new Refusal(409, 'price_higher', `the new date/slot costs ${quote.unitFen} fen per ticket, ${paidUnit} was paid: refund and buy again`);
      // Same day: only the slot counts move (the day's total does not change, so a full day
      // must not refuse it, and the day row is not locked at all).
      const sameDay = body.date === order.visit_date;
      await this.reserve(trx, site, channel, body.date, newSlot, Number(order.persons), { day: !sameDay });
      if (sameDay) {
        if (order.slot_id !== NO_SLOT) await this.release(trx, site.id, order.visit_date, order.slot_id, Number(order.persons), false);
      } else {
        await this.release(trx, site.id, order.visit_date, order.slot_id, Number(order.persons));
      }
      const moved = await trx.updateTable('orders').set({ visit_date: body.date, slot_id: newSlot }).where('order_id', '=', orderId).where('status', '=', 'paid').returningAll().executeTakeFirstOrThrow();
      const { tickets, snapshot } = await this.issue(trx, site, moved);
      // New ticket ids: the old codes stop working at every gate as soon as the delta lands.
      const changes = ticketIds.map((ticketId, i): WhitelistChange => ({ op: 'rebook', ticketId, newTicket: snapshot[i]! }));
      const extra = snapshot.slice(ticketIds.length).map((ticket): WhitelistChange => ({ op: 'upsert', ticket }));
      const delta = await this.whitelist.stageChanges(trx, site.id, [...changes, ...extra], this.maxEntries(site, moved, tickets));
      this.announceAfter(after, delta, order.contact_phone, this.smsText(site, moved, tickets), orderId);
      this.log.info({ site: site.id, orderId, from: order.visit_date, to: body.date, seq: delta.seq }, 'order rebooked');
      return { status: 200, body: { ...(await this.orderView(trx, moved)), whitelistSeq: delta.seq } };
    });
  }

  /**
   * Unpaid orders give their places back after `holdMs` (status `expired`): an abandoned
   * checkout must not keep the last tickets from other visitors. Returns how many expired.
   */
  async expireHolds(holdMs = HOLD_MS): Promise<number> {
    const cutoff = new Date(this.now().getTime() - holdMs).toISOString();
    const stale = await this.store.db.selectFrom('orders').select(['order_id', 'site']).where('status', '=', 'pending').where('created_at', '<', cutoff).limit(500).execute();
    let expired = 0;
    for (const o of stale) {
      await this.store.db.transaction().execute(async (trx) => {
        const row = await trx.updateTable('orders').set({ status: 'expired' }).where('order_id', '=', o.order_id).where('status', '=', 'pending').returningAll().executeTakeFirst();
        if (!row) return; // paid meanwhile
        await this.release(trx, row.site, row.visit_date, row.slot_id, Number(row.persons));
        expired++;
      });
      this.onChange(o.site);
    }
    if (expired > 0) this.log.info({ expired }, 'unpaid orders expired; their places are for sale again');
    return expired;
  }

  async getOrder(site: SalesSite, channel: Channel, orderId: string): Promise<Reply> {
    try {
      const order = await this.order(this.store.db, site, channel, orderId);
      return { status: 200, body: await this.orderView(this.store.db, order) };
    } catch (err) {
      if (err instanceof Refusal) return err.reply();
      throw err;
    }
  }

  private async orderView(db: Db, o: OrdersTable): Promise<Record<string, unknown>> {
    const visitors = await db.selectFrom('order_visitors').select(['idx', 'name', 'id_masked', 'ticket_id']).where('order_id', '=', o.order_id).orderBy('idx').execute();
    const tickets = [...new Set(visitors.map((v) => v.ticket_id).filter((t): t is string => t !== null))].map((ticketId) => ({
      ticketId,
      code: `ST1:${ticketId}`,
      persons: visitors.filter((v) => v.ticket_id === ticketId).length,
    }));
    return {
      orderId: o.order_id,
      status: o.status,
      typeId: o.type_id,
      date: o.visit_date,
      slotId: o.slot_id === NO_SLOT ? null : o.slot_id,
      persons: Number(o.persons),
      amountFen: Number(o.amount_fen),
      pricing: JSON.parse(o.pricing) as unknown,
      visitors: visitors.map((v) => ({ name: v.name, idMasked: v.id_masked, ticketId: v.ticket_id })),
      tickets: o.status === 'paid' ? tickets : [],
      paidAt: o.paid_at,
      refundedAt: o.refunded_at,
      refundReason: o.refund_reason,
    };
  }

  /** Staff: pause or resume a channel, with who and why in the audit log. */
  async setChannelPaused(siteId: string, channelId: string, paused: boolean, actor: string, reason: string): Promise<Reply> {
    const site = this.sites.get(siteId);
    if (!site) return new Refusal(404, 'unknown_site', `no site ${siteId}`).reply();
    if (!site.catalogue.channels.some((c) => c.id === channelId)) return new Refusal(404, 'unknown_channel', `site ${siteId} has no channel ${channelId}`).reply();
    const at = this.now().toISOString();
    await this.store.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('channel_state')
        .values({ site: siteId, channel: channelId, paused: paused ? 1 : 0, changed_by: actor, reason, changed_at: at })
        .onConflict((oc) => oc.columns(['site', 'channel']).doUpdateSet({ paused: paused ? 1 : 0, changed_by: actor, reason, changed_at: at }))
        .execute();
      await trx.insertInto('audit_log').values({ id: randomUUID(), site: siteId, at, actor, action: paused ? 'channel_pause' : 'channel_resume', target: channelId, reason, details: null }).execute();
    });
    this.log.info({ site: siteId, channel: channelId, paused, actor, reason, audit: true }, paused ? 'channel paused' : 'channel resumed');
    this.onChange(siteId);
    return { status: 200, body: { site: siteId, channel: channelId, paused, by: actor, reason, at } };
  }

  async auditLog(siteId: string, limit = 100): Promise<Record<string, unknown>[]> {
    const rows = await this.store.db.selectFrom('audit_log').selectAll().where('site', '=', siteId).orderBy('at', 'desc').limit(limit).execute();
    return rows.map((r) => ({ at: r.at, actor: r.actor, action: r.action, target: r.target, reason: r.reason }));
  }
}
