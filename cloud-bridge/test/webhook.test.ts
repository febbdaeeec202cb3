import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { LogNotifier, MultiNotifier, type StaffAlert, type StaffNotifier, WebhookNotifier } from '../src/notify/webhook.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A pino logger whose lines land in an array. */
function captureLog() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines, warns: () => lines.filter((l) => l.level === 40) };
}

const alert: StaffAlert = {
  site: 'park1',
  kind: 'capacity_level',
  level: 'orange',
  message: { zh: '今日游客已达最大承载量的 85%', en: 'The park is at 85% of capacity' },
  at: '2026-05-01T02:30:00.000Z',
  details: { load: 4250, capacity: 5000 },
};

describe('WebhookNotifier', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  /** A server on 127.0.0.1:0 that answers request n (1-based) with handler(n); returns its URL and what it received. */
  async function serve(handler: (n: number, req: IncomingMessage, res: ServerResponse) => void) {
    const received: Received[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        handler(received.length, req, res);
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/hooks/stile?key=s3cr3t-token`, received };
  }

  const fast = { backoffMs: [10, 20], timeoutMs: 1000 };

  it('POSTs the alert as JSON with an HMAC signature of the exact body', async () => {
    const { url, received } = await serve((_n, _req, res) => res.writeHead(204).end());
    const log = captureLog();
    await new WebhookNotifier({ url, secret: 'hook-secret', logger: log.logger, ...fast }).notify(alert);
    expect(received).toHaveLength(1);
    const r = received[0]!;
    expect(r.headers['content-type']).toBe('application/json');
    expect(JSON.parse(r.body)).toEqual(alert);
    // What a receiver does: recompute over the raw body, compare in constant time.
    const expected = Buffer.from(`sha256=${createHmac('sha256', 'hook-secret').update(r.body).digest('hex')}`);
    const got = Buffer.from(String(r.headers['x-stile-signature']));
    expect(got.length === expected.length && timingSafeEqual(got, expected)).toBe(true);
    expect(log.warns()).toEqual([]);
  });

  it('sends no signature header without a secret', async () => {
    const { url, received } = await serve((_n, _req, res) => res.writeHead(200).end('ok'));
    await new WebhookNotifier({ url, logger: captureLog().logger, ...fast }).notify(alert);
    expect(received[0]!.headers['x-stile-signature']).toBeUndefined();
  });

  it('retries after a 500 and succeeds on the second attempt', async () => {
    const { url, received } = await serve((n, _req, res) => res.writeHead(n === 1 ? 500 : 200).end());
    const log = captureLog();
    await new WebhookNotifier({ url, secret: 'k', logger: log.logger, ...fast }).notify(alert);
    expect(received).toHaveLength(2);
    expect(received[1]!.body).toBe(received[0]!.body);
    expect(received[1]!.headers['x-stile-signature']).toBe(received[0]!.headers['x-stile-signature']);
    expect(log.warns()).toEqual([]);
  });

  it('gives up after 3 attempts with one warning, without throwing and without the URL token', async () => {
    const { url, received } = await serve((_n, _req, res) => res.writeHead(503).end('down'));
    const log = captureLog();
    const started = Date.now();
    await expect(new WebhookNotifier({ url, logger: log.logger, ...fast }).notify(alert)).resolves.toBeUndefined();
    expect(received).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(30); // 10 + 20 ms of backoff
    const warns = log.warns();
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ site: 'park1', kind: 'capacity_level', attempts: 3, reason: 'HTTP 503', msg: 'staff alert not delivered' });
    expect(JSON.stringify(log.lines)).not.toContain('s3cr3t-token');
  });

  it('does not retry a 4xx that will not get better', async () => {
    const { url, received } = await serve((_n, _req, res) => res.writeHead(404).end());
    const log = captureLog();
    await new WebhookNotifier({ url, logger: log.logger, ...fast }).notify(alert);
    expect(received).toHaveLength(1);
    expect(log.warns()[0]).toMatchObject({ reason: 'HTTP 404' });
  });

  it('times out on a server that never answers', async () => {
    const { url, received } = await serve(() => undefined); // never responds
    const log = captureLog();
    const started = Date.now();
    await new WebhookNotifier({ url, logger: log.logger, attempts: 2, backoffMs: [10], timeoutMs: 150 }).notify(alert);
    const took = Date.now() - started;
    expect(received).toHaveLength(2);
    expect(took).toBeGreaterThanOrEqual(300);
    expect(took).toBeLessThan(5000);
    expect(log.warns()[0]).toMatchObject({ attempts: 2, reason: 'timeout after 150 ms' });
  });

  it('does not throw when nothing listens or the URL is invalid', async () => {
    // A port that was just free: fetch refuses well-known ports such as 1 outright ("bad port").
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    const dead = `http://127.0.0.1:${port}/hook`;
    const log = captureLog();
    await new WebhookNotifier({ url: dead, logger: log.logger, ...fast }).notify(alert);
    expect(log.warns()[0]).toMatchObject({ attempts: 3, reason: 'ECONNREFUSED' });
    await new WebhookNotifier({ url: 'not a url', logger: log.logger, ...fast }).notify(alert);
    expect(log.warns()).toHaveLength(2);
  });

  it('logs an alert that cannot be serialized instead of throwing', async () => {
    const log = captureLog();
    await new WebhookNotifier({ url: 'http://127.0.0.1:1/', logger: log.logger, ...fast }).notify({ ...alert, details: { n: 1n } });
    expect(log.warns()[0]).toMatchObject({ msg: 'staff alert not sent: not serializable' });
  });
});

describe('LogNotifier and MultiNotifier', () => {
  it('LogNotifier logs the alert at info', async () => {
    const log = captureLog();
    await new LogNotifier(log.logger).notify(alert);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatchObject({ level: 30, alert });
  });

  it('MultiNotifier reaches every notifier even when one throws', async () => {
    const got: string[] = [];
    const ok = (name: string): StaffNotifier => ({ notify: async (a) => void got.push(`${name}:${a.kind}`) });
    const broken: StaffNotifier = { notify: () => Promise.reject(new Error('boom')) };
    const log = captureLog();
    await expect(new MultiNotifier([ok('a'), broken, ok('b')], log.logger).notify(alert)).resolves.toBeUndefined();
    expect(got.sort()).toEqual(['a:capacity_level', 'b:capacity_level']);
    expect(log.warns()[0]).toMatchObject({ reason: 'Error: boom' });
  });
});
