/**
 * `gatectl doctor` end to end, as a technician runs it: a gate provisioned on a real
 * `stile-cloud` (embedded broker, HTTP API), a real `stile-gate` running with a simulated
 * GA/T 467 reader on a pty, and then each thing that goes wrong in the field — an unplugged
 * reader, a wrong password, an expired key, a device that is not there, a damaged database,
 * a clock far off or turned back, a read-only and a full filesystem — each found with its fix.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createDemoSite, type DemoSite } from '@stile/demo/site';
import { createPty, SimIdReader, type Pty } from '../../../hardware-sim/src/index.js';
import { startHttp } from '../helpers/mqtt.js';
import { GATECTL_BIN, GateProcess, makeFifo, openFifoWriter } from '../helpers/processes.js';
import { CAN_MOUNT, Cloud, doctor, gatectlSync, mountTmpfs, ntpSaysYes, scratch, startTlsBroker, until } from './stack.js';

const SITE = 'demo-park';
const GATE = 'east-1';
const scr = scratch('stile-doctor-');
const dir = scr.dir;
let site: DemoSite;
let cloud: Cloud;
let gate: GateProcess;
let reader: SimIdReader;
let spareReader: SimIdReader;
let silent: Pty;
let env: NodeJS.ProcessEnv;
let base: Record<string, unknown> & { keys: Record<string, unknown>; mqtt: Record<string, unknown> };
let configPath: string;
const mounts: { umount(): void }[] = [];

/** A gate.yaml beside the healthy one, with `change` applied to a copy of its content. */
function variant(name: string, change: (doc: typeof base) => void): string {
  const doc = structuredClone(base);
  change(doc);
  const path = join(dir, 'gate', `${name}.yaml`);
  writeFileSync(path, stringify(doc), { mode: 0o600 });
  return path;
}

/** A copy of the running gate's database (one read transaction), without its heartbeat: a gate whose daemon is stopped. */
function copyDatabase(to: string, change?: (db: Database.Database) => void): void {
  const src = new Database(join(dir, 'gate', 'gate.db'), { readonly: true });
  src.exec(`VACUUM INTO '${to.replace(/'/g, "''")}'`);
  src.close();
  const db = new Database(to);
  db.prepare("DELETE FROM meta WHERE key IN ('daemon_status', 'daemon_stopped_at')").run();
  change?.(db);
  db.close();
}

/** A device's state in the running gate's heartbeat (what `gatectl status` shows). */
function heartbeatState(input: string): string | undefined {
  const db = new Database(join(dir, 'gate', 'gate.db'), { readonly: true });
  const raw = (db.prepare("SELECT value FROM meta WHERE key = 'daemon_status'").get() as { value: string } | undefined)?.value;
  db.close();
  return raw === undefined ? undefined : (JSON.parse(raw) as { inputs: { name: string; state: string }[] }).inputs.find((i) => i.name === input)?.state;
}

beforeAll(async () => {
  site = await createDemoSite(join(dir, 'site'), { tickets: 50, asOfSeq: '0' });
  cloud = await Cloud.start(dir, SITE, [GATE]);
  const login = cloud.gateAdd(SITE, GATE);
  mkdirSync(join(dir, 'gate'));
  writeFileSync(join(dir, 'gate', 'mqtt.pw'), `${login.token}\n`, { mode: 0o600 });
  reader = await SimIdReader.open({ dir, name: 'idcard' });
  spareReader = await SimIdReader.open({ dir, name: 'idcard-spare' });
  silent = await createPty(dir, 'silent');
  const fifo = join(dir, 'scans.fifo');
  makeFifo(fifo);
  const doc = parse(readFileSync(site.configPath, 'utf8')) as typeof base;
  base = {
    ...doc,
    store: { path: join(dir, 'gate', 'gate.db') },
    keys: { ...doc.keys, idHash: { file: join(site.dir, 'idhash.key') }, control: [{ id: 'ck1', publicKey: cloud.controlPublicKey }] },
    inputs: [
      { type: 'lines', name: 'scanner-1', path: fifo },
      { type: 'idcard-ga467', name: 'idcard', path: reader.devicePath, pollMs: 300, timeoutMs: 500 },
    ],
    relay: { type: 'log', pulseMs: 50, gapMs: 0 },
    mqtt: { url: cloud.brokerUrl, protocolVersion: 4, username: login.username, passwordFile: join(dir, 'gate', 'mqtt.pw'), reconnectMinMs: 100, reconnectMaxMs: 500, snapshotUrl: cloud.httpBase },
  };
  configPath = variant('gate', () => undefined);
  gatectlSync(configPath, 'tickets', 'import', site.whitelistPath);
  gate = new GateProcess(configPath);
  await gate.waitFor((l) => l.some((e) => e.event === 'mqtt_connected'), 20_000);
  // One admission, so the journal has an entry to date-check.
  const w = await openFifoWriter(fifo);
  w.write(`ST1:${site.sample.ids[0]!}\n`);
  await gate.waitFor((l) => l.some((e) => e.event === 'admit'));
  env = ntpSaysYes(dir);
  // The heartbeat the doctor reads has the reader ok.
  await until(() => heartbeatState('idcard') === 'ok', 'the reader ok in the heartbeat');
}, 90_000);

