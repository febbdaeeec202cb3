import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { Writable } from 'node:stream';
import { LcusRelay } from '../../src/devices/relay-lcus.js';
import { GpioRelay, onoffGpio } from '../../src/devices/relay-gpio.js';
import { fakeOpener, until } from '../helpers/fake-serial.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c)) as Record<string, unknown>); cb(); } }));
  return { log, lines };
}

const ON = Buffer.from([0xa0, 0x01, 0x01, 0xa2]);
const OFF = Buffer.from([0xa0, 0x01, 0x00, 0xa1]);

describe('LCUS USB relay board', () => {
  it('opens the contact on connect, then pulses once per person of a group', async () => {
    const fake = fakeOpener();
    const { log } = capture();
    const relay = new LcusRelay({ type: 'lcus', path: '/dev/fake', baudRate: 9600, channel: 1, pulseMs: 50, gapMs: 20 }, log, fake.open);
    relay.start();
    await until(() => relay.health.state === 'ok');
    await relay.pulse(3, { ticketId: 'T', seq: 7 });
    expect(fake.ports[0]!.written).toEqual([OFF, ON, OFF, ON, OFF, ON, OFF]);
    await relay.close();
  });

  it('an unplugged board fails the pulse loudly with the entry seq, and the daemon call does not throw', async () => {
    const fake = fakeOpener();
    const { log, lines } = capture();
    const relay = new LcusRelay({ type: 'lcus', path: '/dev/fake', baudRate: 9600, channel: 1, pulseMs: 50, gapMs: 0 }, log, fake.open);
    relay.start();
    await until(() => relay.health.state === 'ok');
    fake.unavailable = true;
    fake.ports[0]!.unplug();
    await relay.pulse(1, { ticketId: 'T2', seq: 9 });
    expect(lines.find((l) => l.event === 'relay_failed')).toMatchObject({ ticketId: 'T2', seq: 9 });
    expect(lines.some((l) => l.event === 'relay_pulse')).toBe(false);
    await relay.close();
  });
});

describe('GPIO relay', () => {
  it('drives the line high for pulseMs per person', async () => {
    const writes: number[] = [];
    const { log } = capture();
    const relay = new GpioRelay({ type: 'gpio', pin: 17, activeLow: false, pulseMs: 50, gapMs: 0 }, log, async () => ({ write: async (v) => void writes.push(v), unexport: () => {} }));
    await relay.start();
    await relay.pulse(2, { ticketId: 'T' });
    expect(writes).toEqual([1, 0, 1, 0]);
  });

  it('without sysfs GPIO, says so and names libgpiod as the fix', async () => {
    await expect(onoffGpio(17, false)).rejects.toThrow(/sysfs GPIO.*libgpiod/);
  });
});
