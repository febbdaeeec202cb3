import { execFile } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLOUD_BIN, cloudEntries, CloudProcess, feed, freePort, gateCleanup, gateJournal, killGate, makeCloud, makeGate, Mosquitto, scratch, startGate, Teardown, until,
  type CloudSide, type GateSide,
} from '../../cloud-bridge/test/faults/harness.js';
import { GATECTL_BIN } from './helpers/processes.js';

/**
 * A gate whose SD card went bad (docs/backup.md, "A gate's card fails"): real stile-cloud,
 * stile-gate and gatectl processes on a broker of their own. The gate admits while the
 * cloud hears it, then while the broker is gone (those entries exist only in the gate's
 * outbox), is killed, its gate.db is damaged, and `gatectl restore` rebuilds it from the
 * cloud: tickets back, used tickets stay used, the un-synced entries reach the cloud, new
 * admissions go on with seqs the cloud does not take for repeats.
 */
const run = promisify(execFile);
const t = new Teardown();
let broker: Mosquitto;
let cloud: CloudSide;
let cloudProc: CloudProcess;
let gate: GateSide;

beforeAll(async () => {
  const s = scratch();
  t.add(() => s.cleanup());
  broker = new Mosquitto(await freePort(), s.dir);
  t.add(() => broker.kill9());
  await broker.start();
  cloud = await makeCloud(s.dir, broker.url, ['east-1']);
  t.add(() => cloud.db.cleanup());
  gate = await makeGate({ gateId: 'east-1', mqttUrl: broker.url, controlPublicKey: cloud.publicKey, cloud, tickets: 40, snapshotUrl: cloud.httpUrl });
  gateCleanup(t, gate);
  cloudProc = await CloudProcess.start(cloud);
  t.add(() => cloudProc.kill());
}, 60_000);
afterAll(() => t.run());

