import { addDays } from '@stile/config';
import { localInstant } from '../../core/catalogue.js';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/log.js';
import type { InsightDaySection, InsightView } from '../../core/ports.js';
import { DEFAULT_INSIGHT_RULES } from '../../core/site-config/insight.js';
import type { SiteRegistry } from '../../core/sites.js';
import { buildInsight } from './metrics.js';
import type { InsightReport, Period } from './model.js';
import { previousPeriod } from './period.js';
import type { InsightRepository } from './repository.js';

/** Default k of small-cell suppression when sites[].visitors.minGroup is not set. */
export const DEFAULT_MIN_GROUP = 10;

export interface InsightContext {
  sites: Pick<SiteRegistry, 'site' | 'config'>;
  clock: Clock;
  log: Logger;
}

/** Product-insight reports of a period: the repository's aggregates, built into metrics and suggestions. */
export class Insight implements InsightView {
  constructor(
    private readonly repo: InsightRepository,
    private readonly ctx: InsightContext,
  ) {}

  /** The site's small-cell threshold (sites[].visitors.minGroup, default 10). */
  minGroup(siteId: string): number {
    const v = (this.ctx.sites.config(siteId)?.visitors as { minGroup?: number } | undefined)?.minGroup;
    return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : DEFAULT_MIN_GROUP;
  }

  /** The report of a period; undefined for a site without sales. */
  async report(siteId: string, period: Period): Promise<InsightReport | undefined> {
    const site = this.ctx.sites.site(siteId);
    if (!site) return undefined;
    const started = performance.now();
    const tz = site.catalogue.timeZone;
    const previous = previousPeriod(period);
    const rows = await this.repo.rows({
      site: siteId,
      from: period.from,
      to: period.to,
      fromUtc: localInstant(period.from, '00:00', tz).toISOString(),
      toUtc: localInstant(addDays(period.to, 1), '00:00', tz).toISOString(),
      entriesFrom: addDays(previous.from, -1),
      entriesTo: addDays(period.to, 2),
    });
    const report = buildInsight(rows, {
      site: siteId,
      period,
      previous,
      catalogue: site.catalogue,
      minGroup: this.minGroup(siteId),
      rules: this.ctx.sites.config(siteId)?.insight?.rules ?? DEFAULT_INSIGHT_RULES,
      now: this.ctx.clock(),
    });
    this.ctx.log.debug({ site: siteId, period: period.label, ms: Math.round(performance.now() - started), suggestions: report.suggestions.length }, 'insight report built');
    return report;
  }

  /** The daily report's insight part: the day's suggestions and headline numbers. */
  async day(siteId: string, date: string): Promise<InsightDaySection | undefined> {
    const r = await this.report(siteId, { label: date, kind: 'day', from: date, to: date });
    if (!r) return undefined;
    return {
      suggestions: r.suggestions.map((s) => ({ metric: s.metric, text: s.text, ...(s.note ? { note: s.note } : {}) })),
      secondarySpend: { ticketFen: r.secondarySpend.ticketFen, posFen: r.secondarySpend.posFen, share: r.secondarySpend.share },
      repeatRate: r.repeat.rate,
      coupons: r.coupons.map((c) => ({ ruleId: c.ruleId, issued: c.issued, redeemed: c.redeemed, uptake: c.uptake })),
    };
  }
}
