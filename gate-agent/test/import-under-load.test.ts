import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TicketRecord } from '@stile/config';
import { GateStore, importSnapshot, openDatabase, type EntryRow } from '../src/store/index.js';

// A snapshot import next to a gate that keeps admitting: the whitelist it leaves, and that
// nothing the gate wrote meanwhile is lost. Nothing here is timed.

let dir: string;
let dbPath: string;
const stores: GateStore[] = [];
const open = () => {
  const s = new GateStore(openDatabase(dbPath));
  stores.push(s);
  return s;
};
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stile-import-load-'));
  dbPath = join(dir, 'gate.db');
});
afterEach(() => {
  stores.splice(0).forEach((s) => s.close());
  rmSync(dir, { recursive: true, force: true });
});

const DAY = '2026-11-25';
const id = (i: number) => `TICKET${String(i).padStart(6, '0')}`;
const hashOf = (i: number) => createHash('sha256').update(`card-${i % 97}`).digest('hex');
interface Line {
  ticketId: string;
  typeId: string;
  status: string;
  visitDate: string;
  persons: number;
  entriesUsed: number;
  idHash?: string;
}
/** Tickets `from`…`to`-1; every 7th bound to one of 97 ID cards, every 5th a family of 3. */
function tickets(from: number, to: number, over: (i: number) => Partial<Line> = () => ({})): Line[] {
  const out: Line[] = [];
  for (let i = from; i < to; i++) {
    out.push({
      ticketId: id(i),
      typeId: i % 5 === 0 ? 'family' : 'adult',
      status: 'valid',
      visitDate: DAY,
      persons: i % 5 === 0 ? 3 : 1,
      entriesUsed: 0,
      ...(i % 7 === 0 ? { idHash: hashOf(i) } : {}),
      ...over(i),
    });
  }
  return out;
}
function snapshot(name: string, seq: string, lines: Line[]): string {
  const file = join(dir, name);
  // Not in key order: the import sorts.
  const shuffled = [...lines].sort((a, b) => (a.ticketId.split('').reverse().join('') < b.ticketId.split('').reverse().join('') ? -1 : 1));
  writeFileSync(file, `${JSON.stringify({ snapshot: { site: 'demo-park', asOfSeq: seq } })}\n${shuffled.map((l) => JSON.stringify(l)).join('\n')}\n`);
  return file;
}
/** The rows a snapshot alone gives (no local usage). */
const asRows = (lines: Line[]) =>
  lines
    .map((l) => ({
      ticket_id: l.ticketId, type_id: l.typeId, status: l.status, visit_date: l.visitDate, slot_start: null, slot_end: null, persons: l.persons,
      entries_used: l.entriesUsed, entries_day: null, entries_day_count: 0, last_entry_at: null, id_hash: l.idHash ?? null, source: 'whitelist',
    }))
    .sort((a, b) => (a.ticket_id < b.ticket_id ? -1 : 1));
const idcardRows = (lines: Line[]) =>
  lines
    .filter((l) => l.idHash)
    .map((l) => ({ id_hash: l.idHash, visit_date: l.visitDate, ticket_id: l.ticketId }))
    .sort((a, b) => (a.id_hash! < b.id_hash! ? -1 : a.id_hash! > b.id_hash! ? 1 : a.ticket_id < b.ticket_id ? -1 : 1));

/** What the import may leave in the schema: nothing of its own. */
function leftovers(s: GateStore): string[] {
  return s.db
    .prepare<[], string>("SELECT type || ':' || name FROM sqlite_master WHERE name LIKE '%import%' OR name LIKE '%\\_old' ESCAPE '\\' OR (type = 'trigger' AND name NOT LIKE 'tickets\\_idcard\\_%' ESCAPE '\\')")
    .pluck()
    .all();
}

let clock = Date.parse(`${DAY}T10:00:00+08:00`);
/** An admission as the Gatekeeper records it: re-read under the write lock, one more entry. */
function admit(s: GateStore, ticketId: string, signed?: TicketRecord): EntryRow {
  return s.exclusive(() => {
    const t = s.getTicket(ticketId) ?? signed!;
    const at = ++clock;
    const after: TicketRecord = { ...t, entriesUsed: t.entriesUsed + 1, entriesDay: DAY, entriesDayCount: (t.entriesDay === DAY ? t.entriesDayCount : 0) + 1, lastEntryAt: at };
    return s.recordAdmission({ ticket: after, credential: t.source === 'signed' ? 'signed-qr' : 'qr', persons: 1, at, gateSite: 'demo-park', gateId: 'east-1' });
  });
}
const signedTicket = (ticketId: string): TicketRecord => ({
  ticketId, typeId: 'adult', status: 'valid', visitDate: DAY, slotStart: null, slotEnd: null, persons: 1, entriesUsed: 0, entriesDay: null, entriesDayCount: 0,
  lastEntryAt: null, idHash: null, source: 'signed',
});

