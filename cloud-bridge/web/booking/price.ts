/**
 * What a ticket costs on the chosen date, as the page shows it: the availability answer's unit
 * price and discount for each type (the server prices; the page never computes a discount
 * itself), money in fen shown as yuan. The order's own amount (after …/orders) is what is paid.
 */
import type { Availability, BookInfo, Discount } from './types.js';

/** ¥80 or ¥80.50: fen as yuan, no trailing .00. */
export function yuan(fen: number): string {
  const whole = Math.floor(fen / 100);
  const rest = fen % 100;
  return `¥${whole}${rest === 0 ? '' : `.${String(rest).padStart(2, '0')}`}`;
}

export interface TypeOffer {
  typeId: string;
  persons: number;
  /** Null when the type is not sold on the date (`reason`: not_on_this_day…). */
  unitFen: number | null;
  baseFen: number;
  discount: Discount | null;
  reason: string | null;
  entries: ('early' | 'night')[];
}

/** What the visitor has chosen so far that can change a price. */
export interface PriceChoice {
  slotId?: string | null | undefined;
  entry?: 'early' | 'night' | null | undefined;
}

type TypeAvailability = Availability['types'][number];

/**
 * The server's price for the choice: the slot's price when its times earn a discount, the
 * entry's when one is chosen, the lower of the two when both (discounts do not stack, the
 * largest wins), else the day's.
 */
function chosenPrice(a: TypeAvailability, choice: PriceChoice): { unitFen: number; discounts: Discount[] } {
  // A slot not listed costs the day's price.
  const slot = (choice.slotId ? a.slotPrices?.find((p) => p.slotId === choice.slotId) : undefined) ?? { unitFen: a.unitFen!, discounts: a.discounts ?? [] };
  const entry = choice.entry ? a.entryPrices?.find((p) => p.entry === choice.entry) : undefined;
  // On a tie the server keeps the discount that needs no entry window; so does the page.
  return entry && entry.unitFen < slot.unitFen ? entry : slot;
}

/** Each type of the catalogue with its price on the availability's date (and the chosen slot and entry), in the catalogue's order. */
export function typeOffers(info: BookInfo, avail: Availability | null, choice: PriceChoice = {}): TypeOffer[] {
  return info.types.map((t) => {
    const a = avail ? avail.types.find((x) => x.typeId === t.typeId) : undefined;
    const sold = a !== undefined && a.available !== false && a.unitFen !== undefined;
    const price = sold ? chosenPrice(a, choice) : undefined;
    return {
      typeId: t.typeId,
      persons: t.persons,
      unitFen: price ? price.unitFen : avail ? null : t.baseFen,
      baseFen: t.baseFen,
      discount: price && price.discounts.length > 0 ? price.discounts[0]! : null,
      reason: a && !sold ? (a.reason ?? 'not_on_this_day') : avail && !a ? 'type_not_on_channel' : null,
      entries: t.entries,
    };
  });
}

/** Tickets × unit price (a family package is one ticket for its persons). */
export function totalFen(offer: Pick<TypeOffer, 'unitFen'>, tickets: number): number | null {
  return offer.unitFen === null ? null : offer.unitFen * tickets;
}
