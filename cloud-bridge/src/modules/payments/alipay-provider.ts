/**
 * Alipay OpenAPI gateway (gateway.do, RSA2, public-key mode), over node fetch:
 *
 * | operation | method |
 * | --- | --- |
 * | createQr | alipay.trade.precreate → qr_code (the trade exists at Alipay only once scanned) |
 * | createInApp | alipay.trade.wap.pay: a signed gateway URL the browser is sent to (product_code QUICK_WAP_WAY) |
 * | payWithCode | alipay.trade.pay, scene bar_code (10000 paid, 10003/20000 pending, 40004 failed) |
 * | query | alipay.trade.query |
 * | close | alipay.trade.close |
 * | reverse | alipay.trade.cancel |
 * | refund | alipay.trade.refund (out_request_no = our out_refund_no) |
 * | queryRefund | alipay.trade.fastpay.refund.query (refund_status REFUND_SUCCESS; absent = not refunded) |
 * | downloadBill | alipay.data.dataservice.bill.downloadurl.query (bill_type trade), then the zip |
 *
 * Requests: the common parameters (app_id, method, format, charset, sign_type, timestamp in
 * Beijing time, version, notify_url, sign) in the query string and biz_content in the form
 * body, as the official SDKs send them. Answers: the `<method>_response` text is verified
 * (alipay-response.ts) before it is read; an unsigned answer is only ever read as an error.
 *
 * Why not the official `alipay-sdk` package (v4.14, runs on Node 18+, its RSA primitives are
 * node:crypto and right): its exec() verifies an answer only when asked (validateSign) and
 * then skips it with a console warning if no Alipay public key is set; checkNotifySign first
 * verifies with sign_type included and then without, and by default URI-decodes the posted
 * values again (its issue #45); and its timestamp is the process's local time, not Beijing
 * time nor an injectable clock. Doing the same few lines on node:crypto here keeps every
 * check strict and testable; the signed string is the same (and tested against its rules).
 */
import type { KeyObject } from 'node:crypto';
import { CloudError } from '../../core/errors.js';
import { systemClock, type Clock } from '../../core/clock.js';
import type { Logger } from '../../core/log.js';
import { truncateUtf8 } from '../../core/utf8.js';
import { loadPrivateKey, loadVerifierKey } from './keys.js';
import { alipaySignRequest, alipayVerifyNotification } from './alipay-sign.js';
import { readAlipayAnswer } from './alipay-response.js';
import { alipayBillText, parseAlipayTradeBill } from './alipay-bill.js';
import { fenToYuan, yuanToFen } from './money.js';
import { alipayTime, parseAlipayTime, send, type FetchLike } from './http.js';
import { header, type HeaderBag } from './wechat-verify.js';
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

export const ALIPAY_PRODUCTION_GATEWAY = 'https://openapi.alipay.com/gateway.do';

export interface AlipayOptions {
  appId: string;
  /** The application private key (PEM, or the bare base64 Alipay's key tool writes). */
  appPrivateKeyPath: string;
  /** Alipay's public key (支付宝公钥) for this app. */
  alipayPublicKeyPath: string;
  notifyUrl: string;
  /** Default: production, https://openapi.alipay.com/gateway.do. */
  gatewayUrl?: string;
  /** Hosts a bill_download_url may point at besides the gateway's (default dwbillcenter.alipay.com). */
  billHosts?: string[];
  timeoutMs?: number;
  clock?: Clock;
  log?: Logger;
  fetch?: FetchLike;
}

/** Common parameters that go in the URL; the rest (biz_content) goes in the body. */
const URL_PARAMS = ['app_id', 'method', 'format', 'charset', 'sign_type', 'sign', 'timestamp', 'version', 'notify_url', 'return_url', 'app_auth_token'];

