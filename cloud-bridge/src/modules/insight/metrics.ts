import { localClock, minutesOfDay } from '@stile/config';
import type { Catalogue } from '../../core/catalogue.js';
import type { LocalText } from '../../core/i18n.js';
import type { InsightRule } from '../../core/site-config/insight.js';
import { suppressSmallCells } from '../../core/small-cells.js';
import type { CouponRow, HourWindow, InsightReport, InsightRows, Period, RepeatCell } from './model.js';
import { isoWeek } from './period.js';
import { evaluateRules } from './suggestions.js';

export interface BuildContext {
  site: string;
  period: Period;
  previous: { from: string; to: string };
  catalogue: Pick<Catalogue, 'ticketTypes' | 'refundReasons' | 'pricing' | 'timeZone'>;
  minGroup: number;
  rules: readonly InsightRule[];
  now: Date;
}

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);
const same = (s: string): LocalText => ({ 'zh-CN': s, en: s });

/** Local date and hour of an hour bucket as a gate wrote it ("2027-03-10T09", "+08:00"); null when unreadable. */
export function localHour(hour: string, offset: string, tz: string): { date: string; hour: number } | null {
  const t = Date.parse(`${hour}:00:00${offset}`);
  if (!Number.isFinite(t)) return null;
  const l = localClock(tz, t);
  return { date: l.date, hour: Math.floor(l.secondOfDay / 3600) };
}

/** Admitted persons by local hour (24 buckets) of the days from..to. */
export function hourHistogram(entries: InsightRows['entries'], from: string, to: string, tz: string): number[] {
  const out = new Array<number>(24).fill(0);
  for (const e of entries) {
    const l = localHour(e.hour, e.offset, tz);
    if (l && l.date >= from && l.date <= to) out[l.hour]! += e.persons;
  }
  return out;
}

/**
 * Share of admissions in the early-bird / night windows of the catalogue's pricing rules. Whole
 * hours: an hour counts as early when it ends by `before`, as night when it starts at or after `from`.
 */
export function hourWindows(pricing: Catalogue['pricing'], current: number[], previous: number[]): HourWindow[] {
  const share = (hist: number[], inWindow: (h: number) => boolean): number | null => {
    const total = hist.reduce((s, n) => s + n, 0);
    return ratio(
      hist.reduce((s, n, h) => s + (inWindow(h) ? n : 0), 0),
      total,
    );
  };
  const out: HourWindow[] = [];
  const early = pricing.find((r) => r.kind === 'earlyBird');
  const night = pricing.find((r) => r.kind === 'night');
  const add = (kind: HourWindow['kind'], rule: string, inWindow: (h: number) => boolean) => {
    const now = share(current, inWindow);
    const before = share(previous, inWindow);
    out.push({ kind, rule, share: now, previousShare: before, shift: now !== null && before !== null ? now - before : null });
  };
  if (early?.kind === 'earlyBird') add('early', `before ${early.before}`, (h) => (h + 1) * 60 <= minutesOfDay(early.before));
  if (night?.kind === 'night') add('night', `from ${night.from}`, (h) => h * 60 >= minutesOfDay(night.from));
  return out;
}

/** Repeat visitors overall and by age band, with small-cell suppression (no group under k shown). */
export function repeatSection(rows: InsightRows['repeat'], k: number): InsightReport['repeat'] {
  const visitors = rows.reduce((s, r) => s + r.visitors, 0);
  const repeaters = rows.reduce((s, r) => s + r.repeaters, 0);
  // A repeater count under k is itself a small group of visitors: shown neither as a count nor as a rate.
  const safe = (n: number) => n === 0 || n >= k;
  const bands = suppressSmallCells(
    rows.map((r) => ({ key: r.band, count: r.visitors })),
    k,
  );
  const byAgeBand = bands.cells.map((c): RepeatCell => {
    const r = rows.find((x) => x.band === c.key)!;
    return safe(r.repeaters) ? { band: c.key, visitors: c.count, repeaters: r.repeaters, rate: r.repeaters / c.count } : { band: c.key, visitors: c.count, repeaters: null, rate: null };
  });
  const shown = visitors >= k;
  return {
    visitors: shown ? visitors : null,
    repeaters: shown && safe(repeaters) ? repeaters : null,
    rate: shown && safe(repeaters) ? repeaters / visitors : null,
    byAgeBand,
    otherBands: bands.other ? { groups: bands.other.groups, visitors: bands.other.count } : null,
  };
}

