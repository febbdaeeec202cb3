/**
 * The kiosk's SQLite files after a card failure (docs/backup.md): versions recorded and a
 * newer file refused untouched; `kioskctl restore` (the built CLI) rebuilding a damaged or
 * missing kiosk.db / outbox with every readable row carried over, the old files kept, and
 * the outbox's record counter never going back (the cloud stores each (kiosk, seq) once).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, isStileError } from '@stile/config';
import { StoreLock } from '@stile/service';
import { KioskJournal } from '../src/store/journal.js';
import { KioskOutbox } from '../src/sync/outbox.js';

const KIOSKCTL = fileURLToPath(new URL('../bin/kioskctl.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'stile-kiosk-restore-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const journalPath = join(dir, 'data', 'journal.db');
const outboxPath = join(dir, 'data', 'outbox.db');
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

function writeConfig(): string {
  const control = generateSigningKeyPair('ck1');
  const offline = generateSigningKeyPair('k1-off');
  writeFileSync(join(dir, 'kiosk.key'), 'k-provider\n');
  writeFileSync(join(dir, 'idhash.key'), 'an-id-hash-key-of-at-least-32-characters!\n');
  writeFileSync(join(dir, 'offline.pem'), offline.privateKeyPem);
  const file = join(dir, 'kiosk.yaml');
  writeFileSync(
    file,
    `version: 1
site: { id: demo-park }
kiosk: { id: k1 }
cloud: { url: http://127.0.0.1:8080, apiKeyFile: kiosk.key, contactPhone: "13800138000" }
devices: { printer: { path: /dev/ttyUSB1 } }
sale: { methods: [qr] }
journal: { path: data/journal.db }
sync:
  url: mqtt://127.0.0.1:1883
  outbox: data/outbox.db
  offlineKey: { id: k1-off, file: offline.pem }
  control: [{ id: ck1, publicKey: ${control.publicKey} }]
  idHashKeyFile: idhash.key
`,
  );
  return file;
}

function kioskctl(config: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [KIOSKCTL, '--config', config, ...args], { encoding: 'utf8', env: { ...process.env, STILE_KIOSK_CONFIG: '' } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
    );
  });
}

const printed = (n: number) => ({ kind: 'print' as const, saleId: `k1-s${n}`, at: new Date().toISOString(), outcome: 'printed' as const, reprint: true });

/** Garbage over one page of `table` (its root page), after folding the WAL in: the file opens, that table does not read. */
function damageTable(path: string, table: string): void {
  const db = new Database(path);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const root = (db.prepare('SELECT rootpage FROM sqlite_master WHERE name = ?').get(table) as { rootpage: number }).rootpage;
  const size = db.pragma('page_size', { simple: true }) as number;
  db.close();
  overwrite(path, (root - 1) * size, size);
}

function overwrite(path: string, offset: number, bytes: number): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(bytes, 0xc3), 0, bytes, offset);
  closeSync(fd);
}

describe('kiosk files: schema versions', () => {
  it('a new file gets version 1; an unversioned older one is copied, then adopted; a newer one is refused untouched', () => {
    const fresh = join(dir, 'v-fresh.db');
    new KioskJournal(fresh).close();
    expect(new Database(fresh).pragma('user_version', { simple: true })).toBe(1);
    expect(readdirSync(dir).filter((n) => n.startsWith('v-fresh.db.pre-migrate-'))).toEqual([]);

    // A journal from before files had versions: its tables, a row, user_version 0.
    const older = join(dir, 'v-older.db');
    const raw = new Database(older);
    raw.exec('CREATE TABLE journal (seq INTEGER PRIMARY KEY, sale_id TEXT NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL, entry TEXT NOT NULL)');
    raw.prepare("INSERT INTO journal (sale_id, kind, at, entry) VALUES ('k1-s1', 'started', 1, '{}')").run();
    raw.close();
    const j = new KioskJournal(older);
    expect(j.entryCount).toBe(1);
    expect(j.migratedFrom).toMatch(/v-older\.db\.pre-migrate-v0-\d{8}T\d{6}Z$/);
    j.close();
    expect(new Database(j.migratedFrom!, { readonly: true }).prepare('SELECT count(*) AS n FROM journal').get()).toEqual({ n: 1 });

    const newer = join(dir, 'v-newer.db');
    new KioskOutbox(newer).close();
    const bump = new Database(newer);
    bump.pragma('user_version = 4');
    bump.close();
    const before = sha(newer);
    let err: unknown;
    try {
      new KioskOutbox(newer);
    } catch (e) {
      err = e;
    }
    expect(isStileError(err, 'STORE_TOO_NEW')).toBe(true);
    expect((err as Error).message).toBe(`${newer} schema is version 4, this stile-kiosk knows up to 1: it was opened by a newer Stile; upgrade the software or restore a backup taken before the upgrade (docs/backup.md)`);
    expect(sha(newer)).toBe(before);
  });
});

