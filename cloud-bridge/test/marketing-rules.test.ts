import { describe, expect, it } from 'vitest';
import { CouponRuleSchema, MarketingConfigSchema } from '../src/core/site-config/marketing.js';
import { couponText, welcomeText } from '../src/modules/marketing/messages.js';
import { membershipDue, nearEnough, nthVisitPeriod, ticketOnlyDue, ticketOnlyVisitors, weekday, weekendOffer } from '../src/modules/marketing/rules.js';
import { checkTerms, discountOf, newCouponCode, normalizeCode, windowOf, type CouponTerms, type CouponUse } from '../src/modules/marketing/terms.js';
import { parseForecast } from '../src/modules/marketing/weather.js';

const rule = <K extends string>(r: Record<string, unknown> & { kind: K }) => CouponRuleSchema.parse({ id: 'r', template: 't', ...r });

describe('issuing rules (pure)', () => {
  it('third visit half price: due after the 2nd admitted visit, once (or every 3rd with repeat)', () => {
    const r = rule({ kind: 'nthVisit', n: 3 }) as Extract<ReturnType<typeof rule>, { kind: 'nthVisit' }>;
    expect([0, 1, 2, 3, 4, 5].map((v) => nthVisitPeriod(r, v))).toEqual([undefined, undefined, 'visit-3', undefined, undefined, undefined]);
    const again = { ...r, repeat: true };
    expect([2, 3, 5, 8].map((v) => nthVisitPeriod(again, v))).toEqual(['visit-3', undefined, 'visit-6', 'visit-9']);
    expect(nthVisitPeriod({ ...r, enabled: false }, 2)).toBeUndefined();
  });

  it('ticket-only: from the configured time of day, the visitors of the day without a POS line', () => {
    const r = rule({ kind: 'ticketOnly', at: '15:00', until: '18:00' }) as Extract<ReturnType<typeof rule>, { kind: 'ticketOnly' }>;
    expect(ticketOnlyDue(r, '14:59')).toBe(false);
    expect(ticketOnlyDue(r, '15:00')).toBe(true);
    expect(ticketOnlyDue(r, '18:01')).toBe(false);
    expect(ticketOnlyVisitors(['a', 'b', 'a', 'c'], new Set(['b']))).toEqual(['a', 'c']);
  });

  it('off-season weekend: two days before an off-season Saturday, only when both days are sunny', () => {
    const r = rule({ kind: 'offSeasonWeekendWeather', months: [1, 2, 11, 12], withinKm: 100, daysBefore: 2, at: '10:00' }) as Extract<ReturnType<typeof rule>, { kind: 'offSeasonWeekendWeather' }>;
    expect(weekday('2027-01-09')).toBe(6); // a Saturday
    const sunny = new Map([
      ['2027-01-09', 'sunny'],
      ['2027-01-10', 'Clear'],
    ]);
    expect(weekendOffer(r, '2027-01-07', '10:00', sunny)).toEqual({ saturday: '2027-01-09', sunday: '2027-01-10' });
    expect(weekendOffer(r, '2027-01-07', '09:59', sunny)).toBeUndefined(); // before the time of day
    expect(weekendOffer(r, '2027-01-06', '10:00', sunny)).toBeUndefined(); // three days before: not a Saturday in 2
    expect(weekendOffer(r, '2027-01-07', '10:00', new Map([...sunny, ['2027-01-10', 'rain']]))).toBeUndefined();
    expect(weekendOffer(r, '2027-01-07', '10:00', new Map([['2027-01-09', 'sunny']]))).toBeUndefined(); // no forecast for Sunday: no guess
    expect(weekendOffer(r, '2027-05-06', '10:00', new Map([['2027-05-08', 'sunny'], ['2027-05-09', 'sunny']]))).toBeUndefined(); // May is not off-season here
    expect(nearEnough(r, 99.5)).toBe(true);
    expect(nearEnough(r, 100.1)).toBe(false);
    expect(nearEnough(r, undefined)).toBe(false);
  });

  it('membership after N admitted visits, once', () => {
    expect(membershipDue(3, 2, null)).toBe(false);
    expect(membershipDue(3, 3, null)).toBe(true);
    expect(membershipDue(3, 5, 'MABC')).toBe(false);
    expect(membershipDue(undefined, 9, null)).toBe(false);
  });
});

