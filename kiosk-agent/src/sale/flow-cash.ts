/*
 * Cash: notes held in escrow are accepted only when what they bring over the price can be
 * paid back in coins (otherwise returned, before the money is taken); change from the hopper;
 * cancel, idle timeout and faults give back what came in, and what the hopper cannot pay is a
 * recorded debt with a printed slip. Also the staffed window's cash taken by hand.
 */
import type { SaleEvent } from './events.js';
import { startRecording } from './flow-finish.js';
import { canPayExactly, cashPending, maxPayable } from './money.js';
import type { Sale } from './model.js';
import { yuan, type TextKey } from './text.js';
import { endSale, type Tx } from './tx.js';

const dueFen = (sale: Sale) => Math.max(0, sale.money.totalFen - sale.money.cashInFen - sale.money.acceptingFen);

export function startCash(tx: Tx): void {
  tx.go('cash');
  if (tx.sale.money.totalFen === 0) return settle(tx);
  tx.emit({ kind: 'validator', enable: true, notesFen: [...tx.cfg.notesFen] });
  tx.say('insert_notes', { due: yuan(dueFen(tx.sale)) });
}

function hold(tx: Tx, valueFen: number, action: 'accept' | 'return'): void {
  tx.sale.held = { valueFen, action, since: tx.at };
  if (action === 'accept') {
    tx.journal({ kind: 'note_accept', valueFen });
    tx.emit({ kind: 'accept_note' });
  } else {
    tx.emit({ kind: 'return_note' });
  }
}

export function onCash(tx: Tx, ev: SaleEvent): boolean {
  const sale = tx.sale;
  switch (ev.kind) {
    case 'note_held': {
      if (sale.held) {
        // One note in escrow at a time, so the last one has left escrow and its answer was lost.
        // A note told to stack counts as in (the visitor is never short); a returned one is gone.
        if (sale.held.action === 'accept') tx.journal({ kind: 'note_unconfirmed', valueFen: sale.held.valueFen });
        delete sale.held;
        tx.log('escrow_answer_lost');
        if (!sale.ending && sale.money.cashInFen >= sale.money.totalFen) {
          hold(tx, Math.max(0, Math.trunc(ev.valueFen) || 0), 'return');
          afterCashMove(tx);
          return true;
        }
      }
      const v = ev.valueFen;
      if (sale.ending || !Number.isInteger(v) || v <= 0) return hold(tx, Math.max(0, Math.trunc(v) || 0), 'return'), true;
      if (!tx.cfg.notesFen.includes(v)) return hold(tx, v, 'return'), tx.say('note_not_accepted'), true;
      const due = dueFen(sale);
      if (due === 0) return hold(tx, v, 'return'), true;
      if (v > due && !canPayExactly(v - due, tx.s.dev.coins)) {
        hold(tx, v, 'return');
        tx.say('no_change', { change: yuan(v - due) });
        return true;
      }
      hold(tx, v, 'accept');
      return true;
    }
    case 'note_stacked': {
      if (!Number.isInteger(ev.valueFen) || ev.valueFen <= 0) return tx.ignore('bad_note_value');
      const held = sale.held;
      delete sale.held;
      if (held?.action === 'accept' && held.valueFen !== ev.valueFen) tx.journal({ kind: 'note_accept_undone', valueFen: held.valueFen });
      if (held?.action !== 'accept') tx.log('stacked_without_accept');
      // Whatever the validator says it stacked is in the box: counted, so it is kept or given back.
      tx.journal({ kind: 'note_stacked', valueFen: ev.valueFen });
      afterCashMove(tx);
      return true;
    }
    case 'note_returned': {
      const held = sale.held;
      if (!held) return tx.ignore('no_note_held');
      // One note in escrow at a time: a return of another value is not about ours.
      if (held.valueFen !== ev.valueFen) return tx.ignore('returned_other_note');
      delete sale.held;
      if (held.action === 'accept') tx.journal({ kind: 'note_accept_undone', valueFen: held.valueFen });
      afterCashMove(tx);
      return true;
    }
    case 'note_rejected':
      tx.say('note_rejected');
      return true;
    case 'bill_fault':
      billFault(tx);
      return true;
    case 'cancel':
      beginCancel(tx, 'cancelled');
      return true;
    case 'tick':
      cashTick(tx);
      return true;
    default:
      return false;
  }
}

