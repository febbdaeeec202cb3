/**
 * WeChat Pay API v3 (直连商户), over node fetch:
 *
 * | operation | request |
 * | --- | --- |
 * | createQr | POST /v3/pay/transactions/native → code_url |
 * | createInApp | POST /v3/pay/transactions/jsapi → prepay_id, then the JSAPI paySign parameters |
 * | payWithCode | POST /v3/pay/transactions/codepay (付款码支付, APIv3; 202/USERPAYING → pending) |
 * | query | GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid= |
 * | close | POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close → 204 |
 * | reverse | POST /v3/pay/transactions/out-trade-no/{out_trade_no}/reverse |
 * | refund | POST /v3/refund/domestic/refunds |
 * | queryRefund | GET /v3/refund/domestic/refunds/{out_refund_no} (404 RESOURCE_NOT_EXISTS → not_found) |
 * | downloadBill | GET /v3/bill/tradebill?bill_date=&bill_type=ALL, then GET its download_url (SHA1 checked) |
 *
 * Every request is signed (wechat-sign.ts); every 2xx answer is verified against the platform
 * keys (wechat-verify.ts) before a field of it is used, and checked to be about our merchant
 * and order. Error answers (4xx) are read for their code only and never turned into a
 * payment state. Notifications are verified, then decrypted (wechat-aead.ts).
 */
import { createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { CloudError } from '../../core/errors.js';
import { systemClock, type Clock } from '../../core/clock.js';
import type { Logger } from '../../core/log.js';
import { truncateUtf8 } from '../../core/utf8.js';
import { loadApiV3Key, loadPrivateKey, loadVerifierKey, type VerifierKey } from './keys.js';
import { wechatAuthorization, wechatNonce } from './wechat-sign.js';
import { verifyWechatSignature, type HeaderBag } from './wechat-verify.js';
import { decryptWechatResource } from './wechat-aead.js';
import { jsapiPayParams } from './wechat-jsapi.js';
import { parseWechatTradeBill } from './wechat-bill.js';
import { rfc3339Beijing, send, type FetchLike } from './http.js';
import { checkOrder } from './order-check.js';
import type { Bill } from './bill.js';
import type {
  CodeOrder,
  CodePaymentResult,
  InAppOrder,
  InAppPayment,
  NotificationAck,
  PaymentEvent,
  PaymentOrder,
  PaymentProvider,
  PaymentStatus,
  RefundQuery,
  RefundRequest,
  RefundResult,
  RefundStatus,
} from './provider.js';

export const WECHAT_PRODUCTION_URL = 'https://api.mch.weixin.qq.com';

export interface WechatPayOptions {
  /** 商户号. */
  mchid: string;
  /** The AppID bound to the merchant (公众号 for JSAPI). */
  appid: string;
  /** Serial number of the merchant API certificate (商户API证书序列号). */
  merchantSerial: string;
  /** apiclient_key.pem. */
  merchantPrivateKeyPath: string;
  /** A file holding the 32-character APIv3 key. */
  apiV3KeyPath: string;
  /** Platform certificates (serial read from the certificate) and/or WeChat Pay public keys (serial = PUB_KEY_ID_…). */
  platformKeys: { path: string; serial?: string }[];
  notifyUrl: string;
  /** Default: production, https://api.mch.weixin.qq.com. */
  baseUrl?: string;
  timeoutMs?: number;
  /** 门店编号 sent with payment-code orders. */
  storeId?: string;
  clock?: Clock;
  log?: Logger;
  fetch?: FetchLike;
}

const ErrorBody = z.object({ code: z.string(), message: z.string().optional() });
const Amount = z.object({ total: z.number().int(), payer_total: z.number().int().optional(), currency: z.string().optional() });
const Transaction = z.object({
  mchid: z.string(),
  appid: z.string().optional(),
  out_trade_no: z.string(),
  transaction_id: z.string().optional(),
  trade_state: z.enum(['SUCCESS', 'REFUND', 'NOTPAY', 'CLOSED', 'REVOKED', 'USERPAYING', 'PAYERROR']),
  trade_state_desc: z.string().optional(),
  success_time: z.string().optional(),
  amount: Amount.optional(),
});
const RefundAnswer = z.object({
  refund_id: z.string(),
  out_refund_no: z.string(),
  out_trade_no: z.string(),
  status: z.enum(['SUCCESS', 'CLOSED', 'PROCESSING', 'ABNORMAL']),
  amount: z.object({ refund: z.number().int(), total: z.number().int() }),
});
const Notification = z.object({
  id: z.string(),
  create_time: z.string().optional(),
  event_type: z.string(),
  resource_type: z.string().optional(),
  summary: z.string().optional(),
  resource: z.object({ algorithm: z.string(), ciphertext: z.string(), nonce: z.string(), associated_data: z.string().optional(), original_type: z.string().optional() }),
});
const RefundResource = z.object({
  mchid: z.string(),
  out_trade_no: z.string(),
  transaction_id: z.string().optional(),
  out_refund_no: z.string(),
  refund_id: z.string(),
  refund_status: z.enum(['SUCCESS', 'CLOSED', 'ABNORMAL', 'PROCESSING']),
  amount: z.object({ refund: z.number().int(), total: z.number().int() }),
});
const BillAnswer = z.object({ hash_type: z.string(), hash_value: z.string(), download_url: z.string() });

type Answer = { ok: true; status: number; body: unknown } | { ok: false; status: number; code: string; message: string };

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new CloudError('payment_malformed', `WeChat Pay: ${what} is not what the protocol says (${r.error.issues[0]?.path.join('.') ?? ''}: ${r.error.issues[0]?.message ?? ''})`, { reason: 'schema' });
  return r.data;
}

