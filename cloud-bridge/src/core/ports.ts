import type { SnapshotTicket, WhitelistChange, WhitelistDelta } from '@stile/config';
import type { Level } from './capacity-levels.js';
import type { Channel } from './catalogue.js';
import type { LocalText } from './i18n.js';
import type { Db, GateMark } from './db/store.js';
import type { OrdersTable, OrderVisitorsTable } from './db/schema.js';
import type { Reply } from './http/refusals.js';
import type { SalesSite } from './sites.js';
import type { ReconciliationResult } from './reconciliation.js';

/*
 * What one module offers another, as interfaces. The module that implements a port does not
 * know who uses it, the user does not know who implements it: bridge.ts passes the
 * implementation in. Events (core/events.ts) carry facts; ports answer questions and take
 * part in a caller's transaction.
 */

/**
 * The site's ticket whitelist as a ledger of signed, numbered deltas (implemented by the
 * whitelist module). Sales stage their changes inside their own transaction, then announce
 * after the commit, so a sale and its delta are stored together or not at all.
 */
export interface TicketLedger {
  /** Inside the caller's transaction: apply `changes` to the tickets and store them as the site's next signed delta. */
  stageChanges(db: Db, site: string, changes: WhitelistChange[], maxEntries?: ReadonlyMap<string, number>): Promise<WhitelistDelta>;
  /** After the commit: publish the site's unpublished deltas in order. Never rejects. */
  announce(delta: Pick<WhitelistDelta, 'site'>): Promise<void>;
}

/** A ticket as the cloud stores it: as gates get it, and the admissions it allows. */
export interface StoredTicket extends SnapshotTicket {
  maxEntries: number;
}

/** A ticket's admissions after an increment, and its limit. */
export interface TicketUsage {
  entriesUsed: number;
  maxEntries: number;
}

/**
 * What the entries ingest does to the whitelist inside its commit group's transaction
 * (implemented by the whitelist module): count admissions on tickets, learn verified offline
 * tickets, and store the used-elsewhere deltas under seqs it allocates. Ticket reads and
 * writes come after the site's row is held (lockSite or allocateSeqs), so transactions take
 * turns on a site and its deltas commit in seq order.
 */
export interface IngestLedger extends TicketLedger {
  /** Hold the site's row to the end of the transaction (PostgreSQL; SQLite has one writer). */
  lockSite(db: Db, site: string): Promise<void>;
  getTicket(site: string, ticketId: string, db: Db): Promise<StoredTicket | undefined>;
  upsertTicket(db: Db, site: string, t: SnapshotTicket, seq: number | null, maxEntries?: number): Promise<void>;
  /** upsertTicket() (default max entries) for many tickets. */
  upsertTickets(db: Db, site: string, tickets: SnapshotTicket[], seq: number | null): Promise<void>;
  setTicketUsage(db: Db, site: string, ticketId: string, entriesUsed: number): Promise<void>;
  /** Name delta `seq` as the tickets' last change. */
  markTicketsChanged(db: Db, site: string, ticketIds: string[], seq: number): Promise<void>;
  /** Add admissions to tickets (any sites), each named by its delta seq; the counts after by `${site}\0${ticketId}` (unknown tickets absent). */
  addTicketUsageMany(db: Db, rows: readonly { site: string; ticketId: string; n: number; seq: number }[]): Promise<Map<string, TicketUsage>>;
  /** `counts` new seqs per site, the sites' rows locked in site order; each site's first new seq. */
  allocateSeqs(db: Db, counts: ReadonlyMap<string, number>): Promise<Map<string, number>>;
  /** Give back the last `n` seqs of the site allocated in this transaction (head = the site's seq after allocating). */
  releaseSeqs(db: Db, site: string, n: number, head: number): Promise<void>;
  /** Next seq (or `seq`, allocated by the caller), sign, store: the site's next delta. */
  appendDelta(db: Db, site: string, changes: WhitelistChange[], seq?: number): Promise<WhitelistDelta>;
  /** Deltas whose seqs the caller allocated, signed; the caller stores them with finishGroup(). */
  signDeltas(items: readonly { site: string; seq: number; changes: WhitelistChange[] }[]): WhitelistDelta[];
  /**
   * The end of a commit group: its deltas stored and the gates' high-water marks raised, on
   * PostgreSQL in one statement. Returns each gate's mark before, by `${site}\0${gate}`.
   */
  finishGroup(db: Db, deltas: readonly WhitelistDelta[], marks: readonly GateMark[]): Promise<Map<string, bigint>>;
}

