import { z } from '@hono/zod-openapi';
import { DateSchema, LevelSchema } from '../../core/http/schemas.js';

/** Request and reply bodies of the channel API (the OpenAPI document is generated from these). */

const date = DateSchema;

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
    lang: z.enum(['zh-CN', 'en']).optional().openapi({ description: "The visitor's language: the check-in SMS is sent in it (default: the site's SMS language)" }),
    couponCode: z.string().min(4).max(32).optional().openapi({ description: 'A coupon of the park (docs/visitor-data.md): held by the order, redeemed when it is paid, given back if it expires; refused with its reason (422 coupon_*)' }),
    marketingConsent: z.boolean().optional().openapi({ description: 'The visitor agreed (true) or declined (false) to marketing messages (coupons, offers) by SMS; absent: not asked, nothing is sent' }),
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

export const RefundSchema = z
  .object({
    reason: z.string().min(1).max(64).openapi({ description: "A code from the park's refund reasons.", example: 'weather' }),
    staff: z.string().min(1).max(64).optional().openapi({ description: "Who at the channel gave the refund (a staffed window's staff id): logged with it" }),
  })
  .strict();

export type RefundBody = z.infer<typeof RefundSchema>;

/** The staffed window's lookup: the keyed hash of a visitor's ID number (the site's ID hash key, as gates and orders use), never the number. */
export const VisitorLookupSchema = z.object({ idHash: z.string().regex(/^[0-9a-f]{64}$/, 'idHash: the HMAC-SHA256 of the ID number under the site key, 64 hex digits').openapi({ description: 'HMAC-SHA256 (hex) of the normalised ID number under the site\'s ID hash key' }) }).strict();

export type VisitorLookupBody = z.infer<typeof VisitorLookupSchema>;

const localLabel = z.object({ 'zh-CN': z.string(), en: z.string() });

export const VisitorOrdersSchema = z
  .object({
    date: z.string(),
    orders: z.array(
      z.object({
        orderId: z.string(),
        channelId: z.string().openapi({ description: 'The channel that sold it: refunds go through that channel' }),
        status: z.enum(['pending', 'paid', 'refunded', 'expired']),
        typeId: z.string(),
        date: z.string(),
        slotId: z.string().nullable(),
        persons: z.number().int(),
        amountFen: z.number().int(),
        visitors: z.array(z.object({ name: z.string(), idMasked: z.string() })),
        tickets: z.array(z.object({ ticketId: z.string(), code: z.string(), persons: z.number().int() })),
        canRefund: z.boolean(),
      }),
    ),
    refundReasons: z.array(z.object({ code: z.string(), label: localLabel })),
  })
  .openapi('VisitorOrders');

export const RebookSchema = z.object({ date, slotId: z.string().min(1).max(64).optional() }).strict();

export type RebookBody = z.infer<typeof RebookSchema>;

const money = z.number().int().min(0);

const seq = z.string().regex(/^\d+$/).openapi({ description: 'The whitelist delta that carries the change to every gate' });

/** A provider-mode refund: committed (requested), accepted by the provider (processing), money back (succeeded), or refused (failed: staff act). */
export const RefundStateSchema = z
  .enum(['requested', 'processing', 'succeeded', 'failed'])
  .openapi({ description: 'Provider mode: the money on its way back — requested (recorded, being sent to the provider), processing (accepted), succeeded (back with the visitor), failed (refused by the provider; park staff are alerted)' });

const replayed = z.literal(true).optional().openapi({ description: 'Present on the answer to a retried write: the stored answer of the first' });

const DiscountSchema = z.object({ rule: z.enum(['earlyBird', 'night', 'offSeasonWeekend']), percentOff: z.number().int() }).strict();

const EntryWindowSchema = z.object({ from: z.string(), to: z.string() }).strict();

const PricingSchema = z.object({ unitFen: money, baseFen: money, discounts: z.array(DiscountSchema), entryWindow: EntryWindowSchema.optional() }).strict();

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
        level: LevelSchema.optional().openapi({ description: "Today only: the park's announced level" }),
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
          name: z.string().openapi({ description: 'The zh-CN name (see `names`)' }),
          names: z.object({ 'zh-CN': z.string(), en: z.string() }).strict().openapi({ description: 'The name in both languages' }),
          persons: z.number().int().openapi({ description: 'Visitors per ticket' }),
          unitFen: money.optional(),
          discounts: z.array(DiscountSchema).optional(),
          slotPrices: z
            .array(z.object({ slotId: z.string(), unitFen: money, discounts: z.array(DiscountSchema) }).strict())
            .optional()
            .openapi({ description: 'Slots whose times earn another price (early-bird before, night after): only those that differ from `unitFen`' }),
          entryPrices: z
            .array(z.object({ entry: z.enum(['early', 'night']), unitFen: money, discounts: z.array(DiscountSchema) }).strict())
            .optional()
            .openapi({ description: 'The price with an early-bird or night entry (admitted only in that window). Discounts do not stack: a slot and an entry together cost the lower of the two' }),
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
    discountFen: money.optional().openapi({ description: 'Present when something was taken off the price (a coupon): amountFen is the price less this' }),
    couponCode: z.string().nullable().optional().openapi({ description: 'The coupon the order holds (redeemed when it is paid, given back if it expires)' }),
    replayed,
  })
  .strict()
  .openapi('OrderCreated');

export const OrderSchema = z
  .object({
    ...orderCore,
    status: z.enum(['pending', 'paid', 'refunded', 'expired']).openapi({ description: '`expired`: not paid — the hold ended, or the channel cancelled it (`cancelledAt`); its places are for sale again' }),
    visitors: z.array(z.object({ name: z.string(), idMasked: z.string(), ticketId: z.string().nullable() }).strict()),
    tickets: z.array(z.object({ ticketId: z.string(), code: z.string(), persons: z.number().int().openapi({ description: 'Visitors admitted on the ticket' }) }).strict()),
    paidAt: z.string().nullable(),
    refundedAt: z.string().nullable(),
    refundReason: z.string().nullable(),
    paymentMode: z.literal('provider').optional().openapi({ description: 'Present when the order is paid through WeChat Pay / Alipay (a provider-mode channel): see …/payments' }),
    refundState: RefundStateSchema.nullable().optional(),
    cancelledAt: z.string().optional().openapi({ description: 'Present when the channel cancelled the order before it was paid (POST …/cancel): status `expired`, places released at that moment' }),
    whitelistSeq: seq.optional(),
    replayed,
  })
  .strict()
  .openapi('Order');

export const RefundedSchema = z
  .object({ orderId: z.string(), status: z.literal('refunded'), refundFen: money, reason: z.string(), whitelistSeq: seq, refundState: RefundStateSchema.optional(), replayed })
  .strict()
  .openapi('Refunded');

export const OrderIdParamSchema = z.object({ orderId: z.string().min(1).max(64) });
