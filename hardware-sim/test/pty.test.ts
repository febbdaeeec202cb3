import { existsSync, lstatSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimError, SimErrorCode, SimLink, createPty, isSimError } from '../src/index.js';
import { GatePort, processAlive, sleep, tempDir } from './helpers.js';

const linkExists = (p: string) => {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

describe('createPty', () => {
  it('links two ptys with socat and takes them down on close', async () => {
    const pty = await createPty(tmp.dir, 'dev');
    expect(pty.devicePath).toBe(join(tmp.dir, 'dev'));
    expect(pty.simPath).toBe(join(tmp.dir, 'dev.sim'));
    expect(lstatSync(pty.devicePath).isSymbolicLink()).toBe(true);
    expect(processAlive(pty.pid)).toBe(true);

    const gate = await GatePort.open(pty.devicePath, 9600);
    const sim = await GatePort.open(pty.simPath, 9600);
    await sim.write('hello\r\n');
    expect((await gate.take(7)).toString()).toBe('hello\r\n');
    await gate.write(Buffer.from([0xa0, 0x01, 0x01, 0xa2]));
    expect((await sim.take(4)).toString('hex')).toBe('a00101a2');

    await pty.close();
    expect(pty.exited).toBe(true);
    expect(processAlive(pty.pid)).toBe(false);
    expect(linkExists(pty.devicePath)).toBe(false);
    expect(linkExists(pty.simPath)).toBe(false);
    // The gate's port saw the hang-up as a disconnect, as with a pulled USB adapter.
    await gate.waitFor((g) => g.closed);
    expect(gate.disconnected).toBe(true);
    await pty.close(); // idempotent
  });

  it('survives the gate opening and closing its end, as a reconnecting driver does', async () => {
    const pty = await createPty(tmp.dir, 'reopen');
    try {
      const first = await GatePort.open(pty.devicePath, 9600);
      await first.close();
      const second = await GatePort.open(pty.devicePath, 9600);
      const sim = await GatePort.open(pty.simPath, 9600);
      await sim.write('x\n');
      expect((await second.take(2)).toString()).toBe('x\n');
      expect(pty.exited).toBe(false);
      await Promise.all([second.close(), sim.close()]);
    } finally {
      await pty.close();
    }
  });

  it('says how to install socat when it is missing', async () => {
    const err = await createPty(tmp.dir, 'x', { socatPath: join(tmp.dir, 'no-socat') }).catch((e: unknown) => e);
    expect(isSimError(err, SimErrorCode.SocatNotFound)).toBe(true);
    expect((err as SimError).message).toMatch(/^socat not found: apt-get install socat/);
  });

  it('replaces a stale link left by a killed socat, but not a real file', async () => {
    symlinkSync('/dev/pts/does-not-exist', join(tmp.dir, 'stale'));
    const pty = await createPty(tmp.dir, 'stale');
    expect(existsSync(pty.devicePath)).toBe(true);
    await pty.close();

    // …but a link a live socat serves belongs to someone else.
    const live = await createPty(tmp.dir, 'taken');
    await expect(createPty(tmp.dir, 'taken')).rejects.toThrow(new RegExp(`in use by (socat|pty-pair\\.py) pid ${live.pid}`));
    expect(existsSync(live.devicePath)).toBe(true);
    await live.close();

    writeFileSync(join(tmp.dir, 'file'), 'x');
    await expect(createPty(tmp.dir, 'file')).rejects.toMatchObject({ code: SimErrorCode.PathExists });
    await expect(createPty(tmp.dir, 'a,b')).rejects.toMatchObject({ code: SimErrorCode.BadPath });
  });
});

describe('SimLink unplug / replug', () => {
  it('unplug disconnects the gate and removes the path; replug brings a working device back', async () => {
    const link = await SimLink.open({ dir: tmp.dir, name: 'scanner', baudRate: 9600 });
    const events: string[] = [];
    link.on('unplugged', (r) => events.push(`unplugged:${r}`));
    link.on('plugged', () => events.push('plugged'));
    try {
      const gate = await GatePort.open(link.devicePath, 9600);
      await link.write(Buffer.from('A\r\n'));
      expect((await gate.take(3)).toString()).toBe('A\r\n');
      const pid = link.socatPid as number;

      await link.unplug();
      await gate.waitFor((g) => g.closed);
      expect(gate.disconnected).toBe(true);
      expect(linkExists(link.devicePath)).toBe(false);
      expect(processAlive(pid)).toBe(false);
      expect(link.plugged).toBe(false);
      await expect(link.write(Buffer.from('B'))).rejects.toMatchObject({ code: SimErrorCode.Unplugged });
      await expect(GatePort.open(link.devicePath, 9600)).rejects.toThrow();

      await link.replug();
      expect(link.socatPid).not.toBe(pid);
      const again = await GatePort.open(link.devicePath, 9600);
      await link.write(Buffer.from('C\r\n'));
      expect((await again.take(3)).toString()).toBe('C\r\n');
      expect(events).toEqual(['unplugged:unplug', 'plugged']);
      await again.close();
    } finally {
      await link.close();
    }
    expect(existsSync(link.devicePath)).toBe(false);
  });

  it('notices socat killed from outside, and reports the gate-side baud rate', async () => {
    const link = await SimLink.open({ dir: tmp.dir, name: 'idcard', baudRate: 115200 });
    try {
      const gate = await GatePort.open(link.devicePath, 115200);
      expect(await link.gateBaudRate()).toBe(115200);
      await gate.close();
      const gone = new Promise<string>((r) => link.once('unplugged', r));
      process.kill(link.socatPid as number, 'SIGKILL');
      expect(['socat_exit', 'port_closed']).toContain(await gone);
      await sleep(20);
      expect(link.plugged).toBe(false);
      // SIGKILL leaves socat no chance to remove its links; we do.
      expect(linkExists(link.devicePath)).toBe(false);
      expect(linkExists(link.simPath)).toBe(false);
      await link.replug();
      expect(link.plugged).toBe(true);
    } finally {
      await link.close();
    }
  });
});
