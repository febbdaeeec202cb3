import { z } from '@hono/zod-openapi';

/** Request and reply bodies of the channel API; the OpenAPI document at /docs is generated from these. */

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
const date = DateSchema;

export const IdempotencyHeaderSchema = z.object({
  'idempotency-key': z
    .string()
    .min(8, 'Idempotency-Key: 8–100 characters')
    .max(100, 'Idempotency-Key: 8–100 characters')
    .openapi({ description: 'Unique per write; a retry with the same key and body gets the same answer, never a second order.', example: 'wx-20261205-000123' }),
});

export const AvailabilityQuerySchema = z.object({ date });

export const VisitorSchema = z
  .object({
    name: z.string().min(1).max(50).openapi({ example: '张三' }),
    idNumber: z.string().min(1).max(32).openapi({ description: 'Resident ID number (GB 11643, 18 characters): check digit, province-level region code and a birth date that is real and not in the future are checked (422 invalid_id_number). Stored only as a keyed hash and a masked form.', example: '11010519491231002X' }),
  })
  .strict();

export const CreateOrderSchema = z
  .object({
    typeId: z.string().min(1).max(64).openapi({ example: 'adult' }),
    date,
    slotId: z.string().min(1).max(64).optional().openapi({ example: 's0800' }),
    entry: z.enum(['early', 'night']).optional().openapi({ description: 'Early-bird or night entry: cheaper, admitted only in that window.' }),
    contactPhone: z.string().regex(/^1\d{10}$/, 'contactPhone: an 11-digit mainland mobile number').openapi({ example: '13800138000' }),
    visitors: z.array(VisitorSchema).min(1).max(50).openapi({ description: 'One per person (real name). A family package takes its size in visitors per ticket.' }),
  })
  .strict();
export type CreateOrderBody = z.infer<typeof CreateOrderSchema>;

export const PaySchema = z
  .object({
    paymentRef: z.string().min(1).max(100).openapi({ description: "The payment provider's transaction id.", example: 'wxpay-4200001234' }),
    amountFen: z.number().int().min(0).openapi({ description: 'Amount paid in fen; must equal the order amount.', example: 8000 }),
  })
  .strict();
export type PayBody = z.infer<typeof PaySchema>;

export const RefundSchema = z.object({ reason: z.string().min(1).max(64).openapi({ description: "A code from the park's refund reasons.", example: 'weather' }) }).strict();
export type RefundBody = z.infer<typeof RefundSchema>;

export const RebookSchema = z.object({ date, slotId: z.string().min(1).max(64).optional() }).strict();
export type RebookBody = z.infer<typeof RebookSchema>;

export const PauseSchema = z
  .object({
    by: z.string().min(1).max(64).openapi({ description: 'Who (staff name or id), for the audit log.', example: 'staff:li' }),
    reason: z.string().min(1).max(200).openapi({ example: 'Queue at the east gate' }),
  })
  .strict();

/* ---------- replies ---------- */

const money = z.number().int().min(0);
const seq = z.string().regex(/^\d+$/).openapi({ description: 'The whitelist delta that carries the change to every gate' });
const replayed = z.literal(true).optional().openapi({ description: 'Present on the answer to a retried write: the stored answer of the first' });
const DiscountSchema = z.object({ rule: z.enum(['earlyBird', 'night', 'offSeasonWeekend']), percentOff: z.number().int() }).strict();
const EntryWindowSchema = z.object({ from: z.string(), to: z.string() }).strict();
const PricingSchema = z.object({ unitFen: money, baseFen: money, discounts: z.array(DiscountSchema), entryWindow: EntryWindowSchema.optional() }).strict();
const level = z.enum(['green', 'yellow', 'orange', 'red']);

export const AvailabilitySchema = z
  .object({
    site: z.string(),
    channel: z.string(),
    date: z.string(),
    open: z.boolean().openapi({ description: 'This channel can sell for the date now (not paused, places left)' }),
    paused: z.boolean(),
    capacity: z
      .object({
        daily: z.number().int(),
        sold: z.number().int().openapi({ description: 'Visitors sold for the day, all channels' }),
        remaining: z.number().int().openapi({ description: 'Visitors this channel may still sell for the day' }),
        percent: z.number().int(),
        level: level.optional().openapi({ description: "Today only: the park's announced level" }),
      })
      .strict(),
    almostFull: z.boolean().openapi({ description: 'The day is at yellow or above, or this channel has at most 10 % of its day left' }),
    slots: z.array(
      z
        .object({
          slotId: z.string(),
          start: z.string(),
          end: z.string(),
          quota: z.number().int(),
          remaining: z.number().int().openapi({ description: 'Visitors this channel may still sell in the slot' }),
          almostFull: z.boolean().openapi({ description: 'Open (quota > 0) and at most 10 % of its quota (at least 1) left, counting the day limit' }),
        })
        .strict(),
    ),
    types: z.array(
      z
        .object({
          typeId: z.string(),
          name: z.string(),
          persons: z.number().int().openapi({ description: 'Visitors per ticket' }),
          unitFen: money.optional(),
          discounts: z.array(DiscountSchema).optional(),
          available: z.literal(false).optional(),
          reason: z.string().optional(),
        })
        .strict(),
    ),
    realName: z
      .object({ ticketsPerIdPerDay: z.number().int(), bookingHorizonDays: z.number().int(), lastDate: z.string().openapi({ description: 'The last date sold now' }) })
      .strict(),
  })
  .strict()
  .openapi('Availability');

