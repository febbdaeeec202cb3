import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';
import { cachingSqlite } from './statement-cache.js';

export interface DbOptions {
  /** postgres://… : use PostgreSQL. */
  databaseUrl?: string;
  /** SQLite file (the embedded default) when no databaseUrl; ':memory:' for tests. */
  sqlitePath?: string;
  /**
   * PostgreSQL: apply pending schema migrations to a database that has data (the operator
   * took a backup: docs/backup.md). cloud.yaml's loader sets it from STILE_MIGRATE_WITHOUT_BACKUP=1.
   */
  migrateWithoutBackup?: boolean;
}

export type Dialect = 'sqlite' | 'postgres';

/**
 * The database holds ID-number hashes (reversible by anyone with the site key and patience),
 * visitors' names and phone numbers: readable by the service user only. The file is created
 * 0600 before SQLite opens it (SQLite then gives -wal and -shm the main file's mode), and an
 * existing one, with any -wal/-shm/-journal left from an older version, is narrowed to 0600.
 */
function ownerOnly(path: string): void {
  closeSync(openSync(path, 'a', 0o600)); // creates it if missing, never truncates
  for (const p of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) if (existsSync(p)) chmodSync(p, 0o600);
}

/**
 * One Kysely instance; every query in the store is written once for both dialects. SQLite:
 * also the connection itself (`sqlite`), for online backups through the same connection.
 */
export function connectDb(opts: DbOptions): { db: Kysely<Database>; dialect: Dialect; sqlite?: BetterSqlite3.Database } {
  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 10 });
    return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), dialect: 'postgres' };
  }
  const path = opts.sqlitePath ?? 'cloud.db';
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true });
    ownerOnly(path);
  }
  const sqlite = new BetterSqlite3(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 5000');
  // 64 MiB of page cache (default 2 MiB): entry ids are random UUIDs, so every insert
  // touches a random leaf of the primary-key index; with a small cache those are disk reads.
  sqlite.pragma('cache_size = -65536');
  return { db: new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingSqlite(sqlite) }) }), dialect: 'sqlite', sqlite };
}
