import { describe, expect, it } from 'vitest';
import { demoCatalogue } from '@stile/demo/catalogue';
import { formatZodIssue } from '@stile/config';
import { DEFAULT_INSIGHT_RULES, InsightConfigSchema, type InsightRule } from '../src/core/site-config/insight.js';
import { hourWindows, localHour, repeatSection } from '../src/modules/insight/metrics.js';
import type { InsightReport } from '../src/modules/insight/model.js';
import { isoWeek, parsePeriod, previousPeriod, rangePeriod } from '../src/modules/insight/period.js';
import { insightToCsv, insightToHtml } from '../src/modules/insight/render.js';
import { evaluateRules, pct } from '../src/modules/insight/suggestions.js';

describe('insight periods', () => {
  it('reads ISO weeks, months and days', () => {
    expect(parsePeriod('2027-W10')).toEqual({ ok: true, period: { label: '2027-W10', kind: 'week', from: '2027-03-08', to: '2027-03-14' } });
    expect(parsePeriod('2026-W53')).toEqual({ ok: true, period: { label: '2026-W53', kind: 'week', from: '2026-12-28', to: '2027-01-03' } });
    expect(parsePeriod('2027-02')).toEqual({ ok: true, period: { label: '2027-02', kind: 'month', from: '2027-02-01', to: '2027-02-28' } });
    expect(parsePeriod('2027-12')).toMatchObject({ ok: true, period: { from: '2027-12-01', to: '2027-12-31' } });
    expect(parsePeriod('2027-03-10')).toMatchObject({ ok: true, period: { kind: 'day', from: '2027-03-10', to: '2027-03-10' } });
  });

  it('refuses what is not a period, with the reason', () => {
    expect(parsePeriod('2027-W53')).toEqual({ ok: false, code: 'invalid_request', message: '2027-W53: 2027 has no ISO week 53' });
    expect(parsePeriod('2027-13')).toMatchObject({ ok: false, code: 'invalid_request', message: '2027-13: month 13 is not 01–12' });
    expect(parsePeriod('2027-02-30')).toMatchObject({ ok: false, code: 'invalid_date' });
    expect(parsePeriod('march')).toMatchObject({ ok: false, code: 'invalid_request' });
    expect(rangePeriod('2027-03-10', '2027-03-01')).toMatchObject({ ok: false, code: 'invalid_request', message: 'to 2027-03-01 is before from 2027-03-10' });
    expect(rangePeriod('2025-01-01', '2027-01-01')).toMatchObject({ ok: false, message: 'at most 400 days in one report' });
  });

  it('the previous period has the same length', () => {
    expect(previousPeriod({ from: '2027-03-01', to: '2027-03-31' })).toEqual({ from: '2027-01-29', to: '2027-02-28' });
    expect(previousPeriod({ from: '2027-03-08', to: '2027-03-14' })).toEqual({ from: '2027-03-01', to: '2027-03-07' });
    expect(isoWeek('2027-01-03')).toBe('2026-W53');
    expect(isoWeek('2027-01-04')).toBe('2027-W01');
  });
});

