/**
 * Carries out the sale machine's effects, in order: a `journal` entry is committed (synchronously,
 * SQLite FULL) before the next effect starts, so money is on record before a device or the cloud
 * moves it. Device and cloud calls run in the background and come back as events through
 * `dispatch`; nothing here decides anything the reducer decides.
 */
import type { Logger } from 'pino';
import type { CashDevices, HeldNote } from '../devices/cctalk-cash.js';
import type { EscPosPrinter, PrintResult } from '../devices/printer.js';
import type { PrinterFault } from '../protocol/escpos-status.js';
import { encodeDocument } from '../protocol/escpos.js';
import type { SaleEffect, SaleEvent } from '../sale/events.js';
import type { KioskCatalogue, PrintFault, SaleState } from '../sale/model.js';
import type { KioskJournal } from '../store/journal.js';
import { CloudCallError, providerOfAuthCode, type KioskCloud, type ProviderId } from './cloud.js';
import { slipDocument, ticketDocuments, type PrintSetting } from './printouts.js';

/** An event without its time: the runtime stamps `at` when it goes into the machine. */
export type EdgeEvent = SaleEvent extends unknown ? DistributiveOmit<SaleEvent, 'at'> : never;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface ExecutorDeps {
  journal: KioskJournal;
  cloud: KioskCloud;
  cash: CashDevices | undefined;
  printer: EscPosPrinter;
  log: Logger;
  print: PrintSetting;
  qrProvider: ProviderId;
  refundReason: string;
  catalogue: () => KioskCatalogue;
  dispatch: (ev: EdgeEvent) => void;
  now: () => number;
}

const PRINT_FAULT: Partial<Record<PrinterFault, PrintFault>> = { paper_out: 'paper_out', cutter_jam: 'jam', paper_jam: 'jam' };

export function printFaultOf(faults: readonly PrinterFault[]): PrintFault {
  for (const f of faults) if (PRINT_FAULT[f]) return PRINT_FAULT[f];
  return 'offline';
}

export class EffectExecutor {
  /** The note in escrow, as the driver gave it (accept/return need it). */
  held: HeldNote | undefined;
  /** The cloud's persons per code, by sale: the printed ticket says how many it admits. */
  private readonly persons = new Map<string, number[]>();
  private readonly outTrade = new Map<string, string>();
  private readonly log: Logger;
  /** Calls still running (stop() waits for them). */
  private readonly running = new Set<Promise<unknown>>();
  printing = false;

  constructor(private readonly d: ExecutorDeps) {
    this.log = d.log.child({ module: 'executor' });
  }

