import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { Logger } from '../../core/log.js';
import type { Metrics } from '../../core/metrics.js';
import type { CloudApp } from '../../core/module.js';
import { errorResponses, json } from '../../core/http/openapi.js';
import { refusalBody, type RefusalCode } from '../../core/http/refusals.js';
import { SiteParamSchema } from '../../core/http/schemas.js';
import { assetResponse, pageHeaders } from '../../core/http/web-assets.js';
import type { SiteRegistry } from '../../core/sites.js';
import type { BuiltModel, ScreenListener } from './live.js';
import { isScreenAsset, screenAssets, screenMode, screenPage } from './page.js';
import { ScreenModelSchema } from './schemas.js';

/** Each screen route's refusals (besides 413 and 500). */
export const SCREEN_ROUTE_CODES = {
  model: ['unknown_site'],
  stream: ['unknown_site', 'too_many_streams'],
} satisfies Record<string, RefusalCode[]>;

/** A write a stream's client has not taken within this long ends the stream (a stuck screen frees its place). */
const WRITE_TIMEOUT_MS = 30_000;
/** What a refused stream is told to wait, in seconds. */
const RETRY_AFTER_S = 30;

export interface ScreenRoutesOptions {
  sites: Pick<SiteRegistry, 'site'>;
  current(site: string): Promise<BuiltModel | undefined>;
  subscribe(site: string, listener: ScreenListener): () => void;
  maxStreamsPerSite: number;
  log: Logger;
  metrics: Metrics;
}

const noSite = (c: Context, site: string) => c.json(refusalBody('unknown_site', `no site ${site} with sales`), 404);

/**
 * The public entrance screen: its page and built assets, its model as JSON, and its live
 * stream (server-sent events: `model` events carry a ScreenModel, `fresh` events say the last
 * one is still current). No credential: the model holds nothing private. Streams are capped
 * per site (503 `too_many_streams` beyond); nothing is rate-limited.
 */
export function screenRoutes(app: CloudApp, opts: ScreenRoutesOptions): void {
  const tags = ['screen'];
  /** Streams open per site, counted from the moment one is accepted (before its first model is built). */
  const open = new Map<string, number>();
  const release = (site: string) => {
    const n = (open.get(site) ?? 1) - 1;
    if (n <= 0) open.delete(site);
    else open.set(site, n);
  };

  // Before /screen/{site}/…: a file name has a dot, a site id never does.
  app.get('/screen/assets/:file{[a-z]+\\.(?:js|css)}', (c) => {
    const name = c.req.param('file');
    if (!isScreenAsset(name)) return c.json({ error: 'not_found' }, 404);
    return assetResponse(c, screenAssets().files[name]);
  });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/screen/{site}/model',
      tags,
      summary: "The entrance screen's numbers now: places left today (per time slot), admitted today, the level and its announcement. Public",
      request: { params: SiteParamSchema },
      responses: { 200: json(ScreenModelSchema, 'ScreenModel'), ...errorResponses(SCREEN_ROUTE_CODES.model) },
    }),
    async (c) => {
      const { site } = c.req.valid('param');
      const built = opts.sites.site(site) ? await opts.current(site) : undefined;
      if (!built) return noSite(c, site) as never;
      return c.body(built.json, 200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/screen/{site}/stream',
      tags,
      summary: `The entrance screen as server-sent events: a \`model\` event with the current ScreenModel first, another on each change, a \`fresh\` event ({"at"}) at least every 15 s while nothing changes. Public; at most ${opts.maxStreamsPerSite} streams per site (then 503 \`too_many_streams\` with Retry-After)`,
      request: { params: SiteParamSchema },
      responses: {
        200: {
          content: { 'text/event-stream': { schema: z.string().openapi({ description: '`event: model` with a ScreenModel as JSON in `data:`, or `event: fresh` with `{"at": <ISO time of the build>}`; `id:` counts from 1' }) } },
          description: 'Event stream',
        },
        ...errorResponses(SCREEN_ROUTE_CODES.stream),
      },
    }),
    async (c) => {
      const { site } = c.req.valid('param');
      if (!opts.sites.site(site)) return noSite(c, site) as never;
      if ((open.get(site) ?? 0) >= opts.maxStreamsPerSite) {
        opts.metrics.refuse('screen_streams_full');
        opts.log.warn({ site, streams: open.get(site) }, 'entrance screen stream refused: the site has its maximum of streams open');
        return c.json(refusalBody('too_many_streams', `site ${site} has ${opts.maxStreamsPerSite} screen streams open already; try again in ${RETRY_AFTER_S} s`), 503, { 'retry-after': String(RETRY_AFTER_S) }) as never;
      }
      open.set(site, (open.get(site) ?? 0) + 1);
      let first: BuiltModel | undefined;
      try {
        first = await opts.current(site);
      } catch (err) {
        release(site);
        throw err;
      }
      if (!first) {
        release(site);
        return noSite(c, site) as never;
      }
      const firstJson = first.json;
      c.header('x-accel-buffering', 'no'); // a proxy in front must not hold events back
      return streamSSE(c, (stream) => pump(stream, site, firstJson).finally(() => release(site))) as never;
    },
  );

  app.get('/screen/:site', (c) => {
    const site = c.req.param('site');
    if (!opts.sites.site(site)) return noSite(c, site);
    const page = screenPage({ site, mode: screenMode(c.req.query('lang')) });
    return c.html(page.html, 200, pageHeaders(page.csp));
  });

  /** One stream: the first model, then the newest push whenever there is one; a stream that cannot keep up only ever has the newest waiting. */
  async function pump(stream: SSEStreamingApi, site: string, firstJson: string): Promise<void> {
    let id = 0;
    let model: string | null = firstJson;
    let fresh: string | null = null;
    let wake: (() => void) | null = null;
    const off = opts.subscribe(site, (p) => {
      if (p.event === 'model') {
        model = p.data;
        fresh = null;
      } else fresh = p.data;
      wake?.();
    });
    stream.onAbort(() => wake?.());
    const send = async (event: 'model' | 'fresh', data: string): Promise<void> => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stuck = new Promise<true>((r) => (timer = setTimeout(() => r(true), WRITE_TIMEOUT_MS)));
      const timedOut = await Promise.race([stream.writeSSE({ event, data, id: String(++id) }).then(() => false), stuck]);
      clearTimeout(timer);
      if (timedOut) {
        opts.log.info({ site }, 'entrance screen stream dropped: its client took nothing for 30 s');
        stream.abort();
      }
    };
    try {
      while (!stream.aborted) {
        if (model !== null) {
          const data: string = model;
          model = null;
          await send('model', data);
        } else if (fresh !== null) {
          const data: string = fresh;
          fresh = null;
          await send('fresh', data);
        } else {
          await new Promise<void>((r) => (wake = r));
          wake = null;
        }
      }
    } finally {
      off();
    }
  }
}
