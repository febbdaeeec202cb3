/**
 * What the doctor's end-to-end tests run against: a real `stile-cloud` with its embedded
 * broker and HTTP API, gates provisioned as a technician does (`stile-cloud gate add`), real
 * `gatectl doctor` runs, and small filesystems mounted for the disk cases.
 */
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { generateSigningKeyPair } from '@stile/config';
import type { CheckResult } from '../../src/cli/doctor-report.js';
import { GATECTL_BIN } from '../helpers/processes.js';

export const CLOUD_BIN = fileURLToPath(new URL('../../../cloud-bridge/bin/stile-cloud.js', import.meta.url));

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A real stile-cloud (SQLite, embedded broker) for one site whose control key the test holds. */
export class Cloud {
  out = '';
  err = '';
  private constructor(
    readonly proc: ChildProcess,
    readonly configPath: string,
    readonly brokerUrl: string,
    readonly httpBase: string,
    readonly controlPublicKey: string,
  ) {
    proc.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
  }

  static async start(dir: string, site: string, gates: string[]): Promise<Cloud> {
    const control = generateSigningKeyPair('ck1');
    writeFileSync(join(dir, 'control.pem'), control.privateKeyPem, { mode: 0o600 });
    const [brokerPort, httpPort] = [await freePort(), await freePort()];
    const configPath = join(dir, 'cloud.yaml');
    writeFileSync(
      configPath,
      stringify({
        broker: { port: brokerPort },
        mqtt: { url: `mqtt://127.0.0.1:${brokerPort}`, sharedGroup: 'doctor' },
        http: { port: httpPort },
        database: { sqlitePath: join(dir, 'cloud.db') },
        sites: [{ id: site, controlKey: { id: 'ck1', privateKeyFile: join(dir, 'control.pem') }, gates }],
      }),
    );
    const proc = spawn(process.execPath, [CLOUD_BIN, '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info', DATABASE_URL: '' } });
    const cloud = new Cloud(proc, configPath, `mqtt://127.0.0.1:${brokerPort}`, `http://127.0.0.1:${httpPort}`, control.publicKey);
    await until(() => {
      if (proc.exitCode !== null) throw new Error(`stile-cloud exited ${proc.exitCode}: ${cloud.err}`);
      return cloud.out.includes('cloud-bridge started');
    }, 'stile-cloud started');
    return cloud;
  }

  /** A gate's credential from the registry, as `stile-cloud gate add` prints it. */
  gateAdd(site: string, gate: string): { username: string; token: string } {
    const r = spawnSync(process.execPath, [CLOUD_BIN, 'gate', 'add', site, gate, '--json', '--config', this.configPath], { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' } });
    if (r.status !== 0) throw new Error(`gate add: ${r.stderr}`);
    return JSON.parse(r.stdout) as { username: string; token: string };
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = once(this.proc, 'exit');
    this.proc.kill('SIGTERM');
    await exited;
  }
}

export function scratch(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A `timedatectl` that says NTP is synchronised, first on PATH: this build machine runs no
 * systemd, and the healthy gate must be able to pass every check.
 */
export function ntpSaysYes(dir: string): NodeJS.ProcessEnv {
  const bin = join(dir, 'fake-bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'timedatectl'), '#!/bin/sh\necho yes\n');
  chmodSync(join(bin, 'timedatectl'), 0o755);
  return { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
}

export interface DoctorRun {
  code: number;
  stdout: string;
  stderr: string;
  results: CheckResult[];
  byId(id: string): CheckResult;
}

/** `gatectl --config F doctor --json …` as a technician runs it; the JSON array parsed. */
export function doctor(configPath: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env, bin = GATECTL_BIN): Promise<DoctorRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, '--config', configPath, 'doctor', '--json', ...args], { encoding: 'utf8', env }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      let results: CheckResult[] = [];
      try {
        results = JSON.parse(stdout) as CheckResult[];
      } catch {
        results = [];
      }
      resolve({
        code, stdout, stderr, results,
        byId: (id) => {
          const r = results.find((x) => x.id === id);
          if (!r) throw new Error(`no check "${id}" in ${stdout}${stderr}`);
          return r;
        },
      });
    });
  });
}

/** Can this test mount filesystems (root, and a kernel that lets it)? The disk cases need it. */
export const CAN_MOUNT: boolean = (() => {
  if (process.getuid?.() !== 0) return false;
  const probe = mkdtempSync(join(tmpdir(), 'stile-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
})();

/** A tmpfs of `size` (e.g. "1m") on a new folder; umount() in afterAll. */
export function mountTmpfs(dir: string, size: string): { dir: string; readOnly(): void; umount(): void } {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  let mounted = true;
  return {
    dir,
    readOnly: () => execFileSync('mount', ['-o', 'remount,ro', dir]),
    umount: () => {
      if (!mounted) return;
      mounted = false;
      execFileSync('umount', ['-l', dir]);
    },
  };
}

/** Run gatectl once and wait (import a whitelist and the like). */
export function gatectlSync(configPath: string, ...args: string[]): void {
  const r = spawnSync(process.execPath, [GATECTL_BIN, '--config', configPath, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gatectl ${args.join(' ')}: ${r.stderr}`);
}

export function execQuiet(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => execFile(file, args, (err) => (err ? reject(err) : resolve())));
}

/** A throw-away CA and a server certificate for localhost/127.0.0.1, made with openssl. */
function makeCerts(dir: string): { ca: string; otherCa: string; cert: string; key: string } {
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  for (const ca of ['ca', 'other-ca']) ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=Stile test ${ca}`, '-keyout', f(`${ca}.key`), '-out', f(`${ca}.pem`));
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', f('server.key'), '-out', f('server.csr'));
  writeFileSync(f('san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('san.ext'), '-out', f('server.pem'));
  return { ca: f('ca.pem'), otherCa: f('other-ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

/** Our own Mosquitto with a TLS listener only (never the shared one on 1883); stop() in afterAll. */
export async function startTlsBroker(dir: string): Promise<{ url: string; caFile: string; otherCaFile: string; stop(): Promise<void> }> {
  mkdirSync(dir, { recursive: true });
  const certs = makeCerts(dir);
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  // `user root`: started as root, Mosquitto would drop to its own user, which cannot read the test's private folder.
  writeFileSync(conf, `user root\nlog_dest stderr\npersistence false\nlistener ${port} 127.0.0.1\ncafile ${certs.ca}\ncertfile ${certs.cert}\nkeyfile ${certs.key}\nallow_anonymous true\n`);
  const bin = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p)) ?? 'mosquitto';
  const proc = spawn(bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  await until(() => {
    if (proc.exitCode !== null) throw new Error(`mosquitto exited: ${log}`);
    return /Opening ipv4 listen socket on port/.test(log);
  }, 'the TLS broker listening', 10_000);
  return {
    url: `mqtts://localhost:${port}`,
    caFile: certs.ca,
    otherCaFile: certs.otherCa,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
