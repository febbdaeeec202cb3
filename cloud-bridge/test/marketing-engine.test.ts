import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { demoCatalogue } from '@stile/demo/catalogue';
import { CloudStore } from '../src/core/db/store.js';
import { LogSmsSender } from '../src/core/notify/sms.js';
import type { VisitorDirectory } from '../src/core/ports.js';
import { MarketingConfigSchema } from '../src/core/site-config/marketing.js';
import { SiteRegistry, type SiteConfig } from '../src/core/sites.js';
import { MarketingEngine } from '../src/modules/marketing/engine.js';
import { MarketingRepository } from '../src/modules/marketing/repository.js';
import { DIALECTS, silentLog, testDb, testSite, type TestDb } from './helpers.js';

const TODAY = '2027-01-07'; // a Thursday in the off season; 2027-01-09 is a Saturday
const at = (hhmm: string) => new Date(`${TODAY}T${hhmm}:00+08:00`);
const h = (n: number) => n.toString(16).padStart(64, '0');
const COUPONS = [
  { id: 'half', kind: 'percent', percentOff: 50, appliesTo: 'ticket', validDays: 90 },
  { id: 'lunch', kind: 'fixed', amountFen: 2000, appliesTo: 'pos', categories: ['restaurant'], validDays: 1, name: { 'zh-CN': '午餐立减20元', en: '¥20 off lunch' } },
  { id: 'weekend', kind: 'percent', percentOff: 20, appliesTo: 'ticket', validDays: 1 },
];

