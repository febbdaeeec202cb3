import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeNotifySocket } from './helpers/fake-notify.js';

const CHILD = fileURLToPath(new URL('./fixtures/watchdog-child.mjs', import.meta.url));
const USEC = 200_000; // WatchdogSec=200ms: pings every 100 ms

let sock: FakeNotifySocket | undefined;
let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  sock?.close();
  sock = undefined;
});

describe('WATCHDOG=1 comes from the event loop', () => {
  it('pings while the loop runs, none while it is blocked (for longer than WatchdogSec), and again after', async () => {
    sock = new FakeNotifySocket();
    const s = sock;
    child = spawn(process.execPath, [CHILD], { env: s.env({ WATCHDOG_USEC: String(USEC) }), stdio: ['pipe', 'inherit', 'inherit'] });
    const p = child;
    const alive = () => (p.exitCode !== null || p.signalCode !== null ? `child exited (${p.exitCode ?? p.signalCode})` : null);
    await s.waitFor(() => s.has('READY', '1') && s.count('WATCHDOG') >= 3, 'READY=1 and three pings', 20_000, alive);

    const flag = join(s.path, '..', 'unblock');
    p.stdin!.write(`block ${flag}\n`);
    await s.waitFor(() => s.has('STATUS', 'blocking'), 'STATUS=blocking', 20_000, alive);
    // Hold the loop for four watchdog periods: systemd would have declared the daemon hung.
    await new Promise((r) => setTimeout(r, (4 * USEC) / 1000));
    writeFileSync(flag, '');
    await s.waitFor((m) => {
      const after = m.findIndex((x) => x.fields.STATUS === 'unblocked');
      return after >= 0 && m.slice(after).filter((x) => x.fields.WATCHDOG === '1').length >= 2;
    }, 'two pings after the loop is free again', 20_000, alive);

    const m = s.messages;
    const blocked = m.findIndex((x) => x.fields.STATUS === 'blocking');
    const freed = m.findIndex((x) => x.fields.STATUS === 'unblocked');
    // Datagrams from one sender arrive in the order sent: nothing between the two markers.
    expect(m.slice(blocked + 1, freed).filter((x) => 'WATCHDOG' in x.fields)).toEqual([]);
    const lastBefore = m.slice(0, blocked).filter((x) => 'WATCHDOG' in x.fields).pop()!;
    const firstAfter = m.slice(freed).find((x) => 'WATCHDOG' in x.fields)!;
    // The silence the service manager saw was longer than WatchdogSec: it would restart the daemon.
    expect(firstAfter.at - lastBefore.at).toBeGreaterThan(USEC / 1000);

    p.stdin!.write('exit\n');
    await once(p, 'exit');
    expect(s.has('STOPPING', '1')).toBe(true);
  });
});
