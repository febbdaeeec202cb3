/**
 * Tencent Cloud SMS (API 3.0, SendSms 2021-01-11): signed with TC3-HMAC-SHA256
 * (tencent-sign.ts), its answers and errors, and the status callback (短信下发状态通知).
 *
 * POST https://sms.tencentcloudapi.com/ with X-TC-Action/-Version/-Timestamp/-Region and a
 * JSON body {PhoneNumberSet, SmsSdkAppId, SignName, TemplateId, TemplateParamSet,
 * SessionContext}. API 3.0 answers HTTP 200 for everything it understood: a refusal of the
 * whole request is `Response.Error {Code, Message}`, a refusal of one number is that number's
 * `SendStatusSet[].Code` other than "Ok".
 */
import { z } from 'zod';
import { CloudError } from '../../core/errors.js';
import { signTc3 } from './tencent-sign.js';
import { parseReceiptBody, post, providerHttp, type ProviderHttp, type ProviderHttpOptions } from './http.js';
import { parseBeijingTime, type Accepted, type ProviderText, type Receipt, type SmsProvider } from './provider.js';

export const TENCENT_SMS_ENDPOINT = 'https://sms.tencentcloudapi.com';
const VERSION = '2021-01-11';
const CONTENT_TYPE = 'application/json; charset=utf-8';

/** `endpoint` defaults to https://sms.tencentcloudapi.com; X-TC-Timestamp must be within 5 minutes of Tencent's clock. */
export interface TencentSmsOptions extends ProviderHttpOptions {
  secretId: string;
  secretKey: string;
  /** The SMS application (SdkAppId, 1400…). */
  smsSdkAppId: string;
  /** X-TC-Region; default ap-guangzhou. */
  region?: string;
}

const CallbackSchema = z.array(
  z.looseObject({
    mobile: z.string().min(1).max(32),
    nationcode: z.string().max(8).optional(),
    report_status: z.enum(['SUCCESS', 'FAIL']),
    errmsg: z.string().max(128).optional(),
    description: z.string().max(512).optional(),
    sid: z.string().min(1).max(128),
    user_receive_time: z.string().optional(),
  }),
);

export class TencentSmsProvider implements SmsProvider {
  readonly id = 'tencent' as const;
  private readonly http: ProviderHttp;

  constructor(private readonly opts: TencentSmsOptions) {
    this.http = providerHttp(opts, TENCENT_SMS_ENDPOINT);
  }

  async send(text: ProviderText): Promise<Accepted> {
    const payload = JSON.stringify({
      PhoneNumberSet: [`+86${text.phone}`],
      SmsSdkAppId: this.opts.smsSdkAppId,
      SignName: text.signName,
      TemplateId: text.templateId,
      TemplateParamSet: Array.isArray(text.params) ? text.params : Object.values(text.params),
      SessionContext: text.ref,
    });
    const { endpoint, fetchImpl, clock, timeoutMs } = this.http;
    const timestamp = Math.floor(clock().getTime() / 1000);
    const signed = signTc3({
      secretId: this.opts.secretId,
      secretKey: this.opts.secretKey,
      service: 'sms',
      timestamp,
      headers: { 'content-type': CONTENT_TYPE, host: endpoint.host, 'x-tc-action': 'SendSms' },
      payload,
    });
    const headers = {
      authorization: signed.authorization,
      'content-type': CONTENT_TYPE,
      'x-tc-action': 'SendSms',
      'x-tc-timestamp': String(timestamp),
      'x-tc-version': VERSION,
      'x-tc-region': this.opts.region ?? 'ap-guangzhou',
    };
    const answer = await post(fetchImpl, `${endpoint.origin}/`, headers, payload, timeoutMs, 'tencent');
    return readSendAnswer(answer.status, answer.text);
  }

