import { createHash, createHmac, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import {
  addDays,
  canonicalJson,
  hashIdNumber,
  idNumberProblem,
  type IdNumberProblem,
  localDate,
  localTime,
  maskIdNumber,
  minutesOfDay,
  newTicketId,
  normalizeIdNumber,
  type SnapshotTicket,
  type WhitelistChange,
  type WhitelistDelta,
} from '@stile/config';
import { percentOf, salesDecision, sellLimit, thresholds, type CapacityLimits, type Level, type SalesRefusal } from '../../core/capacity-levels.js';
import type { Catalogue, Channel } from '../../core/catalogue.js';
import { priceFor } from './pricing.js';
import type { Logger } from '../../core/log.js';
import type { SmsSender } from '../../core/notify/sms.js';
import type { CloudStore, Db } from '../../core/db/store.js';
import type { OrdersTable } from '../../core/db/schema.js';
import type { WhitelistPublisher } from '../whitelist/publisher.js';
import { FreshCache } from './availability-view.js';
import { CloudError } from '../../core/errors.js';
import { refusalReply, type Reply } from '../../core/http/refusals.js';
import type { CreateOrderBody, PayBody, RebookBody, RefundBody } from '../../core/http/schemas.js';

export type { Reply } from '../../core/http/refusals.js';

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

/** Tuning of the sales module; the defaults suit one instance or several on one store. */
export interface SalesOptions {
  /**
   * How old availability may be for changes made by another instance on the same store
   * (this instance's own changes show at once). Default 1000 ms; 0 reads the store every time.
   */
  availabilityTtlMs?: number;
  /**
   * Group commit: orders that arrive while one is being committed share the next
   * transaction (one durable commit for the group, each order in its own savepoint, so
   * one order's refusal or error never touches another). Default on.
   */
  groupCommit?: boolean;
  /** Orders per group at most (default 32). */
  maxGroup?: number;
  /**
   * Groups committing at once (default: 4 on PostgreSQL, 1 on SQLite, which has one writer).
   * An order's lane follows its visit date, so two lanes never lock the same inventory rows.
   */
  groupLanes?: number;
}

/** What a write does besides its reply: steps after the commit, and the visit dates whose sold counts it moved. */
interface WriteEffects {
  after: (() => Promise<void>)[];
  dates: Set<string>;
}

interface OrderJob {
  site: SalesSite;
  channel: Channel;
  key: string;
  body: CreateOrderBody;
  resolve: (r: Reply) => void;
  reject: (err: unknown) => void;
}

const ID_PROBLEM_TEXT: Record<IdNumberProblem, string> = {
  format: 'not a resident ID number (18 characters: 17 digits and a digit or X)',
  check_digit: 'not a valid ID number (the check character does not match)',
  region: 'not a valid ID number (the region code is not a province-level code of GB/T 2260)',
  birth_date: 'not a valid ID number (the birth date is not a real date, is in the future or is over 130 years ago)',
};

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

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A stable lane for a key (FNV-1a). */
function laneOf(key: string, lanes: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % lanes;
}

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
  private readonly byKnownKey = new Map<string, { site: SalesSite; channel: Channel }>();
  /** Called after a committed sale, payment, refund, rebooking or channel change (the capacity monitor). */
  onChange: (site: string) => void = () => {};
  /** Sold counts per slot (and DAY) of one site and date, key "site\0date" (availability-view.ts). */
  private readonly soldView: FreshCache<Map<string, number>>;
  /** Pause state of every channel of a site. */
  private readonly pauseView: FreshCache<Map<string, { paused: boolean; by?: string; reason?: string; at?: string }>>;
  /** Availability answers as sent, per site, date and channel, with what they were computed from. */
  private readonly bodies = new Map<string, { stamp: string; text: string }>();
  private readonly groupCommit: boolean;
  private readonly maxGroup: number;
  private readonly lanes: { queue: OrderJob[]; flushing: boolean }[];

  constructor(
    private readonly store: CloudStore,
    private readonly whitelist: WhitelistPublisher,
    sites: SalesSite[],
    private readonly sms: SmsSender,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
    options: SalesOptions = {},
  ) {
    const ttl = options.availabilityTtlMs ?? 1000;
    this.soldView = new FreshCache((key) => {
      const [site, date] = key.split('\0') as [string, string];
      return this.sold(site, date);
    }, ttl);
    this.pauseView = new FreshCache(async (site) => {
      const rows = await this.store.db.selectFrom('channel_state').selectAll().where('site', '=', site).execute();
      return new Map(rows.map((r) => [r.channel, r.paused === 0 ? { paused: false } : { paused: true, by: r.changed_by, reason: r.reason, at: r.changed_at }]));
    }, ttl);
    this.groupCommit = options.groupCommit ?? true;
    this.maxGroup = Math.max(1, options.maxGroup ?? 32);
    const lanes = Math.max(1, options.groupLanes ?? (store.dialect === 'postgres' ? 4 : 1));
    this.lanes = Array.from({ length: lanes }, () => ({ queue: [], flushing: false }));
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
    const known = this.byKnownKey.get(apiKey);
    if (known) return known;
    const found = this.byKeyHash.get(sha256(apiKey));
    // Only keys that name a channel are remembered (at most one per channel): unknown keys
    // cannot grow the map, and a known key skips the hash on every later call.
    if (found) this.byKnownKey.set(apiKey, found);
    return found;
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
    if (minutesOfDay(now) > minutesOfDay(slot.end) + lateMin) throw new CloudError('slot_over', `slot ${slot.id} (${slot.start}–${slot.end}) is over for today`);
  }

  /** Refuse a sale for today when the park's live level already says so (the sold count alone may not). */
  private checkLiveLevel(site: SalesSite, channel: Channel, date: string): void {
    if (date !== localDate(this.now(), site.catalogue.timeZone)) return;
    const level = this.levelToday(site.id);
    if (level === 'red') throw new CloudError('capacity_red', 'the park is full today');
    if (level === 'orange' && channel.kind === 'online') throw new CloudError('capacity_orange', 'online sales for today are closed: the park is nearly full (the rest is kept for on-site sales)');
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

  /** Refuse a date that is not sold now: before today (park time) or past the booking horizon. */
  private checkDateSold(site: SalesSite, date: string, today = localDate(this.now(), site.catalogue.timeZone)): void {
    if (date < today) throw new CloudError('date_in_past', `${date} is in the past`);
    const { bookingHorizonDays } = site.catalogue.realName;
    const last = this.lastDate(today, bookingHorizonDays);
    if (date > last) throw new CloudError('beyond_booking_horizon', `${date} is more than ${bookingHorizonDays} days ahead: the park sells up to ${last}`);
  }

  private lastDateMemo = { key: '', date: '' };
  /** today + horizon days (remembered: availability asks on every call). */
  private lastDate(today: string, days: number): string {
    const key = `${today}+${days}`;
    if (this.lastDateMemo.key !== key) this.lastDateMemo = { key, date: addDays(today, days) };
    return this.lastDateMemo.date;
  }

  /**
   * Refuse visitors who already hold the park's limit of places for `date` (catalogue
   * realName.ticketsPerIdPerDay; pending and paid orders count, on any channel). Called
   * after reserve(): the day's inventory row is then locked, so two orders for one date take
   * turns here and the second sees the first.
   */
  private async checkVisitorsFree(trx: Db, site: SalesSite, date: string, idHashes: string[], exceptOrder?: string): Promise<void> {
    const max = site.catalogue.realName.ticketsPerIdPerDay;
    const rows = await trx
      .selectFrom('order_visitors as v')
      .innerJoin('orders as o', 'o.order_id', 'v.order_id')
      .select((eb) => ['v.id_hash', eb.fn.countAll().as('n')])
      .where('v.id_hash', 'in', [...new Set(idHashes)])
      .where('o.site', '=', site.id)
      .where('o.visit_date', '=', date)
      .where('o.status', 'in', ['pending', 'paid'])
      .$if(exceptOrder !== undefined, (qb) => qb.where('o.order_id', '!=', exceptOrder!))
      .groupBy('v.id_hash')
      .execute();
    const held = new Map(rows.map((r) => [r.id_hash, Number(r.n)]));
    idHashes.forEach((h, i) => {
      const n = held.get(h) ?? 0;
      if (n + 1 > max) throw new CloudError('visitor_already_booked', `visitors[${i}]: this ID number already holds ${n} place(s) for ${date}; the park sells ${max} per ID number per day`, { visitor: i });
    });
  }

  /** Live availability for one channel and day (availabilityJson parsed). */
  async availability(site: SalesSite, channel: Channel, date: string): Promise<Reply> {
    const r = await this.availabilityJson(site, channel, date);
    return { status: r.status, body: JSON.parse(r.text) as Record<string, unknown> };
  }

  /**
   * Live availability for one channel and day as the JSON text sent: computed from sold
   * counts and pause state kept in memory (FreshCache: current with this instance's
   * writes, ≤ availabilityTtlMs behind other instances'), and the answer itself kept until
   * one of its inputs (sold counts, pauses, today's level, the date) changes.
   */
  async availabilityJson(site: SalesSite, channel: Channel, date: string): Promise<{ status: number; text: string }> {
    const today = localDate(this.now(), site.catalogue.timeZone);
    try {
      this.checkDateSold(site, date, today);
    } catch (err) {
      if (!(err instanceof CloudError)) throw err;
      const reply = refusalReply(err);
      return { status: reply.status, text: JSON.stringify(reply.body) };
    }
    const level = date === today ? this.levelToday(site.id) : undefined;
    const soldNow = this.soldView.get(`${site.id}\0${date}`);
    const sold = soldNow instanceof Promise ? await soldNow : soldNow;
    const pausesNow = this.pauseView.get(site.id);
    const pauses = pausesNow instanceof Promise ? await pausesNow : pausesNow;
    const key = `${site.id}\0${date}\0${channel.id}`;
    const stamp = `${sold.version}|${pauses.version}|${level ?? ''}|${today}`;
    const kept = this.bodies.get(key);
    if (kept?.stamp === stamp) return { status: 200, text: kept.text };
    const text = JSON.stringify(this.availabilityBody(site, channel, date, today, sold.value, pauses.value.get(channel.id)?.paused ?? false, level));
    if (this.bodies.size >= 10_000) this.bodies.clear();
    this.bodies.set(key, { stamp, text });
    return { status: 200, text };
  }

  private availabilityBody(site: SalesSite, channel: Channel, date: string, today: string, sold: Map<string, number>, paused: boolean, level: Level | undefined): Record<string, unknown> {
    const daySold = sold.get(DAY) ?? 0;
    const { daily } = site.capacity;
    const t = thresholds(site.capacity);
    const blocked = level === 'red' || (level === 'orange' && channel.kind === 'online');
    const dayRemaining = blocked ? 0 : Math.max(0, this.dayLimit(site, channel) - daySold);
    const almostFull = daySold >= t.yellow || (level !== undefined && level !== 'green');
    const types = site.catalogue.ticketTypes
      .filter((t) => !t.channels || t.channels.includes(channel.id))
      .map((t) => {
        const q = priceFor(site.catalogue, { typeId: t.id, channelId: channel.id, visitDate: date });
        return { typeId: t.id, name: t.name, persons: t.persons, ...(q.ok ? { unitFen: q.unitFen, discounts: q.discounts } : { available: false, reason: q.reason }) };
      });
    // A slot is almost full by its own numbers: open (quota > 0) and at most a tenth of its
    // quota (at least 1) left for this channel, the day's limit included. A quiet slot on a
    // busy day is not; a closed slot (quota 0) is not (it is closed).
    const slots = site.catalogue.slots.map((s) => {
      const remaining = Math.max(0, Math.min(s.quota - (sold.get(s.id) ?? 0), dayRemaining));
      return { slotId: s.id, start: s.start, end: s.end, quota: s.quota, remaining, almostFull: s.quota > 0 && remaining <= Math.max(1, Math.floor(s.quota / 10)) };
    });
    const { ticketsPerIdPerDay, bookingHorizonDays } = site.catalogue.realName;
    return {
      site: site.id,
      channel: channel.id,
      date,
      open: !paused && dayRemaining > 0,
      paused,
      capacity: { daily, sold: daySold, remaining: dayRemaining, percent: percentOf(daySold, daily), ...(level ? { level } : {}) },
      almostFull,
      slots,
      types,
      realName: { ticketsPerIdPerDay, bookingHorizonDays, lastDate: this.lastDate(today, bookingHorizonDays) },
    };
  }

  private requestHash(site: SalesSite, request: unknown): string {
    // Keyed: the body holds ID numbers, and a plain hash of it could be brute-forced from
    // the rest of the order (the masked number leaves only a birth date and a few digits).
    return createHmac('sha256', site.idHashKey).update(canonicalJson(request)).digest('hex');
  }

  /** Run `work` under an idempotency key, in one transaction with it. */
  private async idempotent(site: SalesSite, channel: Channel, key: string, request: unknown, work: (trx: Db, fx: WriteEffects) => Promise<Reply>): Promise<Reply> {
    const requestHash = this.requestHash(site, request);
    const fx: WriteEffects = { after: [], dates: new Set() };
    const reply = await this.store.db.transaction().execute(async (trx) => {
      fx.after.length = 0;
      fx.dates.clear();
      return this.underKey(trx, site, channel, key, requestHash, work, fx);
    });
    await this.committed(site.id, reply, fx);
    return reply;
  }

  /**
   * Inside a transaction: claim the key, or answer from it. The work runs in a savepoint: a
   * refusal rolls back whatever it wrote before refusing (places taken, rows), and only the
   * refusal is stored under the key.
   */
  private async underKey(trx: Db, site: SalesSite, channel: Channel, key: string, requestHash: string, work: (trx: Db, fx: WriteEffects) => Promise<Reply>, fx: WriteEffects): Promise<Reply> {
    const inserted = await trx
      .insertInto('idempotency')
      .values({ site: site.id, channel: channel.id, key, request_hash: requestHash, status: 0, response: '', created_at: this.now().toISOString() })
      .onConflict((oc) => oc.columns(['site', 'channel', 'key']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) {
      const row = await trx.selectFrom('idempotency').select(['request_hash', 'status', 'response']).where('site', '=', site.id).where('channel', '=', channel.id).where('key', '=', key).executeTakeFirstOrThrow();
      if (row.request_hash !== requestHash) return refusalReply(new CloudError('idempotency_key_reused', 'this Idempotency-Key was used for a different request'));
      return { status: Number(row.status), body: { ...(JSON.parse(row.response) as Record<string, unknown>), replayed: true } };
    }
    await sql`SAVEPOINT sales_work`.execute(trx);
    let r: Reply;
    try {
      r = await work(trx, fx);
      await sql`RELEASE SAVEPOINT sales_work`.execute(trx);
    } catch (err) {
      if (!(err instanceof CloudError)) throw err;
      await sql`ROLLBACK TO SAVEPOINT sales_work`.execute(trx);
      await sql`RELEASE SAVEPOINT sales_work`.execute(trx);
      fx.after.length = 0;
      fx.dates.clear();
      r = refusalReply(err);
    }
    await trx.updateTable('idempotency').set({ status: r.status, response: JSON.stringify(r.body) }).where('site', '=', site.id).where('channel', '=', channel.id).where('key', '=', key).execute();
    return r;
  }

  /** After the commit: availability first (at once), then the steps that talk to the outside. */
  private async committed(siteId: string, reply: Reply, fx: WriteEffects): Promise<void> {
    for (const d of fx.dates) this.soldView.invalidate(`${siteId}\0${d}`);
    for (const f of fx.after) await f().catch((err: unknown) => this.log.warn({ err, site: siteId }, 'after-commit step failed'));
    if (reply.status < 300 && reply.body.replayed !== true) this.onChange(siteId);
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
    // A refusal rolls the savepoint back (underKey), so a slot taken before the day said no is given back.
    if (slot && !(await take(slot.id, slot.quota))) {
      const left = Math.max(0, slot.quota - ((await this.sold(site.id, date, trx)).get(slot.id) ?? 0));
      throw new CloudError('sold_out', `slot ${slot.id} on ${date} has ${left} place(s) left; the order has ${persons} visitor(s)`, { slotId: slot.id, requested: persons, remaining: left });
    }
    if (opts.day !== false && !(await take(DAY, this.dayLimit(site, channel)))) {
      // Which rule said no, for the channel: the same rules the limit came from.
      const load = (await this.sold(site.id, date, trx)).get(DAY) ?? 0;
      const d = salesDecision(site.capacity, { load, channelKind: channel.kind, requestedPersons: persons });
      const reason = d.ok ? 'capacity_exceeded' : d.reason;
      throw new CloudError(reason, `${REFUSAL_TEXT[reason](date)} (the order has ${persons} visitor(s))`, { requested: persons, remaining: Math.max(0, this.dayLimit(site, channel) - load) });
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

  /**
   * A real-name order. With group commit (the default), orders that arrive while another
   * group commits wait for the next group: one transaction and one durable commit for all of
   * them, each order in its own savepoint.
   */
  async createOrder(site: SalesSite, channel: Channel, key: string, body: CreateOrderBody): Promise<Reply> {
    if (!this.groupCommit) return this.idempotent(site, channel, key, { op: 'order', body }, (trx, fx) => this.orderWork(trx, site, channel, body, fx));
    const lane = this.lanes[this.lanes.length === 1 ? 0 : laneOf(`${site.id}\0${body.date}`, this.lanes.length)]!;
    return new Promise<Reply>((resolve, reject) => {
      lane.queue.push({ site, channel, key, body, resolve, reject });
      if (!lane.flushing) {
        lane.flushing = true;
        // After this turn's I/O: on SQLite a whole transaction runs without yielding to I/O
        // (better-sqlite3 is synchronous), so orders read in the same turn must be queued first.
        setImmediate(() => void this.flushOrders(lane));
      }
    });
  }

  private async flushOrders(lane: { queue: OrderJob[]; flushing: boolean }): Promise<void> {
    lane.flushing = true;
    try {
      while (lane.queue.length > 0) {
        await new Promise((r) => setImmediate(r)); // let the orders that arrived meanwhile join
        // In (site, date, slot) order: groups of other instances then take the rows in the same order.
        const group = lane.queue.splice(0, this.maxGroup).sort((a, b) => cmp(a.site.id, b.site.id) || cmp(a.body.date, b.body.date) || cmp(a.body.slotId ?? '', b.body.slotId ?? ''));
        await this.commitGroup(group);
      }
    } finally {
      lane.flushing = false;
    }
  }

  /** Orders committed by group commit and the transactions they took (benchmarks, metrics). */
  readonly groupCommits = { orders: 0, transactions: 0 };

  private async commitGroup(group: OrderJob[]): Promise<void> {
    this.groupCommits.orders += group.length;
    this.groupCommits.transactions += 1;
    const single = (job: OrderJob): Promise<void> =>
      this.idempotent(job.site, job.channel, job.key, { op: 'order', body: job.body }, (trx, fx) => this.orderWork(trx, job.site, job.channel, job.body, fx)).then(job.resolve, job.reject);
    if (group.length === 1) return single(group[0]!);
    let done: { job: OrderJob; reply: Reply; fx: WriteEffects }[] = [];
    let alone: OrderJob[] = [];
    try {
      await this.store.db.transaction().execute(async (trx) => {
        done = [];
        alone = [];
        for (const job of group) {
          const fx: WriteEffects = { after: [], dates: new Set() };
          await sql`SAVEPOINT sales_group`.execute(trx);
          try {
            const reply = await this.underKey(trx, job.site, job.channel, job.key, this.requestHash(job.site, { op: 'order', body: job.body }), (t, f) => this.orderWork(t, job.site, job.channel, job.body, f), fx);
            await sql`RELEASE SAVEPOINT sales_group`.execute(trx);
            done.push({ job, reply, fx });
          } catch (err) {
            // Not a refusal (those are answers): a deadlock, a lost connection, a bug. This
            // order is taken out of the group and tried again on its own below.
            this.log.warn({ err, site: job.site.id }, 'order failed inside a commit group; trying it alone');
            await sql`ROLLBACK TO SAVEPOINT sales_group`.execute(trx);
            await sql`RELEASE SAVEPOINT sales_group`.execute(trx);
            alone.push(job);
          }
        }
      });
    } catch (err) {
      // The group's commit failed: none of it is stored; every order is tried on its own.
      this.log.warn({ err, orders: group.length }, 'commit group failed; trying its orders one by one');
      done = [];
      alone = [...group];
    }
    for (const { job, reply, fx } of done) {
      job.resolve(reply);
      void this.committed(job.site.id, reply, fx);
    }
    await Promise.all(alone.map(single));
  }

  private async orderWork(trx: Db, site: SalesSite, channel: Channel, body: CreateOrderBody, fx: WriteEffects): Promise<Reply> {
    if ((await this.channelPaused(site.id, channel.id, trx)).paused) throw new CloudError('channel_paused', `sales on ${channel.id} are paused by park staff`);
    const today = localDate(this.now(), site.catalogue.timeZone);
    this.checkDateSold(site, body.date, today);
    if (site.catalogue.slots.length > 0 && body.slotId === undefined) throw new CloudError('slot_required', 'this park sells time slots: name one (slotId)');
    this.checkLiveLevel(site, channel, body.date);
    this.checkSlotNotOver(site, body.typeId, body.date, body.slotId);
    const seen = new Set<string>();
    const visitors = body.visitors.map((v, i) => {
      // The number itself never goes into a message or a log. Messages name the visitor as
      // the `visitor` field does: the index in `visitors`.
      const problem = idNumberProblem(v.idNumber, today);
      if (problem) throw new CloudError('invalid_id_number', `visitors[${i}].idNumber: ${ID_PROBLEM_TEXT[problem]}`, { visitor: i });
      const n = normalizeIdNumber(v.idNumber);
      if (seen.has(n)) throw new CloudError('duplicate_visitor', `visitors[${i}].idNumber: the same ID number as an earlier visitor of this order`, { visitor: i });
      seen.add(n);
      return { name: v.name, idHash: hashIdNumber(site.idHashKey, n), idMasked: maskIdNumber(n) };
    });
    const quote = priceFor(site.catalogue, { typeId: body.typeId, channelId: channel.id, visitDate: body.date, ...(body.slotId !== undefined ? { slotId: body.slotId } : {}), ...(body.entry ? { entry: body.entry } : {}) });
    if (!quote.ok) throw new CloudError(quote.reason, quote.message);
    if (visitors.length % quote.persons !== 0) throw new CloudError('package_size', `"${body.typeId}" is sold for ${quote.persons} visitors per ticket; ${visitors.length} visitors do not fill whole tickets`);
    const slotId = body.slotId ?? NO_SLOT;
    await this.reserve(trx, site, channel, body.date, slotId, visitors.length);
    await this.checkVisitorsFree(
      trx,
      site,
      body.date,
      visitors.map((v) => v.idHash),
    );
    fx.dates.add(body.date);
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
  }

  private async order(trx: Db, site: SalesSite, channel: Channel, orderId: string): Promise<OrdersTable> {
    const row = await trx.selectFrom('orders').selectAll().where('order_id', '=', orderId).where('site', '=', site.id).where('channel', '=', channel.id).executeTakeFirst();
    if (!row) throw new CloudError('unknown_order', `no order ${orderId} on this channel`);
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
    if (!row) throw new CloudError('unknown_order', `no order ${orderId} on this channel`);
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
    return this.idempotent(site, channel, key, { op: 'pay', orderId, body }, async (trx, fx) => {
      const order = await this.lockOrder(trx, site, channel, orderId);
      if (order.status === 'paid' && order.payment_ref === body.paymentRef) return { status: 200, body: await this.orderView(trx, order) };
      if (order.status === 'expired') throw new CloudError('order_expired', `order ${orderId} was not paid within ${HOLD_MS / 60_000} minutes; its places were released`);
      if (order.status !== 'pending') throw new CloudError(order.status === 'paid' ? 'already_paid' : 'not_payable', `order ${orderId} is ${order.status}`);
      if (body.amountFen !== Number(order.amount_fen)) throw new CloudError('amount_mismatch', `the order costs ${order.amount_fen} fen, the payment says ${body.amountFen}`);
      const paidAt = this.now().toISOString();
      const updated = await trx.updateTable('orders').set({ status: 'paid', paid_at: paidAt, payment_ref: body.paymentRef }).where('order_id', '=', orderId).where('status', '=', 'pending').returningAll().executeTakeFirst();
      if (!updated) throw new CloudError('not_payable', `order ${orderId} changed meanwhile`);
      const { tickets, snapshot } = await this.issue(trx, site, updated);
      const delta = await this.whitelist.stageChanges(trx, site.id, snapshot.map((ticket): WhitelistChange => ({ op: 'upsert', ticket })), this.maxEntries(site, updated, tickets));
      this.announceAfter(fx.after, delta, order.contact_phone, this.smsText(site, order, tickets), orderId);
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
    return this.idempotent(site, channel, key, { op: 'refund', orderId, body }, async (trx, fx) => {
      const reason = site.catalogue.refundReasons.find((r) => r.code === body.reason);
      if (!reason) throw new CloudError('unknown_refund_reason', `refund reason "${body.reason}" is not one of: ${site.catalogue.refundReasons.map((r) => r.code).join(', ')}`);
      const order = await this.lockOrder(trx, site, channel, orderId);
      if (order.status === 'refunded') throw new CloudError('already_refunded', `order ${orderId} was refunded at ${order.refunded_at}`);
      if (order.status !== 'paid') throw new CloudError('not_paid', `order ${orderId} is ${order.status}; only paid orders are refunded`);
      const { ticketIds, used } = await this.usedTickets(trx, site.id, orderId);
      if (used.length > 0) throw new CloudError('ticket_used', `${used.length} ticket(s) of order ${orderId} already entered the park`);
      const at = this.now().toISOString();
      const done = await trx.updateTable('orders').set({ status: 'refunded', refunded_at: at, refund_reason: reason.code }).where('order_id', '=', orderId).where('status', '=', 'paid').returningAll().executeTakeFirst();
      if (!done) throw new CloudError('already_refunded', `order ${orderId} changed meanwhile`);
      await this.release(trx, site.id, order.visit_date, order.slot_id, Number(order.persons));
      fx.dates.add(order.visit_date);
      const delta = await this.whitelist.stageChanges(trx, site.id, ticketIds.map((ticketId): WhitelistChange => ({ op: 'refund', ticketId })));
      fx.after.push(() => this.whitelist.announce(delta));
      this.log.info({ site: site.id, orderId, reason: reason.code, seq: delta.seq }, 'order refunded');
      return { status: 200, body: { orderId, status: 'refunded', refundFen: Number(order.amount_fen), reason: reason.code, whitelistSeq: delta.seq } };
    });
  }

  async rebook(site: SalesSite, channel: Channel, key: string, orderId: string, body: RebookBody): Promise<Reply> {
    return this.idempotent(site, channel, key, { op: 'rebook', orderId, body }, async (trx, fx) => {
      const order = await this.lockOrder(trx, site, channel, orderId);
      if (order.status !== 'paid') throw new CloudError(order.status === 'refunded' ? 'already_refunded' : 'not_paid', `order ${orderId} is ${order.status}; only paid orders are rebooked`);
      if ((await this.channelPaused(site.id, channel.id, trx)).paused) throw new CloudError('channel_paused', `sales on ${channel.id} are paused by park staff`);
      this.checkDateSold(site, body.date);
      if (site.catalogue.slots.length > 0 && body.slotId === undefined) throw new CloudError('slot_required', 'this park sells time slots: name one (slotId)');
      this.checkLiveLevel(site, channel, body.date);
      this.checkSlotNotOver(site, order.type_id, body.date, body.slotId);
      const newSlot = body.slotId ?? NO_SLOT;
      if (body.date === order.visit_date && newSlot === order.slot_id) throw new CloudError('same_date_and_slot', 'the order is already for that date and slot');
      const { ticketIds, used } = await this.usedTickets(trx, site.id, orderId);
      if (used.length > 0) throw new CloudError('ticket_used', `${used.length} ticket(s) of order ${orderId} already entered the park`);
      // The price stays what was paid; the type must still be sold on the new day and slot.
      // An early/night ticket keeps its window: the new slot must meet it.
      const entry = order.gate_type_id.endsWith('@early') ? 'early' : order.gate_type_id.endsWith('@night') ? 'night' : undefined;
      const quote = priceFor(site.catalogue, { typeId: order.type_id, channelId: channel.id, visitDate: body.date, ...(body.slotId !== undefined ? { slotId: body.slotId } : {}), ...(entry ? { entry } : {}) });
      if (!quote.ok) throw new CloudError(quote.reason, quote.message);
      // A discount earned by the old slot (early, night) does not carry over to a dearer one.
      const paidUnit = (JSON.parse(order.pricing) as { unitFen: number }).unitFen;
      if (quote.unitFen > paidUnit) throw new CloudError('price_higher', `the new date/slot costs ${quote.unitFen} fen per ticket, ${paidUnit} was paid: refund and buy again`);
      // Same day: only the slot counts move (the day's total does not change, so a full day
      // must not refuse it, and the day row is not locked at all).
      const sameDay = body.date === order.visit_date;
      await this.reserve(trx, site, channel, body.date, newSlot, Number(order.persons), { day: !sameDay });
      // Another day: the visitors must not already hold the park's limit there (same day: nothing changes for them).
      if (!sameDay) {
        const ids = await trx.selectFrom('order_visitors').select('id_hash').where('order_id', '=', orderId).orderBy('idx').execute();
        await this.checkVisitorsFree(
          trx,
          site,
          body.date,
          ids.map((r) => r.id_hash),
          orderId,
        );
      }
      fx.dates.add(body.date).add(order.visit_date);
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
      this.announceAfter(fx.after, delta, order.contact_phone, this.smsText(site, moved, tickets), orderId);
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
      let date: string | undefined;
      await this.store.db.transaction().execute(async (trx) => {
        const row = await trx.updateTable('orders').set({ status: 'expired' }).where('order_id', '=', o.order_id).where('status', '=', 'pending').returningAll().executeTakeFirst();
        if (!row) return; // paid meanwhile
        await this.release(trx, row.site, row.visit_date, row.slot_id, Number(row.persons));
        expired++;
        date = row.visit_date;
      });
      if (date !== undefined) this.soldView.invalidate(`${o.site}\0${date}`);
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
      if (err instanceof CloudError) return refusalReply(err);
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
    if (!site) return refusalReply(new CloudError('unknown_site', `no site ${siteId}`));
    if (!site.catalogue.channels.some((c) => c.id === channelId)) return refusalReply(new CloudError('unknown_channel', `site ${siteId} has no channel ${channelId}`));
    const at = this.now().toISOString();
    await this.store.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('channel_state')
        .values({ site: siteId, channel: channelId, paused: paused ? 1 : 0, changed_by: actor, reason, changed_at: at })
        .onConflict((oc) => oc.columns(['site', 'channel']).doUpdateSet({ paused: paused ? 1 : 0, changed_by: actor, reason, changed_at: at }))
        .execute();
      await trx.insertInto('audit_log').values({ id: randomUUID(), site: siteId, at, actor, action: paused ? 'channel_pause' : 'channel_resume', target: channelId, reason, details: null }).execute();
    });
    this.pauseView.invalidate(siteId);
    this.log.info({ site: siteId, channel: channelId, paused, actor, reason, audit: true }, paused ? 'channel paused' : 'channel resumed');
    this.onChange(siteId);
    return { status: 200, body: { site: siteId, channel: channelId, paused, by: actor, reason, at } };
  }

  async auditLog(siteId: string, limit = 100): Promise<Record<string, unknown>[]> {
    const rows = await this.store.db.selectFrom('audit_log').selectAll().where('site', '=', siteId).orderBy('at', 'desc').limit(limit).execute();
    return rows.map((r) => ({ at: r.at, actor: r.actor, action: r.action, target: r.target, reason: r.reason }));
  }
}
