import { hashIdNumber, isValidIdNumber, localDate, normalizeIdNumber, parseTicketCode } from '@stile/config';
import type { Clock } from '../../core/clock.js';
import type { Db } from '../../core/db/store.js';
import type { Logger } from '../../core/log.js';
import type { OrderAdditions, OrderCreating, OrderExtension, VisitorColumns, VisitorDirectory, VisitLink } from '../../core/ports.js';
import { VisitorsConfigSchema, type VisitorsConfig } from '../../core/site-config/visitors.js';
import type { SiteRegistry } from '../../core/sites.js';
import { suppressSmallCells, type SuppressedCells } from '../../core/small-cells.js';
import { idAttributes, parseAgeBands, type AgeBand } from './derive.js';
import { haversineKm, type RegionData } from './geo.js';
import { optOutPath, optOutToken, verifyOptOutToken } from './opt-out.js';
import type { DeletionCounts, SegmentDimension, VisitorsRepository } from './repository.js';
import { computeTags } from './tags.js';

export interface VisitorsDeps {
  repo: VisitorsRepository;
  sites: Pick<SiteRegistry, 'config' | 'site'>;
  /** The region tables, read on first use (~0.3 s, not at every start). */
  regions: () => RegionData;
  clock: Clock;
  log: Logger;
}

/** Visitor profiles: the sales extension, the directory for pos and marketing, and the staff/visitor actions. */
export class Visitors {
  private readonly configs = new Map<string, { config: VisitorsConfig; bands: AgeBand[] }>();

  constructor(private readonly d: VisitorsDeps) {}

  /** The site's visitors section with defaults (validated once; bad age bands throw with the reason). */
  config(site: string): { config: VisitorsConfig; bands: AgeBand[] } {
    let c = this.configs.get(site);
    if (!c) {
      const config = VisitorsConfigSchema.parse(this.d.sites.config(site)?.visitors ?? {});
      c = { config, bands: parseAgeBands(config.ageBands) };
      this.configs.set(site, c);
    }
    return c;
  }

  private now(): string {
    return this.d.clock().toISOString();
  }

  today(site: string): string | undefined {
    const s = this.d.sites.site(site);
    return s ? localDate(this.d.clock(), s.catalogue.timeZone) : undefined;
  }

  readonly extension: OrderExtension = {
    name: 'visitors',
    creating: (_trx, o: OrderCreating): Promise<OrderAdditions> => {
      const { bands } = this.config(o.site.id);
      const visitors = new Map<number, VisitorColumns>();
      for (const v of o.visitors) {
        // The number lives only in this call: what leaves is a band, a gender and a city code.
        const a = idAttributes(v.idNumber, o.date, bands);
        visitors.set(v.idx, { age_band: a.ageBand, gender: a.gender, region: a.region });
      }
      return Promise.resolve({
        order: { phone_region: this.d.regions().phoneRegion(o.contactPhone) ?? null, ...(o.marketingConsent !== undefined ? { marketing_consent: o.marketingConsent ? 1 : 0 } : {}) },
        visitors,
      });
    },
    paid: async (trx, f) => {
      const now = this.now();
      const hashes = await this.d.repo.recordPaid(trx, f.order, now);
      for (const h of hashes) await this.retagIn(trx, f.site.id, h, now);
    },
    refunded: async (trx, f) => {
      const now = this.now();
      const hashes = await this.d.repo.recordRefunded(trx, f.order, now);
      for (const h of hashes) await this.retagIn(trx, f.site.id, h, now);
    },
    rebooked: async (trx, f) => {
      await this.d.repo.recordRebooked(trx, f.order);
    },
  };

  private async retagIn(db: Db, site: string, idHash: string, now: string): Promise<void> {
    const facts = await this.d.repo.tagFacts(db, site, idHash);
    if (!facts) return;
    await this.d.repo.setTags(db, site, idHash, computeTags(facts, this.config(site).config.tags), now);
  }

  readonly directory: VisitorDirectory = {
    findVisit: async (site, by, date): Promise<VisitLink | undefined> => {
      const { repo } = this.d;
      if (by.memberCode !== undefined) {
        const idHash = await repo.byMemberCode(site, by.memberCode);
        if (!idHash) return undefined;
        // A member is known without a ticket that day: the link then has no order.
        const v = await repo.visitOn(site, idHash, date);
        return { idHash, orderId: v?.order_id ?? null, visitDate: date, via: 'member' };
      }
      if (by.ticketCode !== undefined) {
        const code = parseTicketCode(by.ticketCode);
        if (!code.ok) return undefined;
        const ticketId = code.kind === 'st1' ? code.ticketId : code.payload.ticketId;
        const idHash = await repo.ticketHolder(site, ticketId);
        if (!idHash) return undefined;
        const v = await repo.visitOn(site, idHash, date);
        return v ? { idHash, orderId: v.order_id, visitDate: date, via: 'ticket' } : undefined;
      }
      if (by.phone !== undefined) {
        const digits = by.phone.replace(/[\s\-()]/g, '').replace(/^(\+86|0086)/, '');
        const r = await repo.byPhone(site, [...new Set([by.phone, digits, `+86${digits}`])], date);
        return r ? { idHash: r.id_hash, orderId: r.order_id, visitDate: date, via: 'phone' } : undefined;
      }
      return undefined;
    },
    addSpend: (db, site, idHash, fen) => this.d.repo.addSpend(db, site, idHash, fen, this.now()),
    retag: (site, idHash) => this.retagIn(this.d.repo.db, site, idHash, this.now()),
    reachable: (site, idHash) => this.d.repo.reachable(site, idHash),
    optOutLink: (site, idHash) => {
      const key = this.d.sites.site(site)?.idHashKey;
      if (!key) throw new RangeError(`no site ${site} with sales: no opt-out link`);
      return optOutPath(site, optOutToken(key, site, idHash));
    },
    homeDistanceKm: async (site, idHash) => {
      const at = this.config(site).config.location;
      if (!at) return undefined;
      const p = await this.d.repo.profile(site, idHash);
      const code = p?.region ?? p?.phone_region;
      const centre = code ? this.d.regions().centre(code) : undefined;
      return centre ? Math.round(haversineKm(at, { lng: centre[0], lat: centre[1] })) : undefined;
    },
  };

