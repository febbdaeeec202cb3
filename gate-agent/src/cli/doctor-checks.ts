/**
 * The doctor's checks of the machine itself: config, devices, clock, disk, database, WAL,
 * keys, outbox. Pure: each takes what the probes found (doctor-probes.ts) and returns one
 * CheckResult, so every branch is unit-tested with made-up findings.
 */
import { accessFor, describeNode, groupWouldGrant, type NodeInfo, type UserInfo } from './doctor-access.js';
import { PROBLEMS, type ProblemKey } from './doctor-problems.js';
import { found, passed, type CheckResult, type Role } from './doctor-report.js';

export const MB = 1024 * 1024;
/** Thresholds, documented in docs/doctor.md. */
export const LIMITS = {
  diskFailPct: 5,
  diskFailBytes: 200 * MB,
  diskWarnPct: 10,
  walWarnBytes: 64 * MB,
  clockFailMs: 60_000,
  /** A clock before this is a board that booted without RTC or NTP. */
  plausibleFrom: Date.parse('2025-01-01T00:00:00Z'),
  keyWarnDays: 30,
  outboxWarnDepth: 1000,
  outboxWarnAgeMs: 10 * 60_000,
  /** An offline gate's whitelist older than this is stale. */
  whitelistStaleMs: 24 * 3600_000,
} as const;

export function problem(role: Role, id: string, key: ProblemKey, detail: string, params: Record<string, string | number> = {}): CheckResult {
  return found(PROBLEMS, id, key, detail, { ...role, ...params });
}

export function bytes(n: number): string {
  if (n >= 1024 * MB) return `${(n / 1024 / MB).toFixed(1)} GB`;
  if (n >= MB) return `${(n / MB).toFixed(1)} MB`;
  return `${Math.round(n / 1024)} kB`;
}

function ago(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}

// ---------------------------------------------------------------- config

/** A file the daemon reads: the config itself, keys, password, certificates. */
export interface FileFact {
  /** Where the config names it, e.g. "keys.idHash.file". */
  label: string;
  path: string;
  /** null: it does not exist. */
  node: NodeInfo | null;
  /** Secrets must not be readable by everyone. */
  secret: boolean;
}

export interface ConfigFacts {
  file: string;
  /** The config's one-line (or multi-line) validation error; null when valid. */
  error: { code: 'CONFIG_INVALID' | 'CONFIG_UNREADABLE' | string; message: string } | null;
  /** "site demo-park, gate east-1" */
  summary: string;
  files: FileFact[];
  /** The daemon's user; null when it does not exist here. */
  user: UserInfo | null;
}

export function checkConfig(f: ConfigFacts, role: Role): CheckResult {
  const id = 'config';
  if (f.error) {
    const [first = '', ...more] = f.error.message.split('\n');
    const detail = `${first}${more.length ? ` (and ${more.length} more problem${more.length > 1 ? 's' : ''})` : ''}`;
    return problem(role, id, f.error.code === 'CONFIG_UNREADABLE' ? 'config.unreadable' : 'config.invalid', detail, { file: f.file });
  }
  const missing = f.files.find((x) => x.node === null);
  if (missing) return problem(role, id, 'config.secret_missing', `${missing.label}: ${missing.path} does not exist`, { file: missing.path });
  const open = f.files.find((x) => x.secret && x.node && (x.node.mode & 0o004) !== 0);
  if (open) return problem(role, id, 'config.world_readable', `${open.label}: ${open.path} is ${describeNode(open.node!)}: readable by every user`, { file: open.path });
  if (!f.user) return problem(role, id, 'config.user_missing', `${f.file} valid (${f.summary}); user ${role.user} does not exist, so who may read the files was not checked`);
  const user = f.user;
  const closed = f.files.find((x) => x.node && !accessFor(user, x.node, { read: true }).ok);
  if (closed) return problem(role, id, 'config.unreadable_by_user', `${closed.label}: ${closed.path} is ${describeNode(closed.node!)}: ${user.name} cannot read it`, { file: closed.path });
  const secrets = f.files.filter((x) => x.secret).length;
  return passed(id, `${f.file} valid (${f.summary}); ${f.files.length} file(s) readable by ${user.name}${secrets ? `, ${secrets} secret(s) not world-readable` : ''}`);
}