describe('kioskctl restore', () => {
  const config = writeConfig();

  it('nothing damaged: nothing done; refused while stile-kiosk holds the lock', async () => {
    const journal = new KioskJournal(journalPath);
    journal.audit({ at: 1, staff: 'li', action: 'refill', saleId: null, detail: { coins: 100 } });
    journal.setHopperCoins(100);
    journal.close();
    const outbox = new KioskOutbox(outboxPath);
    for (let n = 1; n <= 5; n++) outbox.enqueue(printed(n));
    outbox.deleteOutbox(1, 3); // the cloud's receipt named 1…3
    outbox.addOfflineSold('2026-11-25', 4);
    outbox.close();

    const none = await kioskctl(config, 'restore', '--yes');
    expect(none.code).toBe(0);
    expect(none.stdout).toBe(`nothing to restore: ${journalPath} and ${outboxPath} pass integrity_check\n`);

    const daemon = StoreLock.share(journalPath)!;
    damageTable(outboxPath, 'kiosk_meta');
    const busy = await kioskctl(config, 'restore', '--yes');
    daemon.release();
    expect(busy.code).toBe(1);
    expect(busy.stderr).toBe(`kioskctl: stile-kiosk is running on ${journalPath} (it holds ${journalPath}.lock): stop it first (systemctl stop stile-kiosk), then run kioskctl restore again\n`);
  });

  it('a damaged outbox: the un-sent records and the offline count are carried over, the counter goes on from the old one', async () => {
    const r = await kioskctl(config, '--json', 'restore', '--yes');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { rebuilt: { file: string; keptAs: string; nextSeq: number; counterFrom: string; unreadable: string[] }[] };
    expect(out.rebuilt).toHaveLength(1);
    expect(out.rebuilt[0]).toMatchObject({ file: outboxPath, nextSeq: 6, counterFrom: 'old' });
    expect(out.rebuilt[0]!.unreadable.join()).toMatch(/^kiosk_meta: /);
    expect(existsSync(out.rebuilt[0]!.keptAs)).toBe(true);
    const outbox = new KioskOutbox(outboxPath);
    expect(outbox.outboxBatch(0, 10).map((x) => x.seq)).toEqual([4, 5]);
    expect(outbox.offlineSold('2026-11-25')).toBe(4);
    expect(outbox.enqueue(printed(6)).seq).toBe('6');
    outbox.close();
  });

  it('an unreadable outbox (or a new card): numbered from the clock, above anything sent before; a lost kiosk.db starts empty', async () => {
    overwrite(outboxPath, 0, 100);
    rmSync(journalPath);
    const startedAt = Date.now();
    const r = await kioskctl(config, '--json', 'restore', '--yes');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { rebuilt: { file: string; keptAs?: string; nextSeq?: number; counterFrom?: string }[] };
    const byFile = new Map(out.rebuilt.map((x) => [x.file, x]));
    expect(byFile.get(journalPath)).toMatchObject({ rows: 0 });
    expect(byFile.get(journalPath)!.keptAs).toBeUndefined();
    expect(byFile.get(outboxPath)!.counterFrom).toBe('clock');
    expect(byFile.get(outboxPath)!.nextSeq).toBeGreaterThan(startedAt);
    const outbox = new KioskOutbox(outboxPath);
    expect(Number(outbox.enqueue(printed(7)).seq)).toBe(byFile.get(outboxPath)!.nextSeq);
    outbox.close();
    const journal = new KioskJournal(journalPath);
    expect(journal.entryCount).toBe(0);
    journal.close();
  });
});
