import { randomUUID } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import type { CouponsTable } from '../../core/db/schema.js';
import { num, type CloudStore, type Db } from '../../core/db/store.js';
import type { CouponTerms } from './terms.js';

export type CouponRow = Selectable<CouponsTable>;

/** A new coupon: its terms as issued, its owner and window. */
export type NewCoupon = Omit<CouponRow, 'state' | 'held_order' | 'redeemed_at' | 'redeemed_via' | 'redeemed_ref' | 'discount_fen' | 'notified_at' | 'min_spend_fen'> & { min_spend_fen: number };

const CHUNK = 500; // ids per IN list: well under SQLite's variable limit

function chunks<T>(xs: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += CHUNK) out.push(xs.slice(i, i + CHUNK));
  return out;
}

/** A coupon row as the pure terms check reads it. */
export function termsOf(r: CouponRow): CouponTerms {
  return {
    code: r.code,
    idHash: r.id_hash,
    kind: r.kind as CouponTerms['kind'],
    percentOff: r.percent_off,
    amountFen: r.amount_fen === null ? null : num(r.amount_fen),
    item: r.item,
    appliesTo: r.applies_to as CouponTerms['appliesTo'],
    validFrom: r.valid_from,
    validTo: r.valid_to,
    channels: r.channels ? (JSON.parse(r.channels) as string[]) : null,
    stacking: r.stacking as CouponTerms['stacking'],
    state: r.state as CouponTerms['state'],
    minSpendFen: num(r.min_spend_fen),
    categories: r.categories ? (JSON.parse(r.categories) as string[]) : null,
  };
}

export interface CouponFilter {
  state?: string;
  rule?: string;
  idHash?: string;
  /** Issued on or after / before (ISO time prefix or date). */
  issuedFrom?: string;
  issuedTo?: string;
  limit: number;
}

/** The marketing module's SQL: coupons, grants, membership, and the reads its rules need. */
export class MarketingRepository {
  constructor(private readonly store: CloudStore) {}

  get db(): Db {
    return this.store.db;
  }

  transaction<T>(work: (trx: Db) => Promise<T>): Promise<T> {
    return this.store.db.transaction().execute(work);
  }

  async coupon(db: Db, site: string, code: string): Promise<CouponRow | undefined> {
    return db.selectFrom('coupons').selectAll().where('site', '=', site).where('code', '=', code).executeTakeFirst();
  }

  // ---- redemption: every change of state is one conditional UPDATE (a coupon is used once) ----

  /**
   * issued → held, answering the coupon as it was (one round trip): the caller checks the terms
   * after and refuses by throwing, which rolls the hold back with the order (sales' savepoint).
   * Undefined when it was not issued (or does not exist).
   */
  async holdReturning(db: Db, site: string, code: string, orderId: string): Promise<CouponRow | undefined> {
    return db.updateTable('coupons').set({ state: 'held', held_order: orderId }).where('site', '=', site).where('code', '=', code).where('state', '=', 'issued').returningAll().executeTakeFirst();
  }

