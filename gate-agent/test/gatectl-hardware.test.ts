import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATECTL_BIN, makeFifo, openFifoWriter } from './helpers/processes.js';
import { makeSite, type TestSite } from './helpers/site.js';

/** The wiring helpers a technician uses at a new gate: devices, test-relay, scan. */
function gatectl(configPath: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [GATECTL_BIN, '--config', configPath, ...args], { encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

let site: TestSite;
let fifo: string;
beforeAll(async () => {
  fifo = join(tmpdir(), `stile-scan-${process.pid}-${Date.now()}`);
  makeFifo(fifo);
  site = await makeSite(20, { input: fifo });
});
afterAll(() => site?.cleanup());

describe('gatectl hardware helpers', () => {
  it('devices shows each configured device as present or missing', async () => {
    const r = await gatectl(site.configPath, 'devices', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { configured: { name: string; present: boolean }[]; serial: unknown[] };
    expect(out.configured).toEqual([
      expect.objectContaining({ name: 'scanner-1', present: true }),
      expect.objectContaining({ name: 'relay', present: true }),
    ]);
    expect(Array.isArray(out.serial)).toBe(true);
  });

  it('test-relay pulses once per person', async () => {
    const r = await gatectl(site.configPath, 'test-relay', '--persons', '2', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ persons: 2, pulses: 2, ok: true });
  });

  it('scan waits for one code and shows what the gate would decide, without using the ticket', async () => {
    const pending = gatectl(site.configPath, 'scan', '--timeout', '10', '--json');
    await new Promise((r) => setTimeout(r, 500));
    const w = await openFifoWriter(fifo);
    w.write(`]Q1ST1:${site.sample.ids[0]!}\r\n`);
    const r = await pending;
    w.end();
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ input: 'scanner-1', decision: 'admit', ticketId: site.sample.ids[0] });
    const again = await gatectl(site.configPath, 'check', `ST1:${site.sample.ids[0]!}`, '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ decision: 'admit' });
  });

  it('scan gives up after its timeout with a one-line reason', async () => {
    const r = await gatectl(site.configPath, 'scan', '--timeout', '1');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toBe('gatectl: no scan within 1 s');
  });
});