export class WeChatPayProvider implements PaymentProvider {
  readonly id = 'wechat' as const;
  private readonly privateKey: KeyObject;
  private readonly apiV3Key: Buffer;
  private readonly platformKeys: VerifierKey[];
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  private readonly fetchImpl: FetchLike;

  constructor(private readonly opts: WechatPayOptions) {
    this.privateKey = loadPrivateKey(opts.merchantPrivateKeyPath, 'WeChat Pay merchant API key');
    this.apiV3Key = loadApiV3Key(opts.apiV3KeyPath);
    this.platformKeys = opts.platformKeys.map((k) => loadVerifierKey(k.path, k.serial, 'WeChat Pay platform key'));
    if (this.platformKeys.length === 0) throw new CloudError('payment_config', 'WeChat Pay: no platform certificate or public key configured');
    this.baseUrl = (opts.baseUrl ?? WECHAT_PRODUCTION_URL).replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.clock = opts.clock ?? systemClock;
    this.fetchImpl = opts.fetch ?? fetch;
    // Ids only: never key material.
    opts.log?.info({ event: 'payment_provider', provider: 'wechat', mchid: opts.mchid, appid: opts.appid, merchantSerial: opts.merchantSerial, platformSerials: this.platformKeys.map((k) => k.serial), baseUrl: this.baseUrl }, 'WeChat Pay provider ready');
  }

