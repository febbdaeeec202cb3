/**
 * `kioskctl doctor [--json] [--user stile]`: the gate's machine checks (config, devices,
 * clock, disk, database, wal, broker, keys, outbox — gate-agent's `doctor` namespace) plus the
 * kiosk's printer and cash devices, one line each with the fix; exit 0 only when all pass.
 * Devices the running stile-kiosk holds are asked through its control socket.
 */
import { dirname } from 'node:path';
import { readFileSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { pino } from 'pino';
import { deviceMqttOptions, isStileError, kioskTopics, kioskUsername, loadSigningKey, loadTrustedKeys, loadYamlConfig, localDate } from '@stile/config';
import { CliError, doctor } from '@stile/gate-agent';
import { KioskConfigSchema, resolveKioskConfig, type KioskConfig, type KioskConfigFile } from '../config.js';
import { CashDevices } from '../devices/cctalk-cash.js';
import { EscPosPrinter } from '../devices/printer.js';
import { JOURNAL_SCHEMA } from '../store/journal.js';
import type { Ctx } from './commands.js';
import { controlRequest } from './control.js';
import { checkCash, checkPrinter, type CashFacts, type PrinterFacts } from './doctor-checks.js';

/** The journal's schema version this kioskctl knows (PRAGMA user_version, store/journal.ts). */
const JOURNAL_SCHEMA_VERSION = JOURNAL_SCHEMA.length;
const REBUILD = 'start stile-kiosk (it makes a new journal); keep the old one: it holds the day\'s cash and open sales';
const quiet = pino({ level: 'silent' });

interface Machine {
  devices: { printerReady: boolean; printerFault: string | null; validatorReady: boolean; coins: { valueFen: number; count: number }[] };
}

/** The running daemon's view, or null when nobody answers on the control socket. */
async function askDaemon(cfg: KioskConfig): Promise<Machine | null> {
  try {
    const a = await controlRequest(cfg.control.socket, { cmd: 'status' }, 3000);
    return a.ok ? ((a.data as { machine: Machine }).machine ?? null) : null;
  } catch {
    return null;
  }
}

/** The files kiosk.yaml makes the daemon read. Paths as the config resolves them. */
function kioskFiles(configPath: string, file: KioskConfigFile, abs: (p: string) => string): doctor.FileFact[] {
  const f = (label: string, path: string | undefined, secret: boolean) => (path ? [doctor.fileFact(label, abs(path), secret)] : []);
  const s = file.sync;
  return [
    doctor.fileFact('config', configPath, false),
    ...f('cloud.apiKeyFile', file.cloud.apiKeyFile, true),
    ...f('cloud.cashApiKeyFile', file.cloud.cashApiKeyFile, true),
    ...f('window.idHashKeyFile', file.window?.idHashKeyFile, true),
    ...f('sync.passwordFile', s?.passwordFile, true),
    ...f('sync.keyFile', s?.keyFile, true),
    ...f('sync.offlineKey.file', s?.offlineKey.file, true),
    ...f('sync.idHashKeyFile', s?.idHashKeyFile, true),
    ...f('sync.certFile', s?.certFile, false),
    ...f('sync.caFile', s?.caFile, false),
  ];
}

async function printerFacts(cfg: KioskConfig, machine: Machine | null): Promise<PrinterFacts> {
  if (machine) return { source: 'daemon', ready: machine.devices.printerReady, fault: machine.devices.printerFault };
  const p = cfg.devices.printer;
  const printer = new EscPosPrinter({ path: p.path, transport: p.transport, baudRate: p.baudRate, flowControl: p.flowControl, statusTimeoutMs: p.statusTimeoutMs, jobTimeoutMs: p.jobTimeoutMs }, quiet);
  try {
    const r = await printer.status();
    return { source: 'device', ready: r.ready, faults: r.faults, paperNearEnd: r.paperNearEnd, detail: r.detail ?? null };
  } finally {
    await printer.close().catch(() => undefined);
  }
}

/** How long the cash devices get to answer their first polls when the doctor opens the line itself. */
const CASH_WAIT_MS = 4000;

async function cashFacts(cfg: KioskConfig, machine: Machine | null, coins: number | null): Promise<CashFacts> {
  const c = cfg.devices.cash;
  if (!c) return { configured: false };
  if (machine) {
    return { configured: true, source: 'daemon', validator: { ready: machine.devices.validatorReady, error: null }, hopper: c.hopper ? { ready: null, error: null, low: null } : null, coins };
  }
  const cash = new CashDevices(c, quiet);
  try {
    const ready = () => cash.validator.isReady && (!cash.hopper || cash.hopper.isReady);
    cash.start();
    for (let waited = 0; waited < CASH_WAIT_MS && !ready(); waited += 100) await new Promise((r) => setTimeout(r, 100));
    const [, validatorHealth, hopperHealth] = cash.health();
    let low: boolean | null = null;
    if (cash.hopper?.isReady) low = (await cash.hopper.level().catch(() => ({ low: null }))).low;
    return {
      configured: true,
      source: 'device',
      validator: { ready: cash.validator.isReady, error: cash.validator.isReady ? null : (validatorHealth?.error ?? cash.health()[0]?.error ?? 'no answer') },
      hopper: cash.hopper ? { ready: cash.hopper.isReady, error: cash.hopper.isReady ? null : (hopperHealth?.error ?? 'no answer'), low } : null,
      coins,
    };
  } finally {
    await cash.close().catch(() => undefined);
  }
}

interface JournalData {
  hopperCoins: number | null;
  newestAt: number | null;
}

function readJournal(db: Database.Database): JournalData {
  const coins = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'hopper_coins'").get();
  const newest = db.prepare<[], { at: number }>('SELECT at FROM journal ORDER BY seq DESC LIMIT 1').get();
  return { hopperCoins: coins ? Number(coins.value) : null, newestAt: newest?.at ?? null };
}

/** A record's `at` (ISO time) in ms; null when the payload has none. */
function recordTime(payload: string): number | null {
  try {
    return Date.parse((JSON.parse(payload) as { at?: string }).at ?? '') || null;
  } catch {
    return null;
  }
}

/** The outbox's depth and the time of its oldest record (its own SQLite file; absent until the daemon made it). */
function readOutbox(file: string): { depth: number; oldestAt: number | null } {
  const { more } = doctor.probeDatabase(file, 0, '', (db) => {
    const n = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM outbox').get()!.n;
    const first = db.prepare<[], { payload: string }>('SELECT payload FROM outbox ORDER BY seq LIMIT 1').get();
    return { depth: n, oldestAt: first ? recordTime(first.payload) : null };
  });
  return more ?? { depth: 0, oldestAt: null };
}

function signingKeyProblem(id: string, file: string): string | null {
  try {
    loadSigningKey(id, readFileSync(file, 'utf8'));
    return null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}

export async function runKioskDoctor(configPath: string, opts: { user: string; now?: () => number }): Promise<doctor.CheckResult[]> {
  const now = opts.now ?? Date.now;
  const role: doctor.Role = { unit: 'stile-kiosk', ctl: 'kioskctl', config: configPath, user: opts.user };
  const user = doctor.readUser(opts.user);
  let cfg: KioskConfig;
  let files: doctor.FileFact[];
  try {
    const { config: file, issues } = loadYamlConfig(configPath, KioskConfigSchema);
    files = kioskFiles(configPath, file, (p) => issues.resolve(p, []));
    cfg = resolveKioskConfig(file, issues);
  } catch (err) {
    if (!isStileError(err)) throw err;
    return [
      doctor.checkConfig({ file: configPath, error: { code: err.code, message: err.message }, summary: '', files: [], user }, role),
      doctor.checkClock({ now: now(), ntp: doctor.probeNtp(), cloud: null, newestRecordAt: null }, role),
    ];
  }
  const results: doctor.CheckResult[] = [doctor.checkConfig({ file: configPath, error: null, summary: `site ${cfg.site.id}, kiosk ${cfg.kiosk.id}`, files, user }, role)];
  const machine = await askDaemon(cfg);
  const journal = cfg.journal.path;
  const { facts: dbFacts, more: data } = doctor.probeDatabase(journal, JOURNAL_SCHEMA_VERSION, REBUILD, readJournal);

  // Printer and cash line: presence and access here; whether they answer is the printer and cash checks'.
  const held = machine ? { running: true as const, state: null } : { running: false as const };
  const own = (name: string, kind: string, path: string): Promise<doctor.DeviceFacts> =>
    Promise.resolve({ name, kind, where: path, node: doctor.statNode(path), want: { read: true, write: true }, daemon: held, answer: null, notAsked: `asked by the ${name === 'printer' ? 'printer' : 'cash'} check`, user });
  const devices: Promise<doctor.DeviceFacts>[] = [own('printer', `${cfg.devices.printer.transport} printer`, cfg.devices.printer.path)];
  if (cfg.devices.cash) devices.push(own('cash', 'ccTalk line', cfg.devices.cash.path));
  for (const input of [cfg.devices.paymentScanner, cfg.devices.idReader]) {
    if (input) devices.push(doctor.probeDevice(doctor.inputDeviceSpec(input), machine ? () => null : null, user));
  }
  for (const d of devices) results.push(doctor.checkDevice(await d, role));
  results.push(checkPrinter(await printerFacts(cfg, machine), role));
  results.push(checkCash(await cashFacts(cfg, machine, data?.hopperCoins ?? null), role));

  const s = cfg.sync;
  const [cloudClock, broker] = await Promise.all([
    doctor.probeCloudClock(new URL(cfg.cloud.url).origin),
    s
      ? doctor.probeBroker(s.url, () => deviceMqttOptions(s, { clientId: `stile-kiosk-${cfg.site.id}-${cfg.kiosk.id}`, defaultUsername: kioskUsername(cfg.site.id, cfg.kiosk.id) }), kioskTopics.pack(cfg.site.id, cfg.kiosk.id))
      : Promise.resolve(null),
  ]);
  results.push(doctor.checkClock({ now: now(), ntp: doctor.probeNtp(), cloud: cloudClock, newestRecordAt: data?.newestAt ?? null }, role));
  results.push(doctor.checkDisk(doctor.probeDisk(dirname(journal), (doctor.fileSize(journal) ?? 0) + (doctor.fileSize(`${journal}-wal`) ?? 0), user), role));
  results.push(doctor.checkDatabase(dbFacts, role));
  results.push(doctor.checkWal(doctor.probeWal(journal), role));
  results.push(
    doctor.checkBroker(
      s && broker ? { configured: true, url: s.url, username: s.username ?? (s.passwordFile ? kioskUsername(cfg.site.id, cfg.kiosk.id) : null), caFile: s.caFile ?? null, topic: kioskTopics.pack(cfg.site.id, cfg.kiosk.id), result: broker.result } : { configured: false },
      role,
    ),
  );
  results.push(doctor.checkKeys(keysFacts(cfg, now()), role));
  const outbox = s ? readOutbox(s.outbox) : { depth: 0, oldestAt: null };
  results.push(doctor.checkOutbox({ ...outbox, now: now(), max: null, linked: s !== undefined }, role));
  return results;
}

function keysFacts(cfg: KioskConfig, now: number): doctor.KeysFacts {
  const s = cfg.sync;
  let invalid: string | null = null;
  try {
    if (s) loadTrustedKeys(s.control);
  } catch (err) {
    invalid = (err as Error).message;
  }
  return {
    today: localDate(now, cfg.site.timezone),
    offline: [],
    control: s?.control ?? [],
    needControl: s !== undefined,
    loaded: null,
    invalid,
    ...(s ? { signingKey: { file: s.offlineKey.file, error: signingKeyProblem(s.offlineKey.id, s.offlineKey.file) } } : {}),
  };
}

/** `kioskctl doctor`: the checks, one line each (or the array with --json); exit code 1 unless all pass. */
export async function doctorCmd(ctx: Ctx): Promise<void> {
  if (ctx.args.length > 0) throw new CliError('usage: kioskctl doctor [--json] [--user NAME]', 2);
  const user = typeof ctx.flags.user === 'string' && ctx.flags.user ? ctx.flags.user : 'stile';
  const results = await runKioskDoctor(ctx.configPath, { user });
  ctx.out.result(results, () => doctor.doctorLines(results));
  process.exitCode = doctor.doctorExitCode(results);
}
