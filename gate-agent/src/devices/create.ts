import type { Logger } from 'pino';
import type { GateConfig, InputConfig, LaneDisplayConfig, LaneSensorConfig } from '@stile/config';
import { IdCardReader } from './idcard-ga467.js';
import type { GateInput } from './input.js';
import { LogDisplay, SerialDisplay, type LaneDisplay } from './lane-display.js';
import { SerialLaneSensor, type LaneSensor } from './lane-sensor.js';
import { GpioLaneSensor, onoffGpioInput, type GpioInputFactory } from './lane-sensor-gpio.js';
import { LineInput } from './line-input.js';
import { QrHidScanner, type HidBackend } from './qr-hid.js';
import { QrSerialScanner } from './qr-serial.js';
import { LogRelay, type Relay } from './relay.js';
import { GpioRelay } from './relay-gpio.js';
import { LcusRelay } from './relay-lcus.js';
import { openSerialPort, type SerialOpener } from './serial-port.js';
import { setState, type Backoff } from './supervisor.js';

/** How inputs reach hardware; tests and the simulator substitute their own. */
export interface InputDeviceDeps {
  /** USB HID backend (default: node-hid, loaded on first use). */
  hid?: () => Promise<HidBackend>;
  backoff?: Backoff;
}

/** One input per config entry; each keeps itself connected. */
export function createInput(cfg: InputConfig, idKey: string | Buffer, logger: Logger, deps: InputDeviceDeps = {}): GateInput {
  const log = logger.child({ module: 'device', device: cfg.name });
  switch (cfg.type) {
    case 'lines':
      return new LineInput(cfg, idKey, log);
    case 'qr-serial':
      return new QrSerialScanner(cfg, log);
    case 'qr-hid':
      return new QrHidScanner(cfg, log, deps.hid, deps.backoff ? { backoff: deps.backoff } : {});
    case 'idcard-ga467':
      return new IdCardReader(cfg, idKey, log);
  }
}

/**
 * The lane's relay. A relay that cannot start (no GPIO) is reported in its health and
 * every pulse fails loudly, but scanning and recording go on: staff open by hand.
 */
export function createRelay(cfg: GateConfig['relay'], logger: Logger): Relay {
  const log = logger.child({ module: 'relay' });
  switch (cfg.type) {
    case 'log':
      return new LogRelay(cfg, log);
    case 'lcus': {
      const relay = new LcusRelay(cfg, log);
      relay.start();
      return relay;
    }
    case 'gpio': {
      const relay = new GpioRelay(cfg, log);
      relay.start().catch((err: Error) => {
        setState(relay.health, 'degraded', err.message);
        log.error({ event: 'device_fault', device: relay.health.name, err: err.message }, 'relay unavailable');
      });
      return relay;
    }
  }
}

/** How lane devices reach hardware; tests and the simulator substitute their own. */
export interface LaneDeviceDeps {
  openSerial?: SerialOpener;
  gpioInput?: GpioInputFactory;
  backoff?: Backoff;
}

export function createLaneSensor(cfg: LaneSensorConfig, logger: Logger, deps: LaneDeviceDeps = {}): LaneSensor {
  const log = logger.child({ module: 'lane-sensor' });
  return cfg.type === 'serial'
    ? new SerialLaneSensor(cfg, log, deps.openSerial ?? openSerialPort, deps.backoff)
    : new GpioLaneSensor(cfg, log, deps.gpioInput ?? onoffGpioInput, deps.backoff);
}

export function createLaneDisplay(cfg: LaneDisplayConfig, logger: Logger, deps: LaneDeviceDeps = {}): LaneDisplay {
  const log = logger.child({ module: 'display' });
  return cfg.type === 'log' ? new LogDisplay(log) : new SerialDisplay(cfg, log, deps.openSerial ?? openSerialPort, deps.backoff);
}
