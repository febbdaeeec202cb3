import { createHash, timingSafeEqual } from 'node:crypto';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context, Env } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { CapacityMonitor } from '../capacity/monitor.js';
import { reportToCsv, reportToHtml } from '../reports/daily-report.js';
import type { Reports } from '../reports/report-service.js';
import { refusalBody, type RefusalCode } from '../../core/refusals.js';
import type { Sales } from '../sales/sales.js';
import {
  AuditLogSchema,
  ChannelParamSchema,
  ChannelStateSchema,
  DailyReportSchema,
  DashboardModelSchema,
  PauseSchema,
  ReportListSchema,
  ReportParamSchema,
  ReportQuerySchema,
  SiteParamSchema,
} from '../../core/http/schemas.js';
import { errorResponses, json, send } from '../../core/http/openapi.js';

export function bearer(c: Context): string | undefined {
  const h = c.req.header('authorization');
  if (h?.startsWith('Bearer ')) return h.slice(7).trim();
  return c.req.header('x-api-key') ?? undefined;
}

function sameSha256(token: string, expectedHex: string): boolean {
  const got = createHash('sha256').update(token, 'utf8').digest();
  const want = Buffer.from(expectedHex, 'hex');
  return want.length === got.length && timingSafeEqual(got, want);
}

/** Each staff route's refusals (besides 413 and 500). A site without a staff token answers 401 like a wrong token. */
export const STAFF_ROUTE_CODES = {
  pause: ['unauthorized', 'invalid_request', 'unknown_site', 'unknown_channel'],
  audit: ['unauthorized'],
  reports: ['unauthorized'],
  report: ['unauthorized', 'invalid_request', 'invalid_date', 'unknown_site'],
  dashboard: ['unauthorized', 'unknown_site'],
} satisfies Record<string, RefusalCode[]>;

export interface StaffRoutesOptions {
  sales: Sales;
  /** SHA-256 (hex) of the staff token per site. */
  staffTokens: Map<string, string>;
  reports: Reports;
  monitor: CapacityMonitor;
}

/**
 * Staff: a per-site token; who and why go into the audit log. Only ever in the Authorization
 * header: a token in the URL ends up in access logs, proxies and browser history, so ?token=
 * is not read at all (the dashboard streams with fetch() and opens reports as blobs).
 */