describe('insight metric pieces', () => {
  it('reads a gate’s hour bucket in its own offset', () => {
    expect(localHour('2027-02-28T23', 'Z', 'Asia/Shanghai')).toEqual({ date: '2027-03-01', hour: 7 });
    expect(localHour('2027-03-10T07', '+08:00', 'Asia/Shanghai')).toEqual({ date: '2027-03-10', hour: 7 });
    expect(localHour('garbage', 'Z', 'Asia/Shanghai')).toBeNull();
  });

  it('early-bird hours end by `before`, night hours start at or after `from`', () => {
    const hist = new Array<number>(24).fill(0);
    hist[7] = 1; // 07–08: early for before 08:00
    hist[8] = 1; // 08–09: early only for before 09:00
    hist[17] = 2; // night from 17:00
    const none = new Array<number>(24).fill(0);
    const w = hourWindows([{ kind: 'earlyBird', before: '08:30', percentOff: 20 }, { kind: 'night', from: '17:00', percentOff: 30 }], hist, none);
    expect(w).toEqual([
      { kind: 'early', rule: 'before 08:30', share: 0.25, previousShare: null, shift: null },
      { kind: 'night', rule: 'from 17:00', share: 0.5, previousShare: null, shift: null },
    ]);
    expect(hourWindows([], hist, hist)).toEqual([]);
  });

  it('repeat section: no group under k shown, merged groups under k hidden entirely', () => {
    const rows = [
      { band: '18-29', visitors: 30, repeaters: 12 },
      { band: '30-44', visitors: 25, repeaters: 3 },
      { band: '60+', visitors: 4, repeaters: 1 },
      { band: 'unknown', visitors: 3, repeaters: 0 },
    ];
    const r = repeatSection(rows, 10);
    expect(r).toEqual({
      visitors: 62,
      repeaters: 16,
      rate: 16 / 62,
      byAgeBand: [{ band: '18-29', visitors: 30, repeaters: 12, rate: 0.4 }],
      // 4 + 3 < 10: secondary suppression also folds the smallest shown band (25) in.
      otherBands: { groups: 3, visitors: 32 },
    });
    // A band of 25 with 3 repeaters shows its visitors but not the 3.
    expect(repeatSection([rows[1]!, { band: 'x', visitors: 40, repeaters: 10 }], 10).byAgeBand[0]).toEqual({ band: '30-44', visitors: 25, repeaters: null, rate: null });
  });
});

const cat = demoCatalogue();
const period = { label: '2027-03', kind: 'month' as const, from: '2027-03-01', to: '2027-03-31' };

function metrics(over: Partial<Omit<InsightReport, 'suggestions'>> = {}): Omit<InsightReport, 'suggestions'> {
  return {
    v: 1,
    site: 's',
    period,
    previous: { from: '2027-01-29', to: '2027-02-28' },
    timeZone: 'Asia/Shanghai',
    generatedAt: '2027-04-01T00:00:00.000Z',
    minGroup: 10,
    typeMix: [{ typeId: 'family', name: { 'zh-CN': '家庭套票', en: 'family package' }, orders: 34, persons: 102, revenueFen: 612000, orderShare: 0.34, personShare: 0.5, revenueShare: 0.6 }],
    refundWeeks: ['2027-W09'],
    refundReasons: [{ reason: 'schedule', label: { 'zh-CN': '时间冲突', en: 'schedule conflict' }, count: 38, share: 0.38, byWeek: [38] }],
    refundsTotal: 100,
    repeat: { visitors: 500, repeaters: 20, rate: 0.04, byAgeBand: [], otherBands: null },
    coupons: [{ ruleId: 'meal', issued: 200, redeemed: 10, uptake: 0.05, discountFen: 5000, orders: 0, orderRevenueFen: 0, posLines: 10, posRevenueFen: 30000, revenuePerCouponFen: 3000 }],
    secondarySpend: { ticketFen: 900000, posFen: 100000, posLines: 50, share: 0.1 },
    peakHours: { current: new Array<number>(24).fill(0), previous: new Array<number>(24).fill(0), windows: [] },
    ...over,
  };
}

