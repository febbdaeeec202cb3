import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { generateSigningKeyPair } from '@stile/config';

/*
 * A real cloud for the provisioning tests: cloud.yaml on SQLite with the embedded broker, two
 * sites (one selling, with the example catalogue), and the built CLIs run as a technician would.
 */

export const CLOUD_BIN = fileURLToPath(new URL('../../../cloud-bridge/bin/stile-cloud.js', import.meta.url));
export const KIOSKCTL_BIN = fileURLToPath(new URL('../../../kiosk-agent/bin/kioskctl.js', import.meta.url));
export const ANNOUNCER_BIN = fileURLToPath(new URL('../../../announcer/bin/stile-announcer.js', import.meta.url));
const CATALOGUE = fileURLToPath(new URL('../../../docs/examples/catalogue.yaml', import.meta.url));

export const SITE = 'west-lake';
export const OTHER_SITE = 'tea-garden';
export const ID_HASH_KEY = 'id-hash-key-for-provision-tests-0123456789';
/** The kiosk channel's API key (its SHA-256 replaces the example catalogue's placeholder). */
export const KIOSK_API_KEY = 'kiosk-channel-key-for-provision-tests-0123';

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function until<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A built CLI as a child process; `input` goes to its stdin (a bundle pasted). */
export function run(bin: string, args: string[], opts: { input?: string; uid?: number; gid?: number } = {}): RunResult {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    input: opts.input ?? '',
    env: { ...process.env, DATABASE_URL: '', STILE_CONFIG: '', STILE_KIOSK_CONFIG: '' },
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid ?? opts.uid } : {}),
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface TestCloud {
  dir: string;
  configPath: string;
  controlPem: string;
  controlPublicKey: string;
  brokerUrl: string;
  httpUrl: string;
  /** `stile-cloud <args> --config cloud.yaml` */
  cli(args: string[]): RunResult;
  /** The bundle line `stile-cloud <args>` printed. */
  bundle(args: string[]): string;
  cleanup(): void;
}

export async function makeTestCloud(): Promise<TestCloud> {
  const dir = mkdtempSync(join(tmpdir(), 'stile-provision-cloud-'));
  const control = generateSigningKeyPair('ck1');
  const other = generateSigningKeyPair('tg1');
  writeFileSync(join(dir, 'control.pem'), control.privateKeyPem);
  writeFileSync(join(dir, 'other.pem'), other.privateKeyPem);
  const catalogue = parse(readFileSync(CATALOGUE, 'utf8')) as { channels: { id: string; apiKeySha256: string }[] };
  const kiosk = catalogue.channels.find((c) => c.id === 'kiosk')!;
  kiosk.apiKeySha256 = createHash('sha256').update(KIOSK_API_KEY).digest('hex');
  writeFileSync(join(dir, 'catalogue.yaml'), stringify(catalogue));
  writeFileSync(join(dir, 'kiosk.key'), `${KIOSK_API_KEY}\n`);
  const brokerPort = await freePort();
  const httpPort = await freePort();
  const brokerUrl = `mqtt://127.0.0.1:${brokerPort}`;
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const configPath = join(dir, 'cloud.yaml');
  writeFileSync(
    configPath,
    stringify({
      mqtt: { url: brokerUrl, publicUrl: brokerUrl, sharedGroup: 'prov', clientId: `prov-cloud-${process.pid}` },
      broker: { port: brokerPort },
      http: { port: httpPort, publicUrl: httpUrl },
      database: { sqlitePath: 'cloud.db' },
      sites: [
        { id: SITE, controlKey: { id: 'ck1', privateKeyFile: 'control.pem' }, sales: { catalogueFile: 'catalogue.yaml', capacity: { daily: 5000 }, idHashKey: ID_HASH_KEY } },
        { id: OTHER_SITE, controlKey: { id: 'tg1', privateKeyFile: 'other.pem' } },
      ],
    }),
  );
  const cli = (args: string[]) => run(CLOUD_BIN, [...args, '--config', configPath]);
  return {
    dir,
    configPath,
    controlPem: control.privateKeyPem,
    controlPublicKey: control.publicKey,
    brokerUrl,
    httpUrl,
    cli,
    bundle(args) {
      const r = cli(args);
      if (r.status !== 0) throw new Error(`stile-cloud ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
      const line = r.stdout.split('\n').find((l) => l.startsWith('STILE1-'));
      if (!line) throw new Error(`no bundle in: ${r.stdout}`);
      return line;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `stile-cloud --config cloud.yaml` (embedded broker, HTTP), until it says it started. */
export class CloudProcess {
  readonly proc: ChildProcess;
  out = '';
  err = '';
  constructor(configPath: string) {
    this.proc = spawn(process.execPath, [CLOUD_BIN, '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info', DATABASE_URL: '' } });
    this.proc.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.proc.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
  }
  static async start(configPath: string): Promise<CloudProcess> {
    const c = new CloudProcess(configPath);
    await until(() => {
      if (c.proc.exitCode !== null) throw new Error(`stile-cloud exited ${c.proc.exitCode}: ${c.err}`);
      return c.out.includes('cloud-bridge started');
    }, 'stile-cloud started', 60_000);
    return c;
  }
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = once(this.proc, 'exit');
    this.proc.kill('SIGTERM');
    await exited;
  }
}
