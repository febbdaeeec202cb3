import { percentOf, thresholds, type Level } from '../../core/capacity-levels.js';
import type { Catalogue, Channel } from '../../core/catalogue.js';
import { isCloudError } from '../../core/errors.js';
import { refusalReply } from '../../core/http/refusals.js';
import type { SalesSite } from '../../core/sites.js';
import { FreshCache } from './availability-view.js';
import { DAY } from './places.js';
import { priceFor } from './pricing.js';
import type { ChannelPause, SalesRepository } from './repository.js';
import { dayLimit, type SaleRules } from './rules.js';

/**
 * Live availability for a channel and day, as the JSON text sent: computed from sold counts
 * and pause state kept in memory (FreshCache: current with this instance's writes, ≤ ttlMs
 * behind other instances'), and the answer itself kept until one of its inputs (sold
 * counts, pauses, today's level, the date) changes.
 */
/**
 * Where a choice on the page changes the price of a type: the slots whose times earn an
 * early-bird or night discount, and the early/night entries it may be sold with. Only prices
 * that differ from the day's are listed. Discounts do not stack (pricing.ts), so a slot and an
 * entry chosen together cost the lower of the two.
 */
function variantPrices(catalogue: Catalogue, channel: Channel, date: string, typeId: string, dayFen: number): { slotPrices?: VariantPrice[]; entryPrices?: VariantPrice[] } {
  const slotPrices: VariantPrice[] = [];
  for (const slot of catalogue.slots) {
    const q = priceFor(catalogue, { typeId, channelId: channel.id, visitDate: date, slotId: slot.id });
    if (q.ok && q.unitFen !== dayFen) slotPrices.push({ slotId: slot.id, unitFen: q.unitFen, discounts: q.discounts });
  }
  const entryPrices: VariantPrice[] = [];
  for (const entry of ['early', 'night'] as const) {
    const q = priceFor(catalogue, { typeId, channelId: channel.id, visitDate: date, entry });
    if (q.ok) entryPrices.push({ entry, unitFen: q.unitFen, discounts: q.discounts });
  }
  return { ...(slotPrices.length > 0 ? { slotPrices } : {}), ...(entryPrices.length > 0 ? { entryPrices } : {}) };
}

/** The channel's types on a date: the day's price and discount, the slot and entry prices that differ, or why the type is not sold. */
export function typePrices(catalogue: Catalogue, channel: Channel, date: string) {
  return catalogue.ticketTypes
    .filter((t) => !t.channels || t.channels.includes(channel.id))
    .map((t) => {
      const q = priceFor(catalogue, { typeId: t.id, channelId: channel.id, visitDate: date });
      if (!q.ok) return { typeId: t.id, name: t.name['zh-CN'], names: t.name, persons: t.persons, available: false as const, reason: q.reason };
      return { typeId: t.id, name: t.name['zh-CN'], names: t.name, persons: t.persons, unitFen: q.unitFen, discounts: q.discounts, ...variantPrices(catalogue, channel, date, t.id, q.unitFen) };
    });
}

interface VariantPrice {
  slotId?: string;
  entry?: 'early' | 'night';
  unitFen: number;
  discounts: { rule: string; percentOff: number }[];
}

export class Availability {
  /** Sold counts per slot (and DAY) of one site and date, key "site\0date" (availability-view.ts). */
  private readonly soldView: FreshCache<Map<string, number>>;
  /** Pause state of every channel of a site. */
  private readonly pauseView: FreshCache<Map<string, ChannelPause>>;
  /** Availability answers as sent, per site, date and channel, with what they were computed from. */
  private readonly bodies = new Map<string, { stamp: string; text: string }>();

  constructor(
    repo: SalesRepository,
    private readonly rules: SaleRules,
    ttlMs: number,
  ) {
    this.soldView = new FreshCache((key) => {
      const [site, date] = key.split('\0') as [string, string];
      return repo.sold(site, date);
    }, ttlMs);
    this.pauseView = new FreshCache((site) => repo.channelPauses(site), ttlMs);
  }

  /** This instance committed a change to the sold counts of `site` on `date`. */
  soldChanged(site: string, date: string): void {
    this.soldView.invalidate(`${site}\0${date}`);
  }

  /** A channel of `site` was paused or resumed (through this instance). */
  pausesChanged(site: string): void {
    this.pauseView.invalidate(site);
  }

  async json(site: SalesSite, channel: Channel, date: string): Promise<{ status: number; text: string }> {
    const today = this.rules.today(site);
    try {
      this.rules.checkDateSold(site, date, today);
    } catch (err) {
      if (!isCloudError(err)) throw err;
      const reply = refusalReply(err);
      return { status: reply.status, text: JSON.stringify(reply.body) };
    }
    const level = this.rules.levelOn(site, date, today);
    const soldNow = this.soldView.get(`${site.id}\0${date}`);
    const sold = soldNow instanceof Promise ? await soldNow : soldNow;
    const pausesNow = this.pauseView.get(site.id);
    const pauses = pausesNow instanceof Promise ? await pausesNow : pausesNow;
    const key = `${site.id}\0${date}\0${channel.id}`;
    const stamp = `${sold.version}|${pauses.version}|${level ?? ''}|${today}`;
    const kept = this.bodies.get(key);
    if (kept?.stamp === stamp) return { status: 200, text: kept.text };
    const text = JSON.stringify(this.body(site, channel, date, today, sold.value, pauses.value.get(channel.id)?.paused ?? false, level));
    if (this.bodies.size >= 10_000) this.bodies.clear();
    this.bodies.set(key, { stamp, text });
    return { status: 200, text };
  }

  private body(site: SalesSite, channel: Channel, date: string, today: string, sold: Map<string, number>, paused: boolean, level: Level | undefined): Record<string, unknown> {
    const daySold = sold.get(DAY) ?? 0;
    const { daily } = site.capacity;
    const t = thresholds(site.capacity);
    const blocked = level === 'red' || (level === 'orange' && channel.kind === 'online');
    const dayRemaining = blocked ? 0 : Math.max(0, dayLimit(site, channel) - daySold);
    const almostFull = daySold >= t.yellow || (level !== undefined && level !== 'green');
    const types = typePrices(site.catalogue, channel, date);
    // A slot is almost full by its own numbers: open (quota > 0) and at most a tenth of its
    // quota (at least 1) left for this channel, the day's limit included. A quiet slot on a
    // busy day is not; a closed slot (quota 0) is not (it is closed).
    const slots = site.catalogue.slots.map((s) => {
      const remaining = Math.max(0, Math.min(s.quota - (sold.get(s.id) ?? 0), dayRemaining));
      return { slotId: s.id, start: s.start, end: s.end, quota: s.quota, remaining, almostFull: s.quota > 0 && remaining <= Math.max(1, Math.floor(s.quota / 10)) };
    });
    const { ticketsPerIdPerDay, bookingHorizonDays } = site.catalogue.realName;
    return {
      site: site.id,
      channel: channel.id,
      date,
      open: !paused && dayRemaining > 0,
      paused,
      capacity: { daily, sold: daySold, remaining: dayRemaining, percent: percentOf(daySold, daily), ...(level ? { level } : {}) },
      almostFull,
      slots,
      types,
      realName: { ticketsPerIdPerDay, bookingHorizonDays, lastDate: this.rules.lastDate(today, bookingHorizonDays) },
    };
  }
}
