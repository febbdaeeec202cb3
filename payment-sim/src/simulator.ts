/**
 * The payment simulator: the provider side of WeChat Pay API v3 and of Alipay's gateway, on
 * one node:http server, plus a control API (/sim/…) for tests and people. It keeps its
 * ledger in memory; keys live in its state directory (keys.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { loadOrCreateKeys, type SimKeyOptions, type SimKeys } from './keys.js';
import { Notifier, ALIPAY_RETRY_MS, WECHAT_RETRY_MS, type Delivery } from './notifier.js';
import { Faults, type Fault } from './faults.js';
import { alipayStatus, refundedFen, type Provider, type SimRefund, type Trade } from './trades.js';
import { platformHeaders, sealResource } from './wechat/crypto.js';
import { content, rsa2 } from './alipay/crypto.js';
import { plain, rfc3339, yuan } from './time.js';
import { handleWechat } from './wechat/api.js';
import { handleAlipay } from './alipay/api.js';
import { handleControl } from './control.js';
import { send, SimError } from './http.js';
import { SmsSimulator, type SmsSimOptions } from './sms/simulator.js';
import { OAuthSim, AUTHORIZE_PATH } from './wechat/oauth.js';
import type { BillEdits } from './bills.js';
import { callOf, type SimCall } from './calls.js';

/** What a scanned payment code does (set per code through the control API; default `paid`). */
export type CodeBehaviour = 'paid' | 'password' | 'insufficient' | 'invalid';

export interface SimulatorOptions extends SimKeyOptions {
  /** The simulator's clock (tests move it). */
  now?: () => Date;
  /** Notification retry delays; default the providers' own schedules. */
  retryDelaysMs?: Partial<Record<Provider, number[]>>;
  /** How long one notification attempt may take (default 5 s, as WeChat Pay). */
  notifyAttemptTimeoutMs?: number;
  /** WeChat Pay refunds: `auto` completes them (and notifies) after refundDelayMs; `manual` waits for the control API. */
  refundMode?: 'auto' | 'manual';
  refundDelayMs?: number;
  /** Where Alipay's gateway answers (default /gateway.do). */
  alipayGatewayPath?: string;
  /** How long an Alipay bill_download_url works (default 30 s). */
  billUrlTtlMs?: number;
  /** The SMS providers' side (Alibaba Cloud SMS, Tencent Cloud SMS): delivery mode, receipt callbacks (sms/simulator.ts). */
  sms?: SmsSimOptions;
}

export interface BillFile {
  provider: Provider;
  date: string;
  body: Buffer;
  contentType: string;
  expiresAt?: Date;
}

export class PaymentSimulator {
  readonly keys: SimKeys;
  readonly trades = new Map<string, Trade>();
  readonly codes = new Map<string, CodeBehaviour>();
  readonly faults = new Faults();
  readonly notifier: Notifier;
  readonly bills = new Map<string, BillFile>();
  /** What a test staged for a day's bill, by `${provider}:${date}` (bills.ts BillEdits). */
  readonly billEdits = new Map<string, BillEdits>();
  /** Alibaba Cloud SMS and Tencent Cloud SMS on the same server (POST / by x-acs-action / X-TC-Action; control under /sim/sms/). */
  readonly sms: SmsSimulator;
  /** WeChat web OAuth (网页授权): the authorize page and the code → openid exchange (wechat/oauth.ts). */
  readonly oauth: OAuthSim;
  /** Every WeChat Pay / Alipay API request received (calls.ts; GET /sim/calls). */
  readonly calls: SimCall[] = [];
  readonly now: () => Date;
  readonly gatewayPath: string;
  /** The simulator's own URL once listening (http://127.0.0.1:port). */
  baseUrl = '';
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(readonly opts: SimulatorOptions) {
    this.keys = loadOrCreateKeys(opts);
    this.now = opts.now ?? (() => new Date());
    this.gatewayPath = opts.alipayGatewayPath ?? '/gateway.do';
    this.sms = new SmsSimulator(opts.stateDir, this.now, opts.sms);
    this.oauth = new OAuthSim(this);
    this.notifier = new Notifier({ wechat: opts.retryDelaysMs?.wechat ?? WECHAT_RETRY_MS, alipay: opts.retryDelaysMs?.alipay ?? ALIPAY_RETRY_MS }, this.now, opts.notifyAttemptTimeoutMs);
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    this.baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
    return this.baseUrl;
  }

