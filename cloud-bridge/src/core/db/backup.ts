import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { ALL_PAGES, asidePath, backupStamp, checkDatabase, copyClosedDatabase, onlineBackup, ownLikeData, StoreLock } from '@stile/service';
import { CloudError } from '../errors.js';
import { CLOUD_SCHEMA_VERSION } from './migrations.js';
import { schemaStateOf } from './schema-state.js';
import type { CloudStore } from './store.js';

/**
 * Online backups of the cloud's SQLite store and their restore (docs/backup.md). A backup is
 * SQLite's online backup API into `cloud-<UTC time>.db` (0600, written under a temporary
 * name): consistent while the cloud runs and writes. A restore refuses while a stile-cloud
 * holds the store's lock, checks the file, keeps the current database as
 * `<db>.pre-restore-<time>` and puts a copy of the backup in its place.
 */

/** `cloud-20261125T101731Z.db`: sorts by time; the pattern pruning and the restore listing go by. */
export function backupFileName(at: Date): string {
  return `cloud-${backupStamp(at)}.db`;
}

const BACKUP_NAME = /^cloud-\d{8}T\d{6}Z\.db$/;

/** The backups in `dir` (by their name), oldest first. */
export function listBackups(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => BACKUP_NAME.test(n))
    .sort()
    .map((n) => join(dir, n));
}

/** Keep the newest `keep` backups in `dir`; returns the ones removed. Files of other names are never touched. */
export function pruneBackups(dir: string, keep: number): string[] {
  const all = listBackups(dir);
  const old = all.slice(0, Math.max(0, all.length - keep));
  for (const f of old) rmSync(f, { force: true });
  return old;
}

/**
 * A backup of the running cloud's own store through its own connection: steps of 4 MiB
 * (the event loop turns between them; ingest keeps committing), and every write made
 * through the connection meanwhile goes into the copy too, so it is one consistent state.
 */
export async function backupOpenStore(store: CloudStore, dest: string): Promise<{ pages: number }> {
  if (!store.sqlite) throw new CloudError('backup_invalid', 'the cloud runs on PostgreSQL: back it up with pg_dump (docs/backup.md)');
  mkdirSync(dirname(dest), { recursive: true, mode: 0o750 });
  return onlineBackup(store.sqlite.connection, dest, { pagesPerStep: 1024 });
}

/**
 * A backup from another process (stile-cloud backup) while the daemon writes: its own
 * read-only connection, the whole copy in one step, i.e. in one read transaction, so the
 * daemon's commits during it are all in or all out.
 */
export async function backupSqliteFile(dbPath: string, dest: string): Promise<{ pages: number }> {
  if (!existsSync(dbPath)) throw new CloudError('backup_invalid', `${dbPath} does not exist: nothing to back up`);
  mkdirSync(dirname(dest), { recursive: true, mode: 0o750 });
  const db = new BetterSqlite3(dbPath, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return await onlineBackup(db, dest, { pagesPerStep: ALL_PAGES });
  } finally {
    db.close();
  }
}

export interface BackupCheck {
  /** The schema version in the file (its highest migration). */
  version: number;
  /** Sites in the file (a sanity figure for the technician). */
  sites: number;
  entries: number;
}

/**
 * Is `file` a whole cloud database this software can open? PRAGMA integrity_check, the
 * migrations it records all known here (an older version is fine: it is migrated at start),
 * and the core tables present. Throws `backup_invalid` naming what is wrong.
 */
