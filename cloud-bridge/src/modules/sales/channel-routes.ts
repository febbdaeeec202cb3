import { createRoute, type z } from '@hono/zod-openapi';
import { COUPON_REFUSALS, refusalBody, SALE_REFUSALS, type RefusalCode } from '../../core/http/refusals.js';
import { bearer } from '../../core/http/staff-auth.js';
import type { CloudApp } from '../../core/module.js';
import type { SiteRegistry } from '../../core/sites.js';
import type { Sales } from './sales.js';
import { IdempotencyHeaderSchema } from '../../core/http/schemas.js';
import { AvailabilityQuerySchema, AvailabilitySchema, CreateOrderSchema, OrderCreatedSchema, OrderIdParamSchema, OrderSchema, PaySchema, RebookSchema, RefundedSchema, RefundSchema, VisitorLookupSchema, VisitorOrdersSchema } from './schemas.js';
import { errorResponses, json, send } from '../../core/http/openapi.js';

const AUTH: RefusalCode[] = ['unknown_api_key'];
const WRITE: RefusalCode[] = [...AUTH, 'invalid_request', 'unknown_order', 'idempotency_key_reused'];
const SELL = SALE_REFUSALS;

/** Each channel route's refusals (besides 413 and 500, which every route has). */
export const CHANNEL_ROUTE_CODES = {
  availability: [...AUTH, 'invalid_request', 'invalid_date', 'date_in_past', 'beyond_booking_horizon'],
  createOrder: [...AUTH, 'invalid_request', 'idempotency_key_reused', ...SELL, 'invalid_id_number', 'duplicate_visitor', 'package_size', ...COUPON_REFUSALS],
  getOrder: [...AUTH, 'invalid_request', 'unknown_order'],
  pay: [...WRITE, 'order_expired', 'already_paid', 'not_payable', 'amount_mismatch', 'payment_by_provider'],
  refund: [...WRITE, 'unknown_refund_reason', 'already_refunded', 'not_paid', 'ticket_used', 'combo_part_redeemed'],
  visitorOrders: [...AUTH, 'invalid_request'],
  rebook: [...WRITE, ...SELL, 'already_refunded', 'not_paid', 'ticket_used', 'same_date_and_slot', 'price_higher', 'rebook_too_late'],
  cancel: [...WRITE, 'already_paid', 'already_refunded', 'not_payable', 'payment_unavailable'],
} satisfies Record<string, RefusalCode[]>;

