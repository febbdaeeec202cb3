/**
 * One ccTalk serial line (9600 8N1) with the host at address 1 and any number of devices:
 * request → answer, one outstanding request at a time, timeout and retry, reconnect after an
 * unplug. The drivers (bill validator, hopper) send through `request()` and never see the port.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { countDiscard, newHealth, openSerialPort, Reconnector, type Backoff, type DeviceHealth, type SerialConnection, type SerialOpener } from '@stile/gate-agent';
import { CCTALK_ADDRESS, CctalkFramer, CctalkHeader, cctalkHeaderName, cctalkRequest, type CctalkFrame, type CctalkFramerItem } from '../protocol/cctalk.js';
import { CashDeviceError, CashErrorCode } from './cctalk-errors.js';

export interface CctalkBusOptions {
  name: string;
  path: string;
  baudRate: number;
  /** How long to wait for an answer. Devices answer within a few ms; 20–50 ms is common for slow ones. */
  timeoutMs: number;
  /** Extra attempts after a timeout or a damaged answer, for commands that are safe to repeat. */
  retries: number;
  /** The line is a single wire: the host hears its own request before the answer. */
  echo: boolean;
  /** Addresses of the devices on this line (echoes of requests to them are expected when `echo`). */
  addresses: readonly number[];
  /** Silence after which a half-received frame is given up (the specification's 50 ms). */
  gapMs?: number;
  backoff?: Backoff;
}

export interface RequestOptions {
  /** Override the bus's retries; 0 for commands that must not run twice (dispense, route bill). */
  retries?: number;
  timeoutMs?: number;
}

type Outcome = { kind: 'reply'; frame: CctalkFrame } | { kind: 'nak' } | { kind: 'busy' } | { kind: 'timeout' } | { kind: 'damaged'; reason: string } | { kind: 'gone'; err: Error };

interface Waiting {
  dest: number;
  request: Buffer;
  settle: (o: Outcome) => void;
}

