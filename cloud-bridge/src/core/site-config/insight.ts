import { z } from 'zod';

/*
 * cloud.yaml sites[].insight (#19, docs/visitor-data/insight.md): the rules that turn the
 * product-insight metrics into suggestions staff can read. Rules are data; without a `rules`
 * list the defaults below apply. `say` overrides the sentence ({value}, {threshold}, {type},
 * {reason}, {rule} are filled in).
 */

const share = (what: string) => z.number({ error: `${what} is a share from 0 to 1 (0.3 = 30 %)` }).min(0, `${what} is a share from 0 to 1`).max(1, `${what} is a share from 0 to 1`);
const say = z.object({ 'zh-CN': z.string().min(1).max(300), en: z.string().min(1).max(300) }).strict().optional();
/** Exactly one of above / below. */
const oneBound = (r: { above?: number | undefined; below?: number | undefined }) => (r.above === undefined) !== (r.below === undefined);
const BOUND_MSG = 'give exactly one of above, below';

const TypeShareRule = z
  .object({
    metric: z.literal('typeShare'),
    /** The catalogue ticket type id, e.g. family. */
    type: z.string().min(1),
    /** What the share is of: orders (default), persons or revenue. */
    by: z.enum(['orders', 'persons', 'revenue']).default('orders'),
    above: share('above'),
    say,
  })
  .strict();

const RefundReasonShareRule = z
  .object({
    metric: z.literal('refundReasonShare'),
    /** The catalogue refund reason code, e.g. schedule. */
    reason: z.string().min(1),
    above: share('above'),
    /** Fewer refunds than this in the period say nothing (a share of 3 refunds is noise). */
    minRefunds: z.number().int().min(1).default(5),
    say,
  })
  .strict();

const CouponUptakeRule = z
  .object({
    metric: z.literal('couponUptake'),
    /** One coupon rule id; absent: every coupon rule. */
    rule: z.string().min(1).optional(),
    below: share('below'),
    minIssued: z.number().int().min(1).default(20),
    say,
  })
  .strict();

const RepeatRateRule = z
  .object({ metric: z.literal('repeatRate'), above: share('above').optional(), below: share('below').optional(), say })
  .strict()
  .refine(oneBound, BOUND_MSG);

const SecondarySpendRule = z
  .object({ metric: z.literal('secondarySpendShare'), above: share('above').optional(), below: share('below').optional(), say })
  .strict()
  .refine(oneBound, BOUND_MSG);

export const InsightRuleSchema = z.discriminatedUnion('metric', [TypeShareRule, RefundReasonShareRule, CouponUptakeRule, RepeatRateRule, SecondarySpendRule], {
  error: 'metric must be one of typeShare, refundReasonShare, couponUptake, repeatRate, secondarySpendShare',
});
export type InsightRule = z.output<typeof InsightRuleSchema>;

/** The rules a site gets without its own list. */
export const DEFAULT_INSIGHT_RULES: InsightRule[] = [
  { metric: 'typeShare', type: 'family', by: 'orders', above: 0.3 },
  { metric: 'refundReasonShare', reason: 'schedule', above: 0.3, minRefunds: 5 },
  { metric: 'couponUptake', below: 0.1, minIssued: 20 },
  { metric: 'repeatRate', below: 0.05 },
  { metric: 'secondarySpendShare', below: 0.15 },
];

export const InsightConfigSchema = z
  .object({
    /** Suggestion rules; absent: DEFAULT_INSIGHT_RULES. An empty list turns suggestions off. */
    rules: z.array(InsightRuleSchema).max(100).optional(),
  })
  .strict();

export type InsightConfig = z.output<typeof InsightConfigSchema>;
