import type { Logger } from 'pino';
import type { RelayConfig } from '@stile/config';
import { exportError, loadOnoff } from './onoff.js';
import { PulsingRelay } from './relay.js';
import { setState } from './supervisor.js';

type GpioConfig = Extract<RelayConfig, { type: 'gpio' }>;
interface GpioLine {
  write(value: 0 | 1): Promise<void>;
  unexport(): void;
}
type GpioFactory = (pin: number, activeLow: boolean) => Promise<GpioLine>;

/** onoff drives sysfs GPIO; load it lazily and say what to do when the kernel has no sysfs GPIO. */
export const onoffGpio: GpioFactory = async (pin, activeLow) => {
  const Gpio = await loadOnoff('GPIO relay', 'a USB relay board (relay.type: lcus)');
  try {
    // Start with the contact open: 'low' is inactive whatever activeLow says.
    const line = new Gpio(pin, 'low', 'none', { activeLow });
    return { write: (v) => line.write(v), unexport: () => line.unexport() };
  } catch (err) {
    throw exportError('GPIO relay', pin, err as Error);
  }
};

/** A relay HAT or transistor on a GPIO line. */
export class GpioRelay extends PulsingRelay {
  private line: GpioLine | undefined;

  constructor(
    private readonly gpio: GpioConfig,
    log: Logger,
    private readonly factory: GpioFactory = onoffGpio,
  ) {
    super(gpio, log, 'gpio');
    this.health.name = `relay gpio${gpio.pin}`;
    setState(this.health, 'starting');
  }

  /** Throws a DEVICE_UNAVAILABLE error naming the fix; the daemon reports it and keeps scanning. */
  async start(): Promise<void> {
    this.line = await this.factory(this.gpio.pin, this.gpio.activeLow);
    if (this.restingState) await this.line.write(1);
    // (A failure is reported by create.ts as 'degraded' with the fix.)
    if (this.health.state === 'starting') setState(this.health, 'ok');
  }

  protected async drive(on: boolean): Promise<void> {
    if (!this.line) throw new Error(`GPIO line ${this.gpio.pin} not available (${this.health.error ?? 'not started'})`);
    await this.line.write(on ? 1 : 0);
  }

  override async close(): Promise<void> {
    await super.close();
    this.line?.unexport();
  }
}