async function node(bin: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [bin, ...args], { env: { ...process.env, DATABASE_URL: '' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const gatectlRestore = () => node(GATECTL_BIN, '--config', gate.configPath, '--json', 'restore', '--from-cloud', '--yes');

/** Tickets one person uses once, at any hour (the demo site also has night, early-bird and two-day ones). */
function onceAnyTime(): string[] {
  return readFileSync(gate.site.whitelistPath, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{"ticketId"'))
    .map((l) => JSON.parse(l) as { ticketId: string; typeId: string })
    .filter((x) => x.typeId === 'adult' || x.typeId === 'child')
    .map((x) => x.ticketId);
}

const admitted = (g: GateSide, ticketId: string) => g.proc!.logs.some((l) => l.event === 'admit' && l.ticketId === ticketId);
const rejected = (g: GateSide, ticketId: string) => g.proc!.logs.find((l) => l.event === 'reject' && l.ticketId === ticketId)?.reason;

async function admitAll(ids: string[]): Promise<void> {
  await feed(gate, ids.map((id) => `ST1:${id}`));
  await until(() => ids.every((id) => admitted(gate, id)), `${ids.length} admissions`).catch((err: Error) => {
    throw new Error(`${err.message}; decisions: ${JSON.stringify(gate.proc!.logs.filter((l) => l.event === 'admit' || l.event === 'reject').slice(-6))}`);
  });
}

/** Write garbage over `bytes` bytes at `offset` of the file (after folding the WAL in, so the damage is what SQLite reads). */
function damage(path: string, offset: number, bytes: number): void {
  const db = new Database(path);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(bytes, 0xa5), 0, bytes, offset);
  closeSync(fd);
}

function cloudGateEpoch(): number {
  const db = new Database(cloud.db.options.sqlitePath!, { readonly: true });
  try {
    return Number((db.prepare("SELECT epoch FROM gate_state WHERE gate = 'east-1'").get() as { epoch: number }).epoch);
  } finally {
    db.close();
  }
}

describe('gatectl restore: the gate database rebuilt from the cloud', () => {
  it('a damaged but readable gate.db: tickets back, un-synced entries carried over and delivered, usage kept', async () => {
    const ids = onceAnyTime();
    const g = await startGate(gate);
    await g.waitFor((l) => l.some((x) => x.event === 'mqtt_connected'), 20_000);
    await admitAll(ids.slice(0, 5));
    await until(async () => (await cloudEntries(cloud)).length === 5, 'five entries in the cloud');

    // The daemon holds its lock: a restore now is refused and changes nothing.
    const refused = await gatectlRestore();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/stile-gate is running on .*gate\.db.*stop it first/);

    // The broker dies (nothing persisted): these three exist only in the gate's outbox.
    await broker.kill9();
    await g.waitFor((l) => l.some((x) => x.event === 'mqtt_disconnected'), 20_000);
    await admitAll(ids.slice(5, 8));
    const journal = gateJournal(gate);
    expect(journal).toHaveLength(8);
    await killGate(gate);
    await broker.start();

    // The card corrupts the ID-card lookup table's root page: the file opens, integrity_check fails.
    const probe = new Database(gate.dbPath, { readonly: true });
    const root = (probe.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'ticket_idcards'").get() as { rootpage: number }).rootpage;
    const pageSize = probe.pragma('page_size', { simple: true }) as number;
    probe.close();
    damage(gate.dbPath, (root - 1) * pageSize, pageSize);
    const check = new Database(gate.dbPath, { readonly: true });
    expect(check.pragma('integrity_check', { simple: true })).not.toBe('ok');
    check.close();

    const r = await gatectlRestore();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { tickets: number; requeued: number; nextSeq: number; oldReadable: boolean; oldDatabase: string };
    expect(out).toMatchObject({ tickets: 40, requeued: 3, nextSeq: 9, oldReadable: true });
    // The old file is kept beside the new one, never deleted.
    expect(existsSync(out.oldDatabase)).toBe(true);
    expect(readdirSync(dirname(gate.dbPath)).filter((n) => n.startsWith(`${basename(gate.dbPath)}.damaged-`) && /\dZ$/.test(n))).toEqual([basename(out.oldDatabase)]);
    const fresh = new Database(gate.dbPath, { readonly: true });
    expect(fresh.pragma('integrity_check', { simple: true })).toBe('ok');
    expect((fresh.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n).toBe(3);
    fresh.close();

    // The daemon starts on it, delivers the three, refuses what was used, admits the rest.
    const epochBefore = cloudGateEpoch();
    const g2 = await startGate(gate);
    await g2.waitFor((l) => l.some((x) => x.event === 'mqtt_connected'), 20_000);
    await until(async () => (await cloudEntries(cloud)).length === 8, 'the three un-synced entries in the cloud');
    await feed(gate, [`ST1:${ids[1]!}`, `ST1:${ids[6]!}`]);
    await until(() => rejected(gate, ids[1]!) && rejected(gate, ids[6]!), 'two re-scans decided');
    expect(rejected(gate, ids[1]!)).toBe('entries_exhausted'); // synced before the failure: the cloud's snapshot says used
    expect(rejected(gate, ids[6]!)).toBe('entries_exhausted'); // used only in the lost outbox: its usage was carried over
    await admitAll([ids[10]!]);
    const stored = await until(async () => {
      const rows = await cloudEntries(cloud);
      return rows.length === 9 ? rows : null;
    }, 'the new admission in the cloud');
    expect(stored.map((e) => e.seq).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(stored.map((e) => e.event_id))).toEqual(new Set([...journal.map((j) => j.event_id), gateJournal(gate).at(-1)!.event_id]));
    // The new session's status is not taken for a stale one.
    await until(() => cloudGateEpoch() > epochBefore, 'the cloud took the new epoch');
  }, 120_000);

  it('an unreadable gate.db: rebuilt from the cloud alone; seq and epoch go on from the cloud\'s marks', async () => {
    const ids = onceAnyTime();
    await killGate(gate);
    damage(gate.dbPath, 0, 100); // the header: not a database any more
    const epochBefore = cloudGateEpoch();

    const r = await gatectlRestore();
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { tickets: number; requeued: number; nextSeq: number; oldReadable: boolean; epoch: number; unreadable: string[] };
    expect(out).toMatchObject({ tickets: 40, requeued: 0, nextSeq: 10, oldReadable: false, epoch: epochBefore });
    expect(out.unreadable[0]).toMatch(/^database: .*(SQLITE_NOTADB|not a database)/);

    await startGate(gate);
    await gate.proc!.waitFor((l) => l.some((x) => x.event === 'mqtt_connected'), 20_000);
    await feed(gate, [`ST1:${ids[2]!}`]);
    await until(() => rejected(gate, ids[2]!), 're-scan decided');
    expect(rejected(gate, ids[2]!)).toBe('entries_exhausted');
    await admitAll([ids[11]!]);
    const stored = await until(async () => {
      const rows = await cloudEntries(cloud);
      return rows.length === 10 ? rows : null;
    }, 'the admission after the rebuild in the cloud (not taken for a repeat of seq 1)');
    expect(stored.find((e) => e.ticket_id === ids[11])!.seq).toBe(10);
    await until(() => cloudGateEpoch() > epochBefore, 'the cloud took the new epoch');
  }, 120_000);

  it('the cloud restored from an older backup: the gate resnapshots by itself, and gatectl resend brings back the entries the cloud lost', async () => {
    const ids = onceAnyTime();
    const backup = join(dirname(cloud.configPath), 'cloud-backup.db');
    const b = await node(CLOUD_BIN, 'backup', '--config', cloud.configPath, '--out', backup);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    await admitAll([ids[12]!, ids[13]!]);
    const before = await until(async () => {
      const rows = await cloudEntries(cloud);
      return rows.length === 12 ? rows : null;
    }, 'two more entries in the cloud');

    await cloudProc.kill('SIGTERM');
    const r = await node(CLOUD_BIN, 'restore', backup, '--config', cloud.configPath);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const imports = gate.proc!.events('snapshot_imported').length;
    cloudProc = await CloudProcess.start(cloud);
    expect(await cloudEntries(cloud)).toHaveLength(10);
    // The restored cloud's whitelist seq moved on past the gate's: the gate takes a fresh snapshot.
    await gate.proc!.waitFor((l) => l.filter((x) => x.event === 'snapshot_imported').length > imports, 20_000);

    // The daemon holds its lock: resend waits for it to stop.
    expect((await node(GATECTL_BIN, '--config', gate.configPath, 'resend')).code).toBe(1);
    await killGate(gate);
    const q = await node(GATECTL_BIN, '--config', gate.configPath, '--json', 'resend');
    expect(q.code).toBe(0);
    expect(JSON.parse(q.stdout)).toMatchObject({ cloudHighSeq: '10', queued: 2 });
    await startGate(gate);
    const after = await until(async () => {
      const rows = await cloudEntries(cloud);
      return rows.length === 12 ? rows : null;
    }, 'the two lost entries back in the cloud');
    expect(new Set(after.map((e) => e.event_id))).toEqual(new Set(before.map((e) => e.event_id)));
    // Used before the cloud forgot them: still used.
    await feed(gate, [`ST1:${ids[12]!}`]);
    await until(() => rejected(gate, ids[12]!), 're-scan decided');
    expect(rejected(gate, ids[12]!)).toBe('entries_exhausted');
  }, 120_000);
});
