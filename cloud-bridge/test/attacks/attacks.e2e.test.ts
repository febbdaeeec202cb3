/**
 * The attacks of issue #12, each performed from outside against real processes: a
 * `stile-cloud` with its embedded broker (the `npm start` / single-park set-up) and real
 * `stile-gate`s, attacked over the LAN interfaces only (HTTP, MQTT, the files a stolen gate
 * leaves). STILE_ATTACK_ROOT runs them against another checkout (an older build) to watch
 * them fail there. The Mosquitto ACL is attacked in ../acl.e2e.test.ts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  AnnounceMessageSchema,
  CapacityMessageSchema,
  generateSigningKeyPair,
  issueOfflineTicket,
  loadSigningKey,
  loadTrustedKeys,
  signControl,
  topics,
  verifySiteDocument,
  type SigningKey,
} from '@stile/config';
import { createDemoSite, type DemoSite } from '@stile/demo/site';
import { freePort, scratch, SITE, until } from '../faults/harness.js';

const ROOT = resolve(process.env.STILE_ATTACK_ROOT ?? fileURLToPath(new URL('../../../', import.meta.url)));
const CLOUD_BIN = join(ROOT, 'cloud-bridge/bin/stile-cloud.js');
const GATE_BIN = join(ROOT, 'gate-agent/bin/stile-gate.js');
const GATECTL_BIN = join(ROOT, 'gate-agent/bin/gatectl.js');
/** An older build's config schema knows none of the new keys (metrics token, offline keys). */
const LEGACY = process.env.STILE_ATTACK_LEGACY === '1';
/** Resolves when the broker drops the client (mqtt.js is not a Node EventEmitter to `once`). */
const dropped = (c: MqttClient) => new Promise<void>((r) => c.once('close', () => r()));
const today = () => new Date().toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' });

interface Log {
  event?: string;
  reason?: string;
  ticketId?: string | null;
  [k: string]: unknown;
}

/** A child process whose JSON log lines are collected. */
class Proc {
  readonly proc: ChildProcess;
  out = '';
  err = '';
  constructor(bin: string, args: string[]) {
    this.proc = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info', DATABASE_URL: '' } });
    this.proc.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.proc.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
  }
  logs(): Log[] {
    return this.out.split('\n').flatMap((l) => {
      try {
        return [JSON.parse(l) as Log];
      } catch {
        return [];
      }
    });
  }
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = once(this.proc, 'exit');
    this.proc.kill('SIGTERM');
    await exited;
  }
}

