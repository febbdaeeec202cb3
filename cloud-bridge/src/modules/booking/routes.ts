import type { IncomingMessage } from 'node:http';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { isCloudError } from '../../core/errors.js';
import { errorResponses, json, send } from '../../core/http/openapi.js';
import { COUPON_REFUSALS, refusalBody, SALE_REFUSALS, type RefusalCode } from '../../core/http/refusals.js';
import { IdempotencyHeaderSchema } from '../../core/http/schemas.js';
import { bearer } from '../../core/http/staff-auth.js';
import type { CloudApp } from '../../core/module.js';
import { clientAddress } from './client-address.js';
import {
  BookAvailabilityQuerySchema,
  BookInfoSchema,
  BookOrderParamSchema,
  BookOrderRequestSchema,
  BookOrderSchema,
  BookOrdersSchema,
  BookPaymentCreatedSchema,
  BookPayRequestSchema,
  BookRebookRequestSchema,
  BookRefundRequestSchema,
  BookSiteParamSchema,
  OptionalIdempotencyHeaderSchema,
  SessionEndedSchema,
  SessionRequestSchema,
  SessionSchema,
  SmsCodeRequestSchema,
  SmsCodeSentSchema,
} from './schemas.js';
import { refusal, type BookingService, type BookingSite } from './service.js';
import type { Sessions, VisitorSession } from './sessions.js';
import type { SmsLogin } from './sms-login.js';

const SITE: RefusalCode[] = ['unknown_site', 'invalid_request'];
const MINE: RefusalCode[] = [...SITE, 'session_required'];
const SELL = SALE_REFUSALS;
const CHANGE: RefusalCode[] = [...MINE, 'unknown_order', 'idempotency_key_reused', 'already_refunded', 'not_paid', 'ticket_used'];

/** Each booking route's refusals (besides 413 and 500, which every route has). */
export const BOOKING_ROUTE_CODES = {
  info: ['unknown_site'],
  availability: [...SITE, 'invalid_date', 'date_in_past', 'beyond_booking_horizon'],
  smsCode: [...SITE, 'sms_code_throttled'],
  session: [...SITE, 'sms_code_wrong', 'sms_code_expired'],
  endSession: MINE,
  createOrder: [...MINE, 'idempotency_key_reused', ...SELL, 'invalid_id_number', 'duplicate_visitor', 'package_size', ...COUPON_REFUSALS],
  orders: MINE,
  order: [...MINE, 'unknown_order'],
  pay: [...MINE, 'unknown_order', 'already_paid', 'order_expired', 'not_payable', 'provider_not_configured', 'payment_refused', 'payment_unavailable', 'payment_timeout'],
  refund: [...CHANGE, 'unknown_refund_reason', 'combo_part_redeemed'],
  rebook: [...CHANGE, ...SELL, 'same_date_and_slot', 'price_higher', 'rebook_too_late'],
  cancel: [...MINE, 'unknown_order', 'idempotency_key_reused', 'already_paid', 'already_refunded', 'not_payable', 'payment_unavailable'],
  // Browser navigations (wechat-oauth-routes.ts): a redirect, these only when there is no page to go back to.
  wechatOAuthStart: [...SITE, 'provider_not_configured'],
  wechatOAuthCallback: [...SITE, 'provider_not_configured'],
} satisfies Record<string, RefusalCode[]>;

export interface BookingRouteDeps {
  service: BookingService;
  login: SmsLogin;
  sessions: Sessions;
}

type Handler<T> = (c: Context, b: BookingSite) => Promise<T>;

/**
 * The visitor booking page's API, `/v1/book/{site}/…` (docs/booking.md): public routes (info,
 * availability, SMS code, session) and the visitor's own (orders, pay, refund, rebook) under
 * the session token from POST …/session. A site without a booking channel has none of them
 * (404 unknown_site).
 */
