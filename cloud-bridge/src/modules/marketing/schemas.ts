import { z } from '@hono/zod-openapi';
import { DateSchema } from '../../core/http/schemas.js';

const idHash = z.string().regex(/^[0-9a-f]{64}$/, 'the keyed ID hash: 64 lower-case hex characters').openapi({ description: "A visitor: the keyed hash of the ID number (HMAC-SHA256 under the site's ID hash key), never the number" });

export const CouponListQuerySchema = z
  .object({
    state: z.enum(['issued', 'held', 'redeemed', 'void']).optional(),
    rule: z.string().max(60).optional().openapi({ description: 'The issuing rule id, or `manual`' }),
    visitor: idHash.optional(),
    from: DateSchema.optional().openapi({ description: 'Issued on or after this day (UTC date of issued_at)' }),
    to: DateSchema.optional().openapi({ description: 'Issued before the end of this day' }),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

export const CouponSchema = z
  .object({
    code: z.string(),
    rule: z.string().openapi({ description: 'The issuing rule, or `manual` (staff)' }),
    template: z.string().nullable(),
    visitor: z.string().nullable().openapi({ description: 'The owner (keyed ID hash); null: anyone holding the code may use it' }),
    kind: z.enum(['percent', 'fixed', 'free_item']),
    percentOff: z.number().int().nullable(),
    amountFen: z.number().int().nullable(),
    item: z.string().nullable(),
    appliesTo: z.enum(['ticket', 'pos']),
    categories: z.array(z.string()).nullable(),
    channels: z.array(z.string()).nullable(),
    stacking: z.enum(['exclusive', 'stackable']),
    minSpendFen: z.number().int(),
    validFrom: z.string(),
    validTo: z.string(),
    state: z.enum(['issued', 'held', 'redeemed', 'void']),
    issuedAt: z.string(),
    heldBy: z.string().nullable().openapi({ description: 'The unpaid order holding it' }),
    redeemedAt: z.string().nullable(),
    redeemedVia: z.string().nullable().openapi({ description: 'The sales channel, or pos:<source>' }),
    redeemedRef: z.string().nullable().openapi({ description: 'The order id, or the POS line' }),
    discountFen: z.number().int().nullable(),
  })
  .strict()
  .openapi('Coupon');

export const CouponListSchema = z
  .object({
    site: z.string(),
    counts: z.array(z.object({ state: z.string(), coupons: z.number().int(), discountFen: z.number().int() }).strict()).openapi({ description: 'Every coupon of the site by state, and the money redeemed ones took off' }),
    coupons: z.array(CouponSchema),
  })
  .strict();

export const IssueCouponSchema = z
  .object({
    template: z.string().min(1).max(40).openapi({ description: 'A coupon template of cloud.yaml marketing.coupons' }),
    visitor: idHash.optional().openapi({ description: 'The owner; absent: a bearer coupon anyone with the code may use once' }),
    validFrom: DateSchema.optional().openapi({ description: "Overrides the template's window (with validTo)" }),
    validTo: DateSchema.optional(),
    staff: z.string().max(60).optional().openapi({ description: 'Who issued it (logged)' }),
  })
  .strict();

export const CouponParamSchema = z.object({ site: z.string().min(1).max(64), code: z.string().min(4).max(32) });

export const MembershipSchema = z
  .object({
    site: z.string(),
    afterVisits: z.number().int().nullable().openapi({ description: 'Admitted visits that make a visitor a member (null: no automatic membership)' }),
    members: z.number().int(),
    newLast30Days: z.number().int(),
    profiles: z.number().int().openapi({ description: 'Visitor profiles at the site' }),
  })
  .strict();
