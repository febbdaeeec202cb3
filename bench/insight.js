// Product-insight report generation (#19 point 5) on PostgreSQL: a generated season of
// BENCH_INSIGHT_VISITS visits (default 200,000) and BENCH_INSIGHT_POS POS lines (default
// 1,000,000), with orders, refunds, coupons, visitor profiles and gate entries, then the
// monthly and the whole-season report timed through the insight module's own code
// (InsightRepository + buildInsight). Target: a season's report in ≤ 10 s.
//
// Baseline, measured in the same run: plain count(*)/sum() scans of the same tables (what
// any report over that data has to read at least).
//
// The season is generated inside PostgreSQL (INSERT … SELECT FROM generate_series, seeded
// with setseed), so seeding is bulk and reproducible. BENCH_PG (default
// postgres://postgres@127.0.0.1:5432/test); the schema is unique to this run and dropped at the end.
// stdout: one `key=value` line per figure; stderr: progress. Nothing is asserted.
import pg from 'pg';
import pino from 'pino';
import { demoCatalogue } from '../demo/dist/catalogue.js';
import { CloudStore } from '../cloud-bridge/dist/core/db/store.js';
import { parsePeriod, rangePeriod } from '../cloud-bridge/dist/modules/insight/period.js';
import { InsightRepository } from '../cloud-bridge/dist/modules/insight/repository.js';
import { Insight } from '../cloud-bridge/dist/modules/insight/service.js';
import { fmt, intEnv, line, note, nowMs, pgSchema } from './lib.js';

const PG_URL = process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const VISITS = intEnv('BENCH_INSIGHT_VISITS', 200_000);
const POS = intEnv('BENCH_INSIGHT_POS', 1_000_000);
const ORDERS = Math.round(VISITS * 0.6); // parties of 1–3: ~0.6 orders per visit
const VISITORS = Math.round(VISITS * 0.7); // ~30 % of visits are by someone who came before
const COUPONS = Math.max(1000, Math.round(VISITS / 4));
const DAYS = 183; // 2027-04-01 … 2027-09-30
const SITE = 'bench-park';
const RUN = `i${process.pid}${Date.now().toString(36)}`;
const cleanups = [];

async function main() {
  const url = await pgSchema(PG_URL, RUN, cleanups);
  const store = await CloudStore.open({ databaseUrl: url });
  cleanups.push(() => store.close());
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  cleanups.push(() => client.end());
  note(`seeding ${VISITS} visits, ${ORDERS} orders, ${POS} POS lines, ${COUPONS} coupons, ${VISITORS} visitors (PostgreSQL, schema bench_${RUN})`);
  const t0 = nowMs();
  await seed(client);
  await client.query('ANALYZE');
  const seedS = (nowMs() - t0) / 1000;
  note(`seeded in ${fmt(seedS, 1)} s`);

  // Baseline: the plainest full reads of the same tables.
  const scans = [
    `SELECT count(*), sum(amount_fen) FROM orders WHERE site = $1`,
    `SELECT count(*), sum(amount_fen) FROM pos_lines WHERE site = $1`,
    `SELECT count(*), sum(persons) FROM entries WHERE site = $1`,
    `SELECT count(*), count(DISTINCT id_hash) FROM visitor_visits WHERE site = $1`,
    `SELECT count(*) FROM coupons WHERE site = $1`,
  ];
  for (const q of scans) await client.query(q, [SITE]); // warm the cache like the reports get it
  const tb = nowMs();
  for (const q of scans) await client.query(q, [SITE]);
  const baselineS = (nowMs() - tb) / 1000;

  const catalogue = demoCatalogue();
  const sites = { site: (id) => (id === SITE ? { id, catalogue } : undefined), config: () => ({}) };
  const insight = new Insight(new InsightRepository(store), { sites, clock: () => new Date('2027-10-01T00:00:00Z'), log: pino({ level: 'silent' }) });
  const month = parsePeriod('2027-07').period;
  const season = rangePeriod('2027-04-01', '2027-09-30').period;
  const time = async (period) => {
    const t = nowMs();
    const r = await insight.report(SITE, period);
    return { s: (nowMs() - t) / 1000, r };
  };
  await time(month); // first run: plans and caches
  const m = await time(month);
  const s1 = await time(season);
  const s2 = await time(season);
  const seasonS = Math.max(s1.s, s2.s);
  const r = s2.r;
  note(`season: ${r.typeMix.reduce((a, t) => a + t.orders, 0)} orders, ${r.refundsTotal} refunds, repeat rate ${fmt(r.repeat.rate ?? NaN, 3)}, secondary-spend share ${fmt(r.secondarySpend.share ?? NaN, 3)}, ${r.suggestions.length} suggestions`);
  line({ insight_visits: VISITS, insight_orders: ORDERS, insight_pos_lines: POS, insight_coupons: COUPONS, insight_visitors: VISITORS, insight_seed_s: fmt(seedS, 1) });
  line({ insight_baseline_scans_s: fmt(baselineS), insight_month_report_s: fmt(m.s), insight_season_report_s: fmt(seasonS), insight_season_vs_baseline: fmt(seasonS / baselineS, 2), insight_target_s: 10 }, seasonS <= 10 ? '(within the 10 s target)' : '(OVER the 10 s target)');
}

