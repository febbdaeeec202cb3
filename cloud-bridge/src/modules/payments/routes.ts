import { createRoute } from '@hono/zod-openapi';
import { isCloudError } from '../../core/errors.js';
import { errorResponses, json, send } from '../../core/http/openapi.js';
import { refusalReply, type RefusalCode, type Reply } from '../../core/http/refusals.js';
import type { CloudApp } from '../../core/module.js';
import { channelError, type Payments } from './payments.js';
import type { ProviderId } from './provider.js';
import { CreatePaymentSchema, OrderIdParamSchema, PaymentCreatedSchema, PaymentStateSchema } from './schemas.js';

/** Each payment route's refusals (besides 413 and 500, which every route has). */
export const PAYMENT_ROUTE_CODES = {
  create: ['unknown_api_key', 'invalid_request', 'unknown_order', 'payment_by_partner', 'already_paid', 'order_expired', 'not_payable', 'provider_not_configured', 'payment_refused', 'payment_unavailable', 'payment_timeout'],
  state: ['unknown_api_key', 'invalid_request', 'unknown_order', 'payment_by_partner'],
} satisfies Record<string, RefusalCode[]>;

async function answer(work: () => Promise<Reply>): Promise<Reply> {
  try {
    return await work();
  } catch (err) {
    if (!isCloudError(err)) throw err;
    return refusalReply(channelError(err));
  }
}

/**
 * The payment routes: for provider-mode channels (the park's own booking page and kiosks),
 * under the channel API key like the rest of `/v1/channel/…` (its middleware, registered by
 * sales, names the site and channel); and the providers' notification endpoints, public,
 * taking the raw body (nothing but a verified signature makes them act).
 */
export function paymentRoutes(app: CloudApp, payments: Payments): void {
  const tags = ['channel'];
  const security = [{ channelKey: [] }];
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/channel/orders/{orderId}/payments',
      tags,
      security,
      summary: 'Pay a pending order through WeChat Pay or Alipay (provider-mode channels): a QR code, the in-app payment sheet, or a scanned payment code',
      description:
        'The order becomes paid only when the provider confirms the money (a verified notification, or the provider\'s answer to a query — see GET …/payment), never on this call\'s word. Repeating the call is safe: a pending QR or in-app payment of the same provider is shown again, and a payment code already taken for a still-pending order answers with that payment\'s state (never a second charge); a paid order answers `already_paid`. `payment_timeout`: the provider did not answer; the payment may exist — ask GET …/payment. Partner-mode channels are refused (`payment_by_partner`).',
      request: { params: OrderIdParamSchema, body: { content: { 'application/json': { schema: CreatePaymentSchema } }, required: true } },
      responses: { 200: json(PaymentCreatedSchema, 'The payment at the provider: what to show the visitor, or a payment code\'s result'), ...errorResponses(PAYMENT_ROUTE_CODES.create) },
    }),
    async (c) => send(c, await answer(() => payments.create(c.get('site'), c.get('channel'), c.req.valid('param').orderId, c.req.valid('json')))),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/channel/orders/{orderId}/payment',
      tags,
      security,
      summary: "The order's payment state: its payments at the providers and its refunds",
      description:
        'While a payment is pending, the provider is asked (an active query), so a visitor who closed the page mid-payment, or a notification that never came, still ends in a paid order — or, too late, in a refund recorded here. Poll it every 2–5 s while the visitor pays.',
      request: { params: OrderIdParamSchema },
      responses: { 200: json(PaymentStateSchema, 'Payment state'), ...errorResponses(PAYMENT_ROUTE_CODES.state) },
    }),
    async (c) => send(c, await answer(() => payments.state(c.get('site'), c.get('channel'), c.req.valid('param').orderId))),
  );

  // The providers' notifications: public, raw body, verified before anything is read from it.
  for (const provider of ['wechat', 'alipay'] as const satisfies readonly ProviderId[]) {
    app.post(`/v1/payments/${provider}/notify`, async (c) => {
      const raw = await c.req.text();
      const ack = await payments.notify(provider, c.req.raw.headers, raw);
      if (!ack) return c.json({ error: 'not_found' }, 404);
      if (ack.body === '') return c.body(null, ack.status as 204);
      return c.body(ack.body, ack.status as 200, { 'content-type': ack.contentType });
    });
  }
}