  async close(): Promise<void> {
    this.notifier.close();
    this.sms.close();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }

  /** A timer that dies with the simulator. */
  later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** What the merchant configures: ids, URLs and key files (no private key of the simulator). */
  merchantConfig(): Record<string, unknown> {
    const k = this.keys;
    return {
      wechat: {
        baseUrl: this.baseUrl,
        mchid: k.identity.wechat.mchid,
        appid: k.identity.wechat.appid,
        merchantSerial: k.identity.wechat.merchantSerial,
        merchantPrivateKeyPath: k.files.wechatMerchantPrivateKey ?? '(your own: the simulator was given its public key)',
        apiV3KeyPath: k.files.wechatApiV3Key,
        platformKeys: [{ path: k.files.wechatPlatformPublicKey, serial: k.identity.wechat.platformKeyId }],
        // Web OAuth for the openid (JSAPI): open.weixin.qq.com's page and api.weixin.qq.com's exchange, both here.
        oauth: { appSecretPath: k.files.wechatAppSecret, authorizeUrl: this.baseUrl + AUTHORIZE_PATH, apiBaseUrl: this.baseUrl },
      },
      alipay: {
        gatewayUrl: this.baseUrl + this.gatewayPath,
        appId: k.identity.alipay.appId,
        sellerId: k.identity.alipay.sellerId,
        appPrivateKeyPath: k.files.alipayAppPrivateKey ?? '(your own: the simulator was given its public key)',
        alipayPublicKeyPath: k.files.alipayPublicKey,
        billHosts: [new URL(this.baseUrl || 'http://127.0.0.1').host],
      },
      sms: this.sms.merchantConfig(this.baseUrl),
      control: `${this.baseUrl}/sim/`,
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await readBody(req, 1 << 20);
      const url = new URL(req.url ?? '/', 'http://sim');
      const call = callOf(req, url, body, this.gatewayPath, this.now());
      if (call !== undefined) this.calls.push(call);
      if (this.sms.owns(req, url)) return await this.sms.handle(req, url, body, res);
      if (this.oauth.owns(url)) return this.oauth.handle(req, url, res);
      if (url.pathname.startsWith('/v3/')) return handleWechat(this, req, url, body, res);
      if (url.pathname === this.gatewayPath || url.pathname === '/downloadBillFile.resource') return handleAlipay(this, req, url, body, res);
      if (url.pathname.startsWith('/sim/') || url.pathname === '/sim') return await handleControl(this, req, url, body, res);
      send(res, 404, { 'Content-Type': 'text/plain' }, 'not found');
    } catch (err) {
      if (!res.headersSent) send(res, 500, { 'Content-Type': 'text/plain' }, `simulator error: ${(err as Error).message}`);
    }
  }

  /** Hold a request unanswered (a `timeout` fault), then drop it. */
  hang(res: ServerResponse, fault: Fault): void {
    this.later(fault.hangMs ?? 30_000, () => res.destroy());
  }

  trade(provider: Provider, outTradeNo: string): Trade | undefined {
    return this.trades.get(`${provider}:${outTradeNo}`);
  }

  putTrade(t: Trade): void {
    this.trades.set(`${t.provider}:${t.outTradeNo}`, t);
  }

  /** time_expire passed: the trade can no longer be paid (Alipay closes it). */
  refreshExpiry(t: Trade): void {
    if (!t.expired && t.expiresAt !== undefined && this.now() > t.expiresAt && (t.state === 'NOTPAY' || t.state === 'USERPAYING')) this.expire(t);
  }

  transactionId(provider: Provider): string {
    const day = plain(this.now()).slice(0, 10).replaceAll('-', '');
    const digits = () => [...randomBytes(16)].map((b) => String(b % 10)).join('');
    return provider === 'wechat' ? `42000${digits().slice(0, 5)}${day}${digits().slice(0, 10)}` : `${day}22001${digits().slice(0, 15)}`;
  }

  // ---- what happens to a trade (the control API and the protocol handlers both call these) ----

  /** The visitor scans the QR code (Alipay precreate: the trade now exists). */
  scan(t: Trade): void {
    t.scanned = true;
    if (!t.exists) {
      t.exists = true;
      t.buyerId = t.buyerId ?? `2088${[...randomBytes(12)].map((b) => b % 10).join('')}`;
    }
  }

