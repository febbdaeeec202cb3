import type { Logger } from 'pino';
import { localClock, type LaneConfig } from '@stile/config';
import { createLaneDisplay, createLaneSensor, type LaneDeviceDeps } from '../devices/create.js';
import type { LaneDisplay } from '../devices/lane-display.js';
import type { LaneSensor } from '../devices/lane-sensor.js';
import type { Relay } from '../devices/relay.js';
import type { DeviceHealth } from '../devices/supervisor.js';
import type { ScanOutcome } from '../gate/gatekeeper.js';
import type { GateStore } from '../store/index.js';
import { EmergencyHold, type EmergencyState } from './emergency.js';
import { PassageTracker, type PendingAdmission } from './passage-tracker.js';

/** What `gatectl status` shows about the lane. A live object: the daemon's heartbeat serialises it. */
export interface LaneStatus {
  sensor: DeviceHealth | null;
  display: DeviceHealth | null;
  emergency: EmergencyState;
  passageConfirm: { windowMs: number } | null;
  /** PASS events seen. */
  passes: number;
  /** PASS with no admission waiting for it. */
  tailgates: number;
  /** Compensating not-passed events written, the persons they cover, and how many gave the entry back. */
  notPassed: number;
  notPassedPersons: number;
  entriesReturned: number;
  /** Admissions waiting for their visitors to pass. */
  pending: number;
}

export interface LaneDeps extends LaneDeviceDeps {
  relay: Relay;
  store: GateStore;
  timeZone: string;
  clock: () => number;
  logger: Logger;
}

/**
 * The lane around the relay: passage sensor, emergency input and visitor display.
 * The daemon tells it about decisions; it tells the relay about emergencies and writes
 * compensating not-passed events.
 */
export class Lane {
  readonly status: LaneStatus;
  private readonly sensor: LaneSensor | undefined;
  private readonly display: LaneDisplay | undefined;
  private readonly hold: EmergencyHold;
  private readonly tracker: PassageTracker | undefined;
  private readonly log: Logger;

  constructor(
    cfg: LaneConfig,
    private readonly deps: LaneDeps,
  ) {
    this.log = deps.logger.child({ module: 'lane' });
    this.sensor = cfg.sensor ? createLaneSensor(cfg.sensor, deps.logger, deps) : undefined;
    this.display = cfg.display ? createLaneDisplay(cfg.display, deps.logger, deps) : undefined;
    const mode = cfg.emergency?.mode ?? 'fail-secure';
    this.hold = new EmergencyHold(deps.relay, mode, this.log, (active) => {
      if (active) this.tracker?.drop('emergency');
      this.syncPending();
    });
    this.tracker = cfg.passageConfirm ? new PassageTracker(cfg.passageConfirm.windowMs, (a, missing) => this.notPassed(a, missing), this.log) : undefined;
    this.status = {
      sensor: this.sensor?.health ?? null,
      display: this.display?.health ?? null,
      emergency: this.hold.state,
      passageConfirm: cfg.passageConfirm ?? null,
      passes: 0,
      tailgates: 0,
      notPassed: 0,
      notPassedPersons: 0,
      entriesReturned: 0,
      pending: 0,
    };
    this.sensor?.on('pass', () => this.pass());
    this.sensor?.on('emergency', (on) => this.hold.set('input', on));
    this.sensor?.on('down', (err) => {
      this.tracker?.drop('sensor_lost');
      this.syncPending();
      if (mode === 'fail-safe') this.hold.set('sensor_lost', true, err.message);
      else this.log.warn({ event: 'sensor_lost', mode, err: err.message }, 'lane sensor lost; fail-secure: lane stays closed');
    });
    this.sensor?.on('up', () => this.hold.set('sensor_lost', false));
  }

  start(): void {
    this.display?.start();
    this.sensor?.start();
  }

  /** A signed emergency-open / emergency-clear command: one more independent cause of the hold. */
  setRemoteEmergency(on: boolean, detail?: string): void {
    this.hold.set('remote', on, detail);
  }

  /** A committed admission, before its pulses: show it, and start waiting for its visitors. */
  admitted(o: ScanOutcome): void {
    this.display?.show({ decision: 'admit', persons: o.persons });
    // Held open or blind, the gate cannot tell who passed: such admissions simply stand.
    if (!this.tracker || !o.entry || this.hold.active || !this.sensor?.connected) return;
    this.tracker.admitted({ seq: o.entry.seq, ticketId: o.entry.ticketId, persons: o.persons, admissionDay: localClock(this.deps.timeZone, o.entry.at).date });
    this.syncPending();
  }

  /** Its pulses are done: the passage window starts now. */
  pulsed(o: ScanOutcome): void {
    if (o.entry) this.tracker?.arm(o.entry.seq);
  }

  rejected(o: ScanOutcome): void {
    if (o.reason) this.display?.show({ decision: 'reject', reason: o.reason });
  }

  private pass(): void {
    this.status.passes++;
    if (!this.tracker || this.hold.active) return;
    if (!this.tracker.pass()) {
      this.status.tailgates++;
      this.log.warn({ event: 'tailgate' }, 'someone passed without an admission');
    }
    this.syncPending();
  }

  private notPassed(a: PendingAdmission, missing: number): void {
    this.syncPending();
    try {
      const r = this.deps.store.recordNotPassed({ refSeq: a.seq, missing, at: this.deps.clock(), admissionDay: a.admissionDay });
      if (!r) return;
      this.status.notPassed++;
      this.status.notPassedPersons += missing;
      if (r.entryReturned) this.status.entriesReturned++;
      this.log.info(
        { event: 'not_passed', seq: r.entry.seq, refSeq: a.seq, ticketId: a.ticketId, missing, of: a.persons, entryReturned: r.entryReturned },
        r.entryReturned ? 'nobody passed; entry given back to the ticket' : 'not everybody passed',
      );
    } catch (err) {
      this.log.error({ event: 'not_passed_failed', refSeq: a.seq, ticketId: a.ticketId, missing, err: (err as Error).message }, 'could not record not-passed; the entry stands');
    }
  }

  private syncPending(): void {
    this.status.pending = this.tracker?.size ?? 0;
  }

  async close(): Promise<void> {
    this.sensor?.removeAllListeners();
    this.tracker?.close();
    await Promise.all([this.sensor?.close(), this.display?.close()]);
  }
}