export function staffRoutes<E extends Env>(app: OpenAPIHono<E>, opts: StaffRoutesOptions): void {
  const { sales } = opts;
  const security = [{ staffToken: [] }];
  const tags = ['staff'];
  const staffAuth = (c: Context, site: string): Response | undefined => {
    const want = opts.staffTokens.get(site);
    const token = bearer(c);
    if (!want || !token || !sameSha256(token, want)) {
      const hint = c.req.query('token') !== undefined ? ' (never in the URL: ?token= is not accepted)' : '';
      return c.json(refusalBody('unauthorized', `send the site staff token as Authorization: Bearer <token>${hint}`), 401);
    }
    return undefined;
  };
  const unknownSite = (c: Context, site: string) => c.json(refusalBody('unknown_site', `no site ${site} with sales`), 404) as never;

  for (const action of ['pause', 'resume'] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/v1/staff/sites/{site}/channels/{channel}/${action}`,
        tags,
        security,
        summary: action === 'pause' ? 'Stop a channel selling (audit-logged)' : 'Let a paused channel sell again (audit-logged)',
        request: { params: ChannelParamSchema, body: { content: { 'application/json': { schema: PauseSchema } }, required: true } },
        responses: { 200: json(ChannelStateSchema, 'New channel state'), ...errorResponses(STAFF_ROUTE_CODES.pause) },
      }),
      async (c) => {
        const { site, channel } = c.req.valid('param');
        const denied = staffAuth(c, site);
        if (denied) return denied as never;
        const { by, reason } = c.req.valid('json');
        const reply = await sales.setChannelPaused(site, channel, action === 'pause', by, reason);
        if (reply.status === 200) {
          const message =
            action === 'pause'
              ? { zh: `渠道 ${channel} 已由 ${by} 暂停：${reason}`, en: `Channel ${channel} paused by ${by}: ${reason}` }
              : { zh: `渠道 ${channel} 已由 ${by} 恢复：${reason}`, en: `Channel ${channel} resumed by ${by}: ${reason}` };
          await opts.monitor.alert({ site, kind: action === 'pause' ? 'channel_paused' : 'channel_resumed', message, at: new Date().toISOString(), details: { channel, by, reason } });
        }
        return send(c, reply);
      },
    );
  }
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/staff/sites/{site}/audit',
      tags,
      security,
      summary: 'Staff actions, newest first',
      request: { params: SiteParamSchema },
      responses: { 200: json(AuditLogSchema, 'Audit log'), ...errorResponses(STAFF_ROUTE_CODES.audit) },
    }),
    async (c) => {
      const { site } = c.req.valid('param');
      const denied = staffAuth(c, site);
      if (denied) return denied as never;
      return c.json({ site, entries: await sales.auditLog(site) }, 200) as never;
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/staff/sites/{site}/reports',
      tags,
      security,
      summary: 'Kept daily reports, newest first, with their headline numbers',
      request: { params: SiteParamSchema },
      responses: { 200: json(ReportListSchema, 'Report list'), ...errorResponses(STAFF_ROUTE_CODES.reports) },
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
          ...errorResponses(STAFF_ROUTE_CODES.report),
        },
      }),
      async (c) => {
        const { site, date } = c.req.valid('param');
        const denied = staffAuth(c, site);
        if (denied) return denied as never;
        const report = method === 'get' ? await opts.reports.get(site, date) : await opts.reports.generate(site, date);
        if (!report) return unknownSite(c, site);
        const { format, lang } = c.req.valid('query');
        if (format === 'csv') return c.body(reportToCsv(report, { bom: true }), 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${site}-${date}.csv"` }) as never;
        if (format === 'html') return c.html(reportToHtml(report, { lang })) as never;
        return c.json(report, 200) as never;
      },
    );
  }
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/staff/sites/{site}/dashboard',
      tags,
      security,
      summary: 'Live numbers: admitted vs capacity and level, gates, channels, entries by hour, alerts, conflicts',
      request: { params: SiteParamSchema },
      responses: { 200: json(DashboardModelSchema, 'DashboardModel'), ...errorResponses(STAFF_ROUTE_CODES.dashboard) },
    }),
    async (c) => {
      const { site } = c.req.valid('param');
      const denied = staffAuth(c, site);
      if (denied) return denied as never;
      const model = await opts.monitor.model(site);
      if (!model) return unknownSite(c, site);
      return c.json(model, 200) as never;
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/staff/sites/{site}/dashboard/stream',
      tags,
      security,
      summary: 'The dashboard model as server-sent events: the current one first, then each change; a comment line every 20 s when idle',
      request: { params: SiteParamSchema },
      responses: {
        200: { content: { 'text/event-stream': { schema: z.string().openapi({ description: '`data:` lines carry a DashboardModel as JSON, `id:` counts from 1' }) } }, description: 'Event stream' },
        ...errorResponses(STAFF_ROUTE_CODES.dashboard),
      },
    }),
    async (c) => {
      const { site } = c.req.valid('param');
      const denied = staffAuth(c, site);
      if (denied) return denied as never;
      const first = await opts.monitor.model(site);
      if (!first) return unknownSite(c, site);
      return streamSSE(c, async (stream) => {
        let id = 0;
        const queue: string[] = [JSON.stringify(first)];
        let wake: (() => void) | null = null;
        const off = opts.monitor.subscribe(site, (m) => {
          queue.splice(0, queue.length, JSON.stringify(m)); // only the newest matters
          wake?.();
        });
        stream.onAbort(() => {
          off();
          wake?.();
        });
        try {
          while (!stream.aborted) {
            const next = queue.shift();
            if (next !== undefined) {
              await stream.writeSSE({ data: next, id: String(++id) });
            } else {
              // Nothing new for 20 s: a comment line keeps proxies from dropping an idle stream.
              const woke = await new Promise<boolean>((r) => {
                const t = setTimeout(() => r(false), 20_000);
                wake = () => {
                  clearTimeout(t);
                  r(true);
                };
              });
              if (!woke && !stream.aborted) await stream.write(': ping\n\n');
            }
            wake = null;
          }
        } finally {
          off();
        }
      }) as never;
    },
  );
}
