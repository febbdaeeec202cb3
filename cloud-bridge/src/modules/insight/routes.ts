import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { errorResponses } from '../../core/http/openapi.js';
import { refusalBody, type RefusalCode } from '../../core/http/refusals.js';
import { SiteParamSchema } from '../../core/http/schemas.js';
import { STAFF_SECURITY, staffAuth, unknownSite } from '../../core/http/staff-auth.js';
import type { CloudApp } from '../../core/module.js';
import type { SiteRegistry } from '../../core/sites.js';
import type { Period } from './model.js';
import { parsePeriod, rangePeriod, type PeriodResult } from './period.js';
import { insightToCsv, insightToHtml } from './render.js';
import { InsightPeriodParamSchema, InsightQuerySchema, InsightRangeQuerySchema, InsightReportSchema } from './schemas.js';
import type { Insight } from './service.js';

/** Each insight route's refusals (besides 413 and 500). */
export const INSIGHT_ROUTE_CODES = {
  report: ['unauthorized', 'invalid_request', 'invalid_date', 'unknown_site'],
} satisfies Record<string, RefusalCode[]>;

const responses = {
  200: {
    content: {
      'application/json': { schema: InsightReportSchema },
      'text/csv': { schema: z.string().openapi({ description: 'format=csv: UTF-8 with a BOM, one section per metric' }) },
      'text/html': { schema: z.string().openapi({ description: 'format=html: a page with SVG charts and the suggestions' }) },
    },
    description: 'Insight report',
  },
  ...errorResponses(INSIGHT_ROUTE_CODES.report),
};

/** Weekly, monthly or any-range product-insight reports for staff, as JSON, CSV or HTML. */
export function insightRoutes(app: CloudApp, opts: { sites: Pick<SiteRegistry, 'staffTokenSha256'>; insight: Insight }): void {
  const tags = ['staff'];
  const answer = async (c: Context, site: string, parsed: PeriodResult, q: { format: 'json' | 'csv' | 'html'; lang: 'zh-CN' | 'en' }) => {
    const denied = staffAuth(opts.sites, c, site);
    if (denied) return denied;
    if (!parsed.ok) return c.json(refusalBody(parsed.code, parsed.message), 400);
    const report = await opts.insight.report(site, parsed.period as Period);
    if (!report) return unknownSite(c, site);
    if (q.format === 'csv') return c.body(insightToCsv(report, { bom: true, lang: q.lang }), 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${site}-insight-${report.period.label.replace('..', '_')}.csv"` });
    if (q.format === 'html') return c.html(insightToHtml(report, q.lang));
    return c.json(report, 200);
  };
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/staff/sites/{site}/insight/{period}',
      tags,
      security: STAFF_SECURITY,
      summary: 'Product insight of a week (YYYY-Www), month (YYYY-MM) or day: type mix, refund reasons, repeat visits, coupons, secondary spend, peak-hour shift, suggestions',
      request: { params: InsightPeriodParamSchema, query: InsightQuerySchema },
      responses,
    }),
    async (c) => {
      const { site, period } = c.req.valid('param');
      return (await answer(c, site, parsePeriod(period), c.req.valid('query'))) as never;
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/staff/sites/{site}/insight',
      tags,
      security: STAFF_SECURITY,
      summary: 'Product insight of any range of days (?from&to, both counted, at most 400 days)',
      request: { params: SiteParamSchema, query: InsightRangeQuerySchema },
      responses,
    }),
    async (c) => {
      const { site } = c.req.valid('param');
      const q = c.req.valid('query');
      return (await answer(c, site, rangePeriod(q.from, q.to), q)) as never;
    },
  );
}
