import { describe, expect, it } from 'vitest';
import { suppressSmallCells } from '../src/core/small-cells.js';

describe('suppressSmallCells', () => {
  it('shows groups of at least k exactly and merges the small ones into other', () => {
    const r = suppressSmallCells([{ key: '18-29', count: 40 }, { key: '0-17', count: 6 }, { key: '30-44', count: 25 }, { key: '60+', count: 5 }], 10);
    expect(r.cells).toEqual([{ key: '18-29', count: 40 }, { key: '30-44', count: 25 }]);
    expect(r.other).toEqual({ groups: 2, count: 11 });
    expect(r.total).toBe(76);
  });

  it('never shows a lone small group through other + total: the smallest shown group joins it', () => {
    const r = suppressSmallCells([{ key: 'a', count: 50 }, { key: 'b', count: 12 }, { key: 'c', count: 3 }], 10);
    // other = c alone (3) would be exact, so b is merged as well.
    expect(r.cells).toEqual([{ key: 'a', count: 50 }]);
    expect(r.other).toEqual({ groups: 2, count: 15 });
    expect(r.total).toBe(65);
    for (const c of r.cells) expect(c.count).toBeGreaterThanOrEqual(10);
    expect(r.other?.count).toBeGreaterThanOrEqual(10);
  });

  it('hides everything when all visitors together are fewer than k', () => {
    const r = suppressSmallCells([{ key: 'a', count: 4 }, { key: 'b', count: 3 }], 10);
    expect(r).toEqual({ k: 10, cells: [], other: { groups: 2, count: null }, total: null });
  });

  it('drops empty groups and has no other cell when nothing is small', () => {
    const r = suppressSmallCells([{ key: 'a', count: 10 }, { key: 'b', count: 0 }, { key: 'c', count: 11 }], 10);
    expect(r).toEqual({ k: 10, cells: [{ key: 'a', count: 10 }, { key: 'c', count: 11 }], other: null, total: 21 });
    expect(suppressSmallCells([], 10)).toEqual({ k: 10, cells: [], other: null, total: 0 });
  });

  it('with k = 1 shows every group', () => {
    const r = suppressSmallCells([{ key: 'a', count: 1 }, { key: 'b', count: 2 }], 1);
    expect(r.cells).toHaveLength(2);
    expect(r.other).toBeNull();
  });

  it('refuses a bad k or a bad count with the reason', () => {
    expect(() => suppressSmallCells([], 0)).toThrow(/k must be/);
    expect(() => suppressSmallCells([{ key: 'x', count: -1 }], 5)).toThrow(/count of "x"/);
    expect(() => suppressSmallCells([{ key: 'x', count: 1.5 }], 5)).toThrow(/non-negative integer/);
  });

  it('for any input, every number it shows is ≥ k or null', () => {
    // Deterministic pseudo-random sweep (LCG) over many small tables.
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 500; i++) {
      const k = 1 + rnd(12);
      const cells = Array.from({ length: rnd(8) }, (_, j) => ({ key: `g${String(j)}`, count: rnd(30) }));
      const r = suppressSmallCells(cells, k);
      const sum = cells.reduce((s, c) => s + c.count, 0);
      for (const c of r.cells) expect(c.count).toBeGreaterThanOrEqual(k);
      if (r.other?.count != null) expect(r.other.count).toBeGreaterThanOrEqual(k);
      if (r.total !== null) {
        expect(r.total).toBe(sum);
        expect(r.cells.reduce((s, c) => s + c.count, 0) + (r.other?.count ?? 0)).toBe(sum);
      } else expect(sum).toBeLessThan(k);
    }
  });
});
