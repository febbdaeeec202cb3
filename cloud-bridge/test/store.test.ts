import { afterEach, describe, expect, it } from 'vitest';
import { signControl, loadSigningKey, generateSigningKeyPair, type EntryEvent, type WhitelistDelta } from '@stile/config';
import { CloudStore } from '../src/core/db/store.js';
import { SyncRepository } from '../src/modules/sync/repository.js';
import { WhitelistRepository } from '../src/modules/whitelist/repository.js';
import { admit, DIALECTS, testDb, uniqueId, type TestDb } from './helpers.js';

describe.each(DIALECTS)('CloudStore and the repositories on %s', (dialect) => {
  const open: { store: CloudStore; db: TestDb }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.store.close();
      await o.db.cleanup();
    }
  });
  async function fresh(retainDeltas?: number): Promise<{ store: CloudStore; whitelist: WhitelistRepository; sync: SyncRepository }> {
    const db = await testDb(dialect);
    const store = await CloudStore.open(db.options);
    open.push({ store, db });
    return { store, whitelist: new WhitelistRepository(store, retainDeltas ? { retainDeltas } : {}), sync: new SyncRepository(store) };
  }
  const key = loadSigningKey('ck1', generateSigningKeyPair('ck1').privateKeyPem);
  const delta = (site: string, seq: number): WhitelistDelta =>
    signControl({ v: 1 as const, site, seq: String(seq), changes: [{ op: 'revoke' as const, ticketId: `t${seq}` }] }, key) as WhitelistDelta;

  it('migrates once and reopens an existing database', async () => {
    const db = await testDb(dialect);
    const a = await CloudStore.open(db.options);
    await a.ensureSite('s1', 'ck1');
    await a.close();
    const b = await CloudStore.open(db.options);
    expect(await b.siteExists('s1')).toBe(true);
    expect(b.dialect).toBe(dialect);
    await b.close();
    await db.cleanup();
  });

  it('stores an entry once by eventId and once by (site, gate, seq)', async () => {
    const { store, sync } = await fresh();
    const site = uniqueId();
    const e = admit(7, 'T1') as EntryEvent;
    const now = new Date().toISOString();
    expect(await sync.insertEntry(store.db, site, 'g1', e, now)).toBe(true);
    expect(await sync.insertEntry(store.db, site, 'g1', e, now)).toBe(false);
    expect(await sync.insertEntry(store.db, site, 'g1', { ...e, eventId: 'another-event-id' }, now)).toBe(false);
    expect(await sync.insertEntry(store.db, site, 'g2', { ...e, eventId: 'third-event-id' }, now)).toBe(true);
    expect(await sync.countEntries(site)).toBe(2);
  });

  it('adds admissions to many tickets at once: each by its own count, unknown tickets absent, others untouched', async () => {
    const { store, whitelist } = await fresh();
    const site = uniqueId();
    const ticket = (ticketId: string, entriesUsed = 0) => ({ ticketId, typeId: 'adult', status: 'valid' as const, visitDate: '2026-11-28', persons: 1, entriesUsed });
    await whitelist.upsertTickets(store.db, site, [ticket('A'), ticket('B', 2), ticket('C'), ...Array.from({ length: 1500 }, (_, i) => ticket(`M${i}`))], null);
    const many: [string, number][] = Array.from({ length: 1200 }, (_, i) => [`M${i}`, 1 + (i % 3)]);
    const after = await whitelist.addTicketUsage(store.db, site, [['A', 1], ['B', 2], ['nobody', 1], ...many], 9);
    expect(after.get('A')).toEqual({ entriesUsed: 1, maxEntries: 1 });
    expect(after.get('B')?.entriesUsed).toBe(4);
    expect(after.has('nobody')).toBe(false);
    expect(after.has('C')).toBe(false);
    expect(after.get('M1199')?.entriesUsed).toBe(3);
    expect(after.size).toBe(2 + 1200);
    expect((await whitelist.getTicket(site, 'C'))?.entriesUsed).toBe(0);
    expect((await whitelist.getTicket(site, 'M1300'))?.entriesUsed).toBe(0);
  });

  it('keeps 64-bit seqs exact', async () => {
    const { store, sync } = await fresh();
    const site = uniqueId();
    await store.registerGate(site, 'g1');
    const big = '9223372036854775807';
    await sync.insertEntry(store.db, site, 'g1', admit(1, 'T1', { seq: big }) as EntryEvent, new Date().toISOString());
    await store.raiseHighSeq(store.db, site, 'g1', BigInt(big));
    expect((await sync.gateState(site, 'g1'))?.highSeq).toBe(big);
    const earlier = await sync.earlierAdmission(store.db, site, 'T1', 'g9', '1');
    expect(earlier).toEqual({ gate: 'g1', seq: big });
  });

  it('allocates delta seqs gap-free: a rolled-back transaction gives its seq back', async () => {
    const { store, whitelist } = await fresh();
    const site = uniqueId();
    await store.ensureSite(site, 'ck1');
    expect(await store.db.transaction().execute((trx) => whitelist.allocateSeq(trx, site))).toBe(1);
    await expect(
      store.db.transaction().execute(async (trx) => {
        await whitelist.allocateSeq(trx, site);
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect(await store.db.transaction().execute((trx) => whitelist.allocateSeq(trx, site))).toBe(2);
    expect(await whitelist.headSeq(site)).toBe(2);
  });

  it('answers changes?since, and gone once the needed deltas were pruned', async () => {
    const { store, whitelist } = await fresh(3);
    const site = uniqueId();
    await store.ensureSite(site, 'ck1');
    for (let i = 1; i <= 5; i++) {
      await store.db.transaction().execute(async (trx) => {
        const seq = await whitelist.allocateSeq(trx, site);
        await whitelist.insertDelta(trx, delta(site, seq));
      });
    }
    const r = await whitelist.changesSince(site, 3);
    expect(r.ok && r.deltas.map((d) => d.seq)).toEqual(['4', '5']);
    expect(await whitelist.changesSince(site, 2)).toMatchObject({ ok: true });
    expect(await whitelist.changesSince(site, 1)).toEqual({ ok: false, reason: 'gone' });
    expect(await whitelist.changesSince(site, 5)).toEqual({ ok: true, deltas: [] });
    expect(await whitelist.changesSince(site, 6)).toEqual({ ok: false, reason: 'gone' });
    expect(await whitelist.changesSince('nope', 0)).toEqual({ ok: false, reason: 'unknown_site' });
  });

  it('finishes an ingest group: deltas stored and pruned, high-water marks raised, the marks before returned', async () => {
    const { store, whitelist, sync } = await fresh(3);
    const site = uniqueId();
    await store.ensureSite(site, 'ck1');
    await store.registerGate(site, 'g1');
    await store.registerGate(site, 'g2');
    const group = (seqs: number[], marks: { gate: string; seq: bigint }[]) =>
      store.db.transaction().execute(async (trx) => {
        const firsts = await whitelist.allocateSeqs(trx, new Map([[site, seqs.length]]));
        expect(firsts.get(site)).toBe(seqs[0]);
        return whitelist.finishGroup(
          trx,
          seqs.map((s) => delta(site, s)),
          marks.map((m) => ({ site, ...m })),
        );
      });
    const first = await group([1, 2, 3], [{ gate: 'g1', seq: 10n }, { gate: 'g2', seq: 4n }]);
    expect(first).toEqual(new Map([[`${site}\u0000g1`, 0n], [`${site}\u0000g2`, 0n]]));
    const second = await group([4, 5], [{ gate: 'g1', seq: 7n }, { gate: 'g2', seq: 9n }]);
    expect(second).toEqual(new Map([[`${site}\u0000g1`, 10n], [`${site}\u0000g2`, 4n]]));
    expect((await sync.gateState(site, 'g1'))?.highSeq).toBe('10');
    expect((await sync.gateState(site, 'g2'))?.highSeq).toBe('9');
    const r = await whitelist.changesSince(site, 2);
    expect(r.ok && r.deltas.map((d) => d.seq)).toEqual(['3', '4', '5']);
    expect(await whitelist.changesSince(site, 1)).toEqual({ ok: false, reason: 'gone' });
    expect(await whitelist.headSeq(site)).toBe(5);
  });

  it('ignores a status from an older epoch', async () => {
    const { sync } = await fresh();
    const site = uniqueId();
    const at = new Date().toISOString();
    expect(await sync.recordStatus(site, 'g1', { state: 'online', epoch: 5, at }, '{}')).toBe('applied');
    expect(await sync.recordStatus(site, 'g1', { state: 'offline', epoch: 4, at }, '{}')).toBe('stale');
    expect((await sync.gateState(site, 'g1'))?.online).toBe(true);
    expect(await sync.recordStatus(site, 'g1', { state: 'offline', epoch: 5, at }, '{}')).toBe('applied');
    expect((await sync.gateState(site, 'g1'))?.online).toBe(false);
  });

  it('records a conflict once per second admission', async () => {
    const { store, sync } = await fresh();
    const site = uniqueId();
    const c = { site, ticketId: 'T1', firstGate: 'g1', firstSeq: '1', secondGate: 'g2', secondSeq: '1' };
    expect(await sync.insertConflict(store.db, c)).toBe(true);
    expect(await sync.insertConflict(store.db, c)).toBe(false);
    expect(await sync.conflicts(site)).toHaveLength(1);
  });
});