  /** The ID hash of a staff request's visitor: from the ID number (hashed here, never kept) or the hash itself. */
  idHashOf(site: string, who: { idNumber?: string | undefined; idHash?: string | undefined }): string | undefined {
    if (who.idHash) return who.idHash;
    const key = this.d.sites.site(site)?.idHashKey;
    if (!key || who.idNumber === undefined) return undefined;
    const id = normalizeIdNumber(who.idNumber);
    return isValidIdNumber(id) ? hashIdNumber(key, id) : undefined;
  }

  /** The visitor of a valid opt-out token (undefined: forged or malformed). */
  tokenVisitor(site: string, token: string): string | undefined {
    const key = this.d.sites.site(site)?.idHashKey;
    return key ? verifyOptOutToken(key, site, token) : undefined;
  }

  async optOut(site: string, idHash: string): Promise<{ at: string; known: boolean }> {
    const at = this.now();
    const known = await this.d.repo.optOut(site, idHash, at);
    this.d.log.info({ site, visitor: idHash.slice(0, 8), known }, 'visitor opted out of marketing');
    return { at, known };
  }

  async setConsent(site: string, idHash: string, consent: boolean, source: string): Promise<string | undefined> {
    const at = this.now();
    const ok = await this.d.repo.setConsent(site, idHash, consent, source, at);
    this.d.log.info({ site, visitor: idHash.slice(0, 8), consent, source, known: ok }, 'marketing consent recorded');
    return ok ? at : undefined;
  }

  async deleteVisitor(site: string, idHash: string, actor: string, reason: string): Promise<DeletionCounts | undefined> {
    const counts = await this.d.repo.deleteVisitor(site, idHash, { actor, reason, at: this.now() });
    this.d.log.info({ site, visitor: idHash.slice(0, 8), actor, ...(counts ? { counts } : { unknown: true }) }, counts ? 'visitor data deleted on request' : 'deletion request for an unknown visitor');
    return counts;
  }

  /** Distinct visitors per group and per tag, every number under the site's k suppressed. */
  async segments(site: string, from: string, to: string, by: SegmentDimension): Promise<{ k: number; by: SuppressedCells & { cells: { key: string; count: number; label: string }[] }; tags: SuppressedCells }> {
    const k = this.config(site).config.minGroup;
    const rows = await this.d.repo.segmentCounts(site, from, to, by);
    const cells = rows.map((r) => ({ key: r.key ?? 'unknown', count: r.count }));
    const shown = suppressSmallCells(cells, k);
    const tags = by === 'tag' ? shown : suppressSmallCells((await this.d.repo.segmentCounts(site, from, to, 'tag')).map((r) => ({ key: r.key ?? 'unknown', count: r.count })), k);
    return { k, by: { ...shown, cells: shown.cells.map((c) => ({ ...c, label: this.label(by, c.key) })) }, tags };
  }

  private label(by: SegmentDimension, key: string): string {
    if (key === 'unknown') return key;
    if (by === 'province') return this.d.regions().names(`${key}00`).province ?? key;
    if (by === 'city' || by === 'phoneRegion') {
      const n = this.d.regions().names(key);
      if (key.endsWith('00') || n.city === n.province) return n.province ?? key;
      // An old code no longer in GB/T 2260 (3414 巢湖): the province, and the code.
      return n.city ? `${n.province ?? ''} ${n.city}`.trim() : `${n.province ?? ''} (${key})`.trim();
    }
    return key;
  }

  /** The sweep: admissions → visits (yesterday and today, and a week back for late gate syncs), and the daily purge. */
  async sweep(site: string, purgeDone: Map<string, string>): Promise<void> {
    const today = this.today(site);
    if (!today) return;
    const weekAgo = shiftDate(today, -7);
    const admitted = await this.d.repo.markAdmitted(site, weekAgo, today, this.now());
    if (admitted > 0) this.d.log.debug({ site, admitted }, 'visits admitted');
    if (purgeDone.get(site) !== today) {
      purgeDone.set(site, today);
      await this.purge(site, today);
    }
  }

  async purge(site: string, today: string): Promise<{ profiles: number; visits: number; tags: number; posLinks: number }> {
    const days = this.config(site).config.retentionDays;
    const cutoff = shiftDate(today, -days);
    const counts = await this.d.repo.purge(site, cutoff, `${cutoff}T00:00:00.000Z`);
    this.d.log.info({ site, retentionDays: days, cutoff, ...counts }, 'visitor data retention purge');
    return counts;
  }
}

export function shiftDate(date: string, days: number): string {
  const t = new Date(`${date}T00:00:00Z`);
  t.setUTCDate(t.getUTCDate() + days);
  return t.toISOString().slice(0, 10);
}
