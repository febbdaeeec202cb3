/**
 * A linked pair of pseudo-terminals made by socat (or, on a machine without socat, by
 * scripts/pty-pair.py with python3, which does the same):
 *
 *   <dir>/<name>      the "device": the gate opens it as if it were /dev/ttyUSB0
 *   <dir>/<name>.sim  the simulator's end
 *
 * Bytes written on one end come out of the other. Killing socat is an unplug: both ends hang
 * up (serialport reports a disconnect) and socat removes the links.
 *
 * socat is started under `setpriv --pdeathsig TERM` where util-linux has it, so it dies with
 * the process that made it even on kill -9; otherwise an exit hook kills what is still running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, unlinkSync } from 'node:fs';
import { basename, delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimError, SimErrorCode } from './errors.js';

export interface PtyOptions {
  /** socat binary; found on PATH (then /usr/bin, /bin, /usr/local/bin) when not given. */
  socatPath?: string;
  /**
   * Which program links the ptys: socat, or python3 running scripts/pty-pair.py. Default:
   * `STILE_PTY_RELAY` if set, else socat when it is installed, else python3.
   */
  ptyRelay?: PtyRelay;
  /** How long socat may take to create both links. Default 5000. */
  readyTimeoutMs?: number;
}

export interface PtyExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Pty {
  /** The path the gate opens (a symlink to /dev/pts/N). */
  readonly devicePath: string;
  /** The path the simulator opens. */
  readonly simPath: string;
  /** socat's process id. */
  readonly pid: number;
  /** True once socat has exited, for whatever reason. */
  readonly exited: boolean;
  /** Settles when socat exits (after close(), an unplug, or someone killing it). */
  readonly exit: Promise<PtyExit>;
  /** Kill socat (TERM, then KILL after 1 s) and remove the links. Idempotent. */
  close(): Promise<void>;
}

export type PtyRelay = 'socat' | 'python';
const PTY_PAIR_SCRIPT = fileURLToPath(new URL('../scripts/pty-pair.py', import.meta.url));

const FALLBACK_DIRS = ['/usr/bin', '/bin', '/usr/local/bin'];
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Characters socat's address parser would take as syntax. */
const UNSAFE_DIR_RE = /[,:!'"\s\\{}[\]()%]/;
const STDERR_KEEP = 4096;
const KILL_GRACE_MS = 1000;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGTERM');
  });
}

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...FALLBACK_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The socat binary, or SimError(SOCAT_NOT_FOUND) with the install hint. */
export function findSocat(explicit?: string): string {
  const hint = 'socat not found: apt-get install socat';
  if (explicit === undefined) {
    const found = findExecutable('socat');
    if (found === undefined) throw new SimError(SimErrorCode.SocatNotFound, hint);
    return found;
  }
  try {
    accessSync(explicit, constants.X_OK);
  } catch {
    throw new SimError(SimErrorCode.SocatNotFound, `${hint} (${explicit} is not an executable)`);
  }
  return explicit;
}

let setprivPath: string | null | undefined;
function findSetpriv(): string | null {
  if (setprivPath === undefined) setprivPath = findExecutable('setpriv') ?? null;
  return setprivPath;
}

/** Device and simulator paths for a name, checked for what socat can take. */
export function ptyPaths(dir: string, name: string): { devicePath: string; simPath: string } {
  if (!NAME_RE.test(name)) throw new SimError(SimErrorCode.BadPath, `device name "${name}" must be 1–64 chars of [A-Za-z0-9._-]`);
  const abs = resolve(dir);
  if (UNSAFE_DIR_RE.test(abs)) throw new SimError(SimErrorCode.BadPath, `directory "${abs}" has characters socat cannot take in a link path`);
  return { devicePath: join(abs, name), simPath: join(abs, `${name}.sim`) };
}

