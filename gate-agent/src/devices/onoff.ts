import { existsSync } from 'node:fs';
import { StileError, StileErrorCode } from '@stile/config';

export type OnoffGpio = typeof import('onoff').Gpio;

export const SYSFS_GPIO = '/sys/class/gpio';

/**
 * onoff drives sysfs GPIO. Load it only when a GPIO device is configured, and say what to
 * do when it cannot work: no sysfs GPIO in the kernel, native module not built, no access.
 * `what` names the device ("GPIO relay"), `instead` the serial alternative.
 */
export async function loadOnoff(what: string, instead: string): Promise<OnoffGpio> {
  if (!existsSync(SYSFS_GPIO)) {
    throw new StileError(
      StileErrorCode.DeviceUnavailable,
      `${what}: ${SYSFS_GPIO} does not exist — this kernel has no sysfs GPIO (CONFIG_GPIO_SYSFS). On newer kernels use libgpiod (apt-get install gpiod) or ${instead}`,
    );
  }
  let Gpio: OnoffGpio;
  try {
    ({ Gpio } = await import('onoff'));
  } catch (err) {
    throw new StileError(StileErrorCode.DeviceUnavailable, `${what}: onoff could not load (${(err as Error).message.split('\n')[0]}); run "npm ci" on the gate so its native epoll module is built`);
  }
  if (!Gpio.accessible) throw new StileError(StileErrorCode.DeviceUnavailable, `${what}: ${SYSFS_GPIO} is not writable — add the gate's user to the "gpio" group`);
  return Gpio;
}

/** Exporting a line fails with a bare errno; name the usual cause. */
export function exportError(what: string, pin: number, err: Error): StileError {
  return new StileError(
    StileErrorCode.DeviceUnavailable,
    `${what}: cannot export line ${pin} (${err.message}). On kernels ≥ 6.6 sysfs numbers start at a chip base (e.g. 512 + BCM pin): see /sys/class/gpio/gpiochip*/base`,
  );
}