const terms = (over: Partial<CouponTerms> = {}): CouponTerms => ({
  code: 'CABC',
  idHash: 'h1',
  kind: 'percent',
  percentOff: 50,
  amountFen: null,
  item: null,
  appliesTo: 'ticket',
  validFrom: '2027-03-01',
  validTo: '2027-03-31',
  channels: null,
  stacking: 'exclusive',
  state: 'issued',
  minSpendFen: 0,
  categories: null,
  ...over,
});
const ticket = (over: Partial<Extract<CouponUse, { on: 'ticket' }>> = {}): CouponUse => ({ on: 'ticket', channel: 'wechat', useDate: '2027-03-10', today: '2027-03-05', ownerHashes: ['h1', 'h2'], amountFen: 16000, priceDiscounts: [], typeId: 'adult', unitFen: 8000, providerMode: false, ...over });
const code = (v: ReturnType<typeof checkTerms>) => (v.ok ? 'ok' : v.code);

describe('coupon terms (pure)', () => {
  it('takes the percent, fixed or free-item value off, rounded down, never more than the price', () => {
    expect(checkTerms(terms(), ticket())).toEqual({ ok: true, discountFen: 8000 });
    expect(discountOf({ kind: 'percent', percentOff: 33, amountFen: null }, { amountFen: 1001, on: 'pos' })).toBe(330);
    expect(discountOf({ kind: 'fixed', percentOff: null, amountFen: 5000 }, { amountFen: 3000, on: 'ticket' })).toBe(3000);
    expect(discountOf({ kind: 'free_item', percentOff: null, amountFen: null }, { amountFen: 16000, on: 'ticket', unitFen: 8000 })).toBe(8000);
    expect(discountOf({ kind: 'free_item', percentOff: null, amountFen: 2500 }, { amountFen: 1800, on: 'pos' })).toBe(1800);
  });

  it('refuses with the reason', () => {
    expect(code(checkTerms(terms({ state: 'held' }), ticket()))).toBe('coupon_in_use');
    expect(code(checkTerms(terms({ state: 'redeemed' }), ticket()))).toBe('coupon_used');
    expect(code(checkTerms(terms({ state: 'void' }), ticket()))).toBe('coupon_void');
    expect(code(checkTerms(terms({ appliesTo: 'pos' }), ticket()))).toBe('coupon_not_applicable');
    expect(code(checkTerms(terms({ channels: ['booking', 'kiosk'] }), ticket()))).toBe('coupon_not_for_channel');
    expect(code(checkTerms(terms({ channels: ['wechat'] }), ticket()))).toBe('ok');
    expect(code(checkTerms(terms(), ticket({ useDate: '2027-04-01' })))).toBe('coupon_expired');
    expect(code(checkTerms(terms(), ticket({ today: '2027-04-01', useDate: '2027-03-30' })))).toBe('coupon_expired');
    expect(code(checkTerms(terms(), ticket({ useDate: '2027-02-28' })))).toBe('coupon_not_yet_valid');
    expect(code(checkTerms(terms({ idHash: 'h9' }), ticket()))).toBe('coupon_not_yours');
    expect(code(checkTerms(terms({ idHash: null }), ticket()))).toBe('ok'); // a bearer coupon
    expect(code(checkTerms(terms({ minSpendFen: 20000 }), ticket()))).toBe('coupon_min_spend');
    expect(code(checkTerms(terms(), ticket({ priceDiscounts: [{ rule: 'night', percentOff: 30 }] })))).toBe('coupon_not_stackable');
    expect(code(checkTerms(terms({ stacking: 'stackable' }), ticket({ priceDiscounts: [{ rule: 'night', percentOff: 30 }] })))).toBe('ok');
    expect(code(checkTerms(terms({ kind: 'free_item', percentOff: null, item: 'child' }), ticket()))).toBe('coupon_not_applicable');
    // WeChat Pay / Alipay cannot take 0 fen: a coupon that would make such an order free is refused…
    expect(code(checkTerms(terms({ kind: 'fixed', percentOff: null, amountFen: 20000 }), ticket({ providerMode: true })))).toBe('coupon_not_applicable');
    // …a partner channel collects itself: the order is free.
    expect(checkTerms(terms({ kind: 'fixed', percentOff: null, amountFen: 20000 }), ticket())).toEqual({ ok: true, discountFen: 16000 });
  });

  it('at the POS: the category, the POS source and the checkout visitor', () => {
    const pos = terms({ appliesTo: 'pos', categories: ['restaurant'], kind: 'fixed', percentOff: null, amountFen: 2000 });
    const use = (over: Partial<Extract<CouponUse, { on: 'pos' }>> = {}): CouponUse => ({ on: 'pos', source: 'canteen', useDate: '2027-03-10', idHash: 'h1', amountFen: 5000, category: 'restaurant', ...over });
    expect(checkTerms(pos, use())).toEqual({ ok: true, discountFen: 2000 });
    expect(code(checkTerms(pos, use({ category: 'shop' })))).toBe('coupon_not_applicable');
    expect(code(checkTerms(pos, use({ idHash: null })))).toBe('coupon_not_yours');
    expect(code(checkTerms(pos, use({ idHash: 'h2' })))).toBe('coupon_not_yours');
    expect(code(checkTerms({ ...pos, channels: ['shop1'] }, use()))).toBe('coupon_not_for_channel');
    expect(code(checkTerms(pos, ticket()))).toBe('coupon_not_applicable');
  });

  it('windows, codes', () => {
    expect(windowOf({ validDays: 1 }, '2027-03-10')).toEqual({ from: '2027-03-10', to: '2027-03-10' });
    expect(windowOf({ validDays: 90 }, '2027-03-10')).toEqual({ from: '2027-03-10', to: '2027-06-07' });
    expect(windowOf({ validFrom: '2027-01-01', validTo: '2027-02-28' }, '2027-03-10')).toEqual({ from: '2027-01-01', to: '2027-02-28' });
    const c = newCouponCode();
    expect(c).toMatch(/^C[2-9A-HJKMNP-Z]{12}$/);
    expect(normalizeCode(` ${c.slice(0, 5).toLowerCase()}-${c.slice(5)} `)).toBe(c);
  });
});

