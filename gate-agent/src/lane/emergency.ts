import type { Logger } from 'pino';
import type { EmergencyMode } from '@stile/config';
import type { Relay } from '../devices/relay.js';

/**
 * Why the lane is held open. `input`: the sensor reported EMERGENCY ON. `sensor_lost`:
 * fail-safe mode and the sensor is gone. `remote`: a signed emergency-open command.
 */
export type EmergencyCause = 'input' | 'sensor_lost' | 'remote';

export interface EmergencyState {
  active: boolean;
  mode: EmergencyMode;
  causes: EmergencyCause[];
  /** When it last opened or closed. */
  since: string | null;
}

/**
 * Holds the relay open while any cause is active. Causes are independent: the lane
 * closes only when the last one clears, so an EMERGENCY OFF does not close a lane that
 * is also open because its fail-safe sensor is unplugged.
 */
export class EmergencyHold {
  readonly state: EmergencyState;
  private readonly causes = new Set<EmergencyCause>();

  constructor(
    private readonly relay: Relay,
    mode: EmergencyMode,
    private readonly log: Logger,
    private readonly onChange: (active: boolean) => void = () => {},
  ) {
    this.state = { active: false, mode, causes: [], since: null };
  }

  get active(): boolean {
    return this.causes.size > 0;
  }

  set(cause: EmergencyCause, on: boolean, detail?: string): void {
    if (this.causes.has(cause) === on) return;
    const wasActive = this.active;
    if (on) this.causes.add(cause);
    else this.causes.delete(cause);
    this.state.causes = [...this.causes];
    const fields = { cause, causes: this.state.causes, mode: this.state.mode, ...(detail ? { detail } : {}) };
    if (wasActive === this.active) {
      this.log.info({ event: 'emergency_cause', on, ...fields }, on ? 'another emergency cause; lane stays open' : 'one emergency cause cleared; lane stays open');
      return;
    }
    this.state.active = this.active;
    this.state.since = new Date().toISOString();
    if (on) this.log.warn({ event: 'emergency_open', ...fields }, 'emergency: lane held open');
    else this.log.warn({ event: 'emergency_closed', ...fields }, 'emergency over: lane closed');
    void this.relay.setEmergency(this.active);
    this.onChange(this.active);
  }
}
