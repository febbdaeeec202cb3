// The demo park's generated season (demo/src/season.ts): the same seed gives the same history,
// its facts agree with each other (split lines add up to what was paid, admissions match the
// visits, nothing personal in the analytics tables), it is written once into an empty store on
// SQLite and PostgreSQL, and a demo cloud started with it shows non-empty reports of a past day.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localDate } from '@stile/config';
import { loadRegionData } from '../../cloud-bridge/src/modules/visitors/geo.js';
import { testBridge, testDb, testSite } from '../../cloud-bridge/test/helpers.js';
import { demoCatalogue, withBookingChannel } from '../src/catalogue.js';
import { demoCloud } from '../src/cloud.js';
import { CITIES, generateSeason, type Season } from '../src/season.js';
import { seedSeason } from '../src/season-store.js';

const catalogue = withBookingChannel(demoCatalogue());
const TODAY = '2026-12-01';
const base = { site: 'demo-park', idHashKey: 'season-test-id-hash-key-0123456789', today: TODAY };
const num = (v: unknown) => Number(v);

describe('demo season: the generator (pure)', () => {
  const season: Season = generateSeason(catalogue, { ...base, visits: 12_000, days: 120 });
  const rows = season.rows;

  it('is deterministic: the same seed and day give the same rows; another seed other rows', () => {
    const again = generateSeason(catalogue, { ...base, visits: 12_000, days: 120 });
    const digest = (s: Season) => createHash('sha256').update(JSON.stringify(s.rows)).digest('hex');
    expect(digest(again)).toBe(digest(season));
    expect(digest(generateSeason(catalogue, { ...base, visits: 12_000, days: 120, seed: 7 }))).not.toBe(digest(season));
    expect(season.from).toBe('2026-08-03');
    expect(season.to).toBe('2026-11-30');
    // Every table of the visitor-data modules has rows.
    for (const [table, n] of Object.entries(season.counts)) expect(n, table).toBeGreaterThan(0);
    expect(season.counts.visitor_visits).toBeGreaterThan(11_000);
  });

  it('covers the catalogue: family package, combos, the free-rebooking type; the family package is over 30 % of the orders (the default threshold of the insight rule)', () => {
    const paid = rows.orders.filter((o) => o.status === 'paid');
    const byType = new Map<string, number>();
    for (const o of paid) byType.set(o.type_id, (byType.get(o.type_id) ?? 0) + o.amount_fen);
    for (const t of ['adult', 'child', 'senior', 'family', 'weekend', 'flex', 'hotel', 'farmstay']) expect(byType.get(t) ?? 0, t).toBeGreaterThan(0);
    // Family share counted as the insight report does (orders): above its 30 % threshold, so the suggestion shows.
    const familyOrders = paid.filter((o) => o.type_id === 'family').length / paid.length;
    expect(familyOrders).toBeGreaterThan(0.3);
  });

  it('split lines of each combo order add up to the amount paid; a refund reverses them to 0', () => {
    const lines = new Map<string, { sale: number; reversal: number }>();
    for (const l of rows.split_ledger) {
      const s = lines.get(l.order_id) ?? { sale: 0, reversal: 0 };
      if (l.kind === 'sale') s.sale += l.amount_fen;
      else s.reversal += l.amount_fen;
      lines.set(l.order_id, s);
    }
    const combos = rows.orders.filter((o) => o.type_id === 'hotel' || o.type_id === 'farmstay');
    expect(combos.length).toBeGreaterThan(50);
    expect(lines.size).toBe(combos.length);
    for (const o of combos) {
      const s = lines.get(o.order_id)!;
      expect(s.sale, o.order_id).toBe(o.amount_fen);
      expect(s.sale + s.reversal, o.order_id).toBe(o.status === 'refunded' ? 0 : o.amount_fen);
    }
    for (const l of rows.split_ledger) expect(l.amount_fen === 0 || Math.sign(l.amount_fen) === (l.kind === 'sale' ? 1 : -1)).toBe(true);
  });

  it('visits match admissions: every admitted visitor has their ticket\'s entry, refunded orders none', () => {
    const entriesByTicket = new Map(rows.entries.map((e) => [e.ticket_id as string, e]));
    const ticketOf = new Map(rows.order_visitors.map((v) => [`${String(v.order_id)}/${String(v.id_hash)}`, v.ticket_id as string]));
    const refunded = new Set(rows.orders.filter((o) => o.status === 'refunded').map((o) => o.order_id));
    let admitted = 0;
    for (const v of rows.visitor_visits) {
      const e = entriesByTicket.get(ticketOf.get(`${String(v.order_id)}/${String(v.id_hash)}`)!);
      if (v.admitted_at) {
        admitted++;
        expect(e?.at).toBe(v.admitted_at);
        expect(refunded.has(v.order_id as string)).toBe(false);
      } else expect(e).toBeUndefined();
    }
    expect(rows.entries.reduce((s, e) => s + num(e.persons), 0)).toBe(admitted);
    // A ticket's status follows its fate: used when admitted, refunded with its order.
    const ticketStatus = new Map(rows.tickets.map((t) => [t.ticket_id as string, t.status]));
    for (const e of rows.entries) expect(ticketStatus.get(e.ticket_id as string)).toBe('used');
    // Profiles add up their visits (refunded ones do not count).
    const visits = new Map<string, number>();
    for (const v of rows.visitor_visits) if (!v.refunded) visits.set(v.id_hash as string, (visits.get(v.id_hash as string) ?? 0) + 1);
    for (const p of rows.visitor_profiles) expect(p.visits, String(p.id_hash)).toBe(visits.get(p.id_hash as string));
    // Visit amounts add up to the order's amount.
    const byOrder = new Map<string, number>();
    for (const v of rows.visitor_visits) byOrder.set(v.order_id as string, (byOrder.get(v.order_id as string) ?? 0) + num(v.amount_fen));
    for (const o of rows.orders) expect(byOrder.get(o.order_id), o.order_id).toBe(o.amount_fen);
  });

  it('has repeat visitors and members, schedule conflict as the most common refund reason, and the early-bird shift', () => {
    const repeaters = rows.visitor_profiles.filter((p) => num(p.visits) >= 2).length;
    expect(repeaters / rows.visitor_profiles.length).toBeGreaterThan(0.1);
    expect(rows.visitor_profiles.filter((p) => p.member_code !== null).length).toBeGreaterThan(50);
    const reasons = new Map<string, number>();
    for (const o of rows.orders) if (o.refund_reason) reasons.set(o.refund_reason as string, (reasons.get(o.refund_reason as string) ?? 0) + 1);
    const sorted = [...reasons].sort((a, b) => b[1] - a[1]);
    expect(sorted[0]![0]).toBe('schedule');
    expect(sorted[0]![1] / rows.orders.filter((o) => o.status === 'refunded').length).toBeGreaterThan(0.3);
    // Admissions before 08:00 (Beijing), before and after the early-bird offer started.
    const early = (from: string, to: string) => {
      const list = rows.entries.filter((e) => {
        const day = new Date(Date.parse(e.at as string) + 8 * 3600_000).toISOString();
        return day.slice(0, 10) >= from && day.slice(0, 10) < to;
      });
      return list.filter((e) => new Date(Date.parse(e.at as string) + 8 * 3600_000).getUTCHours() < 8).length / list.length;
    };
    expect(season.earlyBirdFrom).toBe('2026-11-01');
    expect(early(season.earlyBirdFrom, TODAY) - early(season.from, season.earlyBirdFrom)).toBeGreaterThan(0.08);
    // Coupons issued and some redeemed, on tickets and at the POS.
    expect(rows.coupons.filter((c) => c.state === 'redeemed' && c.applies_to === 'pos').length).toBeGreaterThan(10);
    expect(rows.coupons.filter((c) => c.state === 'redeemed' && c.applies_to === 'ticket').length).toBeGreaterThan(10);
    expect(new Set(rows.pos_lines.map((l) => l.category))).toEqual(new Set(['restaurant', 'shop', 'culture']));
  });

  it('keeps no ID number or phone in the analytics tables; regions are real GB/T 2260 cities', () => {
    const analytics = ['visitor_profiles', 'visitor_visits', 'pos_lines', 'coupons', 'coupon_grants', 'split_ledger', 'partner_redemptions', 'entries'] as const;
    const phones = new Set(rows.orders.map((o) => o.contact_phone as string));
    const found: string[] = [];
    for (const table of analytics) {
      for (const row of rows[table]) {
        for (const [k, v] of Object.entries(row)) {
          if (k === 'id_hash' || k === 'seq' || k === 'event_id' || typeof v !== 'string') continue;
          // No run of 11 digits or more (a phone, an ID number) in any other field, and no contact phone.
          if (/\d{11}/.test(v) || phones.has(v)) found.push(`${table}.${k}: ${v}`);
        }
      }
    }
    expect(found).toEqual([]);
    // The orders keep the contact phone (to send the ticket), the visitors only a masked number.
    for (const v of rows.order_visitors) expect(v.id_masked).toMatch(/^\*{14}[\dX]{4}$/);
    const cities = loadRegionData().table.cities;
    for (const [code] of CITIES) expect(cities[code], code).toBeDefined();
    for (const p of rows.visitor_profiles) {
      expect(cities[p.region as string], String(p.region)).toBeDefined();
      expect(['0-17', '18-29', '30-44', '45-59', '60+']).toContain(p.age_band);
      expect(['f', 'm']).toContain(p.gender);
    }
  });
});

