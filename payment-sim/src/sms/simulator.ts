/**
 * The SMS part of the simulator: Alibaba Cloud SMS (dysmsapi SendSms, ACS3-HMAC-SHA256) and
 * Tencent Cloud SMS (SendSms 2021-01-11, TC3-HMAC-SHA256) on the payment simulator's server,
 * both at POST / as the real endpoints are (told apart by x-acs-action / X-TC-Action). It
 * checks every signature, answers as the providers do (their success and error bodies),
 * renders each accepted text from its approved template, "delivers" it and pushes the
 * delivery receipt to the callback URL configured for the provider (Alibaba's SmsReport,
 * Tencent's status callback), retrying as they do. A control API under /sim/sms/ lists
 * texts, injects faults and sends receipts on demand (control.ts).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadOrCreateSmsCredentials, type SmsCredentials } from './credentials.js';
import { SmsFaults, type SmsProvider } from './faults.js';
import { handleAliyunSms } from './aliyun.js';
import { handleTencentSms } from './tencent.js';
import { handleSmsControl } from './control.js';
import { pushReceipts, type ReceiptPush } from './receipts.js';

export interface SimTemplate {
  provider: SmsProvider;
  /** Alibaba's TemplateCode (SMS_…), Tencent's TemplateId (digits). */
  id: string;
  /** Alibaba: ${name} variables; Tencent: {1}, {2}… */
  text: string;
}

export interface SmsSimOptions {
  /** auto (default): each accepted text is delivered after deliveryDelayMs and its receipt pushed; manual: only through the control API. */
  delivery?: 'auto' | 'manual';
  deliveryDelayMs?: number;
  /** Delays between receipt push attempts the merchant did not take (default 1, 5, 10 min, as Alibaba). */
  receiptRetryMs?: number[];
  /** Receipt callback URLs, as entered in each provider's console (also PUT /sim/sms/callbacks). */
  callbacks?: Partial<Record<SmsProvider, string>>;
}

export interface SimText {
  provider: SmsProvider;
  /** Alibaba's BizId, Tencent's SerialNo. */
  messageId: string;
  requestId: string;
  phone: string;
  signName: string;
  templateId: string;
  params: Record<string, string> | string[];
  /** What the phone shows: 【sign】 + the template filled in. */
  text: string;
  /** Alibaba's OutId / Tencent's SessionContext, as the merchant sent it. */
  ref?: string;
  acceptedAt: Date;
  state: 'accepted' | 'delivered' | 'failed';
  /** The carrier's report code once delivered or failed (DELIVERED / DELIVRD, MK:0001…). */
  reportCode?: string;
  reportedAt?: Date;
  /** It will fail delivery (an `undeliverable` fault). */
  undeliverable?: boolean;
}

/** Approved sign name and templates every simulator starts with (the demo and the tests use them). */
export const SIM_SIGN_NAME = 'Stile景区';
export const DEFAULT_TEMPLATES: SimTemplate[] = [
  { provider: 'aliyun', id: 'SMS_480010001', text: '您的入园码：${code}，${date} ${slot}，共${count}张。请在闸机扫码或刷身份证入园。' },
  { provider: 'aliyun', id: 'SMS_480010002', text: 'Your entry code: ${code}, ${date} ${slot}, ${count} ticket(s). Scan it or tap your ID card at the gate.' },
  { provider: 'aliyun', id: 'SMS_480010003', text: '您的验证码为${code}，5分钟内有效，请勿泄露。' },
  { provider: 'tencent', id: '2480001', text: '您的入园码：{1}，{2} {3}，共{4}张。请在闸机扫码或刷身份证入园。' },
  { provider: 'tencent', id: '2480002', text: 'Your entry code: {1}, {2} {3}, {4} ticket(s). Scan it or tap your ID card at the gate.' },
  { provider: 'tencent', id: '2480003', text: '您的验证码为{1}，5分钟内有效，请勿泄露。' },
];

const digits = (n: number): string => [...randomBytes(n)].map((b) => String(b % 10)).join('');

