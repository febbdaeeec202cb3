import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { CloudApp } from '../../core/module.js';
import type { RefusalCode } from '../../core/http/refusals.js';
import { errorResponses, json } from '../../core/http/openapi.js';
import { STAFF_SECURITY, staffAuth as checkStaff, unknownSite } from '../../core/http/staff-auth.js';
import type { SiteRegistry } from '../../core/sites.js';
import { localizeReport, reportToCsv, reportToHtml } from './daily-report.js';
import type { Reports } from './report-service.js';
import { SiteParamSchema } from '../../core/http/schemas.js';
import { DailyReportSchema, ReportListSchema, ReportParamSchema, ReportQuerySchema } from './schemas.js';

/** Each report route's refusals (besides 413 and 500). */
export const REPORT_ROUTE_CODES = {
  reports: ['unauthorized'],
  report: ['unauthorized', 'invalid_request', 'invalid_date', 'unknown_site'],
} satisfies Record<string, RefusalCode[]>;

export interface ReportRoutesOptions {
  sites: Pick<SiteRegistry, 'staffTokenSha256'>;
  reports: Reports;
}

/** Daily reports for staff: the list, and one day as JSON, CSV or HTML. */
export function reportRoutes(app: CloudApp, opts: ReportRoutesOptions): void {
  const security = STAFF_SECURITY;
  const tags = ['staff'];
  const staffAuth = (c: Context, site: string): Response | undefined => checkStaff(opts.sites, c, site);
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/staff/sites/{site}/reports',
      tags,
      security,
      summary: 'Kept daily reports, newest first, with their headline numbers',
      request: { params: SiteParamSchema },
      responses: { 200: json(ReportListSchema, 'Report list'), ...errorResponses(REPORT_ROUTE_CODES.reports) },
    }),
    async (c) => {
      const { site } = c.req.valid('param');
      const denied = staffAuth(c, site);
      if (denied) return denied as never;
      return c.json({ site, reports: await opts.reports.list(site) }, 200) as never;
    },
  );
  for (const method of ['get', 'post'] as const) {
    app.openapi(
      createRoute({
        method,
        path: '/v1/staff/sites/{site}/reports/{date}',
        tags,
        security,
        summary: method === 'get' ? 'The daily report (kept, or generated now): JSON, CSV or an HTML page with charts' : 'Generate the daily report again now',
        request: { params: ReportParamSchema, query: ReportQuerySchema },
        responses: {
          200: {
            content: {
              'application/json': { schema: DailyReportSchema },
              'text/csv': { schema: z.string().openapi({ description: 'format=csv: UTF-8 with a BOM, for spreadsheets' }) },
              'text/html': { schema: z.string().openapi({ description: 'format=html: a page with charts' }) },
            },
            description: 'Report',
          },
          ...errorResponses(REPORT_ROUTE_CODES.report),
        },
      }),
      async (c) => {
        const { site, date } = c.req.valid('param');
        const denied = staffAuth(c, site);
        if (denied) return denied as never;
        const report = method === 'get' ? await opts.reports.get(site, date) : await opts.reports.generate(site, date);
        if (!report) return unknownSite(c, site);
        const { format, lang } = c.req.valid('query');
        if (format === 'csv') return c.body(reportToCsv(report, { bom: true, lang }), 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${site}-${date}.csv"` }) as never;
        if (format === 'html') return c.html(reportToHtml(report, { lang })) as never;
        return c.json(localizeReport(report, lang), 200) as never;
      },
    );
  }
}
