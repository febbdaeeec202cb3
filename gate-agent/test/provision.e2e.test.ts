import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { decodeBundle, encodeBundle, fileMode, keyFingerprint, loadSigningKey, signBundle, stileOwner } from '@stile/config';
import { GATECTL_BIN, GateProcess, makeFifo } from './helpers/processes.js';
import { CloudProcess, makeTestCloud, OTHER_SITE, run, SITE, type TestCloud } from './helpers/provision-cloud.js';

/*
 * Issue #18 point 3 on real components: `stile-cloud gates add` on a SQLite cloud with its
 * embedded broker → `gatectl provision` into a temp folder → `gatectl config validate` → the
 * real stile-gate connects with the issued credential and takes the cloud's whitelist →
 * `gates revoke` → the broker refuses it. And every bad input, each leaving nothing behind.
 */

let cloud: TestCloud;
let cloudProc: CloudProcess | undefined;
let gate: GateProcess | undefined;
let root = '';
let gateDir = '';
let cfg = '';
let bundle = '';
let cloudAddOutput = '';

/** The parts of gate.yaml these tests look at. */
interface GateYaml {
  site: { id: string };
  gate: unknown;
  store: { path: string };
  keys: { control: unknown };
  mqtt: Record<string, unknown>;
  ticketTypes?: { id: string }[];
  inputs: unknown;
}
const readGate = (file: string) => parse(readFileSync(file, 'utf8')) as GateYaml;

const gatectl = (args: string[], input?: string) => run(GATECTL_BIN, args, input === undefined ? {} : { input });
const provision = (config: string, input: string, extra: string[] = []) => gatectl(['provision', '-', '--config', config, ...extra], input);

/** Every file in a folder with its contents and mtime: "nothing changed" is this, unchanged. */
function snapshotDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    const st = statSync(p);
    out[f] = st.isFile() ? `${st.mtimeMs}:${st.mode.toString(8)}:${readFileSync(p, 'utf8')}` : 'dir';
  }
  return out;
}

beforeAll(async () => {
  cloud = await makeTestCloud();
  cloudProc = await CloudProcess.start(cloud.configPath);
  root = mkdtempSync(join(tmpdir(), 'stile-provision-gate-'));
  chmodSync(root, 0o755);
  gateDir = join(root, 'etc-stile');
  mkdirSync(gateDir, { mode: 0o755 });
  cfg = join(gateDir, 'gate.yaml');
}, 90_000);

afterAll(async () => {
  await gate?.stop();
  await cloudProc?.stop();
  cloud?.cleanup();
  if (root) rmSync(root, { recursive: true, force: true });
});

