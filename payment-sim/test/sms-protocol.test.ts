/**
 * The SMS simulator from the merchant's side of the wire, signing by hand with node:crypto
 * (no cloud-bridge code): what each provider answers, refuses and pushes.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaymentSimulator } from '@stile/payment-sim';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let sim: PaymentSimulator;
let dir: string;
let receiver: Server;
let inbox: { url: string; body: Json[] }[] = [];
let failFirst = 0;
let cfg: Json;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smssim-test-'));
  sim = new PaymentSimulator({ stateDir: dir, sms: { delivery: 'manual', receiptRetryMs: [30, 30] } });
  await sim.listen();
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      inbox.push({ url: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json[] });
      if (failFirst > 0) {
        failFirst--;
        res.writeHead(500).end('busy');
        return;
      }
      res.end(req.url?.includes('aliyun') ? '{"code":0,"msg":"接收成功"}' : '{"result":0,"errmsg":"OK"}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const port = (receiver.address() as { port: number }).port;
  sim.sms.callbacks = { aliyun: `http://127.0.0.1:${port}/aliyun`, tencent: `http://127.0.0.1:${port}/tencent` };
  cfg = (sim.merchantConfig() as { sms: Json }).sms;
});
afterAll(async () => {
  await sim.close();
  receiver.closeAllConnections();
  await new Promise<void>((r) => receiver.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

async function aliyun(params: Record<string, string>, opts: { secret?: string; date?: string; nonce?: string } = {}) {
  const query = Object.keys(params)
    .sort()
    .map((k) => `${enc(k)}=${enc(params[k]!)}`)
    .join('&');
  const host = new URL(sim.baseUrl).host;
  const headers: Record<string, string> = {
    host,
    'x-acs-action': 'SendSms',
    'x-acs-content-sha256': sha(''),
    'x-acs-date': opts.date ?? `${new Date().toISOString().slice(0, 19)}Z`,
    'x-acs-signature-nonce': opts.nonce ?? randomBytes(16).toString('hex'),
    'x-acs-version': '2017-05-25',
  };
  const names = Object.keys(headers).sort();
  const canonical = ['POST', '/', query, names.map((n) => `${n}:${headers[n]}\n`).join(''), names.join(';'), sha('')].join('\n');
  const secret = opts.secret ?? readFileSync(cfg.aliyun.accessKeySecretFile, 'utf8').trim();
  const sig = createHmac('sha256', secret).update(`ACS3-HMAC-SHA256\n${sha(canonical)}`).digest('hex');
  const { host: _h, ...send } = headers;
  const res = await fetch(`${sim.baseUrl}/?${query}`, { method: 'POST', headers: { ...send, authorization: `ACS3-HMAC-SHA256 Credential=${cfg.aliyun.accessKeyId},SignedHeaders=${names.join(';')},Signature=${sig}` } });
  return { status: res.status, body: (await res.json()) as Json };
}

async function tencent(body: Json, opts: { secret?: string; ts?: number } = {}) {
  const payload = JSON.stringify(body);
  const ts = opts.ts ?? Math.floor(Date.now() / 1000);
  const date = new Date(ts * 1000).toISOString().slice(0, 10);
  const host = new URL(sim.baseUrl).host;
  const canonical = `POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:${host}\nx-tc-action:sendsms\n\ncontent-type;host;x-tc-action\n${sha(payload)}`;
  const sts = `TC3-HMAC-SHA256\n${ts}\n${date}/sms/tc3_request\n${sha(canonical)}`;
  const h = (k: string | Buffer, m: string) => createHmac('sha256', k).update(m).digest();
  const secret = opts.secret ?? readFileSync(cfg.tencent.secretKeyFile, 'utf8').trim();
  const sig = createHmac('sha256', h(h(h(`TC3${secret}`, date), 'sms'), 'tc3_request')).update(sts).digest('hex');
  const res = await fetch(`${sim.baseUrl}/`, {
    method: 'POST',
    headers: { authorization: `TC3-HMAC-SHA256 Credential=${cfg.tencent.secretId}/${date}/sms/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature=${sig}`, 'content-type': 'application/json; charset=utf-8', 'x-tc-action': 'SendSms', 'x-tc-timestamp': String(ts), 'x-tc-version': '2021-01-11', 'x-tc-region': 'ap-guangzhou' },
    body: payload,
  });
  return { status: res.status, body: (await res.json()) as Json };
}

describe('Alibaba Cloud SMS (simulated)', () => {
  const send = { PhoneNumbers: '13800138000', SignName: 'Stile景区', TemplateCode: 'SMS_480010003', TemplateParam: '{"code":"123456"}', OutId: 'ours-1' };

  it('takes a signed SendSms, renders the approved template, and pushes the receipt until the merchant takes it', async () => {
    const r = await aliyun(send);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ Code: 'OK', Message: 'OK', BizId: expect.stringMatching(/^\d{18}\^0$/), RequestId: expect.any(String) });
    const text = sim.sms.texts.find((t) => t.messageId === r.body.BizId)!;
    expect(text).toMatchObject({ provider: 'aliyun', phone: '13800138000', ref: 'ours-1', text: '【Stile景区】您的验证码为123456，5分钟内有效，请勿泄露。', state: 'accepted' });
    inbox = [];
    failFirst = 1;
    const c = await fetch(`${sim.baseUrl}/sim/sms/messages/${encodeURIComponent(text.messageId)}/receipt`, { method: 'POST' });
    expect(c.status).toBe(200);
    await expect.poll(() => inbox.length, { timeout: 3000 }).toBe(2);
    expect(inbox[1]!.url).toBe('/aliyun');
    expect(inbox[1]!.body).toEqual([{ phone_number: '13800138000', send_time: expect.any(String), report_time: expect.any(String), success: true, err_code: 'DELIVERED', err_msg: '用户接收成功', sms_size: '1', biz_id: text.messageId, out_id: 'ours-1' }]);
    await expect.poll(() => sim.sms.pushes.at(-1)!.delivered).toBe(true);
  });

  it("refuses what Alibaba's gateway and SendSms refuse, in their bodies", async () => {
    const bad = await aliyun(send, { secret: 'wrong' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ Code: 'SignatureDoesNotMatch', HostId: 'dysmsapi.aliyuncs.com', Recommend: expect.stringContaining('SignatureDoesNotMatch') });
    expect((await aliyun(send, { date: '2020-01-01T00:00:00Z' })).body.Code).toBe('InvalidTimeStamp.Expired');
    const nonce = randomBytes(16).toString('hex');
    expect((await aliyun(send, { nonce })).body.Code).toBe('OK');
    expect(await aliyun(send, { nonce })).toMatchObject({ status: 400, body: { Code: 'SignatureNonceUsed' } });
    expect((await aliyun({ ...send, TemplateCode: 'SMS_1' })).body).toMatchObject({ Code: 'isv.SMS_TEMPLATE_ILLEGAL' });
    expect((await aliyun({ ...send, SignName: '别家' })).body).toMatchObject({ Code: 'isv.SMS_SIGNATURE_ILLEGAL' });
    expect((await aliyun({ ...send, TemplateParam: '{}' })).body).toMatchObject({ Code: 'isv.TEMPLATE_MISSING_PARAMETERS' });
    expect((await aliyun({ ...send, TemplateParam: JSON.stringify({ code: 'x'.repeat(36) }) })).body).toMatchObject({ Code: 'isv.PARAM_LENGTH_LIMIT' });
    expect((await aliyun({ ...send, PhoneNumbers: '1380013800' })).body).toMatchObject({ Code: 'isv.MOBILE_NUMBER_ILLEGAL' });
    await fetch(`${sim.baseUrl}/sim/sms/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'throttle', provider: 'aliyun' }) });
    expect(await aliyun(send)).toMatchObject({ status: 400, body: { Code: 'Throttling.User' } });
  });
});

describe('Tencent Cloud SMS (simulated)', () => {
  const send = () => ({ PhoneNumberSet: ['+8613900139000'], SmsSdkAppId: cfg.tencent.smsSdkAppId, SignName: 'Stile景区', TemplateId: '2480003', TemplateParamSet: ['654321'], SessionContext: 'ours-2' });

  it('takes a signed SendSms and answers per number; pushes the status callback', async () => {
    const r = await tencent(send());
    expect(r.status).toBe(200);
    const status = (r.body.Response.SendStatusSet as Json[])[0]!;
    expect(status).toMatchObject({ Code: 'Ok', Message: 'send success', PhoneNumber: '+8613900139000', Fee: 1, SessionContext: 'ours-2', IsoCode: 'CN', SerialNo: expect.stringMatching(/^\d{4}:\d{28}$/) });
    inbox = [];
    await fetch(`${sim.baseUrl}/sim/sms/messages/${encodeURIComponent(status.SerialNo)}/receipt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ success: false }) });
    await expect.poll(() => inbox.length).toBe(1);
    expect(inbox[0]!.body).toEqual([{ user_receive_time: expect.any(String), nationcode: '86', mobile: '13900139000', report_status: 'FAIL', errmsg: 'UNDELIV', description: '用户短信未送达', sid: status.SerialNo }]);
    const bad = await tencent({ ...send(), PhoneNumberSet: ['+86123'] });
    expect(bad.body.Response.SendStatusSet[0]).toMatchObject({ Code: 'InvalidParameterValue.IncorrectPhoneNumber', Fee: 0 });
  });

  it('refuses what Tencent refuses, as Response.Error', async () => {
    expect((await tencent(send(), { secret: 'wrong' })).body.Response.Error.Code).toBe('AuthFailure.SignatureFailure');
    expect((await tencent(send(), { ts: Math.floor(Date.now() / 1000) - 600 })).body.Response.Error.Code).toBe('AuthFailure.SignatureExpire');
    expect((await tencent({ ...send(), TemplateParamSet: [] })).body.Response.Error.Code).toBe('FailedOperation.TemplateParamSetNotMatchApprovedTemplate');
    expect((await tencent({ ...send(), SmsSdkAppId: '1400000000' })).body.Response.Error.Code).toBe('InvalidParameterValue.SdkAppIdNotExist');
    expect((await tencent({ ...send(), TemplateId: '1' })).body.Response.Error.Code).toBe('FailedOperation.TemplateIncorrectOrUnapproved');
    expect((await tencent({ ...send(), SignName: '别家' })).body.Response.Error.Code).toBe('FailedOperation.SignatureIncorrectOrUnapproved');
  });
});