afterAll(async () => {
  for (const m of mounts.reverse()) m.umount();
  await gate?.stop();
  await cloud?.stop();
  await reader?.close();
  await spareReader?.close();
  await silent?.close();
  scr.cleanup();
});

describe('gatectl doctor on a healthy gate', () => {
  it('passes every check, one line each, exit code 0', async () => {
    const r = await doctor(configPath, ['--user', 'root'], env);
    expect(r.results.filter((x) => x.status !== 'pass'), r.stdout).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.results.map((x) => x.id)).toEqual(['config', 'device:scanner-1', 'device:idcard', 'device:relay', 'clock', 'disk', 'database', 'wal', 'broker', 'snapshot', 'whitelist', 'keys', 'outbox']);
    expect(r.byId('device:idcard').detail).toContain('stile-gate reports it ok');
    expect(r.byId('clock').detail).toMatch(/NTP synchronised \(timedatectl\); \d+ s (ahead of|behind) the cloud/);
    expect(r.byId('broker').detail).toContain(`connected to ${cloud.brokerUrl} as gate.${SITE}.${GATE}`);
    expect(r.byId('snapshot').detail).toContain('the snapshot verified under keys.control');
    expect(r.byId('whitelist').detail).toContain('the same seq as the cloud');

    const human = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(process.execPath, [GATECTL_BIN, '--config', configPath, 'doctor', '--user', 'root'], { encoding: 'utf8', env }, (err, out) => resolve({ code: err ? Number(err.code) : 0, out }));
    });
    const lines = human.out.trim().split('\n');
    expect(human.code).toBe(0);
    expect(lines).toHaveLength(14);
    expect(lines.slice(0, 13).every((l) => l.startsWith('PASS  '))).toBe(true);
    expect(lines[13]).toBe('13 checks: 13 passed, 0 warnings, 0 failed');
  });

  it('--relay while stile-gate runs: not pulsed, a warning that says to stop it first', async () => {
    const r = await doctor(configPath, ['--user', 'root', '--relay'], env);
    expect(r.byId('relay')).toMatchObject({ status: 'warn', problem: 'relay.daemon_running' });
    expect(r.byId('relay').fix).toContain('systemctl stop stile-gate');
    expect(r.code).toBe(1);
  });

  it('the daemon\'s user is checked: a user that does not exist is a warning, not a pass', async () => {
    const r = await doctor(configPath, ['--user', 'no-such-user-here'], env);
    expect(r.byId('config')).toMatchObject({ status: 'warn', problem: 'config.user_missing' });
    expect(r.code).toBe(1);
  });
});

