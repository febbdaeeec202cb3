import { SnapshotDigest, SnapshotTicketSchema, type TicketType } from '@stile/config';
import type { Context } from 'hono';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/log.js';
import type { Metrics } from '../../core/metrics.js';
import type { CloudApp } from '../../core/module.js';
import type { SiteKeys } from '../../core/sites.js';
import type { WhitelistRepository } from './repository.js';

const SNAPSHOT_PAGE = 1000;

/** ok, or why the caller may not read this site's gate data. */
export type GateAuth = (authorization: string | undefined, site: string) => Promise<'ok' | 'unauthorized' | 'forbidden'>;

export interface GateRoutesDeps {
  repository: WhitelistRepository;
  keys: SiteKeys;
  log: Logger;
  metrics: Metrics;
  /** Checks a gate's HTTP Basic credential (the device registry). */
  gateAuth: GateAuth;
  /** The catalogue's gate rules for a site (sites with sales), for GET …/ticket-types. */
  ticketTypes(site: string): TicketType[] | undefined;
  /** A gate's high-water mark and epoch (core store), for GET …/gates/{gate}/marks. */
  gateMarks(site: string, gate: string): Promise<{ highSeq: string; epoch: number } | undefined>;
  clock: Clock;
}

/**
 * The gates' routes; each needs the gate's own credential for that site:
 *   GET /v1/sites/:site/whitelist/snapshot   NDJSON: {"snapshot":{site,asOfSeq}}, one SnapshotTicket a line,
 *                                            then {"signature":{…}} signed by the site control key
 *   GET /v1/sites/:site/whitelist/changes?since=N   {"v":1,"deltas":[…]} (each delta signed) | 410 {"error":"gone"}
 *   GET /v1/sites/:site/ticket-types         TicketTypesDocument, signed
 *   GET /v1/sites/:site/gates/:gate/marks    GateMarksDocument, signed: where a rebuilt gate numbers on from
 *                                            (any gate of the site may ask: seq and epoch are no secret)
 */
export function gateRoutes(app: CloudApp, deps: GateRoutesDeps): void {
  const { repository, keys, log, metrics } = deps;
  const refuse = (c: Context, status: 401 | 403, reason: string, site: string) => {
    metrics.refuse(reason);
    log.warn({ reason, site, path: c.req.path }, 'http request refused');
    return c.json({ error: status === 401 ? 'unauthorized' : 'forbidden' }, status, status === 401 ? { 'www-authenticate': 'Basic realm="stile-gate"' } : {});
  };
  // Every gate route: the gate's credential for this very site, before anything is read.
  app.use('/v1/sites/:site/*', async (c, next) => {
    const site = c.req.param('site');
    const auth = await deps.gateAuth(c.req.header('authorization'), site);
    if (auth !== 'ok') return refuse(c, auth === 'forbidden' ? 403 : 401, `gate_${auth}`, site);
    await next();
    return undefined;
  });

  app.get('/v1/sites/:site/ticket-types', (c) => {
    const site = c.req.param('site');
    const types = deps.ticketTypes(site);
    if (!types || types.length === 0) return c.json({ error: 'unknown_site', message: 'no catalogue for this site' }, 404);
    return c.json(keys.sign(site, { v: 1 as const, site, ticketTypes: types, at: deps.clock().toISOString() }), 200);
  });

  app.get('/v1/sites/:site/gates/:gate/marks', async (c) => {
    const site = c.req.param('site');
    const gate = c.req.param('gate');
    const marks = await deps.gateMarks(site, gate);
    if (!marks || !keys.has(site)) return c.json({ error: 'unknown_gate' }, 404);
    return c.json(keys.sign(site, { v: 1 as const, site, gate, highSeq: marks.highSeq, epoch: marks.epoch, at: deps.clock().toISOString() }), 200);
  });

  app.get('/v1/sites/:site/whitelist/changes', async (c) => {
    const site = c.req.param('site');
    const sinceText = c.req.query('since') ?? '';
    if (!/^\d{1,15}$/.test(sinceText)) return c.json({ error: 'bad_since', detail: 'since must be a decimal seq' }, 400);
    const r = await repository.changesSince(site, Number(sinceText));
    if (!r.ok) return c.json({ error: r.reason }, r.reason === 'gone' ? 410 : 404);
    return c.json({ v: 1, deltas: r.deltas }, 200);
  });

  app.get('/v1/sites/:site/whitelist/snapshot', async (c) => {
    const site = c.req.param('site');
    const head = await repository.headSeq(site);
    if (head === null || !keys.has(site)) return c.json({ error: 'unknown_site' }, 404);
    const asOfSeq = String(head);
    return new Response(snapshotStream(deps, site, asOfSeq), {
      status: 200,
      headers: { 'content-type': 'application/x-ndjson; charset=utf-8', 'x-stile-as-of-seq': asOfSeq },
    });
  });
}

/**
 * The snapshot as a stream the client pulls a page at a time (a slow gate holds one page in
 * memory, not the site). The gate verifies the signed digest of exactly these lines before
 * it swaps anything in.
 */
function snapshotStream(deps: GateRoutesDeps, site: string, asOfSeq: string): ReadableStream<Uint8Array> {
  const utf8 = new TextEncoder();
  const digest = new SnapshotDigest();
  let after: string | null = null;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(utf8.encode(`${JSON.stringify({ snapshot: { site, asOfSeq } })}\n`));
    },
    async pull(controller) {
      try {
        const page = await deps.repository.ticketPage(site, after, SNAPSHOT_PAGE);
        let text = '';
        for (const t of page) {
          // One bad row must not make the whole snapshot unimportable on the gates.
          if (!SnapshotTicketSchema.safeParse(t).success) {
            deps.log.warn({ site, ticketId: t.ticketId }, 'ticket left out of the snapshot: does not pass SnapshotTicketSchema');
            continue;
          }
          const line = JSON.stringify(t);
          digest.line(line);
          text += `${line}\n`;
        }
        if (page.length > 0) after = page[page.length - 1]!.ticketId;
        if (page.length < SNAPSHOT_PAGE) {
          const signature = deps.keys.sign(site, { v: 1 as const, site, asOfSeq, tickets: digest.tickets, sha256: digest.hex() });
          controller.enqueue(utf8.encode(`${text}${JSON.stringify({ signature })}\n`));
          controller.close();
          return;
        }
        if (text) controller.enqueue(utf8.encode(text));
      } catch (err) {
        // Headers are out: the gate sees a cut stream without a signature and imports nothing.
        deps.log.error({ err, site }, 'snapshot stream failed');
        controller.error(err);
      }
    },
  });
}