  parseReceipts(body: string): Receipt[] {
    return parseReceiptBody(body, CallbackSchema, 'tencent', 'status callback').map((r) => {
      const at = parseBeijingTime(r.user_receive_time);
      return {
        providerMessageId: r.sid,
        // Mainland numbers only (the sender sends nothing else): +86 / 0086 / 86 prefixes dropped.
        phone: r.nationcode === undefined || r.nationcode === '86' ? r.mobile.replace(/^(\+?86|0086)(?=1\d{10}$)/, '') : `+${r.nationcode}${r.mobile}`,
        delivered: r.report_status === 'SUCCESS',
        code: r.errmsg ?? r.report_status,
        ...(r.description ? { description: r.description } : {}),
        ...(at ? { at } : {}),
      };
    });
  }

  /** Tencent wants `{"result":0}`; a non-zero result or another status is a failed callback. */
  receiptAck(ok: boolean): { status: number; body: string } {
    return ok ? { status: 200, body: JSON.stringify({ result: 0, errmsg: 'OK' }) } : { status: 503, body: JSON.stringify({ result: 1, errmsg: 'try again later' }) };
  }
}

function classify(code: string, message: string, details: Record<string, unknown>): CloudError {
  const d = { ...details, providerCode: code, providerMessage: message.slice(0, 200) };
  if (code.startsWith('AuthFailure')) return new CloudError('sms_auth', `tencent: ${code}`, { ...d, outcome: 'not_sent' });
  // Refused for the request rate before anything was done: safe to send again.
  if (code.startsWith('RequestLimitExceeded')) return new CloudError('sms_unavailable', `tencent: ${code}`, { ...d, outcome: 'not_sent', retryable: true });
  // InternalError.Timeout and friends: it may or may not have gone to the carrier.
  if (code.startsWith('InternalError')) return new CloudError('sms_unavailable', `tencent: ${code}`, { ...d, outcome: 'unknown', retryable: false });
  return new CloudError('sms_refused', `tencent: ${code}`, { ...d, outcome: 'not_sent' });
}

/** SendSms's answer → Accepted, or the CloudError that says what happened. */
export function readSendAnswer(status: number, text: string): Accepted {
  let response: Record<string, unknown> | undefined;
  try {
    const v = JSON.parse(text) as { Response?: unknown };
    if (v !== null && typeof v === 'object' && v.Response !== null && typeof v.Response === 'object') response = v.Response as Record<string, unknown>;
  } catch {
    // handled below
  }
  const details = { provider: 'tencent', httpStatus: status, ...(typeof response?.RequestId === 'string' ? { requestId: response.RequestId } : {}) };
  if (response === undefined) {
    if (status >= 500) throw new CloudError('sms_unavailable', `tencent: HTTP ${status} without an API 3.0 body`, { ...details, outcome: status === 503 ? 'not_sent' : 'unknown', retryable: status === 503 });
    throw new CloudError('sms_malformed', `tencent: HTTP ${status}, body is not an API 3.0 answer`, { ...details, outcome: status >= 400 ? 'not_sent' : 'unknown' });
  }
  const error = response.Error as { Code?: unknown; Message?: unknown } | undefined;
  if (error !== undefined) {
    if (typeof error.Code !== 'string') throw new CloudError('sms_malformed', 'tencent: Error without a Code', { ...details, outcome: 'unknown' });
    throw classify(error.Code, typeof error.Message === 'string' ? error.Message : '', details);
  }
  const set = response.SendStatusSet;
  const first = Array.isArray(set) && set.length === 1 ? (set[0] as Record<string, unknown>) : undefined;
  if (first === undefined || typeof first.Code !== 'string') throw new CloudError('sms_malformed', 'tencent: no SendStatusSet for the one number sent', { ...details, outcome: 'unknown' });
  if (first.Code === 'Ok') {
    if (typeof first.SerialNo === 'string' && first.SerialNo !== '') return { providerMessageId: first.SerialNo };
    throw new CloudError('sms_malformed', 'tencent: Code Ok without a SerialNo', { ...details, outcome: 'unknown' });
  }
  throw classify(first.Code, typeof first.Message === 'string' ? first.Message : '', details);
}
