/**
 * WeChat Pay API v3 answer and notification verification (验证签名): WeChat Pay signs
 *
 *   Wechatpay-Timestamp \n Wechatpay-Nonce \n body \n
 *
 * with its platform private key (SHA256withRSA) and names the key in Wechatpay-Serial: a
 * platform certificate serial, or a WeChat Pay public key id (PUB_KEY_ID_…). We verify with
 * the key we hold under that name, and refuse a timestamp more than 5 minutes from our clock
 * (a replayed answer or notification; replays within the window are the caller's to
 * deduplicate by notification id). WeChat Pay's own signature probes ("WECHATPAY/SIGNTEST/…")
 * fail here like any other bad signature, as they are meant to.
 */
import { createVerify } from 'node:crypto';
import { CloudError } from '../../core/errors.js';
import type { VerifierKey } from './keys.js';

/** How far a signed timestamp may be from our clock. */
export const WECHAT_MAX_SKEW_SECONDS = 300;

export type HeaderBag = Headers | Record<string, string | string[] | undefined>;

/** A header by case-insensitive name; a repeated header is refused (undefined). */
export function header(headers: HeaderBag, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== lower) continue;
    if (Array.isArray(v)) return v.length === 1 ? v[0] : undefined;
    return v;
  }
  return undefined;
}

/** The string an answer or notification signature covers. */
export function wechatResponseMessage(timestamp: string, nonce: string, body: string): string {
  return `${timestamp}\n${nonce}\n${body}\n`;
}

export interface WechatSignedHeaders {
  timestamp: string;
  nonce: string;
  signature: string;
  serial: string;
}

/** The four Wechatpay-* headers, or payment_bad_signature naming the missing one. */
export function wechatSignedHeaders(headers: HeaderBag): WechatSignedHeaders {
  const timestamp = header(headers, 'Wechatpay-Timestamp');
  const nonce = header(headers, 'Wechatpay-Nonce');
  const signature = header(headers, 'Wechatpay-Signature');
  const serial = header(headers, 'Wechatpay-Serial');
  const missing = [
    ['Wechatpay-Timestamp', timestamp],
    ['Wechatpay-Nonce', nonce],
    ['Wechatpay-Signature', signature],
    ['Wechatpay-Serial', serial],
  ].find(([, v]) => v === undefined || v === '');
  if (missing !== undefined) throw new CloudError('payment_bad_signature', `WeChat Pay: no ${missing[0]} header`, { reason: 'missing_header', header: missing[0] });
  return { timestamp: timestamp!, nonce: nonce!, signature: signature!, serial: serial! };
}

/**
 * Verify a WeChat Pay answer or notification. Throws payment_bad_signature (missing header,
 * wrong signature), payment_stale (timestamp skew over 5 minutes), payment_unknown_key
 * (serial we do not hold, or a certificate outside its validity at `now`).
 */
export function verifyWechatSignature(headers: HeaderBag, body: string, keys: readonly VerifierKey[], now: Date): WechatSignedHeaders {
  const signed = wechatSignedHeaders(headers);
  if (!/^\d{1,12}$/.test(signed.timestamp)) throw new CloudError('payment_bad_signature', 'WeChat Pay: Wechatpay-Timestamp is not Unix seconds', { reason: 'bad_timestamp' });
  const skew = Math.abs(now.getTime() / 1000 - Number(signed.timestamp));
  if (skew > WECHAT_MAX_SKEW_SECONDS) {
    throw new CloudError('payment_stale', `WeChat Pay: signed ${Math.round(skew)} s from our clock (more than ${WECHAT_MAX_SKEW_SECONDS} s)`, { reason: 'stale', skewSeconds: Math.round(skew) });
  }
  const key = keys.find((k) => k.serial.toUpperCase() === signed.serial.toUpperCase());
  if (key === undefined) throw new CloudError('payment_unknown_key', `WeChat Pay: signed with ${signed.serial}, which we do not hold`, { reason: 'unknown_serial', serial: signed.serial });
  if ((key.notBefore !== undefined && now < key.notBefore) || (key.notAfter !== undefined && now > key.notAfter)) {
    throw new CloudError('payment_unknown_key', `WeChat Pay: certificate ${key.serial} is not valid now`, { reason: 'certificate_expired', serial: key.serial });
  }
  const ok = createVerify('RSA-SHA256').update(wechatResponseMessage(signed.timestamp, signed.nonce, body), 'utf8').verify(key.key, signed.signature, 'base64');
  if (!ok) throw new CloudError('payment_bad_signature', `WeChat Pay: signature does not verify under ${key.serial}`, { reason: 'bad_signature', serial: key.serial });
  return signed;
}
