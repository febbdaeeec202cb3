import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROOT_ENV, WORK_PREFIX, bookwormBase, inChroot, removeStaleWork, removeWork, run, runLogged, unmountAll } from './helpers/chroot.js';

// packaging/ end to end, as a technician meets it: a Debian bookworm made by debootstrap, the
// host's Node copied in (same glibc), a release built by build-release.sh, then install.sh for
// the gate role inside the chroot, the daemon started there as user stile, a second install,
// an upgrade and rollback, uninstall with and without --purge — and the refusals. systemd is
// not PID 1 in a chroot: the unit is checked with systemd-analyze, the daemon started by hand.

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CACHE = join(REPO, 'packaging/.cache');
const ARCH = process.arch === 'arm64' ? 'arm64' : 'amd64';
const V1 = '1.0.0-test';
const V2 = '1.0.1-test';
const REL1 = `/tmp/rel/stile-${V1}-linux-${ARCH}`;
const REL2 = `/tmp/rel/stile-${V2}-linux-${ARCH}`;
const INSTALL = `${REL1}/packaging/install.sh`;
const HOST_UNITS = '/usr/lib/systemd/system';
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const canRun = process.getuid?.() === 0 && ['debootstrap', 'chroot', 'mount', 'systemd-analyze', 'setarch'].every(has);
if (!canRun) console.warn('install.e2e: skipped: needs root, debootstrap, chroot, mount, setarch and systemd-analyze');

let work: string;
let root: string;
let daemon: ChildProcess | undefined;
let stile: { uid: number; gid: number };

const at = (p: string) => join(root, p);
const mode = (p: string) => statSync(at(p)).mode & 0o777;
const asStile = (argv: string[]) => inChroot(root, argv, { user: 'stile:stile' });
const mustMount = (args: string[]) => {
  const r = run('mount', args);
  if (r.status !== 0) throw new Error(`mount ${args.join(' ')}: ${r.stderr}`);
};
const userExists = () => inChroot(root, ['getent', 'passwd', 'stile']).status === 0;
/** A run that must succeed: its output is the failure message otherwise. */
const ok = (r: { status: number | null; stdout: string; stderr: string }) => {
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
};

function gateYaml(): string {
  return [
    'version: 1',
    'site: { id: install-test, name: Install Test, timezone: Asia/Shanghai }',
    'gate: { id: lane-1 }',
    'store: { path: /var/lib/stile/gate.db }',
    'keys:',
    '  idHash: { value: "install-test-id-hash-key-0123456789abcdef" }',
    '  offline: []',
    'ticketTypes:',
    '  - { id: adult, name: Adult, entries: { mode: single } }',
    'inputs:',
    '  - { type: lines, name: scanner-1, path: /var/lib/stile/scan.fifo }',
    'relay: { type: log }',
    '',
  ].join('\n');
}

