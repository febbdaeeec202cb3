/**
 * Alipay OpenAPI (gateway.do) RSA2 signatures — SHA256withRSA, base64:
 *
 * - a request: every parameter except `sign` and those with empty values, sorted by name,
 *   joined as `k=v&k=v` with the raw (not URL-encoded) values; `sign_type` is included;
 * - an async notification: the same over the posted parameters except `sign` AND
 *   `sign_type` (异步通知验签: "除去 sign、sign_type 两个参数外");
 * - an answer: the exact JSON text of the `<method>_response` (or `error_response`) value
 *   as it appears in the body — see alipay-response.ts.
 */
import { createSign, createVerify, type KeyObject } from 'node:crypto';

export type AlipayParams = Record<string, string | undefined>;

/** The signed string: sorted `k=v` pairs without the excluded names and empty values. */
export function alipaySignContent(params: AlipayParams, exclude: readonly string[] = ['sign']): string {
  return Object.keys(params)
    .filter((k) => !exclude.includes(k) && params[k] !== undefined && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
}

export function alipayRsa2Sign(content: string, privateKey: KeyObject): string {
  return createSign('RSA-SHA256').update(content, 'utf8').sign(privateKey, 'base64');
}

export function alipayRsa2Verify(content: string, signature: string, publicKey: KeyObject): boolean {
  if (signature === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  return createVerify('RSA-SHA256').update(content, 'utf8').verify(publicKey, signature, 'base64');
}

/** A request's parameters with `sign` added. */
export function alipaySignRequest(params: AlipayParams, privateKey: KeyObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') out[k] = v;
  out.sign = alipayRsa2Sign(alipaySignContent(out), privateKey);
  return out;
}

/** Verify an async notification's parameters (as posted, form-decoded). */
export function alipayVerifyNotification(params: AlipayParams, publicKey: KeyObject): boolean {
  const sign = params.sign;
  if (sign === undefined) return false;
  return alipayRsa2Verify(alipaySignContent(params, ['sign', 'sign_type']), sign, publicKey);
}