describe('demo season: written once into an empty store', { timeout: 120_000 }, () => {
  for (const dialect of ['sqlite', 'postgres'] as const) {
    it(`${dialect}: one transaction of bulk inserts; a second run sees the marker and writes nothing`, async () => {
      const db = await testDb(dialect);
      const site = testSite(['g1']);
      const bridge = await testBridge(db, [site.config]);
      try {
        const o = { ...base, site: site.config.id, visits: 3000, days: 40 };
        const first = await seedSeason(bridge.store.db, catalogue, o);
        expect(first.written).toBe(true);
        const counts = first.written ? first.summary.counts : undefined;
        const n = async (t: 'orders' | 'entries' | 'visitor_visits' | 'split_ledger') => num((await bridge.store.db.selectFrom(t).select((eb) => eb.fn.countAll().as('n')).where('site', '=', site.config.id).executeTakeFirstOrThrow()).n);
        expect(await n('orders')).toBe(counts!.orders);
        expect(await n('entries')).toBe(counts!.entries);
        expect(await n('visitor_visits')).toBe(counts!.visitor_visits);
        expect(await n('split_ledger')).toBe(counts!.split_ledger);
        expect(await seedSeason(bridge.store.db, catalogue, o)).toEqual({ written: false, why: 'a season is already in this store' });
        expect(await n('orders')).toBe(counts!.orders);
      } finally {
        await bridge.close();
        await db.cleanup();
      }
    });
  }
});

