import { describe, expect, it } from 'vitest';
import { addDays, daysAround, isKnownTimeZone, localClock, localDate, localDateHour, localTime } from '../src/index.js';

describe('localClock', () => {
  it.each<[string, string, string, number]>([
    ['Asia/Shanghai', '2026-11-25T15:59:59Z', '2026-11-25', 86_399],
    ['Asia/Shanghai', '2026-11-25T16:00:00Z', '2026-11-26', 0], // Shanghai midnight
    ['Asia/Shanghai', '2026-11-25T16:30:00Z', '2026-11-26', 1_800], // already the next day in the park
    ['Asia/Shanghai', '2026-11-25T16:00:00.999Z', '2026-11-26', 0], // milliseconds truncate
    ['Asia/Shanghai', '2026-11-25T01:00:00Z', '2026-11-25', 9 * 3600],
    ['UTC', '2026-11-25T16:30:00Z', '2026-11-25', 16.5 * 3600],
    ['UTC', '2026-11-25T00:00:00Z', '2026-11-25', 0],
    ['America/New_York', '2026-03-08T06:59:59Z', '2026-03-08', 3600 + 3599], // 01:59:59 EST, just before the gap
    ['America/New_York', '2026-03-08T07:00:00Z', '2026-03-08', 3 * 3600], // 03:00 EDT: 02:xx never happens
    ['America/New_York', '2026-03-08T07:30:00Z', '2026-03-08', 3 * 3600 + 1800], // just after the DST gap
    ['America/New_York', '2026-11-01T05:30:00Z', '2026-11-01', 3600 + 1800], // 01:30 EDT, first time
    ['America/New_York', '2026-11-01T06:30:00Z', '2026-11-01', 3600 + 1800], // 01:30 EST, the repeated hour
    ['America/New_York', '2026-11-01T04:59:59Z', '2026-11-01', 59 * 60 + 59], // local midnight is 04:00Z in EDT
    ['America/New_York', '2026-11-01T03:59:59Z', '2026-10-31', 86_399],
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
    expect(isKnownTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isKnownTimeZone('Asia/Shanghai')).toBe(true);
  });
});

describe('localDate and localTime', () => {
  it('the park day starts at local midnight (Asia/Shanghai, UTC+8, no DST)', () => {
    expect(localDate(new Date('2026-11-25T15:59:59.999Z'), 'Asia/Shanghai')).toBe('2026-11-25');
    expect(localDate(new Date('2026-11-25T16:00:00Z'), 'Asia/Shanghai')).toBe('2026-11-26');
    expect(localTime(new Date('2026-11-25T16:00:00Z'), 'Asia/Shanghai')).toBe('00:00');
    expect(localTime(new Date('2026-11-25T15:59:59Z'), 'Asia/Shanghai')).toBe('23:59');
  });

  it('takes a Date or epoch ms', () => {
    const ms = Date.parse('2026-07-01T12:34:56Z');
    expect(localDate(ms, 'Asia/Shanghai')).toBe(localDate(new Date(ms), 'Asia/Shanghai'));
    expect(localTime(ms, 'Asia/Shanghai')).toBe('20:34');
  });

  it('follows DST in America/New_York (spring forward, fall back)', () => {
    expect(localTime(Date.parse('2026-03-08T06:59:00Z'), 'America/New_York')).toBe('01:59');
    expect(localTime(Date.parse('2026-03-08T07:00:00Z'), 'America/New_York')).toBe('03:00');
    expect(localTime(Date.parse('2026-11-01T05:59:00Z'), 'America/New_York')).toBe('01:59');
    expect(localTime(Date.parse('2026-11-01T06:00:00Z'), 'America/New_York')).toBe('01:00');
    // Midnight moves with the offset: 05:00Z in winter, 04:00Z in summer.
    expect(localDate(Date.parse('2026-01-15T04:59:59Z'), 'America/New_York')).toBe('2026-01-14');
    expect(localDate(Date.parse('2026-01-15T05:00:00Z'), 'America/New_York')).toBe('2026-01-15');
    expect(localDate(Date.parse('2026-07-15T03:59:59Z'), 'America/New_York')).toBe('2026-07-14');
    expect(localDate(Date.parse('2026-07-15T04:00:00Z'), 'America/New_York')).toBe('2026-07-15');
  });

  it('keeps zones apart within the same second (per-zone memo)', () => {
    const ms = Date.parse('2026-11-25T20:00:00Z');
    expect(localDate(ms, 'Asia/Shanghai')).toBe('2026-11-26');
    expect(localDate(ms, 'America/New_York')).toBe('2026-11-25');
    expect(localDate(ms + 1, 'Asia/Shanghai')).toBe('2026-11-26');
  });

  it('rejects an unknown time zone', () => {
    expect(() => localDate(0, 'Mars/Olympus_Mons')).toThrow(RangeError);
    expect(() => localTime(0, 'Mars/Olympus_Mons')).toThrow(RangeError);
  });
});

describe('localDateHour', () => {
  it('maps ISO instants to the local calendar and hour', () => {
    expect(localDateHour('2024-04-30T16:00:00Z', 'Asia/Shanghai')).toEqual({ date: '2024-05-01', hour: 0 });
    expect(localDateHour('2024-04-30T15:59:59.999Z', 'Asia/Shanghai')).toEqual({ date: '2024-04-30', hour: 23 });
    expect(localDateHour('2024-05-01T08:00:00+08:00', 'Asia/Shanghai')).toEqual({ date: '2024-05-01', hour: 8 });
    expect(localDateHour('2026-03-08T07:00:00Z', 'America/New_York')).toEqual({ date: '2026-03-08', hour: 3 });
    expect(localDateHour('2026-11-01T06:00:00Z', 'America/New_York')).toEqual({ date: '2026-11-01', hour: 1 });
  });

  it('is null for an unparseable timestamp', () => {
    expect(localDateHour('not a time', 'Asia/Shanghai')).toBeNull();
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
    ['2026-03-07', 1, '2026-03-08'], // a DST day is still one calendar day
    ['0050-01-01', -1, '0049-12-31'],
  ])('%s %+i → %s', (date, n, want) => {
    expect(addDays(date, n)).toBe(want);
  });
});

describe('daysAround', () => {
  it('spans the day before to the day after the next, across month and year ends', () => {
    expect(daysAround('2026-11-25')).toEqual({ from: '2026-11-24', to: '2026-11-27' });
    expect(daysAround('2026-01-01')).toEqual({ from: '2025-12-31', to: '2026-01-03' });
    expect(daysAround('2028-02-28')).toEqual({ from: '2028-02-27', to: '2028-03-01' });
  });
});