interface Answer {
  code: string;
  msg: string;
  subCode?: string;
  subMsg?: string;
  body: Record<string, unknown>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export class AlipayProvider implements PaymentProvider {
  readonly id = 'alipay' as const;
  private readonly privateKey: KeyObject;
  private readonly alipayKey: KeyObject;
  private readonly gatewayUrl: string;
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  private readonly fetchImpl: FetchLike;

  constructor(private readonly opts: AlipayOptions) {
    this.privateKey = loadPrivateKey(opts.appPrivateKeyPath, 'Alipay application private key');
    this.alipayKey = loadVerifierKey(opts.alipayPublicKeyPath, 'alipay', 'Alipay public key').key;
    this.gatewayUrl = opts.gatewayUrl ?? ALIPAY_PRODUCTION_GATEWAY;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.clock = opts.clock ?? systemClock;
    this.fetchImpl = opts.fetch ?? fetch;
    opts.log?.info({ event: 'payment_provider', provider: 'alipay', appId: opts.appId, gateway: this.gatewayUrl }, 'Alipay provider ready');
  }

  private signedParams(method: string, biz: Record<string, unknown>, extra: Record<string, string | undefined> = {}): Record<string, string> {
    return alipaySignRequest(
      {
        app_id: this.opts.appId,
        method,
        format: 'JSON',
        charset: 'utf-8',
        sign_type: 'RSA2',
        timestamp: alipayTime(this.clock()),
        version: '1.0',
        ...extra,
        biz_content: JSON.stringify(biz),
      },
      this.privateKey,
    );
  }

  /** One gateway call; the answer comes back verified (or, unsigned, as an error only). */
  private async call(method: string, biz: Record<string, unknown>, extra: Record<string, string | undefined> = {}): Promise<Answer> {
    const params = this.signedParams(method, biz, extra);
    const query = new URLSearchParams();
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) (URL_PARAMS.includes(k) ? query : form).set(k, v);
    const url = `${this.gatewayUrl}${this.gatewayUrl.includes('?') ? '&' : '?'}${query.toString()}`;
    const raw = await send(this.fetchImpl, url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded;charset=utf-8', Accept: 'application/json', 'User-Agent': 'stile-cloud' }, body: form.toString() }, this.timeoutMs, 'Alipay');
    if (raw.status >= 500 || raw.status === 429) throw new CloudError('payment_unavailable', `Alipay answered ${raw.status}`, { providerStatus: raw.status });
    if (raw.status !== 200) throw new CloudError('payment_malformed', `Alipay: unexpected status ${raw.status}`, { reason: 'status', providerStatus: raw.status });
    const answer = readAlipayAnswer(raw.text, method, this.alipayKey);
    const code = str(answer.body.code);
    if (code === undefined) throw new CloudError('payment_malformed', `Alipay: ${answer.key} without a code`, { reason: 'schema' });
    if (code === '10000' && !answer.signed) throw new CloudError('payment_bad_signature', `Alipay: an unsigned success answer to ${method}`, { reason: 'unsigned' });
    if (code === '20000' && method !== 'alipay.trade.pay') throw new CloudError('payment_unavailable', `Alipay: ${str(answer.body.sub_code) ?? 'service unavailable'}`, { providerCode: code, subCode: str(answer.body.sub_code) });
    return { code, msg: str(answer.body.msg) ?? '', subCode: str(answer.body.sub_code), subMsg: str(answer.body.sub_msg), body: answer.body };
  }

  private refused(a: Answer, what: string): CloudError {
    return new CloudError('payment_refused', `Alipay refused ${what}: ${a.code} ${a.subCode ?? ''} ${a.subMsg ?? a.msg}`.trim(), { providerCode: a.subCode ?? a.code, providerMessage: a.subMsg ?? a.msg });
  }

  private checkSame(a: Answer, outTradeNo: string): void {
    const got = str(a.body.out_trade_no);
    if (got !== undefined && got !== outTradeNo) throw new CloudError('payment_mismatch', `Alipay answered about ${got}, not ${outTradeNo}`, { outTradeNo });
  }

  private paidFrom(a: Answer, expectedFen?: number): { transactionId: string; amountFen: number; paidAt?: Date } {
    const transactionId = str(a.body.trade_no);
    const amountFen = yuanToFen(str(a.body.total_amount) ?? '');
    if (transactionId === undefined || amountFen === undefined) throw new CloudError('payment_malformed', 'Alipay: a paid trade without trade_no or total_amount', { reason: 'schema' });
    if (expectedFen !== undefined && amountFen !== expectedFen) throw new CloudError('payment_mismatch', `Alipay: paid ${amountFen} fen, the order is ${expectedFen}`, { amountFen });
    const paidAt = parseAlipayTime(str(a.body.gmt_payment) ?? str(a.body.send_pay_date));
    return { transactionId, amountFen, ...(paidAt === undefined ? {} : { paidAt }) };
  }

  private biz(order: PaymentOrder): Record<string, unknown> {
    checkOrder(order);
    return {
      out_trade_no: order.outTradeNo,
      total_amount: fenToYuan(order.amountFen),
      subject: order.description,
      ...(order.expiresAt === undefined ? {} : { time_expire: alipayTime(order.expiresAt) }),
    };
  }

  async createQr(order: PaymentOrder): Promise<{ codeUrl: string }> {
    const a = await this.call('alipay.trade.precreate', this.biz(order), { notify_url: this.opts.notifyUrl });
    if (a.code !== '10000') throw this.refused(a, 'the precreate');
    this.checkSame(a, order.outTradeNo);
    const qr = str(a.body.qr_code);
    if (qr === undefined || qr === '') throw new CloudError('payment_malformed', 'Alipay: precreate without qr_code', { reason: 'schema' });
    return { codeUrl: qr };
  }

  createInApp(order: InAppOrder): Promise<InAppPayment> {
    // A page method: nothing is sent from here; the browser takes the signed request to Alipay.
    const params = this.signedParams(
      'alipay.trade.wap.pay',
      { ...this.biz(order), product_code: 'QUICK_WAP_WAY', ...(order.quitUrl === undefined ? {} : { quit_url: order.quitUrl }), ...(order.attach === undefined ? {} : { passback_params: order.attach }) },
      { notify_url: this.opts.notifyUrl, return_url: order.returnUrl },
    );
    const url = `${this.gatewayUrl}${this.gatewayUrl.includes('?') ? '&' : '?'}${new URLSearchParams(params).toString()}`;
    return Promise.resolve({ kind: 'redirect', url });
  }

  async payWithCode(order: CodeOrder): Promise<CodePaymentResult> {
    const a = await this.call(
      'alipay.trade.pay',
      { ...this.biz(order), scene: 'bar_code', auth_code: order.authCode, product_code: 'FACE_TO_FACE_PAYMENT', ...(order.deviceId === undefined ? {} : { terminal_id: order.deviceId }) },
      { notify_url: this.opts.notifyUrl },
    );
    if (a.code === '10000') {
      this.checkSame(a, order.outTradeNo);
      return { result: 'paid', ...this.paidFrom(a, order.amountFen) };
    }
    if (a.code === '10003' || a.code === '20000') return { result: 'pending' };
    if (a.code === '40004') return { result: 'failed', providerCode: a.subCode ?? a.code, message: a.subMsg ?? a.msg };
    throw this.refused(a, 'the payment-code order');
  }

  async query(outTradeNo: string): Promise<PaymentStatus> {
    const a = await this.call('alipay.trade.query', { out_trade_no: outTradeNo });
    if (a.code !== '10000') {
      if (a.subCode === 'ACQ.TRADE_NOT_EXIST') return { state: 'not_paid', exists: false };
      throw this.refused(a, 'the query');
    }
    this.checkSame(a, outTradeNo);
    const status = str(a.body.trade_status);
    switch (status) {
      case 'TRADE_SUCCESS':
      case 'TRADE_FINISHED':
        return { state: 'paid', ...this.paidFrom(a) };
      case 'WAIT_BUYER_PAY':
        return { state: 'not_paid', exists: true };
      case 'TRADE_CLOSED':
        // A closed trade that had been paid (send_pay_date) was closed by a full refund.
        return str(a.body.send_pay_date) !== undefined ? { state: 'refunded', ...this.paidFrom(a) } : { state: 'closed' };
      default:
        throw new CloudError('payment_malformed', `Alipay: trade_status ${status ?? '(none)'}`, { reason: 'schema' });
    }
  }

  async close(outTradeNo: string): Promise<void> {
    const a = await this.call('alipay.trade.close', { out_trade_no: outTradeNo });
    if (a.code === '10000') return this.checkSame(a, outTradeNo);
    // Never scanned: nothing exists to be paid.
    if (a.subCode === 'ACQ.TRADE_NOT_EXIST') return;
    if (a.subCode === 'ACQ.TRADE_STATUS_ERROR') {
      const now = await this.query(outTradeNo);
      if (now.state === 'closed') return;
    }
    throw this.refused(a, 'closing the trade');
  }

  async reverse(outTradeNo: string): Promise<{ action: 'closed' | 'refunded' }> {
    const a = await this.call('alipay.trade.cancel', { out_trade_no: outTradeNo });
    if (a.code !== '10000') {
      if (a.subCode === 'ACQ.TRADE_NOT_EXIST') return { action: 'closed' };
      throw this.refused(a, 'cancelling the trade');
    }
    this.checkSame(a, outTradeNo);
    return { action: str(a.body.action) === 'refund' ? 'refunded' : 'closed' };
  }

  async refund(req: RefundRequest): Promise<RefundResult> {
    if (!Number.isSafeInteger(req.amountFen) || req.amountFen <= 0 || req.amountFen > req.totalFen) throw new CloudError('invalid_request', 'refund amount must be 1..total fen');
    const a = await this.call('alipay.trade.refund', {
      out_trade_no: req.outTradeNo,
      refund_amount: fenToYuan(req.amountFen),
      out_request_no: req.outRefundNo,
      ...(req.reason === undefined ? {} : { refund_reason: truncateUtf8(req.reason, 256) }),
    });
    if (a.code !== '10000') throw this.refused(a, 'the refund');
    this.checkSame(a, req.outTradeNo);
    // Alipay refunds synchronously: a 10000 answer is a refund done (fund_change N: done by an earlier call with the same out_request_no).
    // Alipay gives a refund no id of its own: our out_request_no names it.
    return { state: 'succeeded', amountFen: req.amountFen };
  }

  async queryRefund(req: RefundQuery): Promise<RefundStatus> {
    const a = await this.call('alipay.trade.fastpay.refund.query', { out_trade_no: req.outTradeNo, out_request_no: req.outRefundNo, query_options: ['gmt_refund_pay'] });
    if (a.code !== '10000') {
      if (a.subCode === 'ACQ.TRADE_NOT_EXIST') return { state: 'not_found' };
      throw this.refused(a, 'the refund query');
    }
    this.checkSame(a, req.outTradeNo);
    const requestNo = str(a.body.out_request_no);
    if (requestNo !== undefined && requestNo !== req.outRefundNo) throw new CloudError('payment_mismatch', `Alipay answered about refund ${requestNo}, not ${req.outRefundNo}`, { outTradeNo: req.outTradeNo });
    // 10000 only says the query worked: without refund_status REFUND_SUCCESS the refund was not received, or failed.
    if (str(a.body.refund_status) !== 'REFUND_SUCCESS') return { state: 'not_found' };
    const amountFen = yuanToFen(str(a.body.refund_amount) ?? '');
    if (amountFen === undefined) throw new CloudError('payment_malformed', 'Alipay: a refund query answer without refund_amount', { reason: 'schema' });
    if (amountFen !== req.amountFen) throw new CloudError('payment_mismatch', `Alipay: refund ${req.outRefundNo} is ${amountFen} fen, we sent ${req.amountFen}`, { outTradeNo: req.outTradeNo, amountFen });
    return { state: 'succeeded', amountFen };
  }

  parseNotification(headers: HeaderBag, rawBody: string | Buffer): PaymentEvent {
    const contentType = header(headers, 'content-type') ?? '';
    if (!contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) throw new CloudError('payment_malformed', `Alipay: a notification of type ${contentType || '(none)'}`, { reason: 'content_type' });
    const text = typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8');
    const params: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(text)) {
      if (Object.hasOwn(params, k)) throw new CloudError('payment_malformed', `Alipay: notification parameter ${k} twice`, { reason: 'duplicate_param' });
      params[k] = v;
    }
    if (params.sign_type !== undefined && params.sign_type !== 'RSA2') throw new CloudError('payment_bad_signature', `Alipay: sign_type ${params.sign_type}`, { reason: 'sign_type' });
    if (!alipayVerifyNotification(params, this.alipayKey)) throw new CloudError('payment_bad_signature', 'Alipay: the notification signature does not verify', { reason: 'bad_signature' });
    if (params.app_id !== this.opts.appId) throw new CloudError('payment_mismatch', `Alipay: a notification for app ${params.app_id ?? '(none)'}`, { outTradeNo: params.out_trade_no });
    const notificationId = params.notify_id;
    const outTradeNo = params.out_trade_no;
    if (notificationId === undefined || outTradeNo === undefined) throw new CloudError('payment_malformed', 'Alipay: a notification without notify_id or out_trade_no', { reason: 'schema' });
    const status = params.trade_status ?? '';
    const refundedTotalFen = params.refund_fee === undefined ? undefined : yuanToFen(params.refund_fee);
    if (params.refund_fee !== undefined && refundedTotalFen === undefined) throw new CloudError('payment_malformed', 'Alipay: refund_fee unreadable', { reason: 'schema' });
    if (refundedTotalFen !== undefined && refundedTotalFen > 0 && (status === 'TRADE_SUCCESS' || status === 'TRADE_CLOSED' || status === 'TRADE_FINISHED')) {
      return { kind: 'refund', provider: 'alipay', notificationId, outTradeNo, ...(params.out_biz_no === undefined ? {} : { outRefundNo: params.out_biz_no }), refundedTotalFen, state: 'succeeded' };
    }
    if (status === 'TRADE_SUCCESS' || status === 'TRADE_FINISHED') {
      const transactionId = params.trade_no;
      const amountFen = yuanToFen(params.total_amount ?? '');
      if (transactionId === undefined || amountFen === undefined) throw new CloudError('payment_malformed', 'Alipay: a paid notification without trade_no or total_amount', { reason: 'schema' });
      const paidAt = parseAlipayTime(params.gmt_payment);
      return { kind: 'paid', provider: 'alipay', notificationId, outTradeNo, transactionId, amountFen, ...(paidAt === undefined ? {} : { paidAt }) };
    }
    if (status === 'TRADE_CLOSED') return { kind: 'closed', provider: 'alipay', notificationId, outTradeNo };
    return { kind: 'other', provider: 'alipay', notificationId, eventType: status || (params.notify_type ?? '') };
  }

