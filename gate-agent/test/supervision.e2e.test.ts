import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createPty, startSimGate, type Pty, type SimGate } from '../../hardware-sim/src/index.js';
import { FakeNotifySocket } from '../../service/test/helpers/fake-notify.js';
import { openGate } from '../src/daemon/gate-context.js';
import { GATE_BIN, GateProcess, makeFifo, openFifoWriter } from './helpers/processes.js';
import { makeSite, silent, type TestSite } from './helpers/site.js';

// stile-gate under a fake systemd: a real unix datagram socket as $NOTIFY_SOCKET, the real
// daemon with a FIFO input, a serial QR scanner on a pty and the logging relay.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function gateSite(extraInputs: unknown[]): Promise<{ site: TestSite; fifo: string }> {
  const site = await makeSite(50);
  cleanups.push(() => site.cleanup());
  const fifo = join(site.dir, 'scans.fifo');
  makeFifo(fifo);
  const cfg = parse(readFileSync(site.configPath, 'utf8')) as { inputs: unknown[] };
  cfg.inputs = [{ type: 'lines', name: 'scanner-1', path: fifo, simulateIdCards: true }, ...extraInputs];
  writeFileSync(site.configPath, stringify(cfg));
  return { site, fifo };
}

function start(site: TestSite, sock: FakeNotifySocket, env: Record<string, string> = {}): GateProcess {
  const gate = new GateProcess(site.configPath, sock.env(env));
  cleanups.push(async () => void (await gate.stop('SIGKILL')));
  return gate;
}

const exited = (gate: GateProcess) => () => (gate.proc.exitCode !== null || gate.proc.signalCode !== null ? `gate exited (${gate.proc.exitCode ?? gate.proc.signalCode}): ${gate.stderr}` : null);

describe('stile-gate and systemd’s notify socket', () => {
  it('READY=1 once the store is open and every device opened; STATUS follows the outbox; WATCHDOG=1; STOPPING=1 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stile-sup-'));
    const sim: SimGate = await startSimGate({ dir, idCard: false, sensor: false, display: false });
    cleanups.push(async () => {
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const serial = (parse(sim.gateYaml()) as { inputs: { name: string }[] }).inputs.map((i) => ({ ...i, name: 'scanner-2' }));
    const { site, fifo } = await gateSite(serial);
    const sock = new FakeNotifySocket();
    cleanups.push(() => sock.close());
    // As a unit with User=root and STILE_ALLOW_ROOT=1 would start it (the tests run as root).
    const gate = start(site, sock, { INVOCATION_ID: 'feedc0de', STILE_ALLOW_ROOT: '1', WATCHDOG_USEC: '1000000' });

    await sock.waitFor(() => sock.has('READY', '1'), 'READY=1', 20_000, exited(gate));
    const ready = sock.messages[sock.index('READY')]!;
    // Sent when the FIFO, the serial scanner (opened asynchronously) and the relay were open:
    // a READY before the scanner's first open would say "scanner-2 not opened yet".
    expect(ready.fields.STATUS).toBe('admitting; 3 devices ok; whitelist seq 1; outbox 0');
    expect(sock.messages.slice(0, sock.index('READY')).some((m) => 'WATCHDOG' in m.fields)).toBe(false);

    // The daemon admits; STATUS= follows (an offline gate keeps its entries in the outbox).
    const scanner: WriteStream = await openFifoWriter(fifo);
    cleanups.push(() => void scanner.end());
    scanner.write(`ST1:${site.sample.ids[0]!}\n`);
    await gate.waitFor((l) => l.some((x) => x.event === 'relay_pulse'));
    await sock.waitFor(() => sock.lastStatus() === 'admitting; 3 devices ok; whitelist seq 1; outbox 1', 'STATUS with outbox 1', 20_000, exited(gate));

    // WatchdogSec=1s: pings every half second.
    await sock.waitFor(() => sock.count('WATCHDOG') >= 3, 'three watchdog pings', 20_000, exited(gate));

    expect(await gate.stop('SIGTERM')).toBe(0);
    const stopping = sock.index('STOPPING');
    expect(stopping).toBeGreaterThan(sock.index('READY'));
    expect(sock.messages[stopping]!.fields.STATUS).toBe('stopping (SIGTERM)');
    expect(gate.events('stopped')).toHaveLength(1);
  });

  it('a scanner missing at start: READY all the same, STATUS names it (and the clock that jumped back), until it is plugged in', async () => {
    const { site } = await gateSite([{ type: 'qr-serial', name: 'scanner-2', path: '/placeholder', baudRate: 9600, suffix: 'any' }]);
    // The scanner's path: in the site folder, where the pty appears later.
    const late = join(site.dir, 'late-scanner');
    const cfg = parse(readFileSync(site.configPath, 'utf8')) as { inputs: { path: string }[] };
    cfg.inputs[1]!.path = late;
    writeFileSync(site.configPath, stringify(cfg));
    // The newest entry in the gate's database is a day ahead of the clock: the clock jumped back.
    const { store } = openGate(site.cfg, silent);
    store.beginEpoch();
    store.recordAdmission({ ticket: store.getTicket(site.sample.ids[1]!)!, credential: 'qr', persons: 1, at: Date.now() + 24 * 3600_000, gateSite: site.cfg.site.id, gateId: site.cfg.gate.id });
    store.close();

    const sock = new FakeNotifySocket();
    cleanups.push(() => sock.close());
    const gate = start(site, sock);
    await sock.waitFor(() => sock.has('READY', '1'), 'READY=1', 20_000, exited(gate));
    expect(sock.messages[sock.index('READY')]!.fields.STATUS).toMatch(
      /^admitting; CLOCK 24 h behind the newest entry; scanner-2 missing \(.*late-scanner.*\); whitelist seq 1; outbox 1$/,
    );
    await gate.waitFor((l) => l.some((x) => x.event === 'clock_suspect'));
    expect(gate.events('clock_suspect')[0]!.msg).toMatch(/is 24 h behind the newest entry in the database .*: it jumped back; check NTP sync \(timedatectl\)/);

    // Plugged in: the gate opens it by itself and STATUS says so (the clock warning stays).
    const pty: Pty = await createPty(site.dir, 'late-scanner');
    cleanups.push(() => pty.close());
    await gate.waitFor((l) => l.some((x) => x.event === 'device_ok' && x.device === 'scanner-2'), 30_000);
    await sock.waitFor(() => sock.lastStatus() === 'admitting; CLOCK 24 h behind the newest entry; 3 devices ok; whitelist seq 1; outbox 1', 'STATUS with the scanner back', 20_000, exited(gate));
  });

  it('under systemd with a unix-dgram that does not load (built for another Node), exits 1 with one line naming the fix', async () => {
    const { site } = await gateSite([]);
    const sock = new FakeNotifySocket();
    cleanups.push(() => sock.close());
    const hook = new URL('../../service/test/fixtures/break-unix-dgram.mjs', import.meta.url).pathname;
    const r = spawnSync(process.execPath, ['--import', hook, GATE_BIN, '--config', site.configPath], { env: sock.env(), encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^stile-gate: \$NOTIFY_SOCKET is set .* the unix-dgram native module did not load \(The module .*unix_dgram\.node'\); rebuild it for this Node and CPU: `npm rebuild unix-dgram`/),
    ]);
    expect(sock.messages).toEqual([]);
  });
});
