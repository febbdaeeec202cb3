import { describe, expect, it } from 'vitest';
import { addDays, localClock } from '../../src/validation/index.js';

describe('localClock', () => {
  it.each<[string, string, string, number]>([
    ['Asia/Shanghai', '2026-11-25T15:59:59Z', '2026-11-25', 86_399],
    ['Asia/Shanghai', '2026-11-25T16:00:00Z', '2026-11-26', 0], // Shanghai midnight
    ['Asia/Shanghai', '2026-11-25T16:30:00Z', '2026-11-26', 1_800], // already the next day in the park
    ['Asia/Shanghai', '2026-11-25T16:00:00.999Z', '2026-11-26', 0], // milliseconds truncate
    ['Asia/Shanghai', '2026-11-25T01:00:00Z', '2026-11-25', 9 * 3600],
    ['UTC', '2026-11-25T16:30:00Z', '2026-11-25', 16.5 * 3600],
    ['UTC', '2026-11-25T00:00:00Z', '2026-11-25', 0],
    ['America/New_York', '2026-03-08T07:30:00Z', '2026-03-08', 3 * 3600 + 1800], // just after the DST gap
    ['Asia/Shanghai', '0999-06-01T00:00:00Z', '0999-06-01', (8 * 60 + 5) * 60 + 43], // slow path (3-digit year, LMT)
  ])('%s %s → %s +%is', (tz, instant, date, secondOfDay) => {
    expect(localClock(tz, Date.parse(instant))).toEqual({ date, secondOfDay });
  });

  it('gives the same answer on repeated calls (cached formatter)', () => {
    const ms = Date.parse('2026-11-25T09:00:00+08:00');
    for (let i = 0; i < 3; i++) expect(localClock('Asia/Shanghai', ms)).toEqual({ date: '2026-11-25', secondOfDay: 9 * 3600 });
  });

  it('rejects an unknown time zone', () => {
    expect(() => localClock('Mars/Olympus_Mons', 0)).toThrow(RangeError);
  });
});

describe('addDays', () => {
  it.each<[string, number, string]>([
    ['2026-11-25', 1, '2026-11-26'],
    ['2026-11-30', 1, '2026-12-01'],
    ['2026-12-31', 1, '2027-01-01'],
    ['2026-03-01', -1, '2026-02-28'],
    ['2028-02-28', 1, '2028-02-29'],
    ['2026-11-25', 0, '2026-11-25'],
    ['2026-11-25', -30, '2026-10-26'],
    ['0050-01-01', -1, '0049-12-31'],
  ])('%s %+i → %s', (date, n, want) => {
    expect(addDays(date, n)).toBe(want);
  });
});
