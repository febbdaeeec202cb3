/*
 * After a power cut: the unfinished sale rebuilt from the journal, and the state and effects
 * to resume with. Money is never guessed in the machine's favour:
 * - a note told to stack and not confirmed, or a payout not confirmed, counts as the visitor's
 *   (owed, with a slip, for staff to check against the box and the hopper);
 * - cash not kept is owed back (no hopper payout after a restart: the visitor may be gone);
 * - a provider attempt without an outcome is closed/reversed; if it turns out paid, the ticket;
 * - a paid, recorded sale is printed again (a second copy of the same codes admits once);
 *   paid but not recorded is recorded again (record_sale is idempotent per sale id).
 */
import type { JournalEntry, SaleEffect } from './events.js';
import { owe } from './flow-cash.js';
import { startPrint, startRecording } from './flow-finish.js';
import { beginClose, refundProvider } from './flow-provider.js';
import { cashPending, foldJournal, isPaid, providerKept } from './money.js';
import { yuan } from './text.js';
import { emptyMoney, initialState, type Devices, type Sale, type SaleContext, type SaleState } from './model.js';
import { endSale, Tx } from './tx.js';

export interface Recovery {
  state: SaleState;
  effects: SaleEffect[];
  /** The sale that was resumed, if one was open. */
  saleId?: string;
  /** Other sales left open in the journal (should be none): for kioskctl to show. */
  alsoOpen: string[];
}

/** Sale ids with entries and no sale_closed, oldest first. */
export function openSales(entries: readonly JournalEntry[]): string[] {
  const seen: string[] = [];
  const closed = new Set<string>();
  for (const e of entries) {
    if (e.saleId === 'none' || e.saleId.startsWith('refund:')) continue;
    if (!seen.includes(e.saleId)) seen.push(e.saleId);
    if (e.kind === 'sale_closed') closed.add(e.saleId);
  }
  return seen.filter((id) => !closed.has(id));
}

function rebuild(entries: readonly JournalEntry[]): Sale {
  const first = entries[0] as JournalEntry;
  const sale: Sale = {
    id: first.saleId,
    today: first.kind === 'sale_started' ? first.date : '',
    date: first.kind === 'sale_started' ? first.date : '',
    count: 1,
    visitors: [],
    attempts: 0,
    money: foldJournal(entries, emptyMoney()),
    printCopies: 0,
    recordTries: 0,
    lastTryAt: first.at,
  };
  const ended = new Set<string>();
  const refunded = new Set<string>();
  for (const e of entries) {
    switch (e.kind) {
      case 'order_placed':
        Object.assign(sale, { orderId: e.orderId, method: e.method, typeId: e.typeId, date: e.date, count: e.count });
        if (e.slotId) sale.slotId = e.slotId;
        sale.visitors = e.visitors.map((v) => ({ name: v.name, idMasked: v.idMasked, source: 'card' as const }));
        break;
      case 'provider_started':
        sale.attempts += 1;
        sale.attempt = { id: e.attemptId, method: e.method, startedAt: e.at, lastQueryAt: e.at, closeTries: 0, lastCloseAt: 0 };
        break;
      case 'provider_paid':
      case 'provider_closed':
      case 'provider_unresolved':
        ended.add(e.attemptId);
        break;
      case 'provider_refund':
        if (sale.attempt?.id === e.attemptId) sale.attempt.refundFen = e.amountFen;
        else sale.attempt = { id: e.attemptId, method: 'qr', startedAt: e.at, lastQueryAt: e.at, closeTries: 0, lastCloseAt: 0, refundFen: e.amountFen };
        break;
      case 'provider_refunded':
        refunded.add(e.attemptId);
        ended.add(e.attemptId);
        break;
      case 'sale_recorded':
        sale.codes = [...e.codes];
        break;
      case 'printed':
      case 'print_failed':
        sale.printCopies = Math.max(sale.printCopies, e.copy);
        break;
      case 'sale_voided':
        sale.ending = 'fault';
        break;
      default:
        break;
    }
  }
  const a = sale.attempt;
  if (a && (refunded.has(a.id) || (ended.has(a.id) && a.refundFen === undefined))) delete sale.attempt;
  return sale;
}

/**
 * The state to resume in after a restart at `at`, from the whole journal (or its tail since
 * the last closed sale) and the devices as they report now.
 */
export function recover(entries: readonly JournalEntry[], at: number, ctx: SaleContext, dev: Partial<Devices> = {}): Recovery {
  const open = openSales(entries);
  const base = initialState(at, dev);
  const saleId = open[open.length - 1];
  if (saleId === undefined) return { state: base, effects: [], alsoOpen: [] };
  const alsoOpen = open.slice(0, -1);
  const sale = rebuild(entries.filter((e) => e.saleId === saleId));
  const tx = new Tx({ ...base, sale, phase: 'recording' }, { kind: 'tick', at }, ctx);
  const m = () => tx.sale.money;
  tx.log('recovered_after_restart');

  // Money in the air at the cut: the visitor's, until staff check.
  if (m().acceptingFen > 0) tx.journal({ kind: 'note_unconfirmed', valueFen: m().acceptingFen });
  if (m().payoutFen > 0) {
    const asked = m().payoutFen;
    const purpose = m().payoutPurpose ?? 'refund';
    tx.journal({ kind: 'payout_done', paidFen: 0 });
    owe(tx, asked, purpose);
  }
  const attempt = tx.sale.attempt;
  if (attempt?.refundFen !== undefined) {
    refundProvider(tx, attempt.refundFen, 'recovery');
  } else if (attempt) {
    tx.s.phase = 'closing';
    beginClose(tx, tx.sale.ending === 'fault' ? 'cancel' : 'recovery');
  } else if (isPaid(m()) && !tx.sale.ending) {
    const change = cashPending(m());
    if (change > 0) owe(tx, change, 'change');
    if (m().printed) {
      tx.journal({ kind: 'sale_closed', outcome: 'done' });
      delete tx.s.sale;
      tx.go('idle');
      tx.say('welcome');
    } else if (m().recorded) startPrint(tx);
    else startRecording(tx);
  } else if (providerKept(m()) > 0) {
    // Voided (or never recorded) with the provider's money still kept: give it back.
    tx.sale.ending ??= 'fault';
    refundProvider(tx, providerKept(m()), 'recovery');
  } else {
    const back = cashPending(m());
    if (back > 0) owe(tx, back, 'refund');
    if (m().refundOwedFen > 0 || m().changeOwedFen > 0) {
      tx.go('owed');
      tx.say('refund_owed', { amount: yuan(m().refundOwedFen + m().changeOwedFen) });
    } else {
      endSale(tx, 'fault', 'welcome');
    }
  }
  return { state: tx.s, effects: tx.fx, saleId, alsoOpen };
}
