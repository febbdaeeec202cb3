import { demoCatalogue } from '@stile/demo/catalogue';
import type { Catalogue } from '../src/core/catalogue.js';
import type { CloudStore } from '../src/core/db/store.js';
import type { InsightRule } from '../src/core/site-config/insight.js';
import type { SiteRegistry } from '../src/core/sites.js';
import { InsightRepository } from '../src/modules/insight/repository.js';
import { Insight } from '../src/modules/insight/service.js';
import { silentLog } from './helpers.js';

/*
 * A small season whose right answers are worked out by hand in the comments (March 2027,
 * Asia/Shanghai; the previous period of equal length is 2027-01-29 … 2027-02-28).
 */

export const SITE = 'insight-park';

export function insightCatalogue(): Catalogue {
  // Without a free-rebooking type, so the schedule suggestion reads as for a park that has none.
  const cat = demoCatalogue();
  const refundReasons = cat.refundReasons.filter((r) => r.code !== 'schedule');
  return { ...cat, ticketTypes: cat.ticketTypes.map(({ rebooking: _, ...t }) => t), refundReasons: [...refundReasons, { code: 'schedule', label: { 'zh-CN': '时间冲突', en: 'schedule conflict' } }] };
}

export const TEST_RULES: InsightRule[] = [
  { metric: 'typeShare', type: 'family', by: 'orders', above: 0.3 },
  { metric: 'refundReasonShare', reason: 'schedule', above: 0.3, minRefunds: 2 },
  { metric: 'couponUptake', below: 0.5, minIssued: 3 },
  { metric: 'repeatRate', below: 0.5 },
  { metric: 'secondarySpendShare', below: 0.25 },
];

type Order = [id: string, type: string, persons: number, fen: number, paidAt: string, visit: string, status: string, refundedAt?: string, reason?: string, coupon?: string];
const ORDERS: Order[] = [
  ['o1', 'adult', 2, 16000, '2027-03-05T02:00:00.000Z', '2027-03-10', 'paid'],
  ['o2', 'family', 3, 18000, '2027-03-06T02:00:00.000Z', '2027-03-10', 'paid', undefined, undefined, 'C1'],
  ['o3', 'family', 3, 18000, '2027-03-07T02:00:00.000Z', '2027-03-11', 'refunded', '2027-03-08T03:00:00.000Z', 'schedule'],
  // Paid 2027-03-01 00:30 local: a March sale although its UTC date is February.
  ['o4', 'child', 1, 4000, '2027-02-28T16:30:00.000Z', '2027-03-01', 'paid'],
  // Paid 2027-04-01 00:30 local: not March.
  ['o5', 'adult', 1, 8000, '2027-03-31T16:30:00.000Z', '2027-04-02', 'paid'],
  ['o6', 'adult', 1, 8000, '2027-03-10T01:00:00.000Z', '2027-03-25', 'refunded', '2027-03-20T01:00:00.000Z', 'weather'],
  // Refunded 2027-04-01 00:10 local: a March sale, an April refund.
  ['o7', 'senior', 1, 4000, '2027-03-12T01:00:00.000Z', '2027-04-03', 'refunded', '2027-03-31T16:10:00.000Z', 'schedule'],
];

type Pos = [id: string, visit: string, fen: number, coupon?: string];
const POS: Pos[] = [
  ['p1', '2027-03-10', 5000],
  ['p2', '2027-03-10', 3000, 'C5'],
  ['p3', '2027-03-11', 2000, 'C2'],
  ['p4', '2027-04-01', 1000],
];

type Coupon = [code: string, rule: string, issuedAt: string, redeemedAt?: string, discount?: number];
const COUPONS: Coupon[] = [
  ['C1', 'family-return', '2027-03-01T01:00:00.000Z', '2027-03-06T02:00:00.000Z', 2000],
  ['C2', 'ticket-only-meal', '2027-03-10T05:00:00.000Z', '2027-03-11T05:00:00.000Z', 500],
  ['C3', 'ticket-only-meal', '2027-03-10T05:00:00.000Z'],
  ['C4', 'ticket-only-meal', '2027-03-11T05:00:00.000Z'],
  // Issued in February, redeemed at a March POS: its revenue counts for March, its issue does not.
  ['C5', 'ticket-only-meal', '2027-02-10T05:00:00.000Z', '2027-03-10T06:00:00.000Z', 300],
];

/** [id hash, age band or null (no profile), [visit date, admitted?][]] */
const VISITS: [string, string | null, [string, boolean][]][] = [
  ['h1', '18-29', [['2027-02-10', true], ['2027-03-10', true]]],
  ['h2', '18-29', [['2027-03-10', true]]],
  ['h3', '30-44', [['2027-03-11', true], ['2027-03-20', true]]],
  ['h4', '30-44', [['2027-03-05', false], ['2027-03-06', true]]],
  ['h5', '60+', [['2027-02-01', true]]],
  ['h6', '60+', [['2027-03-02', true], ['2027-04-05', true]]],
  ['h7', null, [['2027-03-15', true]]],
];

