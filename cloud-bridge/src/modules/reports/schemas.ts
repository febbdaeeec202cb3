import { z } from '@hono/zod-openapi';
import { DateSchema, HourBucketSchema } from '../../core/http/schemas.js';

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
    siteName: z.string().optional(),
    date: z.string(),
    timeZone: z.string(),
    currency: z.literal('CNY'),
    generatedAt: z.string(),
    totals: z
      .object({ orders: z.number().int(), ticketsSold: z.number().int(), revenueFen: z.number().int(), refundedFen: z.number().int(), netRevenueFen: z.number().int(), refunds: z.number().int() })
      .strict(),
    byChannel: z.array(
      z
        .object({ channel: z.string(), orders: z.number().int(), persons: z.number().int(), revenueFen: z.number().int(), refundedFen: z.number().int(), share: z.number(), personsShare: z.number() })
        .strict(),
    ),
    entriesByHour: z.array(HourBucketSchema),
    peakHour: HourBucketSchema.nullable(),
    totalEntries: z.number().int(),
    refundsByReason: z.array(z.object({ reason: z.string(), label: z.string(), count: z.number().int(), amountFen: z.number().int() }).strict()),
    typeMix: z.array(z.object({ typeId: z.string(), typeName: z.string(), persons: z.number().int(), share: z.number() }).strict()),
    capacity: z.number().int().optional(),
    capacityUsed: z.number().optional(),
  })
  .strict()
  .openapi('DailyReport');

export const ReportParamSchema = z.object({ site: z.string().min(1).max(64), date });

export const ReportQuerySchema = z.object({ format: z.enum(['json', 'csv', 'html']).default('json'), lang: z.enum(['zh-CN', 'en']).default('zh-CN') });