  notificationAck(ok: boolean): NotificationAck {
    // Alipay stops retrying on the exact text "success"; anything else is a failure.
    return { status: 200, contentType: 'text/plain', body: ok ? 'success' : 'fail' };
  }

  async downloadBill(date: string): Promise<Bill> {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new CloudError('invalid_date', `not a date: ${date}`);
    const a = await this.call('alipay.data.dataservice.bill.downloadurl.query', { bill_type: 'trade', bill_date: date });
    if (a.code !== '10000') {
      if (a.subCode === 'isp.bill_not_exist') return { provider: 'alipay', date, lines: [], rejected: [], empty: true };
      throw this.refused(a, 'the bill');
    }
    const link = str(a.body.bill_download_url);
    let url: URL;
    try {
      url = new URL(link ?? '');
    } catch {
      throw new CloudError('payment_malformed', 'Alipay: bill_download_url is not a URL', { reason: 'schema' });
    }
    const allowed = [new URL(this.gatewayUrl).host, ...(this.opts.billHosts ?? ['dwbillcenter.alipay.com'])];
    if (!allowed.includes(url.host)) throw new CloudError('payment_mismatch', `Alipay: bill_download_url on ${url.host}`, { reason: 'bill_host' });
    const raw = await send(this.fetchImpl, url.href, { method: 'GET', headers: { 'User-Agent': 'stile-cloud' } }, this.timeoutMs, 'Alipay');
    if (raw.status >= 500 || raw.status === 429) throw new CloudError('payment_unavailable', `Alipay bill download answered ${raw.status}`, { providerStatus: raw.status });
    if (raw.status !== 200) throw new CloudError('payment_refused', `Alipay bill download answered ${raw.status}`, { providerStatus: raw.status });
    return parseAlipayTradeBill(alipayBillText(new Uint8Array(raw.body)), date);
  }
}
