/**
 * The lane's text display / LED + buzzer board: it receives one line per decision from the gate
 * (`OK 请通行 Welcome ×3`, `NO entries_exhausted 票已使用 Already used`, gate-agent's
 * lane-display protocol) in UTF-8 or GB18030. Each line is kept with its arrival time and its
 * parsed decision, so a test can see why a visitor was turned away.
 * gate.yaml: `lane.display: { type: serial, path, baudRate, encoding }`.
 */
import { EventEmitter } from 'node:events';
import { parseDisplayLine, type DisplayDecision } from '@stile/gate-agent/protocol';
import { SimDevice, openLink, type DeviceOptions } from './device.js';
import { SimError, SimErrorCode } from './errors.js';
import type { SimWire } from './sim-link.js';

export interface DisplayLine {
  text: string;
  at: number;
  /** undefined when the line is not a display line the protocol knows. */
  decision: (DisplayDecision & { zh: string; en: string }) | undefined;
}

export interface LaneDisplaySettings {
  /** How the board decodes bytes. Default utf8. */
  encoding?: 'utf8' | 'gb18030';
}

export type LaneDisplayOptions = DeviceOptions & LaneDisplaySettings;

const MAX_LINE = 1024;
const MAX_KEPT = 10_000;

export class SimLaneDisplay extends SimDevice {
  readonly events = new EventEmitter<{ line: [DisplayLine] }>();
  /** Lines shown, oldest first (the last 10 000). */
  readonly lines: DisplayLine[] = [];
  /** Lines longer than 1 KiB, dropped. */
  discarded = 0;
  readonly encoding: 'utf8' | 'gb18030';
  private pending = Buffer.alloc(0);
  /** Inside an over-long line: drop bytes until its LF. */
  private skipping = false;
  private readonly decoder: TextDecoder;

  constructor(wire: SimWire, opts: LaneDisplaySettings = {}) {
    super(wire);
    this.encoding = opts.encoding ?? 'utf8';
    this.decoder = new TextDecoder(this.encoding === 'gb18030' ? 'gb18030' : 'utf-8');
    wire.on('data', (chunk, at) => this.onData(chunk, at));
    wire.on('unplugged', () => {
      this.pending = Buffer.alloc(0);
      this.skipping = false;
    });
  }

  /** A display on a new pty pair: `<dir>/<name ?? 'display'>`, 9600 baud unless told. */
  static async open(opts: LaneDisplayOptions): Promise<SimLaneDisplay> {
    return new SimLaneDisplay(await openLink(opts, { name: 'display', baudRate: 9600 }), opts);
  }

  get last(): DisplayLine | undefined {
    return this.lines[this.lines.length - 1];
  }

  /** The next line shown after this call (that `match` accepts, if given). */
  waitForLine(opts: { timeoutMs?: number; match?: (l: DisplayLine) => boolean } = {}): Promise<DisplayLine> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const onLine = (l: DisplayLine) => {
        if (opts.match && !opts.match(l)) return;
        clearTimeout(timer);
        this.events.off('line', onLine);
        resolve(l);
      };
      const timer = setTimeout(() => {
        this.events.off('line', onLine);
        reject(new SimError(SimErrorCode.Timeout, `no display line within ${timeoutMs} ms`));
      }, timeoutMs);
      this.events.on('line', onLine);
    });
  }

  /** Split on LF (never inside a UTF-8 or GB18030 character), then decode whole lines. */
  private onData(chunk: Buffer, at: number): void {
    let buf = Buffer.concat([this.pending, chunk]);
    for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a)) {
      const raw = buf.subarray(0, nl);
      buf = buf.subarray(nl + 1);
      if (this.skipping || raw.length > MAX_LINE) {
        // The tail of an over-long line: already counted when it overflowed.
        if (!this.skipping) this.discarded++;
        this.skipping = false;
        continue;
      }
      const text = this.decoder.decode(raw).replace(/\r$/, '');
      if (text === '') continue;
      const line: DisplayLine = { text, at, decision: parseDisplayLine(text) };
      this.lines.push(line);
      if (this.lines.length > MAX_KEPT) this.lines.shift();
      this.events.emit('line', line);
    }
    if (buf.length > MAX_LINE) {
      if (!this.skipping) this.discarded++;
      this.skipping = true;
      buf = Buffer.alloc(0);
    }
    this.pending = Buffer.from(buf);
  }
}