  /** The visitor confirms and the money is taken. */
  pay(t: Trade, opts: { force?: boolean } = {}): void {
    this.refreshExpiry(t);
    const payable = (t.state === 'NOTPAY' || t.state === 'USERPAYING') && !t.expired;
    if (!payable && !opts.force) throw new SimError(409, `trade ${t.outTradeNo} is ${t.state}${t.expired ? ' (expired)' : ''}: not payable`);
    this.scan(t);
    t.state = 'SUCCESS';
    t.transactionId = t.transactionId ?? this.transactionId(t.provider);
    t.paidAt = this.now();
    t.openid = t.openid ?? `o${randomBytes(13).toString('base64url')}`;
    this.notifyPaid(t);
  }

  /** The visitor gives up on the payment sheet / the password prompt. */
  cancel(t: Trade): void {
    if (t.state === 'USERPAYING') {
      t.state = t.provider === 'wechat' ? 'PAYERROR' : 'CLOSED';
      t.closedAt = this.now();
    }
  }

  /** The trade times out: no longer payable; Alipay closes it and says so. */
  expire(t: Trade): void {
    t.expired = true;
    if (t.state === 'USERPAYING') t.state = t.provider === 'wechat' ? 'PAYERROR' : 'CLOSED';
    if (t.provider === 'alipay' && t.state === 'NOTPAY' && t.exists) {
      t.state = 'CLOSED';
      t.closedAt = this.now();
      this.notifyAlipay(t, {});
    }
  }

  notifyPaid(t: Trade): void {
    if (t.notifyUrl === undefined) return;
    t.payNotifications++;
    if (t.provider === 'wechat') {
      if (t.kind === 'codepay') return; // 付款码支付: no notification, the merchant queries
      this.notifyWechat(t, 'TRANSACTION.SUCCESS', '支付成功', 'transaction', JSON.stringify(this.wechatTransaction(t)), t.notifyUrl);
    } else this.notifyAlipay(t, {});
  }

  /** Send the last payment notification again (a duplicate delivery). */
  renotify(t: Trade): void {
    if (t.state !== 'SUCCESS' && t.state !== 'REFUND') throw new SimError(409, `trade ${t.outTradeNo} is not paid`);
    if (t.notifyUrl === undefined) throw new SimError(409, `trade ${t.outTradeNo} has no notify_url`);
    t.payNotifications++;
    if (t.provider === 'wechat') this.notifyWechat(t, 'TRANSACTION.SUCCESS', '支付成功', 'transaction', JSON.stringify(this.wechatTransaction(t, 'SUCCESS')), t.notifyUrl);
    else this.notifyAlipay(t, {}, 'TRADE_SUCCESS');
  }

  /** The trade as WeChat Pay's query answers it (and the notification resource carries it). */
  wechatTransaction(t: Trade, state = t.state): Record<string, unknown> {
    const id = this.keys.identity.wechat;
    const paid = t.transactionId !== undefined && t.paidAt !== undefined;
    const TRADE_TYPE = { native: 'NATIVE', jsapi: 'JSAPI', codepay: 'MICROPAY' } as Record<string, string>;
    return {
      appid: id.appid,
      mchid: id.mchid,
      out_trade_no: t.outTradeNo,
      ...(paid ? { transaction_id: t.transactionId, bank_type: 'OTHERS', success_time: rfc3339(t.paidAt!) } : {}),
      trade_type: TRADE_TYPE[t.kind] ?? 'NATIVE',
      trade_state: state,
      trade_state_desc: state === 'SUCCESS' ? '支付成功' : state,
      ...(t.attach === undefined ? {} : { attach: t.attach }),
      ...(paid ? { payer: { openid: t.openid } } : {}),
      amount: { total: t.amountFen, ...(paid ? { payer_total: t.amountFen } : {}), currency: 'CNY', payer_currency: 'CNY' },
    };
  }

