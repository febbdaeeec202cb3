/*
 * Events: what happened, as the I/O edge saw it. Every event carries `at` (ms since the
 * epoch): the machine has no clock of its own. Effects: what the edge must do. Journal
 * entries: the durable record the edge persists before it carries out the effects that
 * follow them in the same step (money first, then the device).
 */
import type { Availability, CoinStock, Notice, PayMethod, Phase, PrintFault, ProviderMethod, Quote } from './model.js';
import type { TextKey } from './text.js';

type At = { at: number };

export type SaleEvent = At &
  (
    | { kind: 'start'; saleId: string; today: string }
    | { kind: 'choose_type'; typeId: string }
    | { kind: 'choose_date'; date: string }
    | { kind: 'choose_slot'; slotId: string }
    | { kind: 'set_count'; count: number }
    | { kind: 'confirm' }
    | { kind: 'back' }
    | { kind: 'cancel' }
    | { kind: 'availability'; availability: Availability }
    | { kind: 'availability_failed' }
    | { kind: 'id_card_read'; name: string; idNumber: string }
    | { kind: 'id_typed'; name: string; idNumber: string }
    | { kind: 'id_card_removed' }
    | { kind: 'remove_visitor'; index: number }
    | { kind: 'quote'; quote: Quote }
    | { kind: 'quote_failed' }
    | { kind: 'choose_method'; method: PayMethod }
    /** amountFen: what the cloud charges when a coupon took money off (absent: the quoted total). */
    | { kind: 'order_placed'; orderId: string; amountFen?: number }
    /** coupon: the cloud refused the sale's coupon; `code` says why (coupon_used, coupon_expired…). */
    | { kind: 'order_refused'; reason: 'id_limit' | 'capacity' | 'invalid_id' | 'coupon' | 'other'; visitor?: number; code?: string }
    /** A coupon code typed on the sale screen or scanned (its QR holds the code); '' takes it off. */
    | { kind: 'coupon_entered'; code: string }
    | { kind: 'note_held'; valueFen: number }
    | { kind: 'note_stacked'; valueFen: number }
    | { kind: 'note_returned'; valueFen: number }
    | { kind: 'note_rejected' }
    | { kind: 'bill_fault'; fault: 'jam' | 'cashbox_full' | 'fraud' | 'offline' }
    | { kind: 'payout_done'; paidFen: number }
    | { kind: 'hopper_status'; coins: CoinStock[] }
    | { kind: 'printer_status'; ready: boolean; fault?: PrintFault }
    | { kind: 'validator_status'; ready: boolean }
    | { kind: 'network_status'; online: boolean }
    | { kind: 'payment_code_scanned'; authCode: string }
    | { kind: 'qr_ready'; attemptId: string; codeUrl: string }
    | { kind: 'qr_failed'; attemptId: string }
    | { kind: 'payment_update'; attemptId: string; status: 'paid' | 'pending' | 'failed'; amountFen?: number }
    | { kind: 'payment_closed'; attemptId: string; outcome: 'closed' | 'refunded' | 'paid'; amountFen?: number }
    | { kind: 'payment_close_failed'; attemptId: string }
    | { kind: 'refund_result'; ok: boolean }
    | { kind: 'sale_recorded'; codes: string[] }
    | { kind: 'sale_record_failed' }
    | { kind: 'print_result'; ok: true }
    | { kind: 'print_result'; ok: false; fault: PrintFault }
    | { kind: 'reprint' }
    | { kind: 'tick' }
    | { kind: 'staff_login'; staffId: string }
    | { kind: 'staff_logout' }
    | { kind: 'staff_resolve'; staffId: string }
    | { kind: 'staff_refund'; orderId: string; reasonCode: string; amountFen?: number }
    | { kind: 'cash_tendered'; amountFen: number }
  );

export type SaleEventKind = SaleEvent['kind'];

/** Events a person causes: they reset the idle timer. */
export const INPUT_EVENTS: ReadonlySet<SaleEventKind> = new Set<SaleEventKind>([
  'start', 'choose_type', 'choose_date', 'choose_slot', 'set_count', 'confirm', 'back', 'cancel', 'id_card_read', 'id_typed',
  'remove_visitor', 'choose_method', 'note_held', 'payment_code_scanned', 'reprint', 'cash_tendered', 'staff_refund', 'coupon_entered',
]);

type Sid = { saleId: string; at: number; staff?: string };

