import { addDays } from '@stile/config';
import type { CouponRule } from '../../core/site-config/marketing.js';

/*
 * The issuing rules, evaluated as pure functions of what the engine read (engine.ts does the
 * I/O). Each answers the `period` of a grant: coupon_grants holds one coupon per rule,
 * visitor and period, so running a rule twice (two instances, every minute) issues nothing twice.
 */

type Rule<K extends CouponRule['kind']> = Extract<CouponRule, { kind: K }>;

/** Day of week of a YYYY-MM-DD date (0 Sunday … 6 Saturday), no time zone involved. */
export function weekday(date: string): number {
  return new Date(`${date}T00:00:00Z`).getUTCDay();
}

/** ticketOnly: whether the rule runs at this park-local time of day ("HH:MM"). */
export function ticketOnlyDue(rule: Rule<'ticketOnly'>, time: string): boolean {
  return rule.enabled && time >= rule.at && time <= rule.until;
}

/** ticketOnly: the visitors admitted today with no POS line today (each gets one coupon today: period = today). */
export function ticketOnlyVisitors(admittedToday: readonly string[], withPosLine: ReadonlySet<string>): string[] {
  return [...new Set(admittedToday)].filter((h) => !withPosLine.has(h));
}

/**
 * nthVisit: after the visitor's (n-1)th admitted visit, a coupon for the nth. Returns the grant
 * period (`visit-<n>`, the visit the coupon is for) or undefined when nothing is due.
 * `repeat`: again before every nth visit (the 3rd, 6th, 9th… with n 3).
 */
export function nthVisitPeriod(rule: Rule<'nthVisit'>, admittedVisits: number): string | undefined {
  if (!rule.enabled) return undefined;
  const next = admittedVisits + 1;
  const due = rule.repeat ? next % rule.n === 0 : next === rule.n;
  return due ? `visit-${next}` : undefined;
}

/** Forecast conditions by date ("sunny", "cloudy", "rain"…), as a WeatherProvider answers. */
export type Forecast = ReadonlyMap<string, string>;

/**
 * offSeasonWeekendWeather: `daysBefore` days before a Saturday in one of `months`, from `at` on,
 * when both weekend days are forecast sunny: the weekend (period = the Saturday) the offer is for.
 */
export function weekendOffer(rule: Rule<'offSeasonWeekendWeather'>, today: string, time: string, forecast: Forecast): { saturday: string; sunday: string } | undefined {
  if (!rule.enabled || time < rule.at) return undefined;
  const saturday = addDays(today, rule.daysBefore);
  if (weekday(saturday) !== 6) return undefined;
  if (!rule.months.includes(Number(saturday.slice(5, 7)))) return undefined;
  const sunday = addDays(saturday, 1);
  const fine = (d: string): boolean => rule.sunny.includes((forecast.get(d) ?? '').toLowerCase());
  return fine(saturday) && fine(sunday) ? { saturday, sunday } : undefined;
}

/** offSeasonWeekendWeather: whether a visitor's home is near enough (an unknown distance never is). */
export function nearEnough(rule: Rule<'offSeasonWeekendWeather'>, km: number | undefined): boolean {
  return km !== undefined && km <= rule.withinKm;
}

/** Membership: due after `afterVisits` admitted visits for a visitor who is not a member yet. */
export function membershipDue(afterVisits: number | undefined, admittedVisits: number, memberCode: string | null): boolean {
  return afterVisits !== undefined && memberCode === null && admittedVisits >= afterVisits;
}
