/*
 * The money of a sale as a fold of its journal, the invariants it must keep, and what the
 * coin hopper can pay. Pure: the machine, recovery and the tests use the same functions.
 */
import type { JournalEntry } from './events.js';
import { emptyMoney, type CoinStock, type Money } from './model.js';

/** The money after one more journal entry. Entries that move no money leave it as it was. */
export function applyEntry(m: Money, e: JournalEntry): Money {
  const n: Money = { ...m };
  switch (e.kind) {
    case 'order_placed':
      n.totalFen = e.totalFen;
      break;
    case 'note_accept':
      n.acceptingFen += e.valueFen;
      break;
    case 'note_stacked':
      n.acceptingFen -= Math.min(n.acceptingFen, e.valueFen);
      n.cashInFen += e.valueFen;
      break;
    case 'note_accept_undone':
      n.acceptingFen -= Math.min(n.acceptingFen, e.valueFen);
      break;
    case 'note_unconfirmed':
      n.acceptingFen -= Math.min(n.acceptingFen, e.valueFen);
      n.cashInFen += e.valueFen;
      break;
    case 'cash_paid':
      n.keptFen = e.totalFen;
      n.paidBy = 'cash';
      break;
    case 'payout_started':
      n.payoutFen = e.amountFen;
      n.payoutPurpose = e.purpose;
      break;
    case 'payout_done':
      if (n.payoutPurpose === 'change') n.changePaidFen += e.paidFen;
      else n.refundPaidFen += e.paidFen;
      n.payoutFen = 0;
      delete n.payoutPurpose;
      break;
    case 'owed':
      if (e.purpose === 'change') n.changeOwedFen += e.amountFen;
      else n.refundOwedFen += e.amountFen;
      break;
    case 'provider_paid':
      n.providerPaidFen += e.amountFen;
      n.paidBy = e.method;
      break;
    case 'provider_closed':
      if (e.outcome === 'refunded') {
        // A reversed code payment that was paid but never reported paid to us: count it in and back out.
        const net = n.providerPaidFen - n.providerRefundedFen - n.providerRefundOwedFen;
        if (net < e.amountFen) n.providerPaidFen += e.amountFen - net;
        n.providerRefundedFen += e.amountFen;
        if (n.paidBy === 'code' || n.paidBy === 'qr') delete n.paidBy;
      }
      break;
    case 'provider_refunded': {
      // Same as above: a refund of a payment we never heard was paid counts it in first.
      const net = n.providerPaidFen - n.providerRefundedFen - n.providerRefundOwedFen;
      if (net < e.amountFen) n.providerPaidFen += e.amountFen - net;
      if (e.ok) n.providerRefundedFen += e.amountFen;
      else n.providerRefundOwedFen += e.amountFen;
      if (n.paidBy === 'code' || n.paidBy === 'qr') delete n.paidBy;
      break;
    }
    case 'staff_cash':
      n.cashInFen += e.tenderedFen;
      n.keptFen = e.tenderedFen - e.changeFen;
      n.changePaidFen += e.changeFen;
      n.paidBy = 'staff_cash';
      break;
    case 'sale_voided':
      n.keptFen = 0;
      if (n.paidBy === 'cash' || n.paidBy === 'staff_cash') delete n.paidBy;
      break;
    case 'sale_recorded':
      n.recorded = true;
      break;
    case 'printed':
      n.printed = true;
      break;
    case 'sale_closed':
      n.closed = true;
      break;
    default:
      break;
  }
  return n;
}

export function foldJournal(entries: readonly JournalEntry[], from: Money = emptyMoney()): Money {
  return entries.reduce(applyEntry, from);
}

/** Cash taken in and not yet kept, given back or recorded as owed (a payout in flight counts here). */
export function cashPending(m: Money): number {
  return m.cashInFen - m.keptFen - m.changePaidFen - m.changeOwedFen - m.refundPaidFen - m.refundOwedFen;
}

/** Provider money kept: paid, less refunded and refunds recorded as still to do. */
export function providerKept(m: Money): number {
  return m.providerPaidFen - m.providerRefundedFen - m.providerRefundOwedFen;
}

/** The sale is paid (by any method) and the price is kept. */
export function isPaid(m: Money): boolean {
  if (m.paidBy === undefined) return false;
  return m.paidBy === 'code' || m.paidBy === 'qr' ? providerKept(m) === m.totalFen : m.keptFen === m.totalFen;
}

/**
 * What is wrong with a sale's money, empty when nothing: the invariants of docs/kiosk-sale.md.
 * `settled`: the sale is not waiting for a device or provider, so nothing may be pending.
 */
export function moneyProblems(m: Money, settled: boolean): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(m)) if (typeof v === 'number' && (v < 0 || !Number.isInteger(v))) out.push(`${k} is ${v}`);
  const pending = cashPending(m);
  if (pending < 0) out.push(`more cash left than came in (pending ${pending})`);
  if (m.payoutFen > Math.max(0, pending)) out.push(`a payout of ${m.payoutFen} exceeds the cash pending (${pending})`);
  if (m.keptFen !== 0 && m.keptFen !== m.totalFen) out.push(`cash kept ${m.keptFen} is neither 0 nor the price ${m.totalFen}`);
  const pk = providerKept(m);
  if (pk !== 0 && pk !== m.totalFen) out.push(`provider money kept ${pk} is neither 0 nor the price ${m.totalFen}`);
  if (m.keptFen > 0 && pk > 0) out.push('paid twice: cash and provider both kept');
  if (m.printed && !(m.recorded && isPaid(m))) out.push('printed without a paid, recorded sale');
  if (settled && (pending !== 0 || m.acceptingFen !== 0 || m.payoutFen !== 0)) {
    out.push(`settled with money in the air (pending ${pending}, accepting ${m.acceptingFen}, payout ${m.payoutFen})`);
  }
  return out;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
/** Largest amount the kiosk ever computes change for (¥10,000): bounds the table below. */
const MAX_PAYOUT_FEN = 1_000_000;

/**
 * The most the hopper can pay of `amountFen` exactly, with the coins it reports (bounded
 * coin change: each value at most its count). 0 when it cannot pay anything.
 */
export function maxPayable(amountFen: number, coins: readonly CoinStock[]): number {
  const live = coins.filter((c) => Number.isInteger(c.valueFen) && c.valueFen > 0 && Number.isInteger(c.count) && c.count > 0);
  if (live.length === 0 || !(amountFen > 0)) return 0;
  const unit = live.reduce((g, c) => gcd(g, c.valueFen), 0);
  const top = Math.floor(Math.min(amountFen, MAX_PAYOUT_FEN) / unit);
  const reach = new Uint8Array(top + 1);
  reach[0] = 1;
  for (const c of live) {
    const v = c.valueFen / unit;
    const used = new Int32Array(top + 1);
    for (let s = v; s <= top; s++) {
      if (!reach[s] && reach[s - v] && (used[s - v] as number) < c.count) {
        reach[s] = 1;
        used[s] = (used[s - v] as number) + 1;
      }
    }
  }
  for (let s = top; s > 0; s--) if (reach[s]) return s * unit;
  return 0;
}

export function canPayExactly(amountFen: number, coins: readonly CoinStock[]): boolean {
  return amountFen === 0 || maxPayable(amountFen, coins) === amountFen;
}
