import { localClock, localDateHour, minutesOfDay } from '@stile/config';
import { renderAnnouncement, sellLimit, type Level } from '../../core/capacity-levels.js';
import type { SalesSite } from '../../core/sites.js';
import type { ScreenModel, ScreenSlot } from './model.js';
import type { ScreenRows } from './repository.js';

/** The sales guard's row of the whole day (modules/sales keeps the same name). */
const DAY = '*';

/** What the capacity module counted at its last recount of today (its `capacity` event, or CapacityView.current()). */
export interface CapacityNow {
  level: Level;
  /** Today's load (sold for today + walk-ins): what the announcement's {count} and {percent} say. */
  load: number;
  /** Persons admitted today at all gates (admissions the cloud believes). */
  admitted: number;
}

/**
 * The entrance screen for one site, from the sold counts, the not-passed corrections and what
 * capacity counted (pure: the caller passes the time).
 *
 * Remaining places follow the sales rules of the ticket window (the kiosk channel, the one a
 * visitor at the entrance buys from): the day sells up to the red line (`sellLimit(…,
 * 'kiosk')`), nothing at red, and each slot up to its quota while it is not over (its end plus
 * the longest late grace of the ticket types, the rule sales refuse `slot_over` by).
 */
export function screenModel(site: SalesSite, capacity: CapacityNow, rows: ScreenRows, now: Date): ScreenModel {
  const tz = site.catalogue.timeZone;
  const clock = localClock(tz, now.getTime());
  const date = clock.date;
  const nowMin = Math.floor(clock.secondOfDay / 60);
  const red = capacity.level === 'red';
  const daySold = rows.sold.get(DAY) ?? 0;
  const dayRemaining = red ? 0 : Math.max(0, sellLimit(site.capacity, 'kiosk') - daySold);
  const grace = Math.max(0, ...site.catalogue.ticketTypes.map((t) => t.slotGrace?.lateMin ?? 0));
  const slots: ScreenSlot[] = [...site.catalogue.slots]
    .sort((a, b) => minutesOfDay(a.start) - minutesOfDay(b.start))
    .map((s) => {
      const over = nowMin > minutesOfDay(s.end) + grace;
      const closed = s.quota === 0;
      const remaining = over || closed ? 0 : Math.max(0, Math.min(s.quota - (rows.sold.get(s.id) ?? 0), dayRemaining));
      const state: ScreenSlot['state'] = over ? 'over' : closed ? 'closed' : remaining > 0 ? 'open' : 'soldOut';
      return { id: s.id, start: s.start, end: s.end, ...(s.name ? { name: { zh: s.name['zh-CN'], en: s.name.en } } : {}), remaining, state };
    });
  const remaining = slots.length
    ? Math.min(
        dayRemaining,
        slots.reduce((n, s) => n + s.remaining, 0),
      )
    : dayRemaining;
  const name = site.catalogue.name;
  return {
    site: site.id,
    siteName: name ? { zh: name['zh-CN'], en: name.en } : { zh: site.id, en: site.id },
    date,
    timeZone: tz,
    level: capacity.level,
    remaining,
    salesOpen: !red && remaining > 0,
    slots,
    admittedToday: Math.max(0, capacity.admitted - notPassedOn(date, tz, rows)),
    capacity: site.capacity.daily,
    announcement: renderAnnouncement(site.capacity, capacity.level, { count: capacity.load, capacity: site.capacity.daily }),
    updatedAt: now.toISOString(),
  };
}

/**
 * Persons of admissions on local `date` the passage sensor saw not walk through: let in by the
 * gate, not in the park. A correction never takes back more than its admission let in (two
 * corrections of one admission included).
 */
export function notPassedOn(date: string, timeZone: string, rows: Pick<ScreenRows, 'notPassed'>): number {
  const back = new Map<string, { admitted: number; persons: number }>();
  for (const n of rows.notPassed) {
    if (localDateHour(n.at, timeZone)?.date !== date) continue;
    const key = `${n.gate}\0${n.seq}`;
    const b = back.get(key) ?? { admitted: n.admitted, persons: 0 };
    b.persons += n.persons;
    back.set(key, b);
  }
  let total = 0;
  for (const b of back.values()) total += Math.min(b.admitted, b.persons);
  return total;
}
