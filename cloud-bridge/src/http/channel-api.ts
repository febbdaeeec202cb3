import { createHash, timingSafeEqual } from 'node:crypto';
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { streamSSE } from 'hono/streaming';
import type { CapacityMonitor } from '../capacity/monitor.js';
import { dashboardAssets, isDashboardAsset } from '../dashboard/assets.js';
import { dashboardPage } from '../dashboard/page.js';
import type { Channel } from '../catalogue/catalogue.js';
import type { Logger } from '../log.js';
import { reportToCsv, reportToHtml } from '../reports/daily-report.js';
import type { Reports } from '../reports/report-service.js';
import type { Reply, Sales, SalesSite } from '../sales/sales.js';
import {
  AvailabilityQuerySchema,
  ChannelParamSchema,
  CreateOrderSchema,
  ErrorSchema,
  IdempotencyHeaderSchema,
  OrderIdParamSchema,
  PauseSchema,
  PaySchema,
  RebookSchema,
  RefundSchema,
} from '../sales/schemas.js';

type Env = { Variables: { site: SalesSite; channel: Channel } };

const json = (schema: z.ZodType, description: string) => ({ content: { 'application/json': { schema } }, description });
const ANY = z.object({}).passthrough();
const errors = {
  400: json(ErrorSchema, 'Request does not match the schema (`invalid_request`)'),
  401: json(ErrorSchema, 'Missing or unknown API key (`unknown_api_key`)'),
  404: json(ErrorSchema, 'Unknown order or site'),
  409: json(ErrorSchema, 'Refused by state: `sold_out`, `capacity_orange`, `capacity_red`, `channel_paused`, `already_paid`, `already_refunded`, `not_paid`, `ticket_used`'),
  422: json(ErrorSchema, 'Refused by rule: `invalid_id_number`, `duplicate_visitor`, `unknown_refund_reason`, `amount_mismatch`, `idempotency_key_reused`, `slot_required`, `date_in_past`, pricing refusals'),
};

/**
 * A Sales reply as the HTTP response. Typed `never` on purpose: the statuses come from the
 * sales rules at run time, which the per-route response typing cannot follow; the schemas
 * in the routes still document them.
 */
function send(c: Context, reply: Reply): never {
  return c.json(reply.body, reply.status as 200) as never;
}

function bearer(c: Context): string | undefined {
  const h = c.req.header('authorization');
  if (h?.startsWith('Bearer ')) return h.slice(7).trim();
  return c.req.header('x-api-key') ?? undefined;
}

