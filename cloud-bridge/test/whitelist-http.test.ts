import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { topics, verifyControl, type WhitelistDelta } from '@stile/config';
import { GateStore, importSnapshot, openDatabase } from '../../gate-agent/src/store/index.js';
import { admit, DIALECTS, entriesMessage, testBridge, testClient, testDb, testSite, waitFor } from './helpers.js';

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
    const bridge = await testBridge(db, [site.config], { publicUrl: 'http://cloud.example', ...(retainDeltas ? { retainDeltas } : {}) });
    cleanups.push(() => bridge.close());
    const base = `http://127.0.0.1:${bridge.httpPort}`;
    cleanups.push(async () => {
      const c = await testClient();
      await c.publishAsync(topics.whitelistHead(site.config.id), '', { qos: 1, retain: true });
      await c.endAsync();
    });
    return { site, s: site.config.id, bridge, base };
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
    expect((await bridge.store.getTicket(s, 'TKT-A0001'))?.status).toBe('refunded');
    expect((await bridge.store.getTicket(s, 'TKT-A0002'))?.status).toBe('rebooked');
    expect((await bridge.store.getTicket(s, 'TKT-A0003'))?.persons).toBe(3);
    await expect(bridge.publishChanges(s, [{ op: 'refund', ticketId: 'x' } as never, { op: 'nope' } as never])).rejects.toThrow();
    expect(await bridge.store.headSeq(s)).toBe(3);
  });

  it('serves a snapshot that a gate imports with importSnapshot', async () => {
    const { s, bridge, base } = await setup();
    await bridge.publishChanges(s, [{ op: 'upsert', ticket: ticket('TKT-S0002', { slotStart: '09:00', slotEnd: '11:00' }) }, { op: 'upsert', ticket: ticket('TKT-S0001') }]);
    // One admission at g1 makes TKT-S0001 used in the cloud (delta 2).
    const gate = await testClient();
    cleanups.push(() => gate.endAsync());
    await gate.publishAsync(topics.entries(s, 'g1'), entriesMessage(s, 'g1', [admit(1, 'TKT-S0001')]), { qos: 1 });
    await waitFor(async () => (await bridge.store.headSeq(s)) === 2, 'the usage delta');

    const res = await fetch(`${base}/v1/sites/${s}/whitelist/snapshot`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const body = await res.text();
    const lines = body.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toEqual({ snapshot: { site: s, asOfSeq: '2' } });
    expect(lines.slice(1).map((t) => t.ticketId)).toEqual(['TKT-S0001', 'TKT-S0002']);

    const dir = mkdtempSync(join(tmpdir(), 'stile-cloud-snap-'));
    const file = join(dir, 'snapshot.ndjson');
    writeFileSync(file, body);
    const gateDb = openDatabase(join(dir, 'gate.db'));
    const gs = new GateStore(gateDb);
    cleanups.push(() => gs.close());
    const r = await importSnapshot(gateDb, file, { siteId: s });
    expect(r).toMatchObject({ tickets: 2, asOfSeq: '2' });
    const row = gateDb.prepare('SELECT entries_used, slot_start FROM tickets WHERE ticket_id = ?').get('TKT-S0001') as { entries_used: number };
    expect(row.entries_used).toBe(1);
    expect(gateDb.prepare("SELECT value FROM meta WHERE key = 'whitelist_seq'").pluck().get()).toBe('2');

    expect((await fetch(`${base}/v1/sites/nope/whitelist/snapshot`)).status).toBe(404);
  });

  it('answers changes?since=N and 410 Gone when N is older than the retained window', async () => {
    const { s, bridge, base } = await setup(3);
    for (let i = 1; i <= 5; i++) await bridge.publishChanges(s, [{ op: 'upsert', ticket: ticket(`TKT-C000${i}`) }]);
    const ok = await fetch(`${base}/v1/sites/${s}/whitelist/changes?since=3`);
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { v: number; deltas: WhitelistDelta[] };
    expect(body.v).toBe(1);
    expect(body.deltas.map((d) => d.seq)).toEqual(['4', '5']);
    expect(body.deltas[0]!.changes[0]).toMatchObject({ op: 'upsert', ticket: { ticketId: 'TKT-C0004' } });
    expect(await (await fetch(`${base}/v1/sites/${s}/whitelist/changes?since=5`)).json()).toEqual({ v: 1, deltas: [] });
    const gone = await fetch(`${base}/v1/sites/${s}/whitelist/changes?since=1`);
    expect(gone.status).toBe(410);
    expect(await gone.json()).toEqual({ error: 'gone' });
    expect((await fetch(`${base}/v1/sites/${s}/whitelist/changes?since=9`)).status).toBe(410);
    expect((await fetch(`${base}/v1/sites/${s}/whitelist/changes?since=abc`)).status).toBe(400);
    expect((await fetch(`${base}/v1/sites/${s}/whitelist/changes`)).status).toBe(400);
    expect((await fetch(`${base}/v1/sites/nope/whitelist/changes?since=0`)).status).toBe(404);
  });

  it('serves /healthz and /metrics', async () => {
    const { base } = await setup();
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ ok: true });
    const m = (await (await fetch(`${base}/metrics`)).json()) as Record<string, unknown>;
    expect(m).toMatchObject({ received: expect.any(Number), inserted: 0, duplicates: 0, invalid: expect.any(Object), conflicts: 0, dbErrors: 0 });
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
});