function cloudCli(configPath: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLOUD_BIN, ...args, '--config', configPath], { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('attacks on a real stile-cloud (embedded broker) and real stile-gates', () => {
  const scr = scratch();
  const dir = scr.dir;
  let site: DemoSite;
  let offlineKey: SigningKey;
  let control: ReturnType<typeof generateSigningKeyPair>;
  let cloud: Proc;
  let configPath: string;
  let brokerUrl: string;
  let httpBase: string;
  const metricsToken = randomBytes(16).toString('hex');
  const gates: Record<string, { proc: Proc; scan(text: string): void; dbPath: string; login: { username: string; token: string } }> = {};
  const clients: MqttClient[] = [];

  /** A gate provisioned as a technician would: its credential from `stile-cloud gate add`, the site's whitelist imported. */
  async function startGate(id: string): Promise<void> {
    const add = cloudCli(configPath, ['gate', 'add', SITE, id, '--json']);
    // An older build (STILE_ATTACK_ROOT) has no registry: its gates connect with made-up logins, which it accepts.
    if (!process.env.STILE_ATTACK_ROOT) expect(add.status, add.stderr).toBe(0);
    const login = add.status === 0 ? (JSON.parse(add.stdout) as { username: string; token: string }) : { username: `gate.${SITE}.${id}`, token: 'no-registry' };
    const gateDir = join(dir, id);
    const doc = parse(readFileSync(site.configPath, 'utf8')) as Record<string, unknown> & { keys: Record<string, unknown> };
    spawnSync('mkdir', ['-p', gateDir]);
    writeFileSync(join(gateDir, 'mqtt.pw'), `${login.token}\n`, { mode: 0o600 });
    doc.gate = { id, zone: 'main' };
    doc.store = { path: join(gateDir, 'gate.db') };
    doc.keys = { ...doc.keys, idHash: { file: join(site.dir, 'idhash.key') }, control: [{ id: 'ck1', publicKey: control.publicKey }] };
    doc.inputs = [{ type: 'lines', name: 'scanner-1', path: '-', simulateIdCards: true }];
    doc.relay = { type: 'log', pulseMs: 50, gapMs: 0 };
    doc.mqtt = { url: brokerUrl, protocolVersion: 4, username: login.username, passwordFile: join(gateDir, 'mqtt.pw'), reconnectMinMs: 100, reconnectMaxMs: 500, snapshotUrl: httpBase };
    const gateYaml = join(gateDir, 'gate.yaml');
    writeFileSync(gateYaml, stringify(doc), { mode: 0o600 });
    const imp = spawnSync(process.execPath, [GATECTL_BIN, '--config', gateYaml, 'tickets', 'import', site.whitelistPath], { encoding: 'utf8' });
    expect(imp.status, imp.stderr).toBe(0);
    const proc = new Proc(GATE_BIN, ['--config', gateYaml]);
    await until(() => proc.logs().some((l) => l.event === 'mqtt_connected'), `${id} connected to the cloud`, 20_000);
    gates[id] = { proc, scan: (text) => proc.proc.stdin!.write(`${text}\n`), dbPath: join(gateDir, 'gate.db'), login };
  }

  async function client(opts: Record<string, unknown>): Promise<MqttClient> {
    const c = await connectAsync(brokerUrl, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    clients.push(c);
    return c;
  }

  const cloudDb = () => new Database(join(dir, 'cloud.db'), { readonly: true });

  beforeAll(async () => {
    site = await createDemoSite(join(dir, 'site'), { tickets: 50, asOfSeq: '0' });
    offlineKey = loadSigningKey(site.keyId, readFileSync(site.signingKeyPath, 'utf8'));
    control = generateSigningKeyPair('ck1');
    writeFileSync(join(dir, 'control.pem'), control.privateKeyPem, { mode: 0o600 });
    const offline = (parse(readFileSync(site.configPath, 'utf8')) as { keys: { offline: unknown[] } }).keys.offline;
    const brokerPort = await freePort();
    const httpPort = await freePort();
    brokerUrl = `mqtt://127.0.0.1:${brokerPort}`;
    httpBase = `http://127.0.0.1:${httpPort}`;
    configPath = join(dir, 'cloud.yaml');
    writeFileSync(
      configPath,
      stringify({
        broker: { port: brokerPort },
        mqtt: { url: brokerUrl, sharedGroup: 'attacks' },
        http: { port: httpPort, ...(LEGACY ? {} : { metricsTokenSha256: createHash('sha256').update(metricsToken).digest('hex') }) },
        database: { sqlitePath: join(dir, 'cloud.db') },
        sites: [
          {
            id: SITE,
            controlKey: { id: 'ck1', privateKeyFile: join(dir, 'control.pem') },
            gates: ['east-1', 'west-1'],
            ...(LEGACY ? {} : { offlineKeys: offline }),
            sales: { catalogueFile: join(ROOT, 'docs/examples/catalogue.yaml'), capacity: { daily: 10, yellow: 0.7, orange: 0.85 }, idHashKeyFile: join(site.dir, 'idhash.key') },
          },
        ],
      }),
    );
    cloud = new Proc(CLOUD_BIN, ['--config', configPath]);
    await until(() => {
      if (cloud.proc.exitCode !== null) throw new Error(`stile-cloud exited ${cloud.proc.exitCode}: ${cloud.err}`);
      return cloud.out.includes('cloud-bridge started');
    }, 'stile-cloud started');
    await startGate('east-1');
    await startGate('west-1');
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    for (const g of Object.values(gates)) await g.proc.stop();
    await cloud?.stop();
    scr.cleanup();
  });

  it('1. the whitelist and /metrics are not for anyone on the network', async () => {
    for (const path of [`/v1/sites/${SITE}/whitelist/snapshot`, `/v1/sites/${SITE}/whitelist/changes?since=0`, `/v1/sites/${SITE}/ticket-types`, '/metrics', '/metrics.json']) {
      const res = await fetch(`${httpBase}${path}`);
      expect(res.status, path).toBe(401);
      expect(await res.text()).not.toContain(site.sample.ids[0]!);
    }
    // The gate's own credential opens its site's snapshot, and the snapshot is signed.
    const auth = `Basic ${Buffer.from(`${gates['east-1']!.login.username}:${gates['east-1']!.login.token}`).toString('base64')}`;
    const snap = await (await fetch(`${httpBase}/v1/sites/${SITE}/whitelist/snapshot`, { headers: { authorization: auth } })).text();
    expect(snap.trim().split('\n').at(-1)).toContain('"signature"');
    expect((await fetch(`${httpBase}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).status).toBe(200);
  });

  it('2. an anonymous client gets nothing from the broker: no publishing, no `subscribe #`', async () => {
    await expect(connectAsync(brokerUrl, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 })).rejects.toThrow(/not authorized|Not authorized|Connection refused/i);
    await expect(connectAsync(brokerUrl, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, username: gates['east-1']!.login.username, password: 'guess' })).rejects.toThrow(/not authorized|Connection refused/i);
  });

  it('2. a gate\'s credential cannot forge another gate\'s entries, nor burn or fill the park with tickets the cloud never issued', async () => {
    const east = gates['east-1']!.login;
    // As east-1 (its stolen credential), on west-1's topic: the broker cuts it off; nothing is stored.
    const thief = await client({ clientId: `stile-${SITE}-east-1.thief`, username: east.username, password: east.token });
    const closed = dropped(thief);
    const fake = (seq: number, ticketId: string) => ({ eventId: `forged-${seq}-${randomBytes(4).toString('hex')}`, seq: String(seq), epoch: 1, kind: 'admit', ticketId, typeId: 'adult', credential: 'qr', persons: 1, at: new Date().toISOString() });
    thief.publish(topics.entries(SITE, 'west-1'), JSON.stringify({ v: 1, site: SITE, gate: 'west-1', events: [fake(900001, 'FORGEDTICKET000000000001')] }), { qos: 1 });
    await closed;
    // On its own topic: admissions of tickets the cloud never sold are stored as anomalies,
    // send no used-elsewhere delta, and do not move the park's load.
    const thief2 = await client({ clientId: `stile-${SITE}-east-1.again`, username: east.username, password: east.token });
    const deltasBefore = gates['west-1']!.proc.logs().filter((l) => l.event === 'delta_applied').length;
    await thief2.publishAsync(topics.entries(SITE, 'east-1'), JSON.stringify({ v: 1, site: SITE, gate: 'east-1', events: [1, 2, 3].map((i) => fake(900000 + i, `FORGEDTICKET00000000000${i}`)) }), { qos: 1 });
    await until(() => {
      const db = cloudDb();
      try {
        return (db.prepare("SELECT count(*) AS n FROM entries WHERE anomaly = 'unknown_ticket'").get() as { n: number }).n === 3;
      } finally {
        db.close();
      }
    }, 'the forged entries stored as anomalies');
    await new Promise((r) => setTimeout(r, 500));
    expect(gates['west-1']!.proc.logs().filter((l) => l.event === 'delta_applied').length).toBe(deltasBefore);
    const db = cloudDb();
    try {
      expect((db.prepare("SELECT count(*) AS n FROM entries WHERE gate = 'west-1' AND ticket_id LIKE 'FORGED%'").get() as { n: number }).n).toBe(0);
      expect((db.prepare("SELECT count(*) AS n FROM tickets WHERE ticket_id LIKE 'FORGED%'").get() as { n: number }).n).toBe(0);
      expect((db.prepare("SELECT count(*) AS n FROM alerts WHERE kind = 'gate_anomaly'").get() as { n: number }).n).toBeGreaterThanOrEqual(1);
    } finally {
      db.close();
    }
    expect(cloud.out).toContain('"alert":"gate_anomaly"');
  });

  it('3. a single-entry ST2 code admits once in the whole park, not once per gate', async () => {
    const heard = gates['west-1']!.proc.logs().filter((l) => l.event === 'delta_applied').length;
    const code = issueOfflineTicket(offlineKey, { site: SITE, ticketId: `ST2ONCE${randomBytes(6).toString('hex').toUpperCase()}`, typeId: 'adult', visitDate: today(), slotStart: null, slotEnd: null, persons: 1, issuedAt: Math.floor(Date.now() / 1000) });
    gates['east-1']!.scan(code);
    await until(() => gates['east-1']!.proc.logs().some((l) => l.event === 'admit' && l.credential === 'signed-qr'), 'east-1 admits the ST2 code');
    // The cloud verifies the carried code, learns the ticket and tells every gate it is used.
    await until(() => gates['west-1']!.proc.logs().filter((l) => l.event === 'delta_applied').length > heard, 'west-1 hears it is used', 20_000);
    gates['west-1']!.scan(code);
    await until(() => gates['west-1']!.proc.logs().some((l) => l.event === 'reject' && l.credential === 'signed-qr'), 'west-1 decides');
    const rejected = gates['west-1']!.proc.logs().find((l) => l.event === 'reject' && l.credential === 'signed-qr')!;
    expect(rejected.reason).toBe('entries_exhausted');
    expect(gates['west-1']!.proc.logs().some((l) => l.event === 'admit' && l.credential === 'signed-qr')).toBe(false);
  });

  it('6./8. receipts, capacity and announcements cannot be forged by a gate or anyone else', async () => {
    const east = gates['east-1']!.login;
    for (const topic of [topics.entriesAck(SITE, 'east-1'), topics.announce(SITE), topics.capacity(SITE)]) {
      const c = await client({ clientId: `stile-${SITE}-east-1.x${randomBytes(3).toString('hex')}`, username: east.username, password: east.token });
      const closed = dropped(c);
      c.publish(topic, JSON.stringify({ v: 1, from: '1', to: '99999999' }), { qos: 1, retain: true });
      await closed;
    }
    // A screen sees the cloud's own retained capacity, signed by the site's control key.
    const add = cloudCli(configPath, ['screen', 'add', SITE, 'entrance', '--json']);
    expect(add.status, add.stderr).toBe(0);
    const login = JSON.parse(add.stdout) as { username: string; token: string };
    const screen = await client({ clientId: `stile-screen-${SITE}-entrance`, username: login.username, password: login.token });
    const got: { topic: string; raw: unknown }[] = [];
    screen.on('message', (topic, p) => got.push({ topic, raw: JSON.parse(p.toString()) }));
    await screen.subscribeAsync({ [topics.capacity(SITE)]: { qos: 1 }, [topics.announce(SITE)]: { qos: 1 } });
    await until(() => got.some((g) => g.topic === topics.capacity(SITE)), 'the retained capacity');
    const trusted = loadTrustedKeys([{ id: 'ck1', publicKey: control.publicKey }]);
    for (const g of got) {
      const v = g.topic === topics.capacity(SITE) ? verifySiteDocument(g.raw, CapacityMessageSchema, SITE, trusted, today()) : verifySiteDocument(g.raw, AnnounceMessageSchema, SITE, trusted, today());
      expect(v.ok).toBe(true);
    }
    // And what the screen refuses: a forged "evacuate" signed by some other key.
    const forged = signControl({ v: 1 as const, site: SITE, level: 'red' as const, text: { zh: '火警，请从北门疏散', en: 'Fire, evacuate by the north gate' }, at: new Date().toISOString() }, loadSigningKey('ck1', generateSigningKeyPair('ck1').privateKeyPem));
    expect(verifySiteDocument(forged, AnnounceMessageSchema, SITE, trusted, today())).toMatchObject({ ok: false, reason: 'bad_signature' });
    // The gate still holds everything the cloud has not receipted: nothing emptied its outbox.
    const gdb = new Database(gates['east-1']!.dbPath, { readonly: true });
    try {
      const outbox = (gdb.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
      const entries = (gdb.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
      const cdb = cloudDb();
      const stored = (cdb.prepare("SELECT count(*) AS n FROM entries WHERE gate = 'east-1' AND ticket_id NOT LIKE 'FORGED%'").get() as { n: number }).n;
      cdb.close();
      expect(outbox + stored).toBeGreaterThanOrEqual(entries);
    } finally {
      gdb.close();
    }
  });

  it('7. a status with an absurd epoch cannot pin a gate', async () => {
    const east = gates['east-1']!.login;
    const c = await client({ clientId: `stile-${SITE}-east-1.pin`, username: east.username, password: east.token });
    await c.publishAsync(topics.status(SITE, 'east-1'), JSON.stringify({ v: 1, state: 'online', epoch: 2 ** 53 - 1, at: new Date().toISOString() }), { qos: 1, retain: true });
    await c.publishAsync(topics.status(SITE, 'east-1'), JSON.stringify({ v: 1, state: 'online', epoch: 2 ** 31 - 1, at: new Date().toISOString() }), { qos: 1, retain: true });
    await new Promise((r) => setTimeout(r, 500));
    const db = cloudDb();
    try {
      expect(Number((db.prepare("SELECT epoch FROM gate_state WHERE gate = 'east-1'").get() as { epoch: number }).epoch)).toBeLessThan(1000);
    } finally {
      db.close();
    }
  });

  it('9./11. what a stolen gate or cloud disk holds: 0600 files, masks of at most 4 characters, no mask beside its ticket in the log', async () => {
    for (const f of [gates['east-1']!.dbPath, join(dir, 'cloud.db')]) expect(statSync(f).mode & 0o777, f).toBe(0o600);
    const idNumber = site.sample.idCards[0]!;
    gates['east-1']!.scan(`IDCARD:${idNumber}`);
    await until(() => gates['east-1']!.proc.logs().some((l) => l.credential === 'idcard'), 'the ID card decision');
    const text = gates['east-1']!.proc.out;
    expect(text).not.toContain(idNumber);
    expect(text).not.toContain(idNumber.slice(0, 6));
    for (const l of gates['east-1']!.proc.logs().filter((x) => x.idcard !== undefined)) {
      expect(l.ticketId ?? null, JSON.stringify(l)).toBeNull();
      expect(String(l.idcard)).toMatch(/^\*+[0-9X]{0,4}$/);
    }
  });

  it('4. a revoked gate credential is refused by the broker and the HTTP API from then on', async () => {
    const west = gates['west-1']!;
    const auth = `Basic ${Buffer.from(`${west.login.username}:${west.login.token}`).toString('base64')}`;
    expect((await fetch(`${httpBase}/v1/sites/${SITE}/whitelist/changes?since=0`, { headers: { authorization: auth } })).status).toBe(200);
    const r = cloudCli(configPath, ['gate', 'revoke', SITE, 'west-1']);
    expect(r.status, r.stderr).toBe(0);
    await until(() => west.proc.logs().some((l) => l.event === 'mqtt_disconnected'), 'the broker cuts the revoked gate off', 20_000);
    expect((await fetch(`${httpBase}/v1/sites/${SITE}/whitelist/changes?since=0`, { headers: { authorization: auth } })).status).toBe(401);
    await expect(connectAsync(brokerUrl, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, clientId: `stile-${SITE}-west-1`, username: west.login.username, password: west.login.token })).rejects.toThrow();
  });

  it('10./11. the cloud refuses to start with the public demo keys, a short ID-hash key, or an unsigned webhook', () => {
    const bad = (mutate: (doc: Record<string, unknown>) => void): { status: number | null; stderr: string } => {
      const doc = parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
      mutate(doc);
      const p = join(dir, `bad-${randomBytes(3).toString('hex')}.yaml`);
      writeFileSync(p, stringify(doc));
      const r = spawnSync(process.execPath, [CLOUD_BIN, '--config', p], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, DATABASE_URL: '' } });
      return { status: r.status, stderr: r.stderr };
    };
    const siteOf = (doc: Record<string, unknown>) => (doc.sites as Record<string, Record<string, unknown>>[])[0]!;
    const demoCatalogue = parse(readFileSync(join(ROOT, 'docs/examples/catalogue.yaml'), 'utf8')) as { channels: { apiKeySha256: string }[] };
    demoCatalogue.channels[0]!.apiKeySha256 = createHash('sha256').update('demo-wechat-key').digest('hex');
    const withDemoKey = bad((doc) => {
      const sales = siteOf(doc).sales as Record<string, unknown>;
      delete sales.catalogueFile;
      sales.catalogue = demoCatalogue;
    });
    expect(withDemoKey.status).not.toBe(0);
    expect(withDemoKey.stderr).toMatch(/demo/i);
    const shortKey = bad((doc) => {
      const sales = siteOf(doc).sales as Record<string, unknown>;
      delete sales.idHashKeyFile;
      sales.idHashKey = 'sixteen-chars-ok';
    });
    expect(shortKey.status).not.toBe(0);
    expect(shortKey.stderr).toMatch(/idHashKey/);
    const unsignedWebhook = bad((doc) => {
      doc.alerts = { webhookUrl: 'https://hooks.example.cn/stile' };
    });
    expect(unsignedWebhook.status).not.toBe(0);
    expect(unsignedWebhook.stderr).toMatch(/secret/);
  });
});