function billFault(tx: Tx): void {
  const sale = tx.sale;
  const held = sale.held;
  delete sale.held;
  // A note told to stack and never confirmed may be in the box: counted in, so it is given back.
  if (held?.action === 'accept') tx.journal({ kind: 'note_unconfirmed', valueFen: held.valueFen });
  tx.emit({ kind: 'validator', enable: false });
  tx.emit({ kind: 'alert_staff', reason: 'bill_jam', saleId: sale.id });
  tx.say('bill_jam');
  sale.ending = 'fault';
  refundCash(tx);
}

function cashTick(tx: Tx): void {
  const sale = tx.sale;
  const held = sale.held;
  if (held && tx.at - held.since >= tx.cfg.deviceTimeoutMs) {
    if (held.action === 'accept') return billFault(tx);
    delete sale.held;
    tx.log('note_return_unconfirmed');
    if (sale.ending) refundCash(tx);
    return;
  }
  if (!held && !sale.ending && tx.cfg.mode === 'kiosk' && tx.at - tx.s.lastInputAt >= tx.cfg.idleMs) beginCancel(tx, 'timeout');
}

/** Cancel or idle timeout while collecting: no more notes; a note in escrow is seen through first. */
export function beginCancel(tx: Tx, why: 'cancelled' | 'timeout'): void {
  const sale = tx.sale;
  sale.ending = why;
  tx.emit({ kind: 'validator', enable: false });
  tx.say(why === 'timeout' ? 'idle_timeout' : 'cancelled');
  if (!sale.held) refundCash(tx);
}

function afterCashMove(tx: Tx): void {
  const sale = tx.sale;
  if (sale.ending) {
    if (!sale.held) refundCash(tx);
    return;
  }
  if (sale.money.cashInFen >= sale.money.totalFen) return settle(tx);
  tx.say('insert_notes', { due: yuan(dueFen(sale)) });
}

/** Enough cash is in: the price is kept, the rest goes back as change. */
function settle(tx: Tx): void {
  const sale = tx.sale;
  tx.journal({ kind: 'cash_paid', totalFen: sale.money.totalFen });
  if (sale.money.totalFen > 0) tx.emit({ kind: 'validator', enable: false });
  const change = cashPending(sale.money);
  if (change <= 0) return startRecording(tx);
  tx.go('change');
  payOut(tx, change, 'change');
}

/** Ask the hopper for what it can pay of `amount`; the rest is owed at once. */
function payOut(tx: Tx, amount: number, purpose: 'change' | 'refund'): void {
  const payable = maxPayable(amount, tx.s.dev.coins);
  if (payable < amount) owe(tx, amount - payable, purpose);
  if (payable > 0) {
    tx.journal({ kind: 'payout_started', amountFen: payable, purpose });
    tx.emit({ kind: 'pay_out', amountFen: payable, purpose });
    tx.say(purpose === 'change' ? 'paying_change' : 'refunding_cash', purpose === 'change' ? { change: yuan(payable) } : { amount: yuan(amount) });
  } else {
    afterPayout(tx);
  }
}

export function owe(tx: Tx, amount: number, purpose: 'change' | 'refund'): void {
  const why: TextKey = purpose === 'change' ? 'change_owed' : 'refund_owed';
  tx.journal({ kind: 'owed', amountFen: amount, purpose, why });
  tx.emit({ kind: 'print_slip', saleId: tx.sale.id, owedFen: amount, purpose });
  tx.emit({ kind: 'alert_staff', reason: why, saleId: tx.sale.id });
}

