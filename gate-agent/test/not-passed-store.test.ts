import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EntryEventSchema, type TicketRecord } from '@stile/config';
import { GateStore, openDatabase, SCHEMA_VERSION } from '../src/store/index.js';

let dir: string;
let store: GateStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stile-np-'));
  store = new GateStore(openDatabase(join(dir, 'gate.db')));
  store.beginEpoch();
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.parse('2026-05-01T10:00:00+08:00');
const ticket = (over: Partial<TicketRecord> = {}): TicketRecord => ({
  ticketId: 'TICKET000001', typeId: 'adult', status: 'valid', visitDate: '2026-05-01', slotStart: null, slotEnd: null,
  persons: 1, entriesUsed: 1, entriesDay: '2026-05-01', entriesDayCount: 1, lastEntryAt: T0, idHash: null, source: 'whitelist', ...over,
});
/** Record an admission whose ticket ends up as `after` (what recordAdmission() would have produced). */
const admit = (after: TicketRecord, persons = after.persons) =>
  store.recordAdmission({ ticket: after, credential: 'qr', persons, at: after.lastEntryAt ?? T0, gateSite: 's', gateId: 'g', input: 'qr-1' });
const outboxEvents = () => store.db.prepare<[], { payload: string }>('SELECT payload FROM outbox ORDER BY seq').all().map((r) => EntryEventSchema.parse(JSON.parse(r.payload)));

describe('recordNotPassed', () => {
  it('nobody passed: journal + outbox + the entry, day count and last entry given back, in one go', () => {
    const a = admit(ticket());
    const r = store.recordNotPassed({ refSeq: a.seq, missing: 1, at: T0 + 5000, admissionDay: '2026-05-01' })!;
    expect(r.entryReturned).toBe(true);
    expect(r.entry).toMatchObject({ kind: 'not-passed', refSeq: a.seq, persons: 1, ticketId: 'TICKET000001', input: 'qr-1', at: T0 + 5000 });
    expect(store.getTicket('TICKET000001')).toMatchObject({ entriesUsed: 0, entriesDayCount: 0, lastEntryAt: null });
    expect(outboxEvents()).toMatchObject([{ kind: 'admit', seq: String(a.seq) }, { kind: 'not-passed', seq: String(r.entry.seq), refSeq: String(a.seq) }]);
    expect(store.entriesForTicket('TICKET000001').map((e) => [e.kind, e.refSeq])).toEqual([['admit', null], ['not-passed', a.seq]]);
  });

  it('a multi-entry ticket keeps its earlier use and last entry time; the day count only moves on the admission day', () => {
    const a = admit(ticket({ typeId: 'two-day', entriesUsed: 2, entriesDay: '2026-05-02', entriesDayCount: 1 }));
    store.recordNotPassed({ refSeq: a.seq, missing: 1, at: T0, admissionDay: '2026-05-01' });
    expect(store.getTicket('TICKET000001')).toMatchObject({ entriesUsed: 1, entriesDay: '2026-05-02', entriesDayCount: 1, lastEntryAt: T0 });
  });

  it('some of a group passed: not-passed for the rest, ticket untouched', () => {
    const a = admit(ticket({ persons: 3 }));
    const r = store.recordNotPassed({ refSeq: a.seq, missing: 1, at: T0, admissionDay: '2026-05-01' })!;
    expect(r).toMatchObject({ entryReturned: false, entry: { persons: 1 } });
    expect(store.getTicket('TICKET000001')).toMatchObject({ entriesUsed: 1, lastEntryAt: T0 });
  });

  it('writes nothing for a second compensation, a non-admission or an unknown seq', () => {
    const a = admit(ticket());
    const r = store.recordNotPassed({ refSeq: a.seq, missing: 1, at: T0, admissionDay: '2026-05-01' })!;
    const entries = store.entryCount();
    expect(store.recordNotPassed({ refSeq: a.seq, missing: 1, at: T0, admissionDay: '2026-05-01' })).toBeUndefined();
    expect(store.recordNotPassed({ refSeq: r.entry.seq, missing: 1, at: T0, admissionDay: '2026-05-01' })).toBeUndefined();
    expect(store.recordNotPassed({ refSeq: 999, missing: 1, at: T0, admissionDay: '2026-05-01' })).toBeUndefined();
    expect(store.entryCount()).toBe(entries);
    expect(store.getTicket('TICKET000001')?.entriesUsed).toBe(0);
  });

  it('a failed write leaves nothing behind (one transaction)', () => {
    const a = admit(ticket());
    store.db.exec('ALTER TABLE outbox RENAME TO outbox_broken');
    expect(() => store.recordNotPassed({ refSeq: a.seq, missing: 1, at: T0, admissionDay: '2026-05-01' })).toThrow();
    store.db.exec('ALTER TABLE outbox_broken RENAME TO outbox');
    expect(store.entryCount()).toBe(1);
    expect(store.getTicket('TICKET000001')?.entriesUsed).toBe(1);
  });
});

