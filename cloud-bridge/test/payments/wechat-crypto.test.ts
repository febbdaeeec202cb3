import { createCipheriv, createVerify, X509Certificate } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { loadApiV3Key, loadPrivateKey, loadVerifierKey } from '../../src/modules/payments/keys.js';
import { rsaSha256Sign, wechatAuthorization, wechatRequestMessage } from '../../src/modules/payments/wechat-sign.js';
import { verifyWechatSignature, wechatResponseMessage } from '../../src/modules/payments/wechat-verify.js';
import { aesGcmOpen, decryptWechatResource } from '../../src/modules/payments/wechat-aead.js';
import { jsapiPayMessage, jsapiPayParams } from '../../src/modules/payments/wechat-jsapi.js';
import { codeOf, expectCode, tempFiles } from './helpers.js';
import { WX_MERCHANT_KEY, WX_NOTIFY_AT, WX_NOTIFY_BODY, WX_NOTIFY_HEADERS, WX_PLATFORM_CERT, WX_PLATFORM_SERIAL, WX_SIGNATURE_OF_SOURCE } from './vectors.js';

const files = tempFiles({ 'apiclient_key.pem': WX_MERCHANT_KEY, 'platform.pem': WX_PLATFORM_CERT, 'apiv3.key': '0123456789abcdef0123456789abcdef\n', 'short.key': 'tooshort' });
afterAll(() => files.remove());
const merchantKey = loadPrivateKey(files.path('apiclient_key.pem'));
const platform = loadVerifierKey(files.path('platform.pem'));

describe('WeChat Pay request signing (wechatpay-go vectors)', () => {
  it('SHA256withRSA("source") is the signature wechatpay-go expects', () => {
    expect(rsaSha256Sign('source', merchantKey)).toBe(WX_SIGNATURE_OF_SOURCE);
  });

  it('signs METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n, as the credential test spells it', () => {
    // wechat_pay_credential_test.go: "GET\n/v3/certificates\n1624523846\nA1B2C3D4E5F6G7\n\n" and the POST with body "Hello World!\n".
    expect(wechatRequestMessage('GET', '/v3/certificates', '1624523846', 'A1B2C3D4E5F6G7', '')).toBe('GET\n/v3/certificates\n1624523846\nA1B2C3D4E5F6G7\n\n');
    expect(wechatRequestMessage('POST', '/v3/certificates', '1624523846', 'A1B2C3D4E5F6G7', 'Hello World!\n')).toBe('POST\n/v3/certificates\n1624523846\nA1B2C3D4E5F6G7\nHello World!\n\n');
  });

  it('builds the Authorization header in the documented order, and its signature verifies', () => {
    const header = wechatAuthorization({ mchid: '1234567890', serialNo: '0123456789ABC', privateKey: merchantKey, method: 'POST', canonicalUrl: '/v3/pay/transactions/native', body: '{"a":1}', timestamp: '1624523846', nonce: 'A1B2C3D4E5F6G7' });
    const m = /^WECHATPAY2-SHA256-RSA2048 mchid="1234567890",nonce_str="A1B2C3D4E5F6G7",timestamp="1624523846",serial_no="0123456789ABC",signature="([A-Za-z0-9+/=]+)"$/.exec(header);
    expect(m).not.toBeNull();
    // The platform certificate of the vectors carries the public half of the same test key.
    const ok = createVerify('RSA-SHA256').update('POST\n/v3/pay/transactions/native\n1624523846\nA1B2C3D4E5F6G7\n{"a":1}\n').verify(new X509Certificate(WX_PLATFORM_CERT).publicKey, m![1]!, 'base64');
    expect(ok).toBe(true);
  });
});

