import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { basicAuthorization, topics, verifyControl, type WhitelistDelta } from '@stile/config';
import { GateStore, importSnapshot, openDatabase } from '../../gate-agent/src/store/index.js';
import { admit, DIALECTS, entriesMessage, seedTickets, testBridge, testClient, testDb, testSite, waitFor } from './helpers.js';
import { scrape, valueOf } from '../../service/test/prom-text.js';

const today = '2026-11-25';
const ticket = (id: string, extra: Record<string, unknown> = {}) => ({ ticketId: id, typeId: 'adult', status: 'valid' as const, visitDate: today, persons: 1, entriesUsed: 0, ...extra });

describe.each(DIALECTS)('whitelist publisher and HTTP endpoints (%s)', (dialect) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function setup(retainDeltas?: number) {
    const db = await testDb(dialect);
    cleanups.push(() => db.cleanup());
    const site = testSite(['g1']);
    const bridge = await testBridge(db, [site.config], { publicUrl: 'http://cloud.example', metricsTokenSha256: createHash('sha256').update('metrics-token').digest('hex'), ...(retainDeltas ? { retainDeltas } : {}) });
    cleanups.push(() => bridge.close());
    const base = `http://127.0.0.1:${bridge.httpPort}`;
    const login = await bridge.registry.issue(site.config.id, 'gate', 'g1');
    // The gate routes want the gate's own credential (HTTP Basic, the same pair as its MQTT login).
    const get = (path: string) => fetch(`${base}${path}`, { headers: { authorization: basicAuthorization(login.username, login.token) } });
    cleanups.push(async () => {
      const c = await testClient();
      await c.publishAsync(topics.whitelistHead(site.config.id), '', { qos: 1, retain: true });
      await c.endAsync();
    });
    return { site, s: site.config.id, bridge, base, get, login };
  }

  it('publishChanges stores, signs and publishes a delta with the next seq', async () => {
    const { site, s, bridge } = await setup();
    const gate = await testClient();
    cleanups.push(() => gate.endAsync());
    const got: Record<string, unknown>[] = [];
    gate.on('message', (t, p) => t === topics.whitelistDelta(s) && got.push(JSON.parse(p.toString()) as Record<string, unknown>));
    await gate.subscribeAsync(topics.whitelistDelta(s), { qos: 1 });
    await bridge.publishChanges(s, [{ op: 'upsert', ticket: ticket('TKT-A0001') }, { op: 'upsert', ticket: ticket('TKT-A0002', { persons: 3 }) }]);
    await bridge.publishChanges(s, [{ op: 'refund', ticketId: 'TKT-A0001' }]);
    await bridge.publishChanges(s, [{ op: 'rebook', ticketId: 'TKT-A0002', newTicket: ticket('TKT-A0003', { persons: 3 }) }]);
    await waitFor(() => got.length === 3, 'three deltas');
    expect(got.map((d) => d.seq)).toEqual(['1', '2', '3']);
    for (const d of got) expect(verifyControl(d, site.trusted, today).ok).toBe(true);
    expect((await bridge.whitelist.getTicket(s, 'TKT-A0001'))?.status).toBe('refunded');
    expect((await bridge.whitelist.getTicket(s, 'TKT-A0002'))?.status).toBe('rebooked');
    expect((await bridge.whitelist.getTicket(s, 'TKT-A0003'))?.persons).toBe(3);
    await expect(bridge.publishChanges(s, [{ op: 'refund', ticketId: 'x' } as never, { op: 'nope' } as never])).rejects.toThrow();
    expect(await bridge.whitelist.headSeq(s)).toBe(3);
  });

  it('serves a snapshot that a gate imports with importSnapshot', async () => {
    const { site, s, bridge, get } = await setup();
    await bridge.publishChanges(s, [{ op: 'upsert', ticket: ticket('TKT-S0002', { slotStart: '09:00', slotEnd: '11:00' }) }, { op: 'upsert', ticket: ticket('TKT-S0001') }]);
    // One admission at g1 makes TKT-S0001 used in the cloud (delta 2).
    const gate = await testClient();
    cleanups.push(() => gate.endAsync());
    await gate.publishAsync(topics.entries(s, 'g1'), entriesMessage(s, 'g1', [admit(1, 'TKT-S0001')]), { qos: 1 });
    await waitFor(async () => (await bridge.whitelist.headSeq(s)) === 2, 'the usage delta');

    const res = await get(`/v1/sites/${s}/whitelist/snapshot`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const body = await res.text();
    const lines = body.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toEqual({ snapshot: { site: s, asOfSeq: '2' } });
    expect(lines.slice(1, -1).map((t) => t.ticketId)).toEqual(['TKT-S0001', 'TKT-S0002']);
    // The last line signs the digest of the ticket lines with the site's control key.
    expect(lines.at(-1)).toMatchObject({ signature: { v: 1, site: s, asOfSeq: '2', tickets: 2, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect(verifyControl(lines.at(-1)!.signature as Record<string, unknown>, site.trusted, today).ok).toBe(true);

    const dir = mkdtempSync(join(tmpdir(), 'stile-cloud-snap-'));
    const file = join(dir, 'snapshot.ndjson');
    writeFileSync(file, body);
    const gateDb = openDatabase(join(dir, 'gate.db'));
    const gs = new GateStore(gateDb);
    cleanups.push(() => gs.close());
    const r = await importSnapshot(gateDb, file, { siteId: s, signature: { trusted: site.trusted, today, required: true } });
    expect(r).toMatchObject({ tickets: 2, asOfSeq: '2', signed: true });
    const row = gateDb.prepare('SELECT entries_used, slot_start FROM tickets WHERE ticket_id = ?').get('TKT-S0001') as { entries_used: number };
    expect(row.entries_used).toBe(1);
    expect(gateDb.prepare("SELECT value FROM meta WHERE key = 'whitelist_seq'").pluck().get()).toBe('2');

    // A credential of this site's gate does not open another site's data.
    expect((await get(`/v1/sites/nope/whitelist/snapshot`)).status).toBe(403);
  });

  it('answers changes?since=N and 410 Gone when N is older than the retained window', async () => {
    const { s, bridge, get } = await setup(3);
    for (let i = 1; i <= 5; i++) await bridge.publishChanges(s, [{ op: 'upsert', ticket: ticket(`TKT-C000${i}`) }]);
    const ok = await get(`/v1/sites/${s}/whitelist/changes?since=3`);
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { v: number; deltas: WhitelistDelta[] };
    expect(body.v).toBe(1);
    expect(body.deltas.map((d) => d.seq)).toEqual(['4', '5']);
    expect(body.deltas[0]!.changes[0]).toMatchObject({ op: 'upsert', ticket: { ticketId: 'TKT-C0004' } });
    expect(await (await get(`/v1/sites/${s}/whitelist/changes?since=5`)).json()).toEqual({ v: 1, deltas: [] });
    const gone = await get(`/v1/sites/${s}/whitelist/changes?since=1`);
    expect(gone.status).toBe(410);
    expect(await gone.json()).toEqual({ error: 'gone' });
    expect((await get(`/v1/sites/${s}/whitelist/changes?since=9`)).status).toBe(410);
    expect((await get(`/v1/sites/${s}/whitelist/changes?since=abc`)).status).toBe(400);
    expect((await get(`/v1/sites/${s}/whitelist/changes`)).status).toBe(400);
    expect((await get(`/v1/sites/nope/whitelist/changes?since=0`)).status).toBe(403);
  });

  it('serves /healthz and /metrics', async () => {
    const { base } = await setup();
    expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ ok: true, ready: true, store: { ok: true }, mqtt: expect.arrayContaining([expect.objectContaining({ connected: true, subscribed: true })]) });
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    // The JSON counters moved to /metrics.json (same token); /metrics is Prometheus text.
    expect((await fetch(`${base}/metrics.json`)).status).toBe(401);
    const m = (await (await fetch(`${base}/metrics.json`, { headers: { authorization: 'Bearer metrics-token' } })).json()) as Record<string, unknown>;
    expect(m).toMatchObject({ received: expect.any(Number), inserted: 0, duplicates: 0, invalid: expect.any(Object), conflicts: 0, dbErrors: 0, refused: { metrics_unauthorized: 3 } });
    const text = await scrape(`${base}/metrics`, { authorization: 'Bearer metrics-token' });
    expect(valueOf(text, 'stile_cloud_ingest_events_inserted_total')).toBe(0);
    expect(valueOf(text, 'stile_cloud_refused_total', { reason: 'metrics_unauthorized' })).toBe(3);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it('puts the snapshot URL into the retained head', async () => {
    const { s, bridge } = await setup();
    await bridge.publishChanges(s, [{ op: 'upsert', ticket: ticket('TKT-H0001') }]);
    const c = await testClient();
    cleanups.push(() => c.endAsync());
    const heads: Record<string, unknown>[] = [];
    c.on('message', (_t, p) => p.length > 0 && heads.push(JSON.parse(p.toString()) as Record<string, unknown>));
    await c.subscribeAsync(topics.whitelistHead(s), { qos: 1 });
    await waitFor(() => heads.length > 0, 'the retained head');
    expect(heads[0]).toEqual({ v: 1, seq: '1', snapshotUrl: `http://cloud.example/v1/sites/${s}/whitelist/snapshot` });
  });

  it('refuses the gate routes without the gate\'s own valid credential, and after it is revoked', async () => {
    const { s, bridge, base, get, login } = await setup();
    await seedTickets(bridge, s, ['TKT-Z0001']);
    for (const path of [`/v1/sites/${s}/whitelist/snapshot`, `/v1/sites/${s}/whitelist/changes?since=0`, `/v1/sites/${s}/ticket-types`]) {
      expect((await fetch(`${base}${path}`)).status).toBe(401);
      expect((await fetch(`${base}${path}`, { headers: { authorization: basicAuthorization(login.username, 'guessed') } })).status).toBe(401);
      expect((await fetch(`${base}${path}`, { headers: { authorization: basicAuthorization(`gate.${s}.g2`, login.token) } })).status).toBe(401);
    }
    expect((await get(`/v1/sites/${s}/whitelist/changes?since=0`)).status).toBe(200);
    expect(await bridge.registry.revoke(s, 'gate', 'g1')).toBe(true);
    expect((await get(`/v1/sites/${s}/whitelist/snapshot`)).status).toBe(401);
    expect(bridge.metrics.refused.gate_unauthorized).toBe(10);
  });

  it('serves the gate routes on a listener of their own when gateHttpPort is set, and none of them on the public port', async () => {
    const db = await testDb(dialect);
    cleanups.push(() => db.cleanup());
    const site = testSite(['g1']);
    const bridge = await testBridge(db, [site.config], { gateHttpPort: 0 });
    cleanups.push(() => bridge.close());
    const s = site.config.id;
    const login = await bridge.registry.issue(s, 'gate', 'g1');
    const headers = { authorization: basicAuthorization(login.username, login.token) };
    const pub = `http://127.0.0.1:${bridge.httpPort}`;
    const gates = `http://127.0.0.1:${bridge.gateHttpPort!}`;
    expect(bridge.gateHttpPort).not.toBe(bridge.httpPort);
    expect((await fetch(`${pub}/v1/sites/${s}/whitelist/changes?since=0`, { headers })).status).toBe(404);
    expect((await fetch(`${gates}/v1/sites/${s}/whitelist/changes?since=0`, { headers })).status).toBe(200);
    expect((await fetch(`${gates}/v1/sites/${s}/whitelist/changes?since=0`)).status).toBe(401);
    expect((await fetch(`${gates}/metrics`)).status).toBe(404);
    expect((await fetch(`${gates}/metrics.json`)).status).toBe(404);
    expect((await fetch(`${gates}/v1/channel/availability`)).status).toBe(404);
    expect((await fetch(`${gates}/healthz`)).status).toBe(200);
  });
});