  /** held by this order → redeemed (the order is paid). */
  async redeemHeld(db: Db, site: string, code: string, orderId: string, via: string, at: string, discountFen: number): Promise<boolean> {
    const r = await db
      .updateTable('coupons')
      .set({ state: 'redeemed', redeemed_at: at, redeemed_via: via, redeemed_ref: orderId, discount_fen: discountFen })
      .where('site', '=', site)
      .where('code', '=', code)
      .where('state', '=', 'held')
      .where('held_order', '=', orderId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** held by this order → issued again (the order expired or was cancelled unpaid). */
  async releaseHeld(db: Db, site: string, code: string, orderId: string): Promise<boolean> {
    const r = await db.updateTable('coupons').set({ state: 'issued', held_order: null }).where('site', '=', site).where('code', '=', code).where('state', '=', 'held').where('held_order', '=', orderId).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** redeemed by this order → issued again (the order was refunded: one kept use). */
  async giveBack(db: Db, site: string, code: string, orderId: string): Promise<boolean> {
    const r = await db
      .updateTable('coupons')
      .set({ state: 'issued', held_order: null, redeemed_at: null, redeemed_via: null, redeemed_ref: null, discount_fen: null })
      .where('site', '=', site)
      .where('code', '=', code)
      .where('state', '=', 'redeemed')
      .where('redeemed_ref', '=', orderId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * issued → redeemed at once for a POS checkout of `amountFen` (one round trip: the discount
   * computed in the UPDATE as discountOf does, rounded down, never above the amount), answering
   * the row; undefined when it was not issued. The caller checks the terms after it and, when
   * they refuse, puts it back with undoRedeem in the same transaction (it holds the row lock).
   */
  async redeemIssuedReturning(db: Db, site: string, code: string, via: string, ref: string, at: string, amountFen: number): Promise<CouponRow | undefined> {
    const a = sql`cast(${amountFen} as bigint)`;
    return db
      .updateTable('coupons')
      .set({ state: 'redeemed', redeemed_at: at, redeemed_via: via, redeemed_ref: ref, discount_fen: sql<number>`case when kind = 'percent' then (${a} * percent_off) / 100 when amount_fen > ${a} then ${a} else amount_fen end` })
      .where('site', '=', site)
      .where('code', '=', code)
      .where('state', '=', 'issued')
      .returningAll()
      .executeTakeFirst();
  }

  /** Undo redeemIssuedReturning inside the same transaction (the terms refused). */
  async undoRedeem(db: Db, site: string, code: string, ref: string): Promise<void> {
    await db.updateTable('coupons').set({ state: 'issued', redeemed_at: null, redeemed_via: null, redeemed_ref: null, discount_fen: null }).where('site', '=', site).where('code', '=', code).where('state', '=', 'redeemed').where('redeemed_ref', '=', ref).execute();
  }

  /** issued → void (staff), with its audit row; false when it is held or redeemed (or unknown). */
  async void(site: string, code: string, at: string, actor: string): Promise<boolean> {
    return this.transaction(async (trx) => {
      const r = await trx.updateTable('coupons').set({ state: 'void' }).where('site', '=', site).where('code', '=', code).where('state', '=', 'issued').executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await this.audit(trx, site, at, actor, 'coupon_void', code, {});
      return true;
    });
  }

  // ---- issuing ----

  /**
   * One coupon per rule, visitor and period: the grant row is the lock. Inserts grant and
   * coupon together; false (and nothing written) when the grant exists already.
   */
  async grant(site: string, ruleId: string, idHash: string, period: string, coupon: NewCoupon): Promise<boolean> {
    return this.transaction(async (trx) => {
      const g = await trx
        .insertInto('coupon_grants')
        .values({ site, rule_id: ruleId, id_hash: idHash, period, code: coupon.code })
        .onConflict((oc) => oc.columns(['site', 'rule_id', 'id_hash', 'period']).doNothing())
        .executeTakeFirst();
      if (Number(g.numInsertedOrUpdatedRows ?? 0n) !== 1) return false;
      await this.insertCoupon(trx, coupon);
      return true;
    });
  }

  async insertCoupon(db: Db, c: NewCoupon): Promise<void> {
    await db
      .insertInto('coupons')
      .values({ ...c, state: 'issued', held_order: null, redeemed_at: null, redeemed_via: null, redeemed_ref: null, discount_fen: null, notified_at: null })
      .execute();
  }

  /** Grants of a rule and period among `hashes` (already issued: skip them before doing any work). */
  async granted(site: string, ruleId: string, period: string, hashes: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const part of chunks(hashes)) {
      const rows = await this.db.selectFrom('coupon_grants').select('id_hash').where('site', '=', site).where('rule_id', '=', ruleId).where('period', '=', period).where('id_hash', 'in', part).execute();
      for (const r of rows) out.add(r.id_hash);
    }
    return out;
  }

  /** Claim a coupon's message (at most one per coupon, whichever instance gets here first). */
  async claimNotice(site: string, code: string, at: string): Promise<boolean> {
    const r = await this.db.updateTable('coupons').set({ notified_at: at }).where('site', '=', site).where('code', '=', code).where('notified_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  // ---- what the rules read (filled by the visitors and pos modules) ----

  /** Visitors admitted on `date` (a visit of a paid, unrefunded order that a gate let in). */
  async admittedOn(site: string, dates: readonly string[]): Promise<string[]> {
    if (dates.length === 0) return [];
    const rows = await this.db.selectFrom('visitor_visits').select('id_hash').distinct().where('site', '=', site).where('visit_date', 'in', [...dates]).where('admitted_at', 'is not', null).where('refunded', '=', 0).execute();
    return rows.map((r) => r.id_hash);
  }

  /** Visitors with a POS line on `date`. */
  async withPosLine(site: string, date: string): Promise<Set<string>> {
    const rows = await this.db.selectFrom('pos_lines').select('id_hash').distinct().where('site', '=', site).where('visit_date', '=', date).where('id_hash', 'is not', null).execute();
    return new Set(rows.map((r) => r.id_hash!));
  }

  /** Admitted visits (distinct days) of each visitor, up to and with `until`. */
  async admittedVisits(site: string, hashes: readonly string[], until: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const part of chunks(hashes)) {
      const rows = await this.db
        .selectFrom('visitor_visits')
        .select(['id_hash', sql<number | string>`count(distinct visit_date)`.as('n')])
        .where('site', '=', site)
        .where('id_hash', 'in', part)
        .where('admitted_at', 'is not', null)
        .where('refunded', '=', 0)
        .where('visit_date', '<=', until)
        .groupBy('id_hash')
        .execute();
      for (const r of rows) out.set(r.id_hash, num(r.n));
    }
    return out;
  }

  /** Member codes of visitors (null: not a member; absent: no profile). */
  async memberCodes(site: string, hashes: readonly string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for (const part of chunks(hashes)) {
      const rows = await this.db.selectFrom('visitor_profiles').select(['id_hash', 'member_code']).where('site', '=', site).where('id_hash', 'in', part).execute();
      for (const r of rows) out.set(r.id_hash, r.member_code);
    }
    return out;
  }

  /** Make a visitor a member; false when they already are (another instance was first) or have no profile. */
  async makeMember(site: string, idHash: string, code: string, since: string, at: string): Promise<boolean> {
    const r = await this.db.updateTable('visitor_profiles').set({ member_code: code, member_since: since, updated_at: at }).where('site', '=', site).where('id_hash', '=', idHash).where('member_code', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Profiles that said yes to marketing and did not opt out (seen since `since`, when given). */
  async consenting(site: string, since?: string): Promise<string[]> {
    let q = this.db.selectFrom('visitor_profiles').select('id_hash').where('site', '=', site).where('consent_marketing', '=', 1).where('opted_out_at', 'is', null);
    if (since) q = q.where('last_visit', '>=', since);
    return (await q.execute()).map((r) => r.id_hash);
  }

  // ---- staff ----

  /** Who did what to a coupon by hand (the staff audit log, beside channel pauses). */
  async audit(db: Db, site: string, at: string, actor: string, action: 'coupon_issue' | 'coupon_void', code: string, details: Record<string, unknown>): Promise<void> {
    await db.insertInto('audit_log').values({ id: randomUUID(), site, at, actor, action, target: `coupon:${code}`, reason: action === 'coupon_issue' ? 'issued by hand' : 'voided by hand', details: JSON.stringify(details) }).execute();
  }

  async list(site: string, f: CouponFilter): Promise<CouponRow[]> {
    let q = this.db.selectFrom('coupons').selectAll().where('site', '=', site);
    if (f.state) q = q.where('state', '=', f.state);
    if (f.rule) q = q.where('rule_id', '=', f.rule);
    if (f.idHash) q = q.where('id_hash', '=', f.idHash);
    if (f.issuedFrom) q = q.where('issued_at', '>=', f.issuedFrom);
    if (f.issuedTo) q = q.where('issued_at', '<', f.issuedTo);
    return q.orderBy('issued_at', 'desc').orderBy('code').limit(f.limit).execute();
  }

  /** Coupons by state (and the money they took off), for the list's totals. */
  async counts(site: string): Promise<{ state: string; n: number; discountFen: number }[]> {
    const rows = await this.db
      .selectFrom('coupons')
      .select(['state', sql<number | string>`count(*)`.as('n'), sql<number | string | null>`sum(discount_fen)`.as('d')])
      .where('site', '=', site)
      .groupBy('state')
      .execute();
    return rows.map((r) => ({ state: r.state, n: num(r.n), discountFen: num(r.d) }));
  }

  /** Members, and those who became members since `since`. */
  async membership(site: string, since: string): Promise<{ members: number; newSince: number; profiles: number }> {
    const row = await this.db
      .selectFrom('visitor_profiles')
      .select([
        sql<number | string>`count(*)`.as('profiles'),
        sql<number | string>`count(member_code)`.as('members'),
        sql<number | string>`sum(case when member_since >= ${since} then 1 else 0 end)`.as('fresh'),
      ])
      .where('site', '=', site)
      .executeTakeFirst();
    return { members: num(row?.members), newSince: num(row?.fresh), profiles: num(row?.profiles) };
  }
}