describe('gatectl doctor finds what is wrong, with the fix', () => {
  it('a reader that stopped answering, as the running stile-gate sees it (it holds the port)', async () => {
    reader.failNext('silence', { times: 40 });
    await until(() => heartbeatState('idcard') === 'degraded', 'the gate to call the reader degraded');
    const r = await doctor(configPath, ['--user', 'root'], env);
    expect(r.byId('device:idcard')).toMatchObject({ status: 'fail', problem: 'device.fault' });
    expect(r.byId('device:idcard').detail).toContain('stile-gate reports it degraded (no answer to 3 requests)');
    expect(r.code).toBe(1);
  });

  it('an unplugged reader: its device node is gone', async () => {
    await reader.unplug();
    try {
      const r = await doctor(configPath, ['--user', 'root'], env);
      expect(r.byId('device:idcard')).toMatchObject({ status: 'fail', problem: 'device.missing', detail: `idcard-ga467 not found at ${reader.devicePath}` });
      expect(r.byId('device:idcard').fix).toContain('plug it in');
    } finally {
      await reader.replug();
    }
  });

  it('a broker login with the wrong password: refused in words, and the cloud refuses the snapshot too', async () => {
    writeFileSync(join(dir, 'gate', 'wrong.pw'), 'not-the-token\n', { mode: 0o600 });
    const r = await doctor(variant('wrong-password', (d) => (d.mqtt.passwordFile = join(dir, 'gate', 'wrong.pw'))), ['--user', 'root'], env);
    expect(r.byId('broker')).toMatchObject({ status: 'fail', problem: 'broker.bad_credentials' });
    expect(r.byId('broker').detail).toContain(`refused the connection as gate.${SITE}.${GATE}: bad user name or password (CONNACK code 4)`);
    expect(r.byId('broker').fix).toContain('gatectl provision <bundle>');
    expect(r.byId('snapshot')).toMatchObject({ status: 'fail', problem: 'snapshot.refused' });
    expect(r.stdout).not.toContain('not-the-token');
    expect(r.code).toBe(1);
  });

  it('an expired offline key', async () => {
    const r = await doctor(variant('expired', (d) => ((d.keys.offline as { notAfter?: string }[])[0]!.notAfter = '2025-01-01')), ['--user', 'root'], env);
    expect(r.byId('keys')).toMatchObject({ status: 'fail', problem: 'keys.expired', detail: 'offline key k1 expired after 2025-01-01' });
    expect(r.code).toBe(1);
  });

  it('a device that is not there', async () => {
    const path = '/dev/serial/by-id/usb-Stile_No_Such_Scanner-if00-port0';
    const r = await doctor(variant('missing', (d) => (d.inputs as unknown[]).push({ type: 'qr-serial', name: 'scanner-2', path })), ['--user', 'root'], env);
    expect(r.byId('device:scanner-2')).toMatchObject({ status: 'fail', problem: 'device.missing', detail: `qr-serial not found at ${path}` });
    expect(r.byId('device:scanner-2').fix).toContain('`gatectl devices` lists what is connected');
    expect(r.code).toBe(1);
  });

  it('with stile-gate stopped, each reader is asked: one answers, one is silent, one is held by another program', async () => {
    const db = join(dir, 'gate', 'stopped.db');
    copyDatabase(db);
    const path = variant('stopped', (d) => {
      d.store = { path: db };
      d.inputs = [
        { type: 'idcard-ga467', name: 'spare', path: spareReader.devicePath, timeoutMs: 500 },
        { type: 'idcard-ga467', name: 'silent', path: silent.devicePath, timeoutMs: 500 },
        // The running gate's own reader: its port is locked.
        { type: 'idcard-ga467', name: 'held', path: reader.devicePath, timeoutMs: 500 },
      ];
    });
    const r = await doctor(path, ['--user', 'root', '--relay'], env);
    expect(r.byId('device:spare')).toMatchObject({ status: 'pass', detail: expect.stringContaining('answered "find card": no_card') });
    expect(r.byId('device:silent')).toMatchObject({ status: 'fail', problem: 'device.silent', detail: expect.stringContaining('no answer to "find card" within 500 ms') });
    expect(r.byId('device:held')).toMatchObject({ status: 'fail', problem: 'device.busy' });
    expect(r.byId('relay')).toMatchObject({ status: 'pass', detail: 'log relay: 1 pulse sent (the turnstile should have clicked)' });
  });

  it('a damaged database: named, with the recovery steps, and left as it was', async () => {
    const db = join(dir, 'gate', 'damaged.db');
    writeFileSync(db, Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(8192, 0x5a)]));
    const before = createHash('sha256').update(readFileSync(db)).digest('hex');
    const r = await doctor(variant('damaged', (d) => (d.store = { path: db })), ['--user', 'root'], env);
    expect(r.byId('database')).toMatchObject({ status: 'fail', problem: 'database.corrupt' });
    expect(r.byId('database').fix).toContain(`mv ${db} ${db}.damaged`);
    expect(r.byId('database').fix).toContain('gatectl restore');
    expect(r.byId('whitelist')).toMatchObject({ status: 'warn', problem: 'doctor.needs_database' });
    expect(r.byId('outbox')).toMatchObject({ status: 'warn', problem: 'doctor.needs_database' });
    expect(createHash('sha256').update(readFileSync(db)).digest('hex')).toBe(before);
    expect(r.code).toBe(1);
  });

  it('a clock 10 minutes off the cloud\'s fails: every timed ticket would be refused', async () => {
    const offCloud = await startHttp((_req, res) => {
      res.sendDate = false;
      res.writeHead(404, { date: new Date(Date.now() - 10 * 60_000).toUTCString() }).end();
    });
    try {
      const r = await doctor(variant('clock-off', (d) => (d.mqtt.snapshotUrl = offCloud.url)), ['--user', 'root'], env);
      expect(r.byId('clock')).toMatchObject({ status: 'fail', problem: 'clock.off' });
      expect(r.byId('clock').detail).toMatch(/(599|600|601) s ahead of the cloud/);
    } finally {
      await offCloud.close();
    }
  });

  it('entries dated after now: the clock went back', async () => {
    const db = join(dir, 'gate', 'jumped.db');
    copyDatabase(db, (d) => d.prepare('UPDATE entries SET at = ?').run(Date.now() + 3 * 3600_000));
    const r = await doctor(variant('jumped', (d) => (d.store = { path: db })), ['--user', 'root'], env);
    expect(r.byId('clock')).toMatchObject({ status: 'warn', problem: 'clock.jump_back', detail: expect.stringContaining('3 h after now') });
  });

  it.skipIf(!CAN_MOUNT)('a read-only filesystem under the store: disk fails with the remedy, the database is still checked', async () => {
    const m = mountTmpfs(join(dir, 'ro'), '4m');
    mounts.push(m);
    copyDatabase(join(m.dir, 'gate.db'));
    m.readOnly();
    const r = await doctor(variant('read-only', (d) => (d.store = { path: join(m.dir, 'gate.db') })), ['--user', 'root'], env);
    expect(r.byId('disk')).toMatchObject({ status: 'fail', problem: 'disk.read_only', detail: `${m.dir} is on a read-only filesystem` });
    expect(r.byId('disk').fix).toContain('dmesg');
    expect(r.byId('database').status).toBe('pass');
    expect(r.code).toBe(1);
  });

  it.skipIf(!CAN_MOUNT)('a full filesystem under the store', async () => {
    const m = mountTmpfs(join(dir, 'full'), '1m');
    mounts.push(m);
    copyDatabase(join(m.dir, 'gate.db'));
    try {
      writeFileSync(join(m.dir, 'filler'), Buffer.alloc(2 * 1024 * 1024));
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    const r = await doctor(variant('full', (d) => (d.store = { path: join(m.dir, 'gate.db') })), ['--user', 'root'], env);
    expect(r.byId('disk')).toMatchObject({ status: 'fail', problem: 'disk.full' });
    expect(r.byId('disk').detail).toMatch(/^0 kB free of 1\.0 MB \(0\.0 %\)/);
    expect(r.byId('disk').fix).toContain('never delete the database');
  });

  it('a broker over TLS: trusted with the right CA file, refused in words with another', async () => {
    const tls = await startTlsBroker(join(dir, 'tls'));
    try {
      const tlsDoc = (caFile: string) => (d: typeof base) => {
        d.mqtt = { ...d.mqtt, url: tls.url, caFile };
      };
      const good = await doctor(variant('tls-good', tlsDoc(tls.caFile)), ['--user', 'root'], env);
      expect(good.byId('broker')).toMatchObject({ status: 'pass', detail: expect.stringContaining(`TLS with CA ${tls.caFile}`) });
      const bad = await doctor(variant('tls-bad', tlsDoc(tls.otherCaFile)), ['--user', 'root'], env);
      expect(bad.byId('broker')).toMatchObject({ status: 'fail', problem: 'broker.tls' });
      expect(bad.byId('broker').fix).toContain(tls.otherCaFile);
    } finally {
      await tls.stop();
    }
  });

  it('a config that does not validate: the problem named, and the clock still checked', async () => {
    const path = variant('invalid', (d) => ((d.relay as { pulseMs: number }).pulseMs = 5));
    const r = await doctor(path, ['--user', 'root'], env);
    expect(r.results.map((x) => x.id)).toEqual(['config', 'clock']);
    expect(r.byId('config')).toMatchObject({ status: 'fail', problem: 'config.invalid', detail: expect.stringContaining('relay.pulseMs') });
    expect(r.code).toBe(1);
  });
});