  /** One signed request; a 2xx answer comes back verified. */
  private async call(method: 'GET' | 'POST', canonicalUrl: string, payload?: object, absoluteUrl?: string): Promise<Answer> {
    const body = payload === undefined ? '' : JSON.stringify(payload);
    const now = this.clock();
    const authorization = wechatAuthorization({
      mchid: this.opts.mchid,
      serialNo: this.opts.merchantSerial,
      privateKey: this.privateKey,
      method,
      canonicalUrl,
      body,
      timestamp: String(Math.floor(now.getTime() / 1000)),
      nonce: wechatNonce(),
    });
    const headers: Record<string, string> = { Authorization: authorization, Accept: 'application/json', 'User-Agent': 'stile-cloud' };
    if (payload !== undefined) headers['Content-Type'] = 'application/json';
    const raw = await send(this.fetchImpl, absoluteUrl ?? this.baseUrl + canonicalUrl, { method, headers, body: payload === undefined ? undefined : body }, this.timeoutMs, 'WeChat Pay');
    if (raw.status >= 500 || raw.status === 429) {
      const err = ErrorBody.safeParse(safeJson(raw.text));
      throw new CloudError('payment_unavailable', `WeChat Pay answered ${raw.status}${err.success ? ` ${err.data.code}` : ''}`, { providerStatus: raw.status, providerCode: err.success ? err.data.code : undefined });
    }
    if (raw.status >= 200 && raw.status < 300) {
      const json = raw.text === '' ? undefined : safeJson(raw.text);
      if (raw.text !== '' && json === undefined) throw new CloudError('payment_malformed', `WeChat Pay: a ${raw.status} answer that is not JSON`, { reason: 'not_json', providerStatus: raw.status });
      verifyWechatSignature(raw.headers, raw.text, this.platformKeys, this.clock());
      return { ok: true, status: raw.status, body: json };
    }
    if (raw.status >= 400) {
      const err = ErrorBody.safeParse(safeJson(raw.text));
      if (!err.success) throw new CloudError('payment_malformed', `WeChat Pay: a ${raw.status} answer without an error code`, { reason: 'error_body', providerStatus: raw.status });
      return { ok: false, status: raw.status, code: err.data.code, message: err.data.message ?? '' };
    }
    throw new CloudError('payment_malformed', `WeChat Pay: unexpected status ${raw.status}`, { reason: 'status', providerStatus: raw.status });
  }

  private refused(a: Extract<Answer, { ok: false }>, what: string): CloudError {
    return new CloudError('payment_refused', `WeChat Pay refused ${what}: ${a.code} ${a.message}`, { providerStatus: a.status, providerCode: a.code, providerMessage: a.message });
  }

  private orderBody(order: PaymentOrder): Record<string, unknown> {
    checkOrder(order);
    return {
      appid: this.opts.appid,
      mchid: this.opts.mchid,
      description: order.description,
      out_trade_no: order.outTradeNo,
      ...(order.expiresAt === undefined ? {} : { time_expire: rfc3339Beijing(order.expiresAt) }),
      ...(order.attach === undefined ? {} : { attach: order.attach }),
      notify_url: this.opts.notifyUrl,
      amount: { total: order.amountFen, currency: 'CNY' },
    };
  }

  async createQr(order: PaymentOrder): Promise<{ codeUrl: string }> {
    const a = await this.call('POST', '/v3/pay/transactions/native', this.orderBody(order));
    if (!a.ok) throw this.refused(a, 'the Native order');
    const { code_url } = parse(z.object({ code_url: z.string().min(1) }), a.body, 'the Native answer');
    return { codeUrl: code_url };
  }

  async createInApp(order: InAppOrder): Promise<InAppPayment> {
    if (order.openid === undefined || order.openid === '') throw new CloudError('invalid_request', 'WeChat Pay JSAPI needs the visitor openid');
    const a = await this.call('POST', '/v3/pay/transactions/jsapi', { ...this.orderBody(order), payer: { openid: order.openid } });
    if (!a.ok) throw this.refused(a, 'the JSAPI order');
    const { prepay_id } = parse(z.object({ prepay_id: z.string().min(1) }), a.body, 'the JSAPI answer');
    const params = jsapiPayParams(this.opts.appid, prepay_id, this.privateKey, String(Math.floor(this.clock().getTime() / 1000)), wechatNonce());
    return { kind: 'wechat_jsapi', prepayId: prepay_id, params };
  }

