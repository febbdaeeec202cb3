/*
 * After the money: record the sale (ticket codes from the cloud, or ST2 codes signed by the
 * kiosk offline) → print → done. A ticket is printed only for a paid, recorded sale; a print
 * that fails leaves a paid ticket to reprint (the screen holds until the printer is back or
 * staff step in; kioskctl reprint finds it in the journal). A sale that cannot be recorded
 * gives the money back. Also the staffed window's refunds.
 */
import type { SaleEvent } from './events.js';
import { refundCash } from './flow-cash.js';
import { refundProvider } from './flow-provider.js';
import { isPaid } from './money.js';
import type { PrintFault } from './model.js';
import type { TextKey } from './text.js';
import { personsOf, type Tx } from './tx.js';

const CODE_MAX = 512;

export function startRecording(tx: Tx): void {
  const sale = tx.sale;
  const m = sale.money;
  if (!isPaid(m) || !m.paidBy || !sale.orderId) {
    // Not reachable through the flows; kept so that a wrong call can never print an unpaid ticket.
    tx.ignore('record_unpaid');
    return;
  }
  tx.go('recording');
  sale.recordTries = 1;
  sale.lastTryAt = tx.at;
  delete sale.recordFailed;
  if (m.changeOwedFen === 0) tx.say('recording');
  tx.emit({ kind: 'record_sale', saleId: sale.id, orderId: sale.orderId, paidBy: m.paidBy, amountFen: m.totalFen });
}

export function onRecording(tx: Tx, ev: SaleEvent): boolean {
  const sale = tx.sale;
  switch (ev.kind) {
    case 'sale_recorded': {
      const codes = Array.isArray(ev.codes) ? ev.codes.filter((c) => typeof c === 'string' && c.length > 0 && c.length <= CODE_MAX) : [];
      if (codes.length === 0 || codes.length !== ev.codes.length) return tx.ignore('bad_ticket_codes');
      sale.codes = [...codes];
      tx.journal({ kind: 'sale_recorded', codes: sale.codes });
      startPrint(tx);
      return true;
    }
    case 'sale_record_failed':
      sale.recordFailed = true;
      sale.lastTryAt = tx.at;
      if (sale.recordTries >= tx.cfg.recordRetries) voidSale(tx);
      return true;
    case 'tick': {
      const waited = tx.at - sale.lastTryAt;
      if (!(sale.recordFailed ? waited >= tx.cfg.pollMs : waited >= tx.cfg.deviceTimeoutMs)) return true;
      if (sale.recordTries >= tx.cfg.recordRetries) return voidSale(tx), true;
      sale.recordTries += 1;
      sale.lastTryAt = tx.at;
      delete sale.recordFailed;
      tx.emit({ kind: 'record_sale', saleId: sale.id, orderId: sale.orderId as string, paidBy: sale.money.paidBy ?? 'cash', amountFen: sale.money.totalFen });
      return true;
    }
    case 'cancel':
      tx.say('cannot_cancel_paid');
      return true;
    default:
      return false;
  }
}

/** The sale cannot be recorded: no ticket, so the money goes back. */
function voidSale(tx: Tx): void {
  const sale = tx.sale;
  const paidBy = sale.money.paidBy;
  sale.ending = 'fault';
  tx.journal({ kind: 'sale_voided' });
  tx.emit({ kind: 'alert_staff', reason: 'record_failed', saleId: sale.id });
  tx.say('record_failed');
  if (paidBy === 'code' || paidBy === 'qr') return refundProvider(tx, sale.money.totalFen, 'record_failed');
  refundCash(tx);
}

export function startPrint(tx: Tx): void {
  const sale = tx.sale;
  const m = sale.money;
  if (!(m.recorded && isPaid(m)) || !sale.codes) {
    tx.ignore('print_unrecorded');
    return;
  }
  sale.printCopies += 1;
  tx.go('printing');
  tx.say('printing');
  tx.emit({
    kind: 'print_ticket',
    ticket: {
      saleId: sale.id,
      orderId: sale.orderId as string,
      codes: [...sale.codes],
      typeId: sale.typeId as string,
      date: sale.date,
      ...(sale.slotId ? { slotId: sale.slotId } : {}),
      persons: personsOf(tx),
      totalFen: m.totalFen,
      paidBy: m.paidBy ?? 'cash',
      changeOwedFen: m.changeOwedFen,
      copy: sale.printCopies,
    },
  });
}

const FAULT_TEXT: Record<PrintFault, TextKey> = { paper_out: 'paper_out', jam: 'printer_jam', offline: 'printer_offline' };

