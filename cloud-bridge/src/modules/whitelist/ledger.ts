import { WhitelistChangeSchema, type SnapshotTicket, type WhitelistChange, type WhitelistDelta } from '@stile/config';
import type { Db, GateMark } from '../../core/db/store.js';
import { CloudError } from '../../core/errors.js';
import type { IngestLedger, StoredTicket, TicketUsage } from '../../core/ports.js';
import type { SiteKeys } from '../../core/sites.js';
import type { WhitelistPublisher } from './publisher.js';
import type { WhitelistRepository } from './repository.js';

/**
 * The site's tickets as a ledger of signed, numbered deltas: allocate the site's next seq and
 * store the signed delta inside the caller's transaction; after the commit, `announce` has the
 * publisher send every stored delta the site has not published yet, in seq order.
 */
export class WhitelistLedger implements IngestLedger {
  constructor(
    private readonly repository: WhitelistRepository,
    private readonly keys: SiteKeys,
    private readonly publisher: WhitelistPublisher,
  ) {}

  /** Inside a transaction: next seq, sign, store. */
  async appendDelta(db: Db, site: string, changes: WhitelistChange[], seq?: number): Promise<WhitelistDelta> {
    const s = seq ?? (await this.repository.allocateSeq(db, site));
    const delta = this.keys.sign(site, { v: 1 as const, site, seq: String(s), changes }) as WhitelistDelta;
    await this.repository.insertDelta(db, delta);
    return delta;
  }

  /** Deltas whose seqs the caller allocated, signed as appendDelta() signs them; the caller stores them (the ingest: with its commit group's last statement). */
  signDeltas(items: readonly { site: string; seq: number; changes: WhitelistChange[] }[]): WhitelistDelta[] {
    return items.map(({ site, seq, changes }) => this.keys.sign(site, { v: 1 as const, site, seq: String(seq), changes }) as WhitelistDelta);
  }

  /** After the commit: publish the site's unpublished deltas in order (this one among them). Never rejects. */
  announce(delta: Pick<WhitelistDelta, 'site'>): Promise<void> {
    return this.publisher.announce(delta.site);
  }

  /**
   * Sales, refunds, rebooking: apply `changes` to the tickets table and publish them as
   * one delta. Returns the signed delta.
   */
  async publishChanges(site: string, changes: WhitelistChange[]): Promise<WhitelistDelta> {
    const parsed = changes.map((c) => WhitelistChangeSchema.parse(c));
    if (parsed.length === 0) throw new CloudError('no_changes', 'publishChanges: no changes');
    if (!this.keys.has(site)) throw new CloudError('unknown_site', `publishChanges: unknown site "${site}"`);
    const delta = await this.repository.db.transaction().execute((trx) => this.stageChanges(trx, site, parsed));
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
    if (parsed.length === 0) throw new CloudError('no_changes', 'stageChanges: no changes');
    const seq = await this.repository.allocateSeq(db, site);
    for (const c of parsed) await this.apply(db, site, c, seq, maxEntries);
    return this.appendDelta(db, site, parsed, seq);
  }

  /** `maxEntries`: admissions each new ticket allows (multi-entry types), so ingest does not call a re-entry a conflict. */
  private async apply(db: Db, site: string, c: WhitelistChange, seq: number, maxEntries?: ReadonlyMap<string, number>): Promise<void> {
    const r = this.repository;
    switch (c.op) {
      case 'upsert':
        return r.upsertTicket(db, site, c.ticket, seq, maxEntries?.get(c.ticket.ticketId));
      case 'refund':
        return r.setTicketStatus(db, site, c.ticketId, 'refunded', seq);
      case 'revoke':
        return r.setTicketStatus(db, site, c.ticketId, 'revoked', seq);
      case 'rebook':
        await r.setTicketStatus(db, site, c.ticketId, 'rebooked', seq);
        return r.upsertTicket(db, site, c.newTicket, seq, maxEntries?.get(c.newTicket.ticketId));
      case 'used-elsewhere':
        await r.setTicketUsage(db, site, c.ticketId, c.entriesUsed);
        return r.markTicketsChanged(db, site, [c.ticketId], seq);
    }
  }

  // ---- what the ingest does in its commit group (IngestLedger), straight to the tables ----

  lockSite(db: Db, site: string): Promise<void> {
    return this.repository.lockSite(db, site);
  }

  getTicket(site: string, ticketId: string, db: Db): Promise<StoredTicket | undefined> {
    return this.repository.getTicket(site, ticketId, db);
  }

  upsertTicket(db: Db, site: string, t: SnapshotTicket, seq: number | null, maxEntries?: number): Promise<void> {
    return this.repository.upsertTicket(db, site, t, seq, maxEntries);
  }

  upsertTickets(db: Db, site: string, tickets: SnapshotTicket[], seq: number | null): Promise<void> {
    return this.repository.upsertTickets(db, site, tickets, seq);
  }

  setTicketUsage(db: Db, site: string, ticketId: string, entriesUsed: number): Promise<void> {
    return this.repository.setTicketUsage(db, site, ticketId, entriesUsed);
  }

  markTicketsChanged(db: Db, site: string, ticketIds: string[], seq: number): Promise<void> {
    return this.repository.markTicketsChanged(db, site, ticketIds, seq);
  }

  addTicketUsageMany(db: Db, rows: readonly { site: string; ticketId: string; n: number; seq: number }[]): Promise<Map<string, TicketUsage>> {
    return this.repository.addTicketUsageMany(db, rows);
  }

  allocateSeqs(db: Db, counts: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    return this.repository.allocateSeqs(db, counts);
  }

  releaseSeqs(db: Db, site: string, n: number, head: number): Promise<void> {
    return this.repository.releaseSeqs(db, site, n, head);
  }

  finishGroup(db: Db, deltas: readonly WhitelistDelta[], marks: readonly GateMark[]): Promise<Map<string, bigint>> {
    return this.repository.finishGroup(db, deltas, marks);
  }
}
