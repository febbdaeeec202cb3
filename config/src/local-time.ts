// Local date and time of day in an IANA time zone: the one implementation every package uses.
//
// The offsets come from the system's tz database (tzif.ts, /usr/share/zoneinfo) when the zone
// has a file there: Intl.DateTimeFormat would load ~5 MiB of ICU data into a small gate for
// this alone (docs/footprint.md). Without one (no tzdata package, a name spelled otherwise),
// Intl does it. Constructing an Intl.DateTimeFormat costs far more than formatting with one
// (it was most of an availability answer's time and of a gate decision's), so one formatter
// is kept per zone, and the offsets likewise.
import { civilFromDays, offsetAt, readZoneOffsets, type ZoneOffsets } from './tzif.js';

/** Wall-clock reading in a time zone: the local calendar date and the second within that day. */
export interface LocalClock {
  date: string; // YYYY-MM-DD
  secondOfDay: number; // 0..86399
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The cached "YYYY-MM-DD, HH:MM:SS" formatter for a zone; throws RangeError for an unknown zone. */
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    // hourCycle h23: with hour12:false some ICU versions print midnight as "24".
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** 0..9 from a char code, for parsing digits without allocating substrings. */
const d = (s: string, i: number): number => s.charCodeAt(i) - 48;

/** The zone's tz database offsets, read once; null when it has no usable file (Intl is used then). */
const zones = new Map<string, ZoneOffsets | null>();

function zoneFor(timeZone: string): ZoneOffsets | null {
  let z = zones.get(timeZone);
  if (z === undefined) {
    z = readZoneOffsets(timeZone) ?? null;
    zones.set(timeZone, z);
  }
  return z;
}

/**
 * Local date and second of day of the instant `nowMs` (epoch ms) in an IANA time zone.
 * The gate's hot path (every decision): a binary search in the zone's transitions, or one
 * cached formatter's format call, no allocation beyond the date string. Throws RangeError for
 * an unknown zone.
 */
export function localClock(timeZone: string, nowMs: number): LocalClock {
  const z = zoneFor(timeZone);
  if (z !== null) {
    const s = Math.floor(nowMs / 1000);
    const local = s + offsetAt(z, s);
    const days = Math.floor(local / 86400);
    const { y, m, d: day } = civilFromDays(days);
    return { date: `${String(y).padStart(4, '0')}-${pad2(m)}-${pad2(day)}`, secondOfDay: local - days * 86400 };
  }
  const f = formatterFor(timeZone);
  const s = f.format(nowMs);
  // Fast path: en-CA h23 gives "YYYY-MM-DD, HH:MM:SS".
  if (s.length === 20 && s.charCodeAt(10) === 44 /* , */ && s.charCodeAt(4) === 45 /* - */) {
    const secondOfDay = (d(s, 12) * 10 + d(s, 13)) * 3600 + (d(s, 15) * 10 + d(s, 16)) * 60 + d(s, 18) * 10 + d(s, 19);
    return { date: s.slice(0, 10), secondOfDay };
  }
  return fromParts(f.formatToParts(nowMs));
}

/** Slow path for anything the fixed layout does not cover (years outside 1000–9999, ICU differences). */
function fromParts(parts: Intl.DateTimeFormatPart[]): LocalClock {
  let year = 0;
  let month = 0;
  let day = 0;
  let secondOfDay = 0;
  for (const p of parts) {
    const v = Number(p.value);
    if (p.type === 'year') year = v;
    else if (p.type === 'month') month = v;
    else if (p.type === 'day') day = v;
    else if (p.type === 'hour') secondOfDay += (v % 24) * 3600;
    else if (p.type === 'minute') secondOfDay += v * 60;
    else if (p.type === 'second') secondOfDay += v;
  }
  return { date: `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}`, secondOfDay };
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

const ms = (at: Date | number): number => (typeof at === 'number' ? at : at.getTime());

/** The last answer per zone, by whole second: zone offsets are whole minutes, so a date never changes inside a second. */
const lastDate = new Map<string, { second: number; date: string }>();

/** The calendar date ("YYYY-MM-DD") at `at` (a Date or epoch ms) in an IANA time zone: what "today" means for the park. */
export function localDate(at: Date | number, timeZone: string): string {
  const t = ms(at);
  const second = Math.floor(t / 1000);
  const last = lastDate.get(timeZone);
  if (last?.second === second) return last.date;
  const date = localClock(timeZone, t).date;
  lastDate.set(timeZone, { second, date });
  return date;
}

/** The time of day ("HH:MM", 00–23) at `at` (a Date or epoch ms) in an IANA time zone. */
export function localTime(at: Date | number, timeZone: string): string {
  const s = localClock(timeZone, ms(at)).secondOfDay;
  return `${pad2(Math.floor(s / 3600))}:${pad2(Math.floor(s / 60) % 60)}`;
}

/** Local date (YYYY-MM-DD) and hour (0–23) of an ISO timestamp in a zone; null for an unparseable timestamp. */
export function localDateHour(iso: string, timeZone: string): { date: string; hour: number } | null {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return null;
  const l = localClock(timeZone, t);
  return { date: l.date, hour: Math.floor(l.secondOfDay / 3600) };
}

/** True when the system's tz database or this Node build knows the IANA zone (what it read is cached for later calls). */
export function isKnownTimeZone(timeZone: string): boolean {
  if (zoneFor(timeZone) !== null) return true;
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Calendar arithmetic on a YYYY-MM-DD date, `n` days later (negative: earlier); no time zone involved. */
export function addDays(date: string, n: number): string {
  const t = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999.
  t.setUTCFullYear(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10)) + n);
  return `${String(t.getUTCFullYear()).padStart(4, '0')}-${pad2(t.getUTCMonth() + 1)}-${pad2(t.getUTCDate())}`;
}

/**
 * UTC calendar days from the day before to the day after a local date: wide enough for any
 * UTC offset, so rows stored with any offset are found; callers then keep those whose
 * local date matches.
 */
export function daysAround(date: string): { from: string; to: string } {
  return { from: addDays(date, -1), to: addDays(date, 2) };
}