// ---------------------------------------------------------------- devices

export type DeviceAnswer =
  | { ok: true; detail: string }
  | { ok: false; reason: 'busy' | 'silent' | 'open_failed' | 'missing'; detail: string };

export interface DeviceFacts {
  /** The name in the config: the check id is device:<name>. */
  name: string;
  kind: string;
  /** A path, a USB id or a GPIO line. */
  where: string;
  /** 'none': nothing on disk to look at (a log relay, stdin); null: not found. */
  node: NodeInfo | null | 'none';
  want: { read: boolean; write: boolean };
  /** The running daemon's own view of the device (it holds the port), or that it is not running. */
  daemon: { running: true; state: string | null; error?: string | undefined } | { running: false };
  /** When the daemon is not running: the device opened and asked briefly; null when it was not asked. */
  answer: DeviceAnswer | null;
  /** Why it was not asked (answer null), for the line. */
  notAsked?: string;
  user: UserInfo | null;
}

export function checkDevice(f: DeviceFacts, role: Role): CheckResult {
  const id = `device:${f.name}`;
  const params = { path: f.where, name: f.name };
  if (f.node === 'none') return passed(id, `${f.kind}: no device node to check (${f.where})`);
  if (f.node === null) return problem(role, id, 'device.missing', `${f.kind} not found at ${f.where}`, params);
  const node = f.node;
  const verdict = f.user ? accessFor(f.user, node, f.want) : null;
  if (f.user && verdict && !verdict.ok) {
    const what = `${f.where} is ${describeNode(node)}: ${f.user.name} may not ${f.want.write ? 'read and write' : 'read'} it`;
    return groupWouldGrant(node, f.want)
      ? problem(role, id, 'device.no_group', `${what} (not in group ${node.group ?? node.gid})`, { ...params, group: node.group ?? String(node.gid) })
      : problem(role, id, 'device.node_mode', what, params);
  }
  const access = f.user && verdict
    ? `, ${f.user.name} may use it (${verdict.via === 'group' ? `group ${node.group ?? node.gid}` : verdict.via})`
    : `, access for ${role.user} not checked (no such user)`;
  if (f.daemon.running) {
    const d = f.daemon;
    if (d.state === null) return passed(id, `${f.kind} at ${f.where} present${access}; held by the running ${role.unit}, which reports no state for it`);
    if (d.state === 'ok') return passed(id, `${f.kind} at ${f.where}${access}; ${role.unit} reports it ok`);
    if (d.state === 'starting') return problem(role, id, 'device.starting', `${f.kind} at ${f.where}: ${role.unit} is still opening it`, params);
    if (d.state === 'wrong_mode') return problem(role, id, 'device.wrong_mode', `${f.kind} at ${f.where}: ${d.error ?? 'in keyboard mode'}`, params);
    return problem(role, id, 'device.fault', `${f.kind} at ${f.where}: ${role.unit} reports it ${d.state}${d.error ? ` (${d.error})` : ''}`, params);
  }
  if (!f.answer) return passed(id, `${f.kind} at ${f.where} present${access}${f.notAsked ? ` (${f.notAsked})` : ''}`);
  if (f.answer.ok) return passed(id, `${f.kind} at ${f.where}${access}; ${f.answer.detail}`);
  const key: ProblemKey = f.answer.reason === 'busy' ? 'device.busy' : f.answer.reason === 'silent' ? 'device.silent' : f.answer.reason === 'missing' ? 'device.missing' : 'device.open_failed';
  return problem(role, id, key, `${f.kind} at ${f.where}: ${f.answer.detail}`, params);
}

