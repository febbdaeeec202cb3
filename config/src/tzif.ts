// UTC offsets of an IANA time zone from the system's compiled tz database (TZif files,
// RFC 8536, /usr/share/zoneinfo from the tzdata package), so that a daemon can tell local
// time without ICU. Intl.DateTimeFormat pulls ~5 MiB of ICU's locale and calendar data into
// a gate's memory for what is, per zone, a table of transitions and one rule
// (docs/footprint.md). local-time.ts falls back to Intl when a zone has no readable file.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

/** The offsets of one zone: transitions (epoch seconds) and the offset from each on, then the footer rule. */
export interface ZoneOffsets {
  /** Ascending transition instants, epoch seconds. */
  readonly at: Float64Array;
  /** UTC offset in seconds from at[i] on (until at[i+1]). */
  readonly offset: Int32Array;
  /** Offset before the first transition (the file's first time type). */
  readonly before: number;
  /** After the last transition: the POSIX TZ rule of the footer, or null (then the last offset stays). */
  readonly rule: PosixRule | null;
}

/** A POSIX TZ string's rule ("CET-1CEST,M3.5.0,M10.5.0/3"), offsets east of UTC in seconds. */
export interface PosixRule {
  std: number;
  /** Absent: no daylight saving time. */
  dst?: { offset: number; start: DayRule; end: DayRule };
}

/** When a change happens: a day of the year and a local time (seconds, may be negative or past 24 h). */
export type DayRule = ({ kind: 'julian'; day: number } | { kind: 'zero-based'; day: number } | { kind: 'month'; month: number; week: number; weekday: number }) & { time: number };

/** Zone names as the tz database spells them; anything else never reaches the file system. */
const ZONE_NAME = /^[A-Z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/;
/** Real TZif files are a few KiB; a bigger file is not one. */
const MAX_BYTES = 256 * 1024;

/** The zone's offsets from `${TZDIR:-/usr/share/zoneinfo}/<zone>`, or undefined when there is no usable file. */
export function readZoneOffsets(zone: string, dir = process.env.TZDIR || '/usr/share/zoneinfo'): ZoneOffsets | undefined {
  if (!ZONE_NAME.test(zone)) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(join(dir, zone), 'r');
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_BYTES) return undefined;
    const buf = Buffer.alloc(st.size);
    if (readSync(fd, buf, 0, st.size, 0) !== st.size) return undefined;
    return parseTzif(buf);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Parse a TZif file (version 2 or later: the 64-bit block and the footer); undefined when it is not one we can use. */
export function parseTzif(buf: Buffer): ZoneOffsets | undefined {
  if (buf.length < 44 || buf.toString('latin1', 0, 4) !== 'TZif' || buf[4] === 0) return undefined;
  // Skip the version 1 block (32-bit times): its size follows from its own header.
  const v1 = header(buf, 0);
  const second = 44 + v1.timecnt * 5 + v1.typecnt * 6 + v1.charcnt + v1.leapcnt * 8 + v1.isstdcnt + v1.isutcnt;
  if (buf.length < second + 44 || buf.toString('latin1', second, second + 4) !== 'TZif') return undefined;
  const h = header(buf, second);
  // Leap-second ("right/") files count TAI-like seconds: not what Date.now() gives.
  if (h.leapcnt !== 0 || h.typecnt === 0) return undefined;
  let p = second + 44;
  const end = p + h.timecnt * 9 + h.typecnt * 6 + h.charcnt + h.isstdcnt + h.isutcnt;
  if (buf.length < end + 2) return undefined;
  const at = new Float64Array(h.timecnt);
  for (let i = 0; i < h.timecnt; i++, p += 8) at[i] = Number(buf.readBigInt64BE(p));
  const idx = buf.subarray(p, p + h.timecnt);
  p += h.timecnt;
  const utoff: number[] = [];
  for (let i = 0; i < h.typecnt; i++, p += 6) utoff.push(buf.readInt32BE(p));
  const offset = new Int32Array(h.timecnt);
  for (let i = 0; i < h.timecnt; i++) {
    const t = idx[i]!;
    if (t >= h.typecnt) return undefined;
    offset[i] = utoff[t]!;
  }
  for (let i = 1; i < h.timecnt; i++) if (!(at[i]! > at[i - 1]!)) return undefined;
  // Footer: "\n<POSIX TZ string>\n"; empty means "no rule: the last type stays".
  if (buf[end] !== 0x0a) return undefined;
  const close = buf.indexOf(0x0a, end + 1);
  if (close < 0) return undefined;
  const tz = buf.toString('latin1', end + 1, close);
  const rule = tz === '' ? null : parsePosixTz(tz);
  if (rule === undefined) return undefined;
  return { at, offset, before: utoff[0]!, rule };
}

function header(buf: Buffer, o: number) {
  return {
    isutcnt: buf.readUInt32BE(o + 20),
    isstdcnt: buf.readUInt32BE(o + 24),
    leapcnt: buf.readUInt32BE(o + 28),
    timecnt: buf.readUInt32BE(o + 32),
    typecnt: buf.readUInt32BE(o + 36),
    charcnt: buf.readUInt32BE(o + 40),
  };
}

/**
 * A POSIX TZ string with RFC 8536's extensions (rule times from -167 to 167 hours).
 * Undefined for anything else, including DST without explicit rules.
 */
export function parsePosixTz(tz: string): PosixRule | undefined {
  let i = 0;
  const name = (): boolean => {
    if (tz[i] === '<') {
      const close = tz.indexOf('>', i);
      if (close < 0) return false;
      i = close + 1;
      return true;
    }
    const from = i;
    while (i < tz.length && /[A-Za-z]/.test(tz[i]!)) i++;
    return i - from >= 3;
  };
  /** [+-]h[h][:mm[:ss]] in seconds, or undefined. */
  const hms = (maxHours: number): number | undefined => {
    let sign = 1;
    if (tz[i] === '+' || tz[i] === '-') sign = tz[i++] === '-' ? -1 : 1;
    const m = /^(\d{1,3})(?::(\d{2}))?(?::(\d{2}))?/.exec(tz.slice(i));
    if (!m || Number(m[1]) > maxHours) return undefined;
    i += m[0].length;
    return sign * (Number(m[1]) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0));
  };
  const day = (): DayRule | undefined => {
    let r: DayRule | undefined;
    let m: RegExpExecArray | null;
    const rest = tz.slice(i);
    if ((m = /^J(\d{1,3})/.exec(rest)) && Number(m[1]) >= 1 && Number(m[1]) <= 365) r = { kind: 'julian', day: Number(m[1]), time: 7200 };
    else if ((m = /^M(\d{1,2})\.(\d)\.(\d)/.exec(rest)) && Number(m[1]) >= 1 && Number(m[1]) <= 12 && Number(m[2]) >= 1 && Number(m[2]) <= 5 && Number(m[3]) <= 6) {
      r = { kind: 'month', month: Number(m[1]), week: Number(m[2]), weekday: Number(m[3]), time: 7200 };
    } else if ((m = /^(\d{1,3})/.exec(rest)) && Number(m[1]) <= 365) r = { kind: 'zero-based', day: Number(m[1]), time: 7200 };
    if (!r || !m) return undefined;
    i += m[0].length;
    if (tz[i] === '/') {
      i++;
      const t = hms(167);
      if (t === undefined) return undefined;
      r.time = t;
    }
    return r;
  };
  if (!name()) return undefined;
  const stdWest = hms(24);
  if (stdWest === undefined) return undefined;
  // POSIX offsets count west of UTC; ours count east.
  const std = 0 - stdWest;
  if (i === tz.length) return { std };
  if (!name()) return undefined;
  let dstOffset = std + 3600;
  if (tz[i] !== ',') {
    const w = hms(24);
    if (w === undefined) return undefined;
    dstOffset = 0 - w;
  }
  if (tz[i++] !== ',') return undefined;
  const start = day();
  if (!start || tz[i++] !== ',') return undefined;
  const end = day();
  if (!end || i !== tz.length) return undefined;
  return { std, dst: { offset: dstOffset, start, end } };
}

