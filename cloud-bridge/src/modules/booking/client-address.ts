import { isIP } from 'node:net';

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/**
 * The address a request came from, for the per-address throttle. A reverse proxy on the same
 * host (nginx terminating TLS) connects from loopback: then the last X-Forwarded-For entry is
 * the one it saw. Anyone else's X-Forwarded-For is ignored — a visitor cannot pick their own.
 */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | undefined): string {
  const direct = socketAddress ?? 'unknown';
  if (!LOOPBACK.test(direct) || !forwardedFor) return direct;
  const last = forwardedFor.split(',').at(-1)?.trim() ?? '';
  return isIP(last) ? last : direct;
}
