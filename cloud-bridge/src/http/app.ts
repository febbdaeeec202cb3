import { createHash, timingSafeEqual } from 'node:crypto';
import { OpenAPIHono } from '@hono/zod-openapi';
import { formatZodIssues } from '@stile/config';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { refusalBody } from '../core/http/refusals.js';
import { NOT_A_DATE } from '../core/http/schemas.js';
import type { CloudEnv } from '../core/http/env.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { CloudApp, CloudModule } from '../core/module.js';

export interface CloudAppOptions {
  modules: readonly CloudModule[];
  log: Logger;
  metrics: Metrics;
  /** all (one listener), public (no gate routes) or gate (only the gate routes and /healthz). */
  serve: 'all' | 'public' | 'gate';
  /** Ready while the store answers (and takes writes) and every MQTT connection holds its subscriptions; with the reasons. */
  health: () => Promise<{ ready: boolean }>;
  /** SHA-256 (hex) of the token GET /metrics wants as `Authorization: Bearer …`; unset: /metrics is refused. */
  metricsTokenSha256?: string;
  /** GET /metrics as Prometheus text (core/prometheus.ts). */
  prometheus: () => Promise<{ contentType: string; text: string }>;
}

function bearerMatches(header: string | undefined, wantHex: string | undefined): boolean {
  if (!wantHex || !header || !/^bearer /i.test(header)) return false;
  const got = createHash('sha256').update(header.slice(7).trim(), 'utf8').digest();
  const want = Buffer.from(wantHex, 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}

/**
 * The one HTTP app of cloud-bridge: /healthz, /metrics, the OpenAPI document, and every
 * module's routes (channel, staff, dashboard; the gates' snapshot, changes and ticket types).
 * With a separate gate listener, the public app has no gate routes and the gate app only
 * those and /healthz.
 */
export function createCloudApp(opts: CloudAppOptions): CloudApp {
  const { log, metrics, serve } = opts;
  const app = new OpenAPIHono<CloudEnv>({
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
    // The path only: a query string is not ours to log.
    log.error({ err, path: c.req.path }, 'http request failed');
    return c.json(refusalBody('internal', 'internal error'), 500);
  });
  // The read-only routes (health, metrics, the gates') answer other methods with 405, not 404.
  const readOnly = /^\/(healthz|metrics|metrics\.json)$|^\/v1\/sites\//;
  app.notFound((c) => (c.req.method !== 'GET' && c.req.method !== 'HEAD' && readOnly.test(c.req.path) ? c.json({ error: 'method_not_allowed' }, 405) : c.json({ error: 'not_found' }, 404)));

  // /healthz: 503 with the reasons: a supervisor or load balancer takes the instance out, a person reads why.
  app.on(['GET', 'HEAD'], '/healthz', async (c) => {
    const h = await opts.health();
    return c.json({ ok: h.ready, ...h }, h.ready ? 200 : 503);
  });

  if (serve === 'gate') {
    for (const m of opts.modules) m.gateRoutes?.(app);
    return app;
  }

  // Prometheus text for a scraper (docs/metrics.md), with the same bearer token as before.
  app.on(['GET', 'HEAD'], '/metrics', async (c) => {
    if (!bearerMatches(c.req.header('authorization'), opts.metricsTokenSha256)) return refuse(c, 'metrics_unauthorized');
    const { contentType, text } = await opts.prometheus();
    return c.body(text, 200, { 'content-type': contentType, 'cache-control': 'no-store' });
  });
  // The counters as JSON, as /metrics served them before it became Prometheus text (scripts, benchmarks).
  app.on(['GET', 'HEAD'], '/metrics.json', (c) => {
    if (!bearerMatches(c.req.header('authorization'), opts.metricsTokenSha256)) return refuse(c, 'metrics_unauthorized');
    return c.json(metrics.toJSON(), 200);
  });
  const refuse = (c: Context, reason: string) => {
    metrics.refuse(reason);
    log.warn({ reason, path: c.req.path }, 'http request refused');
    return c.json({ error: 'unauthorized' }, 401, { 'www-authenticate': 'Basic realm="stile-gate"' });
  };

  app.openAPIRegistry.registerComponent('securitySchemes', 'channelKey', { type: 'http', scheme: 'bearer', description: 'The channel API key' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'staffToken', { type: 'http', scheme: 'bearer', description: "The site's staff token" });
  // An order for 50 visitors is ~5 KB; anything far beyond is refused before it is read.
  // Not on GET/HEAD: bodyLimit reads the request's body stream, which makes the node adapter
  // build a full Request per call (a third of an availability answer's cost); a GET body is never read.
  const limit = bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.json(refusalBody('payload_too_large', 'request body over 64 KiB'), 413) });
  // A POS batch (500 lines, JSON or CSV) is larger: its routes get 512 KiB (modules/pos).
  const posLimit = bodyLimit({ maxSize: 512 * 1024, onError: (c) => c.json(refusalBody('payload_too_large', 'request body over 512 KiB'), 413) });
  app.use('/v1/*', (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : c.req.path.startsWith('/v1/pos/') ? posLimit(c, next) : limit(c, next)));

  for (const m of opts.modules) m.routes?.(app);
  if (serve === 'all') for (const m of opts.modules) m.gateRoutes?.(app);

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
