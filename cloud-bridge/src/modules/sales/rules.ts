import { addDays, hashIdNumber, idNumberProblem, type IdNumberProblem, localDate, localTime, maskIdNumber, minutesOfDay, normalizeIdNumber } from '@stile/config';
import { sellLimit, type Level } from '../../core/capacity-levels.js';
import type { Channel } from '../../core/catalogue.js';
import type { Clock } from '../../core/clock.js';
import { CloudError } from '../../core/errors.js';
import type { CapacityView } from '../../core/ports.js';
import type { SalesSite } from '../../core/sites.js';

const ID_PROBLEM_TEXT: Record<IdNumberProblem, string> = {
  format: 'not a resident ID number (18 characters: 17 digits and a digit or X)',
  check_digit: 'not a valid ID number (the check character does not match)',
  region: 'not a valid ID number (the region code is not a province-level code of GB/T 2260)',
  birth_date: 'not a valid ID number (the birth date is not a real date, is in the future or is over 130 years ago)',
};

/** A visitor as an order keeps them: the ID number only hashed (for the gates) and masked (for people). */
export interface RealNameVisitor {
  name: string;
  idHash: string;
  idMasked: string;
}

/** Persons a channel may have sold for one day (core/capacity-levels.ts sellLimit: online stops below orange). */
export function dayLimit(site: SalesSite, channel: Channel): number {
  return sellLimit(site.capacity, channel.kind);
}

/**
 * The visitors of an order, checked: real resident ID numbers, none twice. The number itself
 * never goes into a message or a log; messages name the visitor as the `visitor` field does:
 * the index in `visitors`.
 */
export function realNameVisitors(site: SalesSite, visitors: { name: string; idNumber: string }[], today: string): RealNameVisitor[] {
  const seen = new Set<string>();
  return visitors.map((v, i) => {
    const problem = idNumberProblem(v.idNumber, today);
    if (problem) throw new CloudError('invalid_id_number', `visitors[${i}].idNumber: ${ID_PROBLEM_TEXT[problem]}`, { visitor: i });
    const n = normalizeIdNumber(v.idNumber);
    if (seen.has(n)) throw new CloudError('duplicate_visitor', `visitors[${i}].idNumber: the same ID number as an earlier visitor of this order`, { visitor: i });
    seen.add(n);
    return { name: v.name, idHash: hashIdNumber(site.idHashKey, n), idMasked: maskIdNumber(n) };
  });
}

/** The rules of when a sale may happen: the park's day, its booking horizon, today's slots and level. */
export class SaleRules {
  private lastDateMemo = { key: '', date: '' };

  constructor(
    private readonly clock: Clock,
    private readonly levels: Pick<CapacityView, 'level'>,
  ) {}

  /** Today in the park's time zone. */
  today(site: SalesSite): string {
    return localDate(this.clock(), site.catalogue.timeZone);
  }

  /** Today's announced level (from the capacity module) when `date` is today: walk-ins can push it past what was sold. */
  levelOn(site: SalesSite, date: string, today = this.today(site)): Level | undefined {
    return date === today ? this.levels.level(site.id) : undefined;
  }

  /** Refuse a date that is not sold now: before today (park time) or past the booking horizon. */
  checkDateSold(site: SalesSite, date: string, today = this.today(site)): void {
    if (date < today) throw new CloudError('date_in_past', `${date} is in the past`);
    const { bookingHorizonDays } = site.catalogue.realName;
    const last = this.lastDate(today, bookingHorizonDays);
    if (date > last) throw new CloudError('beyond_booking_horizon', `${date} is more than ${bookingHorizonDays} days ahead: the park sells up to ${last}`);
  }

  /** today + horizon days (remembered: availability asks on every call). */
  lastDate(today: string, days: number): string {
    const key = `${today}+${days}`;
    if (this.lastDateMemo.key !== key) this.lastDateMemo = { key, date: addDays(today, days) };
    return this.lastDateMemo.date;
  }

  /**
   * Refuse selling `typeId` for `date` and `slotId` on this channel now (a new order, or a
   * rebooking): the date, a slot where the park sells slots, today's live level, today's
   * slot not over. Prices and quotas are checked after.
   */
  checkSaleDay(site: SalesSite, channel: Channel, typeId: string, date: string, slotId: string | undefined, today = this.today(site)): void {
    this.checkDateSold(site, date, today);
    if (site.catalogue.slots.length > 0 && slotId === undefined) throw new CloudError('slot_required', 'this park sells time slots: name one (slotId)');
    this.checkLiveLevel(site, channel, date);
    this.checkSlotNotOver(site, typeId, date, slotId);
  }

  /** Refuse a sale for today when the park's live level already says so (the sold count alone may not). */
  private checkLiveLevel(site: SalesSite, channel: Channel, date: string): void {
    if (date !== this.today(site)) return;
    const level = this.levels.level(site.id);
    if (level === 'red') throw new CloudError('capacity_red', 'the park is full today');
    if (level === 'orange' && channel.kind === 'online') throw new CloudError('capacity_orange', 'online sales for today are closed: the park is nearly full (the rest is kept for on-site sales)');
  }

  /**
   * Refuse a slot of today that a visitor could no longer enter: past its end plus the
   * type's late grace (the same grace the gates allow).
   */
  private checkSlotNotOver(site: SalesSite, typeId: string, date: string, slotId: string | undefined): void {
    if (slotId === undefined || date !== this.today(site)) return;
    const slot = site.catalogue.slots.find((s) => s.id === slotId);
    if (!slot) return; // priceFor refuses unknown slots
    const lateMin = site.catalogue.ticketTypes.find((t) => t.id === typeId)?.slotGrace.lateMin ?? 0;
    const now = localTime(this.clock(), site.catalogue.timeZone);
    if (minutesOfDay(now) > minutesOfDay(slot.end) + lateMin) throw new CloudError('slot_over', `slot ${slot.id} (${slot.start}–${slot.end}) is over for today`);
  }
}
