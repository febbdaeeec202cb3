import { z } from '@hono/zod-openapi';
import { DateSchema, HourBucketSchema } from '../../core/http/schemas.js';
import { InsightDaySectionSchema } from './insight-section.js';
import { ReconciliationSectionSchema } from './reconciliation-schema.js';

/** A name in both languages; the plain name beside it is in the `lang` asked for. */
const names = z.object({ 'zh-CN': z.string(), en: z.string() }).strict().optional();

/** Bodies of the report routes. */

const date = DateSchema;

export const ReportListSchema = z
  .object({
    site: z.string(),
    reports: z.array(z.object({ date: z.string(), generatedAt: z.string(), orders: z.number().int(), revenueFen: z.number().int(), entries: z.number().int() }).strict()),
  })
  .strict()
  .openapi('ReportList');

export const DailyReportSchema = z
  .object({
    v: z.literal(1),
    site: z.string(),
    siteName: z.string().optional().openapi({ description: 'The park\'s name in the `lang` asked for (absent when the catalogue has none: then `site`)' }),
    siteNames: names,
    date: z.string(),
    timeZone: z.string(),
    currency: z.literal('CNY'),
    generatedAt: z.string(),
    totals: z
      .object({ orders: z.number().int(), ticketsSold: z.number().int(), revenueFen: z.number().int(), refundedFen: z.number().int(), netRevenueFen: z.number().int(), refunds: z.number().int() })
      .strict(),
    byChannel: z.array(
      z
        .object({ channel: z.string(), name: z.string().optional(), names, orders: z.number().int(), persons: z.number().int(), revenueFen: z.number().int(), refundedFen: z.number().int(), share: z.number(), personsShare: z.number() })
        .strict(),
    ),
    entriesByHour: z.array(HourBucketSchema),
    peakHour: HourBucketSchema.nullable(),
    totalEntries: z.number().int(),
    refundsByReason: z.array(z.object({ reason: z.string(), label: z.string(), labels: names, count: z.number().int(), amountFen: z.number().int() }).strict()),
    typeMix: z.array(z.object({ typeId: z.string(), typeName: z.string(), typeNames: names, persons: z.number().int(), share: z.number() }).strict()),
    capacity: z.number().int().optional(),
    capacityUsed: z.number().optional(),
    reconciliation: ReconciliationSectionSchema.optional(),
    insight: InsightDaySectionSchema.optional(),
  })
  .strict()
  .openapi('DailyReport');

export const ReportParamSchema = z.object({ site: z.string().min(1).max(64), date });

export const ReportQuerySchema = z.object({ format: z.enum(['json', 'csv', 'html']).default('json'), lang: z.enum(['zh-CN', 'en']).default('zh-CN').openapi({ description: 'The language of the page and of the names (site, channels, ticket types, refund reasons) in every format' }) });
