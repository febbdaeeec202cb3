/**
 * The SMS providers' HTTP: node fetch with a deadline. What goes wrong on the wire becomes a
 * CloudError whose `outcome` says whether the provider may have sent the text:
 *
 *   - no connection at all (refused, DNS, unreachable): `not_sent`, safe to retry;
 *   - no answer in time, or the connection dropped after the request went out: `unknown`
 *     (the provider may have taken it), never retried: a retry could text the visitor twice.
 */
import type { z } from 'zod';
import { systemClock, type Clock } from '../../core/clock.js';
import { CloudError } from '../../core/errors.js';

export type FetchLike = typeof fetch;

export interface RawAnswer {
  status: number;
  text: string;
}

/** Errors raised before a single byte of the request could reach the provider. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function causeCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e !== null && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export async function post(fetchImpl: FetchLike, url: string, headers: Record<string, string>, body: string, timeoutMs: number, provider: string): Promise<RawAnswer> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await fetchImpl(url, { method: 'POST', headers, body: body === '' ? undefined : body, signal: controller.signal, redirect: 'manual' });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    if (controller.signal.aborted) throw new CloudError('sms_timeout', `${provider}: no answer within ${timeoutMs} ms`, { provider, timeoutMs, outcome: 'unknown' }, { cause: err });
    const code = causeCode(err);
    const notSent = code !== undefined && NOT_CONNECTED.has(code);
    throw new CloudError('sms_unavailable', `${provider}: ${code ?? (err as Error).message}`, { provider, outcome: notSent ? 'not_sent' : 'unknown', retryable: notSent }, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/** What both providers' adapters take besides their keys: where to send, how, and the clock that dates requests. */
export interface ProviderHttpOptions {
  /** The provider's public endpoint by default (the simulator's base URL in tests and the demo). */
  endpoint?: string;
  timeoutMs?: number;
  fetch?: FetchLike;
  /** Dates the requests (both providers refuse a timestamp minutes away from theirs): the wall clock, not a test's business clock. */
  clock?: Clock;
}

export interface ProviderHttp {
  endpoint: URL;
  fetchImpl: FetchLike;
  clock: Clock;
  timeoutMs: number;
}

export function providerHttp(opts: ProviderHttpOptions, defaultEndpoint: string): ProviderHttp {
  return { endpoint: new URL(opts.endpoint ?? defaultEndpoint), fetchImpl: opts.fetch ?? fetch, clock: opts.clock ?? systemClock, timeoutMs: opts.timeoutMs ?? 5000 };
}

/** A pushed receipt body read with its schema, or `sms_malformed` naming the provider, what it was and the first problem. */
export function parseReceiptBody<S extends z.ZodType>(body: string, schema: S, provider: string, what: string): z.output<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    throw new CloudError('sms_malformed', `${provider} ${what}: body is not JSON`, { provider });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new CloudError('sms_malformed', `${provider} ${what}: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? 'not the expected array'}`, { provider });
  return parsed.data;
}
