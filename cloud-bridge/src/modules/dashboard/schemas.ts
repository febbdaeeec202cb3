import { z } from '@hono/zod-openapi';
import { HourBucketSchema, LevelSchema, NullableStringSchema } from '../../core/http/schemas.js';

/** The dashboard model as the staff API documents it. */

export const DashboardModelSchema = z
  .object({
    site: z.string(),
    siteName: z.object({ 'zh-CN': z.string(), en: z.string() }).strict().openapi({ description: "The park's name in both languages (the site id when the catalogue has none)" }),
    date: z.string(),
    timeZone: z.string(),
    capacity: z
      .object({
        daily: z.number().int(),
        load: z.number().int(),
        admitted: z.number().int(),
        soldToday: z.number().int(),
        percent: z.number().int(),
        level: LevelSchema,
        thresholds: z.object({ yellow: z.number(), orange: z.number(), red: z.number() }).strict(),
      })
      .strict(),
    gates: z.array(
      z
        .object({ gate: z.string(), online: z.boolean(), state: NullableStringSchema, outboxDepth: z.number().int().nullable(), devices: z.record(z.string(), z.string()), statusAt: NullableStringSchema })
        .strict(),
    ),
    channels: z.array(
      z.object({ id: z.string(), name: z.string(), names: z.object({ 'zh-CN': z.string(), en: z.string() }).strict().optional(), kind: z.enum(['online', 'kiosk']), paused: z.boolean(), by: NullableStringSchema, reason: NullableStringSchema, at: NullableStringSchema }).strict(),
    ),
    entriesByHour: z.array(HourBucketSchema),
    alerts: z.array(z.object({ at: z.string(), kind: z.string(), level: LevelSchema.optional(), message: z.object({ zh: z.string(), en: z.string() }).strict() }).strict()),
    conflicts: z.array(z.object({ ticketId: z.string(), firstGate: NullableStringSchema, secondGate: z.string(), detectedAt: z.string() }).strict()),
    cloud: z.object({ ready: z.boolean(), problems: z.array(z.string()) }).strict(),
    updatedAt: z.string(),
  })
  .strict()
  .openapi('DashboardModel');