describe('demo season: a demo cloud started on an empty store', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'stile-demo-season-'));
  const printed: string[] = [];
  const cloud = demoCloud({ print: (l) => void printed.push(l), logLevel: 'silent', season: { visits: 30_000, days: 120 } });
  afterAll(async () => {
    await cloud.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('generates the default season fast and shows it in the daily report of a past day and in the insight report', async () => {
    const started = Date.now();
    const s = await cloud.start(dir, { id: 'demo-park', gates: ['east-1', 'west-1'], idHashKey: 'season-test-id-hash-key-0123456789' });
    const startMs = Date.now() - started;
    // The whole start (broker, payment simulator, bridge, the season) stays quick on a fresh machine.
    expect(startMs).toBeLessThan(30_000);
    // One line says how many of each were generated (and how long it took: docs/visitor-data/demo.md).
    const line = printed.find((l) => l.startsWith('history: generated'));
    expect(line).toMatch(/^history: generated \d{4}-\d{2}-\d{2}…\d{4}-\d{2}-\d{2} in [\d.]+ s — \d+ orders, \d+ visitors, \d+ tickets, \d+ admissions, \d+ visits, \d+ profiles, \d+ POS lines, \d+ coupons, \d+ split rows/);
    console.log(line);
    const token = /#token=([0-9a-f]+)/.exec(s.dashboardUrl)![1]!;
    const base = s.sales.baseUrl;
    const today = localDate(Date.now(), 'Asia/Shanghai');
    const yesterday = new Date(Date.parse(`${today}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    const res = await fetch(`${base}/v1/staff/sites/demo-park/reports/${yesterday}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const report = (await res.json()) as { totals: { orders: number; revenueFen: number }; totalEntries: number; typeMix: unknown[]; entriesByHour: { persons?: number; entries?: number }[] };
    expect(report.totals.orders).toBeGreaterThan(20);
    expect(report.totals.revenueFen).toBeGreaterThan(0);
    expect(report.totalEntries).toBeGreaterThan(20);
    expect(report.typeMix.length).toBeGreaterThan(2);
    const html = await (await fetch(`${base}/v1/staff/sites/demo-park/reports/${yesterday}?format=html`, { headers: { authorization: `Bearer ${token}` } })).text();
    expect(html).toContain('<svg');
    // The insight report of last month: type mix, refund reasons, suggestions.
    const month = new Date(Date.parse(`${today.slice(0, 7)}-01T00:00:00Z`) - 86_400_000).toISOString().slice(0, 7);
    const ins = await fetch(`${base}/v1/staff/sites/demo-park/insight/${month}`, { headers: { authorization: `Bearer ${token}` } });
    expect(ins.status).toBe(200);
    const insight = (await ins.json()) as { suggestions: { metric: string; subject?: string }[] };
    // The suggestions staff read: the family package above 30 % of the orders, schedule conflicts above 30 % of the refunds.
    expect(insight.suggestions.map((x) => `${x.metric}:${x.subject ?? ''}`)).toEqual(expect.arrayContaining(['typeShare:family', 'refundReasonShare:schedule']));
  });
});
