import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { createNotifier, formatNotify, parseNotifySocket, statusText, watchdogSettings, type NotifyLog } from '../src/notify.js';
import { FakeNotifySocket } from './helpers/fake-notify.js';

function captureLog(): NotifyLog & { lines: { level: string; obj: object; msg: string }[] } {
  const lines: { level: string; obj: object; msg: string }[] = [];
  return {
    lines,
    warn: (obj, msg) => void lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => void lines.push({ level: 'error', obj, msg }),
    debug: (obj, msg) => void lines.push({ level: 'debug', obj, msg }),
  };
}

const sockets: FakeNotifySocket[] = [];
function fakeSocket(): FakeNotifySocket {
  const s = new FakeNotifySocket();
  sockets.push(s);
  return s;
}
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

describe('the notify protocol, pure parts', () => {
  it('reads $NOTIFY_SOCKET: a path, an @abstract name, or something it cannot use', () => {
    expect(parseNotifySocket(undefined)).toEqual({ kind: 'none' });
    expect(parseNotifySocket('')).toEqual({ kind: 'none' });
    expect(parseNotifySocket('/run/systemd/notify')).toEqual({ kind: 'path', path: '/run/systemd/notify' });
    expect(parseNotifySocket('@/org/freedesktop/systemd1/notify/123')).toEqual({ kind: 'abstract', name: '/org/freedesktop/systemd1/notify/123' });
    expect(parseNotifySocket('vsock:2:1234')).toMatchObject({ kind: 'unsupported', reason: /AF_VSOCK/ });
    expect(parseNotifySocket('run/notify')).toMatchObject({ kind: 'unsupported', reason: /absolute/ });
    expect(parseNotifySocket(`/${'x'.repeat(120)}`)).toMatchObject({ kind: 'unsupported', reason: /longer than 107/ });
  });

  it('formats state fields first and STATUS as one short line', () => {
    expect(formatNotify({ READY: 1, STATUS: 'admitting; whitelist seq 123; outbox 0' })).toBe('READY=1\nSTATUS=admitting; whitelist seq 123; outbox 0');
    expect(formatNotify({ STATUS: 'two\nlines\r\nhere', STOPPING: 1 })).toBe('STOPPING=1\nSTATUS=two lines here');
    expect(formatNotify({ WATCHDOG: 1 })).toBe('WATCHDOG=1');
    expect(formatNotify({ RELOADING: 1, MONOTONIC_USEC: 42n })).toBe('RELOADING=1\nMONOTONIC_USEC=42');
    // A status that could smuggle a second field (READY=1 on a line of its own) stays one STATUS line.
    expect(formatNotify({ STATUS: 'x\nREADY=1' }).split('\n')).toEqual(['STATUS=x READY=1']);
    expect(statusText('a'.repeat(1000))).toHaveLength(400);
  });

  it('pings at half of WATCHDOG_USEC, and only for the process WATCHDOG_PID names', () => {
    expect(watchdogSettings({}, 10)).toEqual({ enabled: false, reason: 'WATCHDOG_USEC not set' });
    expect(watchdogSettings({ WATCHDOG_USEC: '30000000' }, 10)).toEqual({ enabled: true, usec: 30_000_000, intervalMs: 15_000 });
    expect(watchdogSettings({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '10' }, 10)).toMatchObject({ enabled: true, intervalMs: 15_000 });
    expect(watchdogSettings({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '11' }, 10)).toMatchObject({ enabled: false, reason: /another process/ });
    expect(watchdogSettings({ WATCHDOG_USEC: 'soon' }, 10)).toMatchObject({ enabled: false, reason: /not a positive number/ });
    expect(watchdogSettings({ WATCHDOG_USEC: '0' }, 10)).toMatchObject({ enabled: false });
  });
});