type Entry = [at: string, persons: number, kind?: string, anomaly?: string];
const ENTRIES: Entry[] = [
  ['2027-03-10T07:30:00+08:00', 2],
  ['2027-03-10T02:15:00Z', 3], // 10:15 local
  ['2027-03-11T18:05:00+08:00', 1],
  ['2027-02-28T23:30:00Z', 4], // 2027-03-01 07:30 local
  ['2027-03-10T10:00:00+08:00', 100, 'admit', 'unknown_ticket'],
  ['2027-03-10T11:00:00+08:00', 7, 'not-passed'],
  ['2027-02-10T10:00:00+08:00', 4],
  ['2027-02-10T07:00:00+08:00', 1],
  ['2027-01-28T10:00:00+08:00', 50], // before the previous period
];

export async function seedInsight(store: CloudStore, site = SITE): Promise<void> {
  const db = store.db;
  await db
    .insertInto('orders')
    .values(
      ORDERS.map(([order_id, type_id, persons, amount_fen, paid_at, visit_date, status, refunded_at, refund_reason, coupon_code]) => ({
        order_id: `${site}-${order_id}`,
        site,
        channel: 'wechat',
        status,
        type_id,
        gate_type_id: type_id,
        visit_date,
        slot_id: 's10',
        persons,
        amount_fen,
        pricing: '{"unitFen":0}',
        contact_phone: '13800138000',
        created_at: paid_at,
        paid_at,
        payment_ref: null,
        refunded_at: refunded_at ?? null,
        refund_reason: refund_reason ?? null,
        payment_mode: 'partner',
        refund_state: null,
        refund_no: null,
        coupon_code: coupon_code ? `${site}-${coupon_code}` : null,
      })),
    )
    .execute();
  await db
    .insertInto('coupons')
    .values(
      COUPONS.map(([code, rule_id, issued_at, redeemed_at, discount]) => ({
        site,
        code: `${site}-${code}`,
        rule_id,
        id_hash: null,
        kind: 'fixed',
        percent_off: null,
        amount_fen: 500,
        item: null,
        applies_to: 'pos',
        valid_from: '2027-01-01',
        valid_to: '2027-12-31',
        channels: null,
        stacking: 'exclusive',
        state: redeemed_at ? 'redeemed' : 'issued',
        issued_at,
        held_order: null,
        redeemed_at: redeemed_at ?? null,
        redeemed_via: redeemed_at ? 'pos' : null,
        redeemed_ref: null,
        discount_fen: discount ?? null,
      })) as never,
    )
    .execute();
  await db
    .insertInto('pos_lines')
    .values(POS.map(([line_id, visit_date, amount_fen, coupon]) => ({ site, source: 'shop', line_id, at: `${visit_date}T04:00:00.000Z`, visit_date, amount_fen, category: 'food', item: null, id_hash: 'h1', order_id: null, link: 'member', coupon_code: coupon ? `${site}-${coupon}` : null, received_at: `${visit_date}T04:00:00.000Z` })))
    .execute();
  for (const [hash, band, visits] of VISITS) {
    if (band) await db.insertInto('visitor_profiles').values({ site, id_hash: hash, age_band: band, gender: null, region: null, phone_region: null, first_visit: null, last_visit: null, consent_at: null, consent_source: null, opted_out_at: null, member_code: null, member_since: null, last_order_id: null, updated_at: '2027-03-01T00:00:00Z' } as never).execute();
    await db
      .insertInto('visitor_visits')
      .values(visits.map(([visit_date, admitted], i) => ({ site, order_id: `${hash}-v${i}`, id_hash: hash, visit_date, channel: 'wechat', type_id: 'adult', party_size: 1, amount_fen: 8000, admitted_at: admitted ? `${visit_date}T02:00:00.000Z` : null })))
      .execute();
  }
  await db
    .insertInto('entries')
    .values(ENTRIES.map(([at, persons, kind, anomaly], i) => ({ event_id: `${site}-e${i}`, site, gate: 'g1', seq: String(i + 1), epoch: 1, kind: kind ?? 'admit', ref_seq: null, ticket_id: `t${i}`, type_id: 'adult', credential: 'qr', persons, at, received_at: at, anomaly: anomaly ?? null })))
    .execute();
}

export function insightService(store: CloudStore, opts: { catalogue?: Catalogue; minGroup?: number; rules?: InsightRule[] } = {}): Insight {
  const catalogue = opts.catalogue ?? insightCatalogue();
  const sites = {
    site: (id: string) => (id === SITE ? { id, catalogue } : undefined),
    config: (id: string) => (id === SITE ? { visitors: { minGroup: opts.minGroup ?? 2 }, insight: { rules: opts.rules ?? TEST_RULES } } : undefined),
  } as unknown as Pick<SiteRegistry, 'site' | 'config'>;
  return new Insight(new InsightRepository(store), { sites, clock: () => new Date('2027-04-02T00:00:00Z'), log: silentLog });
}
