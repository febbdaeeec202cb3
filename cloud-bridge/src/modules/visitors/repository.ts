import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { OrdersTable } from '../../core/db/schema.js';
import { num, type CloudStore, type Db } from '../../core/db/store.js';
import type { TagFacts } from './tags.js';

/** Shares of an amount over n visitors, in fen: equal, the remainder to the first ones. */
export function shares(amountFen: number, n: number): number[] {
  const base = Math.floor(amountFen / n);
  const rest = amountFen - base * n;
  return Array.from({ length: n }, (_, i) => base + (i < rest ? 1 : 0));
}

export interface DeletionCounts {
  profiles: number;
  visits: number;
  tags: number;
  coupons: number;
  couponGrants: number;
  posLines: number;
  orderVisitors: number;
}

const n = (r: { numUpdatedRows?: bigint; numDeletedRows?: bigint } | undefined): number => Number(r?.numUpdatedRows ?? r?.numDeletedRows ?? 0);

/** The visitors module's SQL: profiles, visits, tags; nothing here ever sees an ID number or a phone for analytics. */
export class VisitorsRepository {
  constructor(private readonly store: CloudStore) {}

  get db(): Db {
    return this.store.db;
  }

  /** A paid order's visitors become visits; their profiles count the order. Idempotent per (order, visitor). */
  async recordPaid(trx: Db, order: OrdersTable, now: string): Promise<string[]> {
    const visitors = await trx.selectFrom('order_visitors').select(['idx', 'id_hash', 'age_band', 'gender', 'region']).where('order_id', '=', order.order_id).orderBy('idx').execute();
    if (visitors.length === 0) return [];
    const split = shares(num(order.amount_fen), visitors.length);
    const done: string[] = [];
    for (const [i, v] of visitors.entries()) {
      const inserted = await trx
        .insertInto('visitor_visits')
        .values({ site: order.site, order_id: order.order_id, id_hash: v.id_hash, visit_date: order.visit_date, channel: order.channel, type_id: order.type_id, party_size: Number(order.persons), amount_fen: split[i]!, admitted_at: null })
        .onConflict((oc) => oc.columns(['site', 'order_id', 'id_hash']).doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) continue;
      await trx
        .insertInto('visitor_profiles')
        .values({ site: order.site, id_hash: v.id_hash, age_band: null, gender: null, region: null, phone_region: null, first_visit: null, last_visit: null, consent_at: null, consent_source: null, opted_out_at: null, member_code: null, member_since: null, last_order_id: null, updated_at: now })
        .onConflict((oc) => oc.columns(['site', 'id_hash']).doNothing())
        .execute();
      const consent = order.marketing_consent;
      await trx
        .updateTable('visitor_profiles')
        .set({
          orders: sql`orders + 1`,
          ticket_fen: sql`ticket_fen + ${split[i]!}`,
          last_order_id: order.order_id,
          // The newest sale's attributes win; a missing one keeps what was known.
          age_band: sql`coalesce(${v.age_band ?? null}, age_band)`,
          gender: sql`coalesce(${v.gender ?? null}, gender)`,
          region: sql`coalesce(${v.region ?? null}, region)`,
          phone_region: sql`coalesce(${order.phone_region ?? null}, phone_region)`,
          ...(consent !== null && consent !== undefined ? { consent_marketing: consent ? 1 : 0, consent_at: now, consent_source: order.channel } : {}),
          updated_at: now,
        })
        .where('site', '=', order.site)
        .where('id_hash', '=', v.id_hash)
        .execute();
      done.push(v.id_hash);
    }
    return done;
  }

