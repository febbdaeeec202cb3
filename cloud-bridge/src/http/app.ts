import { OpenAPIHono } from '@hono/zod-openapi';
import { formatZodIssues } from '@stile/config';
import { bodyLimit } from 'hono/body-limit';
import type { CapacityMonitor } from '../modules/capacity/monitor.js';
import { dashboardAssets, isDashboardAsset } from '../modules/dashboard/assets.js';
import { dashboardPage } from '../modules/dashboard/page.js';
import type { Logger } from '../core/log.js';
import type { Reports } from '../modules/reports/report-service.js';
import { refusalBody } from '../core/refusals.js';
import type { Sales } from '../modules/sales/sales.js';
import { NOT_A_DATE } from '../core/http/schemas.js';
import { channelRoutes, type ChannelEnv } from '../modules/sales/channel-routes.js';
import { bearer, staffRoutes } from '../modules/staff/staff-routes.js';

export interface ChannelApiOptions {
  sales: Sales;
  log: Logger;
  /** SHA-256 (hex) of the staff token per site: pause/resume and the audit log. */
  staffTokens: Map<string, string>;
  reports: Reports;
  monitor: CapacityMonitor;
}

/**
 * The partner channel API (`/v1/channel/…`, one API key per channel), the staff API
 * (`/v1/staff/…`) and the gates' ticket-type rules, with the OpenAPI document at /docs.
 */
export function createChannelApi(opts: ChannelApiOptions): OpenAPIHono<ChannelEnv> {
  const { sales, log } = opts;
  const app = new OpenAPIHono<ChannelEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const message = formatZodIssues(result.error.issues, { root: '(body)' });
        // A date that is not a calendar date is its own code, on every route that takes one.
        const code = result.error.issues.some((i) => i.message === NOT_A_DATE) ? 'invalid_date' : 'invalid_request';
        return c.json(refusalBody(code, message), 400);
      }
      return undefined;
    },
  });
  app.onError((err, c) => {
    // Malformed JSON bodies surface here from the validator.
    if (err instanceof SyntaxError || /JSON/i.test(err.message)) return c.json(refusalBody('invalid_request', 'body is not valid JSON'), 400);
    log.error({ err, path: c.req.path }, 'channel api request failed');
    return c.json(refusalBody('internal', 'internal error'), 500);
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'channelKey', { type: 'http', scheme: 'bearer', description: 'The channel API key' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'staffToken', { type: 'http', scheme: 'bearer', description: "The site's staff token" });

  // An order for 50 visitors is ~5 KB; anything far beyond is refused before it is read.
  // Not on GET/HEAD: bodyLimit reads the request's body stream, which makes the node adapter
  // build a full Request per call (a third of an availability answer's cost); a GET body is never read.
  const limit = bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.json(refusalBody('payload_too_large', 'request body over 64 KiB'), 413) });
  app.use('/v1/*', (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limit(c, next)));
  app.use('/v1/channel/*', async (c, next) => {
    const key = bearer(c);
    const found = key ? sales.channelForKey(key) : undefined;
    if (!found) return c.json(refusalBody('unknown_api_key', 'send the channel API key as Authorization: Bearer <key>'), 401);
    c.set('site', found.site);
    c.set('channel', found.channel);
    await next();
    return undefined;
  });

  channelRoutes(app, sales);
  staffRoutes(app, opts);

  // The staff dashboard: the page (token in the URL fragment, never sent here), its built
  // script and style sheet; its model and live stream are staff routes.
  app.get('/dashboard/assets/:file', (c) => {
    const name = c.req.param('file');
    if (!isDashboardAsset(name)) return c.json({ error: 'not_found' }, 404);
    const a = dashboardAssets().files[name];
    const etag = `"${a.version}"`;
    const headers: Record<string, string> = {
      'content-type': a.contentType,
      etag,
      // The page asks for ?v=<content hash>: that URL never changes content. Any other: revalidate.
      'cache-control': c.req.query('v') === a.version ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
    };
    if (c.req.header('if-none-match') === etag) return c.body(null, 304, headers);
    return c.body(new Uint8Array(a.body), 200, headers);
  });
  app.get('/dashboard/:site', (c) => {
    const site = c.req.param('site');
    if (!sales.site(site)) return c.json(refusalBody('unknown_site', `no site ${site} with sales`), 404);
    const lang = c.req.query('lang') === 'en' ? 'en' : 'zh-CN';
    const page = dashboardPage({ site, lang });
    return c.html(page.html, 200, { 'content-security-policy': page.csp, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff' });
  });

  // The gates' rules, derived from the catalogue: early/night variants carry their windows.
  // GET /v1/sites/{site}/ticket-types is a gate route (http/server.ts): it needs the gate's credential and is signed.

  const doc = {
    openapi: '3.0.3',
    info: {
      title: 'Stile cloud-bridge API',
      version: '1',
      description:
        'Sales channels and park staff. Money is integer fen (1 CNY = 100 fen). Every write takes an Idempotency-Key. Errors are `{ error, message }` with `error` one of the codes listed under each response; visitors are counted in persons (one per entry in `visitors`) and `visitor` fields are indexes into `visitors` (0 = the first).',
    },
  };
  app.doc('/openapi.json', doc);
  app.doc('/docs', doc);
  return app;
}
