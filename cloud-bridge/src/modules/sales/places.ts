import { salesDecision, type SalesRefusal } from '../../core/capacity-levels.js';
import type { Channel } from '../../core/catalogue.js';
import type { Db } from '../../core/db/store.js';
import { CloudError } from '../../core/errors.js';
import type { SalesSite } from '../../core/sites.js';
import type { SalesRepository } from './repository.js';
import { dayLimit } from './rules.js';

/** The inventory row of the whole day (the capacity guard); the others are slots. */
export const DAY = '*';
/** The slot of an order for a park without time slots. */
export const NO_SLOT = '';

const REFUSAL_TEXT: Record<SalesRefusal, (date: string) => string> = {
  capacity_red: (date) => `the park is full on ${date}`,
  capacity_exceeded: (date) => `not enough places left on ${date} for this many visitors`,
  capacity_orange: (date) => `online sales for ${date} are closed: the park is nearly full (the rest is kept for on-site sales)`,
  kiosk_reserve_exhausted: (date) => `online sales for ${date} are closed: the remaining places are kept for on-site sales`,
};

/**
 * Places of a day and its slots: taken by a sale, given back by a refund, a rebooking or an
 * expired hold, and the per-visitor limit of the real-name rules.
 */
export class Places {
  constructor(private readonly repo: SalesRepository) {}

  /** Add `persons` to the slot's and the day's sold counts, or refuse: the oversell guard. */
  async reserve(trx: Db, site: SalesSite, channel: Channel, date: string, slotId: string, persons: number, opts: { day?: boolean } = {}): Promise<void> {
    const slot = slotId === NO_SLOT ? undefined : site.catalogue.slots.find((s) => s.id === slotId);
    // Slot first, day second, in every transaction: the same lock order, so no deadlocks.
    // A refusal rolls the savepoint back (idempotent-writes.ts), so a slot taken before the day said no is given back.
    if (slot && !(await this.repo.take(trx, site.id, date, slot.id, persons, slot.quota))) {
      const left = Math.max(0, slot.quota - ((await this.repo.sold(site.id, date, trx)).get(slot.id) ?? 0));
      throw new CloudError('sold_out', `slot ${slot.id} on ${date} has ${left} place(s) left; the order has ${persons} visitor(s)`, { slotId: slot.id, requested: persons, remaining: left });
    }
    if (opts.day !== false && !(await this.repo.take(trx, site.id, date, DAY, persons, dayLimit(site, channel)))) {
      // Which rule said no, for the channel: the same rules the limit came from.
      const load = (await this.repo.sold(site.id, date, trx)).get(DAY) ?? 0;
      const d = salesDecision(site.capacity, { load, channelKind: channel.kind, requestedPersons: persons });
      const reason = d.ok ? 'capacity_exceeded' : d.reason;
      throw new CloudError(reason, `${REFUSAL_TEXT[reason](date)} (the order has ${persons} visitor(s))`, { requested: persons, remaining: Math.max(0, dayLimit(site, channel) - load) });
    }
  }

  /** Give `persons` back to the slot and (unless `day` is false) the day. */
  release(trx: Db, site: string, date: string, slotId: string, persons: number, day = true): Promise<void> {
    return this.repo.release(trx, site, date, day ? [slotId, DAY].filter((k) => k !== NO_SLOT) : [slotId], persons);
  }

  /**
   * Refuse visitors who already hold the park's limit of places for `date` (catalogue
   * realName.ticketsPerIdPerDay; pending and paid orders count, on any channel). Called
   * after reserve(): the day's inventory row is then locked, so two orders for one date take
   * turns here and the second sees the first.
   */
  async checkVisitorsFree(trx: Db, site: SalesSite, date: string, idHashes: string[], exceptOrder?: string): Promise<void> {
    const max = site.catalogue.realName.ticketsPerIdPerDay;
    const held = await this.repo.placesHeld(trx, site.id, date, idHashes, exceptOrder);
    idHashes.forEach((h, i) => {
      const n = held.get(h) ?? 0;
      if (n + 1 > max) throw new CloudError('visitor_already_booked', `visitors[${i}]: this ID number already holds ${n} place(s) for ${date}; the park sells ${max} per ID number per day`, { visitor: i });
    });
  }
}
