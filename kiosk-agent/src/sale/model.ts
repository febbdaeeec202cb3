/*
 * The data the sale machine works on: what comes in from outside as plain data (the
 * catalogue, availability, a price quote, the machine's settings) and the state it keeps.
 * Structural types only: the kiosk does not import cloud-bridge, it receives these shapes
 * (cloud-bridge core/catalogue.ts and core/i18n.ts LocalText fit them).
 */
import type { TextKey } from './text.js';

import type { Lang, LocalText } from './lang.js';

export type { Lang, LocalText };

/** A ticket type the kiosk channel may sell. `persons`: people admitted on one ticket (a family package: 3). */
export interface KioskTicketType {
  id: string;
  name: LocalText;
  priceFen: number;
  persons: number;
}

export interface KioskSlot {
  id: string;
  start: string;
  end: string;
  name?: LocalText;
}

export interface KioskRealNameRules {
  /** Places one ID number may hold for one visit date, across sales and channels (checked again when the order is placed). */
  ticketsPerIdPerDay: number;
  /** Days ahead a visit date may be sold; today is day 0. */
  bookingHorizonDays: number;
}

export interface KioskCatalogue {
  types: KioskTicketType[];
  /** Empty: the park sells whole days, no slot is chosen. */
  slots: KioskSlot[];
  realName: KioskRealNameRules;
  refundReasons: { code: string; label: LocalText }[];
}

export type Level = 'green' | 'yellow' | 'orange' | 'red';

/**
 * What the kiosk may still sell for one date (the edge asks the cloud, or its signed copy of
 * today's quota when offline). `remaining` already includes the kiosk's reserve: at orange
 * online sales stop and the kiosk sells into `reserve`; at red nobody sells.
 */
export interface Availability {
  date: string;
  level: Level;
  remaining: number;
  reserve: number;
  slots: { slotId: string; remaining: number }[];
}

/** The catalogue's price for the current choice, computed at the edge (pricing rules live there). */
export interface Quote {
  typeId: string;
  date: string;
  slotId?: string;
  count: number;
  unitFen: number;
  baseFen: number;
  discounts: { rule: string; percentOff: number }[];
}

export type PayMethod = 'cash' | 'code' | 'qr' | 'staff_cash';
export type ProviderMethod = 'code' | 'qr';

export interface SaleConfig {
  /** 'window': the staffed ticket window — a staff member logged in, no idle timeout, cash by hand, refunds. */
  mode: 'kiosk' | 'window';
  /** Payment methods offered, in screen order. */
  methods: PayMethod[];
  /** Notes the bill validator may take, in fen. */
  notesFen: number[];
  /** Most persons in one sale. */
  maxPersons: number;
  /** No touch for this long: back to the start (kiosk mode only). */
  idleMs: number;
  /** The "take your ticket" screen, and the refusal screens. */
  doneMs: number;
  /** A payment code left pending this long is reversed (WeChat suggests ~30 s). */
  codeTimeoutMs: number;
  /** A QR code on screen this long unpaid is closed. */
  qrTimeoutMs: number;
  /** How often a pending payment is queried, a failed close retried, a failed record retried. */
  pollMs: number;
  /** A note told to stack, or a payout, that has not answered in this long is a device fault. */
  deviceTimeoutMs: number;
  /** Closes/reverses tried before the attempt is left to the cloud's sweep (recorded). */
  closeRetries: number;
  /** Recording the sale tried this often before the money goes back. */
  recordRetries: number;
  /** The owed-money screen stays this long unless staff resolve it first; the debt stays in the journal. */
  owedScreenMs: number;
}

export const DEFAULT_SALE_CONFIG: SaleConfig = {
  mode: 'kiosk',
  methods: ['cash', 'code', 'qr'],
  notesFen: [500, 1000, 2000, 5000, 10000],
  maxPersons: 10,
  idleMs: 60_000,
  doneMs: 10_000,
  codeTimeoutMs: 30_000,
  qrTimeoutMs: 120_000,
  pollMs: 3_000,
  deviceTimeoutMs: 10_000,
  closeRetries: 5,
  recordRetries: 3,
  owedScreenMs: 300_000,
};

export interface SaleContext {
  config: SaleConfig;
  catalogue: KioskCatalogue;
}

export type Phase =
  | 'idle'
  | 'choosing'
  | 'identifying'
  | 'quoting'
  | 'review'
  | 'placing'
  | 'cash'
  | 'staff_cash'
  | 'code_wait'
  | 'code_pending'
  | 'qr'
  | 'closing'
  | 'change'
  | 'refunding'
  | 'owed'
  | 'recording'
  | 'printing'
  | 'print_failed'
  | 'done'
  | 'staff_refund';

