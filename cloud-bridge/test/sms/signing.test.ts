/**
 * The providers' request signatures against their published worked examples, every
 * intermediate string included, on both sides: cloud-bridge's signer and the simulator's
 * verifier (written apart, payment-sim/src/sms/signatures.ts) must each reproduce them.
 *
 * Alibaba Cloud, "V3版本请求体&签名机制" (help.aliyun.com/document_detail/2593177.html; in English
 * alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature):
 *   POST ecs.cn-shanghai.aliyuncs.com/?ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai,
 *   RunInstances 2014-05-26, 2023-10-26T10:22:32Z, nonce 3156853299f313e23d1673dc12e1703d, empty body,
 *   YourAccessKeyId / YourAccessKeySecret.
 * Tencent Cloud, "签名方法 v3" / "Signature v3" (every API 3.0 product carries a copy, e.g. SMS's
 * tencentcloud.com/document/product/382/40467):
 *   POST cvm.tencentcloudapi.com DescribeInstances, timestamp 1551113065,
 *   {"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]},
 *   SecretKey Gu5t9xGARNpq86cd98joQYCN3EXAMPLE.
 */
import { describe, expect, it } from 'vitest';
import { verifyAcs3, verifyTc3 } from '@stile/payment-sim';
import { acsDate, canonicalQuery, percentEncode, signAcs3 } from '../../src/modules/sms/aliyun-sign.js';
import { signTc3, utcDate } from '../../src/modules/sms/tencent-sign.js';
import { mainlandMobile, PhoneHasher } from '../../src/modules/sms/phone.js';
import { redact } from '../../src/modules/sms/sender.js';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('Alibaba Cloud ACS3-HMAC-SHA256 (V3)', () => {
  const vector = {
    method: 'POST',
    path: '/',
    query: [
      ['ImageId', 'win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd'],
      ['RegionId', 'cn-shanghai'],
    ] as [string, string][],
    headers: { host: 'ecs.cn-shanghai.aliyuncs.com', 'x-acs-action': 'RunInstances', 'x-acs-version': '2014-05-26', 'x-acs-date': '2023-10-26T10:22:32Z', 'x-acs-signature-nonce': '3156853299f313e23d1673dc12e1703d' },
    body: '',
    accessKeyId: 'YourAccessKeyId',
    accessKeySecret: 'YourAccessKeySecret',
  };

  it("reproduces the documentation's example: canonical request, string to sign, signature, Authorization", () => {
    const s = signAcs3(vector);
    expect(s.canonicalRequest).toBe(
      [
        'POST',
        '/',
        'ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai',
        'host:ecs.cn-shanghai.aliyuncs.com',
        'x-acs-action:RunInstances',
        `x-acs-content-sha256:${EMPTY_SHA256}`,
        'x-acs-date:2023-10-26T10:22:32Z',
        'x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d',
        'x-acs-version:2014-05-26',
        '',
        'host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version',
        EMPTY_SHA256,
      ].join('\n'),
    );
    expect(s.stringToSign).toBe('ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259');
    expect(s.signature).toBe('06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0');
    expect(s.authorization).toBe(
      'ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0',
    );
  });

  it('the simulator verifies the documented request, and refuses it altered, replayed late or under another secret', () => {
    const s = signAcs3(vector);
    const arrived = (over: Partial<{ rawQuery: string; body: Buffer; headers: Record<string, string> }> = {}) => ({
      method: 'POST',
      path: '/',
      rawQuery: 'ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai',
      headers: { ...s.headers },
      body: Buffer.alloc(0),
      ...over,
    });
    const secret = (id: string) => (id === 'YourAccessKeyId' ? 'YourAccessKeySecret' : undefined);
    const at = new Date('2023-10-26T10:25:00Z');
    expect(verifyAcs3(arrived(), secret, at)).toEqual({ ok: true, keyId: 'YourAccessKeyId' });
    // The query in another order and encoding is the same canonical query.
    expect(verifyAcs3(arrived({ rawQuery: 'RegionId=cn%2Dshanghai&ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd' }), secret, at).ok).toBe(true);
    expect(verifyAcs3(arrived({ rawQuery: 'ImageId=win2019&RegionId=cn-shanghai' }), secret, at)).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(verifyAcs3(arrived({ body: Buffer.from('x') }), secret, at)).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(verifyAcs3(arrived(), secret, new Date('2023-10-26T10:40:00Z'))).toMatchObject({ ok: false, code: 'InvalidTimeStamp.Expired' });
    expect(verifyAcs3(arrived(), () => 'another-secret', at)).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(verifyAcs3(arrived(), () => undefined, at)).toMatchObject({ ok: false, status: 404, code: 'InvalidAccessKeyId.NotFound' });
    // An x-acs-* header the signature does not cover is refused (it could have been added on the way).
    expect(verifyAcs3(arrived({ headers: { ...s.headers, 'x-acs-security-token': 't' } }), secret, at)).toMatchObject({ ok: false, code: 'IncompleteSignature' });
  });

  it('encodes as RFC 3986 (space %20, * %2A, ~ kept, UTF-8 bytes) and sorts by name', () => {
    expect(percentEncode("a b*c~d/e+f'(中)")).toBe('a%20b%2Ac~d%2Fe%2Bf%27%28%E4%B8%AD%29');
    expect(canonicalQuery([['TemplateParam', '{"code":"ST1:AB"}'], ['PhoneNumbers', '13800138000'], ['OutId', 'sms_x-y']])).toBe('OutId=sms_x-y&PhoneNumbers=13800138000&TemplateParam=%7B%22code%22%3A%22ST1%3AAB%22%7D');
    expect(acsDate(new Date('2023-10-26T10:22:32.789Z'))).toBe('2023-10-26T10:22:32Z');
  });
});

