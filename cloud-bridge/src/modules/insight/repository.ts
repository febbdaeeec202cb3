import { sql } from 'kysely';
import { num, type CloudStore } from '../../core/db/store.js';
import type { InsightRows } from './model.js';

/** The UTC and local-date bounds of one report (the service computes them from the period and the zone). */
export interface InsightWindow {
  site: string;
  /** Local dates of the period, both counted. */
  from: string;
  to: string;
  /** UTC instants (ISO, as paid_at/refunded_at/issued_at are written) of the period's start and the day after its end. */
  fromUtc: string;
  toUtc: string;
  /** Gate timestamps carry their own offset: a text range one day wider on each side, from the previous period's start. */
  entriesFrom: string;
  entriesTo: string;
}

/**
 * The insight module's SQL: every metric is a GROUP BY in the database, so a season's report
 * moves a few hundred rows, not a million. Written once for SQLite and PostgreSQL (substr,
 * CASE, count and sum only). Hour buckets stay as the timestamps' own text ("YYYY-MM-DDTHH"
 * plus offset); the service turns them into the park's local hours.
 */
export class InsightRepository {
  constructor(private readonly store: CloudStore) {}

  async rows(w: InsightWindow): Promise<InsightRows> {
    const [sales, refunds, repeat, coupons, couponOrders, couponPos, ticket, pos, entries] = await Promise.all([
      this.sales(w),
      this.refunds(w),
      this.repeat(w),
      this.coupons(w),
      this.couponOrders(w),
      this.couponPos(w),
      this.ticketRevenue(w),
      this.posSpend(w),
      this.entries(w),
    ]);
    return { sales, refunds, repeat, coupons, couponOrders, couponPos, spend: { ticketFen: ticket, posFen: pos.fen, posLines: pos.lines }, entries };
  }

  /** Orders paid in the period by type (later refunds still count as that period's sales, as in the daily report). */
  private async sales(w: InsightWindow) {
    const rows = await this.store.db
      .selectFrom('orders')
      .select((eb) => ['type_id', eb.fn.countAll().as('n'), eb.fn.sum('persons').as('persons'), eb.fn.sum('amount_fen').as('fen')])
      .where('site', '=', w.site)
      .where('paid_at', '>=', w.fromUtc)
      .where('paid_at', '<', w.toUtc)
      .groupBy('type_id')
      .execute();
    return rows.map((r) => ({ typeId: r.type_id, orders: num(r.n as string), persons: num(r.persons as string), revenueFen: num(r.fen as string) }));
  }

  private async refunds(w: InsightWindow) {
    const hour = sql<string>`substr(refunded_at, 1, 13)`;
    const rows = await this.store.db
      .selectFrom('orders')
      .select((eb) => [hour.as('hour'), 'refund_reason', eb.fn.countAll().as('n')])
      .where('site', '=', w.site)
      .where('refunded_at', '>=', w.fromUtc)
      .where('refunded_at', '<', w.toUtc)
      .groupBy([hour, 'refund_reason'])
      .execute();
    return rows.map((r) => ({ hour: r.hour, reason: r.refund_reason ?? 'unknown', count: num(r.n as string) }));
  }

  /** Visitors admitted in the period by age band; repeaters have two or more admitted visits up to its end. */
  private async repeat(w: InsightWindow) {
    const { rows } = await sql<{ band: string; visitors: string | number; repeaters: string | number }>`
      SELECT coalesce(p.age_band, 'unknown') AS band, count(*) AS visitors, sum(CASE WHEN v.n >= 2 THEN 1 ELSE 0 END) AS repeaters
      FROM (
        SELECT id_hash, count(*) AS n FROM visitor_visits
        WHERE site = ${w.site} AND admitted_at IS NOT NULL AND visit_date <= ${w.to}
        GROUP BY id_hash HAVING max(visit_date) >= ${w.from}
      ) v
      LEFT JOIN visitor_profiles p ON p.site = ${w.site} AND p.id_hash = v.id_hash
      GROUP BY coalesce(p.age_band, 'unknown')
      ORDER BY band`.execute(this.store.db);
    return rows.map((r) => ({ band: r.band, visitors: num(r.visitors), repeaters: num(r.repeaters) }));
  }