  async payWithCode(order: CodeOrder): Promise<CodePaymentResult> {
    checkOrder(order);
    const body = {
      appid: this.opts.appid,
      mchid: this.opts.mchid,
      description: order.description,
      out_trade_no: order.outTradeNo,
      ...(order.attach === undefined ? {} : { attach: order.attach }),
      payer: { auth_code: order.authCode },
      amount: { total: order.amountFen, currency: 'CNY' },
      scene_info: { ...(order.deviceId === undefined ? {} : { device_id: order.deviceId }), store_info: this.opts.storeId === undefined ? {} : { out_id: this.opts.storeId } },
    };
    const a = await this.call('POST', '/v3/pay/transactions/codepay', body);
    if (!a.ok) {
      if (a.status === 401 || a.status === 404) throw this.refused(a, 'the payment-code order');
      return { result: 'failed', providerCode: a.code, message: a.message };
    }
    if (a.status === 202) return { result: 'pending' };
    const t = parse(Transaction, a.body, 'the payment-code answer');
    this.checkTransaction(t, order.outTradeNo);
    if (t.trade_state === 'SUCCESS') return { result: 'paid', ...this.paid(t, order.amountFen) };
    if (t.trade_state === 'USERPAYING' || t.trade_state === 'NOTPAY') return { result: 'pending' };
    return { result: 'failed', providerCode: t.trade_state, message: t.trade_state_desc ?? '' };
  }

  private checkTransaction(t: z.infer<typeof Transaction>, outTradeNo: string): void {
    if (t.mchid !== this.opts.mchid || t.out_trade_no !== outTradeNo || (t.appid !== undefined && t.appid !== this.opts.appid)) {
      throw new CloudError('payment_mismatch', `WeChat Pay answered about ${t.mchid}/${t.out_trade_no}, not ${this.opts.mchid}/${outTradeNo}`, { outTradeNo });
    }
  }

  private paid(t: z.infer<typeof Transaction>, expectedFen?: number): { transactionId: string; amountFen: number; paidAt?: Date } {
    if (t.transaction_id === undefined || t.amount === undefined) throw new CloudError('payment_malformed', 'WeChat Pay: a paid transaction without transaction_id or amount', { reason: 'schema' });
    if (expectedFen !== undefined && t.amount.total !== expectedFen) {
      throw new CloudError('payment_mismatch', `WeChat Pay: paid ${t.amount.total} fen, the order is ${expectedFen}`, { outTradeNo: t.out_trade_no, amountFen: t.amount.total });
    }
    const paidAt = t.success_time === undefined ? undefined : new Date(t.success_time);
    return { transactionId: t.transaction_id, amountFen: t.amount.total, ...(paidAt !== undefined && !Number.isNaN(paidAt.getTime()) ? { paidAt } : {}) };
  }

  async query(outTradeNo: string): Promise<PaymentStatus> {
    const a = await this.call('GET', `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}?mchid=${encodeURIComponent(this.opts.mchid)}`);
    if (!a.ok) {
      if (a.code === 'ORDER_NOT_EXIST' || a.code === 'ORDERNOTEXIST') return { state: 'not_paid', exists: false };
      throw this.refused(a, 'the query');
    }
    const t = parse(Transaction, a.body, 'the query answer');
    this.checkTransaction(t, outTradeNo);
    switch (t.trade_state) {
      case 'SUCCESS':
        return { state: 'paid', ...this.paid(t) };
      case 'REFUND':
        return { state: 'refunded', ...this.paid(t) };
      case 'NOTPAY':
        return { state: 'not_paid', exists: true };
      case 'USERPAYING':
        return { state: 'paying' };
      default:
        return { state: 'closed' };
    }
  }

  async close(outTradeNo: string): Promise<void> {
    const a = await this.call('POST', `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}/close`, { mchid: this.opts.mchid });
    if (a.ok) return;
    if (a.code === 'ORDER_CLOSED' || a.code === 'ORDERCLOSED' || a.code === 'ORDER_NOT_EXIST' || a.code === 'ORDERNOTEXIST') return;
    throw this.refused(a, 'closing the order');
  }

  async reverse(outTradeNo: string): Promise<{ action: 'closed' | 'refunded' }> {
    const before = await this.query(outTradeNo);
    const a = await this.call('POST', `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}/reverse`, { appid: this.opts.appid, mchid: this.opts.mchid });
    if (!a.ok) {
      if (a.code === 'ORDER_NOT_EXIST' || a.code === 'ORDERNOTEXIST') return { action: 'closed' };
      throw this.refused(a, 'reversing the order');
    }
    parse(z.object({ mchid: z.literal(this.opts.mchid), out_trade_no: z.literal(outTradeNo) }), a.body, 'the reverse answer');
    return { action: before.state === 'paid' ? 'refunded' : 'closed' };
  }

