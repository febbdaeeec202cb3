import { z } from '@hono/zod-openapi';
import { DateSchema, LevelSchema } from '../../core/http/schemas.js';

/*
 * The visitor booking page's API (`/v1/book/{site}/…`), the contract between the page
 * (web/booking) and the server (modules/booking). Public routes need no credential; the
 * visitor's own routes need the session token from POST …/session (phone + SMS code), sent as
 * `Authorization: Bearer <token>`. Orders are sold on the site's booking channel (a
 * provider-mode online channel named in cloud.yaml `sales.bookingChannel`), so capacity, real
 * name, pricing and refunds are exactly the channel API's.
 */

const money = z.number().int().min(0);
export const LocalTextSchema = z.object({ 'zh-CN': z.string(), en: z.string() }).strict().openapi('LocalText');
const lang = z.enum(['zh-CN', 'en']);
const phone = z.string().regex(/^1\d{10}$/, 'an 11-digit mainland mobile number').openapi({ example: '13800138000' });

export const BookSiteParamSchema = z.object({ site: z.string().min(1).max(64) });
export const BookOrderParamSchema = z.object({ site: z.string().min(1).max(64), orderId: z.string().min(1).max(64) });

/** GET /v1/book/{site}/info — what does not change during the day (cacheable for a minute). */
export const BookInfoSchema = z
  .object({
    site: z.string(),
    name: LocalTextSchema,
    timeZone: z.string(),
    today: z.string().openapi({ description: 'The park\'s date now' }),
    lastDate: z.string().openapi({ description: 'The last visit date sold now (booking horizon)' }),
    ticketsPerIdPerDay: z.number().int(),
    types: z.array(
      z
        .object({
          typeId: z.string(),
          name: LocalTextSchema,
          persons: z.number().int().openapi({ description: 'Visitors per ticket (a family package: its size)' }),
          baseFen: money,
          days: z.enum(['any', 'weekend', 'weekday']),
          entries: z.array(z.enum(['early', 'night'])).openapi({ description: 'Cheaper early-bird / night entry offered for this type' }),
        })
        .strict(),
    ),
    slots: z.array(z.object({ slotId: z.string(), start: z.string(), end: z.string(), name: LocalTextSchema.optional() }).strict()),
    refundReasons: z.array(z.object({ code: z.string(), label: LocalTextSchema }).strict()),
    providers: z.array(z.enum(['wechat', 'alipay'])).openapi({ description: 'Payment providers configured for the site' }),
    wechatOAuth: z.boolean().openapi({ description: 'WeChat web OAuth is configured: inside WeChat the page gets the openid through …/wechat-oauth/start and pays with JSAPI; otherwise it shows the Native QR code' }),
    tourRouteUrl: z.string().nullable(),
  })
  .strict()
  .openapi('BookInfo');

/**
 * GET /v1/book/{site}/availability?date= — the booking channel's availability (the channel
 * API's `Availability`, the same JSON), so the page shows "当前剩余票量 XX 张", almost-full and
 * closed states and each type's price on that date.
 */
export const BookAvailabilityQuerySchema = z.object({ date: DateSchema });

/** GET /v1/book/{site}/wechat-oauth/start?returnTo= — off to WeChat's authorize page; back to `returnTo` (the site's booking page only). */
export const WechatOAuthStartQuerySchema = z.object({
  returnTo: z.string().min(1).max(512).openapi({ description: 'Where to come back to: a path of this origin, `/book/{site}` with its query and fragment; anything else is refused' }),
});
/** GET /v1/book/{site}/wechat-oauth/callback?code=&state= — where WeChat sends the browser back (both may be missing or wrong: the page is told). */
export const WechatOAuthCallbackQuerySchema = z.object({ code: z.string().max(512).optional(), state: z.string().max(512).optional() });

/** POST /v1/book/{site}/sms-code — a 6-digit code to the phone (throttled per phone and per client address). */
export const SmsCodeRequestSchema = z.object({ phone, lang: lang.default('zh-CN') }).strict();
export const SmsCodeSentSchema = z
  .object({ sent: z.literal(true), resendAfterSec: z.number().int(), expiresInSec: z.number().int() })
  .strict()
  .openapi('SmsCodeSent');

/** POST /v1/book/{site}/session — phone + code → a session token for the visitor's own routes. */
export const SessionRequestSchema = z.object({ phone, code: z.string().regex(/^\d{6}$/, 'the 6 digits of the SMS code') }).strict();
export const SessionSchema = z
  .object({ token: z.string(), phoneMasked: z.string(), expiresAt: z.string() })
  .strict()
  .openapi('BookSession');

