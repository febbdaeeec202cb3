import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fileMode, stileOwner } from '@stile/config';
import { GATECTL_BIN } from '../../../gate-agent/test/helpers/processes.js';
import { CloudProcess, KIOSK_API_KEY, KIOSKCTL_BIN, makeTestCloud, run, SITE, type TestCloud } from '../../../gate-agent/test/helpers/provision-cloud.js';
import { loadKioskConfig } from '../../src/config.js';

/*
 * `stile-cloud kiosks add` → `kioskctl provision` → a kiosk.yaml the daemon's loader accepts,
 * with the broker login and the channel API key checked against a real stile-cloud.
 */

let cloud: TestCloud;
let cloudProc: CloudProcess | undefined;
let root = '';
let cfg = '';
let bundle = '';

const kioskctl = (args: string[], input?: string) => run(KIOSKCTL_BIN, args, input === undefined ? {} : { input });

beforeAll(async () => {
  cloud = await makeTestCloud();
  cloudProc = await CloudProcess.start(cloud.configPath);
  root = mkdtempSync(join(tmpdir(), 'stile-provision-kiosk-'));
  cfg = join(root, 'kiosk.yaml');
}, 90_000);

afterAll(async () => {
  await cloudProc?.stop();
  cloud?.cleanup();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('provisioning a kiosk', { timeout: 120_000 }, () => {
  it('stile-cloud kiosks add makes a bundle with the kiosk channel key; a gate refuses it', () => {
    bundle = cloud.bundle(['kiosks', 'add', SITE, 'k1', '--api-key-file', join(cloud.dir, 'kiosk.key')]);
    const r = run(GATECTL_BIN, ['provision', '-', '--config', join(root, 'gate.yaml')], { input: bundle });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('this is a kiosk bundle (kiosk k1 at west-lake); gate provisioning needs a gate bundle');
    expect(readdirSync(root)).toEqual([]);
  });

  it('without the park office phone it refuses before writing anything', () => {
    const r = kioskctl(['provision', '-', '--config', cfg], bundle);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/needs the park office's phone number .*--contact-phone/);
    expect(readdirSync(root)).toEqual([]);
  });

  it('writes kiosk.yaml and its keys, makes the kiosk\'s own ST2 key, checks broker and channel API; the loader accepts it', () => {
    const r = kioskctl(['provision', '-', '--config', cfg, '--contact-phone', '13800138000'], bundle);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain(`check broker: pass — ${cloud.brokerUrl} accepted kiosk.west-lake.k1`);
    expect(r.stdout).toContain("check cloud: pass — " + cloud.httpUrl + " accepted the kiosk channel's API key");
    const mode = fileMode(stileOwner());
    for (const f of ['kiosk.yaml', 'kiosk-mqtt.pw', 'kiosk.key', 'idhash.key', 'kiosk-offline.pem']) expect(statSync(join(root, f)).mode & 0o777, f).toBe(mode);
    expect(readFileSync(join(root, 'kiosk.key'), 'utf8')).toBe(`${KIOSK_API_KEY}\n`);
    // The public half of the kiosk's new key, printed for cloud.yaml, is the private key's.
    const pub = createPublicKey(readFileSync(join(root, 'kiosk-offline.pem'), 'utf8')).export({ format: 'jwk' }).x as string;
    expect(r.stdout).toContain(`offlineKey: { id: k1-st2, publicKey: ${pub} }`);
    const loaded = loadKioskConfig(cfg);
    expect(loaded.site.id).toBe(SITE);
    expect(loaded.kiosk.id).toBe('k1');
    expect(loaded.cloud).toMatchObject({ url: cloud.httpUrl, apiKey: KIOSK_API_KEY, payment: 'partner', contactPhone: '13800138000' });
    expect(loaded.sync).toMatchObject({ url: cloud.brokerUrl, username: 'kiosk.west-lake.k1', protocolVersion: 4, offlineKey: { id: 'k1-st2', file: join(root, 'kiosk-offline.pem') } });
    expect(loaded.sync!.control[0]!.publicKey).toBe(cloud.controlPublicKey);
    expect(loaded.sale.methods).toEqual(['cash']);
  });

  it('a second provision without --force is refused; with --force the devices and the kiosk key stay', () => {
    const key = readFileSync(join(root, 'kiosk-offline.pem'), 'utf8');
    let r = kioskctl(['provision', '-', '--config', cfg], bundle);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/already provisioned .*use --force to re-provision, the old config is kept as kiosk\.yaml\.bak-/);
    const doc = parse(readFileSync(cfg, 'utf8')) as { devices: unknown };
    const rotated = cloud.bundle(['kiosks', 'rotate', SITE, 'k1', '--api-key-file', join(cloud.dir, 'kiosk.key')]);
    r = kioskctl(['provision', '-', '--config', cfg, '--force'], rotated);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(readFileSync(join(root, 'kiosk-offline.pem'), 'utf8')).toBe(key);
    const after = parse(readFileSync(cfg, 'utf8')) as { devices: unknown; cloud: { contactPhone: string } };
    expect(after.devices).toEqual(doc.devices);
    expect(after.cloud.contactPhone).toBe('13800138000');
    expect(readdirSync(root).some((f) => f.startsWith('kiosk-mqtt.pw.bak-'))).toBe(true);
    expect(loadKioskConfig(cfg).kiosk.id).toBe('k1');
  });
});
