/**
 * Every protocol request the simulator received, for tests that must show what the merchant
 * did (or did not) send — e.g. that a refund was queried rather than sent twice. Recorded
 * before signatures are checked and faults applied: it is what arrived.
 */
import type { IncomingMessage } from 'node:http';

export interface SimCall {
  provider: 'wechat' | 'alipay';
  /** WeChat Pay: `METHOD /path` (no query); Alipay: the gateway method name. */
  endpoint: string;
  at: string;
}

/** The call a request is, or undefined for anything that is not a provider API request. */
export function callOf(req: IncomingMessage, url: URL, body: Buffer, gatewayPath: string, at: Date): SimCall | undefined {
  if (url.pathname.startsWith('/v3/')) return { provider: 'wechat', endpoint: `${req.method ?? 'GET'} ${url.pathname}`, at: at.toISOString() };
  if (url.pathname !== gatewayPath) return undefined;
  let method = url.searchParams.get('method');
  if (method === null && (req.headers['content-type'] ?? '').includes('x-www-form-urlencoded')) method = new URLSearchParams(body.toString('utf8')).get('method');
  return { provider: 'alipay', endpoint: method ?? '', at: at.toISOString() };
}

/** The calls of `provider` (both if absent) whose endpoint contains `match`. */
export function filterCalls(calls: readonly SimCall[], provider: string | null, match: string | null): SimCall[] {
  return calls.filter((c) => (provider === null || c.provider === provider) && (match === null || c.endpoint.includes(match)));
}
