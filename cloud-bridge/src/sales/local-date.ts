// Formatters are cached per zone: constructing one costs far more than formatting with it
// (it was most of an availability answer's time).
const dateFormats = new Map<string, Intl.DateTimeFormat>();
const timeFormats = new Map<string, Intl.DateTimeFormat>();

/** The last answer per zone, by whole second: zone offsets are whole minutes, so a date never changes inside a second. */
const lastDate = new Map<string, { second: number; date: string }>();

/** The calendar date ("YYYY-MM-DD") at `at` in an IANA time zone: what "today" means for the park. */
export function localDate(at: Date, timeZone: string): string {
  const second = Math.floor(at.getTime() / 1000);
  const last = lastDate.get(timeZone);
  if (last?.second === second) return last.date;
  let f = dateFormats.get(timeZone);
  if (!f) {
    // en-CA formats as YYYY-MM-DD.
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dateFormats.set(timeZone, f);
  }
  const date = f.format(at);
  lastDate.set(timeZone, { second, date });
  return date;
}

/** The time of day ("HH:MM", 00–23) at `at` in an IANA time zone. */
export function localTime(at: Date, timeZone: string): string {
  let f = timeFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    timeFormats.set(timeZone, f);
  }
  return f.format(at);
}

/** The calendar date `days` after a "YYYY-MM-DD" (negative: before). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/**
 * UTC calendar days from the day before to the day after a local date: wide enough for any
 * UTC offset, so rows stored with any offset are found; callers then keep those whose
 * local date matches.
 */
export function daysAround(date: string): { from: string; to: string } {
  const d = Date.parse(`${date}T00:00:00Z`);
  return { from: new Date(d - 86_400_000).toISOString().slice(0, 10), to: new Date(d + 2 * 86_400_000).toISOString().slice(0, 10) };
}
