import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { GateStatusSchema, MAX_EPOCH, MAX_EPOCH_JUMP, topics } from '@stile/config';
import { StatusIngest } from '../src/modules/sync/status.js';
import type { UnknownGatePolicy } from '../src/modules/sync/entries.js';
import { Metrics } from '../src/core/metrics.js';
import { SiteKeys } from '../src/core/sites.js';
import { CloudStore } from '../src/core/db/store.js';
import { SyncRepository } from '../src/modules/sync/repository.js';
import { DIALECTS, testDb, testSite, type TestDb } from './helpers.js';

// Status ingest against a real store, no broker: the retained-status rules (issue #12).
// A stale epoch is a late Last Will; an epoch far above the known one would pin the gate.

describe.each(DIALECTS)('gate status epochs on %s', (dialect) => {
  const open: { store: CloudStore; db: TestDb }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.store.close();
      await o.db.cleanup();
    }
  });

  async function setup(unknownGates: UnknownGatePolicy = 'reject') {
    const db = await testDb(dialect);
    const store = await CloudStore.open(db.options);
    open.push({ store, db });
    const site = testSite(['g1']).config;
    await store.ensureSite(site.id, site.controlKey.id);
    await store.registerGate(site.id, 'g1');
    const metrics = new Metrics();
    const logs: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
    const sync = new SyncRepository(store);
    const ingest = new StatusIngest({ store, repository: sync, keys: new SiteKeys([site]), metrics, log, unknownGates });
    const send = (gate: string, state: string, epoch: number, at = new Date().toISOString()) =>
      ingest.handle(topics.status(site.id, gate), Buffer.from(JSON.stringify({ v: 1, state, epoch, at })));
    return { sync, site: site.id, metrics, logs, send };
  }

  it('refuses a status whose epoch jumps far ahead and changes nothing; the next real status applies', async () => {
    const { sync, site, metrics, logs, send } = await setup();
    await send('g1', 'online', 7, '2026-11-25T09:00:00+08:00');
    const before = await sync.gateState(site, 'g1');
    expect(before).toMatchObject({ epoch: 7, state: 'online', online: true });

    await send('g1', 'offline', 2 ** 40); // above MAX_EPOCH: the schema already drops it
    await send('g1', 'offline', 7 + 5000);
    await send('g1', 'offline', 7 + MAX_EPOCH_JUMP + 1);
    await send('g1', 'offline', MAX_EPOCH); // passes the schema, still a jump
    expect(metrics.invalid).toEqual({ status_schema: 1, status_epoch_jump: 3 });
    expect(metrics.statusApplied).toBe(1);
    expect(await sync.gateState(site, 'g1')).toEqual(before);
    const warns = logs.filter((l) => l.msg === 'gate status refused: epoch too far ahead of the known one');
    expect(warns.map((w) => [w.level, w.site, w.gate, w.epoch, w.known])).toEqual([
      [40, site, 'g1', 7 + 5000, 7],
      [40, site, 'g1', 7 + MAX_EPOCH_JUMP + 1, 7],
      [40, site, 'g1', MAX_EPOCH, 7],
    ]);

    // The gate restarts: its real status (known + 1) is applied, not shadowed by the forgeries.
    await send('g1', 'online', 8);
    expect(await sync.gateState(site, 'g1')).toMatchObject({ epoch: 8, state: 'online', online: true });
    // A jump of exactly MAX_EPOCH_JUMP is allowed.
    await send('g1', 'degraded', 8 + MAX_EPOCH_JUMP);
    expect(await sync.gateState(site, 'g1')).toMatchObject({ epoch: 8 + MAX_EPOCH_JUMP, state: 'degraded' });
    expect(metrics.statusApplied).toBe(3);
  });

  it('drops an epoch of 2^53-1 at the schema', async () => {
    const { sync, site, metrics, send } = await setup();
    expect(GateStatusSchema.safeParse({ v: 1, state: 'online', epoch: 2 ** 53 - 1, at: new Date().toISOString() }).success).toBe(false);
    expect(GateStatusSchema.safeParse({ v: 1, state: 'online', epoch: MAX_EPOCH + 1, at: new Date().toISOString() }).success).toBe(false);
    await send('g1', 'online', 3);
    await send('g1', 'online', 2 ** 53 - 1);
    expect(metrics.invalid).toEqual({ status_schema: 1 });
    expect(await sync.gateState(site, 'g1')).toMatchObject({ epoch: 3 });
    await send('g1', 'online', 4);
    expect(await sync.gateState(site, 'g1')).toMatchObject({ epoch: 4 });
  });

  it('still ignores a late offline Last Will of a lower epoch', async () => {
    const { sync, site, metrics, send } = await setup();
    await send('g1', 'online', 5);
    await send('g1', 'offline', 4);
    expect(metrics.staleStatusIgnored).toBe(1);
    expect(metrics.invalid).toEqual({});
    expect(await sync.gateState(site, 'g1')).toMatchObject({ epoch: 5, state: 'online', online: true });
    await send('g1', 'offline', 5);
    expect(await sync.gateState(site, 'g1')).toMatchObject({ epoch: 5, state: 'offline', online: false });
  });

  it('lets a gate never seen start at any epoch up to MAX_EPOCH_JUMP', async () => {
    const { sync, site, metrics, send } = await setup('register');
    await send('g1', 'online', MAX_EPOCH_JUMP);
    expect(await sync.gateState(site, 'g1')).toMatchObject({ epoch: MAX_EPOCH_JUMP, online: true });
    // An unregistered gate (registered by policy) with a jump from 0: refused, and no row is created.
    await send('g9', 'online', MAX_EPOCH_JUMP + 1);
    expect(metrics.invalid).toEqual({ status_epoch_jump: 1 });
    expect(await sync.gateState(site, 'g9')).toBeUndefined();
    await send('g9', 'online', 1);
    expect(await sync.gateState(site, 'g9')).toMatchObject({ epoch: 1, online: true });
  });
});