describe('importSnapshot in short transactions', () => {
  it('produces exactly the snapshot: every ticket row and ID-card row, and nothing of its own left behind', async () => {
    const s = open();
    const first = tickets(0, 3000);
    await importSnapshot(s.db, snapshot('w1.ndjson', '1', first), { batchSize: 50 });
    expect(s.db.prepare('SELECT * FROM tickets ORDER BY ticket_id').all()).toEqual(asRows(first));
    expect(s.db.prepare('SELECT * FROM ticket_idcards ORDER BY id_hash, ticket_id').all()).toEqual(idcardRows(first));
    expect(leftovers(s)).toEqual([]);

    // The next one drops, adds and changes tickets (an ID card moved, a date, a status).
    const second = tickets(100, 3100, (i) => (i === 700 ? { idHash: hashOf(1), visitDate: '2026-11-26' } : i === 701 ? { status: 'refunded' } : {}));
    await importSnapshot(s.db, snapshot('w2.ndjson', '2', second), { batchSize: 50 });
    expect(s.db.prepare('SELECT * FROM tickets ORDER BY ticket_id').all()).toEqual(asRows(second));
    expect(s.db.prepare('SELECT * FROM ticket_idcards ORDER BY id_hash, ticket_id').all()).toEqual(idcardRows(second));
    const card1 = second.filter((l) => l.idHash === hashOf(1)).sort((a, b) => a.visitDate.localeCompare(b.visitDate) || a.ticketId.localeCompare(b.ticketId));
    expect(card1.at(-1)?.ticketId).toBe(id(700));
    expect(s.ticketsForIdHash(hashOf(1)).map((t) => t.ticketId)).toEqual(card1.map((l) => l.ticketId));
    expect(s.getMeta('whitelist_seq')).toBe('2');
    expect(leftovers(s)).toEqual([]);
  });

  it('keeps every admission another connection makes while it runs, and carries local usage over', async () => {
    const importer = open(); // gatectl's connection
    const gate = open(); // the daemon's
    gate.beginEpoch();
    await importSnapshot(importer.db, snapshot('w1.ndjson', '1', tickets(0, 3000)));

    // Before the import: used, used and given back, used but not in the new snapshot, signed.
    const expected = new Map<string, { used: number; lastAt: number | null }>();
    // Tickets used before the swap: what the import has to carry over (later ones go straight to the new table).
    const carried = new Set<string>();
    const note = (e: EntryRow) => {
      expected.set(e.ticketId, { used: (expected.get(e.ticketId)?.used ?? 0) + 1, lastAt: e.at });
      if (gate.getMeta('whitelist_seq') === '1') carried.add(e.ticketId);
    };
    note(admit(gate, id(200)));
    note(admit(gate, id(500)));
    const back = admit(gate, id(300));
    gate.recordNotPassed({ refSeq: back.seq, missing: 1, at: back.at + 1, admissionDay: DAY });
    admit(gate, id(50));
    note(admit(gate, 'SIGNED000001', signedTicket('SIGNED000001')));
    let entries = 6;

    // The new snapshot: 100…3099 (0…99 are gone), and the cloud already counts one entry of 500.
    const second = tickets(100, 3100, (i) => (i === 500 ? { entriesUsed: 1 } : {}));
    let done = false;
    const running = importSnapshot(importer.db, snapshot('w2.ndjson', '2', second), { batchSize: 20 }).finally(() => (done = true));
    let next = 1000;
    let whileShadow = 0;
    const givenBack = new Set<string>();
    try {
      while (!done && next < 3000) {
        if (gate.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'tickets_import'").get()) whileShadow++;
        const k = next++;
        if (k % 50 === 10) {
          // A second entry on a ticket used before the import.
          note(admit(gate, id(200)));
        } else if (k % 50 === 20) {
          note(admit(gate, `SIGNED${String(k).padStart(6, '0')}`, signedTicket(`SIGNED${String(k).padStart(6, '0')}`)));
        } else if (k % 50 === 30) {
          // Admitted and given back while the import runs: it ends unused.
          const e = admit(gate, id(k));
          gate.recordNotPassed({ refSeq: e.seq, missing: 1, at: e.at + 1, admissionDay: DAY });
          givenBack.add(e.ticketId);
          entries++;
        } else note(admit(gate, id(k)));
        entries++;
        await new Promise((r) => setTimeout(r, 2));
      }
    } finally {
      // Never leave it running into afterEach, which closes the connection.
      await running.catch(() => undefined);
    }
    const result = await running;
    // The loop ran through the write phase too, not only while the file was being read.
    expect(whileShadow).toBeGreaterThan(0);

    expect(gate.entryCount()).toBe(entries);
    expect(gate.ticketCount()).toBe(3000 + [...expected.keys()].filter((t) => t.startsWith('SIGNED')).length);
    for (const [ticketId, e] of expected) {
      const t = gate.getTicket(ticketId);
      // 500: the snapshot's 1 and the gate's 1 are the same entry, as far as the gate can tell.
      const used = ticketId === id(500) ? Math.max(1, e.used) : e.used;
      expect(t, ticketId).toMatchObject({ entriesUsed: used, lastEntryAt: e.lastAt, entriesDay: DAY, source: ticketId.startsWith('SIGNED') ? 'signed' : 'whitelist' });
    }
    for (const ticketId of [id(300), ...givenBack]) expect(gate.getTicket(ticketId), ticketId).toMatchObject({ entriesUsed: 0, lastEntryAt: null, entriesDayCount: 0 });
    expect(gate.getTicket(id(50))).toBeUndefined();
    expect(result.carriedOver).toBe(carried.size);
    expect(carried.size).toBeLessThanOrEqual(expected.size);
    expect(gate.getMeta('whitelist_seq')).toBe('2');
    expect(leftovers(gate)).toEqual([]);
    expect(importer.db.prepare("SELECT name FROM temp.sqlite_master").all()).toEqual([]);
  });

  it('a duplicate found late in the load leaves the old whitelist and stops tracking the gate\'s writes', async () => {
    const s = open();
    const first = tickets(0, 500);
    await importSnapshot(s.db, snapshot('w1.ndjson', '1', first));
    // ZZ sorts last: the duplicate is met in the last slice of the load, long after tracking started.
    const bad = [...tickets(0, 2000), ...tickets(0, 1, () => ({ ticketId: 'TICKETZZZZZZ' })), ...tickets(0, 1, () => ({ ticketId: 'TICKETZZZZZZ' }))];
    await expect(importSnapshot(s.db, snapshot('bad.ndjson', '2', bad), { batchSize: 20 })).rejects.toThrow(/duplicate ticketId/);
    expect(s.db.prepare('SELECT * FROM tickets ORDER BY ticket_id').all()).toEqual(asRows(first));
    expect(leftovers(s)).toEqual([]);
    admit(s, id(1));
    expect(s.getTicket(id(1))).toMatchObject({ entriesUsed: 1 });
  });

  it('clears what a killed import left (shadow tables, tracking triggers, an old table) before it starts', async () => {
    const s = open();
    await importSnapshot(s.db, snapshot('w1.ndjson', '1', tickets(0, 300)));
    s.db.exec(`CREATE TABLE tickets_import AS SELECT * FROM tickets; CREATE TABLE tickets_old AS SELECT * FROM tickets;
      CREATE TABLE ticket_idcards_import AS SELECT * FROM ticket_idcards;
      CREATE TABLE tickets_import_dirty (ticket_id TEXT PRIMARY KEY) WITHOUT ROWID;
      CREATE TRIGGER tickets_import_track_update AFTER UPDATE ON tickets BEGIN INSERT OR IGNORE INTO tickets_import_dirty VALUES (new.ticket_id); END;`);
    const next = tickets(0, 400);
    await importSnapshot(s.db, snapshot('w2.ndjson', '2', next), { batchSize: 30 });
    expect(s.db.prepare('SELECT * FROM tickets ORDER BY ticket_id').all()).toEqual(asRows(next));
    expect(leftovers(s)).toEqual([]);
  });
});

describe('the admission path and the write lock', () => {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  /** Another connection (a thread of its own) that holds the write lock for `holdMs`. */
  async function holdLock(holdMs: number): Promise<Worker> {
    const w = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const db = new (require(workerData.driver))(workerData.path);
       db.exec('BEGIN IMMEDIATE');
       parentPort.postMessage('locked');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.holdMs);
       db.exec('COMMIT');
       db.close();`,
      { eval: true, workerData: { driver, path: dbPath, holdMs } },
    );
    await once(w, 'message');
    return w;
  }

  it('an admission waits for another connection\'s transaction and commits once it ends', async () => {
    const s = open();
    await importSnapshot(s.db, snapshot('w1.ndjson', '1', tickets(0, 10)));
    const holder = await holdLock(200);
    // Blocks this thread, retrying, until the holder commits.
    const e = admit(s, id(1));
    expect(e.seq).toBe(1);
    expect(s.getTicket(id(1))).toMatchObject({ entriesUsed: 1 });
    expect(s.db.pragma('busy_timeout', { simple: true })).toBe(5000);
    await once(holder, 'exit');
  });

  it('gives up with SQLITE_BUSY after the connection\'s busy_timeout, with nothing left open', async () => {
    const db = openDatabase(dbPath);
    db.pragma('busy_timeout = 50');
    const s = new GateStore(db);
    stores.push(s);
    await importSnapshot(s.db, snapshot('w1.ndjson', '1', tickets(0, 10)));
    const other = openDatabase(dbPath);
    other.exec('BEGIN IMMEDIATE');
    try {
      let code: unknown;
      try {
        admit(s, id(1));
      } catch (err) {
        code = (err as { code?: unknown }).code;
      }
      expect(code).toBe('SQLITE_BUSY');
      expect(s.db.inTransaction).toBe(false);
      expect(s.db.pragma('busy_timeout', { simple: true })).toBe(50);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(admit(s, id(1)).seq).toBe(1);
  });
});
