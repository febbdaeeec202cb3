/**
 * `gatectl doctor [--json] [--relay] [--user stile]`: every check a technician would do on a
 * gate, one line each with the fix, exit code 0 only when all pass (docs/doctor.md). The
 * probes gather findings (doctor-probes*.ts), the checks judge them (doctor-checks*.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import {
  deviceMqttOptions, gateUsername, isStileError, loadGateConfig, loadTrustedKeys, localClock, topics, WhitelistHeadSchema, type GateConfig,
} from '@stile/config';
import { SCHEMA_VERSION } from '../store/schema.js';
import { clientIdOf } from '../sync/mqtt-options.js';
import { cloudCredential } from '../sync/resync-http.js';
import type { Ctx } from './commands.js';
import { daemonView } from './daemon-state.js';
import { checkBroker, checkSnapshot, checkWhitelist, type BrokerFacts, type SnapshotFacts } from './doctor-checks-cloud.js';
import {
  checkClock, checkConfig, checkDatabase, checkDevice, checkDisk, checkKeys, checkOutbox, checkRelay, checkWal, problem, type FileFact, type KeyFact, type RelayFacts,
} from './doctor-checks.js';
import { probeBroker, probeSnapshot } from './doctor-probe-cloud.js';
import { gateDeviceSpecs, probeDevice, type DeviceSpec } from './doctor-probe-devices.js';
import { fileFact, fileSize, probeCloudClock, probeDatabase, probeDisk, probeNtp, probeWal, readUser } from './doctor-probes.js';
import { doctorExitCode, doctorLines, type CheckResult, type Role } from './doctor-report.js';
import { pulseRelay } from './hardware.js';
import { CliError } from './output.js';

/** What the gate's database tells the other checks. */
interface GateData {
  meta: Map<string, string>;
  tickets: number;
  outboxDepth: number;
  outboxOldestAt: number | null;
  newestEntryAt: number | null;
  loadedKeys: KeyFact[];
}

function readGateData(db: Database.Database): GateData {
  const meta = new Map(db.prepare<[], { key: string; value: string }>('SELECT key, value FROM meta').all().map((r) => [r.key, r.value]));
  const tickets = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM tickets').get()!.n;
  const outbox = db.prepare<[], { n: number; first: number | null }>('SELECT count(*) AS n, min(seq) AS first FROM outbox').get()!;
  const at = (seq: number | null) => (seq === null ? null : (db.prepare<[number], { at: number }>('SELECT at FROM entries WHERE seq = ?').get(seq)?.at ?? null));
  const last = db.prepare<[], { seq: number }>('SELECT seq FROM entries ORDER BY seq DESC LIMIT 1').get()?.seq ?? null;
  const loadedKeys = db.prepare<[], { id: string; notAfter: string | null }>('SELECT key_id AS id, not_after AS notAfter FROM trusted_keys').all();
  return { meta, tickets, outboxDepth: outbox.n, outboxOldestAt: at(outbox.first), newestEntryAt: at(last), loadedKeys };
}

/** The files gate.yaml makes the daemon read, and which of them are secrets. */
function gateFiles(configPath: string, cfg: GateConfig): FileFact[] {
  const m = cfg.mqtt;
  const files: FileFact[] = [fileFact('config', configPath, cfg.keys.idHash.value !== undefined)];
  if (cfg.keys.idHash.file) files.push(fileFact('keys.idHash.file', cfg.keys.idHash.file, true));
  if (m?.passwordFile) files.push(fileFact('mqtt.passwordFile', m.passwordFile, true));
  if (m?.keyFile) files.push(fileFact('mqtt.keyFile', m.keyFile, true));
  if (m?.certFile) files.push(fileFact('mqtt.certFile', m.certFile, false));
  if (m?.caFile) files.push(fileFact('mqtt.caFile', m.caFile, false));
  return files;
}

const REBUILD = 'rebuild it from the cloud with `gatectl restore`, or load a snapshot with `gatectl tickets import <file>`';

