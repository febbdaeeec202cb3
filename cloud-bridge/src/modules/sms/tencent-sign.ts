/**
 * TencentCloud API 3.0 signature v3, TC3-HMAC-SHA256 ("签名方法 v3"):
 *
 *   CanonicalRequest = METHOD \n / \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n hex(SHA256(payload))
 *   StringToSign     = "TC3-HMAC-SHA256" \n Timestamp \n <UTC date>/<service>/tc3_request \n hex(SHA256(CanonicalRequest))
 *   SecretSigning    = HMAC(HMAC(HMAC("TC3" + SecretKey, date), service), "tc3_request")
 *   Signature        = hex(HMAC-SHA256(SecretSigning, StringToSign))
 *   Authorization    = TC3-HMAC-SHA256 Credential=<SecretId>/<scope>, SignedHeaders=<a;b>, Signature=<hex>
 *
 * The date is the UTC day of X-TC-Timestamp (not Beijing's: a request at 00:30 in Beijing is
 * still the previous day). Header names and values are lower-cased and trimmed; content-type
 * and host are required. Tencent's documentation works one example through with every
 * intermediate string (DescribeInstances, timestamp 1551113065): the test vector.
 */
import { createHash, createHmac } from 'node:crypto';

export const TC3 = 'TC3-HMAC-SHA256';

const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, msg: string): Buffer => createHmac('sha256', key).update(msg, 'utf8').digest();

export interface Tc3Request {
  secretId: string;
  secretKey: string;
  /** The product: `sms` for sms.tencentcloudapi.com. */
  service: string;
  /** Unix seconds (X-TC-Timestamp). */
  timestamp: number;
  method?: 'POST' | 'GET';
  /** GET only. */
  query?: string;
  /** The headers to sign, e.g. content-type, host, x-tc-action (content-type and host at least). */
  headers: Record<string, string>;
  payload: string;
}

export interface Tc3Signed {
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
  authorization: string;
  credentialScope: string;
}

/** The UTC calendar day of a Unix timestamp. */
export function utcDate(timestamp: number): string {
  return new Date(timestamp * 1000).toISOString().slice(0, 10);
}

export function signTc3(req: Tc3Request): Tc3Signed {
  const lower = Object.entries(req.headers)
    .map(([k, v]) => [k.toLowerCase(), v.trim().toLowerCase()] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const canonicalHeaders = lower.map(([k, v]) => `${k}:${v}\n`).join('');
  const signedHeaders = lower.map(([k]) => k).join(';');
  const canonicalRequest = [req.method ?? 'POST', '/', req.query ?? '', canonicalHeaders, signedHeaders, sha256Hex(req.payload)].join('\n');
  const date = utcDate(req.timestamp);
  const credentialScope = `${date}/${req.service}/tc3_request`;
  const stringToSign = `${TC3}\n${req.timestamp}\n${credentialScope}\n${sha256Hex(canonicalRequest)}`;
  const secretSigning = hmac(hmac(hmac(`TC3${req.secretKey}`, date), req.service), 'tc3_request');
  const signature = createHmac('sha256', secretSigning).update(stringToSign, 'utf8').digest('hex');
  const authorization = `${TC3} Credential=${req.secretId}/${credentialScope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { canonicalRequest, stringToSign, signature, authorization, credentialScope };
}