/** The durable record. Money entries are folded into Money by money.ts applyEntry; recover.ts replays them. */
export type JournalEntry =
  | (Sid & { kind: 'sale_started'; date: string })
  | (Sid & {
      kind: 'order_placed';
      orderId: string;
      method: PayMethod;
      typeId: string;
      date: string;
      slotId?: string;
      count: number;
      persons: number;
      totalFen: number;
      /** Masked: the journal never holds a full ID number. */
      visitors: { name: string; idMasked: string }[];
    })
  | (Sid & { kind: 'note_accept'; valueFen: number })
  | (Sid & { kind: 'note_stacked'; valueFen: number })
  | (Sid & { kind: 'note_accept_undone'; valueFen: number })
  /** A note told to stack that never answered (jam, timeout, power cut): counted as in, so it is given back. */
  | (Sid & { kind: 'note_unconfirmed'; valueFen: number })
  | (Sid & { kind: 'cash_paid'; totalFen: number })
  | (Sid & { kind: 'payout_started'; amountFen: number; purpose: 'change' | 'refund' })
  | (Sid & { kind: 'payout_done'; paidFen: number })
  | (Sid & { kind: 'owed'; amountFen: number; purpose: 'change' | 'refund'; why: TextKey })
  | (Sid & { kind: 'owed_settled'; amountFen: number })
  | (Sid & { kind: 'provider_started'; attemptId: string; method: ProviderMethod; amountFen: number })
  | (Sid & { kind: 'provider_paid'; attemptId: string; method: ProviderMethod; amountFen: number })
  | (Sid & { kind: 'provider_closing'; attemptId: string; why: string })
  | (Sid & { kind: 'provider_closed'; attemptId: string; outcome: 'closed' | 'refunded'; amountFen: number })
  | (Sid & { kind: 'provider_unresolved'; attemptId: string })
  | (Sid & { kind: 'provider_refund'; attemptId: string; amountFen: number; why: string })
  | (Sid & { kind: 'provider_refunded'; attemptId: string; amountFen: number; ok: boolean })
  | (Sid & { kind: 'staff_cash'; tenderedFen: number; changeFen: number })
  /** The sale could not be recorded: the price is no longer kept and goes back. */
  | (Sid & { kind: 'sale_voided' })
  | (Sid & { kind: 'sale_recorded'; codes: string[] })
  | (Sid & { kind: 'printed'; copy: number })
  | (Sid & { kind: 'print_failed'; fault: PrintFault; copy: number })
  | (Sid & { kind: 'print_abandoned' })
  | (Sid & { kind: 'sale_closed'; outcome: 'done' | 'cancelled' | 'timeout' | 'fault' | 'owed' })
  /** A note stacked with no sale collecting (a device out of protocol): a recorded credit for staff. */
  | (Sid & { kind: 'cash_unexpected'; valueFen: number })
  | (Sid & { kind: 'staff_refund'; orderId: string; reasonCode: string; amountFen?: number })
  | (Sid & { kind: 'staff_refund_result'; orderId: string; ok: boolean });

export type JournalKind = JournalEntry['kind'];

export interface TicketPrint {
  saleId: string;
  orderId: string;
  codes: string[];
  typeId: string;
  date: string;
  slotId?: string;
  persons: number;
  totalFen: number;
  paidBy: PayMethod;
  changeOwedFen: number;
  copy: number;
}

export type SaleEffect =
  | { kind: 'journal'; entry: JournalEntry }
  | { kind: 'log'; level: 'info' | 'warn'; reason: string; event?: SaleEventKind; phase?: Phase }
  | { kind: 'show'; notice: Notice }
  | { kind: 'request_availability'; date: string }
  | { kind: 'request_quote'; typeId: string; date: string; slotId?: string; count: number }
  | {
      kind: 'place_order';
      saleId: string;
      method: PayMethod;
      typeId: string;
      date: string;
      slotId?: string;
      count: number;
      persons: number;
      unitFen: number;
      totalFen: number;
      /** Full ID numbers, for the edge to hash and check; never to be logged. */
      visitors: { name: string; idNumber: string }[];
      /** A coupon the visitor entered: the cloud takes it off or refuses the order with the reason. */
      couponCode?: string;
    }
  | { kind: 'cancel_order'; saleId: string; orderId: string }
  | { kind: 'validator'; enable: boolean; notesFen?: number[] }
  | { kind: 'accept_note' }
  | { kind: 'return_note' }
  | { kind: 'pay_out'; amountFen: number; purpose: 'change' | 'refund' }
  | { kind: 'pay_with_code'; attemptId: string; orderId: string; amountFen: number; authCode: string }
  | { kind: 'create_qr'; attemptId: string; orderId: string; amountFen: number }
  | { kind: 'query_payment'; attemptId: string }
  /** Code payments are reversed (refunded if paid), QR payments closed. */
  | { kind: 'close_payment'; attemptId: string; method: ProviderMethod }
  | { kind: 'refund_payment'; attemptId: string; orderId: string; amountFen: number; reason: string }
  | { kind: 'record_sale'; saleId: string; orderId: string; paidBy: PayMethod; amountFen: number }
  | { kind: 'print_ticket'; ticket: TicketPrint }
  | { kind: 'print_slip'; saleId: string; owedFen: number; purpose: 'change' | 'refund' }
  | { kind: 'alert_staff'; reason: TextKey; saleId?: string }
  | { kind: 'refund_order'; orderId: string; reasonCode: string; amountFen?: number; staff: string };

export type SaleEffectKind = SaleEffect['kind'];
