import { createHmac } from 'node:crypto';
import { canonicalJson } from '@stile/config';
import type { Channel } from '../../core/catalogue.js';
import type { Clock } from '../../core/clock.js';
import type { Db } from '../../core/db/store.js';
import { isCloudError, CloudError } from '../../core/errors.js';
import type { SiteEvents } from '../../core/events.js';
import { refusalReply, type Reply } from '../../core/http/refusals.js';
import type { Logger } from '../../core/log.js';
import type { SalesSite } from '../../core/sites.js';
import type { SalesRepository } from './repository.js';

/** What a write does besides its reply: steps after the commit, and the visit dates whose sold counts it moved. */
export interface WriteEffects {
  after: (() => Promise<void>)[];
  dates: Set<string>;
}

export type Work = (trx: Db, fx: WriteEffects) => Promise<Reply>;

export const noEffects = (): WriteEffects => ({ after: [], dates: new Set() });

/**
 * Writes under an idempotency key: every write names a key; the key's row is inserted in
 * the same transaction as the write and holds the answer. A retry (also one racing the
 * first) gets that answer; the same key with a different request is refused.
 */
export class IdempotentWrites {
  constructor(
    private readonly repo: SalesRepository,
    private readonly clock: Clock,
    private readonly events: SiteEvents,
    private readonly log: Logger,
    /** This instance committed a change to the sold counts of a site and date (availability.ts). */
    private readonly soldChanged: (site: string, date: string) => void,
  ) {}

  requestHash(site: SalesSite, request: unknown): string {
    // Keyed: the body holds ID numbers, and a plain hash of it could be brute-forced from
    // the rest of the order (the masked number leaves only a birth date and a few digits).
    return createHmac('sha256', site.idHashKey).update(canonicalJson(request)).digest('hex');
  }

  /** Run `work` under an idempotency key, in one transaction with it. */
  async run(site: SalesSite, channel: Channel, key: string, request: unknown, work: Work): Promise<Reply> {
    const requestHash = this.requestHash(site, request);
    const fx = noEffects();
    const reply = await this.repo.transaction(async (trx) => {
      fx.after.length = 0;
      fx.dates.clear();
      return this.underKey(trx, site, channel, key, requestHash, work, fx);
    });
    await this.committed(site.id, reply, fx);
    return reply;
  }

  /**
   * Inside a transaction: claim the key, or answer from it. The work runs in a savepoint: a
   * refusal rolls back whatever it wrote before refusing (places taken, rows), and only the
   * refusal is stored under the key.
   */
  async underKey(trx: Db, site: SalesSite, channel: Channel, key: string, requestHash: string, work: Work, fx: WriteEffects): Promise<Reply> {
    if (!(await this.repo.claimKey(trx, site.id, channel.id, key, requestHash, this.clock().toISOString()))) {
      const row = await this.repo.storedAnswer(trx, site.id, channel.id, key);
      if (row.request_hash !== requestHash) return refusalReply(new CloudError('idempotency_key_reused', 'this Idempotency-Key was used for a different request'));
      return { status: Number(row.status), body: { ...(JSON.parse(row.response) as Record<string, unknown>), replayed: true } };
    }
    const savepoint = await this.repo.savepoint(trx, 'sales_work');
    let r: Reply;
    try {
      r = await work(trx, fx);
      await savepoint.release();
    } catch (err) {
      if (!isCloudError(err)) throw err;
      await savepoint.rollback();
      fx.after.length = 0;
      fx.dates.clear();
      r = refusalReply(err);
    }
    await this.repo.storeAnswer(trx, site.id, channel.id, key, r.status, JSON.stringify(r.body));
    return r;
  }

  /** After the commit: availability first (at once), then the steps that talk to the outside. */
  async committed(siteId: string, reply: Reply, fx: WriteEffects): Promise<void> {
    for (const d of fx.dates) this.soldChanged(siteId, d);
    for (const f of fx.after) await f().catch((err: unknown) => this.log.warn({ err, site: siteId }, 'after-commit step failed'));
    if (reply.status < 300 && reply.body.replayed !== true) this.events.emit('changed', { site: siteId });
  }
}
