import { afterEach, describe, expect, it } from 'vitest';
import type { WhitelistDelta } from '@stile/config';
import { EntriesIngest } from '../src/modules/sync/entries.js';
import { Metrics } from '../src/core/metrics.js';
import { SiteKeys } from '../src/core/sites.js';
import { CloudStore } from '../src/core/db/store.js';
import { SyncRepository } from '../src/modules/sync/repository.js';
import { WhitelistLedger } from '../src/modules/whitelist/ledger.js';
import { WhitelistPublisher } from '../src/modules/whitelist/publisher.js';
import { WhitelistRepository } from '../src/modules/whitelist/repository.js';
import { admit, DIALECTS, signedAdmit, silentLog, testDb, testSite, type TestDb, type TestSite } from './helpers.js';

/**
 * The commit group written set-based (one INSERT, one seq allocation, one ticket UPDATE, one
 * delta INSERT, one high-water statement for all admissions-only messages) must come out as
 * if the messages had been stored one after the other in (site, gate, seq) order. Messages
 * handed to `handle` in the same tick share one group.
 */
describe.each(DIALECTS)('entries ingest, one commit group on %s', (dialect) => {
  const open: { store: CloudStore; db: TestDb; pub: WhitelistPublisher }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      o.pub.close();
      await o.store.close();
      await o.db.cleanup();
    }
  });

  async function setup(sites: TestSite[], pipelines = 1) {
    const db = await testDb(dialect);
    const store = await CloudStore.open(db.options);
    for (const s of sites) {
      await store.ensureSite(s.config.id, s.config.controlKey.id);
      for (const g of s.config.gates ?? []) await store.registerGate(s.config.id, g);
    }
    const keys = new SiteKeys(sites.map((s) => s.config));
    const metrics = new Metrics();
    const published: WhitelistDelta[] = [];
    const mqtt = { publish: (topic: string, payload: string) => (topic.endsWith('/delta') && published.push(JSON.parse(payload) as WhitelistDelta), Promise.resolve()) };
    const whitelist = new WhitelistRepository(store);
    const sync = new SyncRepository(store);
    const pub = new WhitelistPublisher({ repository: whitelist, mqtt, log: silentLog, metrics });
    open.push({ store, db, pub });
    const ledger = new WhitelistLedger(whitelist, keys, pub);
    const receipts: { site: string; gate: string; from: string; to: string }[] = [];
    const ingest = new EntriesIngest({
      store,
      repository: sync,
      ledger,
      keys,
      metrics,
      log: silentLog,
      receipt: (site, gate, r) => receipts.push({ site, gate, from: r.from, to: r.to }),
      maxAdmissionsPerSecond: () => 0,
      pipelines,
    });
    const seed = async (site: string, ids: string[], maxEntries = 1) => {
      for (const ticketId of ids) await whitelist.upsertTicket(store.db, site, { ticketId, typeId: 'adult', status: 'valid', visitDate: '2026-11-25', persons: 1, entriesUsed: 0 }, null, maxEntries);
    };
    /** Hand all messages over in one tick: they are stored in one transaction. */
    const together = (msgs: { site: string; gate: string; events: Record<string, unknown>[] }[]) =>
      Promise.all(msgs.map((m) => ingest.handle(`stile/${m.site}/gates/${m.gate}/entries`, Buffer.from(JSON.stringify({ v: 1, site: m.site, gate: m.gate, events: m.events })))));
    const deltas = async (site: string) => {
      const r = await whitelist.changesSince(site, 0);
      if (!r.ok) throw new Error(r.reason);
      return r.deltas;
    };
    return { whitelist, sync, metrics, together, seed, deltas, receipts, published };
  }

  it('stores several gates and sites in one commit: usage, deltas gap-free per site, conflicts across gates, duplicates once', async () => {
    const a = testSite(['g1', 'g2']);
    const b = testSite(['g1']);
    const A = a.config.id;
    const B = b.config.id;
    const { whitelist, sync, metrics, together, seed, deltas, receipts } = await setup([a, b]);
    await seed(A, ['T1', 'T2', 'T3', 'T4']);
    await seed(A, ['MULTI'], 3);
    await seed(B, ['U1', 'U2']);
    const first = [admit(1, 'T1'), admit(2, 'T2'), admit(3, 'MULTI')];
    const outcomes = await together([
      { site: A, gate: 'g1', events: first },
      // The same message again (a redelivery in the same group): all duplicates.
      { site: A, gate: 'g1', events: first },
      { site: A, gate: 'g1', events: [admit(4, 'T3'), admit(5, 'MULTI')] },
      // T1 again at another gate: a double admission; MULTI a third time: allowed.
      { site: A, gate: 'g2', events: [admit(1, 'T1'), admit(2, 'MULTI'), admit(3, 'T4')] },
      { site: B, gate: 'g1', events: [admit(7, 'U1'), admit(9, 'U2')] },
    ]);
    expect(outcomes).toEqual(['ack', 'ack', 'ack', 'ack', 'ack']);
    expect(metrics.ingestCommits).toBe(1);
    expect(metrics.inserted).toBe(10);
    expect(metrics.duplicates).toBe(3);
    expect(metrics.conflicts).toBe(1);
    expect(await sync.countEntries(A)).toBe(8);
    expect(await sync.countEntries(B)).toBe(2);
    expect((await whitelist.getTicket(A, 'T1'))?.entriesUsed).toBe(2);
    expect((await whitelist.getTicket(A, 'MULTI'))?.entriesUsed).toBe(3);
    expect((await whitelist.getTicket(B, 'U2'))?.entriesUsed).toBe(1);
    const conflicts = await sync.conflicts(A);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({ ticketId: 'T1', firstGate: 'g1', firstSeq: '1', secondGate: 'g2', secondSeq: '1' });
    // One delta per message that counted something, in (gate, seq) order, each with the counts after it.
    const da = await deltas(A);
    expect(da.map((d) => d.seq)).toEqual(['1', '2', '3']);
    expect(da.map((d) => d.changes)).toEqual([
      [
        { op: 'used-elsewhere', ticketId: 'T1', gate: 'g1', entriesUsed: 1 },
        { op: 'used-elsewhere', ticketId: 'T2', gate: 'g1', entriesUsed: 1 },
        { op: 'used-elsewhere', ticketId: 'MULTI', gate: 'g1', entriesUsed: 1 },
      ],
      [
        { op: 'used-elsewhere', ticketId: 'T3', gate: 'g1', entriesUsed: 1 },
        { op: 'used-elsewhere', ticketId: 'MULTI', gate: 'g1', entriesUsed: 2 },
      ],
      [
        { op: 'used-elsewhere', ticketId: 'T1', gate: 'g2', entriesUsed: 2 },
        { op: 'used-elsewhere', ticketId: 'MULTI', gate: 'g2', entriesUsed: 3 },
        { op: 'used-elsewhere', ticketId: 'T4', gate: 'g2', entriesUsed: 1 },
      ],
    ]);
    expect((await deltas(B)).map((d) => d.seq)).toEqual(['1']);
    expect(await whitelist.headSeq(A)).toBe(3);
    expect((await sync.gateState(A, 'g1'))?.highSeq).toBe('5');
    expect((await sync.gateState(A, 'g2'))?.highSeq).toBe('3');
    expect((await sync.gateState(B, 'g1'))?.highSeq).toBe('9');
    // B's g1 starts at 7: a gap (seqs 1–6 not here yet); nothing else is one.
    expect(metrics.seqGaps).toBe(1);
    expect(receipts).toHaveLength(5);
  });

  it('with two commit pipelines (gates split between them): the same counts, conflicts and gap-free deltas', async () => {
    const a = testSite(['g1', 'g2', 'g3', 'g4']);
    const A = a.config.id;
    const { whitelist, sync, metrics, together, seed, deltas } = await setup([a], 2);
    const ids = Array.from({ length: 40 }, (_, i) => `D${i}`);
    await seed(A, ids);
    // Every ticket admitted at two gates: 40 double admissions, whichever pipeline commits first.
    const msgs = [];
    for (let round = 0; round < 5; round++) {
      for (const [gi, gate] of ['g1', 'g2', 'g3', 'g4'].entries()) {
        const half = gi % 2 === 0 ? ids.slice(0, 20) : ids.slice(20);
        const mine = half.slice(round * 4, round * 4 + 4);
        msgs.push({ site: A, gate, events: mine.map((t, k) => admit(round * 4 + k + 1, t)) });
      }
    }
    await together(msgs);
    expect(metrics.inserted).toBe(80);
    expect(metrics.conflicts).toBe(40);
    for (const t of ids) expect((await whitelist.getTicket(A, t))?.entriesUsed).toBe(2);
    expect(await sync.conflicts(A)).toHaveLength(40);
    const da = await deltas(A);
    expect(da.map((d) => Number(d.seq))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // Each ticket's counts in seq order: 1, then 2.
    const seen = new Map<string, number[]>();
    for (const d of da) for (const c of d.changes) if (c.op === 'used-elsewhere') seen.set(c.ticketId, [...(seen.get(c.ticketId) ?? []), c.entriesUsed]);
    for (const t of ids) expect(seen.get(t)).toEqual([1, 2]);
  });

  it('a message whose tickets nobody issued sends no delta: the seqs of the later messages close up', async () => {
    const a = testSite(['g1', 'g2', 'g3']);
    const A = a.config.id;
    const { whitelist, sync, metrics, together, seed, deltas } = await setup([a]);
    await seed(A, ['K1', 'K2']);
    await together([
      { site: A, gate: 'g1', events: [admit(1, 'K1')] },
      { site: A, gate: 'g2', events: [admit(1, 'NOBODY-1'), admit(2, 'NOBODY-1'), admit(3, 'NOBODY-2')] },
      { site: A, gate: 'g3', events: [admit(1, 'K2'), admit(2, 'NOBODY-3')] },
    ]);
    expect(metrics.ingestCommits).toBe(1);
    expect(metrics.inserted).toBe(6);
    // The first event of each unknown ticket in a message is flagged (as before).
    expect(metrics.anomalies.unknown_ticket).toBe(3);
    expect(await sync.anomalies(A)).toHaveLength(3);
    const da = await deltas(A);
    expect(da.map((d) => [d.seq, d.changes.map((c) => (c.op === 'used-elsewhere' ? `${c.gate}:${c.ticketId}` : c.op))])).toEqual([
      ['1', ['g1:K1']],
      ['2', ['g3:K2']],
    ]);
    expect(await whitelist.headSeq(A)).toBe(2);
    expect(await whitelist.getTicket(A, 'NOBODY-1')).toBeUndefined();
  });

  it('learns a signed ticket in one message and counts it again in a later one of the same group', async () => {
    const a = testSite(['g1', 'g2']);
    const A = a.config.id;
    const { whitelist, sync, metrics, together, deltas } = await setup([a]);
    await together([
      { site: A, gate: 'g1', events: [signedAdmit(a, 1, 'ST2TICKET01')] },
      { site: A, gate: 'g2', events: [signedAdmit(a, 1, 'ST2TICKET01')] },
    ]);
    expect(metrics.ingestCommits).toBe(1);
    expect(metrics.inserted).toBe(2);
    expect(metrics.conflicts).toBe(1);
    expect((await whitelist.getTicket(A, 'ST2TICKET01'))?.entriesUsed).toBe(2);
    const da = await deltas(A);
    expect(da.map((d) => d.changes)).toEqual([
      [{ op: 'used-elsewhere', ticketId: 'ST2TICKET01', gate: 'g1', entriesUsed: 1 }],
      [{ op: 'used-elsewhere', ticketId: 'ST2TICKET01', gate: 'g2', entriesUsed: 2 }],
    ]);
    expect((await sync.conflicts(A))[0]).toMatchObject({ firstGate: 'g1', firstSeq: '1', secondGate: 'g2' });
  });

  it('a message with a correction between admissions-only ones of the same group keeps the order', async () => {
    const a = testSite(['g1']);
    const A = a.config.id;
    const { whitelist, sync, metrics, together, seed, deltas } = await setup([a]);
    await seed(A, ['P1', 'P2', 'P3']);
    await together([
      { site: A, gate: 'g1', events: [admit(1, 'P1')] },
      { site: A, gate: 'g1', events: [{ ...admit(3, 'P1'), kind: 'not-passed', refSeq: '1' }, admit(2, 'P2')] },
      { site: A, gate: 'g1', events: [admit(4, 'P3')] },
    ]);
    expect(metrics.ingestCommits).toBe(1);
    expect(metrics.inserted).toBe(4);
    expect((await whitelist.getTicket(A, 'P1'))?.entriesUsed).toBe(0);
    expect((await whitelist.getTicket(A, 'P3'))?.entriesUsed).toBe(1);
    expect((await deltas(A)).map((d) => d.seq)).toEqual(['1', '2', '3']);
    expect((await sync.gateState(A, 'g1'))?.highSeq).toBe('4');
  });
});
