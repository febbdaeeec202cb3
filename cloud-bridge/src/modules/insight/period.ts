import { addDays } from '@stile/config';
import { isCalendarDate } from '../../core/http/schemas.js';
import type { Period } from './model.js';

/** Longest range a report covers (a season and then some). */
export const MAX_RANGE_DAYS = 400;

/** Days from `from` to `to`, both counted. */
export function daysIn(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1;
}

/** Monday of ISO week `week` of ISO year `year`. */
function isoWeekMonday(year: number, week: number): string {
  const jan4 = new Date(Date.UTC(year, 0, 4));
  const monday = Date.UTC(year, 0, 4 - ((jan4.getUTCDay() + 6) % 7) + (week - 1) * 7);
  return new Date(monday).toISOString().slice(0, 10);
}

/** ISO week label ("2027-W10") of a calendar date. */
export function isoWeek(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  const dow = (d.getUTCDay() + 6) % 7; // Monday 0
  const thursday = new Date(d.getTime() + (3 - dow) * 86_400_000);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000)) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

export type PeriodResult = { ok: true; period: Period } | { ok: false; code: 'invalid_request' | 'invalid_date'; message: string };

/** A report period from its label: YYYY-Www (ISO week), YYYY-MM (month) or YYYY-MM-DD (day). */
export function parsePeriod(label: string): PeriodResult {
  const week = /^(\d{4})-W(\d{2})$/.exec(label);
  if (week) {
    const year = Number(week[1]);
    const n = Number(week[2]);
    const from = n >= 1 ? isoWeekMonday(year, n) : '';
    if (n < 1 || isoWeek(from) !== label) return { ok: false, code: 'invalid_request', message: `${label}: ${year} has no ISO week ${n}` };
    return { ok: true, period: { label, kind: 'week', from, to: addDays(from, 6) } };
  }
  const month = /^(\d{4})-(\d{2})$/.exec(label);
  if (month) {
    const m = Number(month[2]);
    if (m < 1 || m > 12) return { ok: false, code: 'invalid_request', message: `${label}: month ${m} is not 01–12` };
    const from = `${label}-01`;
    const to = addDays(m === 12 ? `${Number(month[1]) + 1}-01-01` : `${month[1]}-${String(m + 1).padStart(2, '0')}-01`, -1);
    return { ok: true, period: { label, kind: 'month', from, to } };
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(label)) {
    if (!isCalendarDate(label)) return { ok: false, code: 'invalid_date', message: `${label} is not a calendar date` };
    return { ok: true, period: { label, kind: 'day', from: label, to: label } };
  }
  return { ok: false, code: 'invalid_request', message: `period "${label}": expected YYYY-Www (ISO week), YYYY-MM (month) or YYYY-MM-DD (day)` };
}

/** A period from two dates, both counted. */
export function rangePeriod(from: string, to: string): PeriodResult {
  for (const d of [from, to]) if (!isCalendarDate(d)) return { ok: false, code: 'invalid_date', message: `${d} is not a calendar date YYYY-MM-DD` };
  if (to < from) return { ok: false, code: 'invalid_request', message: `to ${to} is before from ${from}` };
  if (daysIn(from, to) > MAX_RANGE_DAYS) return { ok: false, code: 'invalid_request', message: `at most ${MAX_RANGE_DAYS} days in one report` };
  return { ok: true, period: { label: `${from}..${to}`, kind: 'range', from, to } };
}

/** The period of equal length just before (what the peak-hour shift compares with). */
export function previousPeriod(p: { from: string; to: string }): { from: string; to: string } {
  const n = daysIn(p.from, p.to);
  return { from: addDays(p.from, -n), to: addDays(p.from, -1) };
}
