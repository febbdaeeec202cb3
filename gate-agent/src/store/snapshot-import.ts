import { rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import type Database from 'better-sqlite3';
import { SnapshotTicketSchema, StileError, StileErrorCode } from '@stile/config';

export interface ImportProgress {
  bytesRead: number;
  totalBytes: number;
  tickets: number;
}

export interface ImportOptions {
  /** Refuse a snapshot whose header names another site. */
  siteId?: string;
  onProgress?: (p: ImportProgress) => void;
  /** Rows per write transaction while loading the shadow table (and between progress reports). */
  batchSize?: number;
}

export interface ImportResult {
  tickets: number;
  asOfSeq: string | null;
  carriedOver: number;
  ms: number;
}

const COLUMNS = `ticket_id, type_id, status, visit_date, slot_start, slot_end, persons, entries_used,
  entries_day, entries_day_count, last_entry_at, id_hash, source`;
/** What a snapshot line carries; the usage columns start empty and the swap merges local usage in. */
const STAGED = 'ticket_id, type_id, status, visit_date, slot_start, slot_end, persons, entries_used, id_hash';
const STAGED_DDL = `ticket_id TEXT NOT NULL, type_id TEXT NOT NULL, status TEXT NOT NULL, visit_date TEXT NOT NULL,
  slot_start TEXT, slot_end TEXT, persons INTEGER NOT NULL, entries_used INTEGER NOT NULL, id_hash TEXT`;
const STAGE = 'import_stage';
/** Small reads keep memory flat: lines sliced from a big chunk keep the whole chunk alive. */
const READ_CHUNK = 64 * 1024;
/** Page cache of the staging database while it is attached (KiB). */
const STAGE_CACHE_KIB = 4 * 1024;

/**
 * Load an NDJSON whitelist snapshot atomically. An optional first line
 * `{"snapshot":{"site":"…","asOfSeq":"…"}}` is the header; every other line is one ticket.
 *
 * 1. Every line is validated into a staging database next to the gate database
 *    (`<db>-import`, attached; no journal, no fsync, deleted afterwards), so nothing
 *    touches the gate's tables or write lock until the whole file is known to be good.
 * 2. The staged tickets are sorted by ticket id (inside SQLite, in bounded memory).
 * 3. They are appended to a shadow table in key order, one short transaction per batch
 *    (the daemon keeps admitting meanwhile, so no long write lock). Key order matters:
 *    random ids inserted straight into a WITHOUT ROWID table dirty most of the tree in
 *    every batch, which made a 1M-ticket import I/O-bound.
 * 4. One short transaction carries over what this gate knows and the snapshot may not
 *    (local usage, signed tickets admitted offline) and swaps the tables.
 * Any bad line aborts the import and the old whitelist stays in place.
 */
export async function importSnapshot(db: Database.Database, file: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const started = performance.now();
  const totalBytes = statSync(file).size;
  const batchSize = Math.max(1, opts.batchSize ?? 5_000);
  // An in-memory gate (tests) stages into an anonymous temporary database instead.
  const stagePath = db.memory ? '' : `${db.name}-import`;
  if (stagePath) rmSync(stagePath, { force: true });
  db.prepare(`ATTACH DATABASE ? AS ${STAGE}`).run(stagePath);
  try {
    db.pragma(`${STAGE}.journal_mode = OFF`);
    db.pragma(`${STAGE}.synchronous = OFF`);
    db.pragma(`${STAGE}.cache_size = -${STAGE_CACHE_KIB}`);
    db.exec(`CREATE TABLE ${STAGE}.staged (line INTEGER NOT NULL, ${STAGED_DDL})`);
    const { tickets, asOfSeq } = await stageLines(db, file, totalBytes, batchSize, opts);
    // Rows go in in ORDER BY order, so the rowid of `sorted` is the position in ticket-id order
    // (BINARY, the primary key's collation). Only speed depends on that, never correctness.
    db.exec(`CREATE TABLE ${STAGE}.sorted AS SELECT line, ${STAGED} FROM ${STAGE}.staged ORDER BY ticket_id, line`);
    const generation = Number((db.prepare("SELECT value FROM meta WHERE key = 'tickets_generation'").get() as { value?: string } | undefined)?.value ?? '0') + 1;
    await loadSorted(db, file, generation, tickets, batchSize);
    opts.onProgress?.({ bytesRead: totalBytes, totalBytes, tickets });
    const carriedOver = swapIn(db, { generation, asOfSeq, tickets });
    db.exec('DROP TABLE IF EXISTS tickets_old');
    return { tickets, asOfSeq, carriedOver, ms: performance.now() - started };
  } finally {
    try {
      db.exec(`DETACH DATABASE ${STAGE}`);
    } finally {
      if (stagePath) rmSync(stagePath, { force: true });
    }
  }
}

/**
 * Phase 1: read, parse and validate every line into the staging table. Each chunk read
 * is one transaction on the staging database; none stays open across an await.
 */
async function stageLines(
  db: Database.Database,
  file: string,
  totalBytes: number,
  batchSize: number,
  opts: ImportOptions,
): Promise<{ tickets: number; asOfSeq: string | null }> {
  const put = db.prepare(`INSERT INTO ${STAGE}.staged (line, ${STAGED}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  let asOfSeq: string | null = null;
  let lineNo = 0;
  let tickets = 0;
  let bytesRead = 0;

  const onLine = (line: string): void => {
    lineNo++;
    if (line.trim() === '') return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (err) {
      throw invalid(file, lineNo, `not JSON (${(err as Error).message})`);
    }
    if (lineNo === 1 && isHeader(obj)) {
      if (opts.siteId && obj.snapshot.site !== undefined && obj.snapshot.site !== opts.siteId) {
        throw invalid(file, lineNo, `snapshot is for site "${obj.snapshot.site}", this gate is "${opts.siteId}"`);
      }
      asOfSeq = obj.snapshot.asOfSeq ?? null;
      return;
    }
    const parsed = SnapshotTicketSchema.safeParse(obj);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw invalid(file, lineNo, `${issue.path.join('.') || '(line)'}: ${issue.message}`);
    }
    const t = parsed.data;
    put.run(lineNo, t.ticketId, t.typeId, t.status, t.visitDate, t.slotStart ?? null, t.slotEnd ?? null, t.persons, t.entriesUsed, t.idHash ?? null);
    if (++tickets % batchSize === 0) opts.onProgress?.({ bytesRead, totalBytes, tickets });
  };
  // Line breaks as readline sees them: \n, \r\n and a lone \r.
  const onText = (text: string): void => {
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.indexOf('\r') < 0) return onLine(text);
    for (const part of text.split('\r')) onLine(part);
  };
  /** Every complete line in `text`; returns the unfinished rest. */
  const onChunk = db.transaction((text: string, last: boolean): string => {
    let from = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
      onText(text.slice(from, nl));
      from = nl + 1;
    }
    if (last && from < text.length) onText(text.slice(from));
    return last ? '' : text.slice(from);
  });

  const fh = await open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    const decoder = new StringDecoder('utf8');
    let rest = '';
    for (;;) {
      const { bytesRead: n } = await fh.read(buf, 0, READ_CHUNK, null);
      bytesRead += n;
      rest = onChunk(rest + (n > 0 ? decoder.write(buf.subarray(0, n)) : decoder.end()), n === 0);
      if (n === 0) break;
    }
  } finally {
    await fh.close();
  }
  return { tickets, asOfSeq };
}

/**
 * Phase 3: append the sorted tickets to tickets_import, one short write transaction per
 * batch, yielding to the event loop between batches.
 */
async function loadSorted(db: Database.Database, file: string, generation: number, tickets: number, batchSize: number): Promise<void> {
  db.exec('DROP TABLE IF EXISTS tickets_import; DROP TABLE IF EXISTS tickets_old;');
  db.exec(`CREATE TABLE tickets_import (
    ticket_id TEXT PRIMARY KEY, type_id TEXT NOT NULL, status TEXT NOT NULL, visit_date TEXT NOT NULL,
    slot_start TEXT, slot_end TEXT, persons INTEGER NOT NULL, entries_used INTEGER NOT NULL DEFAULT 0,
    entries_day TEXT, entries_day_count INTEGER NOT NULL DEFAULT 0, last_entry_at INTEGER, id_hash TEXT,
    source TEXT NOT NULL DEFAULT 'whitelist') WITHOUT ROWID`);
  try {
    const copy = db.prepare(
      `INSERT INTO tickets_import (${COLUMNS})
       SELECT ticket_id, type_id, status, visit_date, slot_start, slot_end, persons, entries_used, NULL, 0, NULL, id_hash, 'whitelist'
       FROM ${STAGE}.sorted WHERE rowid > ? AND rowid <= ?`,
    );
    const copyBatch = db.transaction((from: number, to: number) => copy.run(from, to));
    for (let from = 0; from < tickets; from += batchSize) {
      try {
        copyBatch(from, from + batchSize);
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw duplicate(db, file);
        throw err;
      }
      // A short pause, not just a turn of the event loop: a daemon waiting in its busy handler gets a gap to take the lock.
      await new Promise<void>((resolve) => setTimeout(resolve, 1));
    }
    db.exec(`CREATE INDEX tickets_id_hash_g${generation} ON tickets_import(id_hash, visit_date) WHERE id_hash IS NOT NULL;
             CREATE INDEX tickets_used_g${generation} ON tickets_import(last_entry_at) WHERE last_entry_at IS NOT NULL;`);
  } catch (err) {
    db.exec('DROP TABLE IF EXISTS tickets_import');
    throw err;
  }
}

/** Duplicates are neighbours in key order; name the earliest repeated line and where the id first appeared. */
function duplicate(db: Database.Database, file: string): StileError {
  const d = db
    .prepare<[], { first: number; again: number }>(
      `SELECT a.line AS first, b.line AS again FROM ${STAGE}.sorted a
       JOIN ${STAGE}.sorted b ON b.rowid = a.rowid + 1 AND b.ticket_id = a.ticket_id ORDER BY b.line LIMIT 1`,
    )
    .get();
  return d
    ? invalid(file, d.again, `duplicate ticketId in snapshot (first on line ${d.first})`)
    : new StileError(StileErrorCode.SnapshotInvalid, `${file}: duplicate ticketId in snapshot; whitelist unchanged`);
}

function swapIn(db: Database.Database, s: { generation: number; asOfSeq: string | null; tickets: number }): number {
  return db
    .transaction(() => {
      // Tickets only this gate knows: signed offline tickets it admitted.
      const signed = db.prepare(`INSERT OR IGNORE INTO tickets_import (${COLUMNS}) SELECT ${COLUMNS} FROM tickets WHERE source = 'signed'`).run().changes;
      // Local usage the snapshot may not include yet (uses the partial index on last_entry_at).
      const merged = db
        .prepare(
          `UPDATE tickets_import SET entries_used = max(tickets_import.entries_used, u.entries_used),
             entries_day = u.entries_day, entries_day_count = u.entries_day_count, last_entry_at = u.last_entry_at
           FROM (SELECT ticket_id, entries_used, entries_day, entries_day_count, last_entry_at FROM tickets WHERE last_entry_at IS NOT NULL) AS u
           WHERE u.ticket_id = tickets_import.ticket_id AND tickets_import.source = 'whitelist'`,
        )
        .run().changes;
      db.exec('ALTER TABLE tickets RENAME TO tickets_old; ALTER TABLE tickets_import RENAME TO tickets;');
      const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
      put.run('tickets_generation', String(s.generation));
      put.run('whitelist_imported_at', new Date().toISOString());
      put.run('whitelist_count', String(s.tickets));
      if (s.asOfSeq !== null) put.run('whitelist_seq', s.asOfSeq);
      return signed + merged;
    })
    .immediate();
}

function isHeader(obj: unknown): obj is { snapshot: { site?: string; asOfSeq?: string } } {
  return typeof obj === 'object' && obj !== null && 'snapshot' in obj && typeof (obj as { snapshot: unknown }).snapshot === 'object';
}

function invalid(file: string, line: number, message: string): StileError {
  return new StileError(StileErrorCode.SnapshotInvalid, `${file}:${line}: ${message}; whitelist unchanged`, { line });
}