/** The partner channel API (`/v1/channel/…`): one API key per channel names the site and the channel. */
export function channelRoutes(app: CloudApp, sales: Sales, sites: Pick<SiteRegistry, 'channelForKey'>): void {
  app.use('/v1/channel/*', async (c, next) => {
    const key = bearer(c);
    const found = key ? sites.channelForKey(key) : undefined;
    if (!found) return c.json(refusalBody('unknown_api_key', 'send the channel API key as Authorization: Bearer <key>'), 401);
    c.set('site', found.site);
    c.set('channel', found.channel);
    await next();
    return undefined;
  });
  const security = [{ channelKey: [] }];
  const tags = ['channel'];
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/channel/availability',
      tags,
      security,
      summary: 'Remaining places by slot for a day, prices for this channel, "almost full" flags, the real-name rules',
      description: 'Served from state kept in memory, current with every sale, refund, pause and level change of this instance; changes made through another instance show within `availabilityTtlMs` (default 1 s) plus one read of the store.',
      request: { query: AvailabilityQuerySchema },
      responses: { 200: json(AvailabilitySchema, 'Availability'), ...errorResponses(CHANNEL_ROUTE_CODES.availability) },
    }),
    async (c) => {
      const r = await sales.availabilityJson(c.get('site'), c.get('channel'), c.req.valid('query').date);
      return c.body(r.text, r.status as 200, { 'content-type': 'application/json' }) as never;
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/channel/orders',
      tags,
      security,
      summary: 'Real-name order for N visitors; holds the places until paid',
      request: { headers: IdempotencyHeaderSchema, body: { content: { 'application/json': { schema: CreateOrderSchema } }, required: true } },
      responses: { 201: json(OrderCreatedSchema, 'Order created (pending payment); a replay of a refusal has the refusal status'), ...errorResponses(CHANNEL_ROUTE_CODES.createOrder) },
    }),
    async (c) => send(c, await sales.createOrder(c.get('site'), c.get('channel'), c.req.valid('header')['idempotency-key'], c.req.valid('json'))),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/channel/orders/{orderId}',
      tags,
      security,
      summary: 'An order with its tickets and masked visitors',
      request: { params: OrderIdParamSchema },
      responses: { 200: json(OrderSchema, 'Order'), ...errorResponses(CHANNEL_ROUTE_CODES.getOrder) },
    }),
    async (c) => send(c, await sales.getOrder(c.get('site'), c.get('channel'), c.req.valid('param').orderId)),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/channel/visitor-orders',
      tags,
      security,
      summary: "Kiosk channels (the staffed window): today's orders of the site, any channel, holding a visitor's ID, by the ID number's keyed hash; masked",
      request: { body: { content: { 'application/json': { schema: VisitorLookupSchema } }, required: true } },
      responses: { 200: json(VisitorOrdersSchema, 'Orders'), ...errorResponses(CHANNEL_ROUTE_CODES.visitorOrders) },
    }),
    async (c) => send(c, await sales.visitorOrdersByIdHash(c.get('site'), c.get('channel'), c.req.valid('json').idHash)),
  );
  const write = <B extends z.ZodType>(path: string, summary: string, schema: B, ok: z.ZodType, codes: RefusalCode[]) =>
    createRoute({
      method: 'post',
      path,
      tags,
      security,
      summary,
      request: { params: OrderIdParamSchema, headers: IdempotencyHeaderSchema, body: { content: { 'application/json': { schema } }, required: true } },
      responses: { 200: json(ok, 'Done'), ...errorResponses(codes) },
    });
  app.openapi(write('/v1/channel/orders/{orderId}/pay', 'Payment confirmed by a partner channel that collects the money itself: issues the tickets (whitelist delta to every gate) and sends the SMS. Provider-mode channels are refused (payment_by_provider): their orders are paid through …/payments', PaySchema, OrderSchema, CHANNEL_ROUTE_CODES.pay), async (c) =>
    send(c, await sales.pay(c.get('site'), c.get('channel'), c.req.valid('header')['idempotency-key'], c.req.valid('param').orderId, c.req.valid('json'))),
  );
  app.openapi(write('/v1/channel/orders/{orderId}/refund', 'Refund a paid, unused order with a reason from the park’s list', RefundSchema, RefundedSchema, CHANNEL_ROUTE_CODES.refund), async (c) =>
    send(c, await sales.refund(c.get('site'), c.get('channel'), c.req.valid('header')['idempotency-key'], c.req.valid('param').orderId, c.req.valid('json'))),
  );
  app.openapi(
    write('/v1/channel/orders/{orderId}/rebook', 'Move a paid, unused order to another date/slot (new codes, old ones stop working)', RebookSchema, OrderSchema, CHANNEL_ROUTE_CODES.rebook),
    async (c) => send(c, await sales.rebook(c.get('site'), c.get('channel'), c.req.valid('header')['idempotency-key'], c.req.valid('param').orderId, c.req.valid('json'))),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/channel/orders/{orderId}/cancel',
      tags,
      security,
      summary: 'Cancel a pending order: its places are for sale again at once (status `expired`, `cancelledAt`)',
      description:
        'Provider-mode channels: every open payment of the order is first closed at WeChat Pay / Alipay (a QR or in-app payment closed, a payment code reversed), so the visitor can no longer pay it. If the provider says it was paid meanwhile, the payment wins: `already_paid` (409) with the paid `order`. If a provider cannot be reached: `payment_unavailable` (503), the order keeps its places, and a retry (same key) closes again. A paid order is refused (`already_paid`: refund it instead); a cancelled or expired order is answered as it is. No body.',
      request: { params: OrderIdParamSchema, headers: IdempotencyHeaderSchema },
      responses: { 200: json(OrderSchema, 'The order, cancelled'), ...errorResponses(CHANNEL_ROUTE_CODES.cancel) },
    }),
    async (c) => send(c, await sales.cancel(c.get('site'), c.get('channel'), c.req.valid('header')['idempotency-key'], c.req.valid('param').orderId)),
  );
}