/**
 * Give back every fen of cash not kept: by the hopper when it can, the rest recorded as owed.
 * The staffed window hands cash back by hand: recorded as owed for the staff member to settle.
 */
export function refundCash(tx: Tx): void {
  const sale = tx.sale;
  const pending = cashPending(sale.money) - sale.money.payoutFen;
  if (pending > 0) {
    tx.go('refunding');
    if (sale.money.paidBy === 'staff_cash' || tx.cfg.mode === 'window') owe(tx, pending, 'refund');
    else return payOut(tx, pending, 'refund');
  }
  afterPayout(tx);
}

/** A payout answered (or none needed): change goes on to the ticket, a refund ends the sale. */
function afterPayout(tx: Tx): void {
  const sale = tx.sale;
  if (sale.money.payoutFen > 0) return;
  if (tx.s.phase === 'change') {
    if (sale.money.changeOwedFen > 0) tx.say('change_owed', { amount: yuan(sale.money.changeOwedFen) });
    return startRecording(tx);
  }
  if (sale.money.refundOwedFen > 0) {
    tx.go('owed');
    tx.say('refund_owed', { amount: yuan(sale.money.refundOwedFen) });
    return;
  }
  const why = sale.ending ?? 'cancelled';
  endSale(tx, why, why === 'timeout' ? 'idle_timeout' : why === 'fault' ? 'staff_called' : 'cancelled');
}

/** The hopper's answer (phases change and refunding). */
export function onPayout(tx: Tx, ev: SaleEvent): boolean {
  const m = tx.sale.money;
  if (ev.kind === 'payout_done' || (ev.kind === 'tick' && m.payoutFen > 0 && tx.at - tx.s.since >= tx.cfg.deviceTimeoutMs)) {
    if (m.payoutFen === 0) return tx.ignore('no_payout_asked');
    const asked = m.payoutFen;
    const purpose = m.payoutPurpose ?? 'refund';
    // No answer: whether coins came out is unknown, so the visitor is owed it and staff check the hopper.
    const raw = ev.kind === 'payout_done' ? ev.paidFen : 0;
    const paid = Number.isInteger(raw) ? Math.max(0, Math.min(asked, raw)) : 0;
    tx.journal({ kind: 'payout_done', paidFen: paid });
    if (paid < asked) owe(tx, asked - paid, purpose);
    afterPayout(tx);
    return true;
  }
  if (ev.kind === 'tick') return true;
  if (ev.kind === 'cancel') return tx.say('cannot_cancel_paid'), true;
  return false;
}

export function onOwed(tx: Tx, ev: SaleEvent): boolean {
  const m = tx.sale.money;
  if (ev.kind === 'staff_resolve' && typeof ev.staffId === 'string' && ev.staffId) {
    tx.journal({ kind: 'owed_settled', amountFen: m.changeOwedFen + m.refundOwedFen }, { staff: ev.staffId });
    endSale(tx, 'owed', 'welcome');
    return true;
  }
  if (ev.kind === 'tick') {
    if (tx.at - tx.s.since >= tx.cfg.owedScreenMs) endSale(tx, 'owed', 'welcome');
    return true;
  }
  return false;
}

/** The staffed window: the staff member types what the visitor handed over; change by hand. */
export function onStaffCash(tx: Tx, ev: SaleEvent): boolean {
  const sale = tx.sale;
  if (ev.kind === 'cash_tendered') {
    const total = sale.money.totalFen;
    if (!Number.isInteger(ev.amountFen) || ev.amountFen < total || ev.amountFen > total + 10_000_000) return tx.say('not_enough_cash', { total: yuan(total) }), true;
    tx.journal({ kind: 'staff_cash', tenderedFen: ev.amountFen, changeFen: ev.amountFen - total });
    startRecording(tx);
    return true;
  }
  if (ev.kind === 'cancel') return endSale(tx, 'cancelled', 'cancelled'), true;
  if (ev.kind === 'tick') return true;
  return false;
}
