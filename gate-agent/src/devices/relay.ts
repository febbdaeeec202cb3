import type { Logger } from 'pino';
import type { RelayConfig } from '@stile/config';
import { newHealth, setState, type DeviceHealth } from './supervisor.js';

export interface PulseContext {
  ticketId: string | null;
  seq?: number;
  /** Called once the first pulse's command is written (the metrics' scan→relay time). */
  written?: () => void;
}

/** One turnstile lane. Pulses are queued: a group of 3 gets 3 pulses, one after another. */
export interface Relay {
  readonly health: DeviceHealth;
  pulse(persons: number, ctx: PulseContext): Promise<void>;
  /**
   * Emergency hold: on closes the contact (the lane opens) and keeps it closed, and
   * pulses meanwhile are skipped; off opens it again. Takes effect at once, not after
   * queued pulses.
   */
  setEmergency(on: boolean): Promise<void>;
  readonly emergency: boolean;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Pulse timing shared by every backend: close the contact for `pulseMs`, open it, wait
 * `gapMs` before the next person. Backends only say how to switch the contact.
 * A failed switch is logged with the entry's seq (the entry is already committed, so
 * staff can let the visitor through by hand) and the contact is forced open.
 */
export abstract class PulsingRelay implements Relay {
  private queue: Promise<void> = Promise.resolve();
  /** Pulse calls not finished yet (the one switching included). */
  private queued = 0;
  private held = false;
  readonly health: DeviceHealth;
  pulses = 0;
  skipped = 0;

  constructor(
    protected readonly cfg: Pick<RelayConfig, 'pulseMs' | 'gapMs'>,
    protected readonly log: Logger,
    kind: string,
  ) {
    this.health = newHealth('relay', kind);
    setState(this.health, 'ok');
  }

  protected abstract drive(on: boolean): Promise<void>;

  get emergency(): boolean {
    return this.held;
  }

  /** The contact state the lane should have when nothing is pulsing: backends apply it after a reconnect. */
  protected get restingState(): boolean {
    return this.held;
  }

  pulse(persons: number, ctx: PulseContext): Promise<void> {
    const run = async (): Promise<void> => {
      try {
        await this.pulseEach(persons, ctx);
      } finally {
        this.queued--;
      }
    };
    // An idle relay switches within this call, not a promise turn later: the caller (the
    // daemon) syncs the admission to disk next, and the serial write overlaps with that.
    this.queued++;
    this.queue = this.queued === 1 ? run() : this.queue.then(run);
    return this.queue;
  }

  private async pulseEach(persons: number, ctx: PulseContext): Promise<void> {
    for (let person = 1; person <= persons; person++) {
      if (this.held) {
        this.skip(ctx, person, persons);
        continue;
      }
      if (person > 1) await sleep(this.cfg.gapMs);
      try {
        await this.drive(true);
        if (person === 1) ctx.written?.();
        this.pulses++;
        this.health.scans++;
        this.log.info({ event: 'relay_pulse', ticketId: ctx.ticketId, seq: ctx.seq, person, of: persons, pulseMs: this.cfg.pulseMs }, 'relay pulse');
        await sleep(this.cfg.pulseMs);
      } catch (err) {
        this.fault(err as Error, ctx, person, persons);
      } finally {
        // An emergency that began during the pulse keeps the contact closed.
        if (!this.held) await this.drive(false).catch((err: Error) => this.fault(err, ctx, person, persons));
      }
    }
  }

  async setEmergency(on: boolean): Promise<void> {
    if (this.held === on) return;
    this.held = on;
    try {
      await this.drive(on);
    } catch (err) {
      setState(this.health, 'degraded', (err as Error).message);
      this.log.error({ event: 'relay_failed', emergency: on, err: (err as Error).message }, on ? 'relay did not open the lane for the emergency; open it by hand' : 'relay did not close after the emergency');
    }
  }

  private skip(ctx: PulseContext, person: number, of: number): void {
    this.skipped++;
    this.log.info({ event: 'relay_pulse_skipped', reason: 'emergency', ticketId: ctx.ticketId, seq: ctx.seq, person, of }, 'relay held open for an emergency; pulse skipped');
  }

  private fault(err: Error, ctx: PulseContext, person: number, of: number): void {
    setState(this.health, 'degraded', err.message);
    this.log.error({ event: 'relay_failed', ticketId: ctx.ticketId, seq: ctx.seq, person, of, err: err.message }, 'relay did not switch; entry is recorded, let the visitor through by hand');
  }

  async close(): Promise<void> {
    await this.queue;
  }
}

/** Logs each pulse and switches nothing: the simulator backend for the demo and tests. */
export class LogRelay extends PulsingRelay {
  constructor(cfg: Pick<RelayConfig, 'pulseMs' | 'gapMs'>, log: Logger) {
    super(cfg, log, 'log');
  }

  protected async drive(): Promise<void> {}
}
