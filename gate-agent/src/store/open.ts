import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { isStileError, StileError, StileErrorCode } from '@stile/config';
import { migrate, schemaTooNew, SCHEMA_VERSION, type MigrateResult } from './schema.js';

/** Page cache of a gate database connection (KiB). */
export const CACHE_KIB = 2048;

export interface OpenOptions {
  /** gatectl: fail with a clear message instead of creating an empty database. */
  mustExist?: boolean;
  /** Told when an existing database was migrated (with the path of the copy taken before). */
  onMigrated?: (r: MigrateResult) => void;
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
  // A schema from a newer gate-agent is refused before anything here writes to the file.
  let found: number;
  try {
    found = db.pragma('user_version', { simple: true }) as number;
  } catch {
    found = 0; // not readable: the checks below name the problem
  }
  if (found > SCHEMA_VERSION) {
    db.close();
    throw schemaTooNew(path, found);
  }
  try {
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    // SQLite's own default (2 MiB) instead of better-sqlite3's 16 MiB: random lookups over a
    // 1M-ticket table would fill 16 MiB within a day of scans, on a gate that should stay
    // under 80 MB. The interior pages fit; a leaf comes from the OS page cache (docs/footprint.md).
    db.pragma(`cache_size = -${CACHE_KIB}`);
    const migrated = migrate(db, { path });
    if (migrated.from > 0 && migrated.from < migrated.to) opts.onMigrated?.(migrated);
  } catch (err) {
    db.close();
    if (isStileError(err)) throw err;
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