/** POST /v1/book/{site}/orders (session; Idempotency-Key header) — the contact phone is the session's. */
export const BookOrderRequestSchema = z
  .object({
    typeId: z.string().min(1).max(64),
    date: DateSchema,
    slotId: z.string().min(1).max(64).optional(),
    entry: z.enum(['early', 'night']).optional(),
    visitors: z
      .array(z.object({ name: z.string().min(1).max(50), idNumber: z.string().min(1).max(32) }).strict())
      .min(1)
      .max(50),
    lang: lang.default('zh-CN').openapi({ description: 'The visitor\'s language: the check-in SMS is sent in it' }),
    couponCode: z.string().trim().min(4).max(32).optional().openapi({ description: 'A coupon code the visitor typed (or scanned): the sale holds it and takes its money off, or refuses with the reason (422 coupon_*)' }),
    marketingConsent: z.boolean().optional().openapi({ description: 'The page\'s separate, unticked-by-default box: offers and coupons by SMS, opt-out any time (PIPL: purpose stated, not bundled with the purchase)' }),
  })
  .strict();

/** POST /v1/book/{site}/orders/{orderId}/pay (session) — start paying with the provider that fits the browser. */
export const BookPayRequestSchema = z
  .object({
    provider: z.enum(['wechat', 'alipay']),
    /** `qr`: a code to scan (desktop, or another phone); `in_app`: WeChat JSAPI inside WeChat (needs the openid from …/wechat-oauth) or Alipay WAP (a redirect). */
    method: z.enum(['qr', 'in_app']),
    openid: z.string().min(1).max(128).optional(),
    returnUrl: z.string().url().max(512).optional(),
  })
  .strict();

/** A visitor's order as the page shows it: status, tickets with their ST1 codes, what can be done with it. */
export const BookOrderSchema = z
  .object({
    orderId: z.string(),
    status: z.enum(['pending', 'paid', 'refunded', 'expired']),
    typeId: z.string(),
    typeName: LocalTextSchema,
    date: z.string(),
    slot: z.object({ slotId: z.string(), start: z.string(), end: z.string(), name: LocalTextSchema.optional() }).strict().nullable(),
    entryWindow: z.object({ from: z.string(), to: z.string() }).strict().optional(),
    persons: z.number().int(),
    amountFen: money,
    deadline: z.string().nullable().openapi({ description: 'Pending: pay before this, or the places go back' }),
    visitors: z.array(z.object({ name: z.string(), idMasked: z.string() }).strict()),
    tickets: z.array(z.object({ ticketId: z.string(), code: z.string().openapi({ description: 'The ST1 check-in code to show as a QR code' }), persons: z.number().int() }).strict()),
    refundState: z.enum(['requested', 'processing', 'succeeded', 'failed']).nullable(),
    refundReason: z.string().nullable(),
    canRefund: z.boolean(),
    canRebook: z.boolean(),
    level: LevelSchema.optional(),
  })
  .strict()
  .openapi('BookOrder');

export const BookOrdersSchema = z.object({ orders: z.array(BookOrderSchema) }).strict().openapi('BookOrders');

export const BookRefundRequestSchema = z.object({ reason: z.string().min(1).max(64) }).strict();
export const BookRebookRequestSchema = z.object({ date: DateSchema, slotId: z.string().min(1).max(64).optional() }).strict();

/** DELETE /v1/book/{site}/session (session) — log out: the token stops working. */
export const SessionEndedSchema = z.object({ ended: z.boolean() }).strict().openapi('BookSessionEnded');

/** Writes of the visitor's own orders: POST …/orders needs an Idempotency-Key; refund and rebook take one (recommended: a double tap then gets the first answer). */
export const OptionalIdempotencyHeaderSchema = z.object({
  'idempotency-key': z.string().min(8, 'Idempotency-Key: 8–100 characters').max(100, 'Idempotency-Key: 8–100 characters').optional().openapi({ description: 'Unique per write; a retry with the same key and body gets the same answer' }),
});

/**
 * POST …/orders/{orderId}/pay answers with the payments module's `PaymentCreated` (the same
 * JSON as the channel API's POST …/payments), described here for the document.
 */
export const BookPaymentCreatedSchema = z
  .object({
    orderId: z.string(),
    outTradeNo: z.string().openapi({ description: 'Our number of this payment at the provider' }),
    provider: z.enum(['wechat', 'alipay']),
    method: z.enum(['qr', 'in_app', 'code']),
    state: z.enum(['pending', 'paid', 'closed', 'failed']),
    amountFen: money,
    expiresAt: z.string().openapi({ description: 'The order\'s hold ends: the provider refuses payment after it' }),
    orderStatus: z.enum(['pending', 'paid', 'refunded', 'expired']),
    codeUrl: z.string().optional().openapi({ description: '`qr`: the text to show as a QR code' }),
    inApp: z
      .union([
        z.object({ kind: z.literal('wechat_jsapi'), prepayId: z.string(), params: z.object({ appId: z.string(), timeStamp: z.string(), nonceStr: z.string(), package: z.string(), signType: z.literal('RSA'), paySign: z.string() }).strict() }).strict(),
        z.object({ kind: z.literal('redirect'), url: z.string() }).strict(),
      ])
      .optional()
      .openapi({ description: '`in_app`: call WeixinJSBridge with `params`, or send the browser to `url` (Alipay WAP)' }),
    failure: z.object({ providerCode: z.string(), message: z.string() }).strict().optional(),
  })
  .strict()
  .openapi('BookPaymentCreated');