export function checkCloudBackup(file: string): BackupCheck {
  const bad = (why: string) => new CloudError('backup_invalid', `${file}: ${why}; nothing restored`);
  if (!existsSync(file)) throw bad('no such file');
  let figures: BackupCheck | undefined;
  let check;
  try {
    check = checkDatabase(file, (db) => {
      const has = (t: string) => (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?").get(t) as { n: number }).n === 1;
      if (!has('kysely_migration') || !has('sites') || !has('entries')) return;
      const state = schemaStateOf((db.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as { name: string }[]).map((r) => r.name));
      if (state.unknown.length > 0) throw bad(`schema version ${state.version} is newer than this stile-cloud knows (${CLOUD_SCHEMA_VERSION}): restore it with the newer software`);
      const count = (t: string) => (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
      figures = { version: state.version, sites: count('sites'), entries: count('entries') };
    });
  } catch (err) {
    if (err instanceof CloudError) throw err;
    throw bad(`not a database (${(err as Error).message})`);
  }
  if (check.problem) throw bad(`damaged: integrity_check says "${check.problem}"`);
  if (!figures) throw bad('not a Stile cloud database (no kysely_migration, sites or entries table)');
  return figures;
}

/**
 * How far a restore moves each site's whitelist seq on. The gates may hold deltas the backup
 * never saw (issued between the backup and the failure); numbered on from the backup, new
 * deltas would repeat those seqs and the gates would ignore them as old. Past every seq
 * issued before, the gates see a head ahead of them and take a fresh snapshot. (Far more
 * than any park issues between two backups; the same statement follows a PostgreSQL
 * pg_restore, docs/backup.md.)
 */
export const RESTORE_SEQ_JUMP = 1_000_000_000;

function moveSeqsOn(file: string): void {
  const db = new BetterSqlite3(file, { fileMustExist: true });
  try {
    db.prepare('UPDATE sites SET delta_seq = delta_seq + ?').run(RESTORE_SEQ_JUMP);
  } finally {
    db.close();
  }
}

export interface RestoreResult extends BackupCheck {
  /** Where the database that was in place went (kept), when there was one. */
  keptAs: string | undefined;
}

/**
 * Put `file` in place of `dbPath`, with no stile-cloud running on it (the store's lock,
 * held EXCLUSIVE for the whole swap so none starts meanwhile). The file is checked first;
 * the current database (with its -wal and -shm) is renamed to `<db>.pre-restore-<time>`;
 * a copy of the backup goes in, so the backup itself stays as it was.
 */
export async function restoreSqlite(file: string, dbPath: string, now: Date): Promise<RestoreResult> {
  const lock = StoreLock.exclusive(dbPath);
  if (!lock) throw new CloudError('store_in_use', `stile-cloud is running on ${dbPath} (it holds ${StoreLock.pathFor(dbPath)}): stop it first (systemctl stop stile-cloud); nothing restored`);
  try {
    const figures = checkCloudBackup(file);
    mkdirSync(dirname(dbPath), { recursive: true });
    const incoming = join(dirname(dbPath), `.${basename(dbPath)}.restoring`);
    await copyClosedDatabase(file, incoming);
    moveSeqsOn(incoming);
    ownLikeData(incoming, dbPath);
    const aside = asidePath(dbPath, 'pre-restore', now);
    // -wal and -shm go along under the names SQLite expects beside the new name: the old
    // database stays whole, and no old WAL is replayed into the restored file.
    for (const suffix of ['-wal', '-shm']) if (existsSync(`${dbPath}${suffix}`)) renameSync(`${dbPath}${suffix}`, `${aside}${suffix}`);
    const keptAs = existsSync(dbPath) ? aside : undefined;
    if (keptAs) renameSync(dbPath, keptAs);
    renameSync(incoming, dbPath);
    return { ...figures, keptAs };
  } finally {
    lock.release();
  }
}

/**
 * A running cloud's shared hold on its SQLite store (StoreLock): several instances may share
 * it; a restore cannot take it while one does, and none starts while a restore holds it.
 * undefined for PostgreSQL and ':memory:'.
 */
export function holdSqliteStore(sqlitePath: string | undefined): StoreLock | undefined {
  if (sqlitePath === undefined || sqlitePath === ':memory:') return undefined;
  mkdirSync(dirname(sqlitePath), { recursive: true });
  const lock = StoreLock.share(sqlitePath);
  if (!lock) throw new CloudError('store_in_use', `${sqlitePath} is being restored ("stile-cloud restore" holds ${StoreLock.pathFor(sqlitePath)}): start stile-cloud when it has finished`);
  return lock;
}
