import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/** `npm start` end to end: @stile/demo's bin (demo/bin/stile-demo.js) on the built dist/ (cloud, two gates, visitors), fast and small. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function runDemo(env: Record<string, string>, timeoutMs = 90_000): Promise<{ code: number | null; out: string; err: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'stile-demo-'));
  dirs.push(dir);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'demo/bin/stile-demo.js')], {
      cwd: ROOT,
      env: { ...process.env, DEMO_DIR: join(dir, '.demo'), DEMO_VISITORS: '40', DEMO_PACE_MS: '20', DEMO_CAPACITY: '20', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`demo did not finish in ${timeoutMs} ms; output so far:\n${out}\n${err}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

function checkRun(r: { code: number | null; out: string; err: string }): void {
  const context = `${r.out}\n${r.err}`;
  expect(r.code, context).toBe(0);
  expect(r.out, context).not.toContain('demo failed');
  expect(r.out, context).toMatch(/dashboard: http:\/\/127\.0\.0\.1:\d+\/dashboard\/demo-park#token=[0-9a-f]{32}/);
  expect(r.out, context).toMatch(/channel API: http:\/\/127\.0\.0\.1:\d+\/docs/);
  // Both gates let someone in, and visitors bought tickets through the channels.
  for (const gate of ['east-1', 'west-1']) {
    const m = new RegExp(`^${gate}: (\\d+) admitted`, 'm').exec(r.out);
    expect(m, context).not.toBeNull();
    expect(Number(m![1]), `${gate} admitted nobody\n${context}`).toBeGreaterThan(0);
  }
  expect(r.out, context).toMatch(/✔ ADMIT +(wechat|meituan) → (QR|ID card)/);
  expect(r.out, context).toMatch(/^sales: [1-9]\d* orders/m);
  // The park filled: at least orange was announced, and the summary says where it ended.
  expect(r.out, context).toMatch(/▲ capacity (ORANGE|RED) \d+\/20 \(\d+ %\) — /);
  expect(r.out, context).toMatch(/^capacity (ORANGE|RED) \d+\/20/m);
  expect(r.out, context).toMatch(/orders paid \(\d+ persons: /);
}

// 120 s a run: since #19 the demo first writes a generated season of history (6–10 s here, more on a loaded machine).
describe('npm start (demo/bin/stile-demo.js)', { timeout: 120_000 }, () => {
  it('runs the park with simulated hardware when socat is there (else says so) and fills it', async () => {
    const r = await runDemo({});
    checkRun(r);
    if (r.out.includes('hardware: each gate on simulated devices')) {
      // Every person admitted went through the turnstile: one relay pulse each.
      for (const gate of ['east-1', 'west-1']) {
        const m = new RegExp(`^${gate}: \\d+ admitted \\((\\d+) persons\\).*relay pulsed (\\d+)×`, 'm').exec(r.out);
        expect(m, r.out).not.toBeNull();
        expect(Number(m![2])).toBe(Number(m![1]));
      }
      // The kiosk on simulated devices: the first buyer there pays cash and the printed ticket's code admits at a gate.
      expect(r.out).toMatch(/^kiosk: kiosk-1 on simulated devices/m);
      expect(r.out, r.out).toMatch(/✔ ADMIT +kiosk cash → QR/);
      expect(r.out).toMatch(/^kiosk-1: [1-9]\d* sales .*outbox \d+ records waiting/m);
    } else {
      expect(r.out).toContain('apt-get install socat');
    }
  });

  it('runs without simulated devices (DEMO_HARDWARE=0): the gates take the scans directly', async () => {
    const r = await runDemo({ DEMO_HARDWARE: '0' });
    checkRun(r);
    expect(r.out).toContain('hardware: off');
    expect(r.out).not.toContain('relay pulsed');
  });
});
