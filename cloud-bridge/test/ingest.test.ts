import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { topics, verifyControl, WhitelistDeltaSchema, WhitelistHeadSchema, type WhitelistDelta } from '@stile/config';
import type { CloudBridge } from '../src/bridge.js';
import { admit, DIALECTS, entriesMessage, seedTickets, signedAdmit, testBridge, testClient, testDb, testSite, waitFor, type TestDb } from './helpers.js';

const today = '2026-11-25';

describe.each(DIALECTS)('entries ingest over Mosquitto (%s)', (dialect) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function setup(opts: { unknownGates?: 'reject' | 'register'; ingestConnections?: number } = {}) {
    const db: TestDb = await testDb(dialect);
    cleanups.push(() => db.cleanup());
    const site = testSite(['g1', 'g2']);
    const bridge: CloudBridge = await testBridge(db, [site.config], opts);
    cleanups.push(() => bridge.close());
    const gate: MqttClient = await testClient();
    cleanups.push(async () => {
      await gate.publishAsync(topics.whitelistHead(site.config.id), '', { qos: 1, retain: true });
      await gate.endAsync();
    });
    const deltas: WhitelistDelta[] = [];
    const raw: Record<string, unknown>[] = [];
    gate.on('message', (topic, payload) => {
      if (topic !== topics.whitelistDelta(site.config.id)) return;
      const json = JSON.parse(payload.toString()) as Record<string, unknown>;
      raw.push(json);
      deltas.push(WhitelistDeltaSchema.parse(json));
    });
    await gate.subscribeAsync(topics.whitelistDelta(site.config.id), { qos: 1 });
    const s = site.config.id;
    const publish = (g: string, events: Record<string, unknown>[]) => gate.publishAsync(topics.entries(s, g), entriesMessage(s, g, events), { qos: 1 });
    return { db, site, s, bridge, gate, deltas, raw, publish };
  }

  it('stores a batch once when it is delivered twice (QoS 1 redelivery)', async () => {
    const { s, bridge, publish } = await setup();
    await seedTickets(bridge, s, ['TKT-T1-0000', 'TKT-T2-0000', 'TKT-T3-0000']);
    const events = [admit(1, 'TKT-T1-0000'), admit(2, 'TKT-T2-0000'), admit(3, 'TKT-T3-0000')];
    await publish('g1', events);
    await publish('g1', events);
    await waitFor(() => bridge.metrics.duplicates >= 3, 'the second delivery');
    expect(await bridge.sync.countEntries(s)).toBe(3);
    expect(bridge.metrics.inserted).toBe(3);
    expect((await bridge.whitelist.getTicket(s, 'TKT-T1-0000'))?.entriesUsed).toBe(1);
    expect((await bridge.sync.gateState(s, 'g1'))?.highSeq).toBe('3');
  });

  it('counts a batch of admissions like event by event: repeats within it, known and learned tickets, an earlier correction, conflicts', async () => {
    const { site, s, bridge, publish, deltas } = await setup();
    await bridge.publishChanges(s, [
      { op: 'upsert', ticket: { ticketId: 'TKT-KN01', typeId: 'adult', status: 'valid', visitDate: today, persons: 1, entriesUsed: 0 } },
      { op: 'upsert', ticket: { ticketId: 'TKT-KN02', typeId: 'adult', status: 'valid', visitDate: today, persons: 1, entriesUsed: 0 } },
    ]);
    // A correction stored before its admission arrives (g1 seq 9 gives back all of seq 4).
    await publish('g1', [{ ...admit(9, 'TKT-KN02'), kind: 'not-passed', refSeq: '4' }]);
    await waitFor(async () => (await bridge.sync.countEntries(s)) === 1, 'the correction');
    const first = admit(1, 'TKT-KN01');
    await publish('g1', [
      signedAdmit(site, 3, 'TKT-LRN1'), // a signed ticket learned from its verified code, then admitted again at seq 5: a conflict with seq 3
      first,
      first, // the same event twice in one message: stored and counted once
      { ...admit(2, 'TKT-KN01'), eventId: 'same-seq-other-id' }, // seq 2 …
      admit(2, 'TKT-KN01'), // … twice under different event ids: the first one counts
      admit(4, 'TKT-KN02'), // given back already: net zero
      signedAdmit(site, 5, 'TKT-LRN1'),
    ]);
    await waitFor(async () => (await bridge.sync.countEntries(s)) === 6, 'the batch');
    expect(bridge.metrics.inserted).toBe(6);
    expect(bridge.metrics.duplicates).toBe(2);
    expect((await bridge.whitelist.getTicket(s, 'TKT-KN01'))?.entriesUsed).toBe(2);
    expect((await bridge.whitelist.getTicket(s, 'TKT-KN02'))?.entriesUsed).toBe(0);
    expect((await bridge.whitelist.getTicket(s, 'TKT-LRN1'))?.entriesUsed).toBe(2);
    const conflicts = await bridge.sync.conflicts(s);
    expect(conflicts.map((c) => [c.ticketId, c.firstGate, c.firstSeq, c.secondSeq]).sort()).toEqual([
      ['TKT-KN01', 'g1', '1', '2'],
      ['TKT-LRN1', 'g1', '3', '5'],
    ]);
    await waitFor(() => deltas.some((d) => d.changes.some((c) => c.op === 'used-elsewhere' && c.ticketId === 'TKT-LRN1')), 'the used-elsewhere delta');
    const last = deltas.at(-1)!;
    expect(last.changes).toEqual(
      expect.arrayContaining([
        { op: 'used-elsewhere', ticketId: 'TKT-LRN1', gate: 'g1', entriesUsed: 2 },
        { op: 'used-elsewhere', ticketId: 'TKT-KN01', gate: 'g1', entriesUsed: 2 },
      ]),
    );
    expect(last.changes.some((c) => c.op === 'used-elsewhere' && c.ticketId === 'TKT-KN02')).toBe(false);
  });

  it('admissions of tickets the cloud never issued are stored as anomalies and take no delta seq: the next delta follows without a gap', async () => {
    const { s, bridge, publish, deltas } = await setup();
    await seedTickets(bridge, s, ['TKT-GOOD-001']);
    const head = (await bridge.whitelist.headSeq(s))!;
    await publish('g1', [admit(1, 'bad id!'), admit(2, 'TKT-NEVER-SOLD')]);
    await waitFor(async () => (await bridge.sync.countEntries(s)) === 2, 'the two entries');
    expect(await bridge.whitelist.headSeq(s)).toBe(head);
    expect(await bridge.whitelist.getTicket(s, 'TKT-NEVER-SOLD')).toBeUndefined();
    expect((await bridge.sync.anomalies(s)).map((a) => a.anomaly)).toEqual(['unknown_ticket', 'unknown_ticket']);
    await publish('g1', [admit(3, 'TKT-GOOD-001')]);
    await waitFor(() => deltas.some((d) => d.changes.some((c) => c.op === 'used-elsewhere' && c.ticketId === 'TKT-GOOD-001')), 'the delta');
    expect(deltas.at(-1)!.seq).toBe(String(head + 1));
  });

  it('stores batches that arrive out of order', async () => {
    // One ingest connection: arrival order is publish order (with several, the broker
    // spreads the two batches and either may be stored first).
    const { s, bridge, publish } = await setup({ ingestConnections: 1 });
    await publish('g1', [admit(4, 'TKT-T4-0000'), admit(5, 'TKT-T5-0000')]);
    await publish('g1', [admit(1, 'TKT-T1-0000'), admit(2, 'TKT-T2-0000'), admit(3, 'TKT-T3-0000')]);
    await waitFor(async () => (await bridge.sync.countEntries(s)) === 5, 'five entries');
    expect(bridge.metrics.seqGaps).toBe(1);
    expect((await bridge.sync.gateState(s, 'g1'))?.highSeq).toBe('5');
  });

  it('several ingest connections: a burst from two gates is stored exactly once, in shared commits', async () => {
    const { s, bridge, publish } = await setup();
    const sends: Promise<unknown>[] = [];
    for (let b = 0; b < 40; b++) {
      for (const g of ['g1', 'g2']) sends.push(publish(g, Array.from({ length: 25 }, (_, i) => admit(b * 25 + i + 1, `TKT-${g}-${b}-${i}`))));
    }
    await Promise.all(sends);
    await waitFor(async () => (await bridge.sync.countEntries(s)) === 2000 && bridge.metrics.received >= 80, 'all 2,000 entries');
    // Redelivered all over again: nothing new.
    for (let b = 0; b < 40; b++) await publish('g1', Array.from({ length: 25 }, (_, i) => admit(b * 25 + i + 1, `TKT-g1-${b}-${i}`)));
    await waitFor(() => bridge.metrics.received >= 120, 'the repeats');
    expect(await bridge.sync.countEntries(s)).toBe(2000);
    expect(bridge.metrics.inserted).toBe(2000);
    expect((await bridge.sync.gateState(s, 'g1'))?.highSeq).toBe('1000');
    expect((await bridge.sync.gateState(s, 'g2'))?.highSeq).toBe('1000');
    expect(bridge.metrics.ingestCommits).toBeLessThan(bridge.metrics.received);
  });

  it('counts and drops invalid payloads, foreign-site topics, unknown gates and oversized messages, then keeps working', async () => {
    const { s, bridge, gate, publish } = await setup();
    const other = testSite();
    await gate.publishAsync(topics.entries(s, 'g1'), 'not json', { qos: 1 });
    await gate.publishAsync(topics.entries(s, 'g1'), JSON.stringify({ v: 1, site: s, gate: 'g1', events: [{ seq: '1' }] }), { qos: 1 });
    await gate.publishAsync(topics.entries(s, 'g1'), entriesMessage(s, 'g2', [admit(1, 'TKT-X1-0000')]), { qos: 1 });
    await gate.publishAsync(topics.entries(other.config.id, 'g1'), entriesMessage(s, 'g1', [admit(1, 'TKT-X2-0000')]), { qos: 1 });
    await gate.publishAsync(topics.entries(other.config.id, 'g1'), entriesMessage(other.config.id, 'g1', [admit(1, 'TKT-X3-0000')]), { qos: 1 });
    await publish('g9', [admit(1, 'TKT-X4-0000')]);
    await seedTickets(bridge, s, ['TKT-OK1-0000']);
    await gate.publishAsync(topics.entries(s, 'g1'), Buffer.alloc(300 * 1024, 0x20), { qos: 1 });
    await publish('g1', [admit(1, 'TKT-OK1-0000')]);
    // Several ingest connections share the subscription: the valid batch may be stored
    // before another connection has finished looking up gate g9, so wait for both.
    await waitFor(async () => (await bridge.sync.countEntries(s)) === 1 && (bridge.metrics.invalid.unknown_gate ?? 0) >= 1, 'the valid batch and the unknown gate');
    const { unknown_site: unknownSite, ...invalid } = bridge.metrics.invalid;
    expect(invalid).toMatchObject({ bad_json: 1, schema: 1, topic_mismatch: 2, unknown_gate: 1, oversized: 1 });
    // At least ours: the shared broker also carries other tests' and benches' sites, which this bridge does not serve.
    expect(unknownSite).toBeGreaterThanOrEqual(1);
    expect((await bridge.whitelist.getTicket(s, 'TKT-OK1-0000'))?.entriesUsed).toBe(1);
    expect(await bridge.store.gateKnown(s, 'g9')).toBe(false);
  });

  it('registers an unknown gate when the policy says so', async () => {
    const { s, bridge, publish } = await setup({ unknownGates: 'register' });
    await publish('g9', [admit(1, 'TKT-N1-0000')]);
    await waitFor(async () => (await bridge.sync.countEntries(s)) === 1, 'the entry from the new gate');
    expect(await bridge.store.gateKnown(s, 'g9')).toBe(true);
  });

  it('records exactly one partition conflict when one single-use ticket is admitted at two gates', async () => {
    // One ingest connection, so g1's admission is stored first and is the conflict's "first".
    const { s, bridge, publish } = await setup({ ingestConnections: 1 });
    await bridge.publishChanges(s, [{ op: 'upsert', ticket: { ticketId: 'TKT-P001', typeId: 'adult', status: 'valid', visitDate: today, persons: 1, entriesUsed: 0 } }]);
    const a = admit(10, 'TKT-P001');
    const b = admit(20, 'TKT-P001');
    await publish('g1', [a]);
    await publish('g2', [b]);
    await publish('g2', [b]); // redelivered: still one conflict
    await waitFor(() => bridge.metrics.duplicates >= 1 && bridge.metrics.inserted >= 2, 'both admissions');
    const conflicts = await bridge.sync.conflicts(s);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({ ticketId: 'TKT-P001', firstGate: 'g1', firstSeq: '10', secondGate: 'g2', secondSeq: '20', resolved: false });
    expect(bridge.metrics.conflicts).toBe(1);
    expect((await bridge.whitelist.getTicket(s, 'TKT-P001'))?.entriesUsed).toBe(2);
  });

  it('publishes a signed used-elsewhere delta with the next seq and moves the retained head', async () => {
    const { site, s, bridge, gate, deltas, raw, publish } = await setup();
    const first = await bridge.publishChanges(s, [{ op: 'upsert', ticket: { ticketId: 'TKT-U001', typeId: 'adult', status: 'valid', visitDate: today, persons: 1, entriesUsed: 0 } }]);
    expect(first.seq).toBe('1');
    await publish('g1', [admit(1, 'TKT-U001')]);
    await waitFor(() => deltas.some((d) => d.seq === '2'), 'delta 2');
    const d2 = deltas.find((d) => d.seq === '2')!;
    expect(d2.changes).toEqual([{ op: 'used-elsewhere', ticketId: 'TKT-U001', gate: 'g1', entriesUsed: 1 }]);
    expect(verifyControl(raw.find((r) => r.seq === '2')!, site.trusted, today)).toEqual({ ok: true, keyId: 'ck1' });
    // Tampering breaks the signature.
    expect(verifyControl({ ...raw.find((r) => r.seq === '2')!, seq: '3' }, site.trusted, today).ok).toBe(false);

    const heads: unknown[] = [];
    const watcher = await testClient();
    watcher.on('message', (_t, p) => p.length > 0 && heads.push(WhitelistHeadSchema.parse(JSON.parse(p.toString()))));
    await watcher.subscribeAsync(topics.whitelistHead(s), { qos: 1 });
    await waitFor(() => heads.some((h) => (h as { seq: string }).seq === '2'), 'retained head seq 2');
    await watcher.endAsync();
    void gate;
  });

  it('gives the entry back on a full not-passed and applies it when it arrives before the admission', async () => {
    const { s, bridge, deltas, publish } = await setup();
    await seedTickets(bridge, s, ['TKT-NP01']);
    await publish('g1', [admit(1, 'TKT-NP01', { persons: 2 }), { ...admit(2, 'TKT-NP01', { persons: 2 }), kind: 'not-passed', refSeq: '1' }]);
    await waitFor(() => deltas.length >= 2, 'the usage delta');
    expect((await bridge.whitelist.getTicket(s, 'TKT-NP01'))?.entriesUsed).toBe(0);
    expect(deltas[1]!.changes).toEqual([{ op: 'used-elsewhere', ticketId: 'TKT-NP01', gate: 'g1', entriesUsed: 0 }]);
    // The correction first, the admission later: net zero, no conflict.
    await bridge.publishChanges(s, [{ op: 'upsert', ticket: { ticketId: 'TKT-NP02', typeId: 'adult', status: 'valid', visitDate: today, persons: 1, entriesUsed: 0 } }]);
    await publish('g2', [{ ...admit(6, 'TKT-NP02'), kind: 'not-passed', refSeq: '5' }]);
    await publish('g2', [admit(5, 'TKT-NP02')]);
    await waitFor(async () => (await bridge.sync.countEntries(s)) === 4, 'all four events');
    expect((await bridge.whitelist.getTicket(s, 'TKT-NP02'))?.entriesUsed).toBe(0);
    expect(await bridge.sync.conflicts(s)).toHaveLength(0);
  });

  it('does not acknowledge while the database refuses writes; the broker redelivers after recovery', async () => {
    const { s, bridge, publish } = await setup();
    const sync = bridge.sync;
    // Admissions only: the batch takes the multi-row path.
    const original = sync.insertEntries.bind(sync);
    let failures = 0;
    sync.insertEntries = async (...args) => {
      if (failures < 2) {
        failures++;
        throw new Error('database is read-only');
      }
      return original(...args);
    };
    await publish('g1', [admit(1, 'TKT-R1-0000'), admit(2, 'TKT-R2-0000')]);
    await waitFor(async () => (await sync.countEntries(s)) === 2, 'the redelivered batch', 30_000);
    expect(bridge.metrics.dbErrors).toBeGreaterThanOrEqual(1);
    expect(bridge.metrics.inserted).toBe(2);
  });

  it('tracks gate status and ignores a stale offline from an older epoch (rule 4)', async () => {
    const { s, bridge, gate } = await setup();
    const status = (state: string, epoch: number) => JSON.stringify({ v: 1, state, epoch, at: new Date().toISOString() });
    await gate.publishAsync(topics.status(s, 'g1'), status('online', 5), { qos: 1, retain: true });
    await waitFor(async () => (await bridge.sync.gateState(s, 'g1'))?.epoch === 5, 'online epoch 5');
    await gate.publishAsync(topics.status(s, 'g1'), status('offline', 4), { qos: 1, retain: true });
    await waitFor(() => bridge.metrics.staleStatusIgnored === 1, 'the stale offline');
    expect((await bridge.sync.gateState(s, 'g1'))?.online).toBe(true);
    await gate.publishAsync(topics.status(s, 'g1'), status('offline', 5), { qos: 1, retain: true });
    await waitFor(async () => (await bridge.sync.gateState(s, 'g1'))?.online === false, 'offline epoch 5');
    await gate.publishAsync(topics.status(s, 'g1'), '', { qos: 1, retain: true });
  });
});