export const PHASES: readonly Phase[] = [
  'idle', 'choosing', 'identifying', 'quoting', 'review', 'placing', 'cash', 'staff_cash', 'code_wait', 'code_pending', 'qr',
  'closing', 'change', 'refunding', 'owed', 'recording', 'printing', 'print_failed', 'done', 'staff_refund',
];

export interface CoinStock {
  valueFen: number;
  count: number;
}

export type PrintFault = 'paper_out' | 'jam' | 'offline';

/** Device and network status: kept across sales. */
export interface Devices {
  coins: CoinStock[];
  printerReady: boolean;
  printerFault?: PrintFault;
  validatorReady: boolean;
  online: boolean;
}

export interface Visitor {
  name: string;
  idMasked: string;
  /** The full number, only until the order is placed (then deleted). Never logged or journaled. */
  idNumber?: string;
  source: 'card' | 'typed';
}

export interface HeldNote {
  valueFen: number;
  action: 'accept' | 'return';
  since: number;
}

/** Why a provider payment is being closed or reversed. */
export type CloseWhy = 'cancel' | 'timeout' | 'failed' | 'recovery' | 'mismatch';

export interface Attempt {
  id: string;
  method: ProviderMethod;
  startedAt: number;
  lastQueryAt: number;
  codeUrl?: string;
  closing?: CloseWhy;
  closeTries: number;
  lastCloseAt: number;
  /** The last close/reverse failed: retried after pollMs. */
  closeFailed?: boolean;
  /** A refund of this attempt asked for and not yet answered. */
  refundFen?: number;
}

/**
 * The money of one sale, folded from its journal entries (money.ts applyEntry): the state
 * never changes money any other way, so replaying the journal after a power cut rebuilds it.
 */
export interface Money {
  totalFen: number;
  /** Notes stacked (or counted in by staff). */
  cashInFen: number;
  /** Notes told to stack, not yet confirmed. */
  acceptingFen: number;
  /** Cash kept as the price: totalFen once paid in cash, else 0. */
  keptFen: number;
  changePaidFen: number;
  changeOwedFen: number;
  refundPaidFen: number;
  refundOwedFen: number;
  /** A payout asked of the hopper and not yet answered. */
  payoutFen: number;
  payoutPurpose?: 'change' | 'refund';
  providerPaidFen: number;
  providerRefundedFen: number;
  /** Provider refunds asked for that did not succeed yet: the cloud retries them (recorded). */
  providerRefundOwedFen: number;
  paidBy?: PayMethod;
  recorded: boolean;
  printed: boolean;
  closed: boolean;
}

export interface Sale {
  id: string;
  today: string;
  date: string;
  typeId?: string;
  slotId?: string;
  count: number;
  availability?: Availability;
  visitors: Visitor[];
  quote?: Quote;
  method?: PayMethod;
  /** A coupon code entered for this sale (normalised), sent with the order. */
  couponCode?: string;
  /** What the coupon took off, once the cloud's order says so. */
  discountFen?: number;
  orderId?: string;
  attempts: number;
  attempt?: Attempt;
  held?: HeldNote;
  money: Money;
  codes?: string[];
  printCopies: number;
  recordTries: number;
  lastTryAt: number;
  /** The last record_sale failed: retried after pollMs. */
  recordFailed?: boolean;
  /** Set once cancel (or an idle timeout) is accepted: no money is taken from then on. */
  ending?: 'cancelled' | 'timeout' | 'fault';
}

export interface Notice {
  key: TextKey;
  vars?: Record<string, string | number>;
}

export interface StaffRefund {
  orderId: string;
  reasonCode: string;
  amountFen?: number;
}

export interface SaleState {
  phase: Phase;
  /** When the phase was entered. */
  since: number;
  /** The last touch, card, note or scan: the idle timeout counts from it. */
  lastInputAt: number;
  dev: Devices;
  /** Window mode: the staff member logged in; every journal entry names them. */
  staff?: string;
  sale?: Sale;
  notice?: Notice;
  refund?: StaffRefund;
}

export function initialState(at = 0, dev: Partial<Devices> = {}): SaleState {
  return {
    phase: 'idle',
    since: at,
    lastInputAt: at,
    dev: { coins: [], printerReady: true, validatorReady: true, online: true, ...dev },
  };
}

export function emptyMoney(): Money {
  return {
    totalFen: 0,
    cashInFen: 0,
    acceptingFen: 0,
    keptFen: 0,
    changePaidFen: 0,
    changeOwedFen: 0,
    refundPaidFen: 0,
    refundOwedFen: 0,
    payoutFen: 0,
    providerPaidFen: 0,
    providerRefundedFen: 0,
    providerRefundOwedFen: 0,
    recorded: false,
    printed: false,
    closed: false,
  };
}