describe('Tencent Cloud TC3-HMAC-SHA256 (v3)', () => {
  const payload = '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}';
  const vector = {
    secretId: 'AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE',
    secretKey: 'Gu5t9xGARNpq86cd98joQYCN3EXAMPLE',
    service: 'cvm',
    timestamp: 1551113065,
    headers: { 'content-type': 'application/json; charset=utf-8', host: 'cvm.tencentcloudapi.com' },
    payload,
  };

  it("reproduces the documentation's example: canonical request, string to sign, signature, Authorization", () => {
    const s = signTc3(vector);
    expect(s.canonicalRequest).toBe('POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064');
    expect(s.stringToSign).toBe('TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031');
    expect(s.signature).toBe('72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168');
    expect(s.authorization).toBe('TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168');
  });

  it('dates the scope in UTC: 00:44 in Beijing on the 26th is still the 25th', () => {
    expect(utcDate(1551113065)).toBe('2019-02-25');
  });

  it('the simulator verifies the documented request, and refuses it altered, late, or for another service', () => {
    const s = signTc3(vector);
    const arrived = (body = payload, extra: Record<string, string> = {}) => ({
      method: 'POST',
      path: '/',
      rawQuery: '',
      headers: { authorization: s.authorization, 'content-type': 'application/json; charset=utf-8', host: 'cvm.tencentcloudapi.com', 'x-tc-timestamp': '1551113065', ...extra },
      body: Buffer.from(body),
    });
    const secret = (id: string) => (id === vector.secretId ? vector.secretKey : undefined);
    const at = new Date(1551113065_000 + 60_000);
    expect(verifyTc3(arrived(), secret, at, 'cvm')).toEqual({ ok: true, keyId: vector.secretId });
    expect(verifyTc3(arrived(payload.replace('1', '2')), secret, at, 'cvm')).toMatchObject({ ok: false, code: 'AuthFailure.SignatureFailure' });
    expect(verifyTc3(arrived(), secret, new Date(1551113065_000 + 301_000), 'cvm')).toMatchObject({ ok: false, code: 'AuthFailure.SignatureExpire' });
    expect(verifyTc3(arrived(), secret, at, 'sms')).toMatchObject({ ok: false, code: 'AuthFailure.InvalidAuthorization' });
    expect(verifyTc3(arrived(), () => undefined, at, 'cvm')).toMatchObject({ ok: false, code: 'AuthFailure.SecretIdNotFound' });
  });
});

describe('phone numbers', () => {
  it('are mainland mobiles in any of their usual forms, hashed under a key, and kept out of provider messages', () => {
    expect(['13800138000', '+8613800138000', '008613800138000', '86 138-0013-8000'].map(mainlandMobile)).toEqual(Array(4).fill('13800138000'));
    expect(['1380013800', '23800138000', '+4413800138000', ''].map(mainlandMobile)).toEqual([undefined, undefined, undefined, undefined]);
    const a = new PhoneHasher('k'.repeat(32));
    const b = new PhoneHasher('j'.repeat(32));
    expect(a.hash('13800138000')).toMatch(/^[0-9a-f]{64}$/);
    expect(a.hash('13800138000')).not.toBe(b.hash('13800138000'));
    expect(a.matches('+8613800138000', a.hash('13800138000'), '138****8000')).toBe(true);
    expect(a.matches('13800138001', a.hash('13800138000'), '138****8000')).toBe(false);
    expect(a.matches('138****8000', a.hash('13800138000'), '138****8000')).toBe(true);
    expect(a.matches('139****8000', a.hash('13800138000'), '138****8000')).toBe(false);
    expect(redact('string to sign: PhoneNumbers=13800138000&x=+8613912345678')).toBe('string to sign: PhoneNumbers=138****8000&x=139****5678');
    expect(redact('TemplateParam=%7B%22code%22%3A%22ST1%3AABCDEF234567%22%7D and ST1:ABCDEF234567')).toBe('TemplateParam=%7B%22code%22%3A%22ST1%3A…%22%7D and ST1:…');
  });
});
