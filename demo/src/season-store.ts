/**
 * Writing the generated season (season.ts) into the demo cloud's store: once, in one
 * transaction of bulk inserts (docs/visitor-data/demo.md).
 */
import type { Catalogue } from '@stile/cloud-bridge/catalogue';
import type { CloudBridge } from '@stile/cloud-bridge';
import { generateSeason, SEASON_MARKER, type Season, type SeasonOptions, type SeasonSummary, type SeasonTable } from './season.js';

type Db = CloudBridge['store']['db'];

/* ---------- writing ---------- */

/** Rows per INSERT: under SQLite's and PostgreSQL's bound-parameter limits for the widest table. */
const CHUNK = 500;

/** Writes a generated season in one transaction, bulk inserts per table. */
export async function writeSeason(db: Db, season: Season): Promise<void> {
  const order: SeasonTable[] = ['orders', 'order_visitors', 'tickets', 'entries', 'visitor_profiles', 'visitor_visits', 'pos_lines', 'coupons', 'coupon_grants', 'split_ledger', 'partner_redemptions', 'audit_log'];
  await db.transaction().execute(async (trx) => {
    // Daily reports kept before the history existed (the reports module keeps yesterday's at start) are stale: made again when asked.
    const site = season.rows.audit_log[0]?.site as string;
    await trx.deleteFrom('reports').where('site', '=', site).where('date', '>=', season.from).where('date', '<=', season.to).execute();
    for (const table of order) {
      const list = season.rows[table];
      for (let i = 0; i < list.length; i += CHUNK) await trx.insertInto(table).values(list.slice(i, i + CHUNK) as never).execute();
    }
  });
}

/**
 * Generates and writes the season once: only into a store with no orders of the site and no
 * season marker. Answers what it wrote, or why not.
 */
export async function seedSeason(db: Db, catalogue: Catalogue, o: SeasonOptions): Promise<{ written: true; summary: SeasonSummary; ms: number } | { written: false; why: string }> {
  const started = Date.now();
  const marker = await db.selectFrom('audit_log').select('id').where('site', '=', o.site).where('action', '=', SEASON_MARKER.action).executeTakeFirst();
  if (marker) return { written: false, why: 'a season is already in this store' };
  const any = await db.selectFrom('orders').select('order_id').where('site', '=', o.site).limit(1).executeTakeFirst();
  if (any) return { written: false, why: 'the store already has orders' };
  const season = generateSeason(catalogue, o);
  await writeSeason(db, season);
  const { rows: _rows, ...summary } = season;
  return { written: true, summary, ms: Date.now() - started };
}

/** One line for the demo's console: how many of each were generated. */
export function describeSeason(s: SeasonSummary, ms: number): string {
  const c = s.counts;
  return `history: generated ${s.from}…${s.to} in ${(ms / 1000).toFixed(1)} s — ${c.orders} orders, ${c.order_visitors} visitors, ${c.tickets} tickets, ${c.entries} admissions, ${c.visitor_visits} visits, ${c.visitor_profiles} profiles, ${c.pos_lines} POS lines, ${c.coupons} coupons, ${c.split_ledger} split rows (early-bird from ${s.earlyBirdFrom})`;
}
