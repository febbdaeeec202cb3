import { localDate } from '@stile/config';
import type { Channel } from '../../core/catalogue.js';
import type { Reply } from '../../core/http/refusals.js';
import type { CreateOrderBody, PayBody, RebookBody, RefundBody } from './schemas.js';
import type { ModuleContext } from '../../core/module.js';
import type { SmsSender } from '../../core/notify/sms.js';
import type { BookingSales, CapacityView, OrderExtension, OrderPaymentClosing, OrderPayments, TicketLedger } from '../../core/ports.js';
import type { SalesSite } from '../../core/sites.js';
import { Availability } from './availability.js';
import { OrderLanes } from './group-commit.js';
import { IdempotentWrites } from './idempotent-writes.js';
import { HOLD_MS, Orders } from './orders.js';
import { Places } from './places.js';
import { SalesRepository } from './repository.js';
import { SaleRules } from './rules.js';
import { VisitorOrders } from './visitor-orders.js';


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

/** What the sales module takes from other modules, and its tuning. */
export interface SalesDeps {
  /** Paid, refunded and rebooked orders change the gates' whitelist through it (the whitelist module). */
  ledger: TicketLedger;
  /** Today's shared capacity level (the capacity module): sales close at orange online, at red for all. */
  levels: Pick<CapacityView, 'level'>;
  /** Sends the check-in codes to visitors. */
  sms: SmsSender;
  /** Closes a provider-mode order's open payments at the provider before it is cancelled (the payments module). */
  payments?: OrderPaymentClosing;
  /** Feature modules that take part in orders (visitors, marketing, partners), called in this order. */
  extensions?: readonly OrderExtension[];
  options?: SalesOptions;
}

export type SalesContext = Pick<ModuleContext, 'store' | 'sites' | 'events' | 'clock' | 'log'>;

/**
 * Orders from sales channels: availability, real-name orders holding quota, payment that
 * issues tickets (whitelist delta in the same transaction), refunds and rebooking.
 *
 * Overselling: every sale adds its persons to the slot's and the day's `inventory` row with
 * `UPDATE … SET sold = sold + n WHERE sold + n <= limit`. The row lock (PostgreSQL) or the
 * single writer (SQLite) makes concurrent sales of the last ticket take turns, and the
 * second one's condition fails: it is refused, not oversold (places.ts).
 *
 * Idempotency: every write names a key; the key's row is inserted in the same transaction
 * as the write and holds the answer. A retry (also one racing the first) gets that answer;
 * the same key with a different request is refused (idempotent-writes.ts).
 *
 * After each committed change it emits `changed` for the site (capacity recounts, dashboards
 * refresh).
 */
export class Sales {
  private readonly availabilityView: Availability;
  private readonly orders: Orders;
  private readonly writes: IdempotentWrites;
  private readonly visitorOrders: VisitorOrders;
  /** Undefined: group commit off, one transaction per order. */
  private readonly lanes: OrderLanes | undefined;

  constructor(
    private readonly ctx: SalesContext,
    deps: SalesDeps,
  ) {
    const options = deps.options ?? {};
    const repo = new SalesRepository(ctx.store);
    const rules = new SaleRules(ctx.clock, deps.levels);
    const places = new Places(repo);
    this.availabilityView = new Availability(repo, rules, options.availabilityTtlMs ?? 1000);
    const soldChanged = (site: string, date: string): void => this.availabilityView.soldChanged(site, date);
    this.writes = new IdempotentWrites(repo, ctx.clock, ctx.events, ctx.log, soldChanged);
    this.visitorOrders = new VisitorOrders(repo);
    this.orders = new Orders({ repo, sites: ctx.sites, places, rules, writes: this.writes, ledger: deps.ledger, sms: deps.sms, ...(deps.payments ? { payments: deps.payments } : {}), ...(deps.extensions ? { extensions: deps.extensions } : {}), clock: ctx.clock, events: ctx.events, log: ctx.log, soldChanged });
    const lanes = Math.max(1, options.groupLanes ?? (repo.dialect === 'postgres' ? 4 : 1));
    this.lanes = (options.groupCommit ?? true) ? new OrderLanes(repo, this.writes, this.orders.create, ctx.log, { lanes, maxGroup: Math.max(1, options.maxGroup ?? 32) }) : undefined;
  }

  /** The sites with sales (the site registry's). */
  get siteIds(): string[] {
    return this.ctx.sites.salesIds;
  }

  /** A site with sales (the site registry's). */
  site(id: string): SalesSite | undefined {
    return this.ctx.sites.site(id);
  }

  /** Orders committed by group commit and the transactions they took (benchmarks, metrics). */
  get groupCommits(): { orders: number; transactions: number } {
    return this.lanes?.counts ?? { orders: 0, transactions: 0 };
  }

  /** Staff paused or resumed a channel of `site`: availability reads the pause state again. */
  pausesChanged(site: string): void {
    this.availabilityView.pausesChanged(site);
  }

