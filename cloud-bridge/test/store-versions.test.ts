import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { RESTORE_SEQ_JUMP } from '../src/core/db/backup.js';
import { connectDb, type DbOptions } from '../src/core/db/connect.js';
import { CLOUD_SCHEMA_VERSION, MIGRATION_NAMES, migrateUpTo, migrationVersion } from '../src/core/db/migrations.js';
import { CloudStore } from '../src/core/db/store.js';
import { PG_URL, testDb, testSite, uniqueId } from './helpers.js';

/**
 * Forward-only migrations of the cloud's store (docs/backup.md): a database a newer Stile
 * migrated is refused untouched with one line; an existing SQLite database is copied before
 * pending migrations; an existing PostgreSQL one waits for the operator's backup. And the
 * documented pg_dump / pg_restore round trip against the real server.
 */
const BIN = fileURLToPath(new URL('../bin/stile-cloud.js', import.meta.url));
const run = promisify(execFile);
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stile-versions-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
const LAST = MIGRATION_NAMES.at(-1)!;
/** The last migration of the release before this one. */
const PREVIOUS = MIGRATION_NAMES.at(-2)!;
const PREVIOUS_VERSION = migrationVersion(PREVIOUS);

/** A SQLite cloud database at the current schema, with one site row, closed. */
async function currentSqlite(path: string): Promise<void> {
  const store = await CloudStore.open({ sqlitePath: path });
  await store.ensureSite('park-a', 'ck1');
  await store.close();
}

/** A new database as the previous release left it (one site row). */
async function olderDb(options: DbOptions): Promise<void> {
  const { db, dialect } = connectDb(options);
  try {
    await migrateUpTo(db, dialect, PREVIOUS);
    await db.insertInto('sites').values({ id: 'park-a', control_key_id: 'ck1' }).execute();
  } finally {
    await db.destroy();
  }
}

describe('a cloud database from a newer Stile', () => {
  it('SQLite: refused with one line, the file left byte for byte as it was; the line names the pre-upgrade copy when there is one', async () => {
    const dir = tempDir();
    const path = join(dir, 'cloud.db');
    await currentSqlite(path);
    const raw = new Database(path);
    raw.prepare("INSERT INTO kysely_migration (name, timestamp) VALUES ('0096_from_the_future', '2030-01-01T00:00:00.000Z')").run();
    raw.close();
    const before = sha(path);
    await expect(CloudStore.open({ sqlitePath: path })).rejects.toThrow(
      `${path} schema is version 96, this stile-cloud knows up to ${CLOUD_SCHEMA_VERSION}: it was opened by a newer Stile; upgrade the software or restore a backup taken before the upgrade (docs/backup.md)`,
    );
    expect(sha(path)).toBe(before);
    // Reading a WAL-mode file may leave an empty -wal beside it; nothing was written.
    expect(existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0).toBe(0);

    const copy = `${path}.pre-migrate-v${CLOUD_SCHEMA_VERSION}-20261125T101731Z`;
    writeFileSync(copy, '');
    await expect(CloudStore.open({ sqlitePath: path })).rejects.toThrow(`upgrade the software or restore the pre-upgrade backup ${copy} (docs/backup.md)`);
  });

  it('the stile-cloud daemon stops with that line and exit 1', async () => {
    const dir = tempDir();
    const site = testSite(['g1']);
    writeFileSync(join(dir, 'control.pem'), site.config.controlKey.privateKeyPem);
    const path = join(dir, 'cloud.db');
    await currentSqlite(path);
    const raw = new Database(path);
    raw.prepare("INSERT INTO kysely_migration (name, timestamp) VALUES ('0097_from_the_future', '2030-01-01T00:00:00.000Z')").run();
    raw.close();
    const config = join(dir, 'cloud.yaml');
    writeFileSync(config, [`mqtt: { url: "mqtt://127.0.0.1:1", clientId: ${uniqueId('v')} }`, 'http: { port: 0 }', 'database: { sqlitePath: cloud.db }', 'sites:', `  - id: ${site.config.id}`, '    controlKey: { id: ck1, privateKeyFile: control.pem }', ''].join('\n'));
    const child = spawn(process.execPath, [BIN, '--config', config], { env: { ...process.env, DATABASE_URL: '', LOG_LEVEL: 'silent' } });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(err.trim().split('\n')).toEqual([`stile-cloud: ${path} schema is version 97, this stile-cloud knows up to ${CLOUD_SCHEMA_VERSION}: it was opened by a newer Stile; upgrade the software or restore a backup taken before the upgrade (docs/backup.md)`]);
  });

  it('PostgreSQL: refused the same way', async () => {
    const db = await testDb('postgres');
    cleanups.push(() => db.cleanup());
    (await CloudStore.open(db.options)).close();
    const c = new pg.Client({ connectionString: db.options.databaseUrl });
    await c.connect();
    await c.query("INSERT INTO kysely_migration (name, timestamp) VALUES ('0095_from_the_future', '2030-01-01T00:00:00.000Z')");
    await c.end();
    await expect(CloudStore.open(db.options)).rejects.toThrow(`the PostgreSQL database schema is version 95, this stile-cloud knows up to ${CLOUD_SCHEMA_VERSION}`);
  });
});

