import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, isStileError, StileErrorCode } from '@stile/config';
import { loadCloudConfig } from '../src/config.js';
import { LogNotifier, MultiNotifier, signWebhook, type StaffAlert, type StaffNotifier, verifyWebhookSignature, WebhookNotifier } from '../src/core/notify/webhook.js';

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

const SECRET = 'hook-secret-0123456789abcdef0123456789';
/** The notifier's clock: 2026-05-01T02:30:00Z. */
const SENT_MS = Date.parse('2026-05-01T02:30:00.000Z');
const SENT_SEC = SENT_MS / 1000;

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

  it('POSTs the alert as JSON, signed with a timestamp: t=<unix s>,v1=<HMAC-SHA256 of "<t>.<body>">', async () => {
    const { url, received } = await serve((_n, _req, res) => res.writeHead(204).end());
    const log = captureLog();
    await new WebhookNotifier({ url, secret: SECRET, logger: log.logger, now: () => SENT_MS, ...fast }).notify(alert);
    expect(received).toHaveLength(1);
    const r = received[0]!;
    expect(r.headers['content-type']).toBe('application/json');
    expect(JSON.parse(r.body)).toEqual(alert);
    expect(r.headers['x-stile-timestamp']).toBe(String(SENT_SEC));
    // Recomputed independently of the module under test.
    const v1 = createHmac('sha256', SECRET).update(`${SENT_SEC}.${r.body}`).digest('hex');
    expect(r.headers['x-stile-signature']).toBe(`t=${SENT_SEC},v1=${v1}`);
    expect(log.warns()).toEqual([]);
  });

  it('a receiver using verifyWebhookSignature accepts a delivered alert, refuses it replayed after the window or with a changed body', async () => {
    // The receiver: checks the signature over the raw bytes with its own (injected) clock.
    let receiverNowSec = SENT_SEC + 2;
    const verdicts: string[] = [];
    const { url, received } = await serve((_n, req, res) => {
      const last = received.at(-1)!;
      const v = verifyWebhookSignature(SECRET, req.headers['x-stile-signature'], last.body, receiverNowSec);
      verdicts.push(v.ok ? 'ok' : v.reason);
      res.writeHead(v.ok ? 204 : 401).end();
    });
    const log = captureLog();
    await new WebhookNotifier({ url, secret: SECRET, logger: log.logger, now: () => SENT_MS, ...fast }).notify(alert);
    expect(verdicts).toEqual(['ok']);
    expect(log.warns()).toEqual([]);

    // Someone who captured the request sends it again, byte for byte.
    const captured = received[0]!;
    const replay = (body: string) =>
      fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-stile-signature': String(captured.headers['x-stile-signature']), 'x-stile-timestamp': String(captured.headers['x-stile-timestamp']) } });
    receiverNowSec = SENT_SEC + 299; // still inside the 5-minute window: the receiver must de-duplicate itself if it cares
    expect((await replay(captured.body)).status).toBe(204);
    receiverNowSec = SENT_SEC + 301;
    expect((await replay(captured.body)).status).toBe(401);
    expect(verdicts.at(-1)).toBe('expired');

    // Changed in transit, inside the window: the signature no longer matches.
    receiverNowSec = SENT_SEC + 2;
    const tampered = captured.body.replace('"orange"', '"green"');
    expect(tampered).not.toBe(captured.body);
    expect((await replay(tampered)).status).toBe(401);
    expect(verdicts.at(-1)).toBe('bad_signature');
  });

  it('retries after a 500 and succeeds on the second attempt, each attempt signed with its own timestamp', async () => {
    const { url, received } = await serve((n, _req, res) => res.writeHead(n === 1 ? 500 : 200).end());
    const log = captureLog();
    let clock = SENT_MS;
    await new WebhookNotifier({ url, secret: SECRET, logger: log.logger, now: () => (clock += 1000), ...fast }).notify(alert);
    expect(received).toHaveLength(2);
    expect(received[1]!.body).toBe(received[0]!.body);
    const [t1, t2] = received.map((r) => Number(r.headers['x-stile-timestamp']));
    expect(t2).toBe(t1! + 1);
    for (const r of received) expect(verifyWebhookSignature(SECRET, r.headers['x-stile-signature'], r.body, Number(r.headers['x-stile-timestamp']))).toEqual({ ok: true });
    expect(log.warns()).toEqual([]);
  });

  it('refuses to be built without a secret of at least 32 characters', () => {
    const logger = captureLog().logger;
    for (const secret of [undefined, '', 'short-secret-0123456789']) {
      let err: unknown;
      try {
        new WebhookNotifier({ url: 'http://127.0.0.1/hook', secret: secret as string, logger });
      } catch (e) {
        err = e;
      }
      expect(isStileError(err, StileErrorCode.ConfigInvalid)).toBe(true);
      expect((err as Error).message).toMatch(/secret is required, at least 32 characters/);
    }
  });

  it('gives up after 3 attempts with one warning, without throwing and without the URL token', async () => {
    const { url, received } = await serve((_n, _req, res) => res.writeHead(503).end('down'));
    const log = captureLog();
    const started = Date.now();
    await expect(new WebhookNotifier({ url, secret: SECRET, logger: log.logger, ...fast }).notify(alert)).resolves.toBeUndefined();
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
    await new WebhookNotifier({ url, secret: SECRET, logger: log.logger, ...fast }).notify(alert);
    expect(received).toHaveLength(1);
    expect(log.warns()[0]).toMatchObject({ reason: 'HTTP 404' });
  });

  it('times out on a server that never answers', async () => {
    const { url, received } = await serve(() => undefined); // never responds
    const log = captureLog();
    const started = Date.now();
    await new WebhookNotifier({ url, secret: SECRET, logger: log.logger, attempts: 2, backoffMs: [10], timeoutMs: 150 }).notify(alert);
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
    await new WebhookNotifier({ url: dead, secret: SECRET, logger: log.logger, ...fast }).notify(alert);
    expect(log.warns()[0]).toMatchObject({ attempts: 3, reason: 'ECONNREFUSED' });
    await new WebhookNotifier({ url: 'not a url', secret: SECRET, logger: log.logger, ...fast }).notify(alert);
    expect(log.warns()).toHaveLength(2);
  });

  it('logs an alert that cannot be serialized instead of throwing', async () => {
    const log = captureLog();
    await new WebhookNotifier({ url: 'http://127.0.0.1:1/', secret: SECRET, logger: log.logger, ...fast }).notify({ ...alert, details: { n: 1n } });
    expect(log.warns()[0]).toMatchObject({ msg: 'staff alert not sent: not serializable' });
  });
});

