import { afterEach, describe, expect, it } from 'vitest';
import { startClockVerdict } from '../src/clock-check.js';
import { createNotifier } from '../src/notify.js';
import { deviceSummary, devicesSettled, supervise, type DeviceView } from '../src/readiness.js';
import { FakeNotifySocket } from './helpers/fake-notify.js';

const sockets: FakeNotifySocket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

describe('device summary for the STATUS line', () => {
  const dev = (name: string, state: string, error?: string): DeviceView => ({ name, state, ...(error ? { error } : {}) });

  it('counts working devices, names the missing ones with why', () => {
    expect(deviceSummary([dev('scanner-1', 'ok'), dev('relay', 'ok'), dev('printer', 'ready')])).toBe('3 devices ok');
    expect(deviceSummary([dev('relay', 'ok')])).toBe('1 device ok');
    expect(deviceSummary([dev('scanner-1', 'ok'), dev('scanner-2', 'reconnecting', "Error: No such file or directory, cannot open /dev/ttyACM0")])).toBe(
      'scanner-2 missing (Error: No such file or directory, cannot open /dev/ttyACM0)',
    );
    expect(deviceSummary([dev('hid', 'wrong_mode', 'keyboard mode: scan the HID-POS set-up code'), dev('relay', 'degraded', 'x'.repeat(200))])).toMatch(
      /^hid in the wrong mode \(keyboard mode: scan the HID-POS set-up code\); relay degraded \(x{59}…\)$/,
    );
    expect(deviceSummary([dev('printer', 'disconnected')])).toBe('printer missing');
  });

  it('is settled once every device was tried, whatever the outcome', () => {
    expect(devicesSettled([dev('a', 'ok'), dev('b', 'reconnecting')])).toBe(true);
    expect(devicesSettled([dev('a', 'ok'), dev('b', 'starting')])).toBe(false);
    expect(devicesSettled([dev('printer', 'unknown')])).toBe(false);
    expect(devicesSettled([])).toBe(true);
  });
});

describe('the clock at start', () => {
  const now = Date.parse('2026-05-01T08:00:00Z');
  it('is wrong before 2025 (never set) or well behind the newest record (jumped back)', () => {
    expect(startClockVerdict({ now: Date.parse('1970-01-01T00:00:12Z') })).toMatchObject({ ok: false, problem: 'not_set', status: 'CLOCK NOT SET (1970-01-01)', message: /never set.*timedatectl/ });
    expect(startClockVerdict({ now, newestRecordedAt: now + 3 * 60_000, what: 'entry' })).toEqual({ ok: true }); // within 5 min: a clock slewed by NTP
    expect(startClockVerdict({ now, newestRecordedAt: now + 7 * 60_000, what: 'entry' })).toMatchObject({ ok: false, problem: 'jumped_back', status: 'CLOCK 7 min behind the newest entry' });
    expect(startClockVerdict({ now, newestRecordedAt: now + 3 * 86400_000, what: 'sale' })).toMatchObject({ status: 'CLOCK 3 days behind the newest sale', message: /jumped back; check NTP sync/ });
    expect(startClockVerdict({ now, newestRecordedAt: now - 86400_000 })).toEqual({ ok: true });
    expect(startClockVerdict({ now })).toEqual({ ok: true });
  });
});

describe('supervise: READY once, then STATUS as it changes', () => {
  it('holds READY until the role is ready, then sends it with the current STATUS', async () => {
    const sock = new FakeNotifySocket();
    sockets.push(sock);
    const notifier = createNotifier({ env: { NOTIFY_SOCKET: sock.path } });
    let ready = false;
    let outbox = 0;
    const sup = supervise(notifier, { isReady: () => ready, status: () => `admitting; outbox ${outbox}`, refreshMs: 50, pollMs: 10 });
    // Not before: a marker sent now arrives after anything already sent.
    await new Promise((r) => setTimeout(r, 100));
    notifier.status('marker');
    await sock.waitFor(() => sock.has('STATUS', 'marker'), 'marker');
    expect(sock.has('READY')).toBe(false);
    ready = true;
    expect(await sup.ready).toBe(true);
    outbox = 3;
    await sock.waitFor(() => sock.lastStatus() === 'admitting; outbox 3', 'the refreshed STATUS');
    expect(sock.messages.filter((m) => 'READY' in m.fields).map((m) => m.text)).toEqual(['READY=1\nSTATUS=admitting; outbox 0']);
    sup.stop();
    notifier.close();
  });

  it('sends READY after readyTimeoutMs with what is still missing; a stop before READY sends none', async () => {
    const sock = new FakeNotifySocket();
    sockets.push(sock);
    const notifier = createNotifier({ env: { NOTIFY_SOCKET: sock.path } });
    const devices = [{ name: 'scanner-2', state: 'starting' }];
    const sup = supervise(notifier, { isReady: () => devicesSettled(devices), readyTimeoutMs: 100, status: () => deviceSummary(devices), pollMs: 10 });
    expect(await sup.ready).toBe(true);
    await sock.waitFor(() => sock.has('READY', '1'), 'READY');
    expect(sock.messages[0]?.text).toBe('READY=1\nSTATUS=scanner-2 not opened yet');
    sup.stop();

    const sock2 = new FakeNotifySocket();
    sockets.push(sock2);
    const n2 = createNotifier({ env: { NOTIFY_SOCKET: sock2.path } });
    const sup2 = supervise(n2, { isReady: () => false, status: () => 'never', pollMs: 10 });
    sup2.stop();
    expect(await sup2.ready).toBe(false);
    n2.status('marker');
    await sock2.waitFor(() => sock2.has('STATUS', 'marker'), 'marker');
    expect(sock2.has('READY')).toBe(false);
  });

  it('a status query that throws is reported in STATUS, and READY still goes out', async () => {
    const sock = new FakeNotifySocket();
    sockets.push(sock);
    const notifier = createNotifier({ env: { NOTIFY_SOCKET: sock.path } });
    const sup = supervise(notifier, {
      isReady: () => true,
      status: () => {
        throw new Error('database is locked');
      },
    });
    expect(await sup.ready).toBe(true);
    await sock.waitFor(() => sock.has('READY', '1'), 'READY');
    expect(sock.lastStatus()).toBe('status unavailable: database is locked');
    sup.stop();
  });
});
