import { EventEmitter } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from 'pino';
import type { LaneSensorConfig } from '@stile/config';
import { parseLaneLine } from '../protocol/lane-sensor.js';
import { LineFramer } from '../protocol/line-framer.js';
import { openSerialPort, type SerialConnection, type SerialOpener } from './serial-port.js';
import { countDiscard, DEFAULT_BACKOFF, newHealth, Reconnector, type Backoff, type DeviceHealth } from './supervisor.js';

export interface LaneSensorEvents {
  /** One person went through. */
  pass: [];
  /** The emergency input changed (or, after a GPIO reconnect, its current level). */
  emergency: [on: boolean];
  /** Connected (again). */
  up: [];
  /** Not connected: the first open failed, or the connection was lost. Once per outage. */
  down: [err: Error];
}

/** The lane's passage sensor and emergency input. Keeps itself connected. */
export interface LaneSensor extends EventEmitter<LaneSensorEvents> {
  readonly health: DeviceHealth;
  readonly connected: boolean;
  start(): void;
  close(): Promise<void>;
}

/**
 * Supervision shared by the serial and GPIO sensors: a Reconnector, plus `up`/`down`
 * events so the lane can apply fail-safe or fail-secure while the sensor is gone.
 */
export abstract class SupervisedLaneSensor<C extends { close(): Promise<void> }> extends EventEmitter<LaneSensorEvents> implements LaneSensor {
  readonly health: DeviceHealth;
  private readonly reconnector: Reconnector<C>;
  private isUp = false;
  private downReported = false;
  private closing = false;

  constructor(name: string, kind: string, protected readonly log: Logger, open: () => Promise<C>, backoff: Backoff = DEFAULT_BACKOFF) {
    super();
    this.health = newHealth(name, kind);
    const openOrReport = async () => {
      try {
        return await open();
      } catch (err) {
        this.markDown(err as Error);
        throw err;
      }
    };
    this.reconnector = new Reconnector(this.health, log, openOrReport, (conn, lost) => {
      let gone = false;
      this.attach(conn, (err) => {
        if (gone) return; // a port reports an unplug as error and close: one outage
        gone = true;
        this.markDown(err ?? new Error('sensor connection closed'));
        lost(err);
      });
      this.isUp = true;
      this.downReported = false;
      this.emit('up');
    }, backoff);
  }

  get connected(): boolean {
    return this.isUp;
  }

  /** Wire up a fresh connection; call `lost` when it goes away. */
  protected abstract attach(conn: C, lost: (err: Error | undefined) => void): void;

  private markDown(err: Error): void {
    // Closing the port on shutdown is not an outage: fail-safe must not open the lane for it.
    if (this.closing || (!this.isUp && this.downReported)) return;
    this.isUp = false;
    this.downReported = true;
    this.emit('down', err);
  }

  start(): void {
    this.reconnector.start();
  }

  async close(): Promise<void> {
    this.closing = true;
    this.isUp = false;
    await this.reconnector.stop();
  }
}

const MAX_LINE = 256;

/** A lane I/O board on a serial port speaking PASS / EMERGENCY ON / EMERGENCY OFF lines. */
export class SerialLaneSensor extends SupervisedLaneSensor<SerialConnection> {
  constructor(cfg: Extract<LaneSensorConfig, { type: 'serial' }>, log: Logger, open: SerialOpener = openSerialPort, backoff?: Backoff) {
    super(`sensor ${cfg.path}`, 'serial', log, () => open(cfg.path, cfg.baudRate), backoff);
  }

  protected attach(conn: SerialConnection, lost: (err: Error | undefined) => void): void {
    const framer = new LineFramer(MAX_LINE);
    const decoder = new StringDecoder('utf8');
    conn.on('data', (chunk) => {
      for (const frame of framer.push(decoder.write(chunk))) {
        if (frame.type === 'discarded') this.discard(frame.reason, String(frame.length));
        else if (frame.text.trim() !== '') this.line(frame.text);
      }
    });
    conn.on('error', (err) => lost(err));
    conn.on('close', (err) => lost(err ?? new Error('port closed')));
  }

  private line(text: string): void {
    const e = parseLaneLine(text);
    if (e.type === 'pass') {
      this.health.scans++;
      this.emit('pass');
    } else if (e.type === 'emergency') {
      this.emit('emergency', e.on);
    } else {
      this.discard('unknown_line', e.text);
    }
  }

  private discard(reason: string, detail: string): void {
    countDiscard(this.health, reason);
    this.log.warn({ event: 'input_discarded', device: this.health.name, reason, detail }, 'lane sensor line discarded');
  }
}