describe('insight suggestions (pure)', () => {
  it('the issue’s two examples, word for word, and a note when the catalogue already has a free-rebooking type', () => {
    const s = evaluateRules(DEFAULT_INSIGHT_RULES, metrics(), cat, period);
    expect(s[0]!.text.en).toBe("family package 34 % of sales this month (threshold 30 %): consider children's attractions");
    // The demo catalogue labels the reason itself ("Schedule conflict") and has the flex type.
    expect(s[1]!.text.en).toBe('38 % of refunds say Schedule conflict (threshold 30 %): consider a free-rebooking type');
    expect(s[1]!.note?.en).toBe('the catalogue already has one (Flexible date (free rebooking)): make it easier to find');
    const withoutFlex = { ...cat, ticketTypes: cat.ticketTypes.filter((t) => !t.rebooking) };
    expect(evaluateRules(DEFAULT_INSIGHT_RULES, metrics(), withoutFlex, period)[1]!.note).toBeUndefined();
    expect(s.map((x) => x.metric)).toEqual(['typeShare', 'refundReasonShare', 'couponUptake', 'repeatRate', 'secondarySpendShare']);
  });

  it('says nothing at or under a threshold, under minRefunds or minIssued, or for a suppressed repeat rate', () => {
    const quiet = metrics({
      typeMix: [{ ...metrics().typeMix[0]!, orderShare: 0.3 }],
      refundsTotal: 4,
      coupons: [{ ...metrics().coupons[0]!, issued: 19 }],
      repeat: { visitors: null, repeaters: null, rate: null, byAgeBand: [], otherBands: null },
      secondarySpend: { ticketFen: 0, posFen: 0, posLines: 0, share: null },
    });
    expect(evaluateRules(DEFAULT_INSIGHT_RULES, quiet, cat, period)).toEqual([]);
  });

  it('rules as data: share by revenue, one coupon rule, above bounds, own sentences', () => {
    const rules: InsightRule[] = [
      { metric: 'typeShare', type: 'family', by: 'revenue', above: 0.5, say: { 'zh-CN': '{type} {value}', en: '{type} is {value} of revenue {period}' } },
      { metric: 'couponUptake', rule: 'other', below: 0.5, minIssued: 1 },
      { metric: 'repeatRate', above: 0.03 },
      { metric: 'secondarySpendShare', above: 0.05 },
    ];
    const s = evaluateRules(rules, metrics(), cat, period);
    expect(s.map((x) => x.text.en)).toEqual([
      'family package is 60 % of revenue this month',
      'repeat visitors 4 % (threshold 3 %): consider a season pass or member tiers',
      'secondary spending 10 % of revenue (threshold 5 %): consider longer opening hours for food and shops',
    ]);
    expect(s[1]).toMatchObject({ metric: 'repeatRate', value: 0.04, threshold: 0.03, direction: 'above' });
    expect(pct(0.335)).toBe('34 %');
  });

  it('the config refuses a rule it cannot evaluate, naming the field', () => {
    const bad = InsightConfigSchema.safeParse({ rules: [{ metric: 'typeShare', type: 'family', above: 30 }, { metric: 'repeatRate' }, { metric: 'weather' }] });
    expect(bad.success).toBe(false);
    const msgs = bad.error!.issues.map((i) => formatZodIssue(i));
    expect(msgs).toEqual(
      expect.arrayContaining([expect.stringContaining('rules[0].above: above is a share from 0 to 1'), expect.stringContaining('give exactly one of above, below'), expect.stringContaining('metric must be one of')]),
    );
    expect(InsightConfigSchema.parse({ rules: [{ metric: 'typeShare', type: 'family', above: 0.3 }] }).rules![0]).toMatchObject({ by: 'orders' });
  });
});

describe('insight rendering', () => {
  const report: InsightReport = { ...metrics(), suggestions: evaluateRules(DEFAULT_INSIGHT_RULES, metrics(), cat, period) };

  it('CSV: a section per metric, formula-looking names guarded', () => {
    const evil = { ...report, typeMix: [{ ...report.typeMix[0]!, name: { 'zh-CN': '=HYPERLINK("x")', en: '=HYPERLINK("x")' } }] };
    const csv = insightToCsv(evil, { lang: 'en', bom: true });
    expect(csv.startsWith('\uFEFFmetric,value\r\n')).toBe(true);
    expect(csv).toContain(`family,"'=HYPERLINK(""x"")",34,102,6120.00,0.3400,0.5000,0.6000\r\n`);
    expect(csv).toContain('reason,label,count,share,2027-W09\r\nschedule,schedule conflict,38,0.3800,38\r\n');
    expect(csv).toContain('secondary_spend_share,0.1000\r\n');
  });

  it('HTML: the three charts as inline SVG, suggestions escaped, nothing loaded', () => {
    const evil = { ...report, refundReasons: [{ ...report.refundReasons[0]!, label: { 'zh-CN': '<script>x</script>', en: '<script>x</script>' } }] };
    const html = insightToHtml(evil, 'en');
    expect(html).toContain('<svg class="chart typemix"');
    expect(html).toContain('<svg class="chart refunds"');
    expect(html).toContain('<svg class="chart hours"');
    expect(html).toContain('<polyline class="line" data-reason="schedule"');
    expect(html).not.toContain('<script>');
    expect(html).toContain("family package 34 % of sales this month (threshold 30 %): consider children&#39;s attractions");
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
  });
});
