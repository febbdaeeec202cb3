import { SimLink, type SimLinkOptions, type SimWire } from './sim-link.js';

/** Where a device's pty pair goes: `<dir>/<name>` for the gate, `<dir>/<name>.sim` for us. */
export interface DeviceOptions extends Omit<SimLinkOptions, 'baudRate' | 'name'> {
  name?: string;
  baudRate?: number;
}

/** Open a link with a device's defaults filled in. */
export function openLink(opts: DeviceOptions, defaults: { name: string; baudRate: number }): Promise<SimLink> {
  return SimLink.open({ ...opts, name: opts.name ?? defaults.name, baudRate: opts.baudRate ?? defaults.baudRate });
}

/**
 * What every simulated device offers on top of its protocol: the path for gate.yaml, and the
 * plug. Devices built on a bare SimWire (no SimLink) cannot be unplugged.
 */
export abstract class SimDevice {
  constructor(protected readonly wire: SimWire) {}

  /** The path to put in gate.yaml. */
  get devicePath(): string {
    return this.wire.devicePath;
  }

  get baudRate(): number {
    return this.wire.baudRate;
  }

  get plugged(): boolean {
    return this.wire.plugged;
  }

  /** The link, when the device runs on a real pty pair. */
  get link(): SimLink | undefined {
    return this.wire instanceof SimLink ? this.wire : undefined;
  }

  unplug(): Promise<void> {
    return this.link?.unplug() ?? Promise.resolve();
  }

  replug(): Promise<void> {
    return this.link?.replug() ?? Promise.resolve();
  }

  close(): Promise<void> {
    return this.link?.close() ?? Promise.resolve();
  }
}
