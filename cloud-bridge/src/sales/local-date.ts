/** The calendar date ("YYYY-MM-DD") at `at` in an IANA time zone: what "today" means for the park. */
export function localDate(at: Date, timeZone: string): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/** The time of day ("HH:MM", 00–23) at `at` in an IANA time zone. */
export function localTime(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);
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