/** The fields an order has from its creation on (OrderCreated and Order each add theirs). */
const orderCore = {
  orderId: z.string(),
  typeId: z.string(),
  date: z.string(),
  slotId: z.string().nullable(),
  persons: z.number().int().openapi({ description: 'Visitors in the order' }),
  amountFen: money,
  pricing: PricingSchema,
};

export const OrderCreatedSchema = z
  .object({
    ...orderCore,
    status: z.literal('pending'),
    visitors: z.array(z.object({ name: z.string(), idMasked: z.string() }).strict()),
    replayed,
  })
  .strict()
  .openapi('OrderCreated');

export const OrderSchema = z
  .object({
    ...orderCore,
    status: z.enum(['pending', 'paid', 'refunded', 'expired']),
    visitors: z.array(z.object({ name: z.string(), idMasked: z.string(), ticketId: z.string().nullable() }).strict()),
    tickets: z.array(z.object({ ticketId: z.string(), code: z.string(), persons: z.number().int().openapi({ description: 'Visitors admitted on the ticket' }) }).strict()),
    paidAt: z.string().nullable(),
    refundedAt: z.string().nullable(),
    refundReason: z.string().nullable(),
    whitelistSeq: seq.optional(),
    replayed,
  })
  .strict()
  .openapi('Order');

export const RefundedSchema = z
  .object({ orderId: z.string(), status: z.literal('refunded'), refundFen: money, reason: z.string(), whitelistSeq: seq, replayed })
  .strict()
  .openapi('Refunded');

export const ChannelStateSchema = z
  .object({ site: z.string(), channel: z.string(), paused: z.boolean(), by: z.string(), reason: z.string(), at: z.string() })
  .strict()
  .openapi('ChannelState');

export const AuditLogSchema = z
  .object({ site: z.string(), entries: z.array(z.object({ at: z.string(), actor: z.string(), action: z.string(), target: z.string(), reason: z.string() }).strict()) })
  .strict()
  .openapi('AuditLog');

export const ReportListSchema = z
  .object({
    site: z.string(),
    reports: z.array(z.object({ date: z.string(), generatedAt: z.string(), orders: z.number().int(), revenueFen: z.number().int(), entries: z.number().int() }).strict()),
  })
  .strict()
  .openapi('ReportList');

const hourBucket = z.object({ hour: z.number().int(), persons: z.number().int() }).strict();
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
    entriesByHour: z.array(hourBucket),
    peakHour: hourBucket.nullable(),
    totalEntries: z.number().int(),
    refundsByReason: z.array(z.object({ reason: z.string(), label: z.string(), count: z.number().int(), amountFen: z.number().int() }).strict()),
    typeMix: z.array(z.object({ typeId: z.string(), typeName: z.string(), persons: z.number().int(), share: z.number() }).strict()),
    capacity: z.number().int().optional(),
    capacityUsed: z.number().optional(),
  })
  .strict()
  .openapi('DailyReport');

const nullableString = z.string().nullable();
export const DashboardModelSchema = z
  .object({
    site: z.string(),
    date: z.string(),
    timeZone: z.string(),
    capacity: z
      .object({
        daily: z.number().int(),
        load: z.number().int(),
        admitted: z.number().int(),
        soldToday: z.number().int(),
        percent: z.number().int(),
        level,
        thresholds: z.object({ yellow: z.number(), orange: z.number(), red: z.number() }).strict(),
      })
      .strict(),
    gates: z.array(
      z
        .object({ gate: z.string(), online: z.boolean(), state: nullableString, outboxDepth: z.number().int().nullable(), devices: z.record(z.string(), z.string()), statusAt: nullableString })
        .strict(),
    ),
    channels: z.array(
      z.object({ id: z.string(), name: z.string(), kind: z.enum(['online', 'kiosk']), paused: z.boolean(), by: nullableString, reason: nullableString, at: nullableString }).strict(),
    ),
    entriesByHour: z.array(hourBucket),
    alerts: z.array(z.object({ at: z.string(), kind: z.string(), level: level.optional(), message: z.object({ zh: z.string(), en: z.string() }).strict() }).strict()),
    conflicts: z.array(z.object({ ticketId: z.string(), firstGate: nullableString, secondGate: z.string(), detectedAt: z.string() }).strict()),
    cloud: z.object({ ready: z.boolean(), problems: z.array(z.string()) }).strict(),
    updatedAt: z.string(),
  })
  .strict()
  .openapi('DashboardModel');

export const OrderIdParamSchema = z.object({ orderId: z.string().min(1).max(64) });
export const SiteParamSchema = z.object({ site: z.string().min(1).max(64) });
export const ReportParamSchema = z.object({ site: z.string().min(1).max(64), date });
export const ReportQuerySchema = z.object({ format: z.enum(['json', 'csv', 'html']).default('json'), lang: z.enum(['zh-CN', 'en']).default('zh-CN') });
export const ChannelParamSchema = z.object({ site: z.string().min(1).max(64), channel: z.string().min(1).max(64) });