describe('verifyWebhookSignature', () => {
  const body = JSON.stringify(alert);
  const header = signWebhook(SECRET, SENT_SEC, body);

  it('accepts a signature within the window on either side of the clock, and Buffer bodies', () => {
    expect(verifyWebhookSignature(SECRET, header, body, SENT_SEC)).toEqual({ ok: true });
    expect(verifyWebhookSignature(SECRET, header, body, SENT_SEC + 300)).toEqual({ ok: true });
    expect(verifyWebhookSignature(SECRET, header, body, SENT_SEC - 300)).toEqual({ ok: true });
    expect(verifyWebhookSignature(SECRET, header, Buffer.from(body), SENT_SEC)).toEqual({ ok: true });
    expect(verifyWebhookSignature(SECRET, [header], body, SENT_SEC)).toEqual({ ok: true });
    expect(verifyWebhookSignature(SECRET, header, body, SENT_SEC + 30, 10)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses old, future, forged and re-timed requests', () => {
    expect(verifyWebhookSignature(SECRET, header, body, SENT_SEC + 301)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyWebhookSignature(SECRET, header, body, SENT_SEC - 301)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyWebhookSignature(`${SECRET}x`, header, body, SENT_SEC)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyWebhookSignature(SECRET, header, `${body} `, SENT_SEC)).toEqual({ ok: false, reason: 'bad_signature' });
    // A replayer moving t into the window breaks the signature, which covers t.
    const retimed = header.replace(`t=${SENT_SEC}`, `t=${SENT_SEC + 3600}`);
    expect(verifyWebhookSignature(SECRET, retimed, body, SENT_SEC + 3600)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('accepts any matching v1 among several (secret rotation) and skips unknown keys', () => {
    const other = signWebhook('another-secret-0123456789abcdef01234', SENT_SEC, body).split(',')[1]!;
    expect(verifyWebhookSignature(SECRET, `${other},${header},v2=abc`, body, SENT_SEC)).toEqual({ ok: true });
  });

  it.each([
    [undefined, 'missing'],
    [null, 'missing'],
    ['', 'missing'],
    [[], 'missing'],
    ['sha256=abcdef', 'malformed'],
    [`t=${SENT_SEC}`, 'malformed'],
    [`v1=${'a'.repeat(64)}`, 'malformed'],
    [`t=soon,v1=${'a'.repeat(64)}`, 'malformed'],
    [`t=${SENT_SEC},v1=xyz`, 'malformed'],
    [`t=${SENT_SEC},t=${SENT_SEC},v1=${'a'.repeat(64)}`, 'malformed'],
    [`t=${SENT_SEC},v1=${'a'.repeat(64)}`, 'bad_signature'],
    [['a', 'b'], 'malformed'],
  ])('%j -> %s', (h, reason) => {
    expect(verifyWebhookSignature(SECRET, h, body, SENT_SEC)).toEqual({ ok: false, reason });
  });
});

describe('alerts in cloud.yaml', () => {
  const pair = generateSigningKeyPair('ck1');
  const load = (alerts: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'stile-cloud-hook-'));
    writeFileSync(join(dir, 'control.pem'), pair.privateKeyPem);
    const file = join(dir, 'cloud.yaml');
    writeFileSync(file, ['mqtt: { url: "mqtt://h" }', 'sites:', '  - id: park1', '    controlKey: { id: ck1, privateKeyFile: control.pem }', 'alerts:', ...alerts, ''].join('\n'));
    return () => loadCloudConfig(file, {});
  };

  it('refuses a webhook without a secret, naming the field', () => {
    const run = load(['  webhookUrl: https://ops.example.cn/stile-alerts']);
    expect(run).toThrow(/cloud\.yaml: alerts\.secret: required whenever alerts\.webhookUrl is set/);
    let err: unknown;
    try {
      run();
    } catch (e) {
      err = e;
    }
    expect(isStileError(err, StileErrorCode.ConfigInvalid)).toBe(true);
  });

  it('refuses a secret shorter than 32 characters and takes a long one', () => {
    expect(load(['  webhookUrl: https://ops.example.cn/stile-alerts', '  secret: a-shared-secret-of-16+-chars'])).toThrow(/alerts\.secret: at least 32 characters/);
    const { options } = load(['  webhookUrl: https://ops.example.cn/stile-alerts', `  secret: ${SECRET}`])();
    expect(options.alertWebhook).toEqual({ url: 'https://ops.example.cn/stile-alerts', secret: SECRET });
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