// ---------------------------------------------------------------- clock

export interface ClockFacts {
  now: number;
  ntp: { state: 'yes' | 'no' | 'unknown'; source: string };
  /** The cloud's HTTP Date against ours (positive: we are ahead); null when no cloud URL is configured. */
  cloud: { url: string; offsetMs: number } | { url: string; error: string } | null;
  /** The newest timestamp in the device's database (entries, outbox, journal). */
  newestRecordAt: number | null;
}

export function checkClock(f: ClockFacts, role: Role): CheckResult {
  const id = 'clock';
  const nowText = new Date(f.now).toISOString();
  if (f.now < LIMITS.plausibleFrom) return problem(role, id, 'clock.implausible', `the clock says ${nowText}`);
  const cloud = f.cloud;
  const vsCloud = cloud === null ? 'no cloud to compare with' : 'error' in cloud ? `cloud time not read (${cloud.error})` : `${Math.abs(cloud.offsetMs / 1000).toFixed(0)} s ${cloud.offsetMs >= 0 ? 'ahead of' : 'behind'} the cloud`;
  if (cloud && 'offsetMs' in cloud && Math.abs(cloud.offsetMs) > LIMITS.clockFailMs) {
    return problem(role, id, 'clock.off', `${nowText} is ${vsCloud} (${cloud.url}); NTP ${f.ntp.state} (${f.ntp.source})`);
  }
  if (f.newestRecordAt !== null && f.newestRecordAt - f.now > LIMITS.clockFailMs) {
    return problem(role, id, 'clock.jump_back', `a record is dated ${new Date(f.newestRecordAt).toISOString()}, ${ago(f.newestRecordAt - f.now)} after now (${nowText}); ${vsCloud}`);
  }
  if (f.ntp.state === 'no') return problem(role, id, 'clock.not_synced', `NTP not synchronised (${f.ntp.source}); ${vsCloud}`);
  if (f.ntp.state === 'unknown') return problem(role, id, 'clock.unknown', `NTP state unknown (${f.ntp.source}); ${vsCloud}`);
  return passed(id, `${nowText}, NTP synchronised (${f.ntp.source}); ${vsCloud}`);
}

// ---------------------------------------------------------------- disk

export interface DiskFacts {
  /** The directory holding the database. */
  dir: string;
  dirNode: NodeInfo | null;
  space: { totalBytes: number; freeBytes: number } | null;
  /** access(W_OK) on the directory as this process: EROFS on a read-only filesystem even for root. */
  writable: { ok: true } | { ok: false; code: string };
  /** The database's size: a resync needs about as much again. */
  dbBytes: number;
  user: UserInfo | null;
}

export function checkDisk(f: DiskFacts, role: Role): CheckResult {
  const id = 'disk';
  const params = { dir: f.dir };
  if (!f.dirNode) return problem(role, id, 'disk.missing_dir', `${f.dir} does not exist`, params);
  if (!f.writable.ok && f.writable.code === 'EROFS') return problem(role, id, 'disk.read_only', `${f.dir} is on a read-only filesystem`, params);
  const space = f.space;
  const pct = space && space.totalBytes > 0 ? (space.freeBytes / space.totalBytes) * 100 : null;
  const line = space ? `${bytes(space.freeBytes)} free of ${bytes(space.totalBytes)} (${(pct ?? 0).toFixed(1)} %) on ${f.dir}` : `${f.dir} (free space not known)`;
  if (space && ((pct ?? 0) < LIMITS.diskFailPct || space.freeBytes < LIMITS.diskFailBytes)) return problem(role, id, 'disk.full', line, params);
  if (!f.writable.ok && f.writable.code === 'ENOSPC') return problem(role, id, 'disk.full', `${f.dir}: no space left`, params);
  if (f.user && !accessFor(f.user, f.dirNode, { write: true, exec: true }).ok) {
    return problem(role, id, 'disk.no_write', `${f.dir} is ${describeNode(f.dirNode)}: ${f.user.name} cannot create files in it`, params);
  }
  if (space && ((pct ?? 0) < LIMITS.diskWarnPct || space.freeBytes < f.dbBytes + LIMITS.diskFailBytes)) return problem(role, id, 'disk.low', `${line}; the database is ${bytes(f.dbBytes)}`, params);
  return passed(id, line);
}