/** UTC offset in seconds of `zone` at `epochSeconds`. */
export function offsetAt(z: ZoneOffsets, epochSeconds: number): number {
  const n = z.at.length;
  if (n === 0 || epochSeconds < z.at[0]!) return n === 0 && z.rule ? ruleOffset(z.rule, epochSeconds) : z.before;
  if (epochSeconds >= z.at[n - 1]!) return z.rule ? ruleOffset(z.rule, epochSeconds) : z.offset[n - 1]!;
  // The last transition at or before the instant.
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (z.at[mid]! <= epochSeconds) lo = mid;
    else hi = mid - 1;
  }
  return z.offset[lo]!;
}

/** The offset a POSIX rule gives at an instant. */
export function ruleOffset(r: PosixRule, t: number): number {
  if (!r.dst) return r.std;
  const { start, end, offset } = r.dst;
  // The year as local standard time sees it; both changes of that year are then compared.
  const year = civilFromDays(Math.floor((t + r.std) / 86400)).y;
  // Each change happens at a local time: the start in standard time, the end in daylight time.
  const on = daysFromCivil(year, 1, 1) * 86400 + dayOfYear(start, year) * 86400 + start.time - r.std;
  const off = daysFromCivil(year, 1, 1) * 86400 + dayOfYear(end, year) * 86400 + end.time - offset;
  const inDst = on < off ? t >= on && t < off : !(t >= off && t < on);
  return inDst ? offset : r.std;
}

/** Zero-based day of the year the rule names in `year`. */
function dayOfYear(d: DayRule, year: number): number {
  const leap = isLeap(year);
  if (d.kind === 'zero-based') return d.day;
  if (d.kind === 'julian') return d.day - 1 + (leap && d.day >= 60 ? 1 : 0);
  const first = daysFromCivil(year, d.month, 1);
  // 1970-01-01 was a Thursday (4).
  const firstWeekday = (((first + 4) % 7) + 7) % 7;
  let dom = 1 + ((d.weekday - firstWeekday + 7) % 7) + (d.week - 1) * 7;
  const len = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][d.month - 1]!;
  while (dom > len) dom -= 7;
  return first + dom - 1 - daysFromCivil(year, 1, 1);
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The proleptic Gregorian date of a day count since 1970-01-01 (civil_from_days). */
export function civilFromDays(z: number): { y: number; m: number; d: number } {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}