describe.each(DIALECTS)('marketing rules engine on %s', (dialect) => {
  const open: { store: CloudStore; db: TestDb }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.store.close();
      await o.db.cleanup();
    }
  });

  /** A site with these rules; visitors reachable by phone when `phones` has them. */
  async function setup(marketing: Record<string, unknown>, opts: { phones?: Record<string, string>; km?: Record<string, number> } = {}) {
    const db = await testDb(dialect);
    const store = await CloudStore.open(db.options);
    open.push({ store, db });
    const site = testSite(['g1']);
    const config: SiteConfig = { ...site.config, sales: { catalogue: demoCatalogue(), capacity: { daily: 5000, yellow: 0.7, orange: 0.85 }, idHashKey: 'k'.repeat(32) }, marketing: MarketingConfigSchema.parse({ coupons: COUPONS, ...marketing }) };
    const id = config.id;
    const phones = opts.phones ?? {};
    const visitors: VisitorDirectory = {
      findVisit: () => Promise.resolve(undefined),
      addSpend: () => Promise.resolve(),
      retag: () => Promise.resolve(),
      reachable: (_s, hash) => Promise.resolve(phones[hash] ? { phone: phones[hash], lang: hash === h(99) ? 'en' : null } : undefined),
      optOutLink: (s, hash) => `/v1/visitor/${s}/opt-out?t=${hash.slice(-6)}`,
      homeDistanceKm: (_s, hash) => Promise.resolve(opts.km?.[hash]),
    };
    const sms = new LogSmsSender(silentLog);
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(chunk.toString()), cb()) }));
    let now = at('10:30');
    const repo = new MarketingRepository(store);
    const engine = new MarketingEngine({ repo, sites: new SiteRegistry([config]), clock: () => now, log, visitors, sms });
    const ts = new Date().toISOString();
    const seed = {
      profile: (hash: string, p: { consent?: boolean; lastVisit?: string } = {}) =>
        store.db
          .insertInto('visitor_profiles')
          .values({ site: id, id_hash: hash, age_band: null, gender: null, region: null, phone_region: null, first_visit: null, last_visit: p.lastVisit ?? TODAY, consent_marketing: p.consent ? 1 : 0, consent_at: null, consent_source: null, opted_out_at: null, member_code: null, member_since: null, last_order_id: null, updated_at: ts })
          .execute(),
      visit: (hash: string, date: string, admitted = true) =>
        store.db.insertInto('visitor_visits').values({ site: id, order_id: `O-${hash.slice(-4)}-${date}`, id_hash: hash, visit_date: date, channel: 'wechat', type_id: 'adult', party_size: 1, amount_fen: 8000, admitted_at: admitted ? `${date}T09:00:00+08:00` : null }).execute(),
      pos: (hash: string, date: string) =>
        store.db.insertInto('pos_lines').values({ site: id, source: 'canteen', line_id: `L-${hash.slice(-4)}`, at: `${date}T12:00:00+08:00`, visit_date: date, amount_fen: 3500, category: 'restaurant', item: null, id_hash: hash, order_id: null, link: 'ticket', coupon_code: null, received_at: ts }).execute(),
    };
    const coupons = () => store.db.selectFrom('coupons').selectAll().where('site', '=', id).orderBy('id_hash').execute();
    return { id, store, engine, sms, lines, seed, coupons, setNow: (d: Date) => (now = d) };
  }

  it('third visit half price: a ticket coupon after the 2nd admitted visit, once, texted only with consent', async () => {
    const t = await setup({ rules: [{ id: 'third', kind: 'nthVisit', template: 'half', n: 3 }] }, { phones: { [h(1)]: '13800000001' } });
    await t.seed.visit(h(1), '2026-12-01');
    await t.seed.visit(h(1), TODAY); // 2nd admitted visit: the coupon is for the 3rd
    await t.seed.visit(h(2), TODAY); // 1st visit only
    await t.seed.visit(h(3), '2026-12-01');
    await t.seed.visit(h(3), TODAY, false); // bought, never let in: not a visit
    await t.seed.visit(h(4), '2026-12-02');
    await t.seed.visit(h(4), TODAY); // 2nd visit, but no consent to messages
    expect(await t.engine.runOnce()).toEqual({ issued: 2, members: 0, messages: 1 });
    const cs = await t.coupons();
    expect(cs.map((c) => [c.id_hash, c.rule_id, c.kind, c.percent_off, c.applies_to, c.valid_from, c.valid_to, c.state])).toEqual([
      [h(1), 'third', 'percent', 50, 'ticket', TODAY, '2027-04-06', 'issued'],
      [h(4), 'third', 'percent', 50, 'ticket', TODAY, '2027-04-06', 'issued'],
    ]);
    // Idempotent: the next minute (or another instance) issues nothing again.
    expect(await t.engine.runOnce()).toEqual({ issued: 0, members: 0, messages: 0 });
    expect(await t.coupons()).toHaveLength(2);
    expect(t.sms.sent).toHaveLength(1);
    expect(t.sms.sent[0]).toMatchObject({ to: '13800000001', template: 'coupon' });
    expect(t.sms.sent[0]!.text).toContain(cs[0]!.code);
    expect(t.sms.sent[0]!.text).toMatch(/退订回复TD或点击 \/v1\/visitor\/.+\/opt-out\?t=000001$/);
    // What was sent is logged, never the phone number.
    const sent = t.lines.filter((l) => l.includes('marketing_sms'));
    expect(sent).toHaveLength(1);
    expect(sent[0]).not.toContain('13800000001');
    expect(t.lines.join('\n')).not.toMatch(/1380000000\d/);
  });

  it('ticket-only visitors get a restaurant coupon from the configured time, one text per phone', async () => {
    const t = await setup({ rules: [{ id: 'lunch-after', kind: 'ticketOnly', template: 'lunch', at: '15:00' }] }, { phones: { [h(1)]: '13800000001', [h(2)]: '13800000001' } });
    for (const n of [1, 2, 3]) await t.seed.visit(h(n), TODAY);
    await t.seed.pos(h(3), TODAY); // ate at the canteen already
    await t.seed.visit(h(4), '2027-01-06'); // yesterday's visitor
    t.setNow(at('14:59'));
    expect((await t.engine.runOnce()).issued).toBe(0);
    t.setNow(at('15:00'));
    expect(await t.engine.runOnce()).toEqual({ issued: 2, members: 0, messages: 1 });
    const cs = await t.coupons();
    expect(cs.map((c) => [c.id_hash, c.applies_to, c.categories, c.valid_from, c.valid_to])).toEqual([
      [h(1), 'pos', '["restaurant"]', TODAY, TODAY],
      [h(2), 'pos', '["restaurant"]', TODAY, TODAY],
    ]);
    // A family on one phone: one message carrying both codes.
    expect(t.sms.sent).toHaveLength(1);
    expect(t.sms.sent[0]!.text).toContain(cs[0]!.code);
    expect(t.sms.sent[0]!.text).toContain(cs[1]!.code);
    expect(t.sms.sent[0]!.text).toContain('午餐立减20元');
    t.setNow(at('15:01'));
    expect((await t.engine.runOnce()).issued).toBe(0);
  });

  it('off-season weekend offer: visitors within N km who said yes, only when the forecast file says sunny', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stile-weather-'));
    const file = join(dir, 'forecast.yaml');
    writeFileSync(file, '2027-01-09: rain\n2027-01-10: sunny\n');
    const rules = [{ id: 'sunny-weekend', kind: 'offSeasonWeekendWeather', template: 'weekend', months: [11, 12, 1, 2, 3], withinKm: 150, daysBefore: 2, at: '10:00' }];
    const km = { [h(1)]: 40, [h(2)]: 900, [h(4)]: 20, [h(99)]: 10 };
    const t = await setup({ rules, weather: { file } }, { phones: { [h(1)]: '13800000001', [h(99)]: '13800000099' }, km });
    await t.seed.profile(h(1), { consent: true });
    await t.seed.profile(h(2), { consent: true }); // too far
    await t.seed.profile(h(3), { consent: true }); // distance unknown
    await t.seed.profile(h(4), { consent: false }); // near, but no consent
    await t.seed.profile(h(99), { consent: true });
    expect((await t.engine.runOnce()).issued).toBe(0); // rainy Saturday
    writeFileSync(file, JSON.stringify({ '2027-01-09': 'sunny', '2027-01-10': 'clear' }));
    expect(await t.engine.runOnce()).toEqual({ issued: 2, members: 0, messages: 2 });
    const cs = await t.coupons();
    expect(cs.map((c) => [c.id_hash, c.valid_from, c.valid_to, c.percent_off])).toEqual([
      [h(1), '2027-01-09', '2027-01-10', 20],
      [h(99), '2027-01-09', '2027-01-10', 20],
    ]);
    expect(t.sms.sent.find((m) => m.to === '13800000099')!.text).toMatch(/^\[Qingshan Lake Scenic Area\] A coupon for you: 20% off .*Reply TD or open .*opt-out\?t=000063 to stop these messages\.$/);
    expect((await t.engine.runOnce()).issued).toBe(0);
  });

  it('membership after N admitted visits: a member code once, and a welcome only to a reachable visitor', async () => {
    const t = await setup({ membership: { afterVisits: 3 } }, { phones: { [h(1)]: '13800000001' } });
    for (const n of [1, 2]) {
      await t.seed.profile(h(n));
      for (const d of ['2026-11-01', '2026-12-01', TODAY]) await t.seed.visit(h(n), d);
    }
    await t.seed.profile(h(3));
    for (const d of ['2026-12-01', TODAY]) await t.seed.visit(h(3), d);
    expect(await t.engine.runOnce()).toEqual({ issued: 0, members: 2, messages: 1 });
    const profiles = await t.store.db.selectFrom('visitor_profiles').select(['id_hash', 'member_code', 'member_since']).where('site', '=', t.id).orderBy('id_hash').execute();
    expect(profiles.map((p) => [p.id_hash, p.member_code !== null, p.member_since])).toEqual([
      [h(1), true, TODAY],
      [h(2), true, TODAY],
      [h(3), false, null],
    ]);
    expect(profiles[0]!.member_code).toMatch(/^M[2-9A-Z]{10}$/);
    expect(t.sms.sent).toHaveLength(1);
    expect(t.sms.sent[0]!.text).toContain(profiles[0]!.member_code);
    expect(t.sms.sent[0]!.text).toMatch(/退订回复TD或点击 \/v1\/visitor\/.+\/opt-out/);
    expect(await t.engine.runOnce()).toEqual({ issued: 0, members: 0, messages: 0 });
  });
});
