import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { CloudApp } from '../../core/module.js';
import type { RefusalCode } from '../../core/http/refusals.js';
import { errorResponses, json } from '../../core/http/openapi.js';
import { STAFF_SECURITY, staffAuth as checkStaff, unknownSite } from '../../core/http/staff-auth.js';
import type { SiteRegistry } from '../../core/sites.js';
import { streamSSE } from 'hono/streaming';
import { refusalBody } from '../../core/http/refusals.js';
import { assetResponse } from '../../core/http/web-assets.js';
import { dashboardAssets, isDashboardAsset } from './assets.js';
import { dashboardPage } from './page.js';
import type { DashboardListener } from './live.js';
import type { DashboardModel } from './model.js';
import { SiteParamSchema } from '../../core/http/schemas.js';
import { DashboardModelSchema } from './schemas.js';

/** Each dashboard route's refusals (besides 413 and 500). */
export const DASHBOARD_ROUTE_CODES = {
  dashboard: ['unauthorized', 'unknown_site'],
} satisfies Record<string, RefusalCode[]>;

export interface DashboardRoutesOptions {
  sites: Pick<SiteRegistry, 'staffTokenSha256' | 'site'>;
  dashboard: {
    model(site: string): Promise<DashboardModel | undefined>;
    subscribe(site: string, listener: DashboardListener): () => void;
  };
}

/** The dashboard: its page and built assets (public: the token stays in the URL fragment), its model and live stream (staff token). */
export function dashboardRoutes(app: CloudApp, opts: DashboardRoutesOptions): void {
  const security = STAFF_SECURITY;
  const tags = ['staff'];
  const staffAuth = (c: Context, site: string): Response | undefined => checkStaff(opts.sites, c, site);
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/staff/sites/{site}/dashboard',
      tags,
      security,
      summary: 'Live numbers: admitted vs capacity and level, gates, channels, entries by hour, alerts, conflicts',
      request: { params: SiteParamSchema },
      responses: { 200: json(DashboardModelSchema, 'DashboardModel'), ...errorResponses(DASHBOARD_ROUTE_CODES.dashboard) },
    }),
    async (c) => {
      const { site } = c.req.valid('param');
      const denied = staffAuth(c, site);
      if (denied) return denied as never;
      const model = await opts.dashboard.model(site);
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
        ...errorResponses(DASHBOARD_ROUTE_CODES.dashboard),
      },
    }),
    async (c) => {
      const { site } = c.req.valid('param');
      const denied = staffAuth(c, site);
      if (denied) return denied as never;
      const first = await opts.dashboard.model(site);
      if (!first) return unknownSite(c, site);
      return streamSSE(c, async (stream) => {
        let id = 0;
        const queue: string[] = [JSON.stringify(first)];
        let wake: (() => void) | null = null;
        const off = opts.dashboard.subscribe(site, (m) => {
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
  // The staff dashboard: the page (token in the URL fragment, never sent here), its built
  // script and style sheet; its model and live stream are staff routes.
  app.get('/dashboard/assets/:file', (c) => {
    const name = c.req.param('file');
    if (!isDashboardAsset(name)) return c.json({ error: 'not_found' }, 404);
    // The page asks for ?v=<content hash>: that URL never changes content. Any other: revalidate.
    return assetResponse(c, dashboardAssets().files[name]);
  });
  app.get('/dashboard/:site', (c) => {
    const site = c.req.param('site');
    if (!opts.sites.site(site)) return c.json(refusalBody('unknown_site', `no site ${site} with sales`), 404);
    const lang = c.req.query('lang') === 'en' ? 'en' : 'zh-CN';
    const page = dashboardPage({ site, lang });
    return c.html(page.html, 200, { 'content-security-policy': page.csp, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff' });
  });

}
