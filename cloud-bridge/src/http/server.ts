import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { SnapshotTicketSchema } from '@stile/config';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { CloudStore } from '../store/store.js';

const SNAPSHOT_PAGE = 1000;
const API_PREFIX = /^\/v1\/(channel|staff)\/|^\/v1\/sites\/[^/]+\/ticket-types$|^\/dashboard\//;
const SITE_RE = /^\/v1\/sites\/([^/]+)\/whitelist\/(snapshot|changes)$/;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * GET /v1/sites/:site/whitelist/snapshot   NDJSON: {"snapshot":{"site","asOfSeq"}} then one SnapshotTicket a line
 * GET /v1/sites/:site/whitelist/changes?since=N   {"v":1,"deltas":[…]} | 410 {"error":"gone"}
 * GET /healthz, GET /metrics
 */
export function createHttpServer(deps: { store: CloudStore; metrics: Metrics; log: Logger; api?: (req: IncomingMessage, res: ServerResponse) => unknown }): Server {
  const { store, metrics, log, api } = deps;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Channel, staff and docs routes: the hono app (zod-validated, OpenAPI).
    if (api && (API_PREFIX.test(url.pathname) || url.pathname === '/docs' || url.pathname === '/openapi.json')) {
      await api(req, res);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method_not_allowed' });
    if (url.pathname === '/healthz') {
      await store.db.selectFrom('sites').select('id').limit(1).execute();
      return sendJson(res, 200, { ok: true });
    }
    if (url.pathname === '/metrics') return sendJson(res, 200, metrics.toJSON());
    const m = SITE_RE.exec(url.pathname);
    if (!m) return sendJson(res, 404, { error: 'not_found' });
    const site = decodeURIComponent(m[1]!);
    if (m[2] === 'changes') {
      const sinceText = url.searchParams.get('since') ?? '';
      if (!/^\d{1,15}$/.test(sinceText)) return sendJson(res, 400, { error: 'bad_since', detail: 'since must be a decimal seq' });
      const r = await store.changesSince(site, Number(sinceText));
      if (!r.ok) return sendJson(res, r.reason === 'gone' ? 410 : 404, { error: r.reason });
      return sendJson(res, 200, { v: 1, deltas: r.deltas });
    }
    const head = await store.headSeq(site);
    if (head === null) return sendJson(res, 404, { error: 'unknown_site' });
    res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'x-stile-as-of-seq': String(head) });
    res.write(`${JSON.stringify({ snapshot: { site, asOfSeq: String(head) } })}\n`);
    let after: string | null = null;
    for (;;) {
      const page = await store.ticketPage(site, after, SNAPSHOT_PAGE);
      if (page.length === 0) break;
      // One bad row must not make the whole snapshot unimportable on the gates.
      const good = page.filter((t) => {
        const ok = SnapshotTicketSchema.safeParse(t).success;
        if (!ok) log.warn({ site, ticketId: t.ticketId }, 'ticket left out of the snapshot: does not pass SnapshotTicketSchema');
        return ok;
      });
      const text = good.map((t) => `${JSON.stringify(t)}\n`).join('');
      if (!res.write(text)) await once(res, 'drain');
      after = page[page.length - 1]!.ticketId;
      if (page.length < SNAPSHOT_PAGE) break;
    }
    res.end();
  };
  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err, url: req.url }, 'http request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal' });
      else res.destroy();
    });
  });
}
