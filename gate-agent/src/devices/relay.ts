import type { Logger } from 'pino';
import type { RelayConfig } from '@stile/config';
import { newHealth, setState, type DeviceHealth } from './supervisor.js';

export interface PulseContext {
  ticketId: string | null;
  seq?: number;
}

/** One turnstile lane. Pulses are queued: a group of 3 gets 3 pulses, one after another. */
export interface Relay {
  readonly health: DeviceHealth;
  pulse(persons: number, ctx: PulseContext): Promise<void>;
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
  readonly health: DeviceHealth;
  pulses = 0;

  constructor(
    protected readonly cfg: Pick<RelayConfig, 'pulseMs' | 'gapMs'>,
    protected readonly log: Logger,
    kind: string,
  ) {
    this.health = newHealth('relay', kind);
    setState(this.health, 'ok');
  }

  protected abstract drive(on: boolean): Promise<void>;

  pulse(persons: number, ctx: PulseContext): Promise<void> {
    this.queue = this.queue.then(async () => {
      for (let person = 1; person <= persons; person++) {
        if (person > 1) await sleep(this.cfg.gapMs);
        try {
          await this.drive(true);
          this.pulses++;
          this.health.scans++;
          this.log.info({ event: 'relay_pulse', ticketId: ctx.ticketId, seq: ctx.seq, person, of: persons, pulseMs: this.cfg.pulseMs }, 'relay pulse');
          await sleep(this.cfg.pulseMs);
        } catch (err) {
          this.fault(err as Error, ctx, person, persons);
        } finally {
          await this.drive(false).catch((err: Error) => this.fault(err, ctx, person, persons));
        }
      }
    });
    return this.queue;
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
