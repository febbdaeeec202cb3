/** Wall-clock reading in a time zone: the local calendar date and the second within that day. */
export interface LocalClock {
  date: string; // YYYY-MM-DD
  secondOfDay: number; // 0..86399
}

// Constructing an Intl.DateTimeFormat costs far more than formatting with one, so keep one per zone.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
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

/** Local date and second of day of the instant nowMs (epoch ms) in an IANA time zone. */
export function localClock(timeZone: string, nowMs: number): LocalClock {
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

/** Calendar arithmetic on a YYYY-MM-DD date (no time zone involved). */
export function addDays(date: string, n: number): string {
  const t = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999.
  t.setUTCFullYear(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10)) + n);
  return `${String(t.getUTCFullYear()).padStart(4, '0')}-${pad2(t.getUTCMonth() + 1)}-${pad2(t.getUTCDate())}`;
}