  /** Coupons issued in the period by rule: how many, how many redeemed, what they took off. */
  private async coupons(w: InsightWindow) {
    const { rows } = await sql<{ rule_id: string; issued: string | number; redeemed: string | number; discount: string | number | null }>`
      SELECT rule_id, count(*) AS issued,
             sum(CASE WHEN redeemed_at IS NOT NULL THEN 1 ELSE 0 END) AS redeemed,
             sum(CASE WHEN redeemed_at IS NOT NULL THEN coalesce(discount_fen, 0) ELSE 0 END) AS discount
      FROM coupons WHERE site = ${w.site} AND issued_at >= ${w.fromUtc} AND issued_at < ${w.toUtc}
      GROUP BY rule_id`.execute(this.store.db);
    return rows.map((r) => ({ ruleId: r.rule_id, issued: num(r.issued), redeemed: num(r.redeemed), discountFen: num(r.discount) }));
  }

  /** Orders paid in the period that redeemed a coupon, by the coupon's rule. */
  private async couponOrders(w: InsightWindow) {
    const { rows } = await sql<{ rule_id: string; n: string | number; fen: string | number | null }>`
      SELECT c.rule_id, count(*) AS n, sum(o.amount_fen) AS fen
      FROM orders o JOIN coupons c ON c.site = o.site AND c.code = o.coupon_code
      WHERE o.site = ${w.site} AND o.coupon_code IS NOT NULL AND o.paid_at >= ${w.fromUtc} AND o.paid_at < ${w.toUtc}
      GROUP BY c.rule_id`.execute(this.store.db);
    return rows.map((r) => ({ ruleId: r.rule_id, orders: num(r.n), revenueFen: num(r.fen) }));
  }

  /** POS lines of the period's visit days that redeemed a coupon, by the coupon's rule. */
  private async couponPos(w: InsightWindow) {
    const { rows } = await sql<{ rule_id: string; n: string | number; fen: string | number | null }>`
      SELECT c.rule_id, count(*) AS n, sum(l.amount_fen) AS fen
      FROM pos_lines l JOIN coupons c ON c.site = l.site AND c.code = l.coupon_code
      WHERE l.site = ${w.site} AND l.coupon_code IS NOT NULL AND l.visit_date >= ${w.from} AND l.visit_date <= ${w.to}
      GROUP BY c.rule_id`.execute(this.store.db);
    return rows.map((r) => ({ ruleId: r.rule_id, lines: num(r.n), revenueFen: num(r.fen) }));
  }

  /** Ticket revenue of the period's visit days: paid orders (refunded ones brought nothing). */
  private async ticketRevenue(w: InsightWindow): Promise<number> {
    const row = await this.store.db
      .selectFrom('orders')
      .select((eb) => eb.fn.sum('amount_fen').as('fen'))
      .where('site', '=', w.site)
      .where('visit_date', '>=', w.from)
      .where('visit_date', '<=', w.to)
      .where('status', '=', 'paid')
      .executeTakeFirst();
    return num(row?.fen as string | undefined);
  }

  private async posSpend(w: InsightWindow): Promise<{ fen: number; lines: number }> {
    const row = await this.store.db
      .selectFrom('pos_lines')
      .select((eb) => [eb.fn.sum('amount_fen').as('fen'), eb.fn.countAll().as('n')])
      .where('site', '=', w.site)
      .where('visit_date', '>=', w.from)
      .where('visit_date', '<=', w.to)
      .executeTakeFirst();
    return { fen: num(row?.fen as string | undefined), lines: num(row?.n as string | undefined) };
  }

  /** Counted admissions by the hour and offset the gate wrote (this and the previous period). */
  private async entries(w: InsightWindow) {
    const hour = sql<string>`substr(at, 1, 13)`;
    const offset = sql<string>`CASE WHEN at LIKE '%Z' THEN 'Z' ELSE substr(at, length(at) - 5) END`;
    const rows = await this.store.db
      .selectFrom('entries')
      .select((eb) => [hour.as('hour'), offset.as('off'), eb.fn.sum('persons').as('persons')])
      .where('site', '=', w.site)
      .where('kind', '=', 'admit')
      .where('anomaly', 'is', null)
      .where('at', '>=', w.entriesFrom)
      .where('at', '<', w.entriesTo)
      .groupBy([hour, offset])
      .execute();
    return rows.map((r) => ({ hour: r.hour, offset: r.off, persons: num(r.persons as string) }));
  }
}
