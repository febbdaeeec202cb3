import type { Logger } from 'pino';
import type { LaneSensorConfig } from '@stile/config';
import { SupervisedLaneSensor } from './lane-sensor.js';
import { exportError, loadOnoff } from './onoff.js';
import type { Backoff } from './supervisor.js';

type GpioSensorConfig = Extract<LaneSensorConfig, { type: 'gpio' }>;

export interface GpioInputLine {
  read(): Promise<0 | 1>;
  watch(cb: (err: Error | null | undefined, value: 0 | 1) => void): void;
  unexport(): void;
}
export interface GpioInputOptions {
  /** rising: one event per activation (passage); both: level changes (emergency). */
  edge: 'rising' | 'both';
  activeLow: boolean;
  debounceMs: number;
}
export type GpioInputFactory = (pin: number, opts: GpioInputOptions) => Promise<GpioInputLine>;

const WHAT = 'GPIO lane sensor';

/** Input lines through onoff (sysfs GPIO), loaded lazily like the GPIO relay. */
export const onoffGpioInput: GpioInputFactory = async (pin, opts) => {
  const Gpio = await loadOnoff(WHAT, 'a serial lane sensor (lane.sensor.type: serial)');
  try {
    const line = new Gpio(pin, 'in', opts.edge, { activeLow: opts.activeLow, ...(opts.debounceMs > 0 ? { debounceTimeout: opts.debounceMs } : {}) });
    return { read: () => line.read(), watch: (cb) => line.watch(cb), unexport: () => line.unexport() };
  } catch (err) {
    throw exportError(WHAT, pin, err as Error);
  }
};

interface GpioLines {
  passage: GpioInputLine | undefined;
  emergency: GpioInputLine | undefined;
  close(): Promise<void>;
}

/** Passage and emergency inputs wired to GPIO lines (light barrier, fire-alarm relay contact). */
export class GpioLaneSensor extends SupervisedLaneSensor<GpioLines> {
  constructor(cfg: GpioSensorConfig, log: Logger, factory: GpioInputFactory = onoffGpioInput, backoff?: Backoff) {
    const pins = [cfg.passagePin !== undefined ? `pass gpio${cfg.passagePin}` : '', cfg.emergencyPin !== undefined ? `emergency gpio${cfg.emergencyPin}` : ''].filter(Boolean).join(', ');
    const common = { activeLow: cfg.activeLow, debounceMs: cfg.debounceMs };
    const open = async (): Promise<GpioLines> => {
      const opened: GpioInputLine[] = [];
      const take = async (pin: number | undefined, edge: GpioInputOptions['edge']) => {
        if (pin === undefined) return undefined;
        const line = await factory(pin, { ...common, edge });
        opened.push(line);
        return line;
      };
      try {
        const passage = await take(cfg.passagePin, 'rising');
        const emergency = await take(cfg.emergencyPin, 'both');
        return { passage, emergency, close: async () => opened.forEach((l) => l.unexport()) };
      } catch (err) {
        opened.forEach((l) => l.unexport());
        throw err;
      }
    };
    super(`sensor ${pins}`, 'gpio', log, open, backoff);
  }

  protected attach(lines: GpioLines, lost: (err: Error | undefined) => void): void {
    lines.passage?.watch((err, value) => {
      if (err) return lost(err);
      if (value !== 1) return;
      this.health.scans++;
      this.emit('pass');
    });
    const emergency = lines.emergency;
    if (!emergency) return;
    emergency.watch((err, value) => (err ? lost(err) : this.emit('emergency', value === 1)));
    // Edges only tell changes: read the level now, so an alarm already on when we (re)connect counts.
    emergency.read().then((v) => this.emit('emergency', v === 1), lost);
  }
}
