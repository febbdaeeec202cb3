import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MQTT_URL, testSite, uniqueId, waitFor } from './helpers.js';

// Spawns the built bin (npm test builds first).
const BIN = fileURLToPath(new URL('../bin/stile-cloud.js', import.meta.url));

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, LOG_LEVEL: 'info', DATABASE_URL: '', ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exit, out: () => out, err: () => err };
}

describe('stile-cloud CLI', () => {
  it('exits 2 naming the file and field for a bad config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stile-cloud-cli-'));
    const file = join(dir, 'cloud.yaml');
    writeFileSync(file, 'mqtt: { url: mqtt://x }\nsites: []\n');
    const p = run(['--config', file]);
    expect(await p.exit).toBe(2);
    expect(p.err()).toContain(`${file}: sites:`);
    const none = run([]);
    expect(await none.exit).toBe(2);
    expect(none.err()).toContain('--config is required');
  });

  it('starts, serves /healthz and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stile-cloud-cli-'));
    const site = testSite(['g1']);
    writeFileSync(join(dir, 'control.pem'), site.config.controlKey.privateKeyPem);
    const file = join(dir, 'cloud.yaml');
    writeFileSync(
      file,
      [
        `mqtt: { url: "${MQTT_URL}", sharedGroup: ${uniqueId('grp')}, clientId: ${uniqueId('cli')}, sessionExpirySec: 30 }`,
        'http: { port: 0 }',
        'database: { sqlitePath: data/cloud.db }',
        'sites:',
        `  - id: ${site.config.id}`,
        '    controlKey: { id: ck1, privateKeyFile: control.pem }',
        '    gates: [g1]',
        '',
      ].join('\n'),
    );
    const p = run(['--config', file]);
    const port = await waitFor(() => /"httpPort":(\d+)/.exec(p.out())?.[1], 'the started log line');
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(await res.json()).toMatchObject({ ok: true, ready: true });
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
  });

  it('channel pause/resume: a staff action from the terminal through the running server, refused with a wrong token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stile-cloud-cli-'));
    const site = testSite(['g1']);
    writeFileSync(join(dir, 'control.pem'), site.config.controlKey.privateKeyPem);
    // The example's placeholder hashes, with a key of this test's own for Meituan.
    const meituanKey = 'cli-meituan-key-0123456789abcdef0123456789abcdef';
    const example = readFileSync(new URL('../../docs/examples/catalogue.yaml', import.meta.url), 'utf8');
    const catalogue = example.replace(/(id: meituan,.*?apiKeySha256: )[0-9a-f]{64}/, `$1${createHash('sha256').update(meituanKey).digest('hex')}`);
    expect(catalogue).not.toBe(example);
    writeFileSync(join(dir, 'catalogue.yaml'), catalogue);
    const token = 'cli-staff-token-0123456789';
    const file = join(dir, 'cloud.yaml');
    writeFileSync(
      file,
      [
        `mqtt: { url: "${MQTT_URL}", sharedGroup: ${uniqueId('grp')}, clientId: ${uniqueId('cli')}, sessionExpirySec: 30 }`,
        'http: { port: 0 }',
        'sites:',
        `  - id: ${site.config.id}`,
        '    controlKey: { id: ck1, privateKeyFile: control.pem }',
        `    sales: { catalogueFile: catalogue.yaml, capacity: { daily: 100 }, idHashKey: a-long-enough-id-hash-key-0123456789, staffTokenSha256: ${createHash('sha256').update(token).digest('hex')} }`,
        '',
      ].join('\n'),
    );
    const server = run(['--config', file]);
    try {
      const port = await waitFor(() => /"httpPort":(\d+)/.exec(server.out())?.[1], 'the started log line');
      const url = `http://127.0.0.1:${port}`;
      const args = ['channel', 'pause', '--site', site.config.id, '--channel', 'meituan', '--by', 'staff:li', '--reason', 'queue at the east gate', '--url', url];
      const wrong = run(args, { STILE_STAFF_TOKEN: 'not-the-token' });
      expect(await wrong.exit).toBe(1);
      expect(wrong.err()).toContain('refused (401 unauthorized)');
      const ok = run(args, { STILE_STAFF_TOKEN: token });
      expect(await ok.exit).toBe(0);
      expect(ok.out()).toContain(`meituan at ${site.config.id} paused by staff:li`);
      const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
      const av = (await (await fetch(`${url}/v1/channel/availability?date=${today}`, { headers: { authorization: `Bearer ${meituanKey}` } })).json()) as { paused: boolean };
      expect(av.paused).toBe(true);
      const usage = run(['channel', 'pause', '--site', site.config.id], { STILE_STAFF_TOKEN: token });
      expect(await usage.exit).toBe(2);
      expect(usage.err()).toContain('missing --channel, --by, --reason');
    } finally {
      server.child.kill('SIGTERM');
      await server.exit;
    }
  });
});
