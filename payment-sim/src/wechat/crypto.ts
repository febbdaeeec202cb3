/**
 * The provider side of WeChat Pay API v3's cryptography, written for the simulator alone
 * (not shared with cloud-bridge's client, so that one bug cannot hide in both):
 * the merchant's Authorization header checked, answers and notifications signed with the
 * platform key, notification resources sealed with AES-256-GCM, JSAPI paySign checked.
 */
import { createCipheriv, createSign, createVerify, randomBytes, type KeyObject } from 'node:crypto';

export interface MerchantAuth {
  mchid: string;
  nonce_str: string;
  timestamp: string;
  serial_no: string;
  signature: string;
}

/** `WECHATPAY2-SHA256-RSA2048 k="v",k="v"` → the five fields, or a reason. */
export function parseAuthorization(value: string | undefined): MerchantAuth | string {
  if (value === undefined) return 'no Authorization header';
  const prefix = 'WECHATPAY2-SHA256-RSA2048 ';
  if (!value.startsWith(prefix)) return 'Authorization schema is not WECHATPAY2-SHA256-RSA2048';
  const fields: Record<string, string> = {};
  const re = /\s*([a-z_]+)="([^"]*)"\s*(,|$)/gy;
  const rest = value.slice(prefix.length);
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(rest)) !== null) {
    if (fields[m[1]!] !== undefined) return `${m[1]} given twice`;
    fields[m[1]!] = m[2]!;
    end = re.lastIndex;
    if (m[3] === '') break;
  }
  if (end !== rest.length) return 'Authorization is not a list of k="v"';
  for (const k of ['mchid', 'nonce_str', 'timestamp', 'serial_no', 'signature']) if (!fields[k]) return `Authorization has no ${k}`;
  return fields as unknown as MerchantAuth;
}

/** Does the merchant's signature cover this request? */
export function merchantSignatureValid(auth: MerchantAuth, method: string, pathAndQuery: string, body: string, merchantKey: KeyObject): boolean {
  const signed = [method, pathAndQuery, auth.timestamp, auth.nonce_str, body].join('\n') + '\n';
  try {
    return createVerify('sha256WithRSAEncryption').update(Buffer.from(signed, 'utf8')).verify(merchantKey, Buffer.from(auth.signature, 'base64'));
  } catch {
    return false;
  }
}

export function nonce(length = 32): string {
  return randomBytes(length).toString('hex').slice(0, length).toUpperCase();
}

/** The Wechatpay-* headers of an answer or notification body. */
export function platformHeaders(body: string, key: KeyObject, keyId: string, unixSeconds: number): Record<string, string> {
  const n = nonce();
  const ts = String(unixSeconds);
  const signature = createSign('sha256WithRSAEncryption').update(Buffer.from(`${ts}\n${n}\n${body}\n`, 'utf8')).sign(key).toString('base64');
  return { 'Wechatpay-Timestamp': ts, 'Wechatpay-Nonce': n, 'Wechatpay-Signature': signature, 'Wechatpay-Serial': keyId, 'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048' };
}

export interface SealedResource {
  original_type: string;
  algorithm: 'AEAD_AES_256_GCM';
  ciphertext: string;
  associated_data: string;
  nonce: string;
}

/** AES-256-GCM under the APIv3 key: base64(ciphertext ‖ 16-byte tag), a 12-character nonce. */
export function sealResource(apiV3Key: string, originalType: string, plaintext: string, associatedData = originalType): SealedResource {
  const iv = randomBytes(9).toString('base64url').slice(0, 12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(apiV3Key, 'utf8'), Buffer.from(iv, 'utf8'));
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const out = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { original_type: originalType, algorithm: 'AEAD_AES_256_GCM', ciphertext: out.toString('base64'), associated_data: associatedData, nonce: iv };
}

/** WeixinJSBridge's check of a JSAPI pay request: paySign over appId, timeStamp, nonceStr, package. */
export function jsapiSignValid(p: { appId: string; timeStamp: string; nonceStr: string; package: string; paySign: string }, merchantKey: KeyObject): boolean {
  try {
    return createVerify('sha256WithRSAEncryption').update(Buffer.from(`${p.appId}\n${p.timeStamp}\n${p.nonceStr}\n${p.package}\n`, 'utf8')).verify(merchantKey, Buffer.from(p.paySign, 'base64'));
  } catch {
    return false;
  }
}