/** Today's load of a site, as the capacity level is computed from it. */
export interface TodayLoad {
  date: string;
  /** Persons admitted today at all gates. */
  admitted: number;
  /** Persons sold for today through the channels. */
  soldToday: number;
  /** Sold for today, plus admissions on tickets that were not (walk-ins on offline kiosk tickets, multi-day tickets…). */
  load: number;
  entriesByHour: { hour: number; persons: number }[];
}

/** The capacity module's answers (dashboard, sales). */
export interface CapacityView {
  /** Today's shared level; undefined until the first refresh of the day. */
  level(site: string): Level | undefined;
  /** Load and level now (a dashboard's first model). */
  current(site: string): Promise<{ level: Level; load: TodayLoad } | undefined>;
}

/** The daily reconciliation of provider payments (implemented by payments; the daily report shows it). */
export interface ReconciliationView {
  /** The kept reconciliation of a bill date (YYYY-MM-DD, Beijing), or undefined when it has not run. */
  reconciliation(site: string, date: string): Promise<ReconciliationResult | undefined>;
}

/** The cloud's own health in words for staff: what stops the numbers moving. */
export type CloudHealth = () => Promise<{ ready: boolean; problems: string[] }>;

/** An order as the payments module sees it (offered by sales through OrderPayments). */
export interface PayableOrder {
  site: string;
  orderId: string;
  channel: string;
  /** Who takes the money: the channel itself (`partner`) or WeChat Pay / Alipay through us (`provider`). */
  mode: 'partner' | 'provider';
  status: 'pending' | 'paid' | 'refunded' | 'expired';
  amountFen: number;
  /** What the visitor sees on the provider's receipt ("Adult ×2 2027-03-10 10:00"), ≤ 127 characters. */
  description: string;
  /** The end of the hold: after it the order cannot be paid any more and its places go back. */
  deadline: Date;
  /** The provider transaction that paid it (null while unpaid). */
  paymentRef: string | null;
  /** A provider-mode refund: requested (committed, not yet accepted by the provider) → processing → succeeded, or failed. */
  refundState: RefundState | null;
}

export type RefundState = 'requested' | 'processing' | 'succeeded' | 'failed';

/** Money the provider verifiably took for an order (a verified notification or an active query). */
export interface ProviderPayment {
  provider: 'wechat' | 'alipay';
  transactionId: string;
  amountFen: number;
  paidAt?: Date;
}

/**
 * What confirmPaid did: `paid` (tickets issued now), `already_paid` (by this very
 * transaction: a duplicate notification or a query racing it), `expired` (too late: the
 * places went back), `amount_mismatch` (not the order's amount; nothing changed),
 * `not_payable` (paid by another transaction, refunded, or no such order).
 */
export type ConfirmPaidResult = 'paid' | 'already_paid' | 'expired' | 'amount_mismatch' | 'not_payable';

/** A committed provider-mode refund the provider has not accepted yet. */
export interface OwedRefund {
  site: string;
  orderId: string;
  outRefundNo: string;
  amountFen: number;
  reason: string;
}

/**
 * Orders as the payments module needs them (implemented by sales). An order becomes paid only
 * through confirmPaid, which the payments module calls after a verified notification or an
 * active query; each method is idempotent and runs its own transaction.
 */
export interface OrderPayments {
  /** The payable view of an order of the site (any channel); undefined when there is none. */
  payable(site: string, orderId: string): Promise<PayableOrder | undefined>;
  /**
   * The provider took the money: pending → paid (tickets, whitelist delta, SMS), or why not.
   * `record` runs inside the same transaction once the answer is known (the caller stores what
   * the money bought with it: one commit, nothing half done); if it throws, nothing is changed.
   */
  confirmPaid(site: string, orderId: string, payment: ProviderPayment, record?: (db: Db, result: ConfirmPaidResult) => Promise<void>): Promise<ConfirmPaidResult>;
  /** Pending provider-mode orders whose hold ended before `now` (at most `limit`), oldest first. */
  overdue(now: Date, limit?: number): Promise<{ site: string; orderId: string }[]>;
  /** Give the order's places back if it is still unpaid (pending → expired). True when it expired now. */
  expire(site: string, orderId: string): Promise<boolean>;
  /** Provider-mode refunds committed but not yet accepted by the provider (also those whose `refund` event was lost in a crash). */
  refundsOwed(limit?: number): Promise<OwedRefund[]>;
  /** The provider's word on a refund: the order shows it (processing → succeeded, or failed). Never moves back. */
  refundUpdate(site: string, orderId: string, outRefundNo: string, state: Exclude<RefundState, 'requested'>): Promise<void>;
}

/**
 * Closing an order's open provider payments before the order is cancelled (implemented by
 * payments): each open attempt closed (QR, in-app) or reversed (payment code) at its provider,
 * as the sweep does at the deadline. `closed`: none can take money any more; `paid`: the
 * provider says one was paid meanwhile, and the order took it (or its refund is recorded);
 * `unavailable`: a provider did not answer, or a payment code is being taken right now.
 */