export function bookingRoutes(app: CloudApp, deps: BookingRouteDeps): void {
  const { service, login, sessions } = deps;
  const tags = ['booking'];
  const security = [{ bookingSession: [] }];
  app.openAPIRegistry.registerComponent('securitySchemes', 'bookingSession', { type: 'http', scheme: 'bearer', description: 'The booking session token from POST /v1/book/{site}/session' });

  /** The site's booking page, or 404; refusals thrown as CloudError are answered with their status. */
  const onSite = <T>(work: Handler<T>) => async (c: Context) => {
    const id = c.req.param('site') ?? '';
    const b = service.site(id);
    if (!b) return c.json(refusalBody('unknown_site', `no booking page for site ${id}`), 404);
    try {
      return await work(c, b);
    } catch (err) {
      return send(c, refusal(err));
    }
  };
  /** …and the visitor's session (401 session_required without a live one). Personal answers are never cached. */
  const mine = (work: (c: Context, b: BookingSite, who: VisitorSession) => Promise<Response>) =>
    onSite(async (c, b) => {
      c.header('cache-control', 'no-store');
      const who = await sessions.verify(b.site.id, bearer(c));
      if (!who) return c.json(refusalBody('session_required', 'log in with your phone and an SMS code: send the token from POST …/session as Authorization: Bearer <token>'), 401);
      return work(c, b, who);
    });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/book/{site}/info',
      tags,
      summary: 'The park for the booking page: names, ticket types and prices, slots, refund reasons, payment providers',
      request: { params: BookSiteParamSchema },
      responses: { 200: json(BookInfoSchema, 'What does not change during the day (cacheable for a minute)'), ...errorResponses(BOOKING_ROUTE_CODES.info) },
    }),
    onSite((c, b) => {
      c.header('cache-control', 'public, max-age=60');
      return Promise.resolve(send(c, service.info(b)));
    }) as never,
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/book/{site}/availability',
      tags,
      summary: 'Places left by slot, prices and almost-full / closed states for a day: the booking channel\'s availability, exactly as the channel API answers it',
      request: { params: BookSiteParamSchema, query: BookAvailabilityQuerySchema },
      // The channel API's own schema (registered by sales): the same JSON, one description.
      responses: { 200: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Availability' } } }, description: "The channel API's `Availability` for the booking channel" }, ...errorResponses(BOOKING_ROUTE_CODES.availability) },
    }),
    onSite(async (c, b) => {
      const r = await service.availability(b, c.req.query('date') ?? '');
      return c.body(r.text, r.status as 200, { 'content-type': 'application/json' });
    }) as never,
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/book/{site}/sms-code',
      tags,
      summary: 'Send a 6-digit login code to the phone (valid 5 minutes; one per phone per 60 s, 10 a day; a limit per client address)',
      description: 'Answers the same whether or not the phone has orders. `sms_code_throttled` (429) carries `retryAfterSec` and the Retry-After header.',
      request: { params: BookSiteParamSchema, body: { content: { 'application/json': { schema: SmsCodeRequestSchema } }, required: true } },
      responses: { 200: json(SmsCodeSentSchema, 'Sent'), ...errorResponses(BOOKING_ROUTE_CODES.smsCode) },
    }),
    onSite(async (c, b) => {
      const body = SmsCodeRequestSchema.parse(await c.req.json());
      const address = clientAddress((c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket?.remoteAddress, c.req.header('x-forwarded-for'));
      try {
        const sent = await login.requestCode(b.login, body.phone, body.lang, address);
        return c.json({ sent: true, ...sent }, 200);
      } catch (err) {
        if (isCloudError(err, 'sms_code_throttled')) c.header('retry-after', String(err.details.retryAfterSec));
        throw err;
      }
    }) as never,
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/book/{site}/session',
      tags,
      summary: 'Log in: phone + SMS code → a session token (24 h) for the visitor\'s own routes; the code is used up',
      description: 'A wrong code counts against it (`sms_code_wrong` with `attemptsLeft`); after 5 wrong tries, once used, or after 5 minutes it is dead (`sms_code_expired`).',
      request: { params: BookSiteParamSchema, body: { content: { 'application/json': { schema: SessionRequestSchema } }, required: true } },
      responses: { 200: json(SessionSchema, 'Logged in'), ...errorResponses(BOOKING_ROUTE_CODES.session) },
    }),
    onSite(async (c, b) => {
      const body = SessionRequestSchema.parse(await c.req.json());
      c.header('cache-control', 'no-store');
      return c.json(await login.login(b.login, body.phone, body.code), 200);
    }) as never,
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/book/{site}/session',
      tags,
      security,
      summary: 'Log out: the session token stops working',
      request: { params: BookSiteParamSchema },
      responses: { 200: json(SessionEndedSchema, 'Logged out'), ...errorResponses(BOOKING_ROUTE_CODES.endSession) },
    }),
    mine(async (c) => c.json({ ended: await sessions.end(bearer(c)) }, 200)) as never,
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/book/{site}/orders',
      tags,
      security,
      summary: 'A real-name order on the booking channel, for the session\'s phone; holds the places for 15 minutes until paid',
      description: 'The channel API\'s rules and refusals (capacity, real name, pricing). The answer is the new order as the page shows it.',
      request: { params: BookSiteParamSchema, headers: IdempotencyHeaderSchema, body: { content: { 'application/json': { schema: BookOrderRequestSchema } }, required: true } },
      responses: { 201: json(BookOrderSchema, 'Order created (pending payment)'), ...errorResponses(BOOKING_ROUTE_CODES.createOrder) },
    }),
    mine(async (c, b, who) => {
      const key = IdempotencyHeaderSchema.parse({ 'idempotency-key': c.req.header('idempotency-key') })['idempotency-key'];
      return send(c, await service.createOrder(b, who, key, BookOrderRequestSchema.parse(await c.req.json())));
    }) as never,
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/book/{site}/orders',
      tags,
      security,
      summary: 'My orders: the session phone\'s orders on the booking channel, newest first (at most 50)',
      request: { params: BookSiteParamSchema },
      responses: { 200: json(BookOrdersSchema, 'Orders'), ...errorResponses(BOOKING_ROUTE_CODES.orders) },
    }),
    mine(async (c, b, who) => send(c, await service.orders(b, who))) as never,
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/book/{site}/orders/{orderId}',
      tags,
      security,
      summary: 'One of my orders; a pending one is first looked up at the payment provider (poll it every 2 s while the visitor pays)',
      description: 'Another phone\'s order is `unknown_order` (404), exactly like an order that does not exist.',
      request: { params: BookOrderParamSchema },
      responses: { 200: json(BookOrderSchema, 'Order'), ...errorResponses(BOOKING_ROUTE_CODES.order) },
    }),
    mine(async (c, b, who) => send(c, await service.order(b, who, c.req.param('orderId') ?? ''))) as never,
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/book/{site}/orders/{orderId}/pay',
      tags,
      security,
      summary: 'Pay a pending order: WeChat Pay or Alipay, a QR code or the in-app payment (WeChat JSAPI with `openid`, Alipay WAP redirect)',
      description: 'The payments module\'s PaymentCreated, as the channel API\'s POST …/payments answers it. The order is paid only when the provider confirms (poll GET …/orders/{orderId}).',
      request: { params: BookOrderParamSchema, body: { content: { 'application/json': { schema: BookPayRequestSchema } }, required: true } },
      responses: { 200: json(BookPaymentCreatedSchema, 'The payment at the provider'), ...errorResponses(BOOKING_ROUTE_CODES.pay) },
    }),
    mine(async (c, b, who) => send(c, await service.pay(b, who, c.req.param('orderId') ?? '', BookPayRequestSchema.parse(await c.req.json())))) as never,
  );
  const change = (path: string, summary: string, schema: z.ZodType, codes: RefusalCode[]) =>
    createRoute({
      method: 'post',
      path,
      tags,
      security,
      summary,
      request: { params: BookOrderParamSchema, headers: OptionalIdempotencyHeaderSchema, body: { content: { 'application/json': { schema } }, required: true } },
      responses: { 200: json(BookOrderSchema, 'The order now'), ...errorResponses(codes) },
    });
  app.openapi(
    change('/v1/book/{site}/orders/{orderId}/refund', 'Refund a paid, unused order with a reason from the park\'s list; the money goes back through the provider (`refundState` shows it)', BookRefundRequestSchema, BOOKING_ROUTE_CODES.refund),
    mine(async (c, b, who) => {
      const body = BookRefundRequestSchema.parse(await c.req.json());
      return send(c, await service.refund(b, who, c.req.header('idempotency-key'), c.req.param('orderId') ?? '', body.reason));
    }) as never,
  );
  app.openapi(
    change('/v1/book/{site}/orders/{orderId}/rebook', 'Move a paid, unused order to another date/slot (new codes; the old ones stop working)', BookRebookRequestSchema, BOOKING_ROUTE_CODES.rebook),
    mine(async (c, b, who) => {
      const body = BookRebookRequestSchema.parse(await c.req.json());
      return send(c, await service.rebook(b, who, c.req.header('idempotency-key'), c.req.param('orderId') ?? '', { date: body.date, ...(body.slotId !== undefined ? { slotId: body.slotId } : {}) }));
    }) as never,
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/book/{site}/orders/{orderId}/cancel',
      tags,
      security,
      summary: 'Give up a pending order: its payment is closed at the provider (the visitor can no longer pay it) and its places are for sale again at once',
      description:
        'The channel API\'s cancel for the visitor\'s own order (another phone\'s is `unknown_order`, 404). Paid meanwhile: `already_paid` (409) with the paid `order` (the payment wins). The provider cannot be reached: `payment_unavailable` (503), the order keeps its places; try again. A cancelled order shows `status: expired`. No body.',
      request: { params: BookOrderParamSchema, headers: OptionalIdempotencyHeaderSchema },
      responses: { 200: json(BookOrderSchema, 'The order, cancelled'), ...errorResponses(BOOKING_ROUTE_CODES.cancel) },
    }),
    mine(async (c, b, who) => send(c, await service.cancel(b, who, c.req.header('idempotency-key'), c.req.param('orderId') ?? ''))) as never,
  );
}
