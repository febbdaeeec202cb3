import { chownSync, existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Schema versions and the files kept around a database (docs/backup.md): what every
 * daemon's store (gate.db, kiosk.db, cloud.db) shares. Pure, except findPreUpgradeBackup,
 * which lists one folder.
 */

/** UTC time in file names, sortable and free of ':' : 20261125T101731Z. */
export function backupStamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** The copy taken next to a database before its schema is migrated from `fromVersion`: `<db>.pre-migrate-v<from>-<time>`. */
export function preMigratePath(dbPath: string, fromVersion: number, at: Date): string {
  return `${dbPath}.pre-migrate-v${fromVersion}-${backupStamp(at)}`;
}

/** Where a restore or rebuild puts the database it replaces: `<db>.<why>-<time>` (kept, never deleted). */
export function asidePath(dbPath: string, why: 'pre-restore' | 'damaged', at: Date): string {
  return `${dbPath}.${why}-${backupStamp(at)}`;
}

/**
 * The newest `<db>.pre-migrate-v<version>-<time>` next to `dbPath`: the copy a newer Stile
 * took before it migrated this database away from `version` (the one this software reads).
 */
export function findPreUpgradeBackup(dbPath: string, version: number): string | undefined {
  const prefix = `${basename(dbPath)}.pre-migrate-v${version}-`;
  let names: string[];
  try {
    names = readdirSync(dirname(dbPath));
  } catch {
    return undefined;
  }
  const mine = names.filter((n) => n.startsWith(prefix) && /^\d{8}T\d{6}Z$/.test(n.slice(prefix.length))).sort();
  const newest = mine.at(-1);
  return newest === undefined ? undefined : join(dirname(dbPath), newest);
}

export interface TooNew {
  /** The database as named to the technician (its path). */
  file: string;
  found: number;
  known: number;
  /** stile-gate, stile-kiosk, stile-cloud, gatectl… */
  program: string;
  /** The pre-upgrade copy, when there is one (findPreUpgradeBackup). */
  backup?: string | undefined;
}

/**
 * The one line a daemon or CLI stops with when its database was migrated by a newer Stile:
 * it must not read (nor write) a schema it does not know.
 */
export function schemaTooNewLine(t: TooNew): string {
  const restore = t.backup ? `restore the pre-upgrade backup ${t.backup}` : 'restore a backup taken before the upgrade';
  return `${t.file} schema is version ${t.found}, this ${t.program} knows up to ${t.known}: it was opened by a newer Stile; upgrade the software or ${restore} (docs/backup.md)`;
}

/**
 * A file a CLI run as root created for a daemon (a restored database, a lock file) gets the
 * owner of `like` (the file it replaces), else of its folder (/var/lib/stile is stile:stile):
 * otherwise the daemon, running as `stile`, could not open it. Nothing to do for anyone else.
 */
export function ownLikeData(file: string, like?: string): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  const model = like !== undefined && existsSync(like) ? like : dirname(file);
  const st = statSync(model);
  chownSync(file, st.uid, st.gid);
}
