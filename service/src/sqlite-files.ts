import { closeSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Copies and checks of SQLite database files (gate.db, kiosk.db, cloud.db). Every copy is
 * written 0600 under `<dest>.partial` and renamed when complete and synced, so a file with
 * the final name is always a whole database (these files hold ID-card hashes and visitors'
 * phone numbers).
 */

/** 0x7fffffff pages per step: the rest of the database in one step, i.e. in one read transaction. */
export const ALL_PAGES = 0x7fffffff;

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Rename into place and make the rename durable (the folder's entry is synced too). The copy
 * is first switched to a rollback journal: a single self-contained file (a WAL-mode copy
 * would grow -wal and -shm files beside it whenever it is opened to be checked).
 */
function commitFile(partial: string, dest: string): void {
  const db = new Database(partial, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
  } finally {
    db.close();
  }
  fsyncPath(partial);
  renameSync(partial, dest);
  fsyncPath(dirname(dest));
}

function freshPartial(dest: string): string {
  const partial = `${dest}.partial`;
  rmSync(partial, { force: true });
  closeSync(openSync(partial, 'wx', 0o600));
  return partial;
}

/**
 * A consistent copy of an open database with VACUUM INTO: one read transaction (writers
 * carry on in WAL mode), synchronous, compacted. For short paths that cannot wait for a
 * promise (a store opening and migrating). `dest` must not exist.
 */
export function vacuumInto(db: Database.Database, dest: string): void {
  const partial = freshPartial(dest);
  try {
    db.prepare('VACUUM INTO ?').run(partial);
    commitFile(partial, dest);
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
}

export interface OnlineBackupOptions {
  /**
   * Pages copied per step; the event loop turns between steps. A write through the SAME
   * connection during the copy goes into the copy too; a write through ANOTHER connection
   * (another process) restarts it, so a separate process copies with ALL_PAGES: one step,
   * one read transaction, consistent whatever the daemon writes meanwhile.
   */
  pagesPerStep?: number;
}

/** SQLite's online backup API (better-sqlite3 `.backup()`) into `dest`, atomically named. */
export async function onlineBackup(db: Database.Database, dest: string, opts: OnlineBackupOptions = {}): Promise<{ pages: number }> {
  const partial = freshPartial(dest);
  const rate = opts.pagesPerStep ?? ALL_PAGES;
  try {
    const r = await db.backup(partial, { progress: () => rate });
    commitFile(partial, dest);
    return { pages: r.totalPages };
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
}

/** Copy a database file that no process is writing (a restore's source) to `dest`, atomically. */
export async function copyClosedDatabase(source: string, dest: string): Promise<void> {
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    await onlineBackup(db, dest);
  } finally {
    db.close();
  }
}

export interface DatabaseCheck {
  /** null: PRAGMA integrity_check said ok. */
  problem: string | null;
  userVersion: number;
}

/**
 * PRAGMA integrity_check of a file, opened read-only. Throws when it is not a database at
 * all (SQLITE_NOTADB) or cannot be opened; a damaged one answers with its first problem.
 */
export function checkDatabase(path: string, fn?: (db: Database.Database) => void): DatabaseCheck {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma('integrity_check(20)') as { integrity_check: string }[];
    const first = rows[0]?.integrity_check ?? 'no answer';
    const userVersion = db.pragma('user_version', { simple: true }) as number;
    fn?.(db);
    return { problem: first === 'ok' ? null : `${first}${rows.length > 1 ? ` (and ${rows.length - 1} more)` : ''}`, userVersion };
  } finally {
    db.close();
  }
}

/** PRAGMA user_version of a database file, read without writing to it; 0 for an empty file. */
export function readUserVersion(path: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}
