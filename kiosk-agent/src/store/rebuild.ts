import { existsSync, renameSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { asidePath, checkDatabase, ownLikeData } from '@stile/service';
import { migrateKioskFile } from './versions.js';

/**
 * A kiosk SQLite file (kiosk.db or the outbox) rebuilt after a card failure (kioskctl
 * restore, docs/backup.md): every row that still reads is carried into a new file, table
 * by table (one bad page costs only its table), the old file is moved aside — kept, never
 * deleted — and the new one takes its place.
 */
export type FileState = { state: 'ok' } | { state: 'missing' } | { state: 'damaged'; problem: string };

/** PRAGMA integrity_check of a kiosk file, or why it could not be run. */
export function fileState(path: string): FileState {
  if (!existsSync(path)) return { state: 'missing' };
  try {
    const c = checkDatabase(path);
    return c.problem === null ? { state: 'ok' } : { state: 'damaged', problem: c.problem };
  } catch (err) {
    return { state: 'damaged', problem: (err as Error).message };
  }
}

export interface Salvaged {
  /** Rows read, by table. */
  rows: Map<string, Record<string, unknown>[]>;
  /** Tables that could not be read, with the reason. */
  problems: string[];
  /** The old AUTOINCREMENT counters that could be read (table → last seq given out). */
  counters: Map<string, number>;
}

/** Read every row of `tables` that still reads; nothing is written to the old file. */
export function salvageFile(path: string, tables: readonly string[]): Salvaged {
  const out: Salvaged = { rows: new Map(), problems: [], counters: new Map() };
  if (!existsSync(path)) return out;
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (err) {
    out.problems.push(`file: ${(err as Error).message}`);
    return out;
  }
  try {
    for (const t of tables) {
      try {
        out.rows.set(t, db.prepare(`SELECT * FROM "${t}"`).all() as Record<string, unknown>[]);
      } catch (err) {
        out.problems.push(`${t}: ${(err as Error).message}`);
      }
    }
    try {
      for (const r of db.prepare('SELECT name, seq FROM sqlite_sequence').all() as { name: string; seq: number }[]) out.counters.set(r.name, r.seq);
    } catch {
      // no AUTOINCREMENT table, or not readable: the caller decides the floor
    }
  } finally {
    db.close();
  }
  return out;
}

/**
 * Build `<path>.restoring` at the current schema with the salvaged rows (columns the new
 * schema has; a row that clashes with one already in is skipped), and each AUTOINCREMENT
 * counter at least `floors[table]`, so a number given out before is never given out again.
 */
export function buildFile(path: string, steps: readonly string[], s: Salvaged, floors: Record<string, number> = {}): { path: string; rows: number } {
  const built = `${path}.restoring`;
  for (const f of [built, `${built}-wal`, `${built}-shm`, `${built}-journal`]) rmSync(f, { force: true });
  const db = new Database(built);
  let rows = 0;
  try {
    migrateKioskFile(db, { path: built, steps });
    db.transaction(() => {
      for (const [table, list] of s.rows) {
        const columns = new Set((db.prepare(`PRAGMA table_info("${table}")`).all() as { name: string }[]).map((c) => c.name));
        for (const row of list) {
          const cols = Object.keys(row).filter((k) => columns.has(k));
          if (cols.length === 0) continue;
          const r = db.prepare(`INSERT OR IGNORE INTO "${table}" (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...cols.map((c) => row[c]));
          rows += r.changes;
        }
      }
      for (const [table, floor] of Object.entries(floors)) {
        if (db.prepare('UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?').run(floor, table).changes === 0) {
          db.prepare('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(table, floor);
        }
      }
    })();
  } finally {
    db.close();
  }
  return { path: built, rows };
}

/** The old file (and its -wal, -shm) to `<path>.damaged-<time>`, the built one in its place. */
export function installFile(path: string, built: string, now: Date): string | undefined {
  ownLikeData(built, path);
  const aside = asidePath(path, 'damaged', now);
  for (const suffix of ['-wal', '-shm']) if (existsSync(`${path}${suffix}`)) renameSync(`${path}${suffix}`, `${aside}${suffix}`);
  const kept = existsSync(path) ? aside : undefined;
  if (kept) renameSync(path, kept);
  renameSync(built, path);
  return kept;
}