function sameSha256(token: string, expectedHex: string): boolean {
  const got = createHash('sha256').update(token, 'utf8').digest();
  const want = Buffer.from(expectedHex, 'hex');
  return want.length === got.length && timingSafeEqual(got, want);
}

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
export function createChannelApi(opts: ChannelApiOptions): OpenAPIHono<Env> {
  const { sales, log } = opts;
  const app = new OpenAPIHono<Env>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const message = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
        return c.json({ error: 'invalid_request', message }, 400);
      }
      return undefined;
    },
  });
  app.onError((err, c) => {
    // Malformed JSON bodies surface here from the validator.
    if (err instanceof SyntaxError || /JSON/i.test(err.message)) return c.json({ error: 'invalid_request', message: 'body is not valid JSON' }, 400);
    log.error({ err, path: c.req.path }, 'channel api request failed');
    return c.json({ error: 'internal', message: 'internal error' }, 500);
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'channelKey', { type: 'http', scheme: 'bearer', description: 'The channel API key' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'staffToken', { type: 'http', scheme: 'bearer', description: "The site's staff token" });

  // An order for 50 visitors is ~5 KB; anything far beyond is refused before it is read.
  app.use('/v1/*', bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.json({ error: 'payload_too_large', message: 'request body over 64 KiB' }, 413) }));
  app.use('/v1/channel/*', async (c, next) => {
    const key = bearer(c);
    const found = key ? sales.channelForKey(key) : undefined;
    if (!found) return c.json({ error: 'unknown_api_key', message: 'send the channel API key as Authorization: Bearer <key>' }, 401);
    c.set('site', found.site);
    c.set('channel', found.channel);
    await next();
    return undefined;
  });

  const security = [{ channelKey: [] }];
  app.openapi(
    createRoute({ method: 'get', path: '/v1/channel/availability', tags: ['channel'], security, summary: 'Remaining places by slot for a day, prices for this channel, "almost full" flag', request: { query: AvailabilityQuerySchema }, responses: { 200: json(ANY, 'Availability'), ...errors } }),
    async (c) => send(c, await sales.availability(c.get('site'), c.get('channel'), c.req.valid('query').date)),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/channel/orders',
      tags: ['channel'],
      security,
      summary: 'Real-name order for N visitors; holds the places until paid',
      request: { headers: IdempotencyHeaderSchema, body: { content: { 'application/json': { schema: CreateOrderSchema } }, required: true } },
      responses: { 201: json(ANY, 'Order created (pending payment)'), ...errors },
    }),
    async (c) => send(c, await sales.createOrder(c.get('site'), c.get('channel'), c.req.valid('header')['idempotency-key'], c.req.valid('json'))),
  );
  app.openapi(
    createRoute({ method: 'get', path: '/v1/channel/orders/{orderId}', tags: ['channel'], security, summary: 'An order with its tickets and masked visitors', request: { params: OrderIdParamSchema }, responses: { 200: json(ANY, 'Order'), ...errors } }),
    async (c) => send(c, await sales.getOrder(c.get('site'), c.get('channel'), c.req.valid('param').orderId)),
  );
  const write = <B extends z.ZodType>(path: string, summary: string, schema: B) =>
    createRoute({
      method: 'post',
      path,
      tags: ['channel'],
      security,
      summary,
      request: { params: OrderIdParamSchema, headers: IdempotencyHeaderSchema, body: { content: { 'application/json': { schema } }, required: true } },
      responses: { 200: json(ANY, 'Done'), ...errors },
    });
  app.openapi(write('/v1/channel/orders/{orderId}/pay', 'Payment confirmed: issues the tickets (whitelist delta to every gate) and sends the SMS', PaySchema), async (c) =>
    send(c, await sales.pay(c.get('site'), c.get('channel'), c.req.valid('header')['idempotency-key'], c.req.valid('param').orderId, c.req.valid('json'))),
  );
  app.openapi(write('/v1/channel/orders/{orderId}/refund', 'Refund a paid, unused order with a reason from the park’s list', RefundSchema), async (c) =>
    send(c, await sales.refund(c.get('site'), c.get('channel'), c.req.valid('header')['idempotency-key'], c.req.valid('param').orderId, c.req.valid('json'))),
  );
  app.openapi(write('/v1/channel/orders/{orderId}/rebook', 'Move a paid, unused order to another date/slot (new codes, old ones stop working)', RebookSchema), async (c) =>
    send(c, await sales.rebook(c.get('site'), c.get('channel'), c.req.valid('header')['idempotency-key'], c.req.valid('param').orderId, c.req.valid('json'))),
  );

  // Staff: a per-site token; who and why go into the audit log. Only ever in the Authorization
  // header: a token in the URL ends up in access logs, proxies and browser history, so
  // ?token= is not read at all (the dashboard streams with fetch() and opens reports as blobs).
  const staffAuth = (c: Context, site: string): Response | undefined => {
    const want = opts.staffTokens.get(site);
    const token = bearer(c);
    if (!want || !token || !sameSha256(token, want)) {
      const hint = c.req.query('token') !== undefined ? ' (never in the URL: ?token= is not accepted)' : '';
      return c.json({ error: 'unauthorized', message: `send the site staff token as Authorization: Bearer <token>${hint}` }, 401);
    }
    return undefined;
  };
  for (const action of ['pause', 'resume'] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/v1/staff/sites/{site}/channels/{channel}/${action}`,
        tags: ['staff'],
        security: [{ staffToken: [] }],
        summary: action === 'pause' ? 'Stop a channel selling (audit-logged)' : 'Let a paused channel sell again (audit-logged)',
        request: { params: ChannelParamSchema, body: { content: { 'application/json': { schema: PauseSchema } }, required: true } },
        responses: { 200: json(ANY, 'New channel state'), ...errors },
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
    createRoute({ method: 'get', path: '/v1/staff/sites/{site}/audit', tags: ['staff'], security: [{ staffToken: [] }], summary: 'Staff actions, newest first', request: { params: z.object({ site: z.string() }) }, responses: { 200: json(ANY, 'Audit log'), ...errors } }),
    async (c) => {
      const { site } = c.req.valid('param');
      const denied = staffAuth(c, site);
      if (denied) return denied as never;
      return c.json({ site, entries: await sales.auditLog(site) }, 200);
    },
  );

  app.openapi(
    createRoute({ method: 'get', path: '/v1/staff/sites/{site}/reports', tags: ['staff'], security: [{ staffToken: [] }], summary: 'Kept daily reports, newest first, with their headline numbers', request: { params: z.object({ site: z.string() }) }, responses: { 200: json(ANY, 'Report list'), ...errors } }),
    async (c) => {
      const { site } = c.req.valid('param');
      const denied = staffAuth(c, site);
      if (denied) return denied as never;
      return c.json({ site, reports: await opts.reports.list(site) }, 200) as never;
    },
  );
  const reportRoute = (method: 'get' | 'post') =>
    createRoute({
      method,
      path: '/v1/staff/sites/{site}/reports/{date}',
      tags: ['staff'],
      security: [{ staffToken: [] }],
      summary: method === 'get' ? 'The daily report (kept, or generated now): JSON, CSV or an HTML page with charts' : 'Generate the daily report again now',
      request: {
        params: z.object({
          site: z.string(),
          date: z
            .string()
            .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD')
            .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), 'not a calendar date'),
        }),
        query: z.object({ format: z.enum(['json', 'csv', 'html']).default('json'), lang: z.enum(['zh-CN', 'en']).default('zh-CN') }),
      },
      responses: { 200: json(ANY, 'Report'), ...errors },
    });
  for (const method of ['get', 'post'] as const) {
    app.openapi(reportRoute(method), async (c) => {
      const { site, date } = c.req.valid('param');
      const denied = staffAuth(c, site);
      if (denied) return denied as never;
      const report = method === 'get' ? await opts.reports.get(site, date) : await opts.reports.generate(site, date);
      if (!report) return c.json({ error: 'unknown_site', message: `no site ${site} with sales` }, 404) as never;
      const { format, lang } = c.req.valid('query');
      if (format === 'csv') return c.body(reportToCsv(report, { bom: true }), 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${site}-${date}.csv"` }) as never;
      if (format === 'html') return c.html(reportToHtml(report, { lang })) as never;
      return c.json(report, 200) as never;
    });
  }

  // The staff dashboard: the page (token in the URL fragment, never sent here), its built
  // script and style sheet, its model, and a live stream.
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
    if (!sales.site(site)) return c.json({ error: 'unknown_site', message: `no site ${site} with sales` }, 404);
    const lang = c.req.query('lang') === 'en' ? 'en' : 'zh-CN';
    const page = dashboardPage({ site, lang });
    return c.html(page.html, 200, { 'content-security-policy': page.csp, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff' });
  });
  app.openapi(
    createRoute({ method: 'get', path: '/v1/staff/sites/{site}/dashboard', tags: ['staff'], security: [{ staffToken: [] }], summary: 'Live numbers: admitted vs capacity and level, gates, channels, entries by hour, alerts, conflicts', request: { params: z.object({ site: z.string() }) }, responses: { 200: json(ANY, 'DashboardModel'), ...errors } }),
    async (c) => {
      const { site } = c.req.valid('param');
      const denied = staffAuth(c, site);
      if (denied) return denied as never;
      const model = await opts.monitor.model(site);
      if (!model) return c.json({ error: 'unknown_site', message: `no site ${site} with sales` }, 404) as never;
      return c.json(model, 200) as never;
    },
  );
  app.get('/v1/staff/sites/:site/dashboard/stream', async (c) => {
    const site = c.req.param('site');
    const denied = staffAuth(c, site);
    if (denied) return denied;
    const first = await opts.monitor.model(site);
    if (!first) return c.json({ error: 'unknown_site', message: `no site ${site} with sales` }, 404);
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
    });
  });

  // The gates' rules, derived from the catalogue: early/night variants carry their windows.
  // GET /v1/sites/{site}/ticket-types is a gate route (http/server.ts): it needs the gate's credential and is signed.

  const doc = { openapi: '3.0.3', info: { title: 'Stile cloud-bridge API', version: '1', description: 'Sales channels, park staff and gates. Money is integer fen (1 CNY = 100 fen). Every write takes an Idempotency-Key.' } };
  app.doc('/openapi.json', doc);
  app.doc('/docs', doc);
  return app;
}
