/** Process-level: spawns the built CLI (bin/stile-sim.js → dist), so run `npx tsc -b` first. */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeRelayCommand } from '@stile/gate-agent/protocol';
import { GatePort, processAlive, sleep, tempDir } from './helpers.js';

const BIN = fileURLToPath(new URL('../bin/stile-sim.js', import.meta.url));

interface Event {
  event: string;
  [k: string]: unknown;
}

class Sim {
  readonly events: Event[] = [];
  private partial = '';

  constructor(readonly proc: ChildProcess) {
    proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split('\n');
      this.partial = parts.pop() ?? '';
      for (const p of parts) this.events.push(JSON.parse(p) as Event);
    });
  }

  static start(args: string[]): Sim {
    const sim = new Sim(spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'inherit'] }));
    started.push(sim);
    return sim;
  }

  async next(event: string, timeoutMs = 5000): Promise<Event> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex((e) => e.event === event);
      if (i >= 0) return this.events.splice(i, 1)[0] as Event;
      if (Date.now() > deadline) throw new Error(`no ${event}; got ${JSON.stringify(this.events)}`);
      await sleep(10);
    }
  }

  send(line: string): void {
    this.proc.stdin?.write(`${line}\n`);
  }

  /** pty relays this CLI started: socat, or pty-pair.py without it (setpriv execs into them, so they are its children). */
  socatChildren(): number[] {
    try {
      return execFileSync('pgrep', ['-P', String(this.proc.pid), '-f', '^([^ ]*/)?socat |pty-pair\\.py '], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }
}

const linkExists = (p: string) => {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

/** A failed test must not leave a --no-stdin simulator running (its socats die with it). */
const started: Sim[] = [];

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => {
  for (const sim of started.splice(0)) if (sim.proc.exitCode === null && sim.proc.signalCode === null) sim.proc.kill('SIGKILL');
  tmp.cleanup();
});

describe('stile-sim CLI', () => {
  it('prints the device paths, obeys stdin commands, reports pulses, and cleans up on SIGTERM', async () => {
    const sim = Sim.start(['--dir', tmp.dir, '--json']);
    const ready = await sim.next('ready');
    const paths = ready.paths as Record<string, string>;
    expect(paths).toEqual({ scanner: `${tmp.dir}/scanner`, idCard: `${tmp.dir}/idcard`, relay: `${tmp.dir}/relay`, sensor: `${tmp.dir}/sensor`, display: `${tmp.dir}/display` });
    expect(ready.gateYaml).toContain('type: idcard-ga467');
    const socats = sim.socatChildren();
    expect(socats).toHaveLength(5);

    const scanner = await GatePort.open(paths.scanner as string, 9600);
    sim.send('scan ST1:HELLO12345');
    expect((await scanner.take(16)).toString()).toBe('ST1:HELLO12345\r\n');

    const relay = await GatePort.open(paths.relay as string, 9600);
    await relay.write(encodeRelayCommand(1, true));
    await sleep(100);
    await relay.write(encodeRelayCommand(1, false));
    const pulse = await sim.next('pulse');
    expect(pulse).toMatchObject({ channel: 1 });
    expect(pulse.ms as number).toBeGreaterThan(90);

    sim.send('unplug scanner');
    // Generous: under a full parallel test run socat's exit can take seconds to reach us.
    await scanner.waitFor((g) => g.closed, 15_000);
    sim.send('replug scanner');
    await sim.next('replug');
    const again = await GatePort.open(paths.scanner as string, 9600);
    sim.send('bogus');
    expect(await sim.next('error')).toMatchObject({ code: 'BAD_ARGUMENT' });
    await Promise.all([again.close(), relay.close()]);

    const exited = once(sim.proc, 'exit');
    sim.proc.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    await sleep(50);
    for (const pid of socats) expect(processAlive(pid)).toBe(false);
    for (const p of Object.values(paths)) expect(linkExists(p)).toBe(false);
  });

  it('takes socat down with it when killed with -9', async () => {
    const sim = Sim.start(['--dir', tmp.dir, '--json', '--no-idcard', '--no-sensor', '--no-display', '--no-stdin']);
    await sim.next('ready');
    const socats = sim.socatChildren();
    expect(socats).toHaveLength(2);
    const exited = once(sim.proc, 'exit');
    sim.proc.kill('SIGKILL');
    await exited;
    const deadline = Date.now() + 2000;
    while (socats.some(processAlive) && Date.now() < deadline) await sleep(20);
    expect(socats.filter(processAlive)).toEqual([]);
  });

  it('plays a visitor flow and prints a report', async () => {
    const sim = Sim.start(['visitors', '--dir', tmp.dir, '--json', '--quiet', '--rate', '1200', '--count', '3', '--mix', 'forged=1', '--delay', '0', '--window', '100', '--settle', '0']);
    const report = await sim.next('report');
    expect(report).toMatchObject({ visitors: 3, rejected: 3, admitted: 0, unexpected: 0 });
    const [code] = await once(sim.proc, 'exit');
    expect(code).toBe(0);
    expect(linkExists(`${tmp.dir}/scanner`)).toBe(false);
  });
});
