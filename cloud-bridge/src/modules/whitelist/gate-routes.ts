import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { SnapshotDigest, SnapshotTicketSchema, type TicketType } from '@stile/config';
import type { Logger } from '../../core/log.js';
import type { Metrics } from '../../core/metrics.js';
import type { SiteKeys } from '../../core/sites.js';
import type { CloudStore } from '../../core/db/store.js';

const SNAPSHOT_PAGE = 1000;
const API_PREFIX = /^\/v1\/(channel|staff)\/|^\/dashboard\//;
const GATE_RE = /^\/v1\/sites\/([^/]+)\/(whitelist\/snapshot|whitelist\/changes|ticket-types)$/;

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** ok, or why the caller may not read this site's gate data. */
export type GateAuth = (authorization: string | undefined, site: string) => Promise<'ok' | 'unauthorized' | 'forbidden'>;

export interface HttpServerDeps {
  store: CloudStore;
  metrics: Metrics;
  log: Logger;
  keys: SiteKeys;
  /** Checks a gate's HTTP Basic credential (the device registry). */
  gateAuth: GateAuth;
  /** The catalogue's gate rules for a site (sites with sales), for GET …/ticket-types. */
  ticketTypes(site: string): TicketType[] | undefined;
  /** SHA-256 (hex) of the token GET /metrics wants as `Authorization: Bearer …`; unset: /metrics is refused. */
  metricsTokenSha256?: string;
  /** Channel, staff, dashboard and docs (hono). */
  api?: (req: IncomingMessage, res: ServerResponse) => unknown;
  /** all (one listener), public (no gate routes) or gate (only the gate routes and /healthz). */
  serve?: 'all' | 'public' | 'gate';
  /** Ready while the store answers (and takes writes) and every MQTT connection holds its subscriptions. */
  health?: () => Promise<{ ready: boolean }>;
}

function bearerMatches(header: string | undefined, wantHex: string | undefined): boolean {
  if (!wantHex || !header || !/^bearer /i.test(header)) return false;
  const got = createHash('sha256').update(header.slice(7).trim(), 'utf8').digest();
  const want = Buffer.from(wantHex, 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}

/**
 * The cloud's HTTP listener. Gate routes (each needs the gate's own credential for that site):
 *   GET /v1/sites/:site/whitelist/snapshot   NDJSON: {"snapshot":{site,asOfSeq}}, one SnapshotTicket a line,
 *                                            then {"signature":{…}} signed by the site control key
 *   GET /v1/sites/:site/whitelist/changes?since=N   {"v":1,"deltas":[…]} (each delta signed) | 410 {"error":"gone"}
 *   GET /v1/sites/:site/ticket-types         TicketTypesDocument, signed
 * GET /healthz (public), GET /metrics (metrics token). Everything else goes to the hono app.
 */
export function createHttpServer(deps: HttpServerDeps): Server {
  const { store, metrics, log, api } = deps;
  const serve = deps.serve ?? 'all';
  const refuse = (res: ServerResponse, status: 401 | 403, reason: string, detail: Record<string, unknown>): void => {
    metrics.refuse(reason);
    log.warn({ reason, ...detail }, 'http request refused');
    sendJson(res, status, { error: status === 401 ? 'unauthorized' : 'forbidden' }, status === 401 ? { 'www-authenticate': 'Basic realm="stile-gate"' } : {});
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const gate = GATE_RE.exec(url.pathname);
    if (serve !== 'gate' && api && !gate && (API_PREFIX.test(url.pathname) || url.pathname === '/docs' || url.pathname === '/openapi.json')) {
      await api(req, res);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method_not_allowed' });
    if (url.pathname === '/healthz') {
      const h = deps.health ? await deps.health() : (await store.db.selectFrom('sites').select('id').limit(1).execute(), { ready: true });
      // 503 with the reasons: a supervisor or load balancer takes the instance out, a person reads why.
      return sendJson(res, h.ready ? 200 : 503, { ok: h.ready, ...h });
    }
    if (url.pathname === '/metrics' && serve !== 'gate') {
      if (!bearerMatches(req.headers.authorization, deps.metricsTokenSha256)) return refuse(res, 401, 'metrics_unauthorized', { path: url.pathname });
      return sendJson(res, 200, metrics.toJSON());
    }
    if (!gate || serve === 'public') return sendJson(res, 404, { error: 'not_found' });
    const site = decodeURIComponent(gate[1]!);
    const auth = await deps.gateAuth(req.headers.authorization, site);
    if (auth !== 'ok') return refuse(res, auth === 'forbidden' ? 403 : 401, `gate_${auth}`, { site, path: url.pathname });
    if (gate[2] === 'ticket-types') return ticketTypes(res, site);
    if (gate[2] === 'whitelist/changes') return changes(res, site, url);
    return snapshot(res, site);
  };

  function ticketTypes(res: ServerResponse, site: string): void {
    const types = deps.ticketTypes(site);
    if (!types || types.length === 0) return sendJson(res, 404, { error: 'unknown_site', message: 'no catalogue for this site' });
    sendJson(res, 200, deps.keys.sign(site, { v: 1 as const, site, ticketTypes: types, at: new Date().toISOString() }));
  }

  async function changes(res: ServerResponse, site: string, url: URL): Promise<void> {
    const sinceText = url.searchParams.get('since') ?? '';
    if (!/^\d{1,15}$/.test(sinceText)) return sendJson(res, 400, { error: 'bad_since', detail: 'since must be a decimal seq' });
    const r = await store.changesSince(site, Number(sinceText));
    if (!r.ok) return sendJson(res, r.reason === 'gone' ? 410 : 404, { error: r.reason });
    sendJson(res, 200, { v: 1, deltas: r.deltas });
  }

  async function snapshot(res: ServerResponse, site: string): Promise<void> {
    const head = await store.headSeq(site);
    if (head === null || !deps.keys.has(site)) return sendJson(res, 404, { error: 'unknown_site' });
    res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'x-stile-as-of-seq': String(head) });
    const asOfSeq = String(head);
    res.write(`${JSON.stringify({ snapshot: { site, asOfSeq } })}\n`);
    // The gate verifies the signed digest of exactly these lines before it swaps anything in.
    const digest = new SnapshotDigest();
    let after: string | null = null;
    for (;;) {
      const page = await store.ticketPage(site, after, SNAPSHOT_PAGE);
      if (page.length === 0) break;
      let text = '';
      for (const t of page) {
        // One bad row must not make the whole snapshot unimportable on the gates.
        if (!SnapshotTicketSchema.safeParse(t).success) {
          log.warn({ site, ticketId: t.ticketId }, 'ticket left out of the snapshot: does not pass SnapshotTicketSchema');
          continue;
        }
        const line = JSON.stringify(t);
        digest.line(line);
        text += `${line}\n`;
      }
      if (!res.write(text)) await once(res, 'drain');
      after = page[page.length - 1]!.ticketId;
      if (page.length < SNAPSHOT_PAGE) break;
    }
    const signature = deps.keys.sign(site, { v: 1 as const, site, asOfSeq, tickets: digest.tickets, sha256: digest.hex() });
    res.end(`${JSON.stringify({ signature })}\n`);
  }

  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // The path only: a query string is not ours to log.
      log.error({ err, path: (req.url ?? '').split('?')[0] }, 'http request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal' });
      else res.destroy();
    });
  });
}