  notifyWechat(t: Trade, eventType: string, summary: string, originalType: string, plaintext: string, url: string): Delivery {
    const id = randomUUID();
    const resource = sealResource(this.keys.apiV3Key, originalType, plaintext);
    const body = JSON.stringify({ id, create_time: rfc3339(this.now()), resource_type: 'encrypt-resource', event_type: eventType, summary, resource });
    return this.notifier.send({ id, provider: 'wechat', url, about: `${eventType} ${t.outTradeNo}`, outTradeNo: t.outTradeNo }, () => ({
      headers: { 'Content-Type': 'application/json', 'User-Agent': 'Mozilla/4.0 (stile-paysim)', ...platformHeaders(body, this.keys.wechatPlatformKey, this.keys.identity.wechat.platformKeyId, Math.floor(this.now().getTime() / 1000)) },
      body,
    }));
  }

  /** An Alipay trade_status_sync notification of the trade as it is now (refund fields when given). */
  notifyAlipay(t: Trade, refund: { refund?: SimRefund }, status = alipayStatus(t)): Delivery | undefined {
    if (t.notifyUrl === undefined) return undefined;
    const k = this.keys;
    const notifyId = randomBytes(16).toString('hex');
    const params: Record<string, string> = {
      notify_time: plain(this.now()),
      notify_type: 'trade_status_sync',
      notify_id: notifyId,
      app_id: k.identity.alipay.appId,
      auth_app_id: k.identity.alipay.appId,
      charset: 'utf-8',
      version: '1.0',
      sign_type: 'RSA2',
      out_trade_no: t.outTradeNo,
      trade_status: status,
      total_amount: yuan(t.amountFen),
      subject: t.description,
      seller_id: k.identity.alipay.sellerId,
      gmt_create: plain(t.createdAt),
    };
    if (t.transactionId !== undefined) params.trade_no = t.transactionId;
    if (t.buyerId !== undefined) params.buyer_id = t.buyerId;
    if (t.paidAt !== undefined) {
      params.gmt_payment = plain(t.paidAt);
      params.receipt_amount = yuan(t.amountFen);
      params.buyer_pay_amount = yuan(t.amountFen);
      params.invoice_amount = yuan(t.amountFen);
    }
    if (t.attach !== undefined) params.passback_params = t.attach;
    if (refund.refund !== undefined) {
      params.refund_fee = yuan(refundedFen(t));
      params.out_biz_no = refund.refund.outRefundNo;
      params.gmt_refund = `${plain(refund.refund.successAt ?? this.now())}.000`;
    }
    if (status === 'TRADE_CLOSED' && refund.refund === undefined) params.gmt_close = plain(t.closedAt ?? this.now());
    params.sign = rsa2(content(params, ['sign', 'sign_type']), k.alipayKey);
    const body = new URLSearchParams(params).toString();
    return this.notifier.send({ id: notifyId, provider: 'alipay', url: t.notifyUrl, about: `${status} ${t.outTradeNo}`, outTradeNo: t.outTradeNo }, () => ({
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body,
    }));
  }

  /** A WeChat Pay refund reaches its end state and is notified. */
  completeRefund(t: Trade, r: SimRefund, status: 'SUCCESS' | 'ABNORMAL' | 'CLOSED' = 'SUCCESS'): void {
    if (r.status !== 'PROCESSING') throw new SimError(409, `refund ${r.outRefundNo} is ${r.status}`);
    r.status = status;
    if (status === 'SUCCESS') r.successAt = this.now();
    const url = r.notifyUrl ?? t.notifyUrl;
    if (url === undefined) return;
    const id = this.keys.identity.wechat;
    const resource = {
      mchid: id.mchid,
      out_trade_no: t.outTradeNo,
      transaction_id: t.transactionId,
      out_refund_no: r.outRefundNo,
      refund_id: r.refundId,
      refund_status: status,
      ...(r.successAt === undefined ? {} : { success_time: rfc3339(r.successAt) }),
      user_received_account: '支付用户零钱',
      amount: { total: t.amountFen, refund: r.amountFen, payer_total: t.amountFen, payer_refund: r.amountFen },
    };
    const summary = status === 'SUCCESS' ? '退款成功' : status === 'CLOSED' ? '退款关闭' : '退款异常';
    this.notifyWechat(t, `REFUND.${status}`, summary, 'refund', JSON.stringify(resource), url);
  }

  /** What a test staged for this provider's bill of `date`. */
  editsOf(provider: Provider, date: string): BillEdits {
    return this.billEdits.get(`${provider}:${date}`) ?? {};
  }

  /** A bill's download token. */
  storeBill(file: BillFile): string {
    const token = randomBytes(18).toString('base64url');
    this.bills.set(token, file);
    return token;
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