describe.skipIf(!canRun)('install.sh in a Debian bookworm chroot', () => {
  beforeAll(async () => {
    removeStaleWork();
    work = mkdtempSync(join(tmpdir(), WORK_PREFIX));
    const out = join(work, 'release');
    // debootstrap (network, dpkg) and the release build (npm ci, compilers) side by side.
    const [base] = await Promise.all([
      bookwormBase(CACHE, join(work, 'debootstrap.log')),
      runLogged(join(REPO, 'packaging/build-release.sh'), ['--no-build', '--out', out, '--version', V1, '--deps-cache', join(CACHE, 'deps')], join(work, 'build.log')),
    ]);
    root = join(work, 'root');
    ok(run('cp', ['-a', base, root]));
    cpSync(process.execPath, at('usr/local/bin/node'));
    chmodSync(at('usr/local/bin/node'), 0o755);
    mkdirSync(at('tmp/rel'), { mode: 0o755 });
    cpSync(join(out, `stile-${V1}-linux-${ARCH}.tar.gz`), at(`${REL1}.tar.gz`));
    // The "newer" release: the same build under a later version, as an upgrade meets it.
    ok(run('cp', ['-a', join(out, `stile-${V1}-linux-${ARCH}`), at(REL2)]));
    const relJson = JSON.parse(readFileSync(at(`${REL2}/RELEASE.json`), 'utf8')) as { version: string };
    writeFileSync(at(`${REL2}/RELEASE.json`), JSON.stringify({ ...relJson, version: V2 }, null, 2));
    writeFileSync(at(`${REL2}/VERSION`), `${V2}\n`);
    rmSync(out, { recursive: true, force: true });
    mustMount(['-t', 'proc', 'proc', at('proc')]);
    mustMount(['--bind', '/dev', at('dev')]);
    // What the technician does with the tarball on the Pi.
    ok(inChroot(root, ['tar', '-xzf', `${REL1}.tar.gz`, '-C', '/tmp/rel']));
  }, 900_000);

  afterAll(async () => {
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGKILL');
      await new Promise((r) => daemon!.once('exit', r));
    }
    if (work) removeWork(work);
  });

  it('a role it does not know is a usage error', () => {
    const r = run('bash', [join(REPO, 'packaging/install.sh'), 'turnstile']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown role "turnstile" (gate, kiosk, announcer or cloud)');
  });

  it('refuses to run without root, and writes nothing', () => {
    const r = inChroot(root, ['bash', INSTALL, 'gate'], { user: 'nobody:nogroup' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('install.sh: must run as root: sudo');
    expect(existsSync(at('etc/stile'))).toBe(false);
    expect(userExists()).toBe(false);
  });

  it('refuses an unsupported (32-bit) architecture', () => {
    const r = inChroot(root, ['bash', INSTALL, 'gate'], { prefix: ['setarch', 'linux32'] });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/unsupported architecture (i686|armv[78]l)/);
    expect(existsSync(at('opt/stile'))).toBe(false);
  });

  it('refuses a read-only root file system and names the fix', () => {
    const ro = join(work, 'ro');
    mkdirSync(ro);
    try {
      mustMount(['--bind', root, ro]);
      mustMount(['-o', 'remount,bind,ro', ro]);
      const r = inChroot(ro, ['bash', INSTALL, 'gate']);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('is on a read-only file system: remount rw / (mount -o remount,rw /) or use overlayfs off');
    } finally {
      unmountAll(ro);
    }
    expect(existsSync(at('etc/stile'))).toBe(false);
  });

  it('refuses when the disk is too full, before writing anything', () => {
    mustMount(['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', at('opt')]);
    try {
      const r = inChroot(root, ['bash', INSTALL, 'gate']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/disk too full: 1[56] MB free on \/opt, the release \(\d+ MB\) needs \d+ MB/);
    } finally {
      unmountAll(at('opt'));
    }
    expect(existsSync(at('etc/stile'))).toBe(false);
    expect(userExists()).toBe(false);
  });

  it('installs the gate role: user, directories, code, commands, udev, journald and a unit systemd accepts', () => {
    const out = ok(inChroot(root, [INSTALL, 'gate']));
    expect(out).toContain('created system user stile');
    expect(out).toContain(`installed the code in /opt/stile/${V1}`);
    expect(out).toContain('systemd is not running here (chroot or container)');
    expect(out).toContain('no /etc/stile/gate.yaml yet: gatectl provision <bundle>');

    const [, , uid, gid, , home, shell] = inChroot(root, ['getent', 'passwd', 'stile']).stdout.trim().split(':');
    stile = { uid: Number(uid), gid: Number(gid) };
    expect([home, shell]).toEqual(['/var/lib/stile', '/usr/sbin/nologin']);
    expect(stile.uid).toBeLessThan(1000); // a system user
    expect(inChroot(root, ['id', '-nG', 'stile']).stdout.trim().split(' ')).toEqual(expect.arrayContaining(['stile', 'dialout', 'plugdev']));

    expect([mode('etc/stile'), statSync(at('etc/stile')).uid, statSync(at('etc/stile')).gid]).toEqual([0o750, 0, stile.gid]);
    expect([mode('var/lib/stile'), statSync(at('var/lib/stile')).uid, statSync(at('var/lib/stile')).gid]).toEqual([0o750, stile.uid, stile.gid]);
    expect(readlinkSync(at('opt/stile/current'))).toBe(V1);
    expect(statSync(at(`opt/stile/${V1}/gate-agent/dist`)).uid).toBe(0);
    // Built JavaScript and production modules only.
    for (const absent of ['gate-agent/src', 'gate-agent/test', 'demo', 'hardware-sim', 'node_modules/typescript', 'node_modules/vitest', 'node_modules/@stile/demo']) {
      expect(existsSync(at(`opt/stile/${V1}/${absent}`)), absent).toBe(false);
    }

    for (const [installed, shipped] of [
      ['etc/systemd/system/stile-gate.service', 'systemd/stile-gate.service'],
      ['etc/udev/rules.d/70-stile.rules', 'udev/70-stile.rules'],
      ['etc/systemd/journald.conf.d/stile.conf', 'journald/stile.conf'],
    ] as const) {
      expect(readFileSync(at(installed), 'utf8'), installed).toBe(readFileSync(join(REPO, 'packaging', shipped), 'utf8'));
    }

    const names = ['gatectl', 'kioskctl', 'stile-cloud', 'stile-gate', 'stile-kiosk', 'stile-announcer'];
    expect(ok(inChroot(root, ['bash', '-c', `command -v ${names.join(' ')}`])).trim().split('\n')).toEqual(names.map((n) => `/usr/local/bin/${n}`));
    expect(readlinkSync(at('usr/local/bin/gatectl'))).toBe('/opt/stile/current/gate-agent/bin/gatectl.js');

    // The unit as systemd reads it, against this root (its ExecStart must exist and be executable here).
    cpSync(HOST_UNITS, at(HOST_UNITS), { recursive: true });
    try {
      const verify = run('systemd-analyze', ['verify', `--root=${root}`, '/etc/systemd/system/stile-gate.service']);
      expect(verify.stderr).toBe('');
      expect(verify.status).toBe(0);
    } finally {
      rmSync(at('usr/lib/systemd'), { recursive: true, force: true });
    }
  });

  it('the installed gate starts as user stile, admits a ticket, and gatectl reads its state', async () => {
    // What provisioning leaves: gate.yaml root:stile 0640; a whitelist; a FIFO as the scanner.
    writeFileSync(at('etc/stile/gate.yaml'), gateYaml(), { mode: 0o640 });
    chownSync(at('etc/stile/gate.yaml'), 0, stile.gid);
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
    writeFileSync(at('var/lib/stile/whitelist.ndjson'), `${JSON.stringify({ ticketId: 'INSTALLTEST0001', typeId: 'adult', visitDate: today, persons: 1 })}\n`);
    chownSync(at('var/lib/stile/whitelist.ndjson'), stile.uid, stile.gid);
    expect(ok(asStile(['gatectl', 'tickets', 'import', '/var/lib/stile/whitelist.ndjson']))).toContain('imported 1 tickets');
    ok(asStile(['mkfifo', '-m', '0600', '/var/lib/stile/scan.fifo']));

    const lines: Array<Record<string, unknown>> = [];
    let stderr = '';
    daemon = spawn('chroot', ['--userspec=stile:stile', root, '/usr/bin/env', '-i', ...CHROOT_ENV, 'stile-gate', '--config', '/etc/stile/gate.yaml'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    daemon.stdout!.on('data', (b: Buffer) => {
      buf += b.toString('utf8');
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const l of parts) if (l.startsWith('{')) lines.push(JSON.parse(l) as Record<string, unknown>);
    });
    daemon.stderr!.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const exited = new Promise<number | null>((r) => daemon!.once('exit', (code) => r(code)));
    const until = async (what: string, pred: () => boolean) => {
      for (let i = 0; i < 600 && !pred(); i++) {
        if (daemon!.exitCode !== null) throw new Error(`stile-gate exited ${daemon!.exitCode} waiting for ${what}: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      if (!pred()) throw new Error(`no ${what} from stile-gate: ${JSON.stringify(lines)} ${stderr}`);
    };
    const event = (name: string) => lines.filter((l) => l.event === name);

    await until('started', () => event('started').length > 0);
    // chroot execs env, env execs node: the child's pid is the daemon's.
    const uidLine = readFileSync(`/proc/${daemon.pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:'))!;
    expect(uidLine.split(/\s+/).slice(1, 3)).toEqual([String(stile.uid), String(stile.uid)]);

    const scanner = await open(at('var/lib/stile/scan.fifo'), 'w');
    try {
      await scanner.write('ST1:INSTALLTEST0001\n');
      await until('a relay pulse', () => event('relay_pulse').length > 0);
      expect(event('admit').map((a) => a.ticketId)).toEqual(['INSTALLTEST0001']);

      // The daemon writes its status for gatectl every 2 s: read until the admission shows.
      let status = '';
      await until('the admission in gatectl status', () => /scans\s+1 admitted/.test((status = ok(asStile(['gatectl', 'status'])))));
      expect(status).toMatch(/daemon\s+running, pid \d+/);
      expect(ok(asStile(['gatectl', 'config', 'validate']))).toContain('/etc/stile/gate.yaml: valid (site install-test, gate lane-1)');
    } finally {
      await scanner.close();
      if (daemon.exitCode === null) daemon.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(event('stopped')).toHaveLength(1);
  });

  it('a second install on the configured machine keeps gate.yaml and the data, and says so', () => {
    const yaml = readFileSync(at('etc/stile/gate.yaml'), 'utf8');
    const out = ok(inChroot(root, [INSTALL, 'gate', '--release', `${REL1}.tar.gz`]));
    expect(out).toContain('user stile exists');
    expect(out).toContain(`/opt/stile/${V1} already installed (same build)`);
    expect(out).toContain('keeping /etc/stile/gate.yaml (configured machine: config and data in /var/lib/stile are kept)');
    expect(readFileSync(at('etc/stile/gate.yaml'), 'utf8')).toBe(yaml);
    expect([mode('etc/stile/gate.yaml'), statSync(at('etc/stile/gate.yaml')).gid]).toEqual([0o640, stile.gid]);
    expect(ok(asStile(['gatectl', 'status']))).toMatch(/scans\s+1 admitted/);
  });

  it('an upgrade switches /opt/stile/current and keeps the previous version; rollback.sh goes back and forth', () => {
    const yaml = readFileSync(at('etc/stile/gate.yaml'), 'utf8');
    const out = ok(inChroot(root, [INSTALL, 'gate', '--release', REL2]));
    expect(out).toContain(`upgraded ${V1} → ${V2}; ${V1} kept for rollback`);
    expect([readlinkSync(at('opt/stile/current')), readlinkSync(at('opt/stile/previous'))]).toEqual([V2, V1]);
    expect(existsSync(at(`opt/stile/${V1}/gate-agent/bin/stile-gate.js`))).toBe(true);
    expect(readFileSync(at('etc/stile/gate.yaml'), 'utf8')).toBe(yaml);
    expect(ok(asStile(['gatectl', 'status']))).toMatch(/scans\s+1 admitted/);

    expect(ok(inChroot(root, ['/opt/stile/current/packaging/rollback.sh']))).toContain(`rolled back ${V2} → ${V1}`);
    expect([readlinkSync(at('opt/stile/current')), readlinkSync(at('opt/stile/previous'))]).toEqual([V1, V2]);
    ok(inChroot(root, ['/opt/stile/current/packaging/rollback.sh']));
    expect([readlinkSync(at('opt/stile/current')), readlinkSync(at('opt/stile/previous'))]).toEqual([V2, V1]);
  });

  it('uninstall without --purge removes the code and unit but keeps /etc/stile, /var/lib/stile and the user', () => {
    const out = ok(inChroot(root, ['/opt/stile/current/packaging/uninstall.sh', 'gate']));
    expect(out).toContain('kept /etc/stile, /var/lib/stile and the user stile');
    for (const gone of ['etc/systemd/system/stile-gate.service', 'opt/stile', 'usr/local/bin/gatectl', 'etc/udev/rules.d/70-stile.rules', 'etc/systemd/journald.conf.d/stile.conf']) {
      expect(existsSync(at(gone)), gone).toBe(false);
    }
    expect(existsSync(at('etc/stile/gate.yaml'))).toBe(true);
    expect(existsSync(at('var/lib/stile/gate.db'))).toBe(true);
    expect(userExists()).toBe(true);
  });

  it('installing again picks up the kept config; uninstall --purge writes a backup first, then removes config, data and user', () => {
    expect(ok(inChroot(root, [`${REL2}/packaging/install.sh`, 'gate']))).toContain('keeping /etc/stile/gate.yaml');
    const out = ok(inChroot(root, ['/opt/stile/current/packaging/uninstall.sh', 'gate', '--purge']));
    const backup = /backup of \/etc\/stile and \/var\/lib\/stile: (\/var\/backups\/stile-purge-[\d-]+\.tar\.gz)/.exec(out)?.[1];
    expect(backup, out).toBeDefined();
    expect(mode(backup!.slice(1))).toBe(0o600);
    const listed = ok(run('tar', ['-tzf', at(backup!.slice(1))])).split('\n');
    expect(listed).toEqual(expect.arrayContaining(['etc/stile/gate.yaml', 'var/lib/stile/gate.db']));
    expect(existsSync(at('etc/stile'))).toBe(false);
    expect(existsSync(at('var/lib/stile'))).toBe(false);
    expect(userExists()).toBe(false);
  });
});
