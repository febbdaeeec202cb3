/**
 * The start-up clock check of a gate or kiosk. A board without a real-time clock (a
 * Raspberry Pi) boots at the last time it saved, or at 1970, until NTP answers; a gate on a
 * wrong clock refuses every timed ticket and dates its entries wrongly. At start the daemon
 * only warns (log and STATUS=); `gatectl doctor` / `kioskctl doctor` does the full check.
 */

/** No Stile build runs before this year: a clock earlier than it was never set. */
export const EARLIEST_PLAUSIBLE_YEAR = 2025;
/** How far behind the newest recorded event the clock may be before it counts as a jump back. */
export const CLOCK_BACK_TOLERANCE_MS = 5 * 60_000;

export type ClockVerdict =
  | { ok: true }
  | { ok: false; problem: 'not_set' | 'jumped_back'; message: string; status: string };

export interface ClockFacts {
  now: number;
  /** The newest time this device wrote into its own database (an entry, a sale), if any. */
  newestRecordedAt?: number | undefined;
  /** What the record is, for the message ("entry", "sale"). */
  what?: string;
  toleranceMs?: number;
}

/** Pure: is the clock obviously wrong at start? */
export function startClockVerdict(f: ClockFacts): ClockVerdict {
  const now = new Date(f.now);
  if (now.getUTCFullYear() < EARLIEST_PLAUSIBLE_YEAR) {
    return {
      ok: false,
      problem: 'not_set',
      message: `the clock says ${now.toISOString()}, before ${EARLIEST_PLAUSIBLE_YEAR}: it was never set; timed tickets will be refused until NTP sets it (check: timedatectl; fix: enable systemd-timesyncd or chrony and let it reach an NTP server)`,
      status: `CLOCK NOT SET (${now.toISOString().slice(0, 10)})`,
    };
  }
  const tol = f.toleranceMs ?? CLOCK_BACK_TOLERANCE_MS;
  if (f.newestRecordedAt !== undefined && f.newestRecordedAt - f.now > tol) {
    const behind = span(f.newestRecordedAt - f.now);
    const what = f.what ?? 'record';
    return {
      ok: false,
      problem: 'jumped_back',
      message: `the clock (${now.toISOString()}) is ${behind} behind the newest ${what} in the database (${new Date(f.newestRecordedAt).toISOString()}): it jumped back; check NTP sync (timedatectl) and the time zone`,
      status: `CLOCK ${behind} behind the newest ${what}`,
    };
  }
  return { ok: true };
}

/** "7 min", "5 h", "3 days". */
function span(ms: number): string {
  const min = Math.round(ms / 60_000);
  if (min < 120) return `${min} min`;
  const h = Math.round(min / 60);
  return h < 48 ? `${h} h` : `${Math.round(h / 24)} days`;
}
