/** The day's cash figures from journal rows, to the fen; the attendant's typed amounts. */
import { describe, expect, it } from 'vitest';
import { cashSummary, money, parseYuan } from '../../src/cli/day-report.js';
import type { JournalEntry } from '../../src/sale/events.js';
import type { CashRow } from '../../src/store/journal.js';

let seq = 0;
const row = (kind: CashRow['kind'], fen: number, saleId = 's1', detail: string | null = null): CashRow => ({ seq: ++seq, at: 1, saleId, kind, fen, detail });

describe('cashSummary', () => {
  it('expected = notes in + window cash − change − cash refunds − owed settled; the hopper float is not takings', () => {
    const cash = [row('note_in', 10000), row('coins_out', 2000), row('note_in', 5000, 's2'), row('coins_out', 5000, 's2'), row('note_out', 2000, 's3'), row('owed', 300, 's4'), row('owed_settled', 300, 's4'), row('refill', 5000, 'none', 'coins=50'), row('refund_cash', 8000, 's5')];
    const entries = [
      { kind: 'payout_started', saleId: 's1', at: 1, amountFen: 2000, purpose: 'change' },
      { kind: 'payout_done', saleId: 's1', at: 1, paidFen: 2000 },
      { kind: 'payout_started', saleId: 's2', at: 1, amountFen: 5000, purpose: 'refund' },
      { kind: 'payout_done', saleId: 's2', at: 1, paidFen: 5000 },
      { kind: 'staff_cash', saleId: 's5', at: 1, tenderedFen: 10050, changeFen: 2050 },
    ] as JournalEntry[];
    const c = cashSummary('2026-12-01', cash, entries);
    expect(c.notesIn).toEqual([{ valueFen: 5000, count: 1 }, { valueFen: 10000, count: 1 }]);
    expect(c).toMatchObject({ notesInFen: 15000, notesReturnedFen: 2000, coinsOutFen: 7000, changePaidFen: 2000 + 2050, refundsPaidFen: 5000 + 8000, owedOpenFen: 0, refill: { coins: 50, fen: 5000 } });
    expect(c.expectedFen).toBe(15000 + 10050 - 4050 - 13000 - 300);
  });
});

describe('amounts', () => {
  it('parses yuan to the fen and refuses the rest', () => {
    expect(parseYuan('¥159.50')).toBe(15950);
    expect(parseYuan('159.5')).toBe(15950);
    expect(parseYuan('￥12')).toBe(1200);
    expect(parseYuan('0.07')).toBe(7);
    for (const bad of ['', 'lots', '-1', '1.234', '1,000']) expect(parseYuan(bad)).toBeUndefined();
    expect(money(-50)).toBe('-¥0.50');
    expect(money(16000)).toBe('¥160.00');
  });
});
