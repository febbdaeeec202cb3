import { unitShareFen, type Combo } from '../../core/site-config/partners.js';

/** The park's own line in the split ledger (no partner may be called this). */
export const PARK = 'park';

export interface SplitLine {
  partner: string;
  part: string;
  amountFen: number;
}

export interface SplitInput {
  combo: Combo;
  /** The catalogue price of one unit (ticket) as quoted for the order's channel and day, before any coupon. */
  unitFen: number;
  /** Tickets of the order (persons / persons per ticket). */
  units: number;
  /** What the visitor paid (orders.amount_fen), after any coupon. */
  paidFen: number;
}

/**
 * How an order's payment is split (pure, docs/visitor-data/combos.md). Each partner's share is
 * its contracted amount per unit (a percentage of the unit price rounded down to whole fen, or
 * the fixed amount) times the units; the park keeps the rest. A coupon is the park's offer:
 * it comes off the park's part first. Only when the amount paid is below the partners' shares
 * together are their shares cut, pro rata, in whole fen by the largest remainder (ties: the
 * earlier part), and the park gets 0. The lines always add up to exactly `paidFen`.
 */
export function splitPayment(input: SplitInput): SplitLine[] {
  const { combo, unitFen, units, paidFen } = input;
  const nominal = combo.parts.map((p) => unitShareFen(p.share, unitFen) * units);
  const owed = nominal.reduce((a, b) => a + b, 0);
  if (owed <= paidFen) {
    return [...combo.parts.map((p, i) => ({ partner: p.partner, part: p.id, amountFen: nominal[i]! })), { partner: PARK, part: PARK, amountFen: paidFen - owed }];
  }
  // BigInt: share × paid may pass 2^53 for large orders.
  const scaled = nominal.map((n, i) => {
    const num = BigInt(n) * BigInt(paidFen);
    return { i, fen: Number(num / BigInt(owed)), rem: num % BigInt(owed) };
  });
  let left = paidFen - scaled.reduce((a, s) => a + s.fen, 0);
  const byRemainder = [...scaled].sort((a, b) => (b.rem > a.rem ? 1 : b.rem < a.rem ? -1 : a.i - b.i));
  for (const s of byRemainder) {
    if (left <= 0) break;
    s.fen += 1;
    left -= 1;
  }
  return [...combo.parts.map((p, i) => ({ partner: p.partner, part: p.id, amountFen: scaled[i]!.fen })), { partner: PARK, part: PARK, amountFen: 0 }];
}

/** A period of a statement: one park-local day (YYYY-MM-DD) or a month (YYYY-MM). */
export interface Period {
  period: string;
  from: string;
  to: string;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The days a period covers, or undefined when it is not a real day or month. */
export function parsePeriod(period: string): Period | undefined {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(period);
  if (day) {
    const [y, m, d] = [Number(day[1]), Number(day[2]), Number(day[3])];
    const t = new Date(Date.UTC(y, m - 1, d));
    if (t.getUTCFullYear() !== y || t.getUTCMonth() !== m - 1 || t.getUTCDate() !== d) return undefined;
    return { period, from: period, to: period };
  }
  const month = /^(\d{4})-(\d{2})$/.exec(period);
  if (month) {
    const [y, m] = [Number(month[1]), Number(month[2])];
    if (m < 1 || m > 12) return undefined;
    const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
    return { period, from: `${y}-${pad(m)}-01`, to: `${y}-${pad(m)}-${pad(last)}` };
  }
  return undefined;
}

/** A name as a hotel needs it to find the guest at check-in: the first character, the rest masked ("张**", "J*** S****"). */
export function maskName(name: string): string {
  const chars = [...name.trim()];
  if (chars.length === 0) return '';
  return chars.map((ch, i) => (i === 0 || ch === ' ' || chars[i - 1] === ' ' ? ch : '*')).join('');
}