  /** A refunded order's visits stop counting; the profiles give its share back. */
  async recordRefunded(trx: Db, order: OrdersTable, now: string): Promise<string[]> {
    const visits = await trx.selectFrom('visitor_visits').select(['id_hash', 'amount_fen']).where('site', '=', order.site).where('order_id', '=', order.order_id).where('refunded', '=', 0).execute();
    for (const v of visits) {
      await trx.updateTable('visitor_visits').set({ refunded: 1 }).where('site', '=', order.site).where('order_id', '=', order.order_id).where('id_hash', '=', v.id_hash).execute();
      await trx
        .updateTable('visitor_profiles')
        .set({ orders: sql`case when orders > 0 then orders - 1 else 0 end`, ticket_fen: sql`ticket_fen - ${num(v.amount_fen)}`, updated_at: now })
        .where('site', '=', order.site)
        .where('id_hash', '=', v.id_hash)
        .execute();
      await this.recountVisits(trx, order.site, v.id_hash, now);
    }
    return visits.map((v) => v.id_hash);
  }

  async recordRebooked(trx: Db, order: OrdersTable): Promise<void> {
    await trx.updateTable('visitor_visits').set({ visit_date: order.visit_date }).where('site', '=', order.site).where('order_id', '=', order.order_id).execute();
  }

  /** visits, first_visit, last_visit of a profile from its admitted, kept visits. */
  async recountVisits(db: Db, site: string, idHash: string, now: string): Promise<void> {
    const r = await db
      .selectFrom('visitor_visits')
      .select([sql<number>`count(distinct visit_date)`.as('visits'), sql<string | null>`min(visit_date)`.as('first'), sql<string | null>`max(visit_date)`.as('last')])
      .where('site', '=', site)
      .where('id_hash', '=', idHash)
      .where('refunded', '=', 0)
      .where('admitted_at', 'is not', null)
      .executeTakeFirst();
    await db
      .updateTable('visitor_profiles')
      .set({ visits: num(r?.visits), first_visit: r?.first ?? null, last_visit: r?.last ?? null, updated_at: now })
      .where('site', '=', site)
      .where('id_hash', '=', idHash)
      .execute();
  }

