import { topics, WhitelistChangeSchema, type WhitelistChange, type WhitelistDelta } from '@stile/config';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Publisher } from '../mqtt/publisher.js';
import type { SiteKeys } from '../sites.js';
import type { CloudStore, Db } from '../store/store.js';

/**
 * Whitelist deltas: allocate the site's next seq and store the signed delta inside the
 * caller's transaction, publish after the commit (QoS 1 on the delta topic, then the
 * retained head). A delta committed but not published (crash, broker down) is not lost:
 * the next delta shows the gate a gap and it fetches changes?since.
 */
export class WhitelistPublisher {
  private readonly announcedHead = new Map<string, number>();

  constructor(
    private readonly store: CloudStore,
    private readonly keys: SiteKeys,
    private readonly mqtt: Publisher,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly snapshotUrl: (site: string) => string | undefined = () => undefined,
  ) {}

  /** Inside a transaction: next seq, sign, store. */
  async appendDelta(db: Db, site: string, changes: WhitelistChange[], seq?: number): Promise<WhitelistDelta> {
    const s = seq ?? (await this.store.allocateSeq(db, site));
    const delta = this.keys.sign(site, { v: 1 as const, site, seq: String(s), changes }) as WhitelistDelta;
    await this.store.insertDelta(db, delta);
    return delta;
  }

  /** After the commit: the delta (QoS 1), then the retained head if it moved forward. */
  async announce(delta: WhitelistDelta): Promise<void> {
    try {
      await this.mqtt.publish(topics.whitelistDelta(delta.site), JSON.stringify(delta), { qos: 1 });
      this.metrics.deltasPublished++;
      const seq = Number(delta.seq);
      if (seq > (this.announcedHead.get(delta.site) ?? 0)) {
        this.announcedHead.set(delta.site, seq);
        const url = this.snapshotUrl(delta.site);
        const head = { v: 1, seq: delta.seq, ...(url ? { snapshotUrl: url } : {}) };
        await this.mqtt.publish(topics.whitelistHead(delta.site), JSON.stringify(head), { qos: 1, retain: true });
      }
    } catch (err) {
      this.metrics.publishErrors++;
      this.log.warn({ err, site: delta.site, seq: delta.seq }, 'whitelist delta stored but not published; gates will catch up via changes?since');
    }
  }

  /**
   * Sales, refunds, rebooking: apply `changes` to the tickets table and publish them as
   * one delta. Returns the signed delta.
   */
  async publishChanges(site: string, changes: WhitelistChange[]): Promise<WhitelistDelta> {
    const parsed = changes.map((c) => WhitelistChangeSchema.parse(c));
    if (parsed.length === 0) throw new Error('publishChanges: no changes');
    if (!this.keys.has(site)) throw new Error(`publishChanges: unknown site "${site}"`);
    const delta = await this.store.db.transaction().execute((trx) => this.stageChanges(trx, site, parsed));
    await this.announce(delta);
    return delta;
  }

  /**
   * Inside the caller's transaction (e.g. an order becoming paid): apply `changes` to the
   * tickets and store them as the next signed delta. The caller announces it after its commit,
   * so a sale and its delta are stored together or not at all.
   */
  async stageChanges(db: Db, site: string, changes: WhitelistChange[], maxEntries?: ReadonlyMap<string, number>): Promise<WhitelistDelta> {
    const parsed = changes.map((c) => WhitelistChangeSchema.parse(c));
    if (parsed.length === 0) throw new Error('stageChanges: no changes');
    const seq = await this.store.allocateSeq(db, site);
    for (const c of parsed) await this.apply(db, site, c, seq, maxEntries);
    return this.appendDelta(db, site, parsed, seq);
  }

  /** `maxEntries`: admissions each new ticket allows (multi-entry types), so ingest does not call a re-entry a conflict. */
  private async apply(db: Db, site: string, c: WhitelistChange, seq: number, maxEntries?: ReadonlyMap<string, number>): Promise<void> {
    switch (c.op) {
      case 'upsert':
        return this.store.upsertTicket(db, site, c.ticket, seq, maxEntries?.get(c.ticket.ticketId));
      case 'refund':
        return this.store.setTicketStatus(db, site, c.ticketId, 'refunded', seq);
      case 'revoke':
        return this.store.setTicketStatus(db, site, c.ticketId, 'revoked', seq);
      case 'rebook':
        await this.store.setTicketStatus(db, site, c.ticketId, 'rebooked', seq);
        return this.store.upsertTicket(db, site, c.newTicket, seq, maxEntries?.get(c.newTicket.ticketId));
      case 'used-elsewhere':
        await this.store.setTicketUsage(db, site, c.ticketId, c.entriesUsed);
        return this.store.markTicketsChanged(db, site, [c.ticketId], seq);
    }
  }
}