describe('createNotifier against a real datagram socket', () => {
  it('without $NOTIFY_SOCKET every call is a no-op', () => {
    const n = createNotifier({ env: {} });
    expect(n.enabled).toBe(false);
    n.ready('x');
    n.status('y');
    expect(n.startWatchdog()).toBe(false);
    n.stopping();
    n.close();
  });

  it('sends READY=1 with its STATUS, a changed STATUS once, STOPPING=1 — in that order', async () => {
    const sock = fakeSocket();
    const n = createNotifier({ env: { NOTIFY_SOCKET: sock.path } });
    expect(n.enabled).toBe(true);
    n.ready('admitting; whitelist seq 7; outbox 0');
    n.status('admitting; whitelist seq 7; outbox 0'); // unchanged: not sent again
    n.status('admitting; whitelist seq 8; outbox 1');
    n.status('admitting; whitelist seq 8; outbox 1');
    n.reloading();
    n.stopping('stopping (SIGTERM)');
    await sock.waitFor((m) => m.some((x) => x.fields.STOPPING === '1'), 'STOPPING=1');
    expect(sock.messages.map((m) => m.text)).toEqual([
      'READY=1\nSTATUS=admitting; whitelist seq 7; outbox 0',
      'STATUS=admitting; whitelist seq 8; outbox 1',
      expect.stringMatching(/^RELOADING=1\nMONOTONIC_USEC=\d+$/),
      'STOPPING=1\nSTATUS=stopping (SIGTERM)',
    ]);
    n.close();
  });

  it('sends WATCHDOG=1 periodically with WATCHDOG_USEC set, and none for another WATCHDOG_PID', async () => {
    const sock = fakeSocket();
    const n = createNotifier({ env: { NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: '100000' } });
    expect(n.startWatchdog()).toBe(true);
    await sock.waitFor(() => sock.count('WATCHDOG') >= 4, 'four watchdog pings');
    n.stopWatchdog();
    n.status('marker');
    await sock.waitFor(() => sock.has('STATUS', 'marker'), 'marker');
    n.close();

    const other = fakeSocket();
    const n2 = createNotifier({ env: { NOTIFY_SOCKET: other.path, WATCHDOG_USEC: '100000', WATCHDOG_PID: String(process.pid + 1) } });
    expect(n2.startWatchdog()).toBe(false);
    // Datagrams from one socket arrive in order: once the marker is in, nothing was sent before it.
    n2.status('marker');
    await other.waitFor(() => other.has('STATUS', 'marker'), 'marker');
    expect(other.count('WATCHDOG')).toBe(0);
    n2.close();
  });

  it('a manager that went away costs one warning, not one per ping, and never throws', async () => {
    const sock = fakeSocket();
    const log = captureLog();
    const n = createNotifier({ env: { NOTIFY_SOCKET: sock.path }, log });
    sock.close();
    sockets.splice(sockets.indexOf(sock), 1);
    n.ready('a');
    n.status('b');
    n.status('c');
    expect(log.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(log.lines[0]).toMatchObject({ msg: /could not notify the service manager/, obj: { event: 'notify_failed' } });
    n.close();
  });

  it('an abstract socket (@name) is named as the problem, with the fix, and the daemon runs on', () => {
    const log = captureLog();
    const n = createNotifier({ env: { NOTIFY_SOCKET: '@stile-test' }, log });
    expect(n.enabled).toBe(false);
    expect(log.lines).toEqual([
      expect.objectContaining({ level: 'warn', msg: expect.stringMatching(/@stile-test is an abstract socket, which the unix-dgram module cannot address; give the service manager a path socket \(systemd uses \/run\/systemd\/notify\)/) }),
    ]);
    n.ready();
  });

  it('a timer-only watchdog does not keep a finished process alive (the timer is unref’d)', async () => {
    const sock = fakeSocket();
    const script = `import('${new URL('../dist/notify.js', import.meta.url).href}').then((m) => { const n = m.createNotifier(); n.ready('up'); n.startWatchdog(); });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: sock.env({ WATCHDOG_USEC: '50000' }), stdio: 'inherit' });
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(sock.has('READY', '1')).toBe(true);
  });
});
