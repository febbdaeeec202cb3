import { z } from 'zod';
import { isKnownTimeZone } from './local-time.js';

/** "HH:MM", 00:00–24:00 (24:00 allowed as an end of day). */
export const hhmm = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'expected a time of day "HH:MM" (24-hour)');

/** "YYYY-MM-DD" calendar date (a real date, not just digits). */
export const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date "YYYY-MM-DD"')
  .refine((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
  }, 'not a real calendar date');

/** Minutes since midnight for "HH:MM". */
export function minutesOfDay(hm: string): number {
  return Number(hm.slice(0, 2)) * 60 + Number(hm.slice(3, 5));
}

/** IANA time zone name that the system's tz database or this Node build knows (local-time.ts). */
export const timeZone = z.string().refine(isKnownTimeZone, 'unknown IANA time zone (e.g. "Asia/Shanghai")');