describe('WeChat Pay answer and notification verification', () => {
  it('reads the certificate serial and validity', () => {
    expect(platform.serial).toBe(WX_PLATFORM_SERIAL);
    expect(platform.notAfter!.toISOString().slice(0, 10)).toBe('2031-04-25');
  });

  it("verifies wechatpay-go's signed notification at its own time", () => {
    expect(wechatResponseMessage('1624523846', 'EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz', '{}')).toBe('1624523846\nEcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz\n{}\n');
    expect(verifyWechatSignature(WX_NOTIFY_HEADERS, WX_NOTIFY_BODY, [platform], WX_NOTIFY_AT).serial).toBe(WX_PLATFORM_SERIAL);
    // Header names are case-insensitive (node lower-cases them).
    const lower = Object.fromEntries(Object.entries(WX_NOTIFY_HEADERS).map(([k, v]) => [k.toLowerCase(), v]));
    expect(verifyWechatSignature(lower, WX_NOTIFY_BODY, [platform], new Date(WX_NOTIFY_AT.getTime() + 299_000)).serial).toBe(WX_PLATFORM_SERIAL);
  });

  it('refuses a changed body, a probe signature, a missing header', async () => {
    await expectCode(() => verifyWechatSignature(WX_NOTIFY_HEADERS, WX_NOTIFY_BODY.replace('签约成功', '签约失败'), [platform], WX_NOTIFY_AT), 'payment_bad_signature');
    await expectCode(() => verifyWechatSignature({ ...WX_NOTIFY_HEADERS, 'Wechatpay-Signature': 'WECHATPAY/SIGNTEST/abcdef' }, WX_NOTIFY_BODY, [platform], WX_NOTIFY_AT), 'payment_bad_signature');
    const { 'Wechatpay-Nonce': _drop, ...noNonce } = WX_NOTIFY_HEADERS;
    await expectCode(() => verifyWechatSignature(noNonce, WX_NOTIFY_BODY, [platform], WX_NOTIFY_AT), 'payment_bad_signature');
    await expectCode(() => verifyWechatSignature({ ...WX_NOTIFY_HEADERS, 'Wechatpay-Timestamp': '1624523846.5' }, WX_NOTIFY_BODY, [platform], WX_NOTIFY_AT), 'payment_bad_signature');
  });

  it('refuses a timestamp more than 5 minutes away, either side', async () => {
    await expectCode(() => verifyWechatSignature(WX_NOTIFY_HEADERS, WX_NOTIFY_BODY, [platform], new Date(WX_NOTIFY_AT.getTime() + 301_000)), 'payment_stale');
    await expectCode(() => verifyWechatSignature(WX_NOTIFY_HEADERS, WX_NOTIFY_BODY, [platform], new Date(WX_NOTIFY_AT.getTime() - 301_000)), 'payment_stale');
  });

  it('refuses a serial we do not hold, and an expired certificate', async () => {
    await expectCode(() => verifyWechatSignature({ ...WX_NOTIFY_HEADERS, 'Wechatpay-Serial': 'PUB_KEY_ID_0114232134912410000000000000' }, WX_NOTIFY_BODY, [platform], WX_NOTIFY_AT), 'payment_unknown_key');
    // Same message, signed 11 years later (the certificate ends 2031-04-25): the cert no longer vouches.
    const later = new Date('2032-01-01T00:00:00Z');
    const ts = String(Math.floor(later.getTime() / 1000));
    const sig = rsaSha256Sign(wechatResponseMessage(ts, 'n', '{}'), merchantKey);
    await expectCode(() => verifyWechatSignature({ 'Wechatpay-Timestamp': ts, 'Wechatpay-Nonce': 'n', 'Wechatpay-Signature': sig, 'Wechatpay-Serial': WX_PLATFORM_SERIAL }, '{}', [platform], later), 'payment_unknown_key');
  });
});

