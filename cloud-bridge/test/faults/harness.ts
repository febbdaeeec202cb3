import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { createServer, connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { parse, stringify } from 'yaml';
import { generateSigningKeyPair, type SnapshotTicket } from '@stile/config';
import { GateProcess, makeFifo, openFifoWriter } from '../../../gate-agent/test/helpers/processes.js';
import { makeSite, type TestSite } from '../../../gate-agent/test/helpers/site.js';
import { PG_URL, testDb, type TestDialect, type TestDb } from '../helpers.js';

/** Fault-injection harness: real stile-gate / stile-cloud / mosquitto children. */

export const CLOUD_BIN = fileURLToPath(new URL('../../bin/stile-cloud.js', import.meta.url));
export const SITE = 'demo-park';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export { sleep };

export async function until<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Our own mosquitto (never the shared one on 1883): in-memory only, killable. */
export class Mosquitto {
  proc: ChildProcess | undefined;
  private readonly conf: string;
  private readonly name: string;
  log = '';
  constructor(
    readonly port: number,
    dir: string,
    opts: {
      /** As a production broker runs: sessions, subscriptions and queued messages saved (every second, and on a clean stop). */
      persistence?: boolean;
      /** A complete mosquitto.conf written by the test (its own listener on `port`, users, ACL, bridge) instead of the open default. */
      confFile?: string;
      /** For messages: which of several brokers. */
      name?: string;
    } = {},
  ) {
    this.name = opts.name ?? `mosquitto :${port}`;
    if (opts.confFile) {
      this.conf = opts.confFile;
      return;
    }
    this.conf = join(dir, `mosquitto-${port}.conf`);
    const persistence = opts.persistence
      ? `persistence true\npersistence_location ${join(dir, `mosquitto-${port}-data`)}/\nautosave_interval 1\n`
      : 'persistence false\n';
    if (opts.persistence) mkdirSync(join(dir, `mosquitto-${port}-data`), { recursive: true });
    // `user root`: Mosquitto started as root otherwise drops to its own user, which cannot write
    // into the test's private folder — and persistence then fails silently (no session
    // survives a restart, and the test would prove nothing).
    writeFileSync(this.conf, `user root\nlistener ${port} 127.0.0.1\nallow_anonymous true\n${persistence}max_queued_messages 0\nmax_inflight_messages 0\n`);
  }
  /** A clean stop (SIGTERM): Mosquitto writes its persistence file. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = once(p, 'exit');
    p.kill('SIGTERM');
    await exited;
  }
  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    const p = spawn(mosquittoBinary(), ['-c', this.conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.proc = p;
    await until(async () => (p.exitCode !== null ? Promise.reject(new Error(`${this.name} exited: ${this.log}`)) : portOpen(this.port)), `${this.name} listening`, 10_000);
  }
  async kill9(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = once(p, 'exit');
    p.kill('SIGKILL');
    await exited;
  }
}

/** A Mosquitto tool (mosquitto, mosquitto_passwd): on PATH, or in sbin (Debian installs the broker in /usr/sbin, which a non-root PATH may lack). */
export function mosquittoBinary(name = 'mosquitto'): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin', '/sbin'])) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  throw new Error(`${name} not found: install the mosquitto package (apt-get install mosquitto) to run the fault tests`);
}

/** A TCP relay to any port that a test can cut and make refuse connections (a partition). */
export class Partition {
  private server: Server | undefined;
  private readonly socks = new Set<Socket>();
  refuse = false;
  /** Hold everything the upstream sends (PUBACKs, deliveries) this long: a slow link. */
  delayMs = 0;
  port = 0;
  constructor(private readonly target: number) {}
  async start(): Promise<void> {
    this.server = createServer((client) => {
      if (this.refuse) return client.destroy();
      const upstream = netConnect(this.target, '127.0.0.1');
      this.socks.add(client).add(upstream);
      client.pipe(upstream);
      upstream.on('data', (b: Buffer) => {
        if (this.delayMs === 0) client.write(b);
        else setTimeout(() => client.destroyed || client.write(b), this.delayMs);
      });
      const end = () => {
        client.destroy();
        upstream.destroy();
        this.socks.delete(client);
        this.socks.delete(upstream);
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server!.address() as AddressInfo).port;
  }
  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }
  /** Refuse new connections and drop the open ones (no DISCONNECT: a pulled cable). */
  cut(): void {
    this.refuse = true;
    for (const s of this.socks) s.destroy();
    this.socks.clear();
  }
  heal(): void {
    this.refuse = false;
  }
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

export interface CloudSide {
  dialect: TestDialect;
  db: TestDb;
  configPath: string;
  publicKey: string;
  /** Where gates fetch changes?since / snapshots (mqtt.snapshotUrl). */
  httpUrl: string;
}

/** cloud.yaml for one site with the given gates; the database is a fresh SQLite file or PostgreSQL schema. */
export async function makeCloud(dir: string, mqttUrl: string, gates: string[], dialect: TestDialect = 'sqlite', opts: { embeddedBrokerPort?: number } = {}): Promise<CloudSide> {
  const db = await testDb(dialect);
  const pair = generateSigningKeyPair('ck1');
  writeFileSync(join(dir, 'control.pem'), pair.privateKeyPem);
  const configPath = join(dir, 'cloud.yaml');
  const database = db.options.sqlitePath ? { sqlitePath: db.options.sqlitePath } : { url: db.options.databaseUrl };
  const httpPort = await freePort();
  writeFileSync(
    configPath,
    stringify({
      mqtt: { url: mqttUrl, sharedGroup: 'faults', clientId: `faults-cloud-${process.pid}`, sessionExpirySec: 600 },
      ...(opts.embeddedBrokerPort ? { broker: { port: opts.embeddedBrokerPort } } : {}),
      http: { port: httpPort },
      database,
      // The fault streams scan ~100× faster than a lane passes people: the lane rate check is off here.
      sites: [{ id: SITE, controlKey: { id: 'ck1', privateKeyFile: 'control.pem' }, gates, maxAdmissionsPerSecond: 0 }],
    }),
  );
  return { dialect, db, configPath, publicKey: pair.publicKey, httpUrl: `http://127.0.0.1:${httpPort}` };
}

/** A stile-cloud child; JSON log lines collected. */
export class CloudProcess {
  readonly proc: ChildProcess;
  out = '';
  err = '';
  constructor(cloud: CloudSide) {
    this.proc = spawn(process.execPath, [CLOUD_BIN, '--config', cloud.configPath], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info', DATABASE_URL: '' } });
    this.proc.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.proc.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
  }
  static async start(cloud: CloudSide): Promise<CloudProcess> {
    const c = new CloudProcess(cloud);
    await until(() => {
      if (c.proc.exitCode !== null) throw new Error(`stile-cloud exited ${c.proc.exitCode}: ${c.err}`);
      return c.out.includes('cloud-bridge started');
    }, 'stile-cloud started');
    return c;
  }
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = once(this.proc, 'exit');
    this.proc.kill(signal);
    await exited;
  }
}

/** One gate: its own folder (demo site + imported whitelist), gate.yaml with an mqtt section, a FIFO scanner. */
export interface GateSide {
  gateId: string;
  site: TestSite;
  configPath: string;
  dbPath: string;
  fifo: string;
  proc: GateProcess | undefined;
  scanner: WriteStream | undefined;
}

/**
 * What provisioning does for a real gate: the cloud issues the gate's tickets (it believes
 * admissions only of tickets it issued) and the gate's credential (its MQTT and HTTP login).
 */
async function provision(cloud: CloudSide, gateId: string, whitelistPath: string, gateDir: string): Promise<{ username: string; passwordFile: string }> {
  const { CloudStore } = await import('../../src/core/db/store.js');
  const { DeviceRegistry } = await import('../../src/core/device-registry.js');
  const { WhitelistRepository } = await import('../../src/modules/whitelist/repository.js');
  const store = await CloudStore.open(cloud.db.options);
  try {
    await store.ensureSite(SITE, 'ck1');
    const tickets = readFileSync(whitelistPath, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((t) => !('snapshot' in t) && !('signature' in t)) as unknown as SnapshotTicket[];
    await new WhitelistRepository(store).upsertTickets(store.db, SITE, tickets, null);
    const cred = await new DeviceRegistry(store).issue(SITE, 'gate', gateId);
    const passwordFile = join(gateDir, 'mqtt.pw');
    writeFileSync(passwordFile, `${cred.token}\n`, { mode: 0o600 });
    return { username: cred.username, passwordFile };
  } finally {
    await store.close();
  }
}

export async function makeGate(o: { gateId: string; mqttUrl: string; controlPublicKey: string; tickets: number; whitelistFrom?: TestSite; snapshotUrl?: string; cloud?: CloudSide; mqtt?: Record<string, unknown> }): Promise<GateSide> {
  const fifo = join(tmpdir(), `stile-faults-${process.pid}-${Date.now().toString(36)}-${o.gateId}`);
  makeFifo(fifo);
  const site = await makeSite(o.whitelistFrom ? 8 : o.tickets, { input: fifo });
  const cfg = parse(readFileSync(site.configPath, 'utf8')) as Record<string, Record<string, unknown>>;
  cfg.gate!.id = o.gateId;
  cfg.relay = { type: 'log', pulseMs: 50, gapMs: 0 };
  cfg.log = { level: 'info' };
  cfg.keys!.control = [{ id: 'ck1', publicKey: o.controlPublicKey }];
  const login = o.cloud ? await provision(o.cloud, o.gateId, (o.whitelistFrom ?? site).whitelistPath, dirname(site.configPath)) : undefined;
  cfg.mqtt = { url: o.mqttUrl, batchSize: 100, reconnectMinMs: 50, reconnectMaxMs: 300, keepaliveSec: 5, ...(o.snapshotUrl ? { snapshotUrl: o.snapshotUrl } : {}), ...(login ?? {}), ...o.mqtt };
  writeFileSync(site.configPath, stringify(cfg));
  if (o.whitelistFrom) {
    // The same tickets as another gate of the site (two lanes, one whitelist).
    const { openGate } = await import('../../../gate-agent/src/daemon/gate-context.js');
    const { importSnapshot } = await import('../../../gate-agent/src/store/index.js');
    const { loadGateConfig } = await import('@stile/config');
    const { silent } = await import('../../../gate-agent/test/helpers/site.js');
    const { store } = openGate(loadGateConfig(site.configPath), silent);
    await importSnapshot(store.db, o.whitelistFrom.whitelistPath);
    store.close();
    site.sample = o.whitelistFrom.sample;
  }
  // The cloud's delta seq starts at 0 for a new site: line the gate's whitelist seq up with it.
  const db = new Database(site.dbPath);
  db.prepare("UPDATE meta SET value = '0' WHERE key = 'whitelist_seq'").run();
  db.close();
  return { gateId: o.gateId, site, configPath: site.configPath, dbPath: site.dbPath, fifo, proc: undefined, scanner: undefined };
}

export async function startGate(g: GateSide): Promise<GateProcess> {
  const p = new GateProcess(g.configPath);
  g.proc = p;
  await p.waitFor((l) => l.some((x) => x.event === 'started'), 20_000);
  g.scanner = await openFifoWriter(g.fifo);
  g.scanner.on('error', () => {}); // EPIPE once the gate is killed
  return p;
}

export async function killGate(g: GateSide): Promise<void> {
  if (g.proc && g.proc.proc.exitCode === null && g.proc.proc.signalCode === null) {
    const closed = once(g.proc.proc, 'close');
    g.proc.proc.kill('SIGKILL');
    await closed;
  }
  g.scanner?.destroy();
  g.scanner = undefined;
}

/** Write scan lines to the gate's FIFO. */
export async function feed(g: GateSide, lines: string[]): Promise<void> {
  if (!g.scanner!.write(`${lines.join('\n')}\n`)) await once(g.scanner!, 'drain');
}

export function decisions(g: GateSide): number {
  return g.proc!.logs.filter((l) => l.event === 'admit' || l.event === 'reject').length;
}

export interface JournalRow {
  gate: string;
  seq: number;
  event_id: string;
  kind: string;
  ticket_id: string;
  type_id: string;
}

export function gateJournal(g: GateSide): JournalRow[] {
  const db = new Database(g.dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT seq, event_id, kind, ticket_id, type_id FROM entries ORDER BY seq').all() as Omit<JournalRow, 'gate'>[]).map((r) => ({ ...r, gate: g.gateId }));
  } finally {
    db.close();
  }
}

export function outboxDepth(g: GateSide): number {
  const db = new Database(g.dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

export function usedOnGate(g: GateSide, ticketId: string): number | undefined {
  const db = new Database(g.dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT entries_used AS n FROM tickets WHERE ticket_id = ?').get(ticketId) as { n: number } | undefined)?.n;
  } finally {
    db.close();
  }
}

export interface CloudEntry {
  site: string;
  gate: string;
  seq: number;
  event_id: string;
  ticket_id: string;
  kind: string;
}
export interface CloudConflict {
  ticket_id: string;
  first_gate: string | null;
  second_gate: string;
}

async function cloudQuery<T>(cloud: CloudSide, sql: string): Promise<T[]> {
  if (cloud.dialect === 'sqlite') {
    const db = new Database(cloud.db.options.sqlitePath!, { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).all() as T[];
    } finally {
      db.close();
    }
  }
  const c = new pg.Client({ connectionString: cloud.db.options.databaseUrl ?? PG_URL });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

export async function cloudEntries(cloud: CloudSide): Promise<CloudEntry[]> {
  const rows = await cloudQuery<CloudEntry>(cloud, 'SELECT site, gate, seq, event_id, ticket_id, kind FROM entries');
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
}

export async function cloudCount(cloud: CloudSide): Promise<number> {
  try {
    const [r] = await cloudQuery<{ n: number | string }>(cloud, 'SELECT count(*) AS n FROM entries');
    return Number(r!.n);
  } catch {
    return 0; // not created yet
  }
}

export async function cloudConflicts(cloud: CloudSide): Promise<CloudConflict[]> {
  return cloudQuery<CloudConflict>(cloud, 'SELECT ticket_id, first_gate, second_gate FROM conflicts');
}

/** Everything every gate journaled is in the cloud store, once. */
export async function allArrived(cloud: CloudSide, gates: GateSide[]): Promise<boolean> {
  const want = gates.reduce((n, g) => n + gateJournal(g).length, 0);
  return (await cloudCount(cloud)) >= want;
}

/**
 * The end-of-test invariants: 0 lost, 0 duplicates, 0 double admissions at one gate, and
 * every ticket admitted more often than once across the site flagged as a conflict.
 * Returns a description of every violation (empty = all good).
 */
export async function checkInvariants(cloud: CloudSide, gates: GateSide[]): Promise<{ violations: string[]; journal: JournalRow[]; cloud: CloudEntry[]; conflicts: CloudConflict[] }> {
  const violations: string[] = [];
  const journal = gates.flatMap((g) => gateJournal(g));
  const entries = await cloudEntries(cloud);
  const conflicts = await cloudConflicts(cloud);
  const key = (r: { gate: string; seq: number; event_id: string }) => `${SITE}|${r.gate}|${r.seq}|${r.event_id}`;
  const cloudKeys = new Map<string, number>();
  for (const e of entries) {
    if (e.site !== SITE) violations.push(`cloud row for another site ${e.site}`);
    cloudKeys.set(key(e), (cloudKeys.get(key(e)) ?? 0) + 1);
  }
  const lost = journal.filter((r) => !cloudKeys.has(key(r)));
  if (lost.length) violations.push(`${lost.length} lost, e.g. ${JSON.stringify(lost.slice(0, 3))}`);
  const journalKeys = new Set(journal.map(key));
  const extra = entries.filter((e) => !journalKeys.has(key(e)));
  if (extra.length) violations.push(`${extra.length} cloud rows not in any journal, e.g. ${JSON.stringify(extra.slice(0, 3))}`);
  const dupIds = entries.length - new Set(entries.map((e) => e.event_id)).size;
  const dupSeqs = entries.length - new Set(entries.map((e) => `${e.gate}|${e.seq}`)).size;
  if (dupIds || dupSeqs) violations.push(`duplicates in the cloud: ${dupIds} event ids, ${dupSeqs} (gate, seq)`);
  for (const g of gates) {
    const admits = new Map<string, number>();
    for (const r of journal) if (r.gate === g.gateId && r.kind === 'admit' && r.type_id !== 'two-day') admits.set(r.ticket_id, (admits.get(r.ticket_id) ?? 0) + 1);
    const twice = [...admits].filter(([, n]) => n > 1);
    if (twice.length) violations.push(`${g.gateId} admitted single-entry tickets twice: ${JSON.stringify(twice.slice(0, 3))}`);
  }
  // The cloud allows one entry per ticket: every admission past the first is a conflict row.
  const perTicket = new Map<string, number>();
  for (const r of journal) if (r.kind === 'admit') perTicket.set(r.ticket_id, (perTicket.get(r.ticket_id) ?? 0) + 1);
  const expected = [...perTicket].flatMap(([t, n]) => Array.from({ length: n - 1 }, () => t)).sort();
  const flagged = conflicts.map((c) => c.ticket_id).sort();
  if (JSON.stringify(expected) !== JSON.stringify(flagged)) violations.push(`conflicts: expected ${JSON.stringify(expected.slice(0, 5))} (${expected.length}), flagged ${JSON.stringify(flagged.slice(0, 5))} (${flagged.length})`);
  return { violations, journal, cloud: entries, conflicts };
}

/** A scratch folder removed at the end. */
export function scratch(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'stile-faults-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Everything a test started, torn down in reverse order even when the test failed. */
export class Teardown {
  private readonly steps: (() => unknown)[] = [];
  add(step: () => unknown): void {
    this.steps.push(step);
  }
  async run(): Promise<void> {
    for (const s of this.steps.reverse().splice(0)) {
      try {
        await s();
      } catch {
        // keep tearing down
      }
    }
  }
}

export function gateCleanup(t: Teardown, g: GateSide): void {
  t.add(() => {
    g.site.cleanup();
    rmSync(g.fifo, { force: true });
  });
  t.add(() => killGate(g));
}
