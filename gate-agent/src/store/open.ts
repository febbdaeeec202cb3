import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StileError, StileErrorCode } from '@stile/config';
import { migrate } from './schema.js';

export interface OpenOptions {
  /** gatectl: fail with a clear message instead of creating an empty database. */
  mustExist?: boolean;
}

/**
 * Open (and create or migrate) a gate database. WAL so gatectl can read while the
 * daemon writes; synchronous=FULL because with NORMAL a committed admission can
 * vanish on power loss and the ticket would admit again.
 */
export function openDatabase(path: string, opts: OpenOptions = {}): Database.Database {
  let db: Database.Database;
  try {
    if (!opts.mustExist && onDisk(path)) mkdirSync(dirname(path), { recursive: true });
    if (onDisk(path)) ownerOnly(path, !opts.mustExist);
    db = new Database(path, { fileMustExist: opts.mustExist ?? false });
  } catch (err) {
    throw new StileError(StileErrorCode.StoreUnavailable, `cannot open gate database ${path}: ${(err as Error).message}`);
  }
  try {
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (err) {
    db.close();
    const code = (err as { code?: string }).code;
    const corrupt = code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT';
    throw new StileError(
      corrupt ? StileErrorCode.StoreCorrupt : StileErrorCode.StoreUnavailable,
      corrupt
        ? `gate database ${path} is corrupt or not a database (${code}); move it aside and re-import the whitelist (entries not yet synced are in that file — keep it for recovery)`
        : `cannot use gate database ${path}: ${(err as Error).message}`,
    );
  }
  return db;
}

/** ':memory:' and '' (an anonymous temporary database) have no file to protect. */
function onDisk(path: string): boolean {
  return path !== ':memory:' && path !== '';
}

/**
 * The database holds ID-card hashes and every entry: owner only (0600). SQLite gives the
 * -wal and -shm files the main file's mode, so the main file must have it before the first
 * open; a missing one is created with it. An older install's 0644 files are tightened.
 * A user who may write the file but does not own it (EPERM) cannot change its mode; the
 * owner's daemon does at its next start.
 */
function ownerOnly(path: string, create: boolean): void {
  if (create) closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (!existsSync(file)) continue;
    try {
      chmodSync(file, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    }
  }
}