describe('schema v2', () => {
  it('a v1 gate database upgrades in place: entries kept, ref_seq added', () => {
    const a = admit(ticket());
    const path = join(dir, 'gate.db');
    // Back to what a v1 database looked like (v3 added seen_commands, v4 remote_usage and revoked_tickets.source).
    store.db.exec(`${V4_UNDONE} DROP TABLE seen_commands; DROP INDEX entries_ref_seq; ALTER TABLE entries DROP COLUMN ref_seq; PRAGMA user_version = 1`);
    store.close();
    store = new GateStore(openDatabase(path));
    expect(SCHEMA_VERSION).toBe(6);
    expect(store.db.pragma('user_version', { simple: true })).toBe(6);
    expect(store.entriesForTicket('TICKET000001')).toMatchObject([{ seq: a.seq, kind: 'admit', refSeq: null }]);
  });
});

/** A v6 database taken back to the v3 tables (v6 added ticket_idcards and its triggers, v5 peer_entries). */
const V4_UNDONE = `DROP TRIGGER tickets_idcard_insert; DROP TRIGGER tickets_idcard_update; DROP TRIGGER tickets_idcard_delete; DROP TABLE ticket_idcards;
  DROP TABLE peer_entries; DROP TABLE remote_usage; DROP TABLE revoked_tickets;
  CREATE TABLE revoked_tickets (ticket_id TEXT PRIMARY KEY) WITHOUT ROWID;`;

describe('schema v4', () => {
  it('a v3 database upgrades in place: its revocations kept as cloud ones (origin unknown), which a config sync leaves alone', () => {
    const path = join(dir, 'gate.db');
    store.db.exec(`${V4_UNDONE} INSERT INTO revoked_tickets (ticket_id) VALUES ('OLDREVOKED01'), ('OLDREVOKED02'); PRAGMA user_version = 3`);
    store.close();
    store = new GateStore(openDatabase(path));
    expect(store.db.pragma('user_version', { simple: true })).toBe(6);
    expect(store.revokedCountsBySource()).toEqual({ config: 0, cloud: 2 });
    store.saveKeysAndRevocations([], []);
    expect(store.isRevoked('OLDREVOKED01')).toBe(true);
    expect(store.remoteEntriesUsed('OLDREVOKED01')).toBe(0);
  });
});

describe('EntryEventSchema', () => {
  const base = { eventId: 'e1234567', seq: '2', epoch: 1, ticketId: 'T1', typeId: 'adult', credential: 'qr', persons: 1, at: '2026-05-01T02:00:00.000Z' };
  it('not-passed needs refSeq; admit must not have one', () => {
    expect(EntryEventSchema.safeParse({ ...base, kind: 'not-passed', refSeq: '1' }).success).toBe(true);
    expect(EntryEventSchema.safeParse({ ...base, kind: 'not-passed' }).success).toBe(false);
    expect(EntryEventSchema.safeParse({ ...base, kind: 'admit', refSeq: '1' }).success).toBe(false);
    expect(EntryEventSchema.safeParse({ ...base, kind: 'admit' }).success).toBe(true);
  });
});