export interface OrderPaymentClosing {
  closeAll(site: string, orderId: string): Promise<'closed' | 'paid' | 'unavailable'>;
}

/** A visitor's order on the site's booking channel: the channel API's order, the contact phone the session's. */
export interface BookingOrderInput {
  typeId: string;
  date: string;
  slotId?: string;
  entry?: 'early' | 'night';
  contactPhone: string;
  visitors: { name: string; idNumber: string }[];
  /** The visitor's language: the check-in SMS is sent in it. */
  lang: 'zh-CN' | 'en';
  /** A coupon the visitor typed: held by the order or refused with its reason (#19). */
  couponCode?: string;
  /** The page's separate marketing-consent box (#19); absent: not asked. */
  marketingConsent?: boolean;
}

/** An order as its visitor sees it on the booking page (offered by sales through BookingSales). */
export interface VisitorOrder {
  orderId: string;
  status: 'pending' | 'paid' | 'refunded' | 'expired';
  typeId: string;
  date: string;
  slotId: string | null;
  /** Early/night entry: the window the gates admit the tickets in. */
  entryWindow?: { from: string; to: string };
  persons: number;
  amountFen: number;
  createdAt: string;
  /** Pending: the end of the hold (pay before it, or the places go back). */
  deadline: Date | null;
  visitors: { name: string; idMasked: string }[];
  /** Paid orders only. */
  tickets: { ticketId: string; code: string; persons: number }[];
  refundState: RefundState | null;
  refundReason: string | null;
  /** What sales' refund and rebook would accept now (paid, no ticket used yet); a rebooking still needs a date and slot that sell. */
  canRefund: boolean;
  canRebook: boolean;
}

/**
 * Sales as the booking page needs them (implemented by sales): the booking channel's
 * availability, orders, refunds and rebookings, with the channel API's rules and refusals,
 * and a visitor's own orders found by the contact phone.
 */
export interface BookingSales {
  /** The channel's availability JSON, exactly as the channel API sends it (the same in-memory view). */
  availabilityJson(site: SalesSite, channel: Channel, date: string): Promise<{ status: number; text: string }>;
  /** A new order (201 with the channel API's OrderCreated), or its refusal; idempotent by `key`. */
  createOrder(site: SalesSite, channel: Channel, key: string, order: BookingOrderInput): Promise<Reply>;
  /** The channel's orders with this contact phone, newest first (at most `limit`). */
  visitorOrders(site: SalesSite, channel: Channel, phone: string, limit: number): Promise<VisitorOrder[]>;
  /** One order of the channel with this contact phone; undefined when there is none (another phone's order included). */
  visitorOrder(site: SalesSite, channel: Channel, phone: string, orderId: string): Promise<VisitorOrder | undefined>;
  refund(site: SalesSite, channel: Channel, key: string, orderId: string, reason: string): Promise<Reply>;
  rebook(site: SalesSite, channel: Channel, key: string, orderId: string, to: { date: string; slotId?: string }): Promise<Reply>;
  /** Cancel a pending order (its payments closed at the provider first, its places back at once); the channel API's cancel. */
  cancel(site: SalesSite, channel: Channel, key: string, orderId: string): Promise<Reply>;
}

/** Provider payments as the booking page needs them (implemented by payments). */
export interface BookingPayments {
  /** The providers configured for the site. */
  providers(site: string): ('wechat' | 'alipay')[];
  /** A payment of a pending order: 200 with the payments module's PaymentCreated, or its refusal. */
  create(site: SalesSite, channel: Channel, orderId: string, body: { provider: 'wechat' | 'alipay'; method: 'qr' | 'in_app'; openid?: string; returnUrl?: string }): Promise<Reply>;
  /** Ask the providers about the order's pending payments (a visitor waiting for the ticket); never throws. */
  refresh(site: SalesSite, channel: Channel, orderId: string): Promise<void>;
}

/* ---------- order extensions (#19: visitor data, coupons, combos) ---------- */

/** A visitor of an order being created: the normalised ID number exists only inside this call, never stored. */
export interface SaleVisitor {
  idx: number;
  idHash: string;
  idNumber: string;
}

/** An order about to be written (inside the sale's transaction). */
export interface OrderCreating {
  site: SalesSite;
  channel: Channel;
  orderId: string;
  typeId: string;
  date: string;
  persons: number;
  /** The price before any extension took something off. */
  amountFen: number;
  /** The park's own pricing discounts already in that price (early-bird, night, off-season): a coupon's stacking rule reads them. */
  priceDiscounts?: readonly { rule: string; percentOff: number }[];
  contactPhone: string;
  couponCode?: string;
  marketingConsent?: boolean;
  /** The park's local date today. */
  today: string;
  visitors: readonly SaleVisitor[];
}

