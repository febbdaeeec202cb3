/**
 * Alibaba Cloud SMS, provider side: dysmsapi's SendSms (2017-05-25) behind the OpenAPI
 * gateway. The gateway checks the V3 signature, its date and nonce, the action and version
 * (HTTP 4xx `{RequestId, HostId, Code, Message, Recommend}`); SendSms then checks the number,
 * sign name, template and its variables (HTTP 200 `{RequestId, Code, Message}`, Code
 * isv.…), and takes the text: `{RequestId, Code: "OK", Message: "OK", BizId}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { send } from '../http.js';
import { verifyAcs3 } from './signatures.js';
import { render, templateVars, type SmsSimulator } from './simulator.js';

type Json = Record<string, unknown>;

export function handleAliyunSms(sim: SmsSimulator, req: IncomingMessage, url: URL, raw: Buffer, res: ServerResponse): void {
  const requestId = sim.newRequestId();
  const reply = (status: number, body: Json) => send(res, status, { 'Content-Type': 'application/json;charset=utf-8', 'x-acs-request-id': requestId }, JSON.stringify({ RequestId: requestId, ...body }));
  const gateway = (status: number, code: string, message: string) => reply(status, { HostId: 'dysmsapi.aliyuncs.com', Code: code, Message: message, Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(code)}&product=Dysmsapi` });
  const refuse = (code: string, message: string) => reply(200, { Code: code, Message: message });

  const rawQuery = (req.url ?? '').includes('?') ? (req.url ?? '').slice((req.url ?? '').indexOf('?') + 1) : '';
  const creds = sim.credentials.aliyun;
  const v = verifyAcs3({ method: req.method ?? 'GET', path: url.pathname, rawQuery, headers: req.headers, body: raw }, (id) => (id === creds.accessKeyId ? creds.accessKeySecret : undefined), sim.now());
  if (!v.ok) return gateway(v.status, v.code, v.message);
  if (sim.nonceSeen(String(req.headers['x-acs-signature-nonce'] ?? ''))) return gateway(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.');
  if (req.headers['x-acs-action'] !== 'SendSms') return gateway(404, 'InvalidAction.NotFound', `Specified api is not found, please check your url and method.`);
  if (req.headers['x-acs-version'] !== '2017-05-25') return gateway(400, 'InvalidVersion', 'Specified parameter Version is not valid.');

  // Parameters from the query string and a form body (the SDKs use either).
  const p: Record<string, string> = {};
  for (const [k, val] of url.searchParams) p[k] = val;
  if (raw.length > 0 && (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) for (const [k, val] of new URLSearchParams(raw.toString('utf8'))) p[k] = val;

  const fault = sim.faults.take('aliyun', ['throttle', '5xx', 'error', 'timeout', 'malformed', 'undeliverable']);
  if (fault?.kind === 'throttle') return gateway(400, 'Throttling.User', 'Request was denied due to user flow control.');
  if (fault?.kind === '5xx') return fault.status === 500 ? gateway(500, 'InternalError', 'The request processing has failed due to some unknown error.') : gateway(fault.status ?? 503, 'ServiceUnavailable', 'The request has failed due to a temporary failure of the server.');
  if (fault?.kind === 'error') return refuse(fault.code ?? 'isv.BUSINESS_LIMIT_CONTROL', fault.message ?? '触发号码天级流控Permits:10');

  for (const required of ['PhoneNumbers', 'SignName', 'TemplateCode']) if (!p[required]) return gateway(400, `Missing${required}`, `${required} is mandatory for this action.`);
  const phones = p.PhoneNumbers!.split(',');
  if (phones.length !== 1 || !/^1\d{10}$/.test(phones[0]!)) return refuse('isv.MOBILE_NUMBER_ILLEGAL', '非法手机号');
  if (!sim.signNames.aliyun.has(p.SignName!)) return refuse('isv.SMS_SIGNATURE_ILLEGAL', '该账号下找不到对应签名');
  const template = sim.template('aliyun', p.TemplateCode!);
  if (template === undefined) return refuse('isv.SMS_TEMPLATE_ILLEGAL', '该账号下找不到对应模板');
  let params: Record<string, string> = {};
  if (p.TemplateParam !== undefined) {
    try {
      const parsed: unknown = JSON.parse(p.TemplateParam);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((x) => typeof x !== 'string' && typeof x !== 'number')) throw new Error('not an object of strings');
      params = Object.fromEntries(Object.entries(parsed as Json).map(([k, x]) => [k, String(x)]));
    } catch {
      return refuse('isv.INVALID_JSON_PARAM', 'JSON参数不合法，只接受字符串值');
    }
  }
  const missing = templateVars(template).named.filter((n) => params[n] === undefined);
  if (missing.length > 0) return refuse('isv.TEMPLATE_MISSING_PARAMETERS', `模板变量缺少对应参数值: ${missing.join(',')}`);
  const long = Object.entries(params).find(([, x]) => [...x].length > 35);
  if (long !== undefined) return refuse('isv.PARAM_LENGTH_LIMIT', `参数超出长度限制: ${long[0]}`);

  const text = sim.accept({
    provider: 'aliyun',
    requestId,
    phone: phones[0]!,
    signName: p.SignName!,
    templateId: template.id,
    params,
    text: `【${p.SignName}】${render(template, params)}`,
    ...(p.OutId ? { ref: p.OutId } : {}),
    ...(fault?.kind === 'undeliverable' ? { undeliverable: true } : {}),
  });
  // Taken, and then the answer is lost or garbled: the merchant cannot know it was sent.
  if (fault?.kind === 'timeout') return sim.later(fault.hangMs ?? 30_000, () => res.destroy());
  if (fault?.kind === 'malformed') return send(res, 200, { 'Content-Type': 'text/html;charset=utf-8' }, '<html><body>upstream answered nothing readable</body></html>');
  return reply(200, { Code: 'OK', Message: 'OK', BizId: text.messageId });
}
