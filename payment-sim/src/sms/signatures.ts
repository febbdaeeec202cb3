/**
 * The two providers' request signatures, checked from the provider's side: rebuilt from the
 * request as it arrived (method, path, raw query, headers, body bytes) and compared. Written
 * here from the providers' documents, apart from cloud-bridge's signer, so that a mistake in
 * one is not mirrored in the other.
 *
 * Alibaba Cloud V3 (ACS3-HMAC-SHA256): hex HMAC-SHA256 under the AccessKey secret of
 *   "ACS3-HMAC-SHA256\n" + hex SHA-256 of
 *   METHOD\nPATH\nsorted RFC 3986 query\n"name:value\n"… of the signed headers\nsigned;header;names\nx-acs-content-sha256
 * Tencent Cloud v3 (TC3-HMAC-SHA256): hex HMAC-SHA256 under the key derived from
 *   "TC3"+SecretKey → date → service → "tc3_request", of
 *   "TC3-HMAC-SHA256\n" + timestamp + "\n" + date/service/tc3_request + "\n" + hex SHA-256 of
 *   METHOD\n/\nquery\nlower-case "name:value\n"…\nsigned;names\nhex SHA-256 of the body
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface Arrived {
  method: string;
  path: string;
  /** The query string as sent, without "?". */
  rawQuery: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type Verdict = { ok: true; keyId: string } | { ok: false; status: number; code: string; message: string };

