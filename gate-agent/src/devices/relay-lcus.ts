import type { Logger } from 'pino';
import type { RelayConfig } from '@stile/config';
import { encodeRelayCommand } from '../protocol/lcus-relay.js';
import { openSerialPort, type SerialConnection, type SerialOpener } from './serial-port.js';
import { PulsingRelay } from './relay.js';
import { Reconnector, setState } from './supervisor.js';

type LcusConfig = Extract<RelayConfig, { type: 'lcus' }>;

/** The common CH340 "LCUS" USB relay boards: `A0 ch state sum` per switch. Reopens after an unplug. */
export class LcusRelay extends PulsingRelay {
  private readonly reconnector: Reconnector<SerialConnection>;

  constructor(
    private readonly lcus: LcusConfig,
    log: Logger,
    open: SerialOpener = openSerialPort,
  ) {
    super(lcus, log, 'lcus');
    this.health.name = `relay ${lcus.path}#${lcus.channel}`;
    // Not 'ok' before the board has answered once: READY=1 and `gatectl test-relay` wait for the first open.
    setState(this.health, 'starting');
    this.reconnector = new Reconnector(this.health, log, () => open(lcus.path, lcus.baudRate), (conn, lost) => {
      conn.on('error', lost);
      conn.on('close', (err) => lost(err ?? new Error('port closed')));
      // Whatever the board's state after power-up: the contact is open, or closed while an emergency holds the lane open.
      conn.write(encodeRelayCommand(lcus.channel, this.restingState)).catch(lost);
    });
  }

  start(): void {
    this.reconnector.start();
  }

  protected async drive(on: boolean): Promise<void> {
    const conn = this.reconnector.connection;
    if (!conn) throw new Error(`relay board ${this.lcus.path} not connected (${this.health.error ?? 'starting'})`);
    await conn.write(encodeRelayCommand(this.lcus.channel, on));
  }

  override async close(): Promise<void> {
    await super.close();
    await this.reconnector.stop();
  }
}
