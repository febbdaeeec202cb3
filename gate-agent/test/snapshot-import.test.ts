import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isStileError, StileErrorCode } from '@stile/config';
import { GateStore, importSnapshot, openDatabase } from '../src/store/index.js';
import { writeWhitelist } from '../src/demo/demo-site.js';

const KEY = 'k'.repeat(32);
const stores: GateStore[] = [];
function freshStore(): { store: GateStore; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'stile-import-'));
  const store = new GateStore(openDatabase(join(dir, 'gate.db')));
  stores.push(store);
  return { store, dir };
}
afterEach(() => stores.splice(0).forEach((s) => s.close()));

const ticketLine = (id: string, extra: object = {}) => JSON.stringify({ ticketId: id, typeId: 'adult', visitDate: '2026-11-25', ...extra });

describe('importSnapshot', () => {
  it('loads every ticket, records the snapshot seq and reports progress', async () => {
    const { store, dir } = freshStore();
    const file = join(dir, 'w.ndjson');
    const { ids } = await writeWhitelist(file, { count: 5000, today: '2026-11-25', idHashKey: KEY, idCardEvery: 10, asOfSeq: '77' });
    const progress: number[] = [];
    const result = await importSnapshot(store.db, file, { batchSize: 1000, onProgress: (p) => progress.push(p.tickets) });
    expect(result.tickets).toBe(5000);
    expect(store.ticketCount()).toBe(5000);
    expect(store.getMeta('whitelist_seq')).toBe('77');
    expect(progress.at(-1)).toBe(5000);
    expect(progress.length).toBeGreaterThan(3);
    expect(store.getTicket(ids[0]!)).toMatchObject({ ticketId: ids[0], status: 'valid', entriesUsed: 0, source: 'whitelist' });
  });

  it('a bad line aborts the import, names the line, and leaves the old whitelist in place', async () => {
    const { store, dir } = freshStore();
    const good = join(dir, 'good.ndjson');
    writeFileSync(good, `${ticketLine('OLDTICKET1')}\n${ticketLine('OLDTICKET2')}\n`);
    await importSnapshot(store.db, good);

    const bad = join(dir, 'bad.ndjson');
    writeFileSync(bad, `${ticketLine('NEWTICKET1')}\n${ticketLine('NEWTICKET2', { visitDate: '2026-02-30' })}\n`);
    await expect(importSnapshot(store.db, bad)).rejects.toThrow(/bad\.ndjson:2: visitDate: not a real calendar date; whitelist unchanged/);
    writeFileSync(bad, `${ticketLine('NEWTICKET1')}\n{"ticketId": "NEWTICK\n`);
    await expect(importSnapshot(store.db, bad)).rejects.toThrow(/bad\.ndjson:2: not JSON/);
    writeFileSync(bad, `${ticketLine('NEWTICKET1')}\n${ticketLine('NEWTICKET1')}\n`);
    await expect(importSnapshot(store.db, bad)).rejects.toThrow(/duplicate ticketId/);

    expect(store.ticketCount()).toBe(2);
    expect(store.getTicket('OLDTICKET1')).toBeDefined();
    expect(store.getTicket('NEWTICKET1')).toBeUndefined();
    expect(store.db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'tickets_%' AND type = 'table'").all()).toEqual([]);
  });

  it('refuses a snapshot for another site', async () => {
    const { store, dir } = freshStore();
    const file = join(dir, 'w.ndjson');
    writeFileSync(file, `{"snapshot":{"site":"other-park","asOfSeq":"5"}}\n${ticketLine('TICKET0001')}\n`);
    const err = await importSnapshot(store.db, file, { siteId: 'demo-park' }).catch((e: unknown) => e);
    expect(isStileError(err, StileErrorCode.SnapshotInvalid)).toBe(true);
    expect((err as Error).message).toContain('snapshot is for site "other-park"');
  });

  it('keeps local usage and offline-admitted signed tickets across a re-import', async () => {
    const { store, dir } = freshStore();
    const file = join(dir, 'w.ndjson');
    writeFileSync(file, `${ticketLine('TICKET0001')}\n${ticketLine('TICKET0002')}\n`);
    await importSnapshot(store.db, file);
    const used = { ...store.getTicket('TICKET0001')!, entriesUsed: 1, entriesDay: '2026-11-25', entriesDayCount: 1, lastEntryAt: 1_000 };
    store.recordAdmission({ ticket: used, credential: 'qr', persons: 1, at: 1_000, gateSite: 's', gateId: 'g' });
    const signed = { ...used, ticketId: 'SIGNED0001', source: 'signed' as const };
    store.recordAdmission({ ticket: signed, credential: 'signed-qr', persons: 1, at: 2_000, gateSite: 's', gateId: 'g' });

    // The cloud's snapshot does not know about either admission yet.
    appendFileSync(file, `${ticketLine('TICKET0003')}\n`);
    const result = await importSnapshot(store.db, file);
    expect(result.carriedOver).toBe(2);
    expect(store.getTicket('TICKET0001')).toMatchObject({ entriesUsed: 1, lastEntryAt: 1_000 });
    expect(store.getTicket('SIGNED0001')).toMatchObject({ source: 'signed', entriesUsed: 1 });
    expect(store.ticketCount()).toBe(4);
    expect(store.entryCount()).toBe(2);
  });

  it('keeps id-hash lookups working after several swaps', async () => {
    const { store, dir } = freshStore();
    const file = join(dir, 'w.ndjson');
    const hash = 'a'.repeat(64);
    writeFileSync(file, `${ticketLine('TICKET0001', { idHash: hash })}\n`);
    for (let i = 0; i < 3; i++) await importSnapshot(store.db, file);
    expect(store.ticketsForIdHash(hash).map((t) => t.ticketId)).toEqual(['TICKET0001']);
    const plan = store.db.prepare('EXPLAIN QUERY PLAN SELECT * FROM tickets WHERE id_hash = ?').all(hash) as { detail: string }[];
    expect(plan.map((p) => p.detail).join()).toMatch(/USING INDEX tickets_id_hash_g3/);
    expect(readFileSync(file, 'utf8')).toContain(hash);
  });
});

describe('openDatabase', () => {
  it('runs WAL with synchronous=FULL', () => {
    const { store } = freshStore();
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('names a corrupt or foreign file as such instead of crashing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stile-corrupt-'));
    const file = join(dir, 'gate.db');
    writeFileSync(file, 'this is not a database, it is a shopping list'.repeat(200));
    try {
      openDatabase(file);
      expect.unreachable();
    } catch (err) {
      expect(isStileError(err, StileErrorCode.StoreCorrupt)).toBe(true);
      expect((err as Error).message).toMatch(/corrupt or not a database/);
    }
  });

  it('with mustExist, a missing database is a clear error, not an empty new one', () => {
    expect(() => openDatabase('/nonexistent-dir/gate.db', { mustExist: true })).toThrow(/cannot open gate database/);
  });
});
