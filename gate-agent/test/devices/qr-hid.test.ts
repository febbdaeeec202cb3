import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { QrHidConfig } from '@stile/config';
import { chooseInterface, chooseLayout, explainHidLoadError, QrHidScanner, type HidBackend, type HidConnection, type HidDeviceInfo } from '../../src/devices/qr-hid.js';
import { encodeHidPosReports } from '../../src/protocol/hid-pos.js';
import { encodeKeyboardReports } from '../../src/protocol/keyboard-wedge.js';
import { until } from '../helpers/fake-serial.js';
import { silent } from '../helpers/site.js';
import { captureLog } from '../helpers/lane.js';

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

/** A scanner whose interfaces the test sets; records feature/output reports; `unplug()` fails the open connection. */
function scanner(interfaces: Omit<HidDeviceInfo, 'vendorId' | 'productId'>[], ids = { vendorId: 0x0c2e, productId: 0x0b61 }) {
  const state = { interfaces, opened: [] as (HidConnection & { path: string })[], sent: [] as string[] };
  const backend: HidBackend = {
    devices: () => state.interfaces.map((i) => ({ ...ids, ...i })),
    open(path) {
      const conn = Object.assign(new EventEmitter(), {
        path,
        close: async () => {},
        write: (d: Buffer) => void state.sent.push(`output ${d.toString('hex')}`),
        sendFeatureReport: (d: Buffer) => void state.sent.push(`feature ${d.toString('hex')}`),
      }) as unknown as HidConnection & { path: string };
      state.opened.push(conn);
      return conn;
    },
  };
  return { ...state, state, backend, last: () => state.opened.at(-1)! };
}
const POS = { path: '/dev/hidraw1', usagePage: 0x8c, usage: 0x02 };
const KEYBOARD = { path: '/dev/hidraw0', usagePage: 0x01, usage: 0x06 };
const VENDOR = { path: '/dev/hidraw2', usagePage: 0xff00, usage: 0x01 };
const FAST = { initialMs: 10, maxMs: 20 };

function start(cfg: Partial<QrHidConfig>, backend: HidBackend, log = silent) {
  const s = new QrHidScanner({ ...base, mode: 'pos', reportGapMs: 100, ...cfg } as QrHidConfig, log, async () => backend, { backoff: FAST });
  const scans: string[] = [];
  s.on('credential', (c) => scans.push(c.kind === 'qr' ? c.text : ''));
  s.start();
  return { s, scans };
}

