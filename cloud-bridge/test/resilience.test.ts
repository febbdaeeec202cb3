import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { topics } from '@stile/config';
import type { CloudBridge } from '../src/bridge.js';
import { admit, entriesMessage, seedTickets, testBridge, testClient, testDb, testSite, waitFor } from './helpers.js';

const BIN = fileURLToPath(new URL('../bin/stile-cloud.js', import.meta.url));

interface Health {
  ok: boolean;
  ready: boolean;
  store: { ok: boolean; error?: string };
  mqtt: { clientId: string; connected: boolean; subscribed: boolean; problem: string | null }[];
}
const health = async (bridge: CloudBridge): Promise<{ status: number; body: Health }> => {
  const res = await fetch(`http://127.0.0.1:${bridge.httpPort}/healthz`);
  return { status: res.status, body: (await res.json()) as Health };
};

describe('bad brokers and stores: logged, visible in /healthz, nothing acknowledged that is not stored', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('a broker that accepts the connection but refuses the subscription: /healthz says so until it is granted', async () => {
    const { Aedes } = await import('aedes');
    let refuse = true;
    const broker = await Aedes.createBroker({ authorizeSubscribe: (_c, sub, done) => done(null, refuse ? null : sub) });
    const server = createServer(broker.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => broker.close(() => server.close(() => r(undefined)))));
    const db = await testDb('sqlite');
    cleanups.push(() => db.cleanup());
    const site = testSite(['g1']);
    const bridge = await testBridge(db, [site.config], { mqttUrl: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`, mqttProtocol: 4 });
    cleanups.push(() => bridge.close());
    const refused = await health(bridge);
    expect(refused.status).toBe(503);
    expect(refused.body.ready).toBe(false);
    expect(refused.body.mqtt[0]).toMatchObject({ connected: true, subscribed: false, problem: expect.stringContaining('subscription refused') });
    refuse = false; // the broker's ACL fixed: the bridge's retry gets the subscription
    await waitFor(async () => (await health(bridge)).status === 200, 'the retried subscription');
    expect((await health(bridge)).body.mqtt.every((m) => m.subscribed)).toBe(true);
  });

  it('a store that refuses writes: nothing acknowledged, /healthz 503 until a commit succeeds', async () => {
    const db = await testDb('sqlite');
    cleanups.push(() => db.cleanup());
    const site = testSite(['g1']);
    const bridge = await testBridge(db, [site.config]);
    cleanups.push(() => bridge.close());
    const s = site.config.id;
    await seedTickets(bridge, s, ['TKT-RO-0001']);
    const original = bridge.sync.insertEntries.bind(bridge.sync);
    let readOnly = true;
    bridge.sync.insertEntries = (...args) => (readOnly ? Promise.reject(new Error('attempt to write a readonly database')) : original(...args));
    const gate = await testClient();
    cleanups.push(() => gate.endAsync());
    const receipts: string[] = [];
    gate.on('message', (t) => t === topics.entriesAck(s, 'g1') && receipts.push(t));
    await gate.subscribeAsync(topics.entriesAck(s, 'g1'), { qos: 1 });
    await gate.publishAsync(topics.entries(s, 'g1'), entriesMessage(s, 'g1', [admit(1, 'TKT-RO-0001')]), { qos: 1 });
    await waitFor(() => bridge.metrics.dbErrors >= 1, 'the refused write');
    const h = await health(bridge);
    expect(h.status).toBe(503);
    expect(h.body.store.error).toContain('readonly');
    expect(receipts).toEqual([]); // no receipt: the gate keeps the entry
    readOnly = false;
    await waitFor(async () => (await bridge.sync.countEntries(s)) === 1, 'the redelivered entry', 30_000);
    await waitFor(() => receipts.length === 1, 'the receipt after the commit');
    expect((await health(bridge)).status).toBe(200);
  });

  it('stile-cloud facing a broker that takes the connection and never answers exits 1 with one line, never 0', async () => {
    const socks: Socket[] = [];
    const silent = createServer((s) => socks.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => (socks.forEach((s) => s.destroy()), silent.close(() => r(undefined)))));
    const dir = mkdtempSync(join(tmpdir(), 'stile-cloud-silent-'));
    const site = testSite(['g1']);
    const file = join(dir, 'cloud.yaml');
    writeFileSync(
      file,
      stringify({
        mqtt: { url: `mqtt://127.0.0.1:${(silent.address() as AddressInfo).port}` },
        http: { port: 0 },
        database: { sqlitePath: join(dir, 'cloud.db') },
        sites: [{ id: site.config.id, controlKey: site.config.controlKey, gates: ['g1'] }],
      }),
    );
    const child = spawn(process.execPath, [BIN, '--config', file], { env: { ...process.env, STILE_START_TIMEOUT_S: '3', DATABASE_URL: '' } });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(/^stile-cloud: (start did not finish within 3 s|cannot connect to MQTT broker)/);
  }, 30_000);
});
