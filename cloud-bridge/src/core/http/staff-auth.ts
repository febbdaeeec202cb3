import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import type { SiteRegistry } from '../sites.js';
import { refusalBody } from './refusals.js';

/** The bearer token of a request (or X-Api-Key, which some channel partners send). */
export function bearer(c: Context): string | undefined {
  const h = c.req.header('authorization');
  if (h?.startsWith('Bearer ')) return h.slice(7).trim();
  return c.req.header('x-api-key') ?? undefined;
}

function sameSha256(token: string, expectedHex: string): boolean {
  const got = createHash('sha256').update(token, 'utf8').digest();
  const want = Buffer.from(expectedHex, 'hex');
  return want.length === got.length && timingSafeEqual(got, want);
}

/** Staff routes are documented under this security scheme and tag. */
export const STAFF_SECURITY = [{ staffToken: [] }];

/**
 * Staff: a per-site token; who and why go into the audit log. Only ever in the Authorization
 * header: a token in the URL ends up in access logs, proxies and browser history, so ?token=
 * is not read at all (the dashboard streams with fetch() and opens reports as blobs).
 * Returns the 401 answer, or undefined when the token is the site's. A site without a staff
 * token answers 401 like a wrong token.
 */
export function staffAuth(sites: Pick<SiteRegistry, 'staffTokenSha256'>, c: Context, site: string): Response | undefined {
  const want = sites.staffTokenSha256(site);
  const token = bearer(c);
  if (!want || !token || !sameSha256(token, want)) {
    const hint = c.req.query('token') !== undefined ? ' (never in the URL: ?token= is not accepted)' : '';
    return c.json(refusalBody('unauthorized', `send the site staff token as Authorization: Bearer <token>${hint}`), 401);
  }
  return undefined;
}

/** 404 for a site without sales. */
export const unknownSite = (c: Context, site: string) => c.json(refusalBody('unknown_site', `no site ${site} with sales`), 404) as never;