  async refund(req: RefundRequest): Promise<RefundResult> {
    if (!Number.isSafeInteger(req.amountFen) || req.amountFen <= 0 || req.amountFen > req.totalFen) throw new CloudError('invalid_request', 'refund amount must be 1..total fen');
    const a = await this.call('POST', '/v3/refund/domestic/refunds', {
      out_trade_no: req.outTradeNo,
      out_refund_no: req.outRefundNo,
      // reason is string[1,80] in UTF-8 bytes, like description: a Chinese label is cut between characters.
      ...(req.reason === undefined ? {} : { reason: truncateUtf8(req.reason, 80) }),
      notify_url: this.opts.notifyUrl,
      amount: { refund: req.amountFen, total: req.totalFen, currency: 'CNY' },
    });
    if (!a.ok) throw this.refused(a, 'the refund');
    const r = parse(RefundAnswer, a.body, 'the refund answer');
    if (r.out_refund_no !== req.outRefundNo || r.out_trade_no !== req.outTradeNo || r.amount.refund !== req.amountFen) {
      throw new CloudError('payment_mismatch', `WeChat Pay: the refund answer is about ${r.out_trade_no}/${r.out_refund_no} ${r.amount.refund} fen`, { outTradeNo: req.outTradeNo });
    }
    if (r.status === 'SUCCESS' || r.status === 'PROCESSING') return { state: r.status === 'SUCCESS' ? 'succeeded' : 'processing', refundId: r.refund_id, amountFen: r.amount.refund };
    throw new CloudError('payment_refused', `WeChat Pay: refund ${r.status}`, { providerCode: r.status });
  }

  async queryRefund(req: RefundQuery): Promise<RefundStatus> {
    const a = await this.call('GET', `/v3/refund/domestic/refunds/${encodeURIComponent(req.outRefundNo)}`);
    if (!a.ok) {
      if (a.code === 'RESOURCE_NOT_EXISTS' || a.code === 'ORDER_NOT_EXIST') return { state: 'not_found' };
      throw this.refused(a, 'the refund query');
    }
    const r = parse(RefundAnswer, a.body, 'the refund query answer');
    if (r.out_refund_no !== req.outRefundNo || r.out_trade_no !== req.outTradeNo || r.amount.refund !== req.amountFen) {
      throw new CloudError('payment_mismatch', `WeChat Pay: the refund query answer is about ${r.out_trade_no}/${r.out_refund_no} ${r.amount.refund} fen`, { outTradeNo: req.outTradeNo });
    }
    if (r.status === 'SUCCESS') return { state: 'succeeded', refundId: r.refund_id, amountFen: r.amount.refund };
    if (r.status === 'PROCESSING') return { state: 'processing', refundId: r.refund_id };
    return { state: 'failed', providerCode: r.status };
  }

