import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
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
  /** Rows per write transaction while loading the shadow table. */
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

/**
 * Load an NDJSON whitelist snapshot atomically. An optional first line
 * `{"snapshot":{"site":"…","asOfSeq":"…"}}` is the header; every other line is one ticket.
 *
 * The tickets go into a shadow table in batches (the daemon keeps admitting meanwhile,
 * so no long write lock), then one short transaction carries over what this gate knows
 * and the snapshot may not (local usage, signed tickets admitted offline) and swaps the
 * tables. Any bad line aborts the import and the old whitelist stays in place.
 */
export async function importSnapshot(db: Database.Database, file: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const started = performance.now();
  const totalBytes = statSync(file).size;
  const generation = Number((db.prepare("SELECT value FROM meta WHERE key = 'tickets_generation'").get() as { value?: string } | undefined)?.value ?? '0') + 1;
  db.exec('DROP TABLE IF EXISTS tickets_import; DROP TABLE IF EXISTS tickets_old;');
  db.exec(`CREATE TABLE tickets_import (
    ticket_id TEXT PRIMARY KEY, type_id TEXT NOT NULL, status TEXT NOT NULL, visit_date TEXT NOT NULL,
    slot_start TEXT, slot_end TEXT, persons INTEGER NOT NULL, entries_used INTEGER NOT NULL DEFAULT 0,
    entries_day TEXT, entries_day_count INTEGER NOT NULL DEFAULT 0, last_entry_at INTEGER, id_hash TEXT,
    source TEXT NOT NULL DEFAULT 'whitelist') WITHOUT ROWID`);
  const insert = db.prepare(`INSERT INTO tickets_import (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, NULL, ?, 'whitelist')`);
  const batchSize = opts.batchSize ?? 20_000;
  let batch: unknown[][] = [];
  const flush = db.transaction((rows: unknown[][]) => {
    for (const r of rows) insert.run(r);
  });

  let asOfSeq: string | null = null;
  let lineNo = 0;
  let tickets = 0;
  let bytesRead = 0;
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      lineNo++;
      bytesRead += Buffer.byteLength(line) + 1;
      if (line.trim() === '') continue;
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
        continue;
      }
      const parsed = SnapshotTicketSchema.safeParse(obj);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw invalid(file, lineNo, `${issue.path.join('.') || '(line)'}: ${issue.message}`);
      }
      const t = parsed.data;
      batch.push([t.ticketId, t.typeId, t.status, t.visitDate, t.slotStart ?? null, t.slotEnd ?? null, t.persons, t.entriesUsed, t.idHash ?? null]);
      tickets++;
      if (batch.length >= batchSize) {
        flushBatch(flush, batch, file, lineNo);
        batch = [];
        opts.onProgress?.({ bytesRead, totalBytes, tickets });
      }
    }
    flushBatch(flush, batch, file, lineNo);
    opts.onProgress?.({ bytesRead: totalBytes, totalBytes, tickets });
    db.exec(`CREATE INDEX tickets_id_hash_g${generation} ON tickets_import(id_hash, visit_date) WHERE id_hash IS NOT NULL;
             CREATE INDEX tickets_used_g${generation} ON tickets_import(last_entry_at) WHERE last_entry_at IS NOT NULL;`);
  } catch (err) {
    lines.close();
    stream.destroy();
    db.exec('DROP TABLE IF EXISTS tickets_import');
    throw err;
  }

  const carriedOver = swapIn(db, { generation, asOfSeq, tickets });
  db.exec('DROP TABLE IF EXISTS tickets_old');
  return { tickets, asOfSeq, carriedOver, ms: performance.now() - started };
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

function flushBatch(flush: (rows: unknown[][]) => void, batch: unknown[][], file: string, lineNo: number): void {
  if (batch.length === 0) return;
  try {
    flush(batch);
  } catch (err) {
    const msg = (err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ? 'duplicate ticketId in snapshot' : (err as Error).message;
    throw invalid(file, lineNo, `${msg} (in the batch ending here)`);
  }
}

function isHeader(obj: unknown): obj is { snapshot: { site?: string; asOfSeq?: string } } {
  return typeof obj === 'object' && obj !== null && 'snapshot' in obj && typeof (obj as { snapshot: unknown }).snapshot === 'object';
}

function invalid(file: string, line: number, message: string): StileError {
  return new StileError(StileErrorCode.SnapshotInvalid, `${file}:${line}: ${message}; whitelist unchanged`, { line });
}
