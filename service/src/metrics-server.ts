/**
 * Prometheus metrics for a Stile daemon: a prom-client Registry with Node's process metrics
 * and the daemon's own, served as text on GET /metrics at a configured address, loopback
 * by default (docs/metrics.md).
 *
 * prom-client is imported here on first use only: a daemon without a `metrics:` section never
 * loads it (2–3 MB of RSS on a gate, docs/metrics.md#cost).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type * as PromClient from 'prom-client';
import { metricsListenProblem, parseListenAddress } from '@stile/config';

/** prom-client's exports (a CommonJS module: what `import()` gives as its default). */
export type Prom = (typeof PromClient)['default'];
export type Registry = PromClient.Registry;

/** The part of a pino logger this module uses. */
export interface MetricsLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface MetricsServerOptions {
  /** `host:port`; port 0 takes any free port (tests). */
  listen: string;
  /** Allows a listen address other than loopback; then `token` is required too. */
  allowRemote?: boolean;
  /** The bearer token every scrape must send (`Authorization: Bearer …`), at least 16 characters. */
  token?: string;
  /** Defines the daemon's own metrics on the registry, before the server listens. */
  define?: (prom: Prom, registry: Registry) => void;
  /** Node's process metrics (RSS, CPU, event-loop lag, GC, heap); default true. */
  processMetrics?: boolean;
  log?: MetricsLog;
}

export interface MetricsServer {
  readonly prom: Prom;
  readonly registry: Registry;
  readonly host: string;
  /** The bound port (the real one when `listen` asked for 0). */
  readonly port: number;
  /** http://host:port/metrics */
  readonly url: string;
  close(): Promise<void>;
}

/** A config file's `metrics:` section (gate.yaml, kiosk.yaml, announcer.yaml; config/src/metrics-config.ts). */
export interface MetricsSection {
  listen: string;
  allowRemote?: boolean | undefined;
  tokenFile?: string | undefined;
}

/** startMetricsServer for a config's `metrics:` section, the bearer token read from its tokenFile. */
export function startConfiguredMetrics(section: MetricsSection, log: MetricsLog, define: NonNullable<MetricsServerOptions['define']>): Promise<MetricsServer> {
  const token = section.tokenFile === undefined ? undefined : readFileSync(section.tokenFile, 'utf8').trim();
  return startMetricsServer({ listen: section.listen, allowRemote: section.allowRemote === true, ...(token !== undefined ? { token } : {}), log, define });
}

let loaded: Promise<Prom> | undefined;

/** prom-client, imported once, on first use. */
export function loadPromClient(): Promise<Prom> {
  // CommonJS: its module.exports is the default export.
  loaded ??= import('prom-client').then((m) => m.default);
  return loaded;
}

/**
 * A registry with Node's process metrics under their standard names (process_resident_memory_bytes,
 * process_cpu_seconds_total, nodejs_eventloop_lag_seconds, nodejs_gc_duration_seconds, …): no
 * prefix, so the usual Node.js dashboards work; Prometheus's `job` label tells the daemons apart.
 */
export async function createMetricsRegistry(opts: { processMetrics?: boolean } = {}): Promise<{ prom: Prom; registry: Registry }> {
  const prom = await loadPromClient();
  const registry = new prom.Registry();
  // 20 ms: a stall worth seeing is far longer, and a coarser timer wakes a small board less often.
  if (opts.processMetrics !== false) prom.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  return { prom, registry };
}

/** Why these options may not be served, or null. Pure: the address and the token rules. */
export function metricsServerProblem(opts: Pick<MetricsServerOptions, 'listen' | 'allowRemote' | 'token'>): string | null {
  const problem = metricsListenProblem(opts.listen, { allowRemote: opts.allowRemote === true, hasToken: opts.token !== undefined });
  if (problem) return `metrics.${problem.field}: ${problem.message}`;
  if (opts.token !== undefined && opts.token.length < 16) return 'metrics.tokenFile: the token must be at least 16 characters';
  return null;
}

/** Build the registry and serve it. Rejects when the address is refused or cannot be bound. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const problem = metricsServerProblem(opts);
  if (problem) throw new Error(problem);
  const parsed = parseListenAddress(opts.listen);
  if (!parsed.ok) throw new Error(`metrics.listen: ${parsed.message}`);
  const { host, port } = parsed.address;
  const { prom, registry } = await createMetricsRegistry(opts);
  opts.define?.(prom, registry);
  const want = opts.token === undefined ? undefined : sha256(opts.token);
  const server = createServer((req, res) => void serve(req, res, registry, want, opts.log));
  // A scrape is one small GET: no slow clients, no crowd.
  server.headersTimeout = 5000;
  server.requestTimeout = 10_000;
  server.maxConnections = 16;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`metrics: cannot listen on ${opts.listen}: ${err.code ?? err.message}`)));
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    prom,
    registry,
    host,
    port: bound,
    url: `http://${shown}:${bound}/metrics`,
    close: () => closeServer(server),
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, registry: Registry, want: Buffer | undefined, log: MetricsLog | undefined): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics') return reply(res, 404, 'not found: the metrics are at /metrics\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
  if (want && !bearerMatches(req.headers.authorization, want)) {
    log?.warn({ event: 'metrics_unauthorized', from: req.socket.remoteAddress }, 'metrics scrape without the right bearer token refused');
    return reply(res, 401, 'unauthorized\n', { 'www-authenticate': 'Bearer realm="stile-metrics"' });
  }
  try {
    const text = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : text);
  } catch (err) {
    log?.error({ event: 'metrics_failed', err: (err as Error).message }, 'could not collect the metrics');
    reply(res, 500, 'could not collect the metrics\n');
  }
}

function reply(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(text);
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Compared as SHA-256 digests in constant time, so neither the token nor its length leaks. */
function bearerMatches(header: string | undefined, want: Buffer): boolean {
  if (!header || !/^bearer /i.test(header)) return false;
  return timingSafeEqual(sha256(header.slice(7).trim()), want);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
