/**
 * The providers' HTTP: node fetch with a deadline. What can go wrong on the wire becomes a
 * CloudError: no answer in time → payment_timeout (the request may have been carried out:
 * query before acting), connection refused / reset → payment_unavailable. The status and the
 * body come back as they are for the provider code to verify and read.
 */
import { CloudError } from '../../core/errors.js';

export interface RawAnswer {
  status: number;
  headers: Headers;
  body: Buffer;
  text: string;
}

export type FetchLike = typeof fetch;

export async function send(fetchImpl: FetchLike, url: string, init: RequestInit, timeoutMs: number, provider: string): Promise<RawAnswer> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await fetchImpl(url, { ...init, signal: controller.signal, redirect: 'manual' });
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body, text: body.toString('utf8') };
  } catch (err) {
    if (controller.signal.aborted) {
      throw new CloudError('payment_timeout', `${provider}: no answer within ${timeoutMs} ms`, { provider, timeoutMs }, { cause: err });
    }
    throw new CloudError('payment_unavailable', `${provider}: ${(err as Error).message}`, { provider }, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/** The Beijing-time wall clock (UTC+8, no daylight saving since 1991) of an instant. */
export function beijing(at: Date): { date: string; time: string } {
  const s = new Date(at.getTime() + 8 * 3600_000).toISOString();
  return { date: s.slice(0, 10), time: s.slice(11, 19) };
}

/** RFC 3339 in +08:00, the form WeChat Pay wants for time_expire: 2024-05-01T12:00:00+08:00. */
export function rfc3339Beijing(at: Date): string {
  const b = beijing(at);
  return `${b.date}T${b.time}+08:00`;
}

/** Alipay's timestamp form: "2024-05-01 12:00:00", Beijing time. */
export function alipayTime(at: Date): string {
  const b = beijing(at);
  return `${b.date} ${b.time}`;
}

/** "2024-05-01 12:00:00" (Beijing) → Date; undefined if not that form. */
export function parseAlipayTime(text: string | undefined): Date | undefined {
  if (text === undefined || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(text)) return undefined;
  const d = new Date(`${text.replace(' ', 'T')}+08:00`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
