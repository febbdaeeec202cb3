import { z } from 'zod';

const id = z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, _ and - (1–40)');
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD');
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM');
const fen = z.number().int().min(0);

/**
 * A coupon template: what a coupon takes off and where it may be used. Coupons copy their
 * template's terms when issued (a later change of cloud.yaml does not change issued coupons).
 */
export const CouponTemplateSchema = z
  .object({
    id,
    /** percent: percentOff of the price; fixed: amountFen off; freeItem: one `item` free (a ticket type id for ticket coupons, a dish or souvenir at the POS, worth at most amountFen there). */
    kind: z.enum(['percent', 'fixed', 'freeItem']),
    percentOff: z.number().int().min(1).max(100).optional(),
    amountFen: fen.optional(),
    item: z.string().min(1).max(60).optional(),
    /** ticket: an order of the channel API or booking page (couponCode); pos: a checkout at the park's restaurants and shops. */
    appliesTo: z.enum(['ticket', 'pos']),
    /** POS coupons: only these POS categories (restaurant, shop…); absent: any. */
    categories: z.array(z.string().min(1)).min(1).optional(),
    /** Valid for this many days from the day it is issued (1: that day only)… */
    validDays: z.number().int().min(1).max(3660).optional(),
    /** …or between these dates (park-local, inclusive). */
    validFrom: date.optional(),
    validTo: date.optional(),
    /** Ticket coupons: only on these sales channels; POS coupons: only at these POS sources. Absent: everywhere. */
    channels: z.array(z.string().min(1)).min(1).optional(),
    /** exclusive: not on a price that already has a park discount (early-bird, night, off-season); stackable: taken off that discounted price. Two coupons on one order: never. */
    stacking: z.enum(['exclusive', 'stackable']).default('exclusive'),
    /** The order (ticket) or checkout (POS) must cost at least this much before the coupon. */
    minSpendFen: fen.default(0),
    /** The coupon's name in the visitor's SMS. */
    name: z.object({ 'zh-CN': z.string().min(1), en: z.string().min(1) }).partial().optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.kind === 'percent' && t.percentOff === undefined) ctx.addIssue({ code: 'custom', path: ['percentOff'], message: 'a percent coupon needs percentOff' });
    if (t.kind === 'fixed' && !t.amountFen) ctx.addIssue({ code: 'custom', path: ['amountFen'], message: 'a fixed coupon needs amountFen > 0' });
    if (t.kind === 'freeItem' && !t.item) ctx.addIssue({ code: 'custom', path: ['item'], message: 'a freeItem coupon needs item' });
    if (t.kind === 'freeItem' && t.appliesTo === 'pos' && !t.amountFen) ctx.addIssue({ code: 'custom', path: ['amountFen'], message: 'a POS freeItem coupon needs amountFen: what the item is worth at most' });
    if (t.categories && t.appliesTo !== 'pos') ctx.addIssue({ code: 'custom', path: ['categories'], message: 'categories are for POS coupons' });
    const dated = t.validFrom !== undefined || t.validTo !== undefined;
    if (dated === (t.validDays !== undefined)) ctx.addIssue({ code: 'custom', path: ['validDays'], message: 'give validDays, or validFrom and validTo' });
    if (dated && (t.validFrom === undefined || t.validTo === undefined)) ctx.addIssue({ code: 'custom', path: ['validTo'], message: 'validFrom and validTo go together' });
    if (t.validFrom && t.validTo && t.validFrom > t.validTo) ctx.addIssue({ code: 'custom', path: ['validTo'], message: 'validTo is before validFrom' });
  });

const ruleBase = { id, template: id, enabled: z.boolean().default(true) };

/** Issuing rules: data the rule engine evaluates every minute (modules/marketing/rules.ts). */
export const CouponRuleSchema = z.discriminatedUnion('kind', [
  /** Visitors admitted today who bought only a ticket (no POS line today) get a coupon from `at` on, before they leave. */
  z.object({ ...ruleBase, kind: z.literal('ticketOnly'), at: hhmm, until: hhmm.default('23:59') }).strict(),
  /** After the visitor's (n-1)th admitted visit, a coupon for the nth ("third visit half price": n 3); `repeat`: again every n visits. */
  z.object({ ...ruleBase, kind: z.literal('nthVisit'), n: z.number().int().min(2).max(100), repeat: z.boolean().default(false) }).strict(),
  /**
   * Off-season weekend offer: `daysBefore` days before a weekend Saturday of `months`, at `at`, when
   * the forecast says sunny for both days, visitors living within `withinKm` get a coupon valid that weekend.
   */
  z
    .object({
      ...ruleBase,
      kind: z.literal('offSeasonWeekendWeather'),
      months: z.array(z.number().int().min(1).max(12)).min(1),
      withinKm: z.number().positive(),
      daysBefore: z.number().int().min(0).max(6).default(2),
      at: hhmm.default('10:00'),
      /** Forecast conditions that count as fine weather. */
      sunny: z.array(z.string().min(1)).min(1).default(['sunny', 'clear']),
      /** Only visitors seen within this many days (absent: every profile with consent). */
      visitedWithinDays: z.number().int().min(1).optional(),
    })
    .strict(),
]);

export const MarketingConfigSchema = z
  .object({
    coupons: z.array(CouponTemplateSchema).default([]),
    rules: z.array(CouponRuleSchema).default([]),
    /** Automatic membership after this many admitted visits (absent: no automatic membership). */
    membership: z.object({ afterVisits: z.number().int().min(1).max(1000) }).strict().optional(),
    /** File-based weather forecast (JSON or YAML: { "2027-01-09": "sunny", … }) for offSeasonWeekendWeather. */
    weather: z.object({ file: z.string().min(1) }).strict().optional(),
    /** Base URL put before the opt-out path in messages (default: the path alone). */
    publicUrl: z.string().url().optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    const ids = new Set<string>();
    m.coupons.forEach((t, i) => {
      if (ids.has(t.id)) ctx.addIssue({ code: 'custom', path: ['coupons', i, 'id'], message: `template "${t.id}" twice` });
      ids.add(t.id);
    });
    const rules = new Set<string>();
    m.rules.forEach((r, i) => {
      if (rules.has(r.id)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `rule "${r.id}" twice` });
      rules.add(r.id);
      const t = m.coupons.find((c) => c.id === r.template);
      if (!t) ctx.addIssue({ code: 'custom', path: ['rules', i, 'template'], message: `no coupon template "${r.template}"` });
      else if (r.kind === 'nthVisit' && t.appliesTo !== 'ticket') ctx.addIssue({ code: 'custom', path: ['rules', i, 'template'], message: 'an nthVisit rule issues a ticket coupon' });
      else if (r.kind === 'offSeasonWeekendWeather' && t.appliesTo !== 'ticket') ctx.addIssue({ code: 'custom', path: ['rules', i, 'template'], message: 'a weekend offer issues a ticket coupon' });
    });
    if (m.rules.some((r) => r.kind === 'offSeasonWeekendWeather' && r.enabled) && !m.weather) ctx.addIssue({ code: 'custom', path: ['weather'], message: 'an offSeasonWeekendWeather rule needs a weather forecast (weather.file)' });
  });

export type MarketingConfig = z.output<typeof MarketingConfigSchema>;
export type CouponTemplate = z.output<typeof CouponTemplateSchema>;
export type CouponRule = z.output<typeof CouponRuleSchema>;
