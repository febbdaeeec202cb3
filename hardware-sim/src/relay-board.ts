/**
 * An LCUS-type USB relay board (CH340, 9600 8N1): `A0 ch state sum` switches a channel, a lone
 * FF asks for the states (answered as "CH1:OFF\r\n…" unless `answersQuery: false`, as on
 * single-channel boards that ignore it). Every switch is stamped on arrival, and each on→off
 * becomes a pulse, which is what the turnstile controller would see.
 */
import { EventEmitter } from 'node:events';
import { LcusFramer, encodeRelayStatus, type LcusFrame } from '@stile/gate-agent/protocol';
import { SimDevice, openLink, type DeviceOptions } from './device.js';
import { SimError, SimErrorCode } from './errors.js';
import type { SimWire } from './sim-link.js';

/** History kept for a long CLI session; counters are not capped. */
const MAX_KEPT = 10_000;

export interface RelayPulse {
  channel: number;
  /** When the ON command arrived (clock ms, performance.now by default). */
  onAt: number;
  offAt: number;
  ms: number;
  /** The board lost power (unplug) while the relay was on. */
  interrupted?: true;
}

export interface RelaySwitch {
  channel: number;
  on: boolean;
  at: number;
}

/** Behaviour; `RelayBoardOptions` adds where the pty goes. */
export interface RelayBoardSettings {
  /** LCUS-1/2/4/8. Commands for other channels are ignored, as the board does. Default 1. */
  channels?: number;
  /** Answer the FF status query. Default true. */
  answersQuery?: boolean;
}

export type RelayBoardOptions = DeviceOptions & RelayBoardSettings;

export interface RelayBoardEvents {
  on: [channel: number, at: number];
  off: [channel: number, at: number];
  pulse: [RelayPulse];
  discarded: [Extract<LcusFrame, { type: 'discarded' }>];
  query: [at: number];
}

export class SimRelayBoard extends SimDevice {
  readonly events = new EventEmitter<RelayBoardEvents>();
  readonly channels: number;
  /** Completed pulses, oldest first (the last 10 000). */
  readonly pulses: RelayPulse[] = [];
  /** Every accepted command, including repeats (ON while on). */
  readonly switches: RelaySwitch[] = [];
  /** Bad bytes and commands the board could not take. */
  discarded = 0;
  /** Commands for a channel the board does not have. */
  ignored = 0;
  queries = 0;
  private readonly onSince = new Map<number, number>();
  private readonly framer = new LcusFramer();
  private readonly answersQuery: boolean;

  constructor(wire: SimWire, opts: RelayBoardSettings = {}) {
    super(wire);
    this.channels = opts.channels ?? 1;
    if (!Number.isInteger(this.channels) || this.channels < 1 || this.channels > 8) throw new SimError(SimErrorCode.BadArgument, `channels must be 1..8, got ${this.channels}`);
    this.answersQuery = opts.answersQuery ?? true;
    wire.on('data', (chunk, at) => {
      for (const frame of this.framer.push(chunk)) this.onFrame(frame, at);
    });
    wire.on('unplugged', () => this.powerLoss());
  }

  /** A board on a new pty pair: `<dir>/<name ?? 'relay'>`, 9600 baud unless told. */
  static async open(opts: RelayBoardOptions): Promise<SimRelayBoard> {
    return new SimRelayBoard(await openLink(opts, { name: 'relay', baudRate: 9600 }), opts);
  }

  isOn(channel = 1): boolean {
    return this.onSince.has(channel);
  }

  /** The next pulse that ends after this call (on `channel`, if given). */
  waitForPulse(opts: { channel?: number; timeoutMs?: number } = {}): Promise<RelayPulse> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const onPulse = (p: RelayPulse) => {
        if (opts.channel !== undefined && p.channel !== opts.channel) return;
        clearTimeout(timer);
        this.events.off('pulse', onPulse);
        resolve(p);
      };
      const timer = setTimeout(() => {
        this.events.off('pulse', onPulse);
        reject(new SimError(SimErrorCode.Timeout, `no relay pulse${opts.channel ? ` on channel ${opts.channel}` : ''} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.events.on('pulse', onPulse);
    });
  }

  clear(): void {
    this.pulses.length = 0;
    this.switches.length = 0;
  }

  private onFrame(frame: LcusFrame, at: number): void {
    if (frame.type === 'discarded') {
      this.discarded++;
      this.events.emit('discarded', frame);
      return;
    }
    if (frame.type === 'query') {
      this.queries++;
      this.events.emit('query', at);
      if (this.answersQuery) {
        const states = Array.from({ length: this.channels }, (_, i) => ({ channel: i + 1, on: this.isOn(i + 1) }));
        void this.wire.write(encodeRelayStatus(states)).catch(() => undefined);
      }
      return;
    }
    const { channel, on } = frame;
    if (channel > this.channels) {
      this.ignored++;
      return;
    }
    this.switches.push({ channel, on, at });
    if (this.switches.length > MAX_KEPT) this.switches.shift();
    const since = this.onSince.get(channel);
    if (on && since === undefined) {
      this.onSince.set(channel, at);
      this.events.emit('on', channel, at);
    } else if (!on && since !== undefined) {
      this.onSince.delete(channel);
      this.events.emit('off', channel, at);
      this.finish({ channel, onAt: since, offAt: at, ms: at - since });
    }
  }

  private powerLoss(): void {
    const at = this.wire.now();
    for (const [channel, since] of this.onSince) {
      this.events.emit('off', channel, at);
      this.finish({ channel, onAt: since, offAt: at, ms: at - since, interrupted: true });
    }
    this.onSince.clear();
    this.discarded += this.framer.flush().length;
  }

  private finish(pulse: RelayPulse): void {
    this.pulses.push(pulse);
    if (this.pulses.length > MAX_KEPT) this.pulses.shift();
    this.events.emit('pulse', pulse);
  }
}
