import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The environment a root shell on the target has: nothing from the test runner leaks in (no NOTIFY_SOCKET). */
export const CHROOT_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', 'LANG=C.UTF-8'];
export const WORK_PREFIX = 'stile-install-';

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

const result = (r: SpawnSyncReturns<string>): Run => ({ status: r.status, stdout: r.stdout, stderr: r.stderr });

export function run(cmd: string, args: string[], opts: { input?: string } = {}): Run {
  return result(spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts }));
}

/** Run argv inside the chroot as root (or as `user` with --userspec), with a clean environment. */
export function inChroot(root: string, argv: string[], opts: { user?: string; prefix?: string[] } = {}): Run {
  const chroot = [...(opts.user ? [`--userspec=${opts.user}`] : []), root, '/usr/bin/env', '-i', ...CHROOT_ENV, ...argv];
  const [cmd, ...args] = [...(opts.prefix ?? []), 'chroot', ...chroot];
  return run(cmd!, args);
}

/** A long command without blocking the worker; its output goes to `log`, the tail of which a failure shows. */
export function runLogged(cmd: string, args: string[], log: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.stderr.on('data', (b: Buffer) => chunks.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const text = Buffer.concat(chunks).toString('utf8');
      writeFileSync(log, text);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${text.split('\n').slice(-30).join('\n')}`));
    });
  });
}

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo; octal escapes decoded). */
export function mountsUnder(dir: string): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  return points.filter((p) => p === dir || p.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
}

/** Unmount everything below `dir`; true when nothing is left mounted there. */
export function unmountAll(dir: string): boolean {
  for (let pass = 0; pass < 3; pass++) {
    for (const p of mountsUnder(dir)) {
      if (spawnSync('umount', [p]).status !== 0) spawnSync('umount', ['-l', p]);
    }
    if (mountsUnder(dir).length === 0) return true;
  }
  return false;
}

/**
 * Remove a work folder, but only once nothing is mounted in it: an rm -rf through a bind mount
 * of /dev would delete the host's device nodes.
 */
export function removeWork(dir: string): void {
  if (unmountAll(dir)) rmSync(dir, { recursive: true, force: true });
  else console.error(`install test: ${dir} still has mounts (${mountsUnder(dir).join(', ')}): left in place`);
}

/** Work folders of earlier runs killed before their afterAll (over an hour old): unmount and remove. */
export function removeStaleWork(): void {
  for (const name of readdirSync(tmpdir())) {
    const dir = join(tmpdir(), name);
    if (name.startsWith(WORK_PREFIX) && Date.now() - statSync(dir).mtimeMs > 3_600_000) removeWork(dir);
  }
}

/**
 * A Debian bookworm minbase tree, made once a day into `cacheDir` (debootstrap takes a minute;
 * a clean CI machine makes it every run). Older days' trees are removed.
 */
export async function bookwormBase(cacheDir: string, log: string): Promise<string> {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  const base = join(cacheDir, `bookworm-minbase-${day}`);
  if (existsSync(join(base, '.complete'))) return base;
  mkdirSync(cacheDir, { recursive: true });
  for (const name of readdirSync(cacheDir)) {
    if (name.startsWith('bookworm-minbase-')) rmSync(join(cacheDir, name), { recursive: true, force: true });
  }
  const tmp = `${base}.partial`;
  await runLogged('debootstrap', ['--variant=minbase', 'bookworm', tmp, 'http://deb.debian.org/debian'], log);
  writeFileSync(join(tmp, '.complete'), `${new Date().toISOString()}\n`);
  renameSync(tmp, base);
  return base;
}
