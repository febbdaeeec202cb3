import { chmodSync, closeSync, existsSync, openSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { ownLikeData } from './store-guard.js';

/**
 * "Is a daemon running on this database?" answered by the kernel, not by a pid file. Every
 * daemon on a database holds a SHARED SQLite lock on `<db>.lock` (a POSIX record lock, gone
 * when the process ends, by SIGKILL or a power cut too; several daemons may share it); a
 * restore takes it EXCLUSIVE while it swaps files, which succeeds only when no daemon holds
 * it, and a daemon started meanwhile stops instead of opening a half-restored store. The
 * CLIs reading or writing the database itself (gatectl, a backup) take no lock.
 */
export class StoreLock {
  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
    readonly mode: 'shared' | 'exclusive',
  ) {}

  /** The lock file of a database. */
  static pathFor(dbPath: string): string {
    return `${dbPath}.lock`;
  }

  /** A daemon's hold on its database, or undefined while a restore holds it exclusively. */
  static share(dbPath: string): StoreLock | undefined {
    const path = ensureFile(StoreLock.pathFor(dbPath));
    const db = new Database(path, { timeout: 0 });
    try {
      // An empty file is given its one table first (a read of an empty file may take no lock).
      if (statSync(path).size === 0) {
        try {
          db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since TEXT NOT NULL)');
        } catch (err) {
          if (!isBusy(err)) throw err;
        }
      }
      // A read transaction left open: its SHARED lock lasts until close.
      db.exec('BEGIN');
      db.prepare('SELECT count(*) FROM sqlite_master').get();
    } catch (err) {
      db.close();
      if (isBusy(err)) return undefined;
      throw err;
    }
    return new StoreLock(db, path, 'shared');
  }

  /** A restore's hold: undefined while any daemon (or another restore) holds the lock. */
  static exclusive(dbPath: string): StoreLock | undefined {
    const path = ensureFile(StoreLock.pathFor(dbPath));
    const db = new Database(path, { timeout: 0 });
    try {
      // No journal file to leave behind; EXCLUSIVE keeps the lock after the first write until close.
      db.pragma('journal_mode = MEMORY');
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since TEXT NOT NULL); DELETE FROM holder;');
      db.prepare('INSERT INTO holder (pid, since) VALUES (?, ?)').run(process.pid, new Date().toISOString());
      db.exec('COMMIT');
    } catch (err) {
      db.close();
      if (isBusy(err)) return undefined;
      throw err;
    }
    return new StoreLock(db, path, 'exclusive');
  }

  /** True while a daemon or a restore holds the lock of `dbPath` (never creates the lock file). */
  static isHeld(dbPath: string): boolean {
    if (!existsSync(StoreLock.pathFor(dbPath))) return false;
    const probe = StoreLock.exclusive(dbPath);
    probe?.release();
    return probe === undefined;
  }

  release(): void {
    if (this.db.open) this.db.close();
  }
}

/** The lock file, created 0600 if missing (its content says nothing; its lock is what counts). */
function ensureFile(path: string): string {
  if (!existsSync(path)) {
    closeSync(openSync(path, 'a', 0o600));
    try {
      chmodSync(path, 0o600);
      // Made by a root CLI before the daemon's first start: the daemon's user must open it too.
      ownLikeData(path);
    } catch {
      // another user's file: the lock works all the same
    }
  }
  return path;
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}
