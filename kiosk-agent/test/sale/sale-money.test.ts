import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canPayExactly, maxPayable, moneyProblems } from '../../src/sale/money.js';
import { emptyMoney } from '../../src/sale/model.js';
import { SALE_TEXT, saleText, yuan, type TextKey } from '../../src/sale/text.js';

describe('what the hopper can pay', () => {
  it('pays exactly with bounded coins, or says how much it can', () => {
    const coins = [
      { valueFen: 100, count: 3 },
      { valueFen: 50, count: 1 },
    ];
    expect(maxPayable(350, coins)).toBe(350);
    expect(maxPayable(400, coins)).toBe(350);
    expect(maxPayable(20, coins)).toBe(0);
    expect(canPayExactly(250, coins)).toBe(true);
    expect(canPayExactly(60, coins)).toBe(false);
    expect(canPayExactly(0, [])).toBe(true);
    expect(maxPayable(500, [{ valueFen: 100, count: 0 }])).toBe(0);
    // Greedy would take the 50 and miss 60 = 3 × 20.
    expect(canPayExactly(60, [{ valueFen: 50, count: 1 }, { valueFen: 20, count: 3 }])).toBe(true);
  });

  it('never promises more than the amount or the coins it has (checked against brute force)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ valueFen: fc.constantFrom(10, 20, 50, 100, 500), count: fc.integer({ min: 0, max: 4 }) }), { maxLength: 3 }), fc.integer({ min: 0, max: 2000 }), (coins, amount) => {
        const sums = new Set<number>([0]);
        for (const c of coins) for (const s of [...sums]) for (let k = 1; k <= c.count; k++) sums.add(s + k * c.valueFen);
        const best = Math.max(...[...sums].filter((s) => s <= amount));
        expect(maxPayable(amount, coins)).toBe(best);
      }),
      { numRuns: 500 },
    );
  });
});

describe('money invariants', () => {
  it('names what is wrong', () => {
    expect(moneyProblems({ ...emptyMoney(), totalFen: 8000, cashInFen: 5000, keptFen: 8000 }, false)).toContain('more cash left than came in (pending -3000)');
    expect(moneyProblems({ ...emptyMoney(), totalFen: 8000, cashInFen: 5000 }, true)[0]).toMatch(/^settled with money in the air/);
    expect(moneyProblems({ ...emptyMoney(), totalFen: 8000, printed: true }, false)).toContain('printed without a paid, recorded sale');
    expect(moneyProblems({ ...emptyMoney(), totalFen: 8000, cashInFen: 8000, keptFen: 8000, paidBy: 'cash', recorded: true, printed: true }, true)).toEqual([]);
  });
});

describe('screen texts', () => {
  it('every key has a zh-CN and an English text with the same placeholders', () => {
    const keys = Object.keys(SALE_TEXT['zh-CN']) as TextKey[];
    expect(Object.keys(SALE_TEXT.en).sort()).toEqual([...keys].sort());
    const holes = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
    for (const k of keys) {
      expect(SALE_TEXT['zh-CN'][k].trim(), k).not.toBe('');
      expect(holes(SALE_TEXT.en[k]), k).toEqual(holes(SALE_TEXT['zh-CN'][k]));
    }
  });

  it('fills placeholders and shows money as yuan', () => {
    expect(yuan(8000)).toBe('¥80');
    expect(yuan(8050)).toBe('¥80.50');
    expect(yuan(5)).toBe('¥0.05');
    expect(saleText('en', 'insert_notes', { due: yuan(3550) })).toBe('Insert notes: ¥35.50 still to pay');
    expect(saleText('zh-CN', 'tap_id_card', { index: 2, total: 3 })).toBe('请将第 2 位游客（共 3 位）的身份证放在读卡区，或输入身份证号');
  });
});