  /** Live availability for one channel and day (availabilityJson parsed). */
  async availability(site: SalesSite, channel: Channel, date: string): Promise<Reply> {
    const r = await this.availabilityJson(site, channel, date);
    return { status: r.status, body: JSON.parse(r.text) as Record<string, unknown> };
  }

  /** Live availability for one channel and day as the JSON text sent (availability.ts). */
  availabilityJson(site: SalesSite, channel: Channel, date: string): Promise<{ status: number; text: string }> {
    return this.availabilityView.json(site, channel, date);
  }

  /**
   * A real-name order. With group commit (the default), orders that arrive while another
   * group commits wait for the next group: one transaction and one durable commit for all of
   * them, each order in its own savepoint (group-commit.ts).
   */
  createOrder(site: SalesSite, channel: Channel, key: string, body: CreateOrderBody): Promise<Reply> {
    if (this.lanes) return this.lanes.submit(site, channel, key, body);
    return this.writes.run(site, channel, key, { op: 'order', body }, (trx, fx) => this.orders.create(trx, site, channel, body, fx));
  }

  pay(site: SalesSite, channel: Channel, key: string, orderId: string, body: PayBody): Promise<Reply> {
    return this.orders.pay(site, channel, key, orderId, body);
  }

  refund(site: SalesSite, channel: Channel, key: string, orderId: string, body: RefundBody): Promise<Reply> {
    return this.orders.refund(site, channel, key, orderId, body);
  }

  rebook(site: SalesSite, channel: Channel, key: string, orderId: string, body: RebookBody): Promise<Reply> {
    return this.orders.rebook(site, channel, key, orderId, body);
  }

  /** A pending order cancelled: its provider payments closed first, its places back at once (orders.ts cancel). */
  cancel(site: SalesSite, channel: Channel, key: string, orderId: string): Promise<Reply> {
    return this.orders.cancel(site, channel, key, orderId);
  }

  /**
   * Today's orders of the site (any channel) naming the visitor with this keyed ID hash, for
   * kiosk channels only (the staffed window's lookup by ID card): masked visitors, the
   * tickets of paid orders, and the park's refund reasons.
   */
  async visitorOrdersByIdHash(site: SalesSite, channel: Channel, idHash: string): Promise<Reply> {
    if (channel.kind !== 'kiosk') return { status: 400, body: { error: 'invalid_request', message: 'only kiosk channels look visitors up by ID' } };
    const date = localDate(this.ctx.clock(), site.catalogue.timeZone);
    const orders = await this.visitorOrders.ofIdHash(site, date, idHash);
    return { status: 200, body: { date, orders, refundReasons: site.catalogue.refundReasons.map((r) => ({ code: r.code, label: r.label })) } };
  }

  getOrder(site: SalesSite, channel: Channel, orderId: string): Promise<Reply> {
    return this.orders.get(site, channel, orderId);
  }

  /**
   * The port the payments module confirms provider payments through (core/ports.ts): an order
   * of a provider-mode channel becomes paid only here, from a verified notification or query.
   */
  get orderPayments(): OrderPayments {
    const o = this.orders;
    return {
      payable: (site, orderId) => o.payable(site, orderId),
      confirmPaid: (site, orderId, payment, record) => o.confirmPaid(site, orderId, payment, record),
      overdue: (now, limit) => o.overdue(now, limit),
      expire: (site, orderId) => o.expireOne(site, orderId),
      refundsOwed: (limit) => o.refundsOwed(limit),
      refundUpdate: (site, orderId, outRefundNo, state) => o.refundUpdate(site, orderId, outRefundNo, state),
    };
  }

  /**
   * The port the booking page's module sells through (core/ports.ts): the booking channel's
   * availability, orders, refunds and rebookings with the channel API's rules, and a visitor's
   * own orders by the contact phone.
   */
  get bookingSales(): BookingSales {
    return {
      availabilityJson: (site, channel, date) => this.availabilityJson(site, channel, date),
      createOrder: (site, channel, key, order) => this.createOrder(site, channel, key, order),
      visitorOrders: (site, channel, phone, limit) => this.visitorOrders.list(site, channel, phone, limit),
      visitorOrder: (site, channel, phone, orderId) => this.visitorOrders.one(site, channel, phone, orderId),
      refund: (site, channel, key, orderId, reason) => this.refund(site, channel, key, orderId, { reason }),
      rebook: (site, channel, key, orderId, to) => this.rebook(site, channel, key, orderId, to),
      cancel: (site, channel, key, orderId) => this.cancel(site, channel, key, orderId),
    };
  }

  /** Unpaid partner-mode orders older than `holdMs` give their places back (status `expired`); provider-mode ones are the payments sweep's. Returns how many expired. */
  expireHolds(holdMs = HOLD_MS): Promise<number> {
    return this.orders.expireHolds(holdMs);
  }
}