/** The season, generated server-side: every row is a function of its number and random() under a fixed seed. */
async function seed(c) {
  const q = (text, params = []) => c.query(text, params);
  await q('SELECT setseed(0.19)');
  const day = (expr) => `to_char(DATE '2027-04-01' + (${expr})::int, 'YYYY-MM-DD')`;
  const pick = (arr, expr) => `(ARRAY[${arr.map((s) => `'${s}'`).join(',')}])[1 + ((${expr})::int % ${arr.length})]`;
  const iso = (ts) => `to_char((${ts}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  const types = ['adult', 'adult', 'adult', 'child', 'senior', 'family', 'family', 'weekend'];
  const fen = { adult: 8000, child: 4000, senior: 4000, family: 18000, weekend: 6800 };
  const priceCase = `CASE t ${Object.entries(fen).map(([k, v]) => `WHEN '${k}' THEN ${v}`).join(' ')} END`;
  // Orders: paid 0–6 days before their visit day, 5 % refunded (a third for schedule conflicts), 10 % with a coupon.
  await q(`
    INSERT INTO orders (order_id, site, channel, status, type_id, gate_type_id, visit_date, slot_id, persons, amount_fen, pricing, contact_phone, created_at, paid_at, refunded_at, refund_reason, payment_mode, coupon_code, discount_fen)
    SELECT 'o' || i, $1, ${pick(['wechat', 'meituan', 'kiosk'], 'i')},
           CASE WHEN i % 20 = 0 THEN 'refunded' ELSE 'paid' END, t, t, ${day('i % ' + DAYS)}, 's10', p, p * ${priceCase}, '{}', '13800000000',
           ${iso(`TIMESTAMPTZ '2027-04-01 10:00+08' + ((i % ${DAYS}) - (i % 7)) * INTERVAL '1 day' + (i % 600) * INTERVAL '1 minute'`)},
           ${iso(`TIMESTAMPTZ '2027-04-01 10:00+08' + ((i % ${DAYS}) - (i % 7)) * INTERVAL '1 day' + (i % 600) * INTERVAL '1 minute'`)},
           CASE WHEN i % 20 = 0 THEN ${iso(`TIMESTAMPTZ '2027-04-01 09:00+08' + ((i % ${DAYS}) - 1) * INTERVAL '1 day'`)} END,
           CASE WHEN i % 20 = 0 THEN ${pick(['schedule', 'weather', 'illness'], 'i / 20')} END,
           'partner', CASE WHEN i % 10 = 0 THEN 'C' || (i / 10) END, CASE WHEN i % 10 = 0 THEN 1000 ELSE 0 END
    FROM (SELECT i, ${pick(types, 'i / 3')} AS t, CASE WHEN ${pick(types, 'i / 3')} = 'family' THEN 3 ELSE 1 + (i % 3) END AS p FROM generate_series(1, ${ORDERS}) AS i) s`, [SITE]);
  note('orders');
  await q(`
    INSERT INTO visitor_profiles (site, id_hash, age_band, gender, region, first_visit, last_visit, visits, updated_at)
    SELECT $1, 'h' || i, ${pick(['0-17', '18-29', '30-44', '45-59', '60+'], 'i')}, ${pick(['f', 'm'], 'i / 5')}, '3301', NULL, NULL, 1, '2027-10-01T00:00:00Z'
    FROM generate_series(0, ${VISITORS - 1}) AS i`, [SITE]);
  // Visits: visit i is order (i mod ORDERS)'s, by visitor (i mod VISITORS): the pairs are unique below lcm(ORDERS, VISITORS).
  await q(`
    INSERT INTO visitor_visits (site, order_id, id_hash, visit_date, channel, type_id, party_size, amount_fen, admitted_at, refunded)
    SELECT $1, 'o' || (1 + i % ${ORDERS}), 'h' || (i % ${VISITORS}), ${day(`(1 + i % ${ORDERS}) % ${DAYS}`)}, 'wechat', 'adult', 2, 8000,
           CASE WHEN random() < 0.95 THEN ${day(`(1 + i % ${ORDERS}) % ${DAYS}`)} || 'T02:00:00.000Z' END, 0
    FROM generate_series(0, ${VISITS - 1}) AS i`, [SITE]);
  note('visitors and visits');
  // Entries: one admission per visit, 07:00–20:59 local, more of them late in the season at night.
  await q(`
    INSERT INTO entries (event_id, site, gate, seq, epoch, kind, ref_seq, ticket_id, type_id, credential, persons, at, received_at, anomaly)
    SELECT 'e' || i, $1, ${pick(['g1', 'g2', 'g3', 'g4'], 'i')}, i, 1, 'admit', NULL, 't' || i, 'adult', 'qr', 1,
           ${day(`i % ${DAYS}`)} || 'T' || lpad((7 + (i::bigint * 7919) % 14)::text, 2, '0') || ':' || lpad((i % 60)::text, 2, '0') || ':00+08:00',
           '2027-10-01T00:00:00Z', NULL
    FROM generate_series(1, ${VISITS}) AS i`, [SITE]);
  note('entries');
  await q(`
    INSERT INTO coupons (site, code, rule_id, id_hash, kind, amount_fen, applies_to, valid_from, valid_to, stacking, state, issued_at, redeemed_at, redeemed_via, discount_fen)
    SELECT $1, 'C' || k, ${pick(['ticket-only-meal', 'third-visit', 'offseason-weekend', 'family-return'], 'k')}, 'h' || (k % ${VISITORS}), 'fixed', 1000, 'pos', '2027-04-01', '2027-10-31', 'exclusive',
           CASE WHEN k % 10 < 3 THEN 'redeemed' ELSE 'issued' END,
           ${iso(`TIMESTAMPTZ '2027-04-01 12:00+08' + (k % ${DAYS}) * INTERVAL '1 day'`)},
           CASE WHEN k % 10 < 3 THEN ${iso(`TIMESTAMPTZ '2027-04-01 15:00+08' + (k % ${DAYS}) * INTERVAL '1 day'`)} END,
           CASE WHEN k % 10 < 3 THEN 'pos' END, CASE WHEN k % 10 < 3 THEN 1000 END
    FROM generate_series(1, ${COUPONS}) AS k`, [SITE]);
  note('coupons');
  // POS lines in chunks (progress, and no single multi-minute statement).
  const chunk = 250_000;
  for (let from = 1; from <= POS; from += chunk) {
    const to = Math.min(POS, from + chunk - 1);
    await q(`
      INSERT INTO pos_lines (site, source, line_id, at, visit_date, amount_fen, category, item, id_hash, order_id, link, coupon_code, discount_fen, received_at)
      SELECT $1, ${pick(['restaurant', 'shop', 'cafe'], 'i')}, 'l' || i, ${day(`i % ${DAYS}`)} || 'T05:00:00.000Z', ${day(`i % ${DAYS}`)},
             200 + (i::bigint * 7919) % 2300, ${pick(['food', 'souvenir', 'drink'], 'i / 3')}, NULL, 'h' || (i % ${VISITORS}), NULL, 'member',
             CASE WHEN i % 50 = 0 THEN 'C' || (1 + (i / 50) % ${COUPONS}) END, CASE WHEN i % 50 = 0 THEN 1000 ELSE 0 END, '2027-10-01T00:00:00Z'
      FROM generate_series(${from}, ${to}) AS i`, [SITE]);
    note(`pos lines ${to}`);
  }
}

try {
  await main();
} finally {
  for (const c of cleanups.reverse()) await c().catch((err) => note(`cleanup: ${err.message}`));
}
