/**
 * The doctor's probes of the machine: stat, /etc/passwd and /etc/group, NTP state, the
 * cloud's Date header, free space, the database on a read-only connection. I/O only; what
 * the findings mean is decided in doctor-checks.ts.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statfsSync, statSync, type Stats } from 'node:fs';
import Database from 'better-sqlite3';
import { groupNames, parseUser, type NodeInfo, type UserInfo } from './doctor-access.js';
import type { ClockFacts, DatabaseFacts, DiskFacts, FileFact, WalFacts } from './doctor-checks.js';

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

let groupCache: Map<number, string> | undefined;
let passwdCache: Map<number, string> | undefined;

function kindOf(st: Stats): NodeInfo['kind'] {
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isCharacterDevice() ? 'char' : st.isFIFO() ? 'fifo' : st.isSocket() ? 'socket' : 'other';
}

/** Owner, group and mode of a path (following links: /dev/serial/by-id/… names a tty); null when it is not there. */
export function statNode(path: string): NodeInfo | null {
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    return null;
  }
  groupCache ??= groupNames(readText('/etc/group'));
  passwdCache ??= new Map(readText('/etc/passwd').split('\n').map((l) => l.split(':')).filter((f) => f.length > 3).map((f) => [Number(f[2]), f[0]!]));
  return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, group: groupCache.get(st.gid), owner: passwdCache.get(st.uid), kind: kindOf(st) };
}

/** The daemon's user from /etc/passwd and /etc/group; null when it does not exist here. */
export function readUser(name: string): UserInfo | null {
  return parseUser(name, readText('/etc/passwd'), readText('/etc/group'));
}

export function fileFact(label: string, path: string, secret: boolean): FileFact {
  return { label, path, node: statNode(path), secret };
}

// ---------------------------------------------------------------- clock

type Run = (cmd: string, args: string[]) => string;
const run: Run = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8', timeout: 3000, stdio: ['ignore', 'pipe', 'ignore'] });

/** `chronyc tracking`'s "Leap status" line: Normal (synchronised) or Not synchronised. */
export function parseChronyTracking(text: string): 'yes' | 'no' | 'unknown' {
  const leap = /^Leap status\s*:\s*(.+)$/m.exec(text)?.[1]?.trim();
  if (!leap) return 'unknown';
  return /not synchronised/i.test(leap) ? 'no' : 'yes';
}

/**
 * Is NTP synchronised? Asks, in turn, timedatectl (systemd), the flag file systemd-timesyncd
 * keeps, and chrony. Any one that answers decides; none: unknown.
 */
export function probeNtp(exec: Run = run, flagFile = '/run/systemd/timesync/synchronized'): ClockFacts['ntp'] {
  const tried: string[] = [];
  try {
    const v = exec('timedatectl', ['show', '-p', 'NTPSynchronized', '--value']).trim();
    if (v === 'yes' || v === 'no') return { state: v, source: 'timedatectl' };
    tried.push(`timedatectl said "${v}"`);
  } catch {
    tried.push('timedatectl did not answer');
  }
  if (existsSync(flagFile)) return { state: 'yes', source: flagFile };
  try {
    const state = parseChronyTracking(exec('chronyc', ['-n', 'tracking']));
    if (state !== 'unknown') return { state, source: 'chronyc tracking' };
    tried.push('chronyc gave no leap status');
  } catch {
    tried.push('no chronyc');
  }
  return { state: 'unknown', source: tried.join(', ') };
}

/**
 * Our clock against the cloud's HTTP Date header (whole seconds): any answer carries one,
 * a 401 too. Positive offset: this machine is ahead.
 */
export async function probeCloudClock(url: string, now: () => number = Date.now): Promise<NonNullable<ClockFacts['cloud']>> {
  const t0 = now();
  try {
    const res = await fetch(url, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(5000) });
    const t1 = now();
    await res.body?.cancel().catch(() => undefined);
    const date = res.headers.get('date');
    const server = date ? Date.parse(date) : NaN;
    if (!Number.isFinite(server)) return { url, error: 'no Date header in the answer' };
    // The header is truncated to the second: the server's time was somewhere in [date, date + 1 s).
    return { url, offsetMs: Math.round((t0 + t1) / 2 - (server + 500)) };
  } catch (err) {
    return { url, error: networkWords(err) };
  }
}

/** fetch's "fetch failed" hides the reason in `cause`. */
export function networkWords(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'no answer within the time limit';
  const c = e.cause;
  if (c?.code) return `${c.code}${c.message && !c.message.includes(c.code) ? ` (${c.message})` : ''}`;
  return c?.message ?? e.message;
}

// ---------------------------------------------------------------- disk, database, wal

export function probeDisk(dir: string, dbBytes: number, user: UserInfo | null): DiskFacts {
  const dirNode = statNode(dir);
  let space: DiskFacts['space'] = null;
  let writable: DiskFacts['writable'] = { ok: true };
  if (dirNode) {
    try {
      const s = statfsSync(dir);
      // bavail: what an unprivileged user (the daemon) may still use; root's reserve does not count.
      space = { totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
    } catch {
      space = null;
    }
    try {
      accessSync(dir, constants.W_OK);
    } catch (err) {
      writable = { ok: false, code: (err as NodeJS.ErrnoException).code ?? 'EACCES' };
    }
  }
  return { dir, dirNode, space, writable, dbBytes, user };
}

export function fileSize(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

export function probeWal(file: string): WalFacts {
  return { file, bytes: fileSize(`${file}-wal`) };
}

/**
 * Open the database read-only (never created, never migrated, nothing written even on a
 * read-only filesystem), run PRAGMA quick_check and read its schema version; then `more`
 * reads what the other checks need while it is open.
 */
export function probeDatabase<T>(file: string, knownVersion: number, rebuild: string, more?: (db: Database.Database) => T): { facts: DatabaseFacts; more: T | null } {
  const size = fileSize(file);
  const facts: DatabaseFacts = { file, exists: size !== null, sizeBytes: size ?? 0, error: null, quickCheck: null, userVersion: null, knownVersion, rebuild };
  if (size === null || size === 0) return { facts, more: null };
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    facts.quickCheck = (db.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check);
    facts.userVersion = db.pragma('user_version', { simple: true }) as number;
    const sound = facts.quickCheck.length === 1 && facts.quickCheck[0] === 'ok';
    return { facts, more: sound && more ? more(db) : null };
  } catch (err) {
    const e = err as Error & { code?: string };
    facts.error = { code: e.code ?? 'ERROR', message: e.message };
    return { facts, more: null };
  } finally {
    db?.close();
  }
}