export async function runGateDoctor(configPath: string, opts: { relay: boolean; user: string; now?: () => number }): Promise<CheckResult[]> {
  const now = opts.now ?? Date.now;
  const role: Role = { unit: 'stile-gate', ctl: 'gatectl', config: configPath, user: opts.user };
  const user = readUser(opts.user);
  let cfg: GateConfig;
  try {
    cfg = loadGateConfig(configPath);
  } catch (err) {
    if (!isStileError(err)) throw err;
    // Nothing else can be looked at without a valid config, except the clock.
    return [
      checkConfig({ file: configPath, error: { code: err.code, message: err.message }, summary: '', files: [], user }, role),
      checkClock({ now: now(), ntp: probeNtp(), cloud: null, newestRecordAt: null }, role),
    ];
  }
  const results: CheckResult[] = [];
  results.push(checkConfig({ file: configPath, error: null, summary: `site ${cfg.site.id}, gate ${cfg.gate.id}`, files: gateFiles(configPath, cfg), user }, role));

  const dbFile = cfg.store.path;
  const { facts: dbFacts, more: data } = probeDatabase(dbFile, SCHEMA_VERSION, REBUILD, readGateData);
  const daemon = data ? daemonView((k) => data.meta.get(k)) : null;
  const running = daemon?.running === true ? daemon.status : null;

  const held = running ? (spec: DeviceSpec) => spec.fromDaemon(running) ?? null : null;
  for (const spec of gateDeviceSpecs(cfg)) results.push(checkDevice(await probeDevice(spec, held, user), role));
  if (opts.relay) results.push(checkRelay(await relayFacts(cfg, running !== null), role));

  const cloudBase = cfg.mqtt?.snapshotUrl?.replace(/\/+$/, '');
  const [cloudClock, broker, snapshot] = await Promise.all([
    cloudBase ? probeCloudClock(cloudBase) : Promise.resolve(null),
    brokerFacts(cfg),
    snapshotFacts(cfg, cloudBase, now()),
  ]);
  results.push(checkClock({ now: now(), ntp: probeNtp(), cloud: cloudClock, newestRecordAt: data?.newestEntryAt ?? null }, role));
  results.push(checkDisk(probeDisk(dirname(dbFile), (fileSize(dbFile) ?? 0) + (fileSize(`${dbFile}-wal`) ?? 0), user), role));
  results.push(checkDatabase(dbFacts, role));
  results.push(checkWal(probeWal(dbFile), role));
  results.push(checkBroker(broker.facts, role));
  results.push(checkSnapshot(snapshot.facts, role));
  const head = snapshot.headSeq !== null ? { seq: snapshot.headSeq, source: 'the snapshot URL' } : broker.headSeq !== null ? { seq: broker.headSeq, source: 'the broker\'s retained head' } : null;
  results.push(
    data
      ? checkWhitelist({ tickets: data.tickets, seq: data.meta.get('whitelist_seq') ?? null, importedAt: data.meta.get('whitelist_imported_at') ?? null, now: now(), linked: cfg.mqtt !== undefined, cloudHead: head }, role)
      : problem(role, 'whitelist', 'doctor.needs_database', `${dbFile} could not be read`),
  );
  results.push(
    checkKeys(
      { today: localClock(cfg.site.timezone, now()).date, offline: cfg.keys.offline, control: cfg.keys.control, needControl: cfg.mqtt !== undefined, loaded: running && data ? data.loadedKeys : null, invalid: keyProblem(cfg) },
      role,
    ),
  );
  results.push(
    data
      ? checkOutbox({ depth: data.outboxDepth, oldestAt: data.outboxOldestAt, now: now(), max: cfg.mqtt?.outboxMax ?? null, linked: cfg.mqtt !== undefined }, role)
      : problem(role, 'outbox', 'doctor.needs_database', `${dbFile} could not be read`),
  );
  return results;
}

/** Does every public key in gate.yaml load? (The schema only checks their length.) */
function keyProblem(cfg: GateConfig): string | null {
  try {
    loadTrustedKeys(cfg.keys.offline);
    loadTrustedKeys(cfg.keys.control);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

async function relayFacts(cfg: GateConfig, daemonRunning: boolean): Promise<RelayFacts> {
  if (daemonRunning) return { daemonRunning: true };
  const t = await pulseRelay(cfg.relay, 1);
  return { daemonRunning: false, kind: cfg.relay.type, pulses: t.pulses, error: t.error };
}

async function brokerFacts(cfg: GateConfig): Promise<{ facts: BrokerFacts; headSeq: string | null }> {
  const m = cfg.mqtt;
  if (!m) return { facts: { configured: false }, headSeq: null };
  const topic = topics.whitelistHead(cfg.site.id);
  const username = m.username ?? (m.passwordFile !== undefined ? gateUsername(cfg.site.id, cfg.gate.id) : null);
  const { result, retained } = await probeBroker(m.url, () => deviceMqttOptions(m, { clientId: clientIdOf(cfg), defaultUsername: gateUsername(cfg.site.id, cfg.gate.id) }), topic);
  let headSeq: string | null = null;
  if (retained) {
    try {
      const h = WhitelistHeadSchema.safeParse(JSON.parse(retained.toString('utf8')));
      if (h.success) headSeq = h.data.seq;
    } catch {
      // not a head: the whitelist check says it is unknown
    }
  }
  return { facts: { configured: true, url: m.url, username, caFile: m.caFile ?? null, topic, result }, headSeq };
}

async function snapshotFacts(cfg: GateConfig, base: string | undefined, now: number): Promise<{ facts: SnapshotFacts; headSeq: string | null }> {
  if (!base) return { facts: { configured: false, linked: cfg.mqtt !== undefined }, headSeq: null };
  let password: string | undefined;
  try {
    password = cfg.mqtt?.passwordFile !== undefined ? readFileSync(cfg.mqtt.passwordFile, 'utf8') : undefined;
  } catch {
    password = undefined; // the config and broker checks name the missing file
  }
  const credential = cloudCredential(cfg.mqtt, cfg.site.id, cfg.gate.id, password);
  const today = localClock(cfg.site.timezone, now).date;
  let trusted;
  try {
    trusted = loadTrustedKeys(cfg.keys.control);
  } catch {
    trusted = new Map(); // the keys check names the bad key; nothing verifies without it
  }
  const { result, headSeq } = await probeSnapshot(base, cfg.site.id, credential, trusted, today);
  return { facts: { configured: true, url: base, site: cfg.site.id, username: credential?.username ?? null, result }, headSeq };
}

/** `gatectl doctor`: the checks, one line each (or the array with --json); exit code 1 unless all pass. */
export async function doctor(ctx: Ctx): Promise<void> {
  if (ctx.args.length > 0) throw new CliError('usage: gatectl doctor [--json] [--relay] [--user NAME]', 2);
  const user = typeof ctx.flags.user === 'string' && ctx.flags.user ? ctx.flags.user : 'stile';
  const results = await runGateDoctor(ctx.configPath, { relay: ctx.flags.relay === true, user });
  ctx.out.result(results, () => doctorLines(results));
  process.exitCode = doctorExitCode(results);
}

