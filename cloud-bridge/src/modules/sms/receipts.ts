/**
 * Delivery receipts pushed by the provider (Alibaba's SmsReport HTTP batch push, Tencent's
 * status callback). Neither provider signs them, so what can be checked is checked and the
 * rest is bounded:
 *
 *   - the URL carries a secret token (≥ 32 characters, compared in constant time): a push
 *     without it is answered like an unknown path (404) — only the provider's console holds it;
 *   - optionally only the provider's source networks (sms.receipts.allowFrom);
 *   - the body must be the provider's format (size-limited, schema-checked);
 *   - each receipt must name a message we sent through this provider (its BizId / SerialNo,
 *     or for Alibaba our OutId) and the same phone number (checked against the keyed hash):
 *     a receipt for another message or number changes nothing;
 *   - a message is closed once (delivered or failed); later receipts for it are duplicates.
 *
 * So a forger without the token changes nothing; one who stole it can at most mark our own
 * sent texts delivered or failed, which moves no money and no ticket (staff see the state).
 */
import type { BlockList } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { isCloudError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Metrics } from '../../core/metrics.js';
import type { PhoneHasher } from './phone.js';
import type { SmsProvider } from './provider.js';
import type { SmsRepository } from './repository.js';

export interface ReceiptAnswer {
  status: number;
  body: string;
}

export interface ReceiptCounts {
  applied: number;
  duplicate: number;
  unknown: number;
  mismatch: number;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class ReceiptHandler {
  private readonly want: Buffer;

  constructor(
    private readonly d: {
      provider: SmsProvider;
      repo: SmsRepository;
      hasher: PhoneHasher;
      token: string;
      allowFrom?: BlockList;
      clock: Clock;
      log: Logger;
      metrics: Metrics;
    },
  ) {
    this.want = digest(d.token);
  }

  /** Whether the path's token is ours (digests compared, so neither length nor content leaks through timing). */
  tokenMatches(token: string): boolean {
    return timingSafeEqual(digest(token), this.want);
  }

  sourceAllowed(address: string | undefined): boolean {
    if (!this.d.allowFrom) return true;
    if (address === undefined) return false;
    const v4 = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
    return this.d.allowFrom.check(v4, v4.includes(':') ? 'ipv6' : 'ipv4');
  }

  /** One push: every receipt in it applied or skipped; the provider's ack (a failure makes it push again). */
  async handle(body: string): Promise<ReceiptAnswer & { counts?: ReceiptCounts }> {
    const { provider, repo, hasher, log, metrics } = this.d;
    let receipts;
    try {
      receipts = provider.parseReceipts(body);
    } catch (err) {
      metrics.refuse('sms_receipt_malformed');
      log.warn({ event: 'sms_receipt_refused', provider: provider.id, reason: 'malformed', code: isCloudError(err) ? err.code : undefined }, (err as Error).message);
      return { status: 400, body: JSON.stringify({ error: 'malformed' }) };
    }
    const counts: ReceiptCounts = { applied: 0, duplicate: 0, unknown: 0, mismatch: 0 };
    try {
      for (const r of receipts) {
        const row = await repo.forReceipt(provider.id, r.providerMessageId, r.ref);
        if (!row) {
          counts.unknown++;
          continue;
        }
        if (!hasher.matches(r.phone, row.phone_hash, row.phone_masked)) {
          counts.mismatch++;
          metrics.refuse('sms_receipt_mismatch');
          log.warn({ event: 'sms_receipt_refused', provider: provider.id, id: row.id, reason: 'phone_mismatch' }, 'SMS receipt names another phone than the message: ignored');
          continue;
        }
        const now = this.d.clock();
        // The provider's time, unless it claims the future (then ours).
        const at = r.at && r.at.getTime() <= now.getTime() + 5 * 60_000 ? r.at : now;
        if (await repo.applyReceipt(row.id, r.providerMessageId, r.delivered, r.code, r.description, at, now)) {
          counts.applied++;
          log.info({ event: r.delivered ? 'sms_delivered' : 'sms_undelivered', provider: provider.id, id: row.id, site: row.site, orderId: row.order_id ?? undefined, code: r.code }, r.delivered ? 'SMS delivered' : 'SMS not delivered');
        } else counts.duplicate++;
      }
    } catch (err) {
      log.error({ err, provider: provider.id }, 'SMS receipts not stored; the provider will push them again');
      const ack = provider.receiptAck(false);
      return { ...ack };
    }
    if (counts.unknown > 0) log.info({ event: 'sms_receipt_unknown', provider: provider.id, ...counts }, 'SMS receipts for texts this cloud did not send (another system on the account, or sent before a reset): ignored');
    return { ...provider.receiptAck(true), counts };
  }
}
