/**
 * Alibaba Cloud's request signature V3, ACS3-HMAC-SHA256 ("V3版本请求体&签名机制"), the one
 * Alibaba Cloud recommends for every OpenAPI product including dysmsapi (the older RPC
 * HMAC-SHA1 "V2" signature is still accepted but superseded):
 *
 *   CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n hex(SHA256(body))
 *   StringToSign     = "ACS3-HMAC-SHA256" \n hex(SHA256(CanonicalRequest))
 *   Signature        = hex(HMAC-SHA256(AccessKeySecret, StringToSign))
 *   Authorization    = ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<a;b;c>,Signature=<hex>
 *
 * CanonicalURI is "/" for RPC-style APIs; query names and values are RFC 3986 percent-encoded
 * (space %20, * %2A, ~ kept) and sorted by name; the signed headers are host, content-type and
 * every x-acs-* header, lower-cased, values trimmed, sorted, each "name:value\n". The
 * documentation's worked example (RunInstances, 2023-10-26T10:22:32Z) is the test vector
 * (cloud-bridge/test/sms/signing.test.ts).
 */
import { createHash, createHmac } from 'node:crypto';

export const ACS3 = 'ACS3-HMAC-SHA256';

export const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** RFC 3986: A–Z a–z 0–9 - _ . ~ stay, every other UTF-8 byte is %XX (upper-case hex). */
export function percentEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** name=value pairs percent-encoded, sorted by name (then value), joined with &. */
export function canonicalQuery(params: readonly (readonly [string, string])[]): string {
  return params
    .map(([k, v]) => [percentEncode(k), percentEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

export interface Acs3Request {
  method: string;
  /** The URI path; "/" for RPC-style APIs such as SendSms. */
  path: string;
  query: readonly (readonly [string, string])[];
  /** host, x-acs-action, x-acs-version, x-acs-date, x-acs-signature-nonce (and content-type when there is a body); x-acs-content-sha256 is added. */
  headers: Record<string, string>;
  body: string | Buffer;
  accessKeyId: string;
  accessKeySecret: string;
}

export interface Acs3Signed {
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
  authorization: string;
  /** The headers to send: the given ones, x-acs-content-sha256 and Authorization. */
  headers: Record<string, string>;
}

/** The headers that take part in the signature: host, content-type and x-acs-*. */
function signedHeaderNames(headers: Record<string, string>): string[] {
  return Object.keys(headers)
    .map((n) => n.toLowerCase())
    .filter((n) => n === 'host' || n === 'content-type' || n.startsWith('x-acs-'))
    .sort();
}

export function signAcs3(req: Acs3Request): Acs3Signed {
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) lower[k.toLowerCase()] = v.trim();
  lower['x-acs-content-sha256'] = sha256Hex(req.body);
  const names = signedHeaderNames(lower);
  const signedHeaders = names.join(';');
  const canonicalHeaders = names.map((n) => `${n}:${lower[n]}\n`).join('');
  const canonicalRequest = [req.method.toUpperCase(), req.path, canonicalQuery(req.query), canonicalHeaders, signedHeaders, lower['x-acs-content-sha256']].join('\n');
  const stringToSign = `${ACS3}\n${sha256Hex(canonicalRequest)}`;
  const signature = createHmac('sha256', req.accessKeySecret).update(stringToSign, 'utf8').digest('hex');
  const authorization = `${ACS3} Credential=${req.accessKeyId},SignedHeaders=${signedHeaders},Signature=${signature}`;
  return { canonicalRequest, stringToSign, signature, authorization, headers: { ...lower, authorization } };
}

/** x-acs-date: ISO 8601 UTC to the second, 2023-10-26T10:22:32Z. */
export function acsDate(at: Date): string {
  return `${at.toISOString().slice(0, 19)}Z`;
}
