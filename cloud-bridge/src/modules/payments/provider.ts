/**
 * One interface over the payment providers. Amounts are integer fen; order numbers are ours
 * (out_trade_no, out_refund_no / out_request_no). Every answer a method returns has had its
 * signature verified; every failure is a CloudError of the `payment` area (core/errors.ts).
 *
 * Not here (the orders step, issue #16 point 3): deciding what an order becomes. A provider
 * reports what the provider says; sales decides, idempotently, from a verified notification
 * or an active query.
 */
import type { Bill } from './bill.js';
import type { HeaderBag } from './wechat-verify.js';
import type { JsapiPayParams } from './wechat-jsapi.js';

export type ProviderId = 'wechat' | 'alipay';

export interface PaymentOrder {
  /** Our order number: 6–32 characters of [0-9A-Za-z_-|*] (WeChat's rule; Alipay allows 64). */
  outTradeNo: string;
  amountFen: number;
  /** What the visitor sees on the provider's receipt (商品描述 / subject). */
  description: string;
  /** After this the visitor can no longer pay (time_expire). */
  expiresAt?: Date;
  /** Passed back unchanged in queries and notifications (attach / passback_params). */
  attach?: string;
}

export interface InAppOrder extends PaymentOrder {
  /** WeChat JSAPI: the visitor's openid under our appid. */
  openid?: string;
  /** Alipay WAP: where Alipay sends the browser after paying, and on "back". */
  returnUrl?: string;
  quitUrl?: string;
}

/** What the booking page needs to take the visitor to the provider's payment sheet. */
export type InAppPayment =
  | { kind: 'wechat_jsapi'; prepayId: string; params: JsapiPayParams }
  | { kind: 'redirect'; url: string };

export interface CodeOrder extends PaymentOrder {
  /** The visitor's payment code as scanned at the kiosk (付款码 / auth_code). */
  authCode: string;
  /** The kiosk (device_id / terminal_id). */
  deviceId?: string;
}

export interface Paid {
  transactionId: string;
  amountFen: number;
  /** When the provider took the money. */
  paidAt?: Date;
}

export type CodePaymentResult =
  | ({ result: 'paid' } & Paid)
  /** The visitor is confirming on the phone (password…): query every few seconds, reverse after ~30 s. */
  | { result: 'pending' }
  /** Refused (bad or used code, no balance…): `providerCode` says why. Reverse to be sure no money moved. */
  | { result: 'failed'; providerCode: string; message: string };

export type PaymentStatus =
  | ({ state: 'paid' } & Paid)
  /** Not paid (yet). `exists` false: the provider has no such trade (Alipay precreate before the scan). */
  | { state: 'not_paid'; exists: boolean }
  /** A payment-code order the visitor is still confirming. */
  | { state: 'paying' }
  /** Closed, reversed or failed without money kept. */
  | { state: 'closed' }
  /** Paid and then (partly or fully) refunded. */
  | ({ state: 'refunded' } & Paid);

export interface RefundRequest {
  outTradeNo: string;
  /** Ours, unique per refund; retrying with the same number is idempotent at the provider. */
  outRefundNo: string;
  amountFen: number;
  /** The order's amount (WeChat requires it). */
  totalFen: number;
  reason?: string;
}

export interface RefundResult {
  /** `succeeded`: the money is on its way back; `processing`: wait for the notification or query. */
  state: 'succeeded' | 'processing';
  refundId?: string;
  amountFen: number;
}

/** Which refund to ask about (refundQuery); the amount is checked against the answer. */
export interface RefundQuery {
  outTradeNo: string;
  outRefundNo: string;
  amountFen: number;
}

/**
 * What the provider says of one refund. `not_found`: it has no such refund (never received,
 * or Alipay's "not refunded"): only then is it sent again, under the same number.
 */
export type RefundStatus =
  | { state: 'succeeded'; refundId?: string; amountFen: number }
  | { state: 'processing'; refundId?: string }
  /** WeChat Pay CLOSED or ABNORMAL: the money did not go back; staff act. */
  | { state: 'failed'; providerCode: string }
  | { state: 'not_found' };

export type PaymentEvent =
  | ({ kind: 'paid'; provider: ProviderId; notificationId: string; outTradeNo: string } & Paid)
  | {
      kind: 'refund';
      provider: ProviderId;
      notificationId: string;
      outTradeNo: string;
      outRefundNo?: string;
      refundId?: string;
      /** This refund's amount (WeChat Pay). */
      amountFen?: number;
      /** All refunds of the order so far (Alipay's refund_fee). */
      refundedTotalFen?: number;
      state: 'succeeded' | 'closed' | 'abnormal';
    }
  | { kind: 'closed'; provider: ProviderId; notificationId: string; outTradeNo: string }
  /** A verified notification of a kind we do not act on (kept for the log). */
  | { kind: 'other'; provider: ProviderId; notificationId: string; eventType: string };

/** The provider's own reply to its notification request: what tells it to stop retrying. */
export interface NotificationAck {
  status: number;
  contentType: string;
  body: string;
}

export interface PaymentProvider {
  readonly id: ProviderId;
  /** A QR code for the visitor to scan (WeChat Native code_url, Alipay precreate qr_code). */
  createQr(order: PaymentOrder): Promise<{ codeUrl: string }>;
  /** Pay inside the provider's own browser: WeChat JSAPI parameters, Alipay WAP redirect. */
  createInApp(order: InAppOrder): Promise<InAppPayment>;
  /** The kiosk scanned the visitor's payment code (WeChat codepay, Alipay trade.pay bar_code). */
  payWithCode(order: CodeOrder): Promise<CodePaymentResult>;
  query(outTradeNo: string): Promise<PaymentStatus>;
  /** Close an unpaid QR/in-app order so it can no longer be paid. Already closed is fine; paid is payment_refused. */
  close(outTradeNo: string): Promise<void>;
  /** Cancel a payment-code order (WeChat reverse, Alipay trade.cancel): closes it, or refunds it if the money was taken. */
  reverse(outTradeNo: string): Promise<{ action: 'closed' | 'refunded' }>;
  refund(req: RefundRequest): Promise<RefundResult>;
  /** Ask about a refund sent before (WeChat GET /v3/refund/domestic/refunds/{no}, Alipay alipay.trade.fastpay.refund.query). */
  queryRefund(req: RefundQuery): Promise<RefundStatus>;
  /** Verify (and for WeChat decrypt) a notification from its raw body and headers. */
  parseNotification(headers: HeaderBag, rawBody: string | Buffer): PaymentEvent;
  /** What to answer the provider: `ok` stops its retries, anything else makes it retry. */
  notificationAck(ok: boolean): NotificationAck;
  /** The provider's trade bill of a day (YYYY-MM-DD, Beijing date). */
  downloadBill(date: string): Promise<Bill>;
}
