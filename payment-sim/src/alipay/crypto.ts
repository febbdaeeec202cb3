/**
 * The provider side of Alipay's RSA2, for the simulator alone: the gateway's check of a
 * merchant request (all parameters but `sign`, empty ones dropped, sorted, k=v&…), its
 * signature over the `<method>_response` JSON text, and the signature of notifications
 * (all parameters but `sign` and `sign_type`).
 */
import { createSign, createVerify, type KeyObject } from 'node:crypto';

export function content(params: Record<string, string>, without: string[]): string {
  const keys = Object.keys(params).filter((k) => !without.includes(k) && params[k] !== '');
  keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return keys.map((k) => `${k}=${params[k]}`).join('&');
}

export function rsa2(text: string, key: KeyObject): string {
  return createSign('sha256WithRSAEncryption').update(Buffer.from(text, 'utf8')).sign(key).toString('base64');
}

export function rsa2Valid(text: string, signature: string, key: KeyObject): boolean {
  try {
    return createVerify('sha256WithRSAEncryption').update(Buffer.from(text, 'utf8')).verify(key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * An answer body: Alipay's JSON writer escapes `/` as `\/`, and the signature covers the
 * response value's text exactly as written.
 */
export function answerBody(responseKey: string, value: object, key: KeyObject, extra: { sign?: string } = {}): string {
  const valueText = JSON.stringify(value).replace(/\//g, '\\/');
  const sign = extra.sign ?? rsa2(valueText, key);
  return `{"${responseKey}":${valueText},"sign":"${sign}"}`;
}
