/**
 * Alibaba Cloud SMS (dysmsapi 2017-05-25): SendSms signed with ACS3-HMAC-SHA256
 * (aliyun-sign.ts), its answers and errors, and SmsReport, the HTTP batch push of delivery
 * receipts.
 *
 * SendSms is an RPC-style API: POST to https://dysmsapi.aliyuncs.com/ with the action in
 * x-acs-action and the parameters (PhoneNumbers, SignName, TemplateCode, TemplateParam JSON,
 * OutId) in the query string. Success is HTTP 200 `{"Code":"OK","BizId":…}`; a business
 * refusal is HTTP 200 with another Code (isv.MOBILE_NUMBER_ILLEGAL, isv.BUSINESS_LIMIT_CONTROL…);
 * the gateway answers 4xx/5xx with `{"Code":"SignatureDoesNotMatch"|"Throttling.User"|…}`.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { CloudError } from '../../core/errors.js';
import { acsDate, canonicalQuery, signAcs3 } from './aliyun-sign.js';
import { parseReceiptBody, post, providerHttp, type ProviderHttp, type ProviderHttpOptions } from './http.js';
import { parseBeijingTime, type Accepted, type ProviderText, type Receipt, type SmsProvider } from './provider.js';

export const ALIYUN_SMS_ENDPOINT = 'https://dysmsapi.aliyuncs.com';
const VERSION = '2017-05-25';

/** `endpoint` defaults to https://dysmsapi.aliyuncs.com; x-acs-date must be within 15 minutes of Alibaba's clock. */
export interface AliyunSmsOptions extends ProviderHttpOptions {
  accessKeyId: string;
  accessKeySecret: string;
}

/** Gateway refusals of the caller itself: nothing was sent, and the same request will not pass. */
const AUTH = /^(SignatureDoesNotMatch|IncompleteSignature|InvalidAccessKeyId|InvalidTimeStamp|SignatureNonceUsed|Forbidden|NoPermission|InvalidAuthorization|MissingAuthorization|InvalidSecurityToken)/;
/** Refused before it was carried out because of the request rate, or the service is down: safe to send again later. */
const RETRY = /^(Throttling|ServiceUnavailable)/;

const ReportSchema = z.array(
  z.looseObject({
    phone_number: z.string().min(1).max(32),
    success: z.boolean(),
    biz_id: z.string().min(1).max(128),
    out_id: z.string().max(128).optional(),
    err_code: z.string().max(128).optional(),
    err_msg: z.string().max(512).optional(),
    report_time: z.string().optional(),
  }),
);

export class AliyunSmsProvider implements SmsProvider {
  readonly id = 'aliyun' as const;
  private readonly http: ProviderHttp;

  constructor(private readonly opts: AliyunSmsOptions) {
    this.http = providerHttp(opts, ALIYUN_SMS_ENDPOINT);
  }

  async send(text: ProviderText): Promise<Accepted> {
    const query: [string, string][] = [
      ['PhoneNumbers', text.phone],
      ['SignName', text.signName],
      ['TemplateCode', text.templateId],
      ['TemplateParam', JSON.stringify(Array.isArray(text.params) ? Object.fromEntries(text.params.map((v, i) => [String(i + 1), v])) : text.params)],
      ['OutId', text.ref],
    ];
    const { endpoint, fetchImpl, clock, timeoutMs } = this.http;
    const path = endpoint.pathname || '/';
    const signed = signAcs3({
      method: 'POST',
      path,
      query,
      headers: {
        host: endpoint.host,
        'x-acs-action': 'SendSms',
        'x-acs-version': VERSION,
        'x-acs-date': acsDate(clock()),
        'x-acs-signature-nonce': randomBytes(16).toString('hex'),
      },
      body: '',
      accessKeyId: this.opts.accessKeyId,
      accessKeySecret: this.opts.accessKeySecret,
    });
    // fetch sets Host itself, from the URL (the value signed).
    const { host: _host, ...headers } = signed.headers;
    const url = `${endpoint.origin}${path}?${canonicalQuery(query)}`;
    const answer = await post(fetchImpl, url, { ...headers, accept: 'application/json' }, '', timeoutMs, 'aliyun');
    return readSendAnswer(answer.status, answer.text);
  }

  parseReceipts(body: string): Receipt[] {
    return parseReceiptBody(body, ReportSchema, 'aliyun', 'SmsReport').map((r) => ({
      providerMessageId: r.biz_id,
      ...(r.out_id ? { ref: r.out_id } : {}),
      phone: r.phone_number,
      delivered: r.success,
      code: r.err_code ?? (r.success ? 'DELIVERED' : 'UNKNOWN'),
      ...(r.err_msg ? { description: r.err_msg } : {}),
      ...(parseBeijingTime(r.report_time) ? { at: parseBeijingTime(r.report_time)! } : {}),
    }));
  }

  /** Alibaba checks the status (200) and that `code` is a number; anything else is pushed again (1, 5, 10 min). */
  receiptAck(ok: boolean): { status: number; body: string } {
    return ok ? { status: 200, body: JSON.stringify({ code: 0, msg: '接收成功' }) } : { status: 503, body: JSON.stringify({ code: 1, msg: 'try again later' }) };
  }
}

/** SendSms's answer → Accepted, or the CloudError that says what happened. */
export function readSendAnswer(status: number, text: string): Accepted {
  let body: Record<string, unknown> | undefined;
  try {
    const v: unknown = JSON.parse(text);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) body = v as Record<string, unknown>;
  } catch {
    // handled below
  }
  const code = typeof body?.Code === 'string' ? body.Code : undefined;
  const details = { provider: 'aliyun', httpStatus: status, ...(code ? { providerCode: code } : {}), ...(typeof body?.Message === 'string' ? { providerMessage: body.Message.slice(0, 200) } : {}), ...(typeof body?.RequestId === 'string' ? { requestId: body.RequestId } : {}) };
  if (code === undefined) {
    // 5xx without a body of the protocol (a proxy's page) or a 200 we cannot read: it may have been sent.
    const outcome = status >= 400 && status < 500 ? 'not_sent' : 'unknown';
    if (status >= 500) throw new CloudError('sms_unavailable', `aliyun: HTTP ${status} without an Alibaba Cloud error body`, { ...details, outcome, retryable: status === 503 });
    throw new CloudError('sms_malformed', `aliyun: HTTP ${status}, body is not a SendSms answer`, { ...details, outcome });
  }
  if (status === 200 && code === 'OK') {
    if (typeof body!.BizId === 'string' && body!.BizId !== '') return { providerMessageId: body!.BizId };
    throw new CloudError('sms_malformed', 'aliyun: Code OK without a BizId', { ...details, outcome: 'unknown' });
  }
  if (RETRY.test(code) || status === 503) throw new CloudError('sms_unavailable', `aliyun: ${code}`, { ...details, outcome: 'not_sent', retryable: true });
  if (status >= 500) throw new CloudError('sms_unavailable', `aliyun: HTTP ${status} ${code}`, { ...details, outcome: 'unknown', retryable: false });
  if (AUTH.test(code)) throw new CloudError('sms_auth', `aliyun: ${code}`, { ...details, outcome: 'not_sent' });
  if (code.startsWith('isp.')) throw new CloudError('sms_unavailable', `aliyun: ${code}`, { ...details, outcome: 'unknown', retryable: false });
  throw new CloudError('sms_refused', `aliyun: ${code}`, { ...details, outcome: 'not_sent' });
}
