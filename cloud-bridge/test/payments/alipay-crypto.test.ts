import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { alipayRsa2Verify, alipaySignContent, alipaySignRequest, alipayVerifyNotification } from '../../src/modules/payments/alipay-sign.js';
import { readAlipayAnswer, topLevelRawValues } from '../../src/modules/payments/alipay-response.js';
import { expectCode } from './helpers.js';
import { ALIPAY_ANSWER, ALIPAY_NOTIFY, ALIPAY_NOTIFY_PUBLIC_KEY_V1, ALIPAY_PUBLIC_KEY_PEM } from './vectors.js';

const notifyKey = createPublicKey({ key: Buffer.from(ALIPAY_NOTIFY_PUBLIC_KEY_V1, 'base64'), format: 'der', type: 'spki' });
const answerKey = createPublicKey(ALIPAY_PUBLIC_KEY_PEM);

describe('Alipay RSA2 sign content', () => {
  it('sorts, drops sign and empty values, keeps sign_type, does not URL-encode', () => {
    const params = { method: 'alipay.trade.query', app_id: '2021000000000000', sign_type: 'RSA2', sign: 'xxx', empty: '', timestamp: '2024-05-01 12:00:00', biz_content: '{"out_trade_no":"T 1&2"}' };
    expect(alipaySignContent(params)).toBe('app_id=2021000000000000&biz_content={"out_trade_no":"T 1&2"}&method=alipay.trade.query&sign_type=RSA2&timestamp=2024-05-01 12:00:00');
    expect(alipaySignContent(params, ['sign', 'sign_type'])).toBe('app_id=2021000000000000&biz_content={"out_trade_no":"T 1&2"}&method=alipay.trade.query&timestamp=2024-05-01 12:00:00');
  });

  it('signs a request that verifies over that content', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signed = alipaySignRequest({ app_id: '1', method: 'm', sign_type: 'RSA2', notify_url: undefined, biz_content: '{}' }, privateKey);
    expect(Object.keys(signed).sort()).toEqual(['app_id', 'biz_content', 'method', 'sign', 'sign_type']);
    expect(alipayRsa2Verify('app_id=1&biz_content={}&method=m&sign_type=RSA2', signed.sign!, publicKey)).toBe(true);
  });
});

describe('Alipay async notification (a real one, signed by Alipay)', () => {
  it('verifies without sign and sign_type', () => {
    expect(alipayVerifyNotification(ALIPAY_NOTIFY, notifyKey)).toBe(true);
    // The posted form, decoded by URLSearchParams as a server would.
    const posted = Object.fromEntries(new URLSearchParams(new URLSearchParams(ALIPAY_NOTIFY).toString()));
    expect(alipayVerifyNotification(posted, notifyKey)).toBe(true);
  });

  it('refuses a changed amount, an added parameter, a missing or garbage sign', () => {
    expect(alipayVerifyNotification({ ...ALIPAY_NOTIFY, total_amount: '100.10' }, notifyKey)).toBe(false);
    expect(alipayVerifyNotification({ ...ALIPAY_NOTIFY, refund_fee: '0.10' }, notifyKey)).toBe(false);
    const { sign: _s, ...unsigned } = ALIPAY_NOTIFY;
    expect(alipayVerifyNotification(unsigned, notifyKey)).toBe(false);
    expect(alipayVerifyNotification({ ...ALIPAY_NOTIFY, sign: 'not base64 %%' }, notifyKey)).toBe(false);
    // Another key.
    expect(alipayVerifyNotification(ALIPAY_NOTIFY, answerKey)).toBe(false);
  });
});

describe('Alipay answers (a real one, signed by Alipay)', () => {
  it('verifies the raw response text', () => {
    const a = readAlipayAnswer(ALIPAY_ANSWER, 'alipay.open.file.upload', answerKey);
    expect(a.signed).toBe(true);
    expect(a.raw).toBe('{"code":"10000","msg":"Success","file_id":"CAxAToWB1JsAAAAAAAAAAAAADgSLAQBr"}');
    expect(a.body.file_id).toBe('CAxAToWB1JsAAAAAAAAAAAAADgSLAQBr');
  });

  it('verifies the text as sent, not a re-serialisation (\\/ escapes, spacing)', () => {
    // The signed text is whatever Alipay wrote: a valid answer with a changed spacing must fail.
    const spaced = ALIPAY_ANSWER.replace('"code":"10000"', '"code": "10000"');
    return expectCode(() => readAlipayAnswer(spaced, 'alipay.open.file.upload', answerKey), 'payment_bad_signature');
  });

  it('refuses forged values, duplicate keys, no response, not JSON', async () => {
    await expectCode(() => readAlipayAnswer(ALIPAY_ANSWER.replace('CAxAToWB', 'XXxAToWB'), 'alipay.open.file.upload', answerKey), 'payment_bad_signature');
    const dup = ALIPAY_ANSWER.replace('{"alipay_open_file_upload_response"', '{"alipay_open_file_upload_response":{"code":"10000"},"alipay_open_file_upload_response"');
    await expectCode(() => readAlipayAnswer(dup, 'alipay.open.file.upload', answerKey), 'payment_malformed');
    await expectCode(() => readAlipayAnswer(ALIPAY_ANSWER, 'alipay.trade.query', answerKey), 'payment_malformed');
    await expectCode(() => readAlipayAnswer('<html>502</html>', 'alipay.open.file.upload', answerKey), 'payment_malformed');
    await expectCode(() => readAlipayAnswer(ALIPAY_ANSWER.slice(0, 60), 'alipay.open.file.upload', answerKey), 'payment_malformed');
  });

  it('returns an unsigned answer as unsigned (an error only, never a success)', () => {
    const a = readAlipayAnswer('{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id"}}', 'alipay.trade.query', answerKey);
    expect(a).toMatchObject({ key: 'error_response', signed: false });
  });

  it('scans JSON text by structure: strings with braces and quotes, nested values', () => {
    const text = ' {"a_response" : {"x":"}\\"{","y":[1,{"z":"]"}]} , "sign":"abc", "n": -1.5e3, "t": true}\n';
    const v = topLevelRawValues(text)!;
    expect(v.get('a_response')).toBe('{"x":"}\\"{","y":[1,{"z":"]"}]}');
    expect(v.get('sign')).toBe('"abc"');
    expect(v.get('n')).toBe('-1.5e3');
    expect(topLevelRawValues('{"a":1} trailing')).toBeUndefined();
    expect(topLevelRawValues('{"a":1,"a":2}')).toBeUndefined();
    expect(topLevelRawValues('[1]')).toBeUndefined();
  });
});