  /** The effects of one step, in order; `state` is the machine's state after that step. */
  run(effects: readonly SaleEffect[], state: SaleState): void {
    for (const fx of effects) {
      try {
        this.one(fx, state);
      } catch (err) {
        // A journal write that fails stops everything after it: no device moves money unrecorded.
        this.log.fatal({ event: 'effect_failed', effect: fx.kind, err: (err as Error).message }, 'effect failed');
        throw err;
      }
    }
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private bg<T>(what: string, work: () => Promise<T>, then: (v: T) => void, failed: (err: Error) => void): void {
    const p = work().then(then, (err: Error) => {
      this.log.warn({ event: 'call_failed', effect: what, code: err instanceof CloudCallError ? err.code : undefined, err: err.message }, `${what} failed`);
      failed(err);
    });
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  private one(fx: SaleEffect, state: SaleState): void {
    const { d } = this;
    const sale = state.sale;
    switch (fx.kind) {
      case 'journal':
        d.journal.append(fx.entry);
        return;
      case 'log':
        this.log[fx.level]({ event: 'sale_log', reason: fx.reason, on: fx.event, phase: fx.phase }, fx.reason);
        return;
      case 'show':
        return;
      case 'alert_staff':
        this.log.warn({ event: 'alert_staff', reason: fx.reason, saleId: fx.saleId }, `staff alert: ${fx.reason}`);
        return;
      case 'request_availability':
        return this.bg('availability', () => d.cloud.availability(fx.date), (availability) => d.dispatch({ kind: 'availability', availability }), () => d.dispatch({ kind: 'availability_failed' }));
      case 'request_quote': {
        const { kind: _k, ...q } = fx;
        return this.bg('quote', () => d.cloud.quote(q), (quote) => d.dispatch({ kind: 'quote', quote }), () => d.dispatch({ kind: 'quote_failed' }));
      }
      case 'place_order':
        // The effect carries full ID numbers: only its sale id and counts are logged.
        this.log.info({ event: 'place_order', saleId: fx.saleId, method: fx.method, typeId: fx.typeId, date: fx.date, persons: fx.persons, totalFen: fx.totalFen }, 'placing order');
        return this.bg(
          'place_order',
          () => d.cloud.placeOrder({ saleId: fx.saleId, method: fx.method, typeId: fx.typeId, date: fx.date, ...(fx.slotId ? { slotId: fx.slotId } : {}), count: fx.count, totalFen: fx.totalFen, visitors: fx.visitors, ...(fx.couponCode ? { couponCode: fx.couponCode } : {}) }),
          (r) => {
            if (r.ok) return d.dispatch({ kind: 'order_placed', orderId: r.orderId, ...(r.amountFen !== undefined ? { amountFen: r.amountFen } : {}) });
            this.log.info({ event: 'order_refused', saleId: fx.saleId, code: r.code }, 'order refused');
            d.dispatch({ kind: 'order_refused', reason: r.reason, ...(r.visitor !== undefined ? { visitor: r.visitor } : {}), ...(r.reason === 'coupon' ? { code: r.code } : {}) });
          },
          // No answer: the machine's placing timeout decides; a retry later is the same order (idempotency key).
          () => undefined,
        );
      case 'cancel_order':
        // The cloud closes what could still take money and gives the places back now; with no answer the order waits for its deadline (the cloud's sweep).
        if (!d.cloud.cancelOrder) return this.log.info({ event: 'order_released', saleId: fx.saleId, orderId: fx.orderId }, 'unpaid order left to expire');
        return this.bg(
          'cancel_order',
          () => d.cloud.cancelOrder!(fx.orderId),
          (r) =>
            r.status === 'paid'
              ? this.log.error({ event: 'paid_after_sale', saleId: fx.saleId, orderId: fx.orderId, amountFen: r.amountFen }, 'staff alert: the order was paid after its sale ended; refund it at the window')
              : this.log.info({ event: 'order_released', saleId: fx.saleId, orderId: fx.orderId }, 'unpaid order cancelled; its places are for sale again'),
          () => undefined,
        );
      case 'validator':
        if (!d.cash) return;
        return this.bg('validator', () => (fx.enable ? d.cash!.enable(fx.notesFen ?? []) : d.cash!.disable()), () => undefined, () => (fx.enable ? d.dispatch({ kind: 'validator_status', ready: false }) : undefined));
      case 'accept_note': {
        const note = this.held;
        if (!d.cash || !note) return this.log.warn({ event: 'no_note_held', effect: fx.kind }, 'accept without a note in escrow');
        // Stacked, returned or jammed: the driver's events say so (the promise's outcome only logs).
        return this.bg('accept_note', () => d.cash!.accept(note), () => undefined, () => undefined);
      }
      case 'return_note': {
        const note = this.held;
        if (!d.cash || !note) return;
        return this.bg('return_note', () => d.cash!.returnNote(note), () => undefined, () => undefined);
      }
      case 'pay_out':
        return this.payOut(fx.amountFen, sale?.id ?? 'none');
      case 'pay_with_code': {
        const provider = providerOfAuthCode(fx.authCode);
        if (!provider || !sale?.orderId) {
          this.log.warn({ event: 'payment_code_unknown', digits: fx.authCode.length }, 'not a WeChat Pay or Alipay payment code');
          return d.dispatch({ kind: 'payment_update', attemptId: fx.attemptId, status: 'failed' });
        }
        d.journal.recordAttempt({ attemptId: fx.attemptId, saleId: sale.id, orderId: fx.orderId, provider, method: 'code' }, d.now());
        return this.bg(
          'pay_with_code',
          () => d.cloud.payWithCode({ orderId: fx.orderId, provider, authCode: fx.authCode }),
          (r) => {
            if (r.outTradeNo) this.outTrade.set(fx.attemptId, r.outTradeNo);
            d.dispatch({ kind: 'payment_update', attemptId: fx.attemptId, status: r.status, ...(r.amountFen !== undefined ? { amountFen: r.amountFen } : {}) });
          },
          // Refused outright (a bad code) is failed; no answer may still be a payment: queried as pending.
          (err) => d.dispatch({ kind: 'payment_update', attemptId: fx.attemptId, status: err instanceof CloudCallError && err.code === 'payment_refused' ? 'failed' : 'pending' }),
        );
      }
      case 'create_qr': {
        if (!sale) return;
        d.journal.recordAttempt({ attemptId: fx.attemptId, saleId: sale.id, orderId: fx.orderId, provider: d.qrProvider, method: 'qr' }, d.now());
        return this.bg(
          'create_qr',
          () => d.cloud.createQr({ orderId: fx.orderId, provider: d.qrProvider }),
          (r) => {
            if (!r.ok) return d.dispatch({ kind: 'qr_failed', attemptId: fx.attemptId });
            this.outTrade.set(fx.attemptId, r.outTradeNo);
            d.dispatch({ kind: 'qr_ready', attemptId: fx.attemptId, codeUrl: r.codeUrl });
          },
          () => d.dispatch({ kind: 'qr_failed', attemptId: fx.attemptId }),
        );
      }
      case 'query_payment': {
        const orderId = this.orderOf(fx.attemptId, state);
        if (!orderId) return;
        return this.bg(
          'query_payment',
          () => d.cloud.paymentState(orderId, this.outTrade.get(fx.attemptId)),
          (r) => d.dispatch({ kind: 'payment_update', attemptId: fx.attemptId, status: r.status, ...(r.amountFen !== undefined ? { amountFen: r.amountFen } : {}) }),
          () => undefined, // asked again after pollMs
        );
      }
      case 'close_payment': {
        const orderId = this.orderOf(fx.attemptId, state);
        if (!orderId) return d.dispatch({ kind: 'payment_close_failed', attemptId: fx.attemptId });
        // The sale ends after this close (the reducer's afterClosed): the cloud cancels the order — the trade
        // closed (QR) or reversed (code) at the provider, paid meanwhile answered as paid, places back at once.
        const closing = state.sale?.attempt?.closing;
        if (d.cloud.cancelOrder && (state.sale?.ending !== undefined || closing === 'cancel' || closing === 'recovery')) {
          return this.bg(
            'close_payment',
            () => d.cloud.cancelOrder!(orderId),
            (r) => d.dispatch({ kind: 'payment_closed', attemptId: fx.attemptId, outcome: r.status === 'paid' ? 'paid' : 'closed', ...(r.status === 'paid' && r.amountFen !== undefined ? { amountFen: r.amountFen } : {}) }),
            () => d.dispatch({ kind: 'payment_close_failed', attemptId: fx.attemptId }),
          );
        }
        // The visitor may try again on the same order: the kiosk asks where the trade stands; still pending is a
        // failed close (retried, then left to the cloud's sweep, which closes or reverses at the order's deadline).
        return this.bg(
          'close_payment',
          () => d.cloud.paymentState(orderId, this.outTrade.get(fx.attemptId)),
          (r) =>
            r.status === 'pending'
              ? d.dispatch({ kind: 'payment_close_failed', attemptId: fx.attemptId })
              : d.dispatch({ kind: 'payment_closed', attemptId: fx.attemptId, outcome: r.status === 'paid' ? 'paid' : 'closed', ...(r.amountFen !== undefined ? { amountFen: r.amountFen } : {}) }),
          () => d.dispatch({ kind: 'payment_close_failed', attemptId: fx.attemptId }),
        );
      }
      case 'refund_payment':
        return this.bg(
          'refund_payment',
          () => d.cloud.refundOrder({ orderId: fx.orderId, reason: d.refundReason, method: 'provider' }),
          (ok) => d.dispatch({ kind: 'refund_result', ok }),
          // An unpaid order holds no money: whatever the provider took for it the cloud refunds by itself.
          (err) => d.dispatch({ kind: 'refund_result', ok: err instanceof CloudCallError && err.code === 'not_paid' }),
        );
      case 'refund_order':
        return this.bg(
          'refund_order',
          () => d.cloud.refundOrder({ orderId: fx.orderId, reason: fx.reasonCode, method: 'provider', staff: fx.staff }),
          (ok) => d.dispatch({ kind: 'refund_result', ok }),
          () => d.dispatch({ kind: 'refund_result', ok: false }),
        );
      case 'record_sale':
        return this.bg(
          'record_sale',
          () => d.cloud.recordSale({ saleId: fx.saleId, orderId: fx.orderId, paidBy: fx.paidBy, amountFen: fx.amountFen }),
          (issued) => {
            this.persons.set(fx.saleId, issued.persons);
            d.dispatch({ kind: 'sale_recorded', codes: issued.codes });
          },
          () => d.dispatch({ kind: 'sale_record_failed' }),
        );
      case 'print_ticket':
        return this.printTicket(fx.ticket, state);
      case 'print_slip': {
        const doc = slipDocument({ saleId: fx.saleId, owedFen: fx.owedFen, purpose: fx.purpose, at: d.now() }, d.print);
        return this.bg('print_slip', () => d.printer.print(doc), (r) => this.log.info({ event: 'slip_printed', saleId: fx.saleId, outcome: r.outcome }, 'owed slip'), () => undefined);
      }
    }
  }

  private orderOf(attemptId: string, state: SaleState): string | undefined {
    return state.sale?.orderId ?? this.d.journal.attempt(attemptId)?.orderId;
  }

  private payOut(amountFen: number, saleId: string): void {
    const { d } = this;
    if (!d.cash) return d.dispatch({ kind: 'payout_done', paidFen: 0 });
    this.bg(
      'pay_out',
      () => d.cash!.payChange(amountFen),
      (r) => {
        const coinFen = d.cash!.hopper?.coinFen ?? 100;
        d.journal.cash(d.now(), saleId, 'coins_out', r.paidFen, r.fault);
        const left = Math.max(0, (d.journal.hopperCoins() ?? 0) - r.paidFen / coinFen);
        // A hopper that ran dry holds no more coins, whatever the count said.
        d.journal.setHopperCoins(r.fault === 'hopper_empty' ? 0 : left);
        d.dispatch({ kind: 'hopper_status', coins: [{ valueFen: coinFen, count: d.journal.hopperCoins() ?? 0 }] });
        d.dispatch({ kind: 'payout_done', paidFen: r.paidFen });
      },
      // Thrown only when nothing was paid.
      () => d.dispatch({ kind: 'payout_done', paidFen: 0 }),
    );
  }

  private printTicket(ticket: Extract<SaleEffect, { kind: 'print_ticket' }>['ticket'], state: SaleState): void {
    const { d } = this;
    const provider = ticket.paidBy === 'code' || ticket.paidBy === 'qr' ? d.journal.lastAttemptOf(ticket.saleId)?.provider : undefined;
    let bytes: Buffer;
    try {
      const persons = this.persons.get(ticket.saleId);
      const { docs, receiptSkipped } = ticketDocuments({ ticket, catalogue: d.catalogue(), ...(persons ? { persons } : {}), ...(state.sale ? { money: state.sale.money } : {}), ...(provider ? { provider } : {}), at: d.now() }, d.print);
      if (receiptSkipped) this.log.warn({ event: 'receipt_skipped', saleId: ticket.saleId, reason: receiptSkipped }, 'receipt not printed');
      bytes = Buffer.concat(docs.map((doc) => encodeDocument(doc)));
    } catch (err) {
      // A ticket that cannot be laid out must not print wrong: staff reprint it (kioskctl).
      this.log.error({ event: 'ticket_layout_failed', saleId: ticket.saleId, err: (err as Error).message }, 'ticket layout failed');
      return d.dispatch({ kind: 'print_result', ok: false, fault: 'offline' });
    }
    this.printing = true;
    this.bg(
      'print_ticket',
      () => d.printer.print(bytes),
      (r: PrintResult) => {
        this.printing = false;
        this.log.info({ event: 'ticket_printed', saleId: ticket.saleId, outcome: r.outcome, tickets: ticket.codes.length, copy: ticket.copy, ms: r.ms }, `ticket ${r.outcome}`);
        if (r.outcome === 'printed') d.dispatch({ kind: 'print_result', ok: true });
        else d.dispatch({ kind: 'print_result', ok: false, fault: printFaultOf(r.faults) });
      },
      () => {
        this.printing = false;
        d.dispatch({ kind: 'print_result', ok: false, fault: 'offline' });
      },
    );
  }
}
