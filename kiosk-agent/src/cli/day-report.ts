/**
 * The day's cash and sales from the journal, for `kioskctl cash`, `status` and `close-day`.
 * Pure: rows in, figures out, every amount in fen.
 *
 * Expected cash = notes stacked (kiosk) + cash taken by hand (window) − change paid (hopper
 * coins, window change) − refunds paid in cash (hopper coins, window refunds) − owed money
 * staff settled from the box. What the hopper pays comes out of its coin float, which a
 * refill tops up from outside the takings, so the float is reported but not counted.
 */
import { localDate } from '@stile/config';
import type { JournalEntry } from '../sale/events.js';
import type { AuditRow, CashRow } from '../store/journal.js';

export interface CashSummary {
  date: string;
  /** Notes the validator stacked, by value (ascending). */
  notesIn: { valueFen: number; count: number }[];
  notesInFen: number;
  /** Notes handed back from escrow (never in the box; for the audit). */
  notesReturnedFen: number;
  /** Staffed window: what visitors handed over, and the change given back by hand. */
  windowTenderedFen: number;
  windowChangeFen: number;
  coinsOutFen: number;
  changePaidFen: number;
  refundsPaidFen: number;
  /** Money the kiosk could not pay (slips), settled by staff from the box, and still open. */
  owedFen: number;
  owedSettledFen: number;
  owedOpenFen: number;
  unexpectedFen: number;
  refill: { coins: number; fen: number };
  /** The takings: what the box (and the window's till) should hold from today's sales. */
  expectedFen: number;
}

export interface SalesSummary {
  started: number;
  closed: Record<string, number>;
  recorded: number;
  tickets: number;
  printed: number;
  reprints: number;
  /** Recorded sales' totals by how they were paid. */
  byMethod: Record<string, { sales: number; fen: number }>;
  refunds: { ok: number; failed: number };
}

/** Rows whose time falls on `date` in the site's time zone. */
export function onDay<T>(rows: readonly T[], at: (r: T) => number, date: string, timeZone: string): T[] {
  return rows.filter((r) => localDate(at(r), timeZone) === date);
}

/** A window around `date` wide enough for any time zone; `onDay` narrows it to the day. */
export function dayWindow(date: string): { from: number; to: number } {
  const midnightUtc = Date.parse(`${date}T00:00:00Z`);
  return { from: midnightUtc - 15 * 3_600_000, to: midnightUtc + 39 * 3_600_000 };
}

export function cashSummary(date: string, cash: readonly CashRow[], entries: readonly JournalEntry[]): CashSummary {
  const notes = new Map<number, number>();
  let notesInFen = 0;
  let notesReturnedFen = 0;
  let coinsOutFen = 0;
  let owedFen = 0;
  let owedSettledFen = 0;
  let unexpectedFen = 0;
  let refundCashFen = 0;
  const refill = { coins: 0, fen: 0 };
  for (const r of cash) {
    switch (r.kind) {
      case 'note_in':
        notes.set(r.fen, (notes.get(r.fen) ?? 0) + 1);
        notesInFen += r.fen;
        break;
      case 'note_out':
        notesReturnedFen += r.fen;
        break;
      case 'coins_out':
        coinsOutFen += r.fen;
        break;
      case 'owed':
        owedFen += r.fen;
        break;
      case 'owed_settled':
        owedSettledFen += r.fen;
        break;
      case 'unexpected':
        unexpectedFen += r.fen;
        break;
      case 'refund_cash':
        refundCashFen += r.fen;
        break;
      case 'refill':
        refill.fen += r.fen;
        refill.coins += Number(/coins=(\d+)/.exec(r.detail ?? '')?.[1] ?? 0);
        break;
    }
  }
  // The hopper's coins are change or a refund as the payout that paid them said.
  let refundCoinsFen = 0;
  let windowTenderedFen = 0;
  let windowChangeFen = 0;
  const purpose = new Map<string, 'change' | 'refund'>();
  for (const e of entries) {
    if (e.kind === 'payout_started') purpose.set(e.saleId, e.purpose);
    else if (e.kind === 'payout_done' && purpose.get(e.saleId) === 'refund') refundCoinsFen += e.paidFen;
    else if (e.kind === 'staff_cash') {
      windowTenderedFen += e.tenderedFen;
      windowChangeFen += e.changeFen;
    }
  }
  refundCoinsFen = Math.min(refundCoinsFen, coinsOutFen);
  const changePaidFen = coinsOutFen - refundCoinsFen + windowChangeFen;
  const refundsPaidFen = refundCoinsFen + refundCashFen;
  return {
    date,
    notesIn: [...notes].sort((a, b) => a[0] - b[0]).map(([valueFen, count]) => ({ valueFen, count })),
    notesInFen,
    notesReturnedFen,
    windowTenderedFen,
    windowChangeFen,
    coinsOutFen,
    changePaidFen,
    refundsPaidFen,
    owedFen,
    owedSettledFen,
    owedOpenFen: Math.max(0, owedFen - owedSettledFen),
    unexpectedFen,
    refill,
    expectedFen: notesInFen + windowTenderedFen - changePaidFen - refundsPaidFen - owedSettledFen,
  };
}

export function salesSummary(entries: readonly JournalEntry[], audit: readonly AuditRow[]): SalesSummary {
  const out: SalesSummary = { started: 0, closed: {}, recorded: 0, tickets: 0, printed: 0, reprints: 0, byMethod: {}, refunds: { ok: 0, failed: 0 } };
  const orders = new Map<string, { method: string; totalFen: number }>();
  for (const e of entries) {
    switch (e.kind) {
      case 'sale_started':
        out.started++;
        break;
      case 'order_placed':
        orders.set(e.saleId, { method: e.method, totalFen: e.totalFen });
        break;
      case 'sale_recorded': {
        out.recorded++;
        out.tickets += e.codes.length;
        const o = orders.get(e.saleId);
        const m = (out.byMethod[o?.method ?? 'unknown'] ??= { sales: 0, fen: 0 });
        m.sales++;
        m.fen += o?.totalFen ?? 0;
        break;
      }
      case 'printed':
        out.printed++;
        break;
      case 'sale_closed':
        out.closed[e.outcome] = (out.closed[e.outcome] ?? 0) + 1;
        break;
      case 'staff_refund_result':
        if (e.ok) out.refunds.ok++;
        else out.refunds.failed++;
        break;
    }
  }
  out.reprints = audit.filter((a) => a.action === 'reprint' && a.detail.outcome === 'printed').length;
  return out;
}

/** ¥ with two decimals, to the fen: `¥80.00`, `-¥0.50`. */
export function money(fen: number): string {
  const a = Math.abs(Math.trunc(fen));
  return `${fen < 0 ? '-' : ''}¥${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')}`;
}

/** An amount the attendant typed: `¥1234.50`, `1234.5`, `1234`, `￥12`; at most two decimals, not negative. */
export function parseYuan(text: string): number | undefined {
  const m = /^\s*[¥￥]?\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}
