import { z } from '@hono/zod-openapi';

/** Bodies of the insight routes (the JSON of model.ts's InsightReport). */

const text = z.object({ 'zh-CN': z.string(), en: z.string() }).strict();
const share = z.number().min(0).max(1);
const int = z.number().int();

export const SuggestionSchema = z
  .object({ metric: z.string(), subject: z.string().optional(), value: z.number(), threshold: z.number(), direction: z.enum(['above', 'below']), text, note: text.optional() })
  .strict()
  .openapi('InsightSuggestion');

export const InsightReportSchema = z
  .object({
    v: z.literal(1),
    site: z.string(),
    period: z.object({ label: z.string(), kind: z.enum(['day', 'week', 'month', 'range']), from: z.string(), to: z.string() }).strict(),
    previous: z.object({ from: z.string(), to: z.string() }).strict(),
    timeZone: z.string(),
    generatedAt: z.string(),
    minGroup: int.openapi({ description: 'Small-cell threshold k (sites[].visitors.minGroup): no visitor group under k is shown' }),
    typeMix: z.array(z.object({ typeId: z.string(), name: text, orders: int, persons: int, revenueFen: int, orderShare: share, personShare: share, revenueShare: share }).strict()),
    refundWeeks: z.array(z.string()).openapi({ description: 'ISO weeks of the period (YYYY-Www), the x axis of byWeek' }),
    refundReasons: z.array(z.object({ reason: z.string(), label: text, count: int, share, byWeek: z.array(int) }).strict()),
    refundsTotal: int,
    repeat: z
      .object({
        visitors: int.nullable(),
        repeaters: int.nullable(),
        rate: share.nullable().openapi({ description: 'Visitors with two or more admitted visits up to the period end / visitors admitted in the period; null under k' }),
        byAgeBand: z.array(z.object({ band: z.string(), visitors: int, repeaters: int.nullable(), rate: share.nullable() }).strict()),
        otherBands: z.object({ groups: int, visitors: int.nullable() }).strict().nullable(),
      })
      .strict(),
    coupons: z.array(
      z
        .object({
          ruleId: z.string(),
          issued: int,
          redeemed: int,
          uptake: share.nullable(),
          discountFen: int,
          orders: int,
          orderRevenueFen: int,
          posLines: int,
          posRevenueFen: int,
          revenuePerCouponFen: int.nullable(),
        })
        .strict(),
    ),
    secondarySpend: z.object({ ticketFen: int, posFen: int, posLines: int, share: share.nullable() }).strict(),
    peakHours: z
      .object({
        current: z.array(int).length(24),
        previous: z.array(int).length(24),
        windows: z.array(z.object({ kind: z.enum(['early', 'night']), rule: z.string(), share: share.nullable(), previousShare: share.nullable(), shift: z.number().nullable() }).strict()),
      })
      .strict(),
    suggestions: z.array(SuggestionSchema),
  })
  .strict()
  .openapi('InsightReport');

export const InsightPeriodParamSchema = z.object({
  site: z.string().min(1).max(64),
  period: z.string().min(1).max(32).openapi({ description: 'YYYY-Www (ISO week), YYYY-MM (month) or YYYY-MM-DD (day)', example: '2027-03' }),
});

const format = z.enum(['json', 'csv', 'html']).default('json');
const lang = z.enum(['zh-CN', 'en']).default('zh-CN');

export const InsightQuerySchema = z.object({ format, lang });
export const InsightRangeQuerySchema = z.object({ from: z.string().openapi({ example: '2027-03-01' }), to: z.string().openapi({ example: '2027-08-31' }), format, lang });
