import { z } from '@hono/zod-openapi';

/** Request and reply bodies of the payment routes (the OpenAPI document is generated from these). */

const money = z.number().int().min(0);

export const OrderIdParamSchema = z.object({ orderId: z.string().min(1).max(64) });
const provider = z.enum(['wechat', 'alipay']);
const method = z.enum(['qr', 'in_app', 'code']);

export const CreatePaymentSchema = z
  .object({
    provider: provider.openapi({ description: 'WeChat Pay (API v3) or Alipay' }),
    method: method.openapi({
      description:
        '`qr`: a code for the visitor to scan (WeChat Native code_url / Alipay precreate qr_code). `in_app`: pay inside the provider\'s own browser (WeChat JSAPI parameters for `WeixinJSBridge.invoke("getBrandWCPayRequest", …)`, needs `openid`; Alipay WAP: a URL to send the browser to). `code`: the kiosk scanned the visitor\'s payment code (`authCode`).',
    }),
    authCode: z.string().regex(/^\d{10,32}$/, 'authCode: the 10–32 digits of the payment code').optional().openapi({ description: 'method `code`: the payment code as scanned (付款码); never stored' }),
    openid: z.string().min(1).max(128).optional().openapi({ description: 'WeChat `in_app`: the visitor\'s openid under the merchant\'s AppID' }),
    returnUrl: z.string().url().max(512).optional().openapi({ description: 'Alipay `in_app`: where Alipay sends the browser after paying' }),
    deviceId: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).optional().openapi({ description: 'method `code`: the kiosk (device_id / terminal_id)' }),
  })
  .strict();

export type CreatePaymentBody = z.infer<typeof CreatePaymentSchema>;

const JsapiParams = z.object({ appId: z.string(), timeStamp: z.string(), nonceStr: z.string(), package: z.string(), signType: z.literal('RSA'), paySign: z.string() }).strict();

const InAppSchema = z
  .union([z.object({ kind: z.literal('wechat_jsapi'), prepayId: z.string(), params: JsapiParams }).strict(), z.object({ kind: z.literal('redirect'), url: z.string() }).strict()])
  .openapi({ description: 'What the booking page does next: call WeixinJSBridge with `params`, or send the browser to `url`' });

const attemptState = z.enum(['pending', 'paid', 'closed', 'failed']).openapi({
  description: 'pending (waiting for the visitor), paid (the provider confirmed the money), closed (closed or reversed at the provider: it cannot take money any more), failed (the provider refused, e.g. a payment code without balance)',
});
const orderStatus = z.enum(['pending', 'paid', 'refunded', 'expired']);
const outcome = z.enum(['ticketed', 'late_payment', 'duplicate', 'amount_mismatch']).openapi({
  description: 'What the money became: the order\'s tickets, or — paid after the order expired, paid twice, or not the order\'s amount — refunded automatically (see `refunds`) and park staff alerted',
});
const Failure = z.object({ providerCode: z.string(), message: z.string() }).strict();

export const PaymentCreatedSchema = z
  .object({
    orderId: z.string(),
    outTradeNo: z.string().openapi({ description: 'Our number of this payment at the provider' }),
    provider,
    method,
    state: attemptState,
    amountFen: money,
    expiresAt: z.string().openapi({ description: 'The order\'s hold ends: the provider refuses payment after it' }),
    orderStatus,
    codeUrl: z.string().optional().openapi({ description: '`qr`: the text to show as a QR code' }),
    inApp: InAppSchema.optional(),
    failure: Failure.optional().openapi({ description: '`failed`: the provider\'s reason (e.g. NOT_ENOUGH, ACQ.PAYMENT_AUTH_CODE_INVALID)' }),
  })
  .strict()
  .openapi('PaymentCreated');

const AttemptSchema = z
  .object({
    outTradeNo: z.string(),
    provider,
    method,
    state: attemptState,
    amountFen: money,
    createdAt: z.string(),
    expiresAt: z.string(),
    transactionId: z.string().nullable(),
    paidAt: z.string().nullable(),
    outcome: outcome.nullable(),
    failure: z.string().nullable(),
  })
  .strict();

const RefundSchema = z
  .object({
    outRefundNo: z.string(),
    outTradeNo: z.string(),
    provider,
    amountFen: money,
    cause: z.enum(['visitor', 'late_payment', 'duplicate', 'amount_mismatch']),
    reason: z.string(),
    state: z.enum(['pending', 'processing', 'succeeded', 'failed']).openapi({ description: 'pending (being sent), processing (accepted by the provider), succeeded (confirmed by the provider), failed (refused: staff act)' }),
    createdAt: z.string(),
    succeededAt: z.string().nullable(),
  })
  .strict();

export const PaymentStateSchema = z
  .object({
    orderId: z.string(),
    orderStatus,
    amountFen: money,
    deadline: z.string().openapi({ description: 'The end of the hold (unpaid orders are closed at the provider, then expire)' }),
    paymentRef: z.string().nullable().openapi({ description: 'The provider transaction that paid the order' }),
    refundState: z.enum(['requested', 'processing', 'succeeded', 'failed']).nullable(),
    payments: z.array(AttemptSchema),
    refunds: z.array(RefundSchema),
  })
  .strict()
  .openapi('PaymentState');