  parseNotification(headers: HeaderBag, rawBody: string | Buffer): PaymentEvent {
    const text = typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8');
    verifyWechatSignature(headers, text, this.platformKeys, this.clock());
    const n = parse(Notification, safeJson(text), 'the notification');
    const plaintext = decryptWechatResource(this.apiV3Key, n.resource);
    const resource = safeJson(plaintext);
    if (n.event_type === 'TRANSACTION.SUCCESS') {
      const t = parse(Transaction, resource, 'the notification resource');
      if (t.mchid !== this.opts.mchid || (t.appid !== undefined && t.appid !== this.opts.appid)) {
        throw new CloudError('payment_mismatch', `WeChat Pay: a notification for ${t.mchid}/${t.appid ?? ''}`, { outTradeNo: t.out_trade_no });
      }
      if (t.trade_state !== 'SUCCESS') return { kind: 'other', provider: 'wechat', notificationId: n.id, eventType: `${n.event_type}/${t.trade_state}` };
      return { kind: 'paid', provider: 'wechat', notificationId: n.id, outTradeNo: t.out_trade_no, ...this.paid(t) };
    }
    if (n.event_type.startsWith('REFUND.')) {
      const r = parse(RefundResource, resource, 'the refund notification resource');
      if (r.mchid !== this.opts.mchid) throw new CloudError('payment_mismatch', `WeChat Pay: a refund notification for ${r.mchid}`, { outTradeNo: r.out_trade_no });
      const state = r.refund_status === 'SUCCESS' ? 'succeeded' : r.refund_status === 'CLOSED' ? 'closed' : r.refund_status === 'ABNORMAL' ? 'abnormal' : undefined;
      if (state === undefined) return { kind: 'other', provider: 'wechat', notificationId: n.id, eventType: n.event_type };
      return { kind: 'refund', provider: 'wechat', notificationId: n.id, outTradeNo: r.out_trade_no, outRefundNo: r.out_refund_no, refundId: r.refund_id, amountFen: r.amount.refund, state };
    }
    return { kind: 'other', provider: 'wechat', notificationId: n.id, eventType: n.event_type };
  }

  notificationAck(ok: boolean): NotificationAck {
    // 200/204 without a body stops the retries; anything else (here 500 FAIL) makes WeChat Pay retry.
    return ok ? { status: 204, contentType: 'application/json', body: '' } : { status: 500, contentType: 'application/json', body: JSON.stringify({ code: 'FAIL', message: '失败' }) };
  }

  async downloadBill(date: string): Promise<Bill> {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new CloudError('invalid_date', `not a date: ${date}`);
    const a = await this.call('GET', `/v3/bill/tradebill?bill_date=${date}&bill_type=ALL`);
    if (!a.ok) {
      if (a.code === 'NO_STATEMENT_EXIST') return { provider: 'wechat', date, lines: [], rejected: [], empty: true };
      throw this.refused(a, 'the trade bill');
    }
    const b = parse(BillAnswer, a.body, 'the trade bill answer');
    let url: URL;
    try {
      url = new URL(b.download_url);
    } catch {
      throw new CloudError('payment_malformed', 'WeChat Pay: download_url is not a URL', { reason: 'schema' });
    }
    // The download is a signed request: it goes to WeChat Pay's own host only.
    if (url.origin !== new URL(this.baseUrl).origin) throw new CloudError('payment_mismatch', `WeChat Pay: bill download_url on ${url.origin}, not ${new URL(this.baseUrl).origin}`, { reason: 'bill_host' });
    const now = this.clock();
    const canonical = url.pathname + url.search;
    const authorization = wechatAuthorization({ mchid: this.opts.mchid, serialNo: this.opts.merchantSerial, privateKey: this.privateKey, method: 'GET', canonicalUrl: canonical, body: '', timestamp: String(Math.floor(now.getTime() / 1000)), nonce: wechatNonce() });
    const raw = await send(this.fetchImpl, url.href, { method: 'GET', headers: { Authorization: authorization, 'User-Agent': 'stile-cloud' } }, this.timeoutMs, 'WeChat Pay');
    if (raw.status >= 500 || raw.status === 429) throw new CloudError('payment_unavailable', `WeChat Pay bill download answered ${raw.status}`, { providerStatus: raw.status });
    if (raw.status !== 200) throw new CloudError('payment_refused', `WeChat Pay bill download answered ${raw.status}`, { providerStatus: raw.status });
    // The file itself is not signed: its SHA1 came in the signed answer above.
    if (b.hash_type.toUpperCase() !== 'SHA1') throw new CloudError('payment_malformed', `WeChat Pay: bill hash_type ${b.hash_type}`, { reason: 'bill_hash_type' });
    const digest = createHash('sha1').update(raw.body).digest('hex');
    if (digest !== b.hash_value.toLowerCase()) throw new CloudError('payment_bad_signature', 'WeChat Pay: the bill does not match its SHA1', { reason: 'bill_hash' });
    return parseWechatTradeBill(raw.text, date);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