/** The pid of a running socat (or pty-pair.py) that made a link at `path` (another stile-sim, say). */
function relayOwning(path: string): { pid: number; kind: string } | undefined {
  const arg = `link=${path}`;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
      if (basename(argv[0] ?? '') === 'setpriv') continue;
      if (argv.some((a) => a.endsWith(arg) && a.startsWith('pty'))) return { pid: Number(pid), kind: 'socat' };
      if (argv[1]?.endsWith('pty-pair.py') && argv.slice(2).includes(path)) return { pid: Number(pid), kind: 'pty-pair.py' };
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/**
 * A stale link from a socat that was killed with -9 goes. A link a running socat still serves,
 * or anything that is not a symlink, is an error rather than something to take over.
 */
function clearStaleLink(path: string): void {
  let isLink: boolean;
  try {
    isLink = lstatSync(path).isSymbolicLink();
  } catch {
    return;
  }
  if (!isLink) throw new SimError(SimErrorCode.PathExists, `${path} exists and is not a symlink; not replacing it`);
  const owner = relayOwning(path);
  if (owner !== undefined) throw new SimError(SimErrorCode.PathExists, `${path} is in use by ${owner.kind} pid ${owner.pid} (another stile-sim on the same --dir?)`);
  unlinkSync(path);
}

function linkTarget(path: string): string | undefined {
  try {
    const target = readlinkSync(path);
    statSync(path);
    return target;
  } catch {
    return undefined;
  }
}

/** Remove a link only if it still points where ours did (a newer socat may own the path now). */
function removeOwnLink(path: string, target: string | undefined): void {
  if (target === undefined) return;
  try {
    if (readlinkSync(path) === target) unlinkSync(path);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The program and arguments that link the two ptys: socat where it is installed (or asked
 * for), else python3 with scripts/pty-pair.py, so a fresh machine with Node alone (and
 * python3, which node-gyp needs anyway) runs the simulator too.
 */
function relayCommand(devicePath: string, simPath: string, opts: PtyOptions): { bin: string; args: string[] } {
  const wanted = opts.ptyRelay ?? (process.env.STILE_PTY_RELAY as PtyRelay | undefined);
  const socatArgs = ['-d', '-d', `pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${simPath}`];
  if (wanted === 'socat' || opts.socatPath !== undefined) return { bin: findSocat(opts.socatPath), args: socatArgs };
  const socat = wanted === 'python' ? undefined : findExecutable('socat');
  if (socat !== undefined) return { bin: socat, args: socatArgs };
  const python = findExecutable('python3');
  if (python === undefined) throw new SimError(SimErrorCode.SocatNotFound, 'socat not found: apt-get install socat (or install python3 for the built-in pty pair)');
  return { bin: python, args: [PTY_PAIR_SCRIPT, devicePath, simPath] };
}

/** Start socat (or pty-pair.py) and wait until both links exist. */
export async function createPty(dir: string, name: string, opts: PtyOptions = {}): Promise<Pty> {
  const { devicePath, simPath } = ptyPaths(dir, name);
  const relay = relayCommand(devicePath, simPath, opts);
  mkdirSync(resolve(dir), { recursive: true });
  clearStaleLink(devicePath);
  clearStaleLink(simPath);

  const setpriv = findSetpriv();
  const child = setpriv ? spawn(setpriv, ['--pdeathsig', 'TERM', relay.bin, ...relay.args], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn(relay.bin, relay.args, { stdio: ['ignore', 'ignore', 'pipe'] });
  installExitHook();
  live.add(child);

  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP);
  });
  let spawnError: Error | undefined;
  let exitInfo: PtyExit | undefined;
  const exit = new Promise<PtyExit>((resolveExit) => {
    child.once('error', (err) => {
      spawnError = err;
      exitInfo ??= { code: null, signal: null };
      live.delete(child);
      resolveExit(exitInfo);
    });
    child.once('exit', (code, signal) => {
      exitInfo ??= { code, signal };
      live.delete(child);
      resolveExit(exitInfo);
    });
  });
  // Neither socat nor its stderr pipe may keep a script alive that forgot close();
  // pdeathsig / the exit hook take socat down with us.
  child.unref();
  (child.stderr as { unref?: () => void } | null)?.unref?.();

  const targets: { device?: string; sim?: string } = {};
  const close = async (): Promise<void> => {
    if (exitInfo === undefined) {
      child.kill('SIGTERM');
      const timer = sleep(KILL_GRACE_MS).then(() => 'timeout' as const);
      if ((await Promise.race([exit, timer])) === 'timeout') {
        child.kill('SIGKILL');
        await exit;
      }
    }
    removeOwnLink(devicePath, targets.device);
    removeOwnLink(simPath, targets.sim);
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 5000);
  for (;;) {
    if (exitInfo !== undefined) {
      const why = spawnError ? spawnError.message : `exit ${exitInfo.code ?? exitInfo.signal}`;
      const code = (spawnError as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' ? SimErrorCode.SocatNotFound : SimErrorCode.SocatFailed;
      throw new SimError(code, `${basename(relay.bin)} for ${devicePath} failed (${why}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    }
    targets.device = linkTarget(devicePath);
    targets.sim = linkTarget(simPath);
    if (targets.device !== undefined && targets.sim !== undefined) break;
    if (Date.now() > deadline) {
      await close();
      throw new SimError(SimErrorCode.SocatFailed, `${basename(relay.bin)} did not create ${devicePath} and ${simPath} in time: ${stderr.trim()}`);
    }
    await sleep(5);
  }

  return {
    devicePath,
    simPath,
    pid: child.pid ?? -1,
    get exited() {
      return exitInfo !== undefined;
    },
    exit,
    close,
  };
}