const hex = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** RFC 3986 unreserved stay; the rest %XX of its UTF-8 bytes. */
function rfc3986(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** The query as Alibaba canonicalises it: every pair decoded, re-encoded RFC 3986, sorted. */
export function acsCanonicalQuery(rawQuery: string): string | undefined {
  if (rawQuery === '') return '';
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const i = part.indexOf('=');
    const k = decode(i < 0 ? part : part.slice(0, i));
    const v = decode(i < 0 ? '' : part.slice(i + 1));
    if (k === undefined || v === undefined) return undefined;
    pairs.push([rfc3986(k), rfc3986(v)]);
  }
  pairs.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

const ACS_AUTH = /^ACS3-HMAC-SHA256 Credential=([^,\s]+),SignedHeaders=([a-z0-9;-]+),Signature=([0-9a-f]{64})$/;

/** Alibaba's gateway: the signature, its date (±15 min), the body hash; nonces are the caller's to track. */
export function verifyAcs3(req: Arrived, secretOf: (keyId: string) => string | undefined, now: Date): Verdict {
  const auth = ACS_AUTH.exec(header(req.headers, 'authorization') ?? '');
  if (auth === null) return { ok: false, status: 400, code: 'IncompleteSignature', message: 'The request signature does not conform to Aliyun standards.' };
  const [, keyId, signedList, signature] = auth as unknown as [string, string, string, string];
  const secret = secretOf(keyId);
  if (secret === undefined) return { ok: false, status: 404, code: 'InvalidAccessKeyId.NotFound', message: 'Specified access key is not found.' };
  const date = header(req.headers, 'x-acs-date') ?? '';
  const t = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(date) ? Date.parse(date) : Number.NaN;
  if (Number.isNaN(t)) return { ok: false, status: 400, code: 'InvalidTimeStamp.Format', message: 'Specified time stamp or date value is not well formatted.' };
  if (Math.abs(now.getTime() - t) > 15 * 60_000) return { ok: false, status: 400, code: 'InvalidTimeStamp.Expired', message: `Specified time stamp or date value is expired.` };
  const contentSha = header(req.headers, 'x-acs-content-sha256') ?? '';
  if (contentSha !== hex(req.body)) return { ok: false, status: 400, code: 'SignatureDoesNotMatch', message: 'The x-acs-content-sha256 does not match the request body.' };
  const signed = signedList.split(';');
  const present = Object.keys(req.headers).filter((n) => n.startsWith('x-acs-'));
  const unsigned = ['host', ...present].filter((n) => !signed.includes(n));
  if (unsigned.length > 0 || [...signed].sort().join(';') !== signedList) return { ok: false, status: 400, code: 'IncompleteSignature', message: `Headers ${unsigned.join(', ') || 'order'} must be signed, in sorted order.` };
  let canonicalHeaders = '';
  for (const n of signed) {
    const v = header(req.headers, n);
    if (v === undefined) return { ok: false, status: 400, code: 'IncompleteSignature', message: `Signed header ${n} is missing.` };
    canonicalHeaders += `${n}:${v.trim()}\n`;
  }
  const query = acsCanonicalQuery(req.rawQuery);
  if (query === undefined) return { ok: false, status: 400, code: 'InvalidParameter', message: 'The query string is not well encoded.' };
  const canonical = [req.method.toUpperCase(), req.path, query, canonicalHeaders, signedList, contentSha].join('\n');
  const stringToSign = `ACS3-HMAC-SHA256\n${hex(canonical)}`;
  const expected = createHmac('sha256', secret).update(stringToSign).digest('hex');
  if (!sameHex(expected, signature)) return { ok: false, status: 400, code: 'SignatureDoesNotMatch', message: `Specified signature does not match our calculation. server string to sign is:${stringToSign}` };
  return { ok: true, keyId };
}

const TC_AUTH = /^TC3-HMAC-SHA256 Credential=([^/\s]+)\/(\d{4}-\d{2}-\d{2})\/([a-z0-9]+)\/tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;

/** Tencent Cloud API 3.0: the signature, its timestamp (±5 min), its date and service. */
export function verifyTc3(req: Arrived, secretOf: (secretId: string) => string | undefined, now: Date, service: string): Verdict {
  const auth = TC_AUTH.exec(header(req.headers, 'authorization') ?? '');
  if (auth === null) return { ok: false, status: 200, code: 'AuthFailure.InvalidAuthorization', message: 'Authorization in the request header is invalid.' };
  const [, secretId, date, svc, signedList, signature] = auth as unknown as [string, string, string, string, string, string];
  const secret = secretOf(secretId);
  if (secret === undefined) return { ok: false, status: 200, code: 'AuthFailure.SecretIdNotFound', message: 'The SecretId is not found, please ensure that your SecretId is correct.' };
  const ts = Number(header(req.headers, 'x-tc-timestamp') ?? '');
  if (!Number.isInteger(ts)) return { ok: false, status: 200, code: 'MissingParameter', message: 'The request is missing a required parameter `Timestamp`.' };
  if (Math.abs(now.getTime() / 1000 - ts) > 300) return { ok: false, status: 200, code: 'AuthFailure.SignatureExpire', message: 'Signature expired. Timestamp and server time cannot differ by more than five minutes.' };
  if (date !== new Date(ts * 1000).toISOString().slice(0, 10) || svc !== service) return { ok: false, status: 200, code: 'AuthFailure.InvalidAuthorization', message: `Credential scope ${date}/${svc} does not match the timestamp's UTC date and the service ${service}.` };
  const signed = signedList.split(';');
  if (!signed.includes('content-type') || !signed.includes('host')) return { ok: false, status: 200, code: 'AuthFailure.InvalidAuthorization', message: 'SignedHeaders must include content-type and host.' };
  let canonicalHeaders = '';
  for (const n of signed) {
    const v = header(req.headers, n);
    if (v === undefined) return { ok: false, status: 200, code: 'AuthFailure.SignatureFailure', message: `Signed header ${n} is missing.` };
    canonicalHeaders += `${n}:${v.trim().toLowerCase()}\n`;
  }
  const canonical = [req.method.toUpperCase(), '/', req.method.toUpperCase() === 'GET' ? req.rawQuery : '', canonicalHeaders, signedList, hex(req.body)].join('\n');
  const stringToSign = `TC3-HMAC-SHA256\n${ts}\n${date}/${svc}/tc3_request\n${hex(canonical)}`;
  const k = (key: Buffer | string, msg: string) => createHmac('sha256', key).update(msg).digest();
  const signingKey = k(k(k(`TC3${secret}`, date), svc), 'tc3_request');
  const expected = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  if (!sameHex(expected, signature)) return { ok: false, status: 200, code: 'AuthFailure.SignatureFailure', message: 'The provided credentials could not be validated. Please check your signature is correct.' };
  return { ok: true, keyId: secretId };
}