// ---------------------------------------------------------------- database, wal

export interface DatabaseFacts {
  file: string;
  exists: boolean;
  sizeBytes: number;
  /** Opening or checking failed: SQLite's code and message. */
  error: { code: string; message: string } | null;
  /** PRAGMA quick_check's rows ("ok" when sound). */
  quickCheck: string[] | null;
  userVersion: number | null;
  knownVersion: number;
  /** How a damaged or missing database is rebuilt on this kind of device, for the fix. */
  rebuild: string;
}

export function checkDatabase(f: DatabaseFacts, role: Role): CheckResult {
  const id = 'database';
  const params = { file: f.file, rebuild: f.rebuild };
  if (!f.exists) return problem(role, id, 'database.missing', `${f.file} does not exist`, params);
  if (f.sizeBytes === 0) return problem(role, id, 'database.missing', `${f.file} is empty (0 bytes)`, params);
  if (f.error) {
    const corrupt = f.error.code === 'SQLITE_NOTADB' || f.error.code.startsWith('SQLITE_CORRUPT');
    return problem(role, id, corrupt ? 'database.corrupt' : 'database.unreadable', `${f.file}: ${f.error.message} (${f.error.code})`, params);
  }
  const rows = f.quickCheck ?? [];
  if (rows.length !== 1 || rows[0] !== 'ok') {
    return problem(role, id, 'database.corrupt', `${f.file}: quick_check found ${rows.length} problem(s), first: ${rows[0] ?? '(none)'}`, params);
  }
  if (f.userVersion !== null && f.userVersion > f.knownVersion) {
    return problem(role, id, 'database.newer_schema', `${f.file} has schema version ${f.userVersion}; this version knows up to ${f.knownVersion}`, params);
  }
  const migrate = f.userVersion !== null && f.userVersion < f.knownVersion ? ` (migrated to ${f.knownVersion} at the next start)` : '';
  return passed(id, `${f.file}: quick_check ok, ${bytes(f.sizeBytes)}, schema version ${f.userVersion ?? '-'}${migrate}`);
}

export interface WalFacts {
  file: string;
  /** null: no -wal file (a cleanly closed database). */
  bytes: number | null;
}

export function checkWal(f: WalFacts, role: Role): CheckResult {
  const id = 'wal';
  if (f.bytes === null) return passed(id, `no ${f.file}-wal (the database was closed cleanly)`);
  if (f.bytes > LIMITS.walWarnBytes) return problem(role, id, 'wal.large', `${f.file}-wal is ${bytes(f.bytes)} (warn above ${bytes(LIMITS.walWarnBytes)})`, { file: f.file });
  return passed(id, `${f.file}-wal is ${bytes(f.bytes)}`);
}

// ---------------------------------------------------------------- keys

export interface KeyFact {
  id: string;
  notAfter?: string | null | undefined;
}

export interface KeysFacts {
  /** The site's local date (keys are valid through their notAfter date). */
  today: string;
  offline: KeyFact[];
  control: KeyFact[];
  /** The device talks to the cloud (mqtt / sync set): control keys are needed. */
  needControl: boolean;
  /** The offline keys the running daemon loaded (the gate stores them); null when unknown. */
  loaded: KeyFact[] | null;
  /** The kiosk's own signing key: its file and whether it loads. */
  signingKey?: { file: string; error: string | null };
  /** A public key in the config that cannot be read (loadTrustedKeys' message); null when all load. */
  invalid: string | null;
}

const daysBetween = (from: string, to: string) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);

