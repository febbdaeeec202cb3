import { z } from '@hono/zod-openapi';

/** What every route's schemas share: dates, the idempotency header, the site parameter. Each module keeps its own bodies in its schemas.ts; the OpenAPI document at /docs is generated from them. */

/** The message of every date that is not a calendar date: the API answers it as `400 invalid_date`. */
export const NOT_A_DATE = 'expected a calendar date YYYY-MM-DD';

/** "YYYY-MM-DD" that names a real day (2027-02-30 does not). */
export function isCalendarDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/** A calendar date; anything else is refused as `invalid_date` (see NOT_A_DATE). */
export const DateSchema = z
  .string()
  .refine(isCalendarDate, NOT_A_DATE)
  .openapi({ description: 'A calendar date YYYY-MM-DD (park time); anything else is `400 invalid_date`', example: '2026-12-05', pattern: '^\\d{4}-\\d{2}-\\d{2}$' });

export const IdempotencyHeaderSchema = z.object({
  'idempotency-key': z
    .string()
    .min(8, 'Idempotency-Key: 8–100 characters')
    .max(100, 'Idempotency-Key: 8–100 characters')
    .openapi({ description: 'Unique per write; a retry with the same key and body gets the same answer, never a second order.', example: 'wx-20261205-000123' }),
});

export const SiteParamSchema = z.object({ site: z.string().min(1).max(64) });

/** A capacity level (green → red), as every route shows it. */
export const LevelSchema = z.enum(['green', 'yellow', 'orange', 'red']);

/** Persons in one hour of the day (0–23, park time). */
export const HourBucketSchema = z.object({ hour: z.number().int(), persons: z.number().int() }).strict();

export const NullableStringSchema = z.string().nullable();