const BUSY_DELAY_MS = 20;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class CctalkBus extends EventEmitter<{ up: []; down: [Error] }> {
  readonly health: DeviceHealth;
  /** Our own requests heard back on a single-wire line. */
  echoes = 0;
  private readonly reconnector: Reconnector<SerialConnection>;
  private conn: SerialConnection | undefined;
  private framer: CctalkFramer | undefined;
  private waiting: Waiting | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private gapTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly opts: CctalkBusOptions,
    private readonly log: Logger,
    open: SerialOpener = openSerialPort,
  ) {
    super();
    this.health = newHealth(opts.name, 'cctalk');
    this.reconnector = new Reconnector(this.health, log, () => open(opts.path, opts.baudRate), (conn, lost) => this.attach(conn, lost), opts.backoff);
  }

  get path(): string {
    return this.opts.path;
  }

  get connected(): boolean {
    return this.conn !== undefined;
  }

  start(): void {
    this.reconnector.start();
  }

  private attach(conn: SerialConnection, lost: (err: Error | undefined) => void): void {
    const accept = this.opts.echo ? [CCTALK_ADDRESS.host, ...this.opts.addresses] : [CCTALK_ADDRESS.host];
    const framer = new CctalkFramer({ accept });
    this.conn = conn;
    this.framer = framer;
    conn.on('data', (chunk) => {
      this.items(framer.push(chunk));
      clearTimeout(this.gapTimer);
      if (framer.pendingLength > 0) this.gapTimer = setTimeout(() => this.items(framer.flush()), this.opts.gapMs ?? 50);
    });
    let gone = false;
    const down = (err: Error | undefined) => {
      if (gone) return;
      gone = true;
      clearTimeout(this.gapTimer);
      if (this.conn === conn) {
        this.conn = undefined;
        this.framer = undefined;
      }
      const why = err ?? new Error('port closed');
      this.waiting?.settle({ kind: 'gone', err: why });
      lost(why);
      this.emit('down', why);
    };
    conn.on('error', down);
    conn.on('close', (err) => down(err ?? new Error('port closed')));
    this.emit('up');
  }

  private items(items: CctalkFramerItem[]): void {
    for (const item of items) {
      if (item.type === 'discarded') {
        countDiscard(this.health, item.reason);
        this.log.warn({ event: 'input_discarded', device: this.opts.name, reason: item.reason, length: item.bytes.length }, 'ccTalk bytes discarded');
        if (this.waiting && item.reason !== 'garbage') this.waiting.settle({ kind: 'damaged', reason: item.reason });
        continue;
      }
      this.frame(item);
    }
  }

  private frame(f: CctalkFrame & { raw: Buffer }): void {
    const w = this.waiting;
    if (f.src === CCTALK_ADDRESS.host) {
      // Our own request coming back on a single-wire bus; any other host frame is someone else's.
      if (w && f.raw.equals(w.request)) this.echoes++;
      else countDiscard(this.health, 'foreign_host');
      return;
    }
    if (!w || f.dest !== CCTALK_ADDRESS.host || f.src !== w.dest) {
      countDiscard(this.health, 'unsolicited');
      this.log.warn({ event: 'input_discarded', device: this.opts.name, reason: 'unsolicited', src: f.src, header: f.header }, 'ccTalk answer nobody asked for');
      return;
    }
    if (f.header === CctalkHeader.reply) w.settle({ kind: 'reply', frame: f });
    else if (f.header === CctalkHeader.nak) w.settle({ kind: 'nak' });
    else if (f.header === CctalkHeader.busy) w.settle({ kind: 'busy' });
    else countDiscard(this.health, 'bad_reply_header');
  }

  /**
   * Send a request and resolve with the device's reply (header 0, data maybe empty = ACK).
   * Requests queue up: one is on the wire at a time. Throws CashDeviceError: DeviceUnavailable
   * while the port is closed, Nak, Busy, NoAnswer after the retries.
   */
  request(dest: number, header: number, data: Buffer | readonly number[] = [], opts: RequestOptions = {}): Promise<CctalkFrame> {
    const run = () => this.exchange(dest, header, Buffer.from(data), opts);
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private unavailable(): CashDeviceError {
    const why = this.health.error ? `: ${this.health.error}` : '';
    return new CashDeviceError(CashErrorCode.DeviceUnavailable, `ccTalk line ${this.opts.path} is not connected${why}`);
  }

  private async exchange(dest: number, header: number, data: Buffer, opts: RequestOptions): Promise<CctalkFrame> {
    const retries = opts.retries ?? this.opts.retries;
    const what = `${cctalkHeaderName(header)} to address ${dest} on ${this.opts.path}`;
    let last: Outcome = { kind: 'timeout' };
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (this.closed) throw new CashDeviceError(CashErrorCode.Closed, `ccTalk line ${this.opts.path} is closed`);
      const conn = this.conn;
      if (!conn) throw this.unavailable();
      last = await this.sendOnce(conn, dest, cctalkRequest(dest, header, data), opts.timeoutMs ?? this.opts.timeoutMs);
      switch (last.kind) {
        case 'reply':
          return last.frame;
        case 'nak':
          throw new CashDeviceError(CashErrorCode.Nak, `${what}: NAK`);
        case 'gone':
          throw new CashDeviceError(CashErrorCode.DeviceUnavailable, `ccTalk line ${this.opts.path} went away during ${cctalkHeaderName(header)}: ${last.err.message}`);
        case 'busy':
          await sleep(BUSY_DELAY_MS);
          break;
        default:
          if (last.kind === 'timeout') countDiscard(this.health, 'timeout');
      }
    }
    if (last.kind === 'busy') throw new CashDeviceError(CashErrorCode.Busy, `${what}: still BUSY after ${retries + 1} attempts`);
    const why = last.kind === 'damaged' ? `a damaged answer (${last.reason})` : 'no answer';
    throw new CashDeviceError(CashErrorCode.NoAnswer, `${what}: ${why} after ${retries + 1} attempt(s)`);
  }

  private sendOnce(conn: SerialConnection, dest: number, request: Buffer, timeoutMs: number): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => {
        // Whatever half a frame is pending belongs to this request and is given up with it.
        if (this.framer) this.items(this.framer.flush());
        settle({ kind: 'timeout' });
      }, timeoutMs);
      const settle = (o: Outcome) => {
        if (this.waiting !== waiting) return;
        this.waiting = undefined;
        clearTimeout(timer);
        resolve(o);
      };
      const waiting: Waiting = { dest, request, settle };
      this.waiting = waiting;
      conn.write(request).catch((err: Error) => settle({ kind: 'gone', err }));
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.gapTimer);
    this.waiting?.settle({ kind: 'gone', err: new Error('closed') });
    await this.reconnector.stop();
  }
}
