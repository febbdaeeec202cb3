import { describe, expect, it } from 'vitest';
import { LcusRelay } from '../../src/devices/relay-lcus.js';
import { GpioRelay } from '../../src/devices/relay-gpio.js';
import { fakeOpener, until } from '../helpers/fake-serial.js';
import { captureLog, RecordingRelay } from '../helpers/lane.js';

const ON = Buffer.from([0xa0, 0x01, 0x01, 0xa2]);
const OFF = Buffer.from([0xa0, 0x01, 0x00, 0xa1]);

describe('relay emergency hold', () => {
  it('holds the contact closed, skips pulses with a log line, and opens it on release', async () => {
    const { log, events } = captureLog();
    const relay = new RecordingRelay(log);
    await relay.setEmergency(true);
    await relay.setEmergency(true); // idempotent
    expect(relay.emergency).toBe(true);
    await relay.pulse(2, { ticketId: 'T', seq: 5 });
    expect(relay.drives).toEqual([true]);
    expect(events('relay_pulse_skipped')).toMatchObject([
      { reason: 'emergency', ticketId: 'T', seq: 5, person: 1, of: 2 },
      { reason: 'emergency', ticketId: 'T', seq: 5, person: 2, of: 2 },
    ]);
    expect(relay.pulses).toBe(0);
    expect(relay.skipped).toBe(2);
    await relay.setEmergency(false);
    expect(relay.drives).toEqual([true, false]);
    await relay.pulse(1, { ticketId: 'T2' });
    expect(relay.drives).toEqual([true, false, true, false]);
  });

  it('an LCUS board that reconnects during an emergency is switched on, not off', async () => {
    const fake = fakeOpener();
    const { log } = captureLog();
    const relay = new LcusRelay({ type: 'lcus', path: '/dev/fake', baudRate: 9600, channel: 1, pulseMs: 50, gapMs: 0 }, log, fake.open);
    relay.start();
    await until(() => relay.health.state === 'ok');
    await relay.setEmergency(true);
    expect(fake.ports[0]!.written).toEqual([OFF, ON]);
    fake.ports[0]!.unplug();
    await until(() => fake.ports.length === 2 && fake.ports[1]!.written.length === 1);
    expect(fake.ports[1]!.written).toEqual([ON]);
    await relay.setEmergency(false);
    expect(fake.ports[1]!.written).toEqual([ON, OFF]);
    await relay.close();
  });

  it('a relay that cannot switch for an emergency logs relay_failed and still holds once it can', async () => {
    const { log, events } = captureLog();
    const writes: number[] = [];
    const relay = new GpioRelay({ type: 'gpio', pin: 17, activeLow: false, pulseMs: 50, gapMs: 0 }, log, async () => ({ write: async (v) => void writes.push(v), unexport: () => {} }));
    await relay.setEmergency(true); // not started: no line yet
    expect(events('relay_failed')).toMatchObject([{ emergency: true }]);
    expect(relay.health.state).toBe('degraded');
    await relay.start();
    expect(writes).toEqual([1]);
  });
});
