import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { topics } from '@stile/config';
import { backupCommand } from '../src/bin/backup-command.js';
import type { CloudBridge } from '../src/bridge.js';
import { RESTORE_SEQ_JUMP } from '../src/core/db/backup.js';
import type { StaffAlert } from '../src/core/notify/webhook.js';
import { admit, entriesMessage, MQTT_URL, testBridge, testClient, testSite, waitFor, type TestDb, type TestSite } from './helpers.js';

/**
 * Online backups of the cloud's SQLite store and their restore (docs/backup.md): through
 * the real CLI entry (`stile-cloud backup|restore`, in-process) and the bridge's schedule,
 * against a bridge ingesting over the real Mosquitto.
 */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Cloud {
  dir: string;
  dbPath: string;
  configPath: string;
  db: TestDb;
  site: TestSite;
}

/** A cloud.yaml on a SQLite file in a folder of its own. */
function makeCloud(extra: Record<string, unknown> = {}): Cloud {
  const dir = mkdtempSync(join(tmpdir(), 'stile-backup-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const site = testSite(['g1', 'g2']);
  writeFileSync(join(dir, 'control.pem'), site.config.controlKey.privateKeyPem);
  const dbPath = join(dir, 'data', 'cloud.db');
  const configPath = join(dir, 'cloud.yaml');
  writeFileSync(
    configPath,
    stringify({
      mqtt: { url: MQTT_URL },
      database: { sqlitePath: 'data/cloud.db' },
      sites: [{ id: site.config.id, controlKey: { id: site.config.controlKey.id, privateKeyFile: 'control.pem' }, gates: ['g1', 'g2'] }],
      ...extra,
    }),
  );
  return { dir, dbPath, configPath, db: { options: { sqlitePath: dbPath }, cleanup: () => Promise.resolve() }, site };
}

async function start(c: Cloud, extra: Parameters<typeof testBridge>[2] = {}): Promise<CloudBridge> {
  const bridge = await testBridge(c.db, [c.site.config], extra);
  cleanups.push(() => bridge.close());
  return bridge;
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await backupCommand(args, { DATABASE_URL: '' }, (s) => (out += s), (s) => (err += s));
  return { code, out, err };
}

/** Per gate: entries stored, and the gate's high-water mark. In one consistent state they agree (seqs 1…n, one transaction). */
function figures(file: string): { integrity: string; perGate: Record<string, { entries: number; highSeq: number }> } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const perGate: Record<string, { entries: number; highSeq: number }> = {};
    for (const g of ['g1', 'g2']) {
      const entries = (db.prepare('SELECT count(*) AS n FROM entries WHERE gate = ?').get(g) as { n: number }).n;
      const highSeq = Number((db.prepare('SELECT high_seq AS h FROM gate_state WHERE gate = ?').get(g) as { h: string }).h);
      perGate[g] = { entries, highSeq };
    }
    return { integrity: db.pragma('integrity_check', { simple: true }) as string, perGate };
  } finally {
    db.close();
  }
}

/** Two gates sending batches of 25 admissions, one after the other, until stopped. */
function ingestLoad(bridge: CloudBridge, s: string) {
  let running = true;
  let sent = 0;
  const done = (async () => {
    const client = await testClient();
    try {
      const seq = { g1: 0, g2: 0 };
      for (let round = 0; running; round++) {
        const g = round % 2 === 0 ? 'g1' : 'g2';
        const events = Array.from({ length: 25 }, () => admit(++seq[g], `TKT-${g}-${String(seq[g]).padStart(6, '0')}`, { at: new Date().toISOString() }));
        await client.publishAsync(topics.entries(s, g), entriesMessage(s, g, events), { qos: 1 });
        sent += events.length;
      }
    } finally {
      await client.endAsync();
    }
  })();
  return { sent: () => sent, stop: async () => ((running = false), await done) };
}