function printFault(tx: Tx, fault: PrintFault): void {
  const sale = tx.sale;
  tx.s.dev.printerReady = false;
  tx.s.dev.printerFault = fault;
  tx.journal({ kind: 'print_failed', fault, copy: sale.printCopies });
  tx.emit({ kind: 'alert_staff', reason: FAULT_TEXT[fault], saleId: sale.id });
  tx.go('print_failed');
  tx.say(FAULT_TEXT[fault]);
}

export function onPrinting(tx: Tx, ev: SaleEvent): boolean {
  const sale = tx.sale;
  switch (ev.kind) {
    case 'print_result':
      if (ev.ok === true) {
        tx.journal({ kind: 'printed', copy: sale.printCopies });
        tx.journal({ kind: 'sale_closed', outcome: 'done' });
        tx.go('done');
        tx.say('take_ticket');
      } else {
        printFault(tx, FAULT_TEXT[ev.fault] ? ev.fault : 'offline');
      }
      return true;
    case 'tick':
      if (tx.at - tx.s.since >= tx.cfg.deviceTimeoutMs) printFault(tx, 'offline');
      return true;
    case 'cancel':
      tx.say('cannot_cancel_paid');
      return true;
    default:
      return false;
  }
}

export function onPrintFailed(tx: Tx, ev: SaleEvent): boolean {
  switch (ev.kind) {
    case 'reprint':
      if (!tx.s.dev.printerReady) return tx.say('staff_called'), true;
      startPrint(tx);
      return true;
    case 'staff_resolve':
      if (typeof ev.staffId !== 'string' || !ev.staffId) return tx.ignore('no_staff_id');
      // Paid and recorded: the codes stay in the journal for `kioskctl reprint`.
      tx.journal({ kind: 'print_abandoned' }, { staff: ev.staffId });
      tx.journal({ kind: 'sale_closed', outcome: 'fault' }, { staff: ev.staffId });
      delete tx.s.sale;
      tx.go('idle');
      tx.say('welcome');
      return true;
    case 'cancel':
      tx.say('staff_called');
      return true;
    case 'tick':
      return true;
    default:
      return false;
  }
}

export function onDone(tx: Tx, ev: SaleEvent): boolean {
  if (ev.kind === 'tick') {
    if (tx.at - tx.s.since >= tx.cfg.doneMs) {
      delete tx.s.sale;
      tx.go('idle');
      tx.say('welcome');
    }
    return true;
  }
  return false;
}

/** The staffed window: refund a visitor's order with a reason from the catalogue. */
export function startStaffRefund(tx: Tx, ev: Extract<SaleEvent, { kind: 'staff_refund' }>): void {
  const staff = tx.s.staff;
  if (tx.cfg.mode !== 'window' || !staff) return tx.say('staff_required');
  if (!tx.ctx.catalogue.refundReasons.some((r) => r.code === ev.reasonCode)) return tx.say('unknown_refund_reason');
  if (typeof ev.orderId !== 'string' || !ev.orderId) return void tx.ignore('bad_order_id');
  const amount = ev.amountFen !== undefined && Number.isInteger(ev.amountFen) && ev.amountFen > 0 ? ev.amountFen : undefined;
  tx.s.refund = { orderId: ev.orderId, reasonCode: ev.reasonCode, ...(amount !== undefined ? { amountFen: amount } : {}) };
  tx.journal({ kind: 'staff_refund', orderId: ev.orderId, reasonCode: ev.reasonCode, ...(amount !== undefined ? { amountFen: amount } : {}) }, { saleId: `refund:${ev.orderId}` });
  tx.emit({ kind: 'refund_order', orderId: ev.orderId, reasonCode: ev.reasonCode, ...(amount !== undefined ? { amountFen: amount } : {}), staff });
  tx.go('staff_refund');
  tx.say('refund_started');
}

export function onStaffRefund(tx: Tx, ev: SaleEvent): boolean {
  const refund = tx.s.refund;
  if (!refund) return false;
  if (ev.kind === 'refund_result' || ev.kind === 'cancel') {
    const ok = ev.kind === 'refund_result' && ev.ok === true;
    tx.journal({ kind: 'staff_refund_result', orderId: refund.orderId, ok }, { saleId: `refund:${refund.orderId}` });
    delete tx.s.refund;
    tx.go('idle');
    tx.say(ok ? 'refund_done' : 'refund_failed');
    return true;
  }
  return ev.kind === 'tick';
}
