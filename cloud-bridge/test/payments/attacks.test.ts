/**
 * What must not be believed: forged, tampered, stale or foreign notifications and answers,
 * and a provider that times out, answers 5xx or garbage — each one a CloudError code, never
 * a payment state. The simulator's platform keys are used here the way an attacker who had
 * them could not: to show that a *correctly signed* tampered resource still fails to decrypt.
 */
import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WeChatPayProvider } from '../../src/modules/payments/wechat-provider.js';
import { AlipayProvider } from '../../src/modules/payments/alipay-provider.js';
import { startHarness, tradeNo, type Harness, type Received } from './sim-harness.js';
import { codeOf, expectCode } from './helpers.js';
import type { CloudErrorCode } from '../../src/core/errors.js';

let h: Harness;
let wxNotice: Received;
let aliNotice: Received;
beforeAll(async () => {
  h = await startHarness({ timeoutMs: 400 });
  const w = tradeNo('XW');
  await h.wechat.createQr({ outTradeNo: w, amountFen: 12000, description: '成人票' });
  await h.control('POST', `/sim/trades/wechat/${w}/pay`);
  const a = tradeNo('XA');
  await h.alipay.createQr({ outTradeNo: a, amountFen: 12000, description: '成人票' });
  await h.control('POST', `/sim/trades/alipay/${a}/pay`);
  await h.waitFor((r) => r.filter((x) => x.event?.kind === 'paid').length === 2);
  wxNotice = h.received.find((r) => r.provider === 'wechat')!;
  aliNotice = h.received.find((r) => r.provider === 'alipay')!;
});
afterAll(async () => {
  await h.close();
});

/** WeChat Pay's signature over a body, with the simulator's platform key (or another). */
function wxSign(body: string, opts: { key?: Parameters<ReturnType<typeof createSign>['sign']>[0]; ts?: number; serial?: string } = {}): Record<string, string> {
  const ts = String(opts.ts ?? Math.floor(Date.now() / 1000));
  const nonce = randomBytes(16).toString('hex');
  const sig = createSign('RSA-SHA256').update(`${ts}\n${nonce}\n${body}\n`).sign(opts.key ?? h.sim.keys.wechatPlatformKey, 'base64');
  return { 'wechatpay-timestamp': ts, 'wechatpay-nonce': nonce, 'wechatpay-signature': sig, 'wechatpay-serial': opts.serial ?? h.sim.keys.identity.wechat.platformKeyId, 'content-type': 'application/json' };
}

function withResource(change: (r: { ciphertext: string; nonce: string; associated_data: string; algorithm: string }) => void): string {
  const n = JSON.parse(wxNotice.body) as { resource: { ciphertext: string; nonce: string; associated_data: string; algorithm: string } };
  change(n.resource);
  return JSON.stringify(n);
}

function flipB64(b64: string, index: number): string {
  const b = Buffer.from(b64, 'base64');
  const i = index < 0 ? b.length + index : index;
  b[i] = b[i]! ^ 0x80;
  return b.toString('base64');
}

describe('WeChat Pay notifications', () => {
  it('the genuine one verifies and decrypts', () => {
    expect(h.wechat.parseNotification(wxNotice.headers, wxNotice.body).kind).toBe('paid');
  });

  it('a forged signature (another key, same serial) → payment_bad_signature', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expectCode(() => h.wechat.parseNotification(wxSign(wxNotice.body, { key: privateKey }), wxNotice.body), 'payment_bad_signature');
  });

  it('a changed body under the original signature → payment_bad_signature', async () => {
    await expectCode(() => h.wechat.parseNotification(wxNotice.headers, withResource((r) => (r.ciphertext = flipB64(r.ciphertext, 5)))), 'payment_bad_signature');
  });

  it('tampered ciphertext, tag, AAD or nonce, even correctly signed → payment_undecryptable', async () => {
    for (const body of [
      withResource((r) => (r.ciphertext = flipB64(r.ciphertext, 2))),
      withResource((r) => (r.ciphertext = flipB64(r.ciphertext, -1))),
      withResource((r) => (r.associated_data = 'refund')),
      withResource((r) => (r.nonce = 'AAAAAAAAAAAA')),
    ]) {
      await expectCode(() => h.wechat.parseNotification(wxSign(body), body), 'payment_undecryptable');
    }
  });

  it('a stale timestamp (replayed 6 minutes later) → payment_stale', async () => {
    await expectCode(() => h.wechat.parseNotification(wxSign(wxNotice.body, { ts: Math.floor(Date.now() / 1000) - 360 }), wxNotice.body), 'payment_stale');
    const later = new WeChatPayProvider(h.wechatOptions({ clock: () => new Date(Date.now() + 6 * 60_000) }));
    await expectCode(() => later.parseNotification(wxNotice.headers, wxNotice.body), 'payment_stale');
  });

  it('a serial we do not hold → payment_unknown_key', async () => {
    await expectCode(() => h.wechat.parseNotification({ ...wxNotice.headers, 'wechatpay-serial': 'PUB_KEY_ID_0000000000000000000000000000000000' }, wxNotice.body), 'payment_unknown_key');
  });

  it('a valid notification for another merchant → payment_mismatch', async () => {
    const other = new WeChatPayProvider(h.wechatOptions({ mchid: '1900000000' }));
    await expectCode(() => other.parseNotification(wxNotice.headers, wxNotice.body), 'payment_mismatch');
  });
});