/** The report of one period from the repository's aggregates: pure, so every number is testable by hand. */
export function buildInsight(rows: InsightRows, ctx: BuildContext): InsightReport {
  const { catalogue, period } = ctx;
  const tz = catalogue.timeZone;
  const typeNames = new Map(catalogue.ticketTypes.map((t) => [t.id, t.name]));
  const totals = rows.sales.reduce((s, r) => ({ orders: s.orders + r.orders, persons: s.persons + r.persons, revenue: s.revenue + r.revenueFen }), { orders: 0, persons: 0, revenue: 0 });
  const typeMix = rows.sales
    .map((r) => ({
      typeId: r.typeId,
      name: typeNames.get(r.typeId) ?? same(r.typeId),
      orders: r.orders,
      persons: r.persons,
      revenueFen: r.revenueFen,
      orderShare: ratio(r.orders, totals.orders) ?? 0,
      personShare: ratio(r.persons, totals.persons) ?? 0,
      revenueShare: ratio(r.revenueFen, totals.revenue) ?? 0,
    }))
    .sort((a, b) => b.revenueFen - a.revenueFen || a.typeId.localeCompare(b.typeId));

  // Refund reasons per ISO week of the park's local date.
  const weeks: string[] = [];
  for (let d = period.from; d <= period.to; d = nextDay(d)) if (weeks.at(-1) !== isoWeek(d)) weeks.push(isoWeek(d));
  const reasonLabels = new Map(catalogue.refundReasons.map((r) => [r.code, r.label]));
  const byReason = new Map<string, number[]>();
  for (const r of rows.refunds) {
    const l = localHour(r.hour, 'Z', tz);
    if (!l || l.date < period.from || l.date > period.to) continue;
    const series = byReason.get(r.reason) ?? new Array<number>(weeks.length).fill(0);
    series[weeks.indexOf(isoWeek(l.date))]! += r.count;
    byReason.set(r.reason, series);
  }
  const refundsTotal = [...byReason.values()].reduce((s, w) => s + w.reduce((a, b) => a + b, 0), 0);
  const refundReasons = [...byReason.entries()]
    .map(([reason, byWeek]) => {
      const count = byWeek.reduce((a, b) => a + b, 0);
      return { reason, label: reasonLabels.get(reason) ?? same(reason), count, share: ratio(count, refundsTotal) ?? 0, byWeek };
    })
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));

  const orders = new Map(rows.couponOrders.map((r) => [r.ruleId, r]));
  const pos = new Map(rows.couponPos.map((r) => [r.ruleId, r]));
  const ruleIds = [...new Set([...rows.coupons.map((c) => c.ruleId), ...orders.keys(), ...pos.keys()])].sort();
  const coupons = ruleIds.map((ruleId): CouponRow => {
    const c = rows.coupons.find((x) => x.ruleId === ruleId) ?? { issued: 0, redeemed: 0, discountFen: 0 };
    const o = orders.get(ruleId) ?? { orders: 0, revenueFen: 0 };
    const p = pos.get(ruleId) ?? { lines: 0, revenueFen: 0 };
    const uses = o.orders + p.lines;
    return {
      ruleId,
      issued: c.issued,
      redeemed: c.redeemed,
      uptake: ratio(c.redeemed, c.issued),
      discountFen: c.discountFen,
      orders: o.orders,
      orderRevenueFen: o.revenueFen,
      posLines: p.lines,
      posRevenueFen: p.revenueFen,
      revenuePerCouponFen: uses > 0 ? Math.round((o.revenueFen + p.revenueFen) / uses) : null,
    };
  });

  const current = hourHistogram(rows.entries, period.from, period.to, tz);
  const previous = hourHistogram(rows.entries, ctx.previous.from, ctx.previous.to, tz);
  const report: Omit<InsightReport, 'suggestions'> = {
    v: 1,
    site: ctx.site,
    period,
    previous: ctx.previous,
    timeZone: tz,
    generatedAt: ctx.now.toISOString(),
    minGroup: ctx.minGroup,
    typeMix,
    refundWeeks: weeks,
    refundReasons,
    refundsTotal,
    repeat: repeatSection(rows.repeat, ctx.minGroup),
    coupons,
    secondarySpend: { ...rows.spend, share: ratio(rows.spend.posFen, rows.spend.ticketFen + rows.spend.posFen) },
    peakHours: { current, previous, windows: hourWindows(catalogue.pricing, current, previous) },
  };
  return { ...report, suggestions: evaluateRules(ctx.rules, report, catalogue, period) };
}

function nextDay(d: string): string {
  return new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}
