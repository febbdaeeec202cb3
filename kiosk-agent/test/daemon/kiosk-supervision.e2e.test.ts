/**
 * stile-kiosk under a fake systemd ($NOTIFY_SOCKET a real unix datagram socket), on the
 * simulated cash devices, printer and readers of kiosk-harness.ts and a real cloud.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeNotifySocket } from '../../../service/test/helpers/fake-notify.js';
import { KioskJournal } from '../../src/store/journal.js';
import { startKioskPark, type KioskPark } from './kiosk-harness.js';

const BIN = fileURLToPath(new URL('../../bin/stile-kiosk.js', import.meta.url));
let park: KioskPark;
let sock: FakeNotifySocket;

beforeAll(async () => {
  park = await startKioskPark();
  sock = new FakeNotifySocket();
});
afterAll(async () => {
  sock?.close();
  await park?.close();
});

describe('stile-kiosk and systemd’s notify socket', () => {
  it('READY=1 once the journal is open and every device answered, with the clock warning; STOPPING=1 on SIGTERM', async () => {
    // A sale the journal dates a day ahead of this clock: the clock jumped back since.
    const journal = new KioskJournal(park.config().journal.path);
    const at = Date.now() + 24 * 3600_000;
    journal.append({ saleId: 'S-AHEAD', kind: 'sale_started', at, date: new Date(at).toISOString().slice(0, 10) });
    journal.append({ saleId: 'S-AHEAD', kind: 'sale_closed', at: at + 1000, outcome: 'cancelled' });
    journal.close();

    const child = spawn(process.execPath, [BIN, '--config', park.configFile], { env: sock.env({ WATCHDOG_USEC: '1000000' }), stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exit = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    const alive = () => (child.exitCode !== null ? `stile-kiosk exited ${child.exitCode}: ${err}` : null);
    try {
      await sock.waitFor(() => sock.has('READY', '1'), 'READY=1', 30_000, alive);
      // printer, ccTalk bus, bill validator, hopper, payment-code scanner, ID-card reader: all opened before READY.
      expect(sock.messages[sock.index('READY')]!.fields.STATUS).toBe('idle; CLOCK 24 h behind the newest sale; 6 devices ok; cloud reachable');
      await sock.waitFor(() => sock.count('WATCHDOG') >= 2, 'watchdog pings', 30_000, alive);
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(sock.messages[sock.index('STOPPING')]!.fields.STATUS).toBe('stopping (SIGTERM)');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
