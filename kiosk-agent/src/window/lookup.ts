/**
 * The staffed window's lookup of a visitor's tickets: the keyed hash of the ID number (the
 * site's ID hash key, as the cloud keeps it) to `POST /v1/channel/visitor-orders`. The
 * number itself never leaves the PC.
 */
import type { LocalText } from '../sale/model.js';

export interface FoundOrder {
  orderId: string;
  channelId: string;
  status: 'pending' | 'paid' | 'refunded' | 'expired';
  typeId: string;
  date: string;
  slotId: string | null;
  persons: number;
  amountFen: number;
  visitors: { name: string; idMasked: string }[];
  tickets: { ticketId: string; code: string; persons: number }[];
  canRefund: boolean;
}

export interface LookupAnswer {
  date: string;
  orders: FoundOrder[];
  refundReasons: { code: string; label: LocalText }[];
}

export class LookupError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'LookupError';
  }
}

export async function lookupVisitor(o: { url: string; apiKey: string; timeoutMs: number }, idHash: string): Promise<LookupAnswer> {
  let res: Response;
  try {
    res = await fetch(`${o.url.replace(/\/+$/, '')}/v1/channel/visitor-orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${o.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ idHash }),
      signal: AbortSignal.timeout(o.timeoutMs),
    });
  } catch (err) {
    throw new LookupError('network', `the cloud did not answer the lookup: ${(err as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) throw new LookupError(typeof body.error === 'string' ? body.error : `http_${res.status}`, `lookup refused: ${res.status} ${String(body.message ?? '')}`);
  return body as unknown as LookupAnswer;
}
