/**
 * A ccTalk line with a bill validator (address 40) and a coin hopper (address 3) on one
 * pseudo-terminal, 9600 8N1, as a kiosk's USB–ccTalk adapter sees them. Each request addressed
 * to one of them gets its answer after `replyDelayMs`; a request with a bad checksum, to another
 * address, or with a header the device does not support gets none, as on a real bus.
 *
 * Controls for tests and the demo: `validator.insertNote(1000)`, `insertNote('fake')`, `jam()`,
 * `fillStacker()`, `hopper.coins = 2`, `hopper.jam()`, and `failNext()` for line trouble
 * (silence, bad checksum, garbage before the answer, BUSY, NAK). `echo: true` plays a
 * single-wire bus: every request comes back to the host before its answer.
 */
import { EventEmitter } from 'node:events';
import { CctalkFramer, CctalkHeader, cctalkHeaderName, encodeCctalk, CCTALK_ADDRESS, type CctalkFramerItem } from '@stile/kiosk-agent/protocol';
import { SimDevice, openLink, type DeviceOptions } from './device.js';
import { SimBillValidator, type CctalkSimLogic, type SimBillValidatorSettings } from './cctalk-validator.js';
import { SimHopper, type SimHopperSettings } from './cctalk-hopper.js';
import type { SimWire } from './sim-link.js';

export type CctalkLineFault = 'silence' | 'bad_checksum' | 'garbage' | 'busy' | 'nak';

export interface SimCashSettings {
  /** false: no validator on the line. */
  validator?: SimBillValidatorSettings | false;
  /** false: no hopper on the line. */
  hopper?: SimHopperSettings | false;
  echo?: boolean;
  replyDelayMs?: number;
}

export type SimCashOptions = DeviceOptions & SimCashSettings;

export interface CctalkSimRequest {
  address: number;
  header: number;
  name: string;
  data: Buffer;
  /** 'ack' | 'data' | 'nak' | 'busy' | 'none'. */
  answer: 'ack' | 'data' | 'nak' | 'busy' | 'none';
  fault: CctalkLineFault | null;
}

const GARBAGE = Buffer.from([0x00, 0xff, 0x7e, 0x55]);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class SimCashDevices extends SimDevice {
  readonly events = new EventEmitter<{ request: [CctalkSimRequest] }>();
  readonly validator: SimBillValidator | undefined;
  readonly hopper: SimHopper | undefined;
  /** The last 200 requests, oldest first. */
  readonly history: CctalkSimRequest[] = [];
  readonly discarded: Record<string, number> = {};
  private readonly devices = new Map<number, CctalkSimLogic>();
  private readonly framer: CctalkFramer;
  private readonly faults: { kind: CctalkLineFault; address: number | undefined; header: number | undefined; times: number }[] = [];
  private readonly echo: boolean;
  private readonly replyDelayMs: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(wire: SimWire, opts: SimCashSettings = {}) {
    super(wire);
    if (opts.validator !== false) this.validator = new SimBillValidator(opts.validator);
    if (opts.hopper !== false) this.hopper = new SimHopper(opts.hopper);
    for (const d of [this.validator, this.hopper]) if (d) this.devices.set(d.address, d);
    this.echo = opts.echo ?? false;
    this.replyDelayMs = opts.replyDelayMs ?? 2;
    this.framer = new CctalkFramer({ accept: [...this.devices.keys()] });
    wire.on('data', (chunk) => {
      for (const item of this.framer.push(chunk)) this.enqueue(item);
    });
    wire.on('unplugged', () => {
      for (const item of this.framer.flush()) this.enqueue(item);
    });
  }

  /** Validator and hopper on a new pty pair `<dir>/<name ?? 'cctalk'>`, 9600 baud. */
  static async open(opts: SimCashOptions): Promise<SimCashDevices> {
    return new SimCashDevices(await openLink(opts, { name: 'cctalk', baudRate: 9600 }), opts);
  }

  /** Misbehave on the next `times` requests (to `address`, with `header`, when given). */
  failNext(kind: CctalkLineFault, opts: { address?: number; header?: number; times?: number } = {}): void {
    this.faults.push({ kind, address: opts.address, header: opts.header, times: opts.times ?? 1 });
  }

  /** Requests seen with this header name (e.g. 'dispenseHopperCoins'). */
  count(name: string): number {
    return this.history.filter((r) => r.name === name).length;
  }

  private enqueue(item: CctalkFramerItem): void {
    this.queue = this.queue.then(() => this.handle(item)).catch(() => undefined);
  }

  private takeFault(address: number, header: number): CctalkLineFault | null {
    const i = this.faults.findIndex((f) => (f.address === undefined || f.address === address) && (f.header === undefined || f.header === header));
    const f = this.faults[i];
    if (f === undefined) return null;
    if (--f.times <= 0) this.faults.splice(i, 1);
    return f.kind;
  }

  private async handle(item: CctalkFramerItem): Promise<void> {
    if (item.type === 'discarded') {
      this.discarded[item.reason] = (this.discarded[item.reason] ?? 0) + 1;
      return;
    }
    const device = this.devices.get(item.dest);
    if (!device || item.src !== CCTALK_ADDRESS.host) return;
    const fault = this.takeFault(item.dest, item.header);
    const result = fault === 'busy' ? 'busy' : fault === 'nak' ? 'nak' : device.handle(item.header, Buffer.from(item.data));
    const req: CctalkSimRequest = {
      address: item.dest,
      header: item.header,
      name: cctalkHeaderName(item.header),
      data: Buffer.from(item.data),
      answer: result === null || fault === 'silence' ? 'none' : typeof result === 'string' ? result : result.data.length === 0 ? 'ack' : 'data',
      fault,
    };
    this.history.push(req);
    if (this.history.length > 200) this.history.shift();
    this.events.emit('request', req);
    if (!this.wire.plugged) return;
    const out: Buffer[] = [];
    if (this.echo) out.push(item.raw);
    if (result !== null && fault !== 'silence') {
      const header = result === 'nak' ? CctalkHeader.nak : result === 'busy' ? CctalkHeader.busy : CctalkHeader.reply;
      const frame = encodeCctalk({ dest: CCTALK_ADDRESS.host, src: device.address, header, data: typeof result === 'string' ? [] : result.data });
      if (fault === 'bad_checksum') frame[frame.length - 1] = (frame[frame.length - 1] ?? 0) ^ 0x5a;
      if (fault === 'garbage') out.push(GARBAGE);
      out.push(frame);
    }
    if (out.length === 0) return;
    await sleep(this.replyDelayMs);
    try {
      await this.wire.write(Buffer.concat(out));
    } catch {
      // unplugged mid-answer
    }
  }

  override async close(): Promise<void> {
    this.validator?.stop();
    this.hopper?.stop();
    await super.close();
  }
}
