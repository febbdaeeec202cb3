import type { Logger } from 'pino';
import type { LaneDisplayConfig } from '@stile/config';
import { encodeGb18030 } from '../protocol/gb18030.js';
import { displayLine, type DisplayDecision } from '../protocol/lane-display.js';
import { openSerialPort, type SerialConnection, type SerialOpener } from './serial-port.js';
import { countDiscard, newHealth, Reconnector, setState, type Backoff, type DeviceHealth } from './supervisor.js';

/** Shows the visitor each decision (text, light, beep). Never blocks or fails a scan. */
export interface LaneDisplay {
  readonly health: DeviceHealth;
  show(d: DisplayDecision): void;
  start(): void;
  close(): Promise<void>;
}

/** Logs the line it would show: for the demo, tests and lanes without a display. */
export class LogDisplay implements LaneDisplay {
  readonly health = newHealth('display', 'log');

  constructor(private readonly log: Logger) {}

  start(): void {
    setState(this.health, 'ok');
  }

  show(d: DisplayDecision): void {
    this.health.scans++;
    this.log.info({ event: 'display', line: displayLine(d).trimEnd() }, 'display');
  }

  async close(): Promise<void> {
    setState(this.health, 'stopped');
  }
}

/**
 * A display board on a serial port, one line per decision. A line that cannot be sent
 * (board unplugged) is dropped and counted, not queued: a stale "OK" for the previous
 * visitor is worse than none.
 */
export class SerialDisplay implements LaneDisplay {
  readonly health: DeviceHealth;
  private readonly reconnector: Reconnector<SerialConnection>;
  private readonly encode: (text: string) => Buffer;

  constructor(
    cfg: Extract<LaneDisplayConfig, { type: 'serial' }>,
    private readonly log: Logger,
    open: SerialOpener = openSerialPort,
    backoff?: Backoff,
  ) {
    this.health = newHealth(`display ${cfg.path}`, 'serial');
    this.encode = cfg.encoding === 'gb18030' ? encodeGb18030 : (text) => Buffer.from(text, 'utf8');
    this.reconnector = new Reconnector(this.health, log, () => open(cfg.path, cfg.baudRate), (conn, lost) => {
      conn.on('error', lost);
      conn.on('close', (err) => lost(err ?? new Error('port closed')));
    }, backoff);
  }

  start(): void {
    this.reconnector.start();
  }

  show(d: DisplayDecision): void {
    const conn = this.reconnector.connection;
    if (!conn) {
      this.drop('not_connected');
      return;
    }
    const line = displayLine(d);
    conn.write(this.encode(line)).then(
      () => {
        this.health.scans++;
      },
      (err: Error) => {
        this.drop('write_failed');
        this.log.warn({ event: 'display_failed', device: this.health.name, err: err.message }, 'display line not sent');
      },
    );
  }

  private drop(reason: string): void {
    countDiscard(this.health, reason);
  }

  async close(): Promise<void> {
    await this.reconnector.stop();
  }
}
