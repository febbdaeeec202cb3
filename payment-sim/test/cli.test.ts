import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** The built bin (npm test builds first): starts, prints the merchant's configuration, stops on SIGTERM. */
describe('stile-paysim', () => {
  it('prints what the merchant configures and serves the control API', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paysim-cli-'));
    const bin = fileURLToPath(new URL('../bin/stile-paysim.js', import.meta.url));
    const child = spawn(process.execPath, [bin, '--dir', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    try {
      const start = Date.now();
      while (!out.includes('Control API') && Date.now() - start < 20_000) await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain('stile-paysim listening on http://127.0.0.1:');
      expect(out).toContain('"merchantSerial"');
      expect(out).toContain('apiclient_key.pem');
      expect(out).not.toContain('PRIVATE KEY');
      const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
      const trades = await fetch(`${url}/sim/trades`);
      expect(await trades.json()).toEqual([]);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
