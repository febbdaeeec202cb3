import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { isStileError } from '@stile/config';
import { openDatabase } from '../src/store/open.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/store/schema.js';
import { GATECTL_BIN, GATE_BIN } from './helpers/processes.js';
import { makeSite } from './helpers/site.js';

/**
 * gate.db migrations are forward only (docs/backup.md): an existing database is copied
 * before its schema moves; one a newer gate-agent migrated is refused, untouched, with one
 * line naming what to do — by the store, the daemon and gatectl alike.
 */
const run = promisify(execFile);
const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stile-gate-versions-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

/** A gate.db as the release with schema `version` left it, with one admission in it. */
function olderDb(path: string, version: number): void {
  const db = new Database(path);
  for (let v = 0; v < version; v++) db.exec(MIGRATIONS[v]!);
  db.pragma(`user_version = ${version}`);
  db.prepare("INSERT INTO tickets (ticket_id, type_id, status, visit_date, persons) VALUES ('T1', 'adult', 'valid', '2026-11-25', 1)").run();
  db.prepare("INSERT INTO entries (event_id, epoch, kind, ticket_id, type_id, credential, persons, at) VALUES ('e1', 1, 'admit', 'T1', 'adult', 'qr', 1, 0)").run();
  db.close();
}

function newerDb(path: string, version: number): void {
  openDatabase(path).close();
  const db = new Database(path);
  db.pragma(`user_version = ${version}`);
  db.close();
}

describe('gate.db schema versions', () => {
  it('an existing database is copied to gate.db.pre-migrate-v<from>-<time> before it is migrated; a new one is not', () => {
    const dir = tempDir();
    const path = join(dir, 'gate.db');
    olderDb(path, 3);
    const migrated: unknown[] = [];
    openDatabase(path, { onMigrated: (r) => migrated.push(r) }).close();
    const copies = readdirSync(dir).filter((n) => n.startsWith('gate.db.pre-migrate-'));
    expect(copies).toHaveLength(1);
    expect(copies[0]).toMatch(/^gate\.db\.pre-migrate-v3-\d{8}T\d{6}Z$/);
    expect(migrated).toEqual([{ from: 3, to: SCHEMA_VERSION, backup: join(dir, copies[0]!) }]);
    const old = new Database(join(dir, copies[0]!), { readonly: true });
    expect(old.pragma('user_version', { simple: true })).toBe(3);
    expect(old.prepare('SELECT event_id FROM entries').all()).toEqual([{ event_id: 'e1' }]);
    old.close();
    const now = new Database(path, { readonly: true });
    expect(now.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(now.prepare('SELECT event_id FROM entries').all()).toEqual([{ event_id: 'e1' }]);
    now.close();

    const fresh = join(dir, 'new.db');
    openDatabase(fresh).close();
    openDatabase(fresh).close();
    expect(readdirSync(dir).filter((n) => n.startsWith('new.db.pre-migrate-'))).toEqual([]);
  });

  it('a database from a newer gate-agent is refused with one line and left as it was', () => {
    const dir = tempDir();
    const path = join(dir, 'gate.db');
    newerDb(path, SCHEMA_VERSION + 3);
    const before = sha(path);
    let err: unknown;
    try {
      openDatabase(path);
    } catch (e) {
      err = e;
    }
    expect(isStileError(err, 'STORE_TOO_NEW')).toBe(true);
    expect((err as Error).message).toBe(
      `${path} schema is version ${SCHEMA_VERSION + 3}, this stile-gate knows up to ${SCHEMA_VERSION}: it was opened by a newer Stile; upgrade the software or restore a backup taken before the upgrade (docs/backup.md)`,
    );
    expect(sha(path)).toBe(before);
    // The copy the newer release took when it migrated from this version is named.
    const copy = `${path}.pre-migrate-v${SCHEMA_VERSION}-20261125T101731Z`;
    writeFileSync(copy, '');
    expect(() => openDatabase(path)).toThrow(`restore the pre-upgrade backup ${copy} (docs/backup.md)`);
  });

  it('stile-gate and gatectl stop with that line and exit 1', async () => {
    const site = await makeSite(8);
    cleanups.push(() => site.cleanup());
    newerDb(site.dbPath, 9);
    const line = `${site.dbPath} schema is version 9, this stile-gate knows up to ${SCHEMA_VERSION}: it was opened by a newer Stile; upgrade the software or restore a backup taken before the upgrade (docs/backup.md)`;
    const daemon = await run(process.execPath, [GATE_BIN, '--config', site.configPath]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(daemon.code).toBe(1);
    expect(daemon.stderr.trim().split('\n')).toEqual([`stile-gate: STORE_TOO_NEW: ${line}`]);
    const ctl = await run(process.execPath, [GATECTL_BIN, '--config', site.configPath, 'status']).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(ctl.code).toBe(1);
    expect(ctl.stderr.trim()).toBe(`gatectl: ${line}`);
  });
});
