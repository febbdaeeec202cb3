import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { QrHidConfig } from '@stile/config';
import { explainHidLoadError, QrHidScanner, type HidBackend, type HidConnection } from '../../src/devices/qr-hid.js';
import { encodeHidPosReports } from '../../src/protocol/hid-pos.js';
import { encodeKeyboardReports } from '../../src/protocol/keyboard-wedge.js';
import { until } from '../helpers/fake-serial.js';
import { silent } from '../helpers/site.js';

function fakeHid(usagePage = 0x8c) {
  const opened: HidConnection[] = [];
  const backend: HidBackend = {
    devices: () => [
      { vendorId: 0x0c2e, productId: 0x0b61, path: '/dev/hidraw0', usagePage: 0x01 },
      { vendorId: 0x0c2e, productId: 0x0b61, path: '/dev/hidraw1', usagePage },
    ],
    open(path) {
      const conn = Object.assign(new EventEmitter(), { path, close: async () => {} }) as unknown as HidConnection;
      opened.push(conn);
      return conn;
    },
  };
  return { backend, opened };
}

const base = { type: 'qr-hid', name: 'hid-1', vendorId: '0c2e', productId: 0x0b61 } as const;

describe('USB HID QR scanner', () => {
  it('POS mode: picks the 0x8C interface and joins a long code across reports', async () => {
    const { backend, opened } = fakeHid();
    const s = new QrHidScanner({ ...base, mode: 'pos' } as QrHidConfig, silent, async () => backend);
    const scans: string[] = [];
    s.on('credential', (c) => scans.push(c.kind === 'qr' ? c.text : ''));
    s.start();
    await until(() => opened.length === 1);
    expect((opened[0] as unknown as { path: string }).path).toBe('/dev/hidraw1');
    const code = `ST2:${'A'.repeat(150)}.${'B'.repeat(86)}`;
    for (const report of encodeHidPosReports(code, { aim: ']Q1' })) opened[0]!.emit('data', report);
    expect(scans).toEqual([code]);
    await s.close();
  });

  it('keyboard-wedge mode: key reports become a scan at Enter', async () => {
    const { backend, opened } = fakeHid(0x01);
    const s = new QrHidScanner({ ...base, mode: 'keyboard' } as QrHidConfig, silent, async () => backend);
    const scans: string[] = [];
    s.on('credential', (c) => scans.push(c.kind === 'qr' ? c.text : ''));
    s.start();
    await until(() => opened.length === 1);
    for (const report of encodeKeyboardReports('ST1:ABCD2345EFGH')) opened[0]!.emit('data', report);
    expect(scans).toEqual(['ST1:ABCD2345EFGH']);
    opened[0]!.emit('data', Buffer.from([1, 2, 3])); // a short report
    expect(s.health.discarded).toEqual({ bad_report: 1 });
    await s.close();
  });

  it('a missing library or device is reported with its fix and retried, not fatal', async () => {
    const s = new QrHidScanner({ ...base, mode: 'pos' } as QrHidConfig, silent, async () => {
      throw explainHidLoadError(new Error('libusb-1.0.so.0: cannot open shared object file: No such file or directory'));
    });
    s.start();
    await until(() => s.health.state === 'reconnecting');
    expect(s.health.error).toMatch(/apt-get install libusb-1.0-0/);
    await s.close();
    const gone = new QrHidScanner({ ...base, mode: 'pos' } as QrHidConfig, silent, async () => ({ devices: () => [], open: () => { throw new Error('x'); } }));
    gone.start();
    await until(() => gone.health.state === 'reconnecting');
    expect(gone.health.error).toMatch(/0c2e:0b61 not found/);
    await gone.close();
  });
});