describe('Alipay notifications', () => {
  const params = () => Object.fromEntries(new URLSearchParams(aliNotice.body));
  const resign = (p: Record<string, string>, key = h.sim.keys.alipayKey) => {
    const { sign: _s, sign_type: _t, ...rest } = p;
    const content = Object.keys(rest).sort().map((k) => `${k}=${rest[k]}`).join('&');
    return new URLSearchParams({ ...p, sign: createSign('RSA-SHA256').update(content).sign(key, 'base64') }).toString();
  };
  const form = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };

  it('the genuine one verifies', () => {
    expect(h.alipay.parseNotification(aliNotice.headers, aliNotice.body)).toMatchObject({ kind: 'paid', amountFen: 12000 });
  });

  it('a changed amount, a forged signature, a foreign app, a duplicated field, the wrong type', async () => {
    await expectCode(() => h.alipay.parseNotification(form, new URLSearchParams({ ...params(), total_amount: '0.01' }).toString()), 'payment_bad_signature');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expectCode(() => h.alipay.parseNotification(form, resign({ ...params(), total_amount: '0.01' }, privateKey)), 'payment_bad_signature');
    await expectCode(() => h.alipay.parseNotification(form, resign({ ...params(), app_id: '2021000000000001' })), 'payment_mismatch');
    await expectCode(() => h.alipay.parseNotification(form, `${aliNotice.body}&trade_status=TRADE_SUCCESS`), 'payment_malformed');
    await expectCode(() => h.alipay.parseNotification({ 'content-type': 'application/json' }, aliNotice.body), 'payment_malformed');
    await expectCode(() => h.alipay.parseNotification(form, new URLSearchParams({ ...params(), sign_type: 'RSA' }).toString()), 'payment_bad_signature');
  });
});

describe('the provider misbehaving: each fault is its own CloudError', () => {
  const wxCases: [string, CloudErrorCode][] = [
    ['5xx', 'payment_unavailable'],
    ['timeout', 'payment_timeout'],
    ['malformed', 'payment_malformed'],
    ['bad_signature', 'payment_bad_signature'],
    ['stale', 'payment_stale'],
    ['unknown_key', 'payment_unknown_key'],
  ];
  it.each(wxCases)('WeChat Pay %s → %s', async (kind, code) => {
    const no = tradeNo('XF');
    await h.control('POST', '/sim/faults', { kind, provider: 'wechat', count: 1, hangMs: 1500 });
    expect(await codeOf(() => h.wechat.createQr({ outTradeNo: no, amountFen: 100, description: 'x' }))).toBe(code);
    // The next call is served normally.
    expect(await h.wechat.query('NEVER_CREATED_2')).toEqual({ state: 'not_paid', exists: false });
  });

  const aliCases: [string, CloudErrorCode][] = [
    ['5xx', 'payment_unavailable'],
    ['timeout', 'payment_timeout'],
    ['malformed', 'payment_malformed'],
    ['bad_signature', 'payment_bad_signature'],
  ];
  it.each(aliCases)('Alipay %s → %s', async (kind, code) => {
    await h.control('POST', '/sim/faults', { kind, provider: 'alipay', match: 'alipay.trade.query', count: 1, hangMs: 1500 });
    expect(await codeOf(() => h.alipay.query('NEVER_CREATED_3'))).toBe(code);
    expect(await h.alipay.query('NEVER_CREATED_3')).toEqual({ state: 'not_paid', exists: false });
  });

  it('a provider that is not there → payment_unavailable', async () => {
    const gone = new WeChatPayProvider(h.wechatOptions({ baseUrl: 'http://127.0.0.1:9' }));
    await expectCode(() => gone.query('T000001'), 'payment_unavailable');
    const goneA = new AlipayProvider(h.alipayOptions({ gatewayUrl: 'http://127.0.0.1:9/gateway.do' }));
    await expectCode(() => goneA.query('T000001'), 'payment_unavailable');
  });
});

describe('the provider refusing us', () => {
  it('a request signed with a key the provider does not know → payment_refused SIGN_ERROR / isv.invalid-signature', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const path = join(h.sim.opts.stateDir, 'intruder.pem');
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    const wx = new WeChatPayProvider(h.wechatOptions({ merchantPrivateKeyPath: path }));
    await expect(wx.query('T000001')).rejects.toMatchObject({ code: 'payment_refused', details: { providerCode: 'SIGN_ERROR' } });
    const ali = new AlipayProvider(h.alipayOptions({ appPrivateKeyPath: path }));
    await expect(ali.query('T000001')).rejects.toMatchObject({ code: 'payment_refused', details: { providerCode: 'isv.invalid-signature' } });
  });

  it('a clock an hour off (a server on local time, not Beijing time) → refused by the gateway', async () => {
    const ali = new AlipayProvider(h.alipayOptions({ clock: () => new Date(Date.now() - 3_600_000) }));
    await expect(ali.query('T000001')).rejects.toMatchObject({ code: 'payment_refused', details: { providerCode: 'isv.invalid-timestamp' } });
    const wx = new WeChatPayProvider(h.wechatOptions({ clock: () => new Date(Date.now() - 3_600_000) }));
    // WeChat Pay refuses the request; and its (correct-time) answer would be stale to this clock anyway.
    await expect(wx.query('T000001')).rejects.toMatchObject({ code: 'payment_refused', details: { providerCode: 'SIGN_ERROR' } });
  });
});
