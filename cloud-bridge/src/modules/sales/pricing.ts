import { minutesOfDay } from '@stile/config';
import { entryOffer, gateTypeId, type Catalogue, type EntryKind, type EntryWindow } from '../../core/catalogue.js';

export interface PriceRequest {
  typeId: string;
  channelId: string;
  /** Calendar date of the visit, "YYYY-MM-DD" (in the park's time zone). */
  visitDate: string;
  slotId?: string;
  /** Early or night entry: cheaper, and the ticket is then admitted only in that window. */
  entry?: EntryKind;
}

export type DiscountRule = 'earlyBird' | 'night' | 'offSeasonWeekend';
export interface Discount {
  rule: DiscountRule;
  percentOff: number;
}

export type PriceRefusal = 'unknown_type' | 'unknown_channel' | 'type_not_on_channel' | 'invalid_date' | 'not_on_this_day' | 'unknown_slot' | 'entry_not_available';

export type PriceQuote =
  | {
      ok: true;
      /** Price of one ticket in fen (a family package is one ticket for `persons` people). */
      unitFen: number;
      /** Price before the discount: the channel's own price, or the type's. */
      baseFen: number;
      persons: number;
      /** The discount that was applied (at most one: they do not stack). */
      discounts: Discount[];
      /** Ticket type id to put on the ticket for the gates (see gateTicketTypes). */
      gateTypeId: string;
      /** Present when the ticket is only admitted in an early/night window. */
      entryWindow?: EntryWindow;
    }
  | { ok: false; reason: PriceRefusal; message: string };

/** Percent off, rounded half up to a whole fen, in integer arithmetic (no float fen). */
export function applyPercentOff(baseFen: number, percentOff: number): number {
  return Math.floor((baseFen * (100 - percentOff) + 50) / 100);
}

/** Day of week (0 = Sunday) and month of a "YYYY-MM-DD", or undefined when it is not a real date. */
function calendarDay(date: string): { weekday: number; month: number } | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Date.UTC: the weekday of a calendar date must not depend on the server's zone.
  const t = new Date(Date.UTC(y, mo - 1, d));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d) return undefined;
  return { weekday: t.getUTCDay(), month: mo };
}

/** Does [start, end) meet the window? A window with from > to wraps midnight, as in the gate's decide(). */
function overlapsWindow(slot: { start: number; end: number }, w: EntryWindow): boolean {
  const f = minutesOfDay(w.from);
  const t = minutesOfDay(w.to);
  const parts: [number, number][] = f < t ? [[f, t]] : [[f, 1440], [0, t]];
  return parts.some(([a, b]) => slot.start < b && slot.end > a);
}

interface Candidate extends Discount {
  /** Granted because the order chose an early/night entry (so the ticket must carry that window). */
  viaEntry?: EntryKind;
}

function refuse(reason: PriceRefusal, message: string): PriceQuote {
  return { ok: false, reason, message };
}

/**
 * Price one ticket. Pure: same catalogue and request, same answer. Never throws for bad
 * requests; they are refused with a reason.
 */
export function priceFor(catalogue: Catalogue, req: PriceRequest): PriceQuote {
  const type = catalogue.ticketTypes.find((t) => t.id === req.typeId);
  if (!type) return refuse('unknown_type', `unknown ticket type "${req.typeId}"`);
  const channel = catalogue.channels.find((c) => c.id === req.channelId);
  if (!channel) return refuse('unknown_channel', `unknown channel "${req.channelId}"`);
  if (type.channels && !type.channels.includes(channel.id)) {
    return refuse('type_not_on_channel', `"${type.name.en}" is not sold on ${channel.id} (sold on: ${type.channels.join(', ')})`);
  }

  const day = calendarDay(req.visitDate);
  if (!day) return refuse('invalid_date', `visit date "${req.visitDate}" is not a date "YYYY-MM-DD"`);
  const weekend = day.weekday === 0 || day.weekday === 6;
  if (type.days === 'weekend' && !weekend) return refuse('not_on_this_day', `"${type.name.en}" is valid on Saturdays and Sundays only; ${req.visitDate} is a weekday`);
  if (type.days === 'weekday' && weekend) return refuse('not_on_this_day', `"${type.name.en}" is valid Monday to Friday only; ${req.visitDate} is a weekend day`);

  let slot: { start: number; end: number; label: string } | undefined;
  if (req.slotId !== undefined) {
    const s = catalogue.slots.find((x) => x.id === req.slotId);
    if (!s) return refuse('unknown_slot', `unknown time slot "${req.slotId}"`);
    slot = { start: minutesOfDay(s.start), end: minutesOfDay(s.end), label: `${s.id} (${s.start}–${s.end})` };
  }

  const candidates: Candidate[] = [];
  let chosenWindow: EntryWindow | undefined;
  if (req.entry !== undefined) {
    const offer = req.entry === 'early' || req.entry === 'night' ? entryOffer(catalogue, type, req.entry) : undefined;
    if (!offer) return refuse('entry_not_available', `"${type.name.en}" has no ${String(req.entry)} entry`);
    // The gate enforces both the slot and the window; a ticket whose slot misses the window could never enter.
    if (slot && !overlapsWindow(slot, offer.window)) {
      return refuse('entry_not_available', `slot ${slot.label} is outside the ${offer.kind} entry window ${offer.window.from}–${offer.window.to}`);
    }
    chosenWindow = offer.window;
    candidates.push({ rule: offer.rule.kind, percentOff: offer.rule.percentOff, viaEntry: offer.kind });
  }

  for (const rule of catalogue.pricing) {
    if (rule.kind === 'channelPrice') continue;
    if (rule.types && !rule.types.includes(type.id)) continue;
    if (rule.kind === 'offSeasonWeekend') {
      if (weekend && rule.months.includes(day.month)) candidates.push({ rule: rule.kind, percentOff: rule.percentOff });
    } else if (slot) {
      // The slot already bounds admission at the gate, so a slot-earned discount needs no extra window.
      if (rule.kind === 'earlyBird' && slot.end <= minutesOfDay(rule.before)) candidates.push({ rule: rule.kind, percentOff: rule.percentOff });
      if (rule.kind === 'night' && slot.start >= minutesOfDay(rule.from)) candidates.push({ rule: rule.kind, percentOff: rule.percentOff });
    }
  }

  // Discounts do not stack: the largest one wins. Visitors and channels can then predict the
  // price from the list of offers, and combining offers can never sell below what the park intended.
  // On a tie, prefer the discount that needs no entry window: same price, fewer restrictions.
  candidates.sort((a, b) => b.percentOff - a.percentOff || Number(a.viaEntry !== undefined) - Number(b.viaEntry !== undefined));
  const best = candidates[0];

  const channelPrice = catalogue.pricing.find((r) => r.kind === 'channelPrice' && r.channel === channel.id && r.type === type.id);
  const baseFen = channelPrice?.kind === 'channelPrice' ? channelPrice.priceFen : type.priceFen;
  const unitFen = best ? applyPercentOff(baseFen, best.percentOff) : baseFen;

  const quote: PriceQuote = {
    ok: true,
    unitFen,
    baseFen,
    persons: type.persons,
    discounts: best ? [{ rule: best.rule, percentOff: best.percentOff }] : [],
    gateTypeId: gateTypeId(type.id, best?.viaEntry),
  };
  if (best?.viaEntry && chosenWindow) quote.entryWindow = chosenWindow;
  return quote;
}
