import { existsSync, statSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import { findPreUpgradeBackup, schemaTooNewLine } from '@stile/service';
import { CloudError } from '../errors.js';
import { CLOUD_SCHEMA_VERSION, MIGRATION_NAMES, migrationVersion } from './migrations.js';

/**
 * Where a cloud database stands against the migrations this cloud-bridge knows (kysely's
 * `kysely_migration` table): forward only, and never opened by software older than the
 * schema (docs/backup.md).
 */
export interface SchemaState {
  /** Migrations recorded in the database, in order. */
  applied: string[];
  /** The database's version: the highest migration number applied (0: none, a new database). */
  version: number;
  /** Applied migrations this software does not know: a newer Stile migrated the database. */
  unknown: string[];
  /** Migrations this software would apply. */
  pending: string[];
}

export function schemaStateOf(applied: readonly string[]): SchemaState {
  const known = new Set(MIGRATION_NAMES);
  const done = new Set(applied);
  const versions = applied.map(migrationVersion).filter((v) => Number.isFinite(v));
  return {
    applied: [...applied],
    version: versions.length ? Math.max(...versions) : 0,
    unknown: applied.filter((n) => !known.has(n)),
    pending: MIGRATION_NAMES.filter((n) => !done.has(n)),
  };
}

/** The migrations recorded in an open database (either dialect). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- read before the schema is known to match the current type
export async function readSchemaState(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<SchemaState> {
  const present =
    dialect === 'postgres'
      ? (await sql<{ t: string | null }>`SELECT to_regclass('kysely_migration')::text AS t`.execute(db)).rows[0]?.t != null
      : (await sql<{ n: number }>`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'kysely_migration'`.execute(db)).rows[0]?.n === 1;
  if (!present) return schemaStateOf([]);
  const rows = (await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db)).rows;
  return schemaStateOf(rows.map((r) => r.name));
}

/** The same for a SQLite file, read-only and without writing anything to it; a missing or empty file is new. */
export function readSqliteSchemaState(path: string): SchemaState {
  if (path === ':memory:' || !existsSync(path) || statSync(path).size === 0) return schemaStateOf([]);
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    const present = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'kysely_migration'").get() as { n: number };
    if (present.n !== 1) return schemaStateOf([]);
    return schemaStateOf((db.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as { name: string }[]).map((r) => r.name));
  } finally {
    db.close();
  }
}

/** The refusal of a database a newer Stile migrated: one line, naming the pre-upgrade copy when there is one. */
export function schemaTooNew(state: SchemaState, where: { sqlitePath?: string; label: string }): CloudError {
  const backup = where.sqlitePath ? findPreUpgradeBackup(where.sqlitePath, CLOUD_SCHEMA_VERSION) : undefined;
  return new CloudError('store_too_new', schemaTooNewLine({ file: where.label, found: state.version, known: CLOUD_SCHEMA_VERSION, program: 'stile-cloud', backup }), {
    version: state.version,
    known: CLOUD_SCHEMA_VERSION,
    unknown: state.unknown,
  });
}
