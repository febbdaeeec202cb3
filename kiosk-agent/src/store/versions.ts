import type Database from 'better-sqlite3';
import { StileError, StileErrorCode } from '@stile/config';
import { findPreUpgradeBackup, preMigratePath, schemaTooNewLine, vacuumInto } from '@stile/service';

/**
 * Versions of the kiosk's SQLite files (the journal, kiosk.db, and the outbox), recorded in
 * PRAGMA user_version like the gate's (docs/backup.md). Step 1 is the schema as it was before
 * files had a version (CREATE … IF NOT EXISTS, so an older unversioned file is adopted as
 * it is, with any table it lacks added). Append steps; never edit a shipped one.
 */
export interface VersionedSchema {
  /** The file as the technician knows it (messages, the pre-migrate copy). */
  path: string;
  /** SQL of each version, oldest first: steps[0] brings an empty or unversioned file to version 1. */
  steps: readonly string[];
  now?: () => Date;
}

/**
 * Refuse a file a newer Stile migrated (before writing anything to it), copy an existing one
 * that has steps pending next to itself, then apply them, each with its version, in one
 * transaction. Returns the path of the copy when one was taken.
 */
export function migrateKioskFile(db: Database.Database, s: VersionedSchema): string | undefined {
  const known = s.steps.length;
  const current = refuseIfNewer(db, s.path, known);
  if (current === known) return undefined;
  let backup: string | undefined;
  const hasTables = (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n > 0;
  if (hasTables && !db.memory) {
    backup = preMigratePath(s.path, current, (s.now ?? (() => new Date()))());
    vacuumInto(db, backup);
  }
  for (let v = current; v < known; v++) {
    db.transaction(() => {
      db.exec(s.steps[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
  return backup;
}

/** The file's version; a file from a newer Stile is closed and refused with one line, untouched. Call before any PRAGMA that writes. */
export function refuseIfNewer(db: Database.Database, path: string, known: number): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > known) {
    db.close();
    throw new StileError(StileErrorCode.StoreTooNew, schemaTooNewLine({ file: path, found: current, known, program: 'stile-kiosk', backup: findPreUpgradeBackup(path, known) }));
  }
  return current;
}