describe('AEAD_AES_256_GCM resources', () => {
  it('opens the published AES-256-GCM vectors', () => {
    const key = Buffer.from('0123456789abcdef0123456789abcdef');
    expect(aesGcmOpen(key, '0123456789abcdef', 'world', 'APoZlYpivU3HjbAiB4CvW1rAFr8J').toString()).toBe('hello');
    expect(aesGcmOpen(key, '0123456789abcdef', '', 'GvpmmdtYwexXIPhySs9Tlg==').toString()).toBe('');
    // GCM spec test case 14: AES-256, zero key, zero 96-bit IV, one zero block.
    const ct = Buffer.concat([Buffer.from('cea7403d4d606b6e074ec5d3baf39d18', 'hex'), Buffer.from('d0d1c8a799996bf0265b98b5d48ab919', 'hex')]);
    expect(aesGcmOpen(Buffer.alloc(32), '\0'.repeat(12), '', ct.toString('base64')).equals(Buffer.alloc(16))).toBe(true);
  });

  const apiV3 = loadApiV3Key(files.path('apiv3.key'));
  function seal(plaintext: string, nonce: string, aad: string): string {
    const c = createCipheriv('aes-256-gcm', apiV3, Buffer.from(nonce));
    c.setAAD(Buffer.from(aad));
    return Buffer.concat([c.update(plaintext, 'utf8'), c.final(), c.getAuthTag()]).toString('base64');
  }
  const plaintext = '{"mchid":"1230000109","out_trade_no":"T20240501A","trade_state":"SUCCESS"}';
  const resource = { algorithm: 'AEAD_AES_256_GCM', nonce: 'fdasflkja484', associated_data: 'transaction', original_type: 'transaction', ciphertext: seal(plaintext, 'fdasflkja484', 'transaction') };

  it('decrypts a resource sealed under the APIv3 key with its 12-character nonce', () => {
    expect(decryptWechatResource(apiV3, resource)).toBe(plaintext);
  });

  it('fails — never garbage — on a changed ciphertext, tag, AAD, nonce or key', async () => {
    const raw = Buffer.from(resource.ciphertext, 'base64');
    const flip = (i: number) => {
      const b = Buffer.from(raw);
      b[i] = b[i]! ^ 0x01;
      return b.toString('base64');
    };
    await expectCode(() => decryptWechatResource(apiV3, { ...resource, ciphertext: flip(3) }), 'payment_undecryptable');
    await expectCode(() => decryptWechatResource(apiV3, { ...resource, ciphertext: flip(raw.length - 1) }), 'payment_undecryptable');
    await expectCode(() => decryptWechatResource(apiV3, { ...resource, ciphertext: raw.subarray(0, raw.length - 16).toString('base64') + '' }), 'payment_undecryptable');
    await expectCode(() => decryptWechatResource(apiV3, { ...resource, associated_data: 'refund' }), 'payment_undecryptable');
    await expectCode(() => decryptWechatResource(apiV3, { ...resource, associated_data: '' }), 'payment_undecryptable');
    await expectCode(() => decryptWechatResource(apiV3, { ...resource, nonce: 'fdasflkja485' }), 'payment_undecryptable');
    await expectCode(() => decryptWechatResource(Buffer.from('0123456789abcdef0123456789abcdeX'), resource), 'payment_undecryptable');
    await expectCode(() => decryptWechatResource(apiV3, { ...resource, algorithm: 'AEAD_AES_128_GCM' }), 'payment_undecryptable');
    await expectCode(() => decryptWechatResource(apiV3, { ...resource, ciphertext: 'not*base64' }), 'payment_undecryptable');
    // A decipher that skipped the tag would hand back bytes here; ours hands back nothing.
    expect(await codeOf(() => decryptWechatResource(apiV3, { ...resource, ciphertext: flip(0) }))).toBe('payment_undecryptable');
  });

  it('wants an APIv3 key of exactly 32 characters from its file', async () => {
    await expectCode(() => loadApiV3Key(files.path('short.key')), 'payment_config');
    await expectCode(() => loadApiV3Key(files.path('missing.key')), 'payment_config');
  });
});

describe('JSAPI pay-sign', () => {
  it('signs appId\\ntimeStamp\\nnonceStr\\npackage\\n with the merchant key', () => {
    const p = jsapiPayParams('wx8888888888888888', 'wx201410272009395522657a690389285100', merchantKey, '1414561699', '5K8264ILTKCH16CQ2502SI8ZNMTM67VS');
    expect(p.package).toBe('prepay_id=wx201410272009395522657a690389285100');
    expect(p.signType).toBe('RSA');
    expect(jsapiPayMessage(p.appId, p.timeStamp, p.nonceStr, p.package)).toBe('wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\nprepay_id=wx201410272009395522657a690389285100\n');
    const ok = createVerify('RSA-SHA256').update(jsapiPayMessage(p.appId, p.timeStamp, p.nonceStr, p.package)).verify(new X509Certificate(WX_PLATFORM_CERT).publicKey, p.paySign, 'base64');
    expect(ok).toBe(true);
  });
});

describe('key files', () => {
  it('refuses what is not an RSA key, a wrong serial, a bare key without its id', async () => {
    const f = tempFiles({ 'x.pem': 'hello', 'pub.pem': new X509Certificate(WX_PLATFORM_CERT).publicKey.export({ type: 'spki', format: 'pem' }) as string });
    try {
      await expectCode(() => loadPrivateKey(f.path('x.pem')), 'payment_config');
      await expectCode(() => loadPrivateKey(f.path('nope.pem')), 'payment_config');
      await expectCode(() => loadVerifierKey(files.path('platform.pem'), 'ABCDEF'), 'payment_config');
      await expectCode(() => loadVerifierKey(f.path('pub.pem')), 'payment_config');
      expect(loadVerifierKey(f.path('pub.pem'), 'PUB_KEY_ID_0114232134912410000000000000').serial).toBe('PUB_KEY_ID_0114232134912410000000000000');
    } finally {
      f.remove();
    }
  });
});
