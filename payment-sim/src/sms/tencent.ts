/**
 * Tencent Cloud SMS, provider side: API 3.0 SendSms (2021-01-11). Everything it understood is
 * HTTP 200 `{"Response": {…, "RequestId"}}`: a refusal of the request is `Error {Code,
 * Message}` (signature, parameters, sign name, template), a refusal of one number is that
 * number's SendStatusSet Code, a sent text `{SerialNo, PhoneNumber, Fee, SessionContext,
 * Code: "Ok", Message: "send success", IsoCode: "CN"}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { send } from '../http.js';
import { verifyTc3 } from './signatures.js';
import { render, templateVars, type SmsSimulator } from './simulator.js';

type Json = Record<string, unknown>;

export function handleTencentSms(sim: SmsSimulator, req: IncomingMessage, url: URL, raw: Buffer, res: ServerResponse): void {
  const requestId = sim.newRequestId().toLowerCase();
  const reply = (response: Json, status = 200) => send(res, status, { 'Content-Type': 'application/json' }, JSON.stringify({ Response: { ...response, RequestId: requestId } }));
  const error = (code: string, message: string) => reply({ Error: { Code: code, Message: message } });

  const creds = sim.credentials.tencent;
  const rawQuery = (req.url ?? '').includes('?') ? (req.url ?? '').slice((req.url ?? '').indexOf('?') + 1) : '';
  const v = verifyTc3({ method: req.method ?? 'GET', path: url.pathname, rawQuery, headers: req.headers, body: raw }, (id) => (id === creds.secretId ? creds.secretKey : undefined), sim.now(), 'sms');
  if (!v.ok) return error(v.code, v.message);
  if (req.headers['x-tc-action'] !== 'SendSms') return error('InvalidAction', `The action ${String(req.headers['x-tc-action'])} is not found.`);
  if (req.headers['x-tc-version'] !== '2021-01-11') return error('NoSuchVersion', 'The API version does not exist.');
  if (!req.headers['x-tc-region']) return error('MissingParameter', 'The request is missing a required parameter `Region`.');

  const fault = sim.faults.take('tencent', ['throttle', '5xx', 'error', 'timeout', 'malformed', 'undeliverable']);
  if (fault?.kind === 'throttle') return error('RequestLimitExceeded', 'Your current request times equals to `3000` in a second, which exceeds the frequency limit `3000` for a second. Please reduce the frequency of calls.');
  if (fault?.kind === '5xx') return send(res, fault.status ?? 503, { 'Content-Type': 'text/html' }, `<html><head><title>${fault.status ?? 503}</title></head><body><center><h1>${fault.status ?? 503} Service Temporarily Unavailable</h1></center></body></html>`);

  let body: Json;
  try {
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    body = parsed as Json;
  } catch {
    return error('FailedOperation.FailResolvePacket', 'Failed to parse the request packet.');
  }
  const phones = body.PhoneNumberSet;
  if (!Array.isArray(phones) || phones.length === 0 || phones.some((x) => typeof x !== 'string')) return error('MissingParameter', 'The request is missing a required parameter `PhoneNumberSet`.');
  if (typeof body.SmsSdkAppId !== 'string' || typeof body.TemplateId !== 'string') return error('MissingParameter', 'The request is missing a required parameter `SmsSdkAppId` or `TemplateId`.');
  if (body.SmsSdkAppId !== creds.smsSdkAppId) return error('InvalidParameterValue.SdkAppIdNotExist', 'SdkAppId does not exist.');
  if (typeof body.SignName !== 'string' || !sim.signNames.tencent.has(body.SignName)) return error('FailedOperation.SignatureIncorrectOrUnapproved', 'Signature is not approved or is in an incorrect format.');
  const template = sim.template('tencent', body.TemplateId);
  if (template === undefined) return error('FailedOperation.TemplateIncorrectOrUnapproved', 'Template is not approved or its content does not match.');
  const params = body.TemplateParamSet ?? [];
  if (!Array.isArray(params) || params.some((x) => typeof x !== 'string') || params.length !== templateVars(template).positional) return error('FailedOperation.TemplateParamSetNotMatchApprovedTemplate', 'The number of template parameters does not match the approved template.');
  if (fault?.kind === 'error') return error(fault.code ?? 'LimitExceeded.PhoneNumberThirtySecondLimit', fault.message ?? 'The number of SMS messages sent to the same mobile number within 30 seconds exceeds the upper limit.');

  const set = (phones as string[]).map((raw) => {
    const m = /^(?:\+86|0086|86)?(1\d{10})$/.exec(raw);
    if (m === null) return { SerialNo: '', PhoneNumber: raw, Fee: 0, SessionContext: typeof body.SessionContext === 'string' ? body.SessionContext : '', Code: 'InvalidParameterValue.IncorrectPhoneNumber', Message: 'invalid mobile number', IsoCode: 'DEF' };
    const text = sim.accept({
      provider: 'tencent',
      requestId,
      phone: m[1]!,
      signName: body.SignName as string,
      templateId: template.id,
      params: params as string[],
      text: `【${body.SignName as string}】${render(template, params as string[])}`,
      ...(typeof body.SessionContext === 'string' && body.SessionContext !== '' ? { ref: body.SessionContext } : {}),
      ...(fault?.kind === 'undeliverable' ? { undeliverable: true } : {}),
    });
    return { SerialNo: text.messageId, PhoneNumber: `+86${m[1]}`, Fee: 1, SessionContext: text.ref ?? '', Code: 'Ok', Message: 'send success', IsoCode: 'CN' };
  });
  if (fault?.kind === 'timeout') return sim.later(fault.hangMs ?? 30_000, () => res.destroy());
  if (fault?.kind === 'malformed') return send(res, 200, { 'Content-Type': 'application/json' }, '{"Response": {"SendStatusSet": [');
  return reply({ SendStatusSet: set });
}
