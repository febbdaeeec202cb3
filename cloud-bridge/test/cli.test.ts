import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MQTT_URL, testSite, uniqueId, waitFor } from './helpers.js';

// Spawns the built bin (npm test builds first).
const BIN = fileURLToPath(new URL('../bin/stile-cloud.js', import.meta.url));

function run(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, LOG_LEVEL: 'info', DATABASE_URL: '' } });
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
    expect(await res.json()).toEqual({ ok: true });
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
  });
});
