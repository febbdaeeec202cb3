import { EventEmitter } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { GateStatusSchema, InputSchema, type QrHidConfig } from '@stile/config';
import { scan } from '../src/cli/hardware.js';
import { hidConfiguredStatus } from '../src/cli/hid-lines.js';
import { makeOut } from '../src/cli/output.js';
import { deviceLine } from '../src/cli/status-lines.js';
import type { HidBackend, HidConnection } from '../src/devices/qr-hid.js';
import { encodeHidPosReports } from '../src/protocol/hid-pos.js';
import { until } from './helpers/fake-serial.js';
import { makeSite, type TestSite } from './helpers/site.js';

/** `gatectl scan` and `gatectl devices` for a USB HID POS scanner, in-process with a fake HID backend. */
let site: TestSite;
beforeAll(async () => {
  site = await makeSite(40);
  const cfg = parse(readFileSync(site.configPath, 'utf8')) as Record<string, unknown>;
  cfg.inputs = [{ type: 'qr-hid', name: 'hid-1', vendorId: '1eab', productId: '0d10', mode: 'pos' }];
  writeFileSync(site.configPath, stringify(cfg));
});
afterEach(() => {
  process.exitCode = undefined;
});
afterAll(() => site?.cleanup());

function fakeScanner() {
  const opened: HidConnection[] = [];
  const backend: HidBackend = {
    devices: () => [{ vendorId: 0x1eab, productId: 0x0d10, path: '/dev/hidraw4', usagePage: 0x8c, usage: 0x02 }],
    open() {
      const conn = Object.assign(new EventEmitter(), { close: async () => {} }) as unknown as HidConnection;
      opened.push(conn);
      return conn;
    },
  };
  return { backend, opened };
}

async function runScan(json: boolean, reports: Buffer[]): Promise<string> {
  const { backend, opened } = fakeScanner();
  let text = '';
  const done = scan({ configPath: site.configPath, out: makeOut(json, (s) => (text += s)), flags: { timeout: '5', json }, args: [] }, { hid: async () => backend });
  await until(() => opened.length === 1);
  for (const r of reports) opened[0]!.emit('data', r);
  await done;
  return text;
}

describe('gatectl scan with a HID POS scanner', () => {
  it('shows the raw reports, the layout and why, the decoded text and the dry-run decision', async () => {
    const code = `ST1:${site.sample.ids[0]!}`;
    const out = await runScan(false, encodeHidPosReports(code + '-'.repeat(40), { layout: 'newland' }));
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toBe('layout newland (from the USB vendor id), 2 report(s):');
    expect(lines[1]).toMatch(/^report 1: 64 bytes, length 56, AIM -, symbology 0x00, more follows$/);
    expect(lines[2]).toBe(`   0: 02 38 ${Buffer.from(code).subarray(0, 14).toString('hex').replace(/(..)(?!$)/g, '$1 ')}`);
    expect(lines).toContain(`decoded ${JSON.stringify(code + '-'.repeat(40))}`);
    expect(lines.at(-1)).toMatch(/^would reject/); // the dashes make it an unknown code
  });

  it('--json: the same, as data', async () => {
    const code = `ST1:${site.sample.ids[1]!}`;
    const got = JSON.parse(await runScan(true, encodeHidPosReports(code, { layout: 'newland' }))) as { hid: { layout: string; layoutSource: string; reports: { hex: string; length: number }[]; text: string }; decision: string };
    expect(got.hid).toMatchObject({ layout: 'newland', layoutSource: 'usb-id', text: code, reports: [{ length: code.length }] });
    expect(got.hid.reports[0]!.hex).toHaveLength(128);
    expect(got.decision).toBe('admit');
  });

  it('a code it cannot decode is shown with its bytes and the fix, and exits 1', async () => {
    const gbk = Buffer.from([0xc6, 0xb1, 0xba, 0xc5]);
    const out = await runScan(false, encodeHidPosReports(gbk, { layout: 'newland' }));
    expect(out).toContain('NOT DECODED: gbk_encoding — the scanner sends GBK/GB18030: scan its "UTF-8 output" setup code (data c6b1bac5)');
    expect(process.exitCode).toBe(1);
  });
});

describe('gatectl devices for a configured HID scanner', () => {
  const cfg = InputSchema.parse({ type: 'qr-hid', vendorId: '0c2e', productId: '0b61' }) as QrHidConfig;
  it('present in POS mode, with the layout it will be read in', () => {
    expect(hidConfiguredStatus(cfg, [{ vendorId: 0x0c2e, productId: 0x0b61, path: '/dev/hidraw1', usagePage: 0x8c, usage: 2 }])).toEqual({ present: true, status: 'present', layout: 'honeywell (usb-id)' });
  });
  it('WRONG MODE, with the fix, when only the keyboard interface is there', () => {
    expect(hidConfiguredStatus(cfg, [{ vendorId: 0x0c2e, productId: 0x0b61, path: '/dev/hidraw0', usagePage: 0x01, usage: 6 }])).toMatchObject({
      present: true,
      status: 'WRONG MODE',
      note: expect.stringContaining("scan the vendor's USB HID POS setup code"),
    });
  });
  it('MISSING when not plugged in', () => {
    expect(hidConfiguredStatus(cfg, [])).toEqual({ present: false, status: 'MISSING' });
  });
});

describe('wrong_mode in gatectl status and in the status the gate publishes', () => {
  const device = { name: 'hid-1', kind: 'qr-hid-pos', state: 'wrong_mode' as const, error: "USB HID scanner 0c2e:0b61 has no HID POS interface (usage page 0x8C): it is in keyboard mode — scan the vendor's USB HID POS setup code, or set mode: keyboard" };
  it('gatectl status prints the state and the fix', () => {
    expect(deviceLine('input', { ...device, scans: 0, discarded: {} })).toBe(`input      hid-1 (qr-hid-pos): wrong_mode (${device.error}), 0 scans, 0 discarded`);
  });
  it('the cloud accepts it in the gate status', () => {
    const status = { v: 1, state: 'degraded', epoch: 1, at: new Date().toISOString(), devices: [device] };
    expect(GateStatusSchema.parse(status).devices?.[0]?.state).toBe('wrong_mode');
  });
});