describe('pending migrations on an existing database', () => {
  it('SQLite: a consistent copy cloud.db.pre-migrate-v<from>-<time> is taken first, then the schema goes forward', async () => {
    const dir = tempDir();
    const path = join(dir, 'cloud.db');
    await olderDb({ sqlitePath: path });
    const store = await CloudStore.open({ sqlitePath: path }, () => new Date('2026-11-25T10:17:31Z'));
    await store.close();
    const copy = join(dir, `cloud.db.pre-migrate-v${PREVIOUS_VERSION}-20261125T101731Z`);
    expect(store.preMigrateBackup).toBe(copy);
    expect(readdirSync(dir).filter((n) => n.includes('pre-migrate'))).toEqual([`cloud.db.pre-migrate-v${PREVIOUS_VERSION}-20261125T101731Z`]);
    const old = new Database(copy, { readonly: true });
    expect(old.prepare('SELECT max(name) AS n FROM kysely_migration').get()).toEqual({ n: PREVIOUS });
    expect(old.prepare('SELECT id FROM sites').all()).toEqual([{ id: 'park-a' }]);
    expect(old.pragma('integrity_check', { simple: true })).toBe('ok');
    old.close();
    const now = new Database(path, { readonly: true });
    expect(now.prepare('SELECT max(name) AS n FROM kysely_migration').get()).toEqual({ n: LAST });
    now.close();
    // Up to date: no copy on the next start.
    const again = await CloudStore.open({ sqlitePath: path });
    await again.close();
    expect(again.preMigrateBackup).toBeUndefined();
  });

  it('a new database is created without a copy', async () => {
    const dir = tempDir();
    const store = await CloudStore.open({ sqlitePath: join(dir, 'cloud.db') });
    await store.close();
    expect(readdirSync(dir).filter((n) => n.includes('pre-migrate'))).toEqual([]);
  });

  it('PostgreSQL: refused until the operator says the backup is taken (STILE_MIGRATE_WITHOUT_BACKUP=1), then migrated', async () => {
    const db = await testDb('postgres');
    cleanups.push(() => db.cleanup());
    await olderDb(db.options);
    const c = new pg.Client({ connectionString: db.options.databaseUrl });
    await c.connect();
    await expect(CloudStore.open(db.options)).rejects.toThrow(
      `the PostgreSQL database schema is version ${PREVIOUS_VERSION}, this stile-cloud brings it to ${CLOUD_SCHEMA_VERSION}: back it up first (pg_dump -Fc, docs/backup.md), then start stile-cloud once with STILE_MIGRATE_WITHOUT_BACKUP=1`,
    );
    expect((await c.query('SELECT max(name) AS n FROM kysely_migration')).rows[0]).toEqual({ n: PREVIOUS });
    const store = await CloudStore.open({ ...db.options, migrateWithoutBackup: true });
    await store.close();
    expect((await c.query('SELECT max(name) AS n FROM kysely_migration')).rows[0]).toEqual({ n: LAST });
    await c.end();
  });
});

const hasPgTools = ['pg_dump', 'pg_restore', 'psql'].every((t) => (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, t))));

describe.skipIf(!hasPgTools)('PostgreSQL backup as docs/backup.md says: pg_dump -Fc, pg_restore', () => {
  it('dump, drop, restore, and the cloud opens the restored database with its data', async () => {
    const name = `stile_bk_${process.pid}_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    const url = new URL(PG_URL);
    url.pathname = `/${name}`;
    const dbUrl = url.toString();
    cleanups.push(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    });
    await admin.query(`CREATE DATABASE ${name}`);
    let store = await CloudStore.open({ databaseUrl: dbUrl });
    await store.ensureSite('park-pg', 'ck1');
    await store.db.updateTable('sites').set({ delta_seq: 7 }).where('id', '=', 'park-pg').execute();
    await store.registerGate('park-pg', 'east-1');
    await store.raiseHighSeq(store.db, 'park-pg', 'east-1', 42n);
    await store.close();

    const dump = join(tempDir(), `${name}.dump`);
    await run('pg_dump', ['-Fc', '-f', dump, dbUrl]);
    await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
    await run('pg_restore', ['--no-owner', '--exit-on-error', '-d', dbUrl, dump]);
    // As the procedure says: the whitelist seq moves on past anything the gates saw after the dump.
    await run('psql', [dbUrl, '-v', 'ON_ERROR_STOP=1', '-c', `UPDATE sites SET delta_seq = delta_seq + ${RESTORE_SEQ_JUMP}`]);

    store = await CloudStore.open({ databaseUrl: dbUrl });
    try {
      expect(await store.siteExists('park-pg')).toBe(true);
      expect(await store.gateMarks('park-pg', 'east-1')).toEqual({ highSeq: '42', epoch: 0 });
      expect(store.preMigrateBackup).toBeUndefined();
      expect(Number((await store.db.selectFrom('sites').select('delta_seq').where('id', '=', 'park-pg').executeTakeFirstOrThrow()).delta_seq)).toBe(7 + RESTORE_SEQ_JUMP);
    } finally {
      await store.close();
    }
  }, 60_000);
});
