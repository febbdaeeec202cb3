import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { StileError, StileErrorCode, type RelayConfig } from '@stile/config';
import { PulsingRelay } from './relay.js';

type GpioConfig = Extract<RelayConfig, { type: 'gpio' }>;
interface GpioLine {
  write(value: 0 | 1): Promise<void>;
  unexport(): void;
}
type GpioFactory = (pin: number, activeLow: boolean) => Promise<GpioLine>;

const SYSFS_GPIO = '/sys/class/gpio';

/** onoff drives sysfs GPIO; load it lazily and say what to do when the kernel has no sysfs GPIO. */
export const onoffGpio: GpioFactory = async (pin, activeLow) => {
  if (!existsSync(SYSFS_GPIO)) {
    throw new StileError(
      StileErrorCode.DeviceUnavailable,
      `GPIO relay: ${SYSFS_GPIO} does not exist — this kernel has no sysfs GPIO (CONFIG_GPIO_SYSFS). On newer kernels use libgpiod (apt-get install gpiod) or a USB relay board (relay.type: lcus)`,
    );
  }
  let Gpio: typeof import('onoff').Gpio;
  try {
    ({ Gpio } = await import('onoff'));
  } catch (err) {
    throw new StileError(StileErrorCode.DeviceUnavailable, `GPIO relay: onoff could not load (${(err as Error).message.split('\n')[0]}); run "npm ci" on the gate so its native epoll module is built`);
  }
  if (!Gpio.accessible) throw new StileError(StileErrorCode.DeviceUnavailable, `GPIO relay: ${SYSFS_GPIO} is not writable — add the gate's user to the "gpio" group`);
  try {
    // Start with the contact open: 'low' is inactive whatever activeLow says.
    const line = new Gpio(pin, 'low', 'none', { activeLow });
    return { write: (v) => line.write(v), unexport: () => line.unexport() };
  } catch (err) {
    throw new StileError(
      StileErrorCode.DeviceUnavailable,
      `GPIO relay: cannot export line ${pin} (${(err as Error).message}). On kernels ≥ 6.6 sysfs numbers start at a chip base (e.g. 512 + BCM pin): see /sys/class/gpio/gpiochip*/base`,
    );
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
  }

  /** Throws a DEVICE_UNAVAILABLE error naming the fix; the daemon reports it and keeps scanning. */
  async start(): Promise<void> {
    this.line = await this.factory(this.gpio.pin, this.gpio.activeLow);
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
