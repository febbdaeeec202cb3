import { randomBytes } from 'node:crypto';
import { addDays } from '@stile/config';
import type { CloudErrorCode } from '../../core/errors.js';
import type { CouponTemplate } from '../../core/site-config/marketing.js';

/**
 * A coupon's terms as issued (a row of `coupons`, typed): pure checks and arithmetic, no I/O.
 * Money is integer fen; discounts are rounded down, never more than the price.
 */
export interface CouponTerms {
  code: string;
  idHash: string | null;
  kind: 'percent' | 'fixed' | 'free_item';
  percentOff: number | null;
  amountFen: number | null;
  item: string | null;
  appliesTo: 'ticket' | 'pos';
  validFrom: string;
  validTo: string;
  channels: string[] | null;
  stacking: 'exclusive' | 'stackable';
  state: 'issued' | 'held' | 'redeemed' | 'void';
  minSpendFen: number;
  categories: string[] | null;
}

/** What the coupon would be used for. */
export type CouponUse =
  | {
      on: 'ticket';
      channel: string;
      /** The day the ticket is for: the window is about the visit. */
      useDate: string;
      today: string;
      ownerHashes: readonly string[];
      amountFen: number;
      priceDiscounts: readonly unknown[];
      typeId: string;
      /** The price of one ticket (a free-item coupon takes one off). */
      unitFen: number;
      /** WeChat Pay / Alipay cannot take 0 fen: such an order may not become free. */
      providerMode: boolean;
    }
  | { on: 'pos'; source: string; useDate: string; idHash: string | null; amountFen: number; category: string };

export type TermsVerdict = { ok: true; discountFen: number } | { ok: false; code: CloudErrorCode; message: string };

const no = (code: CloudErrorCode, message: string): TermsVerdict => ({ ok: false, code, message });

/** Whether a coupon in the state `issued` may be used for `use`, and how much it takes off. */
export function checkTerms(c: CouponTerms, use: CouponUse): TermsVerdict {
  if (c.state === 'void') return no('coupon_void', `coupon ${c.code} was voided by park staff`);
  if (c.state === 'redeemed') return no('coupon_used', `coupon ${c.code} was already used`);
  if (c.state === 'held') return no('coupon_in_use', `coupon ${c.code} is held by another unpaid order; it comes back if that order is not paid`);
  if (c.appliesTo !== use.on) return no('coupon_not_applicable', c.appliesTo === 'pos' ? `coupon ${c.code} is for the park's restaurants and shops, not tickets` : `coupon ${c.code} is for tickets, not the POS`);
  const where = use.on === 'ticket' ? use.channel : use.source;
  if (c.channels && !c.channels.includes(where)) return no('coupon_not_for_channel', `coupon ${c.code} is only for ${c.channels.join(', ')}, not ${where}`);
  if (use.on === 'ticket' && use.today > c.validTo) return no('coupon_expired', `coupon ${c.code} was valid until ${c.validTo}`);
  if (use.useDate > c.validTo) return no('coupon_expired', `coupon ${c.code} is valid until ${c.validTo}, not on ${use.useDate}`);
  if (use.useDate < c.validFrom) return no('coupon_not_yet_valid', `coupon ${c.code} is valid from ${c.validFrom}, not on ${use.useDate}`);
  if (c.idHash !== null) {
    const mine = use.on === 'ticket' ? use.ownerHashes.includes(c.idHash) : use.idHash === c.idHash;
    if (!mine) return no('coupon_not_yours', use.on === 'ticket' ? `coupon ${c.code} belongs to a visitor who is not on this order` : use.idHash === null ? `coupon ${c.code} belongs to a visitor: name the visitor at checkout (member code, ticket QR or phone)` : `coupon ${c.code} belongs to another visitor`);
  }
  if (use.on === 'pos' && c.categories && !c.categories.includes(use.category)) return no('coupon_not_applicable', `coupon ${c.code} is for ${c.categories.join(', ')}, not ${use.category}`);
  if (use.on === 'ticket' && c.kind === 'free_item' && c.item !== use.typeId) return no('coupon_not_applicable', `coupon ${c.code} gives one "${c.item}" ticket free, not "${use.typeId}"`);
  if (use.amountFen < c.minSpendFen) return no('coupon_min_spend', `coupon ${c.code} needs a purchase of at least ${c.minSpendFen} fen; this one is ${use.amountFen}`, );
  if (use.on === 'ticket' && c.stacking === 'exclusive' && use.priceDiscounts.length > 0) return no('coupon_not_stackable', `coupon ${c.code} does not combine with the park's own discount on this price (early-bird, night, off-season)`);
  const discountFen = discountOf(c, use);
  if (use.on === 'ticket' && use.providerMode && discountFen >= use.amountFen) return no('coupon_not_applicable', `coupon ${c.code} would make this order free, and WeChat Pay / Alipay cannot take 0 fen; buy it on the kiosk or at the ticket office`);
  return { ok: true, discountFen };
}

/** The money off, rounded down, never more than the amount. */
export function discountOf(c: Pick<CouponTerms, 'kind' | 'percentOff' | 'amountFen'>, use: { amountFen: number; on: 'ticket' | 'pos'; unitFen?: number }): number {
  const off = c.kind === 'percent' ? Math.floor((use.amountFen * (c.percentOff ?? 0)) / 100) : c.kind === 'fixed' ? (c.amountFen ?? 0) : use.on === 'ticket' ? (use.unitFen ?? 0) : (c.amountFen ?? 0);
  return Math.max(0, Math.min(use.amountFen, off));
}

/** The days a coupon of `t` issued on `issueDate` is valid (inclusive). A rule may give its own window (the weekend offer). */
export function windowOf(t: Pick<CouponTemplate, 'validDays' | 'validFrom' | 'validTo'>, issueDate: string): { from: string; to: string } {
  if (t.validDays !== undefined) return { from: issueDate, to: addDays(issueDate, t.validDays - 1) };
  return { from: t.validFrom!, to: t.validTo! };
}

const ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ'; // no 0/O, 1/I/L: read out at a till

/** A new coupon code: "C" and 12 characters (≈ 59 bits), unguessable, easy to type. */
export function newCouponCode(): string {
  const bytes = randomBytes(12);
  let s = 'C';
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
  return s;
}

/** Codes are typed by people: case and spaces do not matter. */
export function normalizeCode(code: string): string {
  return code.replace(/[\s-]/g, '').toUpperCase();
}

/** A template's terms for a new coupon row (without code, owner, window, state). */
export function termsOfTemplate(t: CouponTemplate): { kind: string; percent_off: number | null; amount_fen: number | null; item: string | null; applies_to: string; channels: string | null; stacking: string; min_spend_fen: number; categories: string | null; template: string } {
  return {
    kind: t.kind === 'freeItem' ? 'free_item' : t.kind,
    percent_off: t.kind === 'percent' ? (t.percentOff ?? null) : null,
    amount_fen: t.amountFen ?? null,
    item: t.item ?? null,
    applies_to: t.appliesTo,
    channels: t.channels ? JSON.stringify(t.channels) : null,
    stacking: t.stacking,
    min_spend_fen: t.minSpendFen,
    categories: t.categories ? JSON.stringify(t.categories) : null,
    template: t.id,
  };
}