// Each CLI start loads its whole package: seconds apiece on a busy 2-CPU machine.
describe('provisioning a gate from the cloud to a running stile-gate', { timeout: 150_000 }, () => {
  it('stile-cloud gates add prints the bundle once, says it is a secret, and refuses a second add', () => {
    const r = cloud.cli(['gates', 'add', SITE, 'north-1', '--zone', 'east']);
    expect(r.status, r.stderr).toBe(0);
    cloudAddOutput = r.stdout;
    expect(r.stdout).toContain('new credential gate.west-lake.north-1');
    expect(r.stdout).toMatch(/It is a SECRET \(it holds the gate's broker token\): shown once/);
    expect(r.stdout).toContain('sudo gatectl provision -');
    expect(r.stdout).toContain(`fingerprint ${keyFingerprint(cloud.controlPublicKey)}`);
    bundle = r.stdout.split('\n').find((l) => l.startsWith('STILE1-'))!;
    expect(bundle.length).toBeLessThan(8000);
    const again = cloud.cli(['gates', 'add', SITE, 'north-1']);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already has a credential .*"stile-cloud gates rotate west-lake north-1"/);
    // The older word still works, as the alias it now is.
    const alias = cloud.cli(['gate', 'add', SITE, 'south-1', '--json']);
    expect(alias.status, alias.stderr).toBe(0);
    expect(JSON.parse(alias.stdout)).toMatchObject({ username: 'gate.west-lake.south-1', token: expect.any(String), bundle: expect.stringMatching(/^STILE1-/) });
  });

  it('refuses a tampered, truncated, expired or wrong-role bundle with one line each, and writes nothing', () => {
    const i = 60;
    const typo = bundle.slice(0, i) + (bundle[i] === 'x' ? 'y' : 'x') + bundle.slice(i + 1);
    let r = provision(cfg, typo);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^gatectl: bundle refused \(checksum\): .*mistyped or cut off.*nothing was changed\n$/);

    r = provision(cfg, bundle.slice(0, bundle.length - 9));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bundle refused \((checksum|truncated)\)/);

    // Expired: the same contents signed by the site's own key, but a day old.
    const decoded = decodeBundle(bundle);
    if (!decoded.ok) throw new Error(decoded.message);
    const { sig: _sig, ...contents } = decoded.bundle;
    const old = signBundle({ ...contents, issuedAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-02T00:00:00.000Z' }, loadSigningKey('ck1', cloud.controlPem));
    r = provision(cfg, encodeBundle(old));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bundle refused \(expired\): bundle expired at 2026-01-02T00:00:00.000Z \(this machine's clock says .*\): make a new one with stile-cloud gates add/);

    const announcer = cloud.bundle(['announcers', 'add', SITE, 'pa-1']);
    r = provision(cfg, announcer);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('this is an announcer bundle (announcer pa-1 at west-lake); gate provisioning needs a gate bundle');

    r = provision(cfg, 'gate.west-lake.north-1 secret-token');
    expect(r.stderr).toMatch(/not a provisioning bundle/);
    expect(readdirSync(gateDir)).toEqual([]);
  });

  it('an unwritable folder: one line naming the fix, nothing written', () => {
    const locked = join(root, 'locked');
    mkdirSync(locked, { mode: 0o755 });
    const asRoot = process.getuid?.() === 0;
    if (!asRoot) chmodSync(locked, 0o555);
    // Root may write anywhere: the technician who forgot sudo is played by user nobody.
    const r = run(GATECTL_BIN, ['provision', '-', '--config', join(locked, 'gate.yaml'), '--no-check'], { input: bundle, ...(asRoot ? { uid: 65534, gid: 65534 } : {}) });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`gatectl: cannot write to ${locked} (EACCES: permission denied): run it as root (sudo gatectl provision …); nothing was changed\n`);
    expect(readdirSync(locked)).toEqual([]);
  });

  it('writes gate.yaml, mqtt.pw and idhash.key with the right modes, checks broker and cloud, and the config validates', () => {
    const r = provision(cfg, bundle);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain(`bundle: gate north-1 at west-lake (青山湖风景区)`);
    expect(r.stdout).toContain(`signed by control key ck1 (fingerprint ${keyFingerprint(cloud.controlPublicKey)})`);
    expect(r.stdout).toContain(`check broker: pass — ${cloud.brokerUrl} accepted gate.west-lake.north-1`);
    expect(r.stdout).toMatch(/check snapshot: pass — .* accepted gate\.west-lake\.north-1; whitelist head seq \d+/);
    expect(cloudAddOutput).toContain(r.stdout.match(/fingerprint ([0-9A-F-]+)/)![1]);
    const mode = fileMode(stileOwner());
    for (const f of ['gate.yaml', 'mqtt.pw', 'idhash.key']) expect(statSync(join(gateDir, f)).mode & 0o777, f).toBe(mode);
    const token = readFileSync(join(gateDir, 'mqtt.pw'), 'utf8');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    const yaml = readGate(cfg);
    expect(yaml.site).toEqual({ id: SITE, name: '青山湖风景区', timezone: 'Asia/Shanghai' });
    expect(yaml.gate).toEqual({ id: 'north-1', zone: 'east' });
    expect(yaml.keys.control).toEqual([{ id: 'ck1', publicKey: cloud.controlPublicKey }]);
    expect(yaml.mqtt).toMatchObject({ url: cloud.brokerUrl, username: 'gate.west-lake.north-1', passwordFile: join(gateDir, 'mqtt.pw'), protocolVersion: 4, snapshotUrl: cloud.httpUrl });
    expect(yaml.ticketTypes!.map((t) => t.id)).toContain('adult@early');
    // The token is in mqtt.pw only, never in the config.
    expect(readFileSync(cfg, 'utf8')).not.toContain(token.trim());
    const v = gatectl(['--config', cfg, 'config', 'validate']);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout).toBe(`${cfg}: valid (site west-lake, gate north-1)\n`);
  });

  it('a second provision without --force, or one for another site, is refused and changes nothing', () => {
    const before = snapshotDir(gateDir);
    let r = provision(cfg, bundle);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^gatectl: this machine is already provisioned \(.*gate\.yaml: site west-lake, gate north-1\); .*use --force to re-provision, the old config is kept as gate\.yaml\.bak-\d{8}T\d{6}Z; nothing was changed\n$/);
    const other = cloud.bundle(['gates', 'add', OTHER_SITE, 'main-1']);
    r = provision(cfg, other);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^gatectl: this machine is configured for site west-lake; the bundle is for tea-garden: use --force to re-provision, the old config is kept as gate\.yaml\.bak-\d{8}T\d{6}Z\n$/);
    expect(snapshotDir(gateDir)).toEqual(before);
  });

  it('the real stile-gate connects with the issued credential and takes the whitelist; revoked, the broker refuses it', async () => {
    // The technician sets this lane's scanner (here a FIFO) in place of the template's.
    const fifo = join(root, 'scanner.fifo');
    makeFifo(fifo);
    const doc = parse(readFileSync(cfg, 'utf8')) as Record<string, unknown>;
    doc.inputs = [{ type: 'lines', name: 'scanner-1', path: fifo }];
    (doc.mqtt as Record<string, unknown>).reconnectMinMs = 200;
    (doc.mqtt as Record<string, unknown>).reconnectMaxMs = 500;
    writeFileSync(cfg, stringify(doc), { mode: 0o600 });
    expect(gatectl(['--config', cfg, 'config', 'validate']).status).toBe(0);

    gate = new GateProcess(cfg);
    await gate.waitFor((l) => l.some((e) => e.event === 'mqtt_connected'), 30_000);
    await gate.waitFor((l) => l.some((e) => e.event === 'snapshot_imported' || e.event === 'resync_done'), 30_000);
    expect(gate.events('snapshot_refused')).toEqual([]);

    const r = cloud.cli(['gates', 'revoke', SITE, 'north-1']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('gate north-1 at west-lake: credential gate.west-lake.north-1 revoked');
    // Cut off within the broker's re-check (5 s), then every reconnect is refused.
    await gate.waitFor((l) => l.some((e) => e.event === 'mqtt_disconnected'), 30_000);
    await gate.waitFor((l) => l.some((e) => e.event === 'mqtt_error' && /not authorized|bad username or password/i.test(String(e.err))), 30_000);
    const connects = gate.events('mqtt_connected').length;
    await new Promise((res) => setTimeout(res, 1500));
    expect(gate.events('mqtt_connected').length).toBe(connects);
    await gate.stop();
    gate = undefined;
    expect(cloud.cli(['gates', 'revoke', SITE, 'north-1']).stderr).toContain('has no active credential');
  });

  it('rotate prints a new bundle; provision --force keeps inputs, backs up the old files, and the new token logs in', () => {
    const before = readFileSync(cfg, 'utf8');
    const oldToken = readFileSync(join(gateDir, 'mqtt.pw'), 'utf8');
    // The old bundle's token was revoked: its check fails, with the reason, and the exit code says so.
    const stale = provision(cfg, bundle, ['--force']);
    expect(stale.status).toBe(1);
    expect(stale.stdout).toMatch(/check broker: FAIL — .* refused the login of gate\.west-lake\.north-1 \(not authorized\): the credential was revoked or rotated/);
    expect(stale.stdout).toMatch(/check snapshot: FAIL — .* refused gate\.west-lake\.north-1 \(HTTP 401\)/);

    const rotated = cloud.bundle(['gates', 'rotate', SITE, 'north-1']);
    const r = provision(cfg, rotated, ['--force']);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('check broker: pass');
    expect(r.stdout).toMatch(/kept the old mqtt\.pw as .*mqtt\.pw\.bak-\d{8}T\d{6}Z/);
    expect(readFileSync(join(gateDir, 'mqtt.pw'), 'utf8')).not.toBe(oldToken);
    const after = readGate(cfg);
    expect(after.inputs).toEqual((parse(before) as GateYaml).inputs);
    expect(after.mqtt.reconnectMinMs).toBe(200);

    // Another site with --force: the old config is kept as a backup; this site's database is a new file.
    const other = cloud.bundle(['gates', 'rotate', OTHER_SITE, 'main-1']);
    const moved = provision(cfg, other, ['--force', '--no-check']);
    expect(moved.status, moved.stderr + moved.stdout).toBe(1); // no catalogue at tea-garden: ticket types by hand
    expect(moved.stdout).toContain('has no ticketTypes: the site has no catalogue in the cloud, so write them by hand');
    const backups = readdirSync(gateDir).filter((f) => f.startsWith('gate.yaml.bak-'));
    expect(backups.length).toBeGreaterThanOrEqual(1);
    for (const b of backups) expect(readGate(join(gateDir, b)).site.id).toBe(SITE);
    const moved2 = readGate(cfg);
    expect(moved2.site.id).toBe(OTHER_SITE);
    expect(moved2.store.path).toBe(join(gateDir, `gate-${OTHER_SITE}.db`));
    expect(moved2.inputs).toEqual(after.inputs);
    expect(moved2.ticketTypes).toBeUndefined();
  });
});