export function checkKeys(f: KeysFacts, role: Role): CheckResult {
  const id = 'keys';
  if (f.invalid) return problem(role, id, 'keys.invalid', f.invalid);
  if (f.signingKey?.error) return problem(role, id, 'keys.signing_key', `${f.signingKey.file}: ${f.signingKey.error}`, { file: f.signingKey.file });
  if (f.needControl && f.control.length === 0) return problem(role, id, 'keys.no_control', 'no control key, but the device is connected to a cloud');
  const all = [...f.offline.map((k) => ({ ...k, kind: 'offline' })), ...f.control.map((k) => ({ ...k, kind: 'control' }))];
  const expired = all.filter((k) => k.notAfter && k.notAfter < f.today);
  if (expired.length) {
    return problem(role, id, 'keys.expired', expired.map((k) => `${k.kind} key ${k.id} expired after ${k.notAfter}`).join('; '));
  }
  const soon = all.filter((k) => k.notAfter && daysBetween(f.today, k.notAfter) <= LIMITS.keyWarnDays);
  if (soon.length) {
    const first = soon.map((k) => k.notAfter!).sort()[0]!;
    return problem(role, id, 'keys.expiring', soon.map((k) => `${k.kind} key ${k.id} expires after ${k.notAfter} (${daysBetween(f.today, k.notAfter!)} days)`).join('; '), { date: first });
  }
  if (f.loaded) {
    const sig = (ks: KeyFact[]) => ks.map((k) => `${k.id}@${k.notAfter ?? ''}`).sort().join(',');
    if (sig(f.loaded) !== sig(f.offline)) return problem(role, id, 'keys.restart', `${role.config} lists offline keys ${f.offline.map((k) => k.id).join(', ') || '(none)'}; the daemon loaded ${f.loaded.map((k) => k.id).join(', ') || '(none)'}`);
  }
  const list = (ks: KeyFact[]) => (ks.length ? ks.map((k) => `${k.id}${k.notAfter ? ` until ${k.notAfter}` : ''}`).join(', ') : 'none');
  return passed(id, `offline: ${list(f.offline)}; control: ${list(f.control)}${f.signingKey ? `; own signing key ${f.signingKey.file} loads` : ''}`);
}

// ---------------------------------------------------------------- outbox

export interface OutboxFacts {
  depth: number;
  /** When the oldest waiting event was recorded. */
  oldestAt: number | null;
  now: number;
  /** mqtt.outboxMax; null when there is no such limit. */
  max: number | null;
  /** The device sends to a cloud (mqtt / sync configured). */
  linked: boolean;
}

export function checkOutbox(f: OutboxFacts, role: Role): CheckResult {
  const id = 'outbox';
  const age = f.oldestAt !== null ? Math.max(0, f.now - f.oldestAt) : 0;
  const line = f.depth === 0 ? 'empty' : `${f.depth} event(s) waiting, the oldest for ${ago(age)}`;
  if (!f.linked) return passed(id, `${line} (offline device: nothing is sent)`);
  if (f.max !== null && f.depth >= f.max) return problem(role, id, 'outbox.full', `${line}; limit ${f.max}`);
  if (f.depth > LIMITS.outboxWarnDepth || age > LIMITS.outboxWarnAgeMs) return problem(role, id, 'outbox.backlog', line);
  return passed(id, line);
}

// ---------------------------------------------------------------- relay (--relay only)

export type RelayFacts = { daemonRunning: true } | { daemonRunning: false; kind: string; pulses: number; error: string | null };

export function checkRelay(f: RelayFacts, role: Role): CheckResult {
  const id = 'relay';
  if (f.daemonRunning) return problem(role, id, 'relay.daemon_running', `${role.unit} is running and holds the relay: not pulsed`);
  if (f.error !== null) return problem(role, id, 'relay.failed', `${f.kind} relay: ${f.error}`);
  return passed(id, `${f.kind} relay: ${f.pulses} pulse sent (the turnstile should have clicked)`);
}