  /**
   * Visits of [fromDate, toDate] not yet admitted whose ticket has been used (entries_used > 0):
   * marked admitted in one statement, their profiles recounted in batches. Cheap: the
   * (site, visit_date) index, then the order's visitor and the ticket by primary key.
   */
  async markAdmitted(site: string, fromDate: string, toDate: string, now: string): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const marked = await trx
        .updateTable('visitor_visits')
        .set({ admitted_at: now })
        .where('site', '=', site)
        .where('visit_date', '>=', fromDate)
        .where('visit_date', '<=', toDate)
        .where('admitted_at', 'is', null)
        .where('refunded', '=', 0)
        // Nested EXISTS, not a join: SQLite would otherwise scan the used tickets for every visit.
        .where((eb) =>
          eb.exists(
            eb
              .selectFrom('order_visitors as ov')
              .select(sql`1`.as('one'))
              .whereRef('ov.order_id', '=', 'visitor_visits.order_id')
              .whereRef('ov.id_hash', '=', 'visitor_visits.id_hash')
              .where((eb2) => eb2.exists(eb2.selectFrom('tickets as t').select(sql`1`.as('one')).whereRef('t.site', '=', 'visitor_visits.site').whereRef('t.ticket_id', '=', 'ov.ticket_id').where('t.entries_used', '>', 0))),
          ),
        )
        .returning('id_hash')
        .execute();
      const hashes = [...new Set(marked.map((r) => r.id_hash))];
      for (let i = 0; i < hashes.length; i += 500) await this.recountMany(trx, site, hashes.slice(i, i + 500), now);
      return marked.length;
    });
  }

  /** recountVisits for many profiles: one grouped read over the (site, id_hash) index, one update by key each. */
  private async recountMany(db: Db, site: string, hashes: string[], now: string): Promise<void> {
    const rows = await db
      .selectFrom('visitor_visits')
      .select(['id_hash', sql<number>`count(distinct visit_date)`.as('visits'), sql<string>`min(visit_date)`.as('first'), sql<string>`max(visit_date)`.as('last')])
      .where('site', '=', site)
      .where('id_hash', 'in', hashes)
      .where('refunded', '=', 0)
      .where('admitted_at', 'is not', null)
      .groupBy('id_hash')
      .execute();
    const found = new Map(rows.map((r) => [r.id_hash, r]));
    for (const h of hashes) {
      const r = found.get(h);
      await db
        .updateTable('visitor_profiles')
        .set({ visits: num(r?.visits), first_visit: r?.first ?? null, last_visit: r?.last ?? null, updated_at: now })
        .where('site', '=', site)
        .where('id_hash', '=', h)
        .execute();
    }
  }

  async profile(site: string, idHash: string) {
    return this.db.selectFrom('visitor_profiles').selectAll().where('site', '=', site).where('id_hash', '=', idHash).executeTakeFirst();
  }

  async addSpend(db: Db, site: string, idHash: string, fen: number, now: string): Promise<void> {
    await db.updateTable('visitor_profiles').set({ pos_fen: sql`pos_fen + ${fen}`, updated_at: now }).where('site', '=', site).where('id_hash', '=', idHash).execute();
  }

  async tagFacts(db: Db, site: string, idHash: string): Promise<TagFacts | undefined> {
    const p = await db.selectFrom('visitor_profiles').select(['ticket_fen', 'pos_fen']).where('site', '=', site).where('id_hash', '=', idHash).executeTakeFirst();
    if (!p) return undefined;
    const visits = await db.selectFrom('visitor_visits').select(['type_id', 'party_size']).where('site', '=', site).where('id_hash', '=', idHash).where('refunded', '=', 0).execute();
    const cats = await db.selectFrom('pos_lines').select('category').distinct().where('site', '=', site).where('id_hash', '=', idHash).execute();
    return {
      maxPartySize: Math.max(0, ...visits.map((v) => Number(v.party_size))),
      ticketFen: num(p.ticket_fen),
      posFen: num(p.pos_fen),
      types: new Set(visits.map((v) => v.type_id)),
      posCategories: new Set(cats.map((c) => c.category)),
    };
  }

  /** The visitor's tags become exactly `tags`. */
  async setTags(db: Db, site: string, idHash: string, tags: readonly string[], now: string): Promise<void> {
    let del = db.deleteFrom('visitor_tags').where('site', '=', site).where('id_hash', '=', idHash);
    if (tags.length > 0) del = del.where('tag', 'not in', tags);
    await del.execute();
    for (const tag of tags) {
      await db.insertInto('visitor_tags').values({ site, id_hash: idHash, tag, at: now }).onConflict((oc) => oc.columns(['site', 'id_hash', 'tag']).doNothing()).execute();
    }
  }

  async setConsent(site: string, idHash: string, consent: boolean, source: string, now: string): Promise<boolean> {
    const r = await this.db.updateTable('visitor_profiles').set({ consent_marketing: consent ? 1 : 0, consent_at: now, consent_source: source, ...(consent ? { opted_out_at: null } : {}), updated_at: now }).where('site', '=', site).where('id_hash', '=', idHash).executeTakeFirst();
    return n(r) > 0;
  }

  async optOut(site: string, idHash: string, now: string): Promise<boolean> {
    const r = await this.db.updateTable('visitor_profiles').set({ opted_out_at: now, consent_marketing: 0, updated_at: now }).where('site', '=', site).where('id_hash', '=', idHash).executeTakeFirst();
    return n(r) > 0;
  }

  /** Everything kept about one visitor, gone (in one transaction), and the audit row. */
  async deleteVisitor(site: string, idHash: string, audit: { actor: string; reason: string; at: string }): Promise<DeletionCounts | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const had = await trx.selectFrom('visitor_profiles').select('id_hash').where('site', '=', site).where('id_hash', '=', idHash).executeTakeFirst();
      const visits = await trx.selectFrom('visitor_visits').select('order_id').where('site', '=', site).where('id_hash', '=', idHash).execute();
      if (!had && visits.length === 0) {
        await this.audit(trx, site, audit, 'visitor_delete_unknown', idHash, null);
        return undefined;
      }
      const counts: DeletionCounts = {
        profiles: n(await trx.deleteFrom('visitor_profiles').where('site', '=', site).where('id_hash', '=', idHash).executeTakeFirst()),
        visits: n(await trx.deleteFrom('visitor_visits').where('site', '=', site).where('id_hash', '=', idHash).executeTakeFirst()),
        tags: n(await trx.deleteFrom('visitor_tags').where('site', '=', site).where('id_hash', '=', idHash).executeTakeFirst()),
        coupons: n(await trx.deleteFrom('coupons').where('site', '=', site).where('id_hash', '=', idHash).where('state', '!=', 'redeemed').executeTakeFirst()),
        couponGrants: n(await trx.deleteFrom('coupon_grants').where('site', '=', site).where('id_hash', '=', idHash).executeTakeFirst()),
        posLines: n(await trx.updateTable('pos_lines').set({ id_hash: null }).where('site', '=', site).where('id_hash', '=', idHash).executeTakeFirst()),
        orderVisitors: 0,
      };
      // A redeemed coupon is part of a sale's accounts: kept, but no longer anyone's.
      counts.coupons += n(await trx.updateTable('coupons').set({ id_hash: null, state: 'void' }).where('site', '=', site).where('id_hash', '=', idHash).executeTakeFirst());
      // The orders keep the ticket binding (gates need it) but lose the derived attributes.
      counts.orderVisitors = n(
        await trx
          .updateTable('order_visitors')
          .set({ age_band: null, gender: null, region: null })
          .where('id_hash', '=', idHash)
          .where('order_id', 'in', (q) => q.selectFrom('orders').select('order_id').where('site', '=', site))
          .executeTakeFirst(),
      );
      await this.audit(trx, site, audit, 'visitor_delete', idHash, counts);
      return counts;
    });
  }

  private async audit(trx: Db, site: string, a: { actor: string; reason: string; at: string }, action: string, idHash: string, details: unknown): Promise<void> {
    // Never the ID number; the hash's first 8 characters only, enough to match a request to its log line.
    await trx.insertInto('audit_log').values({ id: randomUUID(), site, at: a.at, actor: a.actor, action, target: `visitor:${idHash.slice(0, 8)}`, reason: a.reason, details: details === null ? null : JSON.stringify(details) }).execute();
  }

  /** Retention: visits before `cutoff` (a date), profiles with no visit and no update since, their tags, POS links. */
  async purge(site: string, cutoff: string, cutoffIso: string): Promise<{ profiles: number; visits: number; tags: number; posLinks: number }> {
    return this.db.transaction().execute(async (trx) => {
      const visits = n(await trx.deleteFrom('visitor_visits').where('site', '=', site).where('visit_date', '<', cutoff).executeTakeFirst());
      const stale = trx
        .selectFrom('visitor_profiles')
        .select('id_hash')
        .where('site', '=', site)
        .where('updated_at', '<', cutoffIso)
        .where((eb) => eb.or([eb('last_visit', 'is', null), eb('last_visit', '<', cutoff)]));
      const tags = n(await trx.deleteFrom('visitor_tags').where('site', '=', site).where('id_hash', 'in', stale).executeTakeFirst());
      const profiles = n(
        await trx
          .deleteFrom('visitor_profiles')
          .where('site', '=', site)
          .where('updated_at', '<', cutoffIso)
          .where((eb) => eb.or([eb('last_visit', 'is', null), eb('last_visit', '<', cutoff)]))
          .executeTakeFirst(),
      );
      const posLinks = n(await trx.updateTable('pos_lines').set({ id_hash: null }).where('site', '=', site).where('visit_date', '<', cutoff).where('id_hash', 'is not', null).executeTakeFirst());
      return { profiles, visits, tags, posLinks };
    });
  }

  /** Distinct visitors per group of kept visits in [from, to]. */
  async segmentCounts(site: string, from: string, to: string, by: SegmentDimension): Promise<{ key: string | null; count: number }[]> {
    const base = this.db
      .selectFrom('visitor_visits as vv')
      .where('vv.site', '=', site)
      .where('vv.visit_date', '>=', from)
      .where('vv.visit_date', '<=', to)
      .where('vv.refunded', '=', 0);
    const count = sql<number>`count(distinct vv.id_hash)`.as('count');
    if (by === 'channel') return (await base.select([sql<string>`vv.channel`.as('key'), count]).groupBy('vv.channel').execute()).map(norm);
    if (by === 'partySize') return (await base.select([sql<string>`cast(vv.party_size as text)`.as('key'), count]).groupBy('vv.party_size').execute()).map(norm);
    if (by === 'tag') {
      return (
        await base
          .innerJoin('visitor_tags as vt', (j) => j.onRef('vt.site', '=', 'vv.site').onRef('vt.id_hash', '=', 'vv.id_hash'))
          .select([sql<string>`vt.tag`.as('key'), count])
          .groupBy('vt.tag')
          .execute()
      ).map(norm);
    }
    const col = { ageBand: sql<string | null>`vp.age_band`, gender: sql<string | null>`vp.gender`, province: sql<string | null>`substr(vp.region, 1, 2)`, city: sql<string | null>`vp.region`, phoneRegion: sql<string | null>`vp.phone_region` }[by];
    return (
      await base
        .innerJoin('visitor_profiles as vp', (j) => j.onRef('vp.site', '=', 'vv.site').onRef('vp.id_hash', '=', 'vv.id_hash'))
        .select([col.as('key'), count])
        .groupBy(col)
        .execute()
    ).map(norm);
  }

  /** The phone and language of the profile's newest kept order, when marketing may use it. */
  async reachable(site: string, idHash: string): Promise<{ phone: string; lang: string | null } | undefined> {
    const r = await this.db
      .selectFrom('visitor_profiles as vp')
      .innerJoin('orders as o', 'o.order_id', 'vp.last_order_id')
      .select(['o.contact_phone', 'o.lang'])
      .where('vp.site', '=', site)
      .where('vp.id_hash', '=', idHash)
      .where('vp.consent_marketing', '=', 1)
      .where('vp.opted_out_at', 'is', null)
      .executeTakeFirst();
    return r ? { phone: r.contact_phone, lang: r.lang ?? null } : undefined;
  }

  async visitOn(site: string, idHash: string, date: string): Promise<{ order_id: string } | undefined> {
    return this.db.selectFrom('visitor_visits').select('order_id').where('site', '=', site).where('id_hash', '=', idHash).where('visit_date', '=', date).where('refunded', '=', 0).orderBy('order_id').executeTakeFirst();
  }

  async byMemberCode(site: string, code: string): Promise<string | undefined> {
    return (await this.db.selectFrom('visitor_profiles').select('id_hash').where('site', '=', site).where('member_code', '=', code).executeTakeFirst())?.id_hash;
  }

  async ticketHolder(site: string, ticketId: string): Promise<string | undefined> {
    return (await this.db.selectFrom('tickets').select('id_hash').where('site', '=', site).where('ticket_id', '=', ticketId).executeTakeFirst())?.id_hash ?? undefined;
  }

  /** The first visitor of the paid order with this contact phone on `date`. */
  async byPhone(site: string, phones: string[], date: string): Promise<{ order_id: string; id_hash: string } | undefined> {
    return this.db
      .selectFrom('orders as o')
      .innerJoin('order_visitors as ov', 'ov.order_id', 'o.order_id')
      .select(['o.order_id', 'ov.id_hash'])
      .where('o.site', '=', site)
      .where('o.contact_phone', 'in', phones)
      .where('o.visit_date', '=', date)
      .where('o.status', '=', 'paid')
      .orderBy('o.created_at')
      .orderBy('ov.idx')
      .executeTakeFirst();
  }
}

export const SEGMENT_DIMENSIONS = ['ageBand', 'gender', 'province', 'city', 'phoneRegion', 'channel', 'partySize', 'tag'] as const;
export type SegmentDimension = (typeof SEGMENT_DIMENSIONS)[number];

function norm(r: { key: string | null; count: number | string | bigint }): { key: string | null; count: number } {
  return { key: r.key, count: Number(r.count) };
}