describe('stile-cloud backup: a consistent copy while ingest writes', () => {
  it('every backup taken during a stream of entries is whole: per gate, the entries stored match its high-water mark', async () => {
    const c = makeCloud();
    const backups = join(c.dir, 'backups');
    const bridge = await start(c, { backup: { dir: backups, everyHours: 1000, keep: 100, firstDelayMs: 3_600_000 } });
    const s = c.site.config.id;
    const load = ingestLoad(bridge, s);
    cleanups.push(() => load.stop());
    await waitFor(() => bridge.metrics.inserted >= 200, 'ingest under way');
    const files: string[] = [];
    for (let i = 0; i < 4; i++) {
      // From another process's point of view (the CLI's own connection, one step) …
      const r = await cli(['backup', '--config', c.configPath, '--out', join(c.dir, `manual-${i}.db`), '--json']);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      files.push((JSON.parse(r.out) as { file: string }).file);
      // … and the schedule's (the bridge's own connection, in steps, ingest committing between them).
      files.push(await bridge.backup!.runNow());
      await waitFor(() => bridge.metrics.inserted >= 200 * (i + 2), 'more entries between backups');
    }
    await load.stop();
    const finalCount = bridge.metrics.inserted;
    for (const f of files) {
      const { integrity, perGate } = figures(f);
      expect(integrity).toBe('ok');
      for (const g of ['g1', 'g2']) expect(perGate[g]!.entries, `${basename(f)} ${g}`).toBe(perGate[g]!.highSeq);
    }
    // Taken while the numbers moved: the copies differ, and all are behind the end.
    const totals = files.map((f) => Object.values(figures(f).perGate).reduce((n, x) => n + x.entries, 0));
    expect(new Set(totals).size).toBeGreaterThan(2);
    expect(Math.max(...totals)).toBeLessThan(finalCount);
    expect(readdirSync(backups).every((n) => /^cloud-\d{8}T\d{6}Z\.db$/.test(n))).toBe(true);
  }, 60_000);

  it('refuses PostgreSQL and bad usage with one line', async () => {
    const c = makeCloud();
    expect((await cli(['backup'])).code).toBe(2);
    expect((await cli(['restore', '--config', c.configPath])).code).toBe(2);
    let err = '';
    const code = await backupCommand(['backup', '--config', c.configPath], { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' }, () => undefined, (s) => (err += s));
    expect(code).toBe(1);
    expect(err).toMatch(/^stile-cloud: this cloud runs on PostgreSQL: back it up with pg_dump/);
  });
});

describe('stile-cloud restore', () => {
  it('make data, back up, lose the database, restore, start the bridge on it: the data is there; the replaced file is kept', async () => {
    const c = makeCloud();
    const s = c.site.config.id;
    let bridge = await start(c);
    const cred = await bridge.registry.issue(s, 'gate', 'g1');
    const client = await testClient();
    cleanups.push(() => client.endAsync());
    await client.publishAsync(topics.entries(s, 'g1'), entriesMessage(s, 'g1', [admit(1, 'TKT-R-000001'), admit(2, 'TKT-R-000002')]), { qos: 1 });
    await waitFor(async () => (await bridge.sync.countEntries(s)) === 2, 'two entries');
    await bridge.publishChanges(s, [{ op: 'upsert', ticket: { ticketId: 'TKT-R-000009', typeId: 'adult', status: 'valid', visitDate: '2026-11-25', persons: 1, entriesUsed: 0 } }]);
    const headBefore = (await bridge.whitelist.headSeq(s))!;

    const backup = await cli(['backup', '--config', c.configPath]);
    expect(backup.code).toBe(0);
    const file = backup.out.split(':')[0]!;
    expect(file).toMatch(/\/data\/backups\/cloud-\d{8}T\d{6}Z\.db$/);

    // Refused while the cloud runs, and nothing moved.
    const busy = await cli(['restore', file, '--config', c.configPath]);
    expect(busy.code).toBe(1);
    expect(busy.err).toMatch(/^stile-cloud: stile-cloud is running on .*cloud\.db .*stop it first/);
    expect(readdirSync(join(c.dir, 'data')).filter((n) => n.includes('pre-restore'))).toEqual([]);

    // After the backup: a third entry, then the database is lost.
    await client.publishAsync(topics.entries(s, 'g1'), entriesMessage(s, 'g1', [admit(3, 'TKT-R-000003')]), { qos: 1 });
    await waitFor(async () => (await bridge.sync.countEntries(s)) === 3, 'third entry');
    await bridge.close();
    cleanups.pop();
    const fd = openSync(c.dbPath, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 0);
    closeSync(fd);

    const r = await cli(['restore', file, '--config', c.configPath, '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const done = JSON.parse(r.out) as { keptAs: string; entries: number; sites: number };
    expect(done).toMatchObject({ entries: 2, sites: 1 });
    expect(basename(done.keptAs)).toMatch(/^cloud\.db\.pre-restore-\d{8}T\d{6}Z$/);
    expect(existsSync(done.keptAs)).toBe(true);
    expect(existsSync(file)).toBe(true); // the backup itself stays as it was

    bridge = await start(c);
    expect(await bridge.sync.countEntries(s)).toBe(2);
    // The whitelist seq moved on past anything issued before, and the gates are told (the retained head).
    expect(await bridge.whitelist.headSeq(s)).toBe(headBefore + RESTORE_SEQ_JUMP);
    const heads: string[] = [];
    client.on('message', (topic, payload) => topic === topics.whitelistHead(s) && payload.length > 0 && heads.push((JSON.parse(payload.toString()) as { seq: string }).seq));
    await client.subscribeAsync(topics.whitelistHead(s), { qos: 1 });
    await waitFor(() => heads.includes(String(headBefore + RESTORE_SEQ_JUMP)), 'the moved-on head');
    cleanups.push(() => client.publishAsync(topics.whitelistHead(s), '', { qos: 1, retain: true }));
    expect(await bridge.registry.verify(cred.username, Buffer.from(cred.token))).toMatchObject({ site: s, kind: 'gate' });
    // The gate's outbox sends seq 3 again (it has no receipt for it): it lands.
    await client.publishAsync(topics.entries(s, 'g1'), entriesMessage(s, 'g1', [admit(3, 'TKT-R-000003')]), { qos: 1 });
    await waitFor(async () => (await bridge.sync.countEntries(s)) === 3, 'the resent entry');
  }, 60_000);

  it('refuses a file that is not a whole Stile cloud database, and leaves the current one alone', async () => {
    const c = makeCloud();
    const bridge = await start(c);
    const good = join(c.dir, 'good.db');
    expect((await cli(['backup', '--config', c.configPath, '--out', good])).code).toBe(0);
    await bridge.close();
    cleanups.pop();
    const bad = (name: string, write: (f: string) => void) => {
      const f = join(c.dir, name);
      write(f);
      return f;
    };
    const cases: [string, RegExp][] = [
      [join(c.dir, 'missing.db'), /no such file/],
      [bad('text.db', (f) => writeFileSync(f, 'hello, this is not a database\n'.repeat(200))), /not a database/],
      [
        bad('damaged.db', (f) => {
          copyFileSync(good, f);
          const db = new Database(f, { readonly: true });
          const root = (db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'entries_ticket_ix'").get() as { rootpage: number }).rootpage;
          const size = db.pragma('page_size', { simple: true }) as number;
          db.close();
          const fd = openSync(f, 'r+');
          writeSync(fd, Buffer.alloc(size, 0xee), 0, size, (root - 1) * size);
          closeSync(fd);
        }),
        /damaged: integrity_check says/,
      ],
      [
        bad('newer.db', (f) => {
          copyFileSync(good, f);
          const db = new Database(f);
          db.prepare("INSERT INTO kysely_migration (name, timestamp) VALUES ('0099_from_the_future', '2030-01-01T00:00:00.000Z')").run();
          db.close();
        }),
        /schema version 99 is newer than this stile-cloud knows/,
      ],
      [
        bad('other.db', (f) => {
          const db = new Database(f);
          db.exec('CREATE TABLE notes (t TEXT)');
          db.close();
        }),
        /not a Stile cloud database/,
      ],
    ];
    for (const [file, reason] of cases) {
      const r = await cli(['restore', file, '--config', c.configPath]);
      expect(r.code, file).toBe(1);
      expect(r.err).toMatch(reason);
      expect(r.err).toMatch(/nothing restored\n$/);
    }
    expect(readdirSync(join(c.dir, 'data')).filter((n) => n.includes('pre-restore'))).toEqual([]);
  }, 60_000);
});

describe('scheduled backups (cloud.yaml backup: { dir, everyHours, keep })', () => {
  it('writes cloud-<UTC time>.db on schedule and keeps the newest `keep`', async () => {
    const c = makeCloud();
    const dir = join(c.dir, 'backups');
    // 2.16 s apart: each in a second of its own.
    const bridge = await start(c, { backup: { dir, everyHours: 0.0006, keep: 2, firstDelayMs: 0 } });
    await waitFor(() => bridge.metrics.backups.done >= 3, 'three scheduled backups', 30_000);
    const names = readdirSync(dir);
    expect(names).toHaveLength(2);
    for (const n of names) expect(n).toMatch(/^cloud-\d{8}T\d{6}Z\.db$/);
    expect(names.map((n) => figures(join(dir, n)).integrity)).toEqual(['ok', 'ok']);
  }, 60_000);

  it('a failed backup is logged, counted and raised as a staff alert once per run of failures', async () => {
    const c = makeCloud();
    const notAFolder = join(c.dir, 'backups');
    writeFileSync(notAFolder, 'a file where the backup folder should be');
    const alerts: StaffAlert[] = [];
    const bridge = await start(c, { backup: { dir: notAFolder, everyHours: 1000, keep: 2, firstDelayMs: 3_600_000 }, notifier: { notify: (a) => Promise.resolve(void alerts.push(a)) } });
    await expect(bridge.backup!.runNow()).rejects.toThrow(/EEXIST|ENOTDIR/);
    await expect(bridge.backup!.runNow()).rejects.toThrow();
    expect(bridge.metrics.backups.failed).toBe(2);
    expect(alerts.filter((a) => a.kind === 'backup_failed')).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ site: c.site.config.id, kind: 'backup_failed' });
    expect(alerts[0]!.message.en).toContain(notAFolder);
  }, 30_000);
});
