import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudStore } from '../src/core/db/store.js';
import { parsePeriod } from '../src/modules/insight/period.js';
import { DIALECTS, testDb, type TestDb } from './helpers.js';
import { insightService, seedInsight, SITE } from './insight-fixtures.js';

const MARCH = (() => {
  const p = parsePeriod('2027-03');
  if (!p.ok) throw new Error('bad period');
  return p.period;
})();

describe.each(DIALECTS)('insight metrics on %s', (dialect) => {
  let db: TestDb;
  let store: CloudStore;
  beforeAll(async () => {
    db = await testDb(dialect);
    store = await CloudStore.open(db.options);
    await seedInsight(store);
  });
  afterAll(async () => {
    await store.close();
    await db.cleanup();
  });

  it('ticket-type mix: orders paid in the park’s local month, shares of orders, persons and revenue', async () => {
    const r = (await insightService(store).report(SITE, MARCH))!;
    expect(r.previous).toEqual({ from: '2027-01-29', to: '2027-02-28' });
    // adult o1+o6, family o2+o3, child o4 (paid 00:30 local on 1 March), senior o7; o5 was paid on 1 April local.
    expect(r.typeMix.map((t) => [t.typeId, t.orders, t.persons, t.revenueFen])).toEqual([
      ['family', 2, 6, 36000],
      ['adult', 2, 3, 24000],
      ['child', 1, 1, 4000],
      ['senior', 1, 1, 4000],
    ]);
    const family = r.typeMix[0]!;
    expect(family.orderShare).toBeCloseTo(2 / 6, 10);
    expect(family.personShare).toBeCloseTo(6 / 11, 10);
    expect(family.revenueShare).toBeCloseTo(36000 / 68000, 10);
  });

  it('refund reasons per ISO week of the local date', async () => {
    const r = (await insightService(store).report(SITE, MARCH))!;
    expect(r.refundWeeks).toEqual(['2027-W09', '2027-W10', '2027-W11', '2027-W12', '2027-W13']);
    // o3 schedule on Mon 8 March (W10), o6 weather on Sat 20 March (W11); o7 was refunded on 1 April local.
    expect(r.refundsTotal).toBe(2);
    expect(r.refundReasons.map((x) => [x.reason, x.count, x.share, x.byWeek])).toEqual([
      ['schedule', 1, 0.5, [0, 1, 0, 0, 0]],
      ['weather', 1, 0.5, [0, 0, 1, 0, 0]],
    ]);
  });

  it('repeat-visit rate with small-cell suppression (k = 2)', async () => {
    const r = (await insightService(store).report(SITE, MARCH))!;
    // Admitted in March: h1 h2 h3 h4 h6 h7 (6); two admitted visits by 31 March: h1 h3.
    expect(r.repeat).toMatchObject({ visitors: 6, repeaters: 2 });
    expect(r.repeat.rate).toBeCloseTo(1 / 3, 10);
    // 18-29 and 30-44 have 2 visitors each, 1 repeater each: a repeater group under k is not shown.
    expect(r.repeat.byAgeBand).toEqual([
      { band: '18-29', visitors: 2, repeaters: null, rate: null },
      { band: '30-44', visitors: 2, repeaters: null, rate: null },
    ]);
    // 60+ (h6) and the visitor without a profile (h7): one visitor each, merged.
    expect(r.repeat.otherBands).toEqual({ groups: 2, visitors: 2 });
  });

  it('with the default k = 10 the six visitors are not shown at all', async () => {
    const r = (await insightService(store, { minGroup: 10 }).report(SITE, MARCH))!;
    expect(r.repeat).toEqual({ visitors: null, repeaters: null, rate: null, byAgeBand: [], otherBands: { groups: 4, visitors: null } });
    expect(r.suggestions.map((s) => s.metric)).not.toContain('repeatRate');
  });

  it('coupon uptake by rule, and revenue per coupon from orders and POS lines', async () => {
    const r = (await insightService(store).report(SITE, MARCH))!;
    expect(r.coupons).toEqual([
      { ruleId: 'family-return', issued: 1, redeemed: 1, uptake: 1, discountFen: 2000, orders: 1, orderRevenueFen: 18000, posLines: 0, posRevenueFen: 0, revenuePerCouponFen: 18000 },
      // C2 C3 C4 issued in March, C2 redeemed; POS lines p3 (C2) and p2 (C5, issued in February).
      { ruleId: 'ticket-only-meal', issued: 3, redeemed: 1, uptake: 1 / 3, discountFen: 500, orders: 0, orderRevenueFen: 0, posLines: 2, posRevenueFen: 5000, revenuePerCouponFen: 2500 },
    ]);
  });

  it('secondary-spend share: POS / (paid tickets visiting in March + POS)', async () => {
    const r = (await insightService(store).report(SITE, MARCH))!;
    // Tickets: o1 16000 + o2 18000 + o4 4000 (o3, o6 refunded; o5, o7 visit in April). POS: p1+p2+p3.
    expect(r.secondarySpend).toEqual({ ticketFen: 38000, posFen: 10000, posLines: 3, share: 10000 / 48000 });
  });

  it('peak-hour shift: early-bird and night shares against the previous period', async () => {
    const r = (await insightService(store).report(SITE, MARCH))!;
    // March: 07h 2+4, 10h 3, 18h 1 (the anomaly and the not-passed event do not count).
    expect(r.peakHours.current[7]).toBe(6);
    expect(r.peakHours.current[10]).toBe(3);
    expect(r.peakHours.current[18]).toBe(1);
    expect(r.peakHours.current.reduce((a, b) => a + b, 0)).toBe(10);
    // Previous: 07h 1, 10h 4 (28 January is before it).
    expect(r.peakHours.previous.reduce((a, b) => a + b, 0)).toBe(5);
    expect(r.peakHours.windows).toEqual([
      { kind: 'early', rule: 'before 08:00', share: 0.6, previousShare: 0.2, shift: expect.closeTo(0.4, 10) },
      { kind: 'night', rule: 'from 17:00', share: 0.1, previousShare: 0, shift: 0.1 },
    ]);
  });

  it('suggestions from the rules, in rule order, with the numbers in the sentence', async () => {
    const r = (await insightService(store).report(SITE, MARCH))!;
    expect(r.suggestions.map((s) => s.text.en)).toEqual([
      "Family package (2 adults + 1 child) 33 % of sales this month (threshold 30 %): consider children's attractions",
      '50 % of refunds say schedule conflict (threshold 30 %): consider a free-rebooking type',
      'coupon rule ticket-only-meal: 33 % redeemed of 3 issued (threshold 50 %): consider a bigger discount, a longer window or another audience',
      'repeat visitors 33 % (threshold 50 %): consider membership or a return-visit coupon',
      'secondary spending 21 % of revenue (threshold 25 %): consider coupons for ticket-only visitors, food and shops near the exits',
    ]);
    expect(r.suggestions[0]!.text['zh-CN']).toBe('家庭套票（2 大 1 小）占本月销售的 33 %（阈值 30 %）：可考虑增加儿童游乐项目');
  });

  it('a day: the daily report’s section', async () => {
    const s = (await insightService(store).day(SITE, '2027-03-10'))!;
    // Visits of 10 March: o1 + o2 paid (34000); POS p1 + p2 (8000).
    expect(s.secondarySpend).toEqual({ ticketFen: 34000, posFen: 8000, share: 8000 / 42000 });
    expect(s.coupons).toEqual([
      { ruleId: 'ticket-only-meal', issued: 2, redeemed: 1, uptake: 0.5 },
    ]);
  });

  it('an unknown site has no report', async () => {
    expect(await insightService(store).report('nope', MARCH)).toBeUndefined();
  });
});
