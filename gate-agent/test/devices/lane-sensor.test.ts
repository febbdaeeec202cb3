import { describe, expect, it } from 'vitest';
import { GpioLaneSensor, onoffGpioInput, type GpioInputLine, type GpioInputOptions } from '../../src/devices/lane-sensor-gpio.js';
import { SerialLaneSensor, type LaneSensor } from '../../src/devices/lane-sensor.js';
import { fakeOpener, until } from '../helpers/fake-serial.js';
import { FAST_BACKOFF } from '../helpers/lane.js';
import { silent } from '../helpers/site.js';

function record(sensor: LaneSensor): string[] {
  const events: string[] = [];
  sensor.on('pass', () => events.push('pass'));
  sensor.on('emergency', (on) => events.push(on ? 'emergency on' : 'emergency off'));
  sensor.on('up', () => events.push('up'));
  sensor.on('down', (err) => events.push(`down: ${err.message}`));
  return events;
}

describe('serial lane sensor', () => {
  it('closing it on shutdown is not an outage (no down event, so fail-safe does not open the lane)', async () => {
    const fake = fakeOpener();
    // Like serialport: closing the port emits close.
    fake.setup = (port) => {
      port.close = async () => {
        port.closed = true;
        port.emit('close', undefined);
      };
    };
    const sensor = new SerialLaneSensor({ type: 'serial', path: '/dev/s', baudRate: 9600 }, silent, fake.open, FAST_BACKOFF);
    const events = record(sensor);
    sensor.start();
    await until(() => sensor.connected);
    await sensor.close();
    expect(events).toEqual(['up']);
  });

  it('turns PASS / EMERGENCY lines, split across chunks, into events; other lines are counted', async () => {
    const fake = fakeOpener();
    const sensor = new SerialLaneSensor({ type: 'serial', path: '/dev/s', baudRate: 9600 }, silent, fake.open, FAST_BACKOFF);
    const events = record(sensor);
    sensor.start();
    await until(() => sensor.connected);
    const port = fake.ports[0]!;
    port.receive('PA');
    port.receive('SS\r\nEMERGENCY O');
    port.receive('N\nHELLO\n\nEMERGENCY OFF\r');
    expect(events).toEqual(['up', 'pass', 'emergency on', 'emergency off']);
    expect(sensor.health).toMatchObject({ state: 'ok', scans: 1, discarded: { unknown_line: 1 } });
    await sensor.close();
  });

  it('reports down once per outage (first failed open included) and up when back', async () => {
    const fake = fakeOpener();
    fake.unavailable = true;
    const sensor = new SerialLaneSensor({ type: 'serial', path: '/dev/s', baudRate: 9600 }, silent, fake.open, FAST_BACKOFF);
    const events = record(sensor);
    sensor.start();
    await until(() => events.length === 1);
    await new Promise((r) => setTimeout(r, 150)); // several failed retries
    expect(events).toEqual(['down: /dev/s: no such device']);
    fake.unavailable = false;
    await until(() => sensor.connected);
    fake.unavailable = true;
    fake.ports[0]!.unplug();
    fake.ports[0]!.emit('error', new Error('late error'));
    await new Promise((r) => setTimeout(r, 100));
    expect(events).toEqual(['down: /dev/s: no such device', 'up', 'down: disconnected']);
    expect(sensor.health.state).toBe('reconnecting');
    await sensor.close();
    expect(sensor.health.state).toBe('stopped');
  });
});

class FakeLine implements GpioInputLine {
  cb: ((err: Error | null | undefined, value: 0 | 1) => void) | undefined;
  unexported = false;
  constructor(
    readonly pin: number,
    readonly opts: GpioInputOptions,
    public level: 0 | 1 = 0,
  ) {}
  async read(): Promise<0 | 1> {
    return this.level;
  }
  watch(cb: (err: Error | null | undefined, value: 0 | 1) => void): void {
    this.cb = cb;
  }
  unexport(): void {
    this.unexported = true;
  }
  set(v: 0 | 1): void {
    this.level = v;
    this.cb?.(null, v);
  }
}

describe('GPIO lane sensor', () => {
  const cfg = { type: 'gpio' as const, passagePin: 23, emergencyPin: 24, activeLow: true, debounceMs: 20 };

  it('a rising passage edge is a PASS; the emergency line reports its level at connect and on every change', async () => {
    const lines: FakeLine[] = [];
    const sensor = new GpioLaneSensor(cfg, silent, async (pin, opts) => {
      const l = new FakeLine(pin, opts, pin === 24 ? 1 : 0); // alarm already on at start
      lines.push(l);
      return l;
    });
    const events = record(sensor);
    sensor.start();
    await until(() => events.includes('emergency on'));
    const [pass, emergency] = lines;
    expect(pass).toMatchObject({ pin: 23, opts: { edge: 'rising', activeLow: true, debounceMs: 20 } });
    expect(emergency).toMatchObject({ pin: 24, opts: { edge: 'both' } });
    expect(sensor.health.name).toBe('sensor pass gpio23, emergency gpio24');
    pass!.set(1);
    pass!.set(0);
    emergency!.set(0);
    expect(events).toEqual(['up', 'emergency on', 'pass', 'emergency off']);
    await sensor.close();
    expect(lines.every((l) => l.unexported)).toBe(true);
  });

  it('a line that cannot be exported is a lost sensor; lines already exported are released', async () => {
    const lines: FakeLine[] = [];
    const sensor = new GpioLaneSensor(cfg, silent, async (pin, opts) => {
      if (pin === 24) throw new Error('EBUSY');
      const l = new FakeLine(pin, opts);
      lines.push(l);
      return l;
    }, FAST_BACKOFF);
    const events = record(sensor);
    sensor.start();
    await until(() => events.length === 1);
    expect(events).toEqual(['down: EBUSY']);
    expect(lines[0]!.unexported).toBe(true);
    await sensor.close();
  });

  it('without sysfs GPIO, onoff input says so and names the alternatives', async () => {
    await expect(onoffGpioInput(23, { edge: 'rising', activeLow: false, debounceMs: 0 })).rejects.toThrow(/GPIO lane sensor: .*sysfs GPIO.*libgpiod.*lane\.sensor\.type: serial/);
  });
});
