/**
 * WeChat Pay API v3 request signing (签名生成): the merchant signs
 *
 *   HTTP method \n canonical URL \n timestamp \n nonce \n body \n
 *
 * with its API private key (SHA256withRSA, PKCS#1 v1.5), and sends
 *
 *   Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",timestamp="…",serial_no="…",signature="…"
 *
 * The canonical URL is the path with its query string, as sent (no scheme or host); the body
 * is the exact bytes sent, empty for GET. The timestamp is Unix seconds.
 */
import { createSign, randomBytes, type KeyObject } from 'node:crypto';

export const WECHATPAY_SCHEMA = 'WECHATPAY2-SHA256-RSA2048';

/** The string a request signature covers. */
export function wechatRequestMessage(method: string, canonicalUrl: string, timestamp: string, nonce: string, body: string): string {
  return `${method.toUpperCase()}\n${canonicalUrl}\n${timestamp}\n${nonce}\n${body}\n`;
}

/** SHA256withRSA over the UTF-8 text, base64. */
export function rsaSha256Sign(message: string, privateKey: KeyObject): string {
  return createSign('RSA-SHA256').update(message, 'utf8').sign(privateKey, 'base64');
}

/** 32 random characters [0-9A-Z], the nonce_str both sides use. */
export function wechatNonce(): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const bytes = randomBytes(32);
  let s = '';
  for (const b of bytes) s += alphabet[b % 36];
  return s;
}

export interface WechatRequestToSign {
  mchid: string;
  /** Serial number of the merchant's API certificate. */
  serialNo: string;
  privateKey: KeyObject;
  method: string;
  /** Path and query, e.g. `/v3/pay/transactions/out-trade-no/T1?mchid=1900000109`. */
  canonicalUrl: string;
  body: string;
  timestamp: string;
  nonce: string;
}

/** The Authorization header value for one request. */
export function wechatAuthorization(req: WechatRequestToSign): string {
  const signature = rsaSha256Sign(wechatRequestMessage(req.method, req.canonicalUrl, req.timestamp, req.nonce, req.body), req.privateKey);
  return `${WECHATPAY_SCHEMA} mchid="${req.mchid}",nonce_str="${req.nonce}",timestamp="${req.timestamp}",serial_no="${req.serialNo}",signature="${signature}"`;
}
