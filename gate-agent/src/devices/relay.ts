import type { Logger } from 'pino';
import type { RelayConfig } from '@stile/config';

export interface PulseContext {
  ticketId: string | null;
  seq?: number;
}

/** One turnstile lane. Pulses are queued: a group of 3 gets 3 pulses, one after another. */
export interface Relay {
  pulse(persons: number, ctx: PulseContext): Promise<void>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A relay that only logs each pulse (with its timing) — the stand-in until the GPIO and
 * serial relay-board drivers exist, and the one tests and the demo read.
 */
export class LogRelay implements Relay {
  private queue: Promise<void> = Promise.resolve();
  pulses = 0;

  constructor(
    private readonly cfg: Pick<RelayConfig, 'pulseMs' | 'gapMs'>,
    private readonly log: Logger,
  ) {}

  pulse(persons: number, ctx: PulseContext): Promise<void> {
    this.queue = this.queue.then(async () => {
      for (let person = 1; person <= persons; person++) {
        this.pulses++;
        this.log.info({ event: 'relay_pulse', ticketId: ctx.ticketId, seq: ctx.seq, person, of: persons, pulseMs: this.cfg.pulseMs }, 'relay pulse');
        await sleep(this.cfg.pulseMs);
        if (person < persons) await sleep(this.cfg.gapMs);
      }
    });
    return this.queue;
  }

  async close(): Promise<void> {
    await this.queue;
  }
}