export type OrderColumns = Partial<Pick<OrdersTable, 'phone_region' | 'coupon_code' | 'marketing_consent'>>;
export type VisitorColumns = Partial<Pick<OrderVisitorsTable, 'age_band' | 'gender' | 'region'>>;

/** What an extension adds to a new order: money off (a coupon), order columns, per-visitor columns by index. */
export interface OrderAdditions {
  discountFen?: number;
  order?: OrderColumns;
  visitors?: ReadonlyMap<number, VisitorColumns>;
}

/** An order after a change of state, inside the transaction that made it. */
export interface OrderFacts {
  site: SalesSite;
  order: OrdersTable;
}

/**
 * What a feature module does to orders, inside the sales transaction (implemented by the
 * visitors, marketing and partners modules; sales calls every extension in order, knowing
 * none of them). A CloudError thrown refuses the whole change with its reason.
 */
export interface OrderExtension {
  readonly name: string;
  /** Before the order row is written: refuse, take money off, add columns. */
  creating?(trx: Db, o: OrderCreating): Promise<OrderAdditions | undefined>;
  /** pending → paid (tickets issued in the same transaction). */
  paid?(trx: Db, f: OrderFacts): Promise<void>;
  /** Before a paid order is refunded: throw to refuse (a partner already redeemed its part). */
  refunding?(trx: Db, f: OrderFacts): Promise<void>;
  /** paid → refunded. */
  refunded?(trx: Db, f: OrderFacts): Promise<void>;
  /** pending → expired (hold ended or cancelled): what it held goes back. */
  released?(trx: Db, f: OrderFacts): Promise<void>;
  /** A paid order moved to another date or slot (`from` the old date). */
  rebooked?(trx: Db, f: OrderFacts & { from: string }): Promise<void>;
}

/* ---------- visitor data (#19): between visitors, pos, marketing, partners and insight ---------- */

/** The visit a POS checkout or a coupon belongs to. */
export interface VisitLink {
  idHash: string;
  orderId: string | null;
  visitDate: string;
  via: 'member' | 'ticket' | 'phone';
}

/** What the visitors module answers for the others (profiles keyed by the keyed ID hash). */
export interface VisitorDirectory {
  /** The visit a POS checkout names on `date`: by member code, ticket QR text or the phone number. Undefined: no such visit. */
  findVisit(site: string, by: { memberCode?: string; ticketCode?: string; phone?: string }, date: string): Promise<VisitLink | undefined>;
  /** Inside the caller's transaction: add secondary spending to the visitor's profile. */
  addSpend(db: Db, site: string, idHash: string, fen: number): Promise<void>;
  /** Compute the visitor's tags again from the site's rules (after a sale or a POS line). */
  retag(site: string, idHash: string): Promise<void>;
  /** Where a marketing message may go: consent given, not opted out, and a phone on a kept order; undefined otherwise. */
  reachable(site: string, idHash: string): Promise<{ phone: string; lang: string | null } | undefined>;
  /** Public path of the visitor's opt-out page, `/v1/visitor/{site}/opt-out?t=<token>` (token: HMAC over site+idHash with a key derived from the site's idHashKey). */
  optOutLink(site: string, idHash: string): string;
  /** Kilometres from the visitor's home region (ID region, else phone region) to the park; undefined when unknown or the park has no location. */
  homeDistanceKm(site: string, idHash: string): Promise<number | undefined>;
}

/** Coupons redeemed outside the order flow (the POS API), atomically: a coupon is used once. */
export interface CouponRedeemer {
  /** Inside the caller's transaction: redeem `code` for a POS sale; throws CloudError (coupon_*) with the reason. */
  redeemAtPos(db: Db, site: string, code: string, sale: { idHash: string | null; amountFen: number; category: string; source: string; ref: string; at: Date }): Promise<{ discountFen: number }>;
}

/** The product-insight part of a daily report (modules/insight for modules/reports, #19). */
export interface InsightDaySection {
  /** Staff-readable suggestions the site's insight rules make of the day. */
  suggestions: { metric: string; text: LocalText; note?: LocalText }[];
  /** POS spending / (ticket revenue of the day's visits + POS spending); null without either. */
  secondarySpend: { ticketFen: number; posFen: number; share: number | null };
  /** Repeat-visit rate of the day's admitted visitors; null under the small-cell threshold. */
  repeatRate: number | null;
  coupons: { ruleId: string; issued: number; redeemed: number; uptake: number | null }[];
}

/** What the reports module asks the insight module for. */
export interface InsightView {
  day(site: string, date: string): Promise<InsightDaySection | undefined>;
}
