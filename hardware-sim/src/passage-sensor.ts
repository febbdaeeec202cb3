/**
 * The lane I/O board's sensor side: one `PASS` line per person through, `EMERGENCY ON` /
 * `EMERGENCY OFF` when the fire-alarm input changes (gate-agent's lane-sensor protocol, LF-ended).
 * gate.yaml: `lane.sensor: { type: serial, path, baudRate }`.
 */
import { serializeLaneEvent } from '@stile/gate-agent/protocol';
import { SimDevice, openLink, type DeviceOptions } from './device.js';
import type { SimWire } from './sim-link.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class SimPassageSensor extends SimDevice {
  passes = 0;
  emergency = false;

  constructor(wire: SimWire) {
    super(wire);
  }

  /** A sensor on a new pty pair: `<dir>/<name ?? 'sensor'>`, 9600 baud unless told. */
  static async open(opts: DeviceOptions): Promise<SimPassageSensor> {
    return new SimPassageSensor(await openLink(opts, { name: 'sensor', baudRate: 9600 }));
  }

  /** `persons` people walk through, `gapMs` apart. Resolves with the last write time. */
  async pass(persons = 1, opts: { gapMs?: number } = {}): Promise<number> {
    let at = 0;
    for (let i = 0; i < persons; i++) {
      if (i > 0 && opts.gapMs) await sleep(opts.gapMs);
      at = await this.wire.write(Buffer.from(serializeLaneEvent({ type: 'pass' }), 'latin1'));
      this.passes++;
    }
    return at;
  }

  async setEmergency(on: boolean): Promise<number> {
    const at = await this.wire.write(Buffer.from(serializeLaneEvent({ type: 'emergency', on }), 'latin1'));
    this.emergency = on;
    return at;
  }
}
