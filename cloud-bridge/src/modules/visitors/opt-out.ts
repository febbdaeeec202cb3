import { createHmac, timingSafeEqual } from 'node:crypto';

/*
 * Opt-out links: `t` = <idHash>.<mac>, mac = HMAC-SHA256(key, site + "\n" + idHash) truncated to
 * 128 bits, base64url, with key = HMAC-SHA256(site idHashKey, "stile/visitors/opt-out/v1"): a key
 * of its own, so a token says nothing about ID hashes and the link cannot be made without the
 * site's secret.
 */

function optOutKey(idHashKey: string): Buffer {
  return createHmac('sha256', idHashKey).update('stile/visitors/opt-out/v1').digest();
}

function mac(idHashKey: string, site: string, idHash: string): Buffer {
  return createHmac('sha256', optOutKey(idHashKey)).update(`${site}\n${idHash}`).digest().subarray(0, 16);
}

export function optOutToken(idHashKey: string, site: string, idHash: string): string {
  return `${idHash}.${mac(idHashKey, site, idHash).toString('base64url')}`;
}

/** The ID hash a token stands for, or undefined when it is malformed or forged. */
export function verifyOptOutToken(idHashKey: string, site: string, token: string): string | undefined {
  const m = /^([0-9a-f]{64})\.([A-Za-z0-9_-]{22})$/.exec(token);
  if (!m) return undefined;
  const got = Buffer.from(m[2]!, 'base64url');
  const want = mac(idHashKey, site, m[1]!);
  return got.length === want.length && timingSafeEqual(got, want) ? m[1] : undefined;
}

export function optOutPath(site: string, token: string): string {
  return `/v1/visitor/${encodeURIComponent(site)}/opt-out?t=${encodeURIComponent(token)}`;
}
