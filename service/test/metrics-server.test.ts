import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { metricsSchema, parseListenAddress } from '@stile/config';
import { counterFrom, gaugeFrom, metricsServerProblem, startMetricsServer, type MetricsServer } from '../src/index.js';
import { parsePromText, scrape, valueOf } from './prom-text.js';

const open: MetricsServer[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});
async function serve(opts: Parameters<typeof startMetricsServer>[0]): Promise<MetricsServer> {
  const s = await startMetricsServer(opts);
  open.push(s);
  return s;
}

describe('listen addresses', () => {
  it('reads host:port, bracketed IPv6 and port 0', () => {
    expect(parseListenAddress('127.0.0.1:9464')).toEqual({ ok: true, address: { host: '127.0.0.1', port: 9464 } });
    expect(parseListenAddress('[::1]:9465')).toEqual({ ok: true, address: { host: '::1', port: 9465 } });
    expect(parseListenAddress('localhost:0')).toEqual({ ok: true, address: { host: 'localhost', port: 0 } });
    for (const bad of ['9464', '127.0.0.1', '127.0.0.1:99999', 'http://127.0.0.1:9464', '::1:9464', '127.0.0.1:94a4', ''])
      expect(parseListenAddress(bad).ok, bad).toBe(false);
  });

  it('gate.yaml refuses a non-loopback address without allowRemote, and allowRemote without a token', () => {
    const schema = metricsSchema(9464);
    expect(schema.parse({})).toEqual({ listen: '127.0.0.1:9464' });
    expect(schema.safeParse({ listen: '[::1]:9464' }).success).toBe(true);
    const lan = schema.safeParse({ listen: '0.0.0.0:9464' });
    expect(lan.success).toBe(false);
    expect(lan.error!.issues[0]).toMatchObject({ path: ['listen'], message: expect.stringContaining('allowRemote') });
    const noToken = schema.safeParse({ listen: '0.0.0.0:9464', allowRemote: true });
    expect(noToken.error!.issues[0]).toMatchObject({ path: ['tokenFile'], message: expect.stringContaining('bearer token') });
    expect(schema.safeParse({ listen: '0.0.0.0:9464', allowRemote: true, tokenFile: '/etc/stile/metrics.token' }).success).toBe(true);
    expect(schema.safeParse({ listen: '127.0.0.1:9464', allowRemote: 'yes' }).success).toBe(false);
  });

  it('the server itself refuses the LAN without allowRemote and a token (not only the config)', async () => {
    expect(metricsServerProblem({ listen: '192.168.1.20:9464' })).toMatch(/^metrics\.listen: 192\.168\.1\.20 is not a loopback address/);
    expect(metricsServerProblem({ listen: '0.0.0.0:9464', allowRemote: true })).toMatch(/^metrics\.tokenFile: /);
    expect(metricsServerProblem({ listen: '0.0.0.0:9464', allowRemote: true, token: 'short' })).toMatch(/at least 16 characters/);
    await expect(startMetricsServer({ listen: '0.0.0.0:0' })).rejects.toThrow(/not a loopback address/);
  });
});

describe('the metrics server', () => {
  it('serves Node process metrics and the daemon\'s own as Prometheus text on loopback', async () => {
    let n = 0;
    const s = await serve({
      listen: '127.0.0.1:0',
      define: (prom, registry) => {
        new prom.Counter({ name: 'stile_test_things_total', help: 'Things.', labelNames: ['kind'], registers: [registry] }).inc({ kind: 'a "quoted" one' }, 2);
        gaugeFrom(prom, registry, { name: 'stile_test_level', help: 'A level read at each scrape.' }, (set) => set({}, ++n));
        counterFrom(prom, registry, { name: 'stile_test_kept_total', help: 'Kept elsewhere.', labelNames: ['reason'] }, (set) => set({ reason: 'x' }, 40 + n));
      },
    });
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const m = await scrape(s.url);
    for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds', 'nodejs_heap_size_used_bytes']) expect(m.has(name), name).toBe(true);
    expect(m.get('nodejs_gc_duration_seconds')!.type).toBe('histogram');
    expect(valueOf(m, 'stile_test_things_total', { kind: 'a "quoted" one' })).toBe(2);
    expect(valueOf(m, 'stile_test_level')).toBe(1);
    expect(valueOf(m, 'stile_test_kept_total', { reason: 'x' })).toBe(41);
    const again = await scrape(s.url);
    expect(valueOf(again, 'stile_test_level')).toBe(2);
    expect(valueOf(again, 'stile_test_kept_total', { reason: 'x' })).toBe(42);
  });

  it('answers only GET /metrics', async () => {
    const s = await serve({ listen: '127.0.0.1:0', processMetrics: false });
    const base = s.url.replace(/\/metrics$/, '');
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics/../etc/passwd`)).status).toBe(404);
    const post = await fetch(s.url, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${s.url}?name[]=x`)).status).toBe(200);
  });

  it('open to the network, it wants the bearer token', async () => {
    const token = 'metrics-token-0123456789';
    const s = await serve({ listen: '0.0.0.0:0', allowRemote: true, token, processMetrics: false, define: (prom, r) => void new prom.Gauge({ name: 'stile_test_up', help: 'Up.', registers: [r] }).set(1) });
    const url = `http://127.0.0.1:${s.port}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` } })).status).toBe(401);
    expect(valueOf(await scrape(url, { authorization: `Bearer ${token}` }), 'stile_test_up')).toBe(1);
  });

  it('a port already taken is a clear error, not a crash', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as AddressInfo).port;
    try {
      await expect(startMetricsServer({ listen: `127.0.0.1:${port}`, processMetrics: false })).rejects.toThrow(`metrics: cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    } finally {
      busy.close();
    }
  });
});

describe('the test reader of the text format', () => {
  it('refuses what Prometheus would refuse', () => {
    expect(() => parsePromText('# TYPE a counter\na 1\n')).not.toThrow();
    expect(() => parsePromText('a 1\n')).toThrow(/undeclared/);
    expect(() => parsePromText('# TYPE a counter\na{b=c} 1\n')).toThrow(/bad label/);
    expect(() => parsePromText('# TYPE a counter\na one\n')).toThrow(/bad value/);
    expect(() => parsePromText('# TYPE a counter\na_bucket 1\n')).toThrow(/suffix/);
    expect(() => parsePromText('# TYPE a counter\na 1')).toThrow(/newline/);
  });
});