describe('HID interface selection', () => {
  it('POS mode with only a keyboard interface: wrong_mode with the fix, then scans once the scanner is switched', async () => {
    const sc = scanner([KEYBOARD]);
    const { s, scans } = start({}, sc.backend);
    await until(() => s.health.state === 'wrong_mode');
    expect(s.health.error).toMatch(/0c2e:0b61 has no HID POS interface \(usage page 0x8C\): it is in keyboard mode — scan the vendor's USB HID POS setup code \(.*\), or set mode: keyboard/);
    expect(sc.opened).toHaveLength(0); // never reads the keyboard interface
    sc.state.interfaces = [POS]; // the technician scanned the setup code; the scanner re-enumerates
    await until(() => s.health.state === 'ok');
    for (const r of encodeHidPosReports('ST1:AFTERSWITCH')) sc.last().emit('data', r);
    expect(scans).toEqual(['ST1:AFTERSWITCH']);
    await s.close();
  });

  it('keyboard mode picks the boot keyboard interface, not the first one listed', async () => {
    const sc = scanner([VENDOR, POS, KEYBOARD]);
    const { s, scans } = start({ mode: 'keyboard' }, sc.backend);
    await until(() => sc.opened.length === 1);
    expect(sc.last().path).toBe('/dev/hidraw0');
    for (const r of encodeKeyboardReports('ST1:KBD')) sc.last().emit('data', r);
    expect(scans).toEqual(['ST1:KBD']);
    await s.close();
    expect(chooseInterface([{ vendorId: 1, productId: 2, ...POS }], 1, 2, 'keyboard')).toMatchObject({ kind: 'wrong_mode', message: expect.stringMatching(/it is in HID POS mode — set mode: pos/) });
  });

  it('takes the first interface only where the platform reports no usages at all', () => {
    const bare = [{ vendorId: 1, productId: 2, path: '/a' }, { vendorId: 1, productId: 2, path: '/b' }];
    expect(chooseInterface(bare, 1, 2, 'pos')).toMatchObject({ kind: 'ok', device: { path: '/a' } });
    expect(chooseInterface(bare, 1, 3, 'pos')).toMatchObject({ kind: 'missing' });
  });
});

describe('HID POS layout and vendor initialisation', () => {
  it('chooses gate.yaml, then the descriptor, then the USB vendor id, then Honeywell', () => {
    expect(chooseLayout('extra-byte', 0x1eab, 1, undefined)).toEqual({ layout: 'extra-byte', source: 'config' });
    expect(chooseLayout(undefined, 0x1eab, 1, undefined)).toEqual({ layout: 'newland', source: 'usb-id' });
    expect(chooseLayout(undefined, 0x1234, 1, undefined)).toEqual({ layout: 'honeywell', source: 'default' });
  });

  it('a Newland scanner (VID 1EAB) is read in the Newland layout, and its kind says so', async () => {
    const sc = scanner([POS], { vendorId: 0x1eab, productId: 0x0d10 });
    const { s, scans } = start({ vendorId: '1eab', productId: '0d10' }, sc.backend);
    await until(() => s.health.state === 'ok');
    expect(s.health.kind).toBe('qr-hid-pos:newland');
    const code = `ST2:${'Q'.repeat(120)}.${'s'.repeat(86)}`;
    for (const r of encodeHidPosReports(code, { layout: 'newland' })) sc.last().emit('data', r);
    expect(scans).toEqual([code]);
    await s.close();
  });

  it('sends the vendor initialisation on every open and reconnect; init: in gate.yaml replaces it', async () => {
    const sc = scanner([POS]);
    const { s } = start({}, sc.backend);
    await until(() => sc.opened.length === 1);
    expect(sc.sent).toEqual(['feature fe01']); // Honeywell: feature report 0xFE = 01
    sc.last().emit('error', new Error('could not read from HID device')); // unplugged and back
    await until(() => sc.opened.length === 2 && s.health.state === 'ok');
    expect(sc.sent).toEqual(['feature fe01', 'feature fe01']);
    expect(s.health.reconnects).toBe(1);
    await s.close();

    const custom = scanner([POS]);
    const t = start({ init: [{ output: 'fd 03 16 54 0d' }] }, custom.backend); // Honeywell serial trigger over HID
    await until(() => custom.opened.length === 1);
    expect(custom.sent).toEqual(['output fd0316540d']);
    await t.s.close();
    const none = scanner([POS]);
    const u = start({ init: [] }, none.backend);
    await until(() => none.opened.length === 1);
    expect(none.sent).toEqual([]);
    await u.s.close();
  });

  it('an init step the scanner refuses is logged, and the scanner still reads', async () => {
    const sc = scanner([POS]);
    const backend: HidBackend = { ...sc.backend, open: (p) => Object.assign(sc.backend.open(p), { sendFeatureReport: () => { throw new Error('could not send feature report'); } }) };
    const log = captureLog();
    const { s, scans } = start({}, backend, log.log);
    await until(() => s.health.state === 'ok');
    expect(log.events('hid_init_failed')).toMatchObject([{ kind: 'feature', bytes: 'fe01', err: 'could not send feature report' }]);
    for (const r of encodeHidPosReports('ST1:STILLREADS')) sc.last().emit('data', r);
    expect(scans).toEqual(['ST1:STILLREADS']);
    await s.close();
  });
});

describe('no glued fragments', () => {
  it('a code whose last report never comes is dropped after the gap, counted, and the next scan is clean', async () => {
    const sc = scanner([POS]);
    const { s, scans } = start({ reportGapMs: 30 }, sc.backend);
    await until(() => s.health.state === 'ok');
    const lost = encodeHidPosReports('ST1:' + 'L'.repeat(100));
    sc.last().emit('data', lost[0]!); // the rest is lost on the bus
    await until(() => s.health.discarded.gap_timeout === 1);
    for (const r of encodeHidPosReports('ST1:NEXTVISITOR')) sc.last().emit('data', r);
    expect(scans).toEqual(['ST1:NEXTVISITOR']);
    expect(s.health.discarded).toEqual({ gap_timeout: 1 });
    await s.close();
  });
});