export class SmsSimulator {
  readonly credentials: SmsCredentials;
  readonly texts: SimText[] = [];
  readonly pushes: ReceiptPush[] = [];
  readonly faults = new SmsFaults();
  readonly templates = new Map<string, SimTemplate>();
  readonly signNames: Record<SmsProvider, Set<string>> = { aliyun: new Set([SIM_SIGN_NAME]), tencent: new Set([SIM_SIGN_NAME]) };
  callbacks: Partial<Record<SmsProvider, string>>;
  delivery: 'auto' | 'manual';
  deliveryDelayMs: number;
  readonly receiptRetryMs: number[];
  /** Alibaba nonces seen in the last 15 minutes (a replayed request is refused). */
  private readonly nonces = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    stateDir: string,
    readonly now: () => Date,
    opts: SmsSimOptions = {},
  ) {
    this.credentials = loadOrCreateSmsCredentials(stateDir);
    for (const t of DEFAULT_TEMPLATES) this.templates.set(`${t.provider}:${t.id}`, t);
    this.callbacks = { ...opts.callbacks };
    this.delivery = opts.delivery ?? 'auto';
    this.deliveryDelayMs = opts.deliveryDelayMs ?? 200;
    this.receiptRetryMs = opts.receiptRetryMs ?? [60_000, 300_000, 600_000];
  }

  /** Requests this part answers: the two SendSms endpoints and /sim/sms/. */
  owns(req: IncomingMessage, url: URL): boolean {
    if (url.pathname === '/sim/sms' || url.pathname.startsWith('/sim/sms/')) return true;
    return url.pathname === '/' && (req.headers['x-acs-action'] !== undefined || req.headers['x-tc-action'] !== undefined);
  }

  async handle(req: IncomingMessage, url: URL, body: Buffer, res: ServerResponse): Promise<void> {
    if (url.pathname.startsWith('/sim/sms')) return handleSmsControl(this, req, url, body, res);
    if (req.headers['x-acs-action'] !== undefined) return handleAliyunSms(this, req, url, body, res);
    return handleTencentSms(this, req, url, body, res);
  }

  /** What a merchant configures for SMS (ids, secret files, templates), given the simulator's URL. */
  merchantConfig(baseUrl: string): Record<string, unknown> {
    const c = this.credentials;
    return {
      aliyun: { endpoint: baseUrl, accessKeyId: c.aliyun.accessKeyId, accessKeySecretFile: c.files.aliyunAccessKeySecret },
      tencent: { endpoint: baseUrl, secretId: c.tencent.secretId, secretKeyFile: c.files.tencentSecretKey, smsSdkAppId: c.tencent.smsSdkAppId, region: 'ap-guangzhou' },
      signName: SIM_SIGN_NAME,
      templates: {
        aliyun: {
          checkin: { 'zh-CN': { id: 'SMS_480010001', params: { code: 'code', date: 'date', slot: 'slot', count: 'count' } }, en: { id: 'SMS_480010002', params: { code: 'code', date: 'date', slot: 'slot', count: 'count' } } },
          verify: { 'zh-CN': { id: 'SMS_480010003', params: { code: 'code' } } },
        },
        tencent: {
          checkin: { 'zh-CN': { id: '2480001', params: ['code', 'date', 'slot', 'count'] }, en: { id: '2480002', params: ['code', 'date', 'slot', 'count'] } },
          verify: { 'zh-CN': { id: '2480003', params: ['code'] } },
        },
      },
      callbacks: this.callbacks,
      control: `${baseUrl}/sim/sms/`,
    };
  }

  /** A replayed Alibaba nonce (within 15 minutes) is refused; each nonce is remembered once its request verified. */
  nonceSeen(nonce: string): boolean {
    const t = this.now().getTime();
    for (const [n, until] of this.nonces) if (until < t) this.nonces.delete(n);
    if (this.nonces.has(nonce)) return true;
    this.nonces.set(nonce, t + 15 * 60_000);
    return false;
  }

  template(provider: SmsProvider, id: string): SimTemplate | undefined {
    return this.templates.get(`${provider}:${id}`);
  }

  /** The provider takes a text: recorded, and delivered later unless delivery is manual. */
  accept(t: Omit<SimText, 'messageId' | 'acceptedAt' | 'state'>): SimText {
    const messageId = t.provider === 'aliyun' ? `${digits(18)}^0` : `${2000 + Number(digits(3))}:${digits(28)}`;
    const text: SimText = { ...t, messageId, acceptedAt: this.now(), state: 'accepted' };
    this.texts.push(text);
    if (this.delivery === 'auto') this.later(this.deliveryDelayMs, () => this.report([text], !text.undeliverable));
    return text;
  }

  /** The carrier's verdict on these texts (still open), pushed as one receipt batch to the provider's callback URL. */
  report(texts: SimText[], delivered: boolean, code?: string, description?: string): ReceiptPush | undefined {
    const open = texts.filter((x) => x.state === 'accepted');
    if (open.length === 0) return undefined;
    const provider = open[0]!.provider;
    for (const x of open) {
      x.state = delivered ? 'delivered' : 'failed';
      x.reportCode = code ?? (delivered ? (provider === 'aliyun' ? 'DELIVERED' : 'DELIVRD') : provider === 'aliyun' ? 'MK:0001' : 'UNDELIV');
      x.reportedAt = this.now();
    }
    return pushReceipts(this, provider, open, description);
  }

  /** A timer that dies with the simulator. */
  later(ms: number, fn: () => void): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  newRequestId(): string {
    return randomUUID().toUpperCase();
  }
}

/** Fill a template: Alibaba's ${name} from named params, Tencent's {n} from positional ones. */
export function render(t: SimTemplate, params: Record<string, string> | string[]): string {
  if (Array.isArray(params)) return t.text.replace(/\{(\d+)\}/g, (_, n: string) => params[Number(n) - 1] ?? '');
  return t.text.replace(/\$\{(\w+)\}/g, (_, n: string) => params[n] ?? '');
}

/** The variables a template needs: ${name}s, or the highest {n}. */
export function templateVars(t: SimTemplate): { named: string[]; positional: number } {
  const named = [...t.text.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]!);
  const positional = Math.max(0, ...[...t.text.matchAll(/\{(\d+)\}/g)].map((m) => Number(m[1])));
  return { named: [...new Set(named)], positional };
}