describe('marketing config', () => {
  const base = { coupons: [{ id: 'half', kind: 'percent', percentOff: 50, appliesTo: 'ticket', validDays: 90 }] };
  it('accepts templates and rules, with defaults', () => {
    const c = MarketingConfigSchema.parse({ ...base, rules: [{ id: 'third', kind: 'nthVisit', template: 'half', n: 3 }], membership: { afterVisits: 3 } });
    expect(c.coupons[0]).toMatchObject({ stacking: 'exclusive', minSpendFen: 0 });
    expect(c.rules[0]).toMatchObject({ enabled: true, repeat: false });
  });
  it('reports every problem with its path', () => {
    const r = MarketingConfigSchema.safeParse({
      coupons: [
        { id: 'a', kind: 'percent', appliesTo: 'ticket', validDays: 1 },
        { id: 'b', kind: 'fixed', amountFen: 100, appliesTo: 'pos', validFrom: '2027-02-01', validTo: '2027-01-01' },
      ],
      rules: [
        { id: 'x', kind: 'nthVisit', template: 'nope', n: 3 },
        { id: 'y', kind: 'offSeasonWeekendWeather', template: 'b', months: [1], withinKm: 50 },
      ],
    });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['coupons.0.percentOff', 'coupons.1.validTo', 'rules.0.template', 'rules.1.template', 'weather']));
  });
});

describe('forecast file and messages', () => {
  it('reads JSON or YAML, lower-cases, ignores what it cannot read', () => {
    expect([...parseForecast('{"2027-01-09":"Sunny","2027-01-10":{"condition":"rain"}}', ['2027-01-09', '2027-01-10', '2027-01-11'])]).toEqual([
      ['2027-01-09', 'sunny'],
      ['2027-01-10', 'rain'],
    ]);
    expect([...parseForecast('2027-01-09: clear\n', ['2027-01-09'])]).toEqual([['2027-01-09', 'clear']]);
    expect(parseForecast(': : not yaml [', ['2027-01-09']).size).toBe(0);
  });

  it('every message carries the opt-out line and link', () => {
    const t = MarketingConfigSchema.parse({ coupons: [{ id: 'r', kind: 'fixed', amountFen: 2000, appliesTo: 'pos', validDays: 1 }] }).coupons[0]!;
    const zh = couponText('青山湖风景区', t, ['CABC'], '2027-03-10', 'https://park.example/v1/visitor/s/opt-out?t=x', 'zh-CN');
    expect(zh).toContain('CABC');
    expect(zh).toContain('立减20元');
    expect(zh).toMatch(/退订回复TD或点击 https:\/\/park\.example\/v1\/visitor\/s\/opt-out\?t=x$/);
    expect(couponText('Park', t, ['C1', 'C2'], '2027-03-10', '/o', 'en')).toMatch(/Codes C1, C2.*Reply TD or open \/o to stop these messages\.$/);
    expect(welcomeText('Park', 'M123', 3, '/o', 'en')).toMatch(/member \(no\. M123\).*stop these messages\.$/);
  });
});
