/**
 * An ESC/POS thermal receipt printer (80 mm, 48 columns in font A) on a pseudo-terminal.
 * It interprets what it receives, keeps each cut page as text plus PNGs of its QR codes
 * (`lastPage()`), and answers status requests from its paper, cover and cutter state:
 *
 *   DLE EOT n   at once, even while stopped (real-time)
 *   GS r 1      in turn: only after everything before it has printed, so never while stopped
 *   unknown commands are recorded (`unknownCommands`) and skipped, never fatal
 *
 * Like a real printer, a fault (paper out, cover open, jam) stops printing and holds what
 * arrives; clearing the fault prints the held data. Pulling the plug loses it.
 */
import { EventEmitter } from 'node:events';
import { EscPosInterpreter, type EscPosOp } from './escpos-interpreter.js';
import { PageBuilder, type PageNotice, type PrintedPage } from './printer-page.js';
import { SimDevice, openLink, type DeviceOptions } from './device.js';
import { SimError, SimErrorCode } from './errors.js';
import type { SimWire } from './sim-link.js';

export type { PrintedLine, PrintedPage, PrintedQr, PageNotice } from './printer-page.js';

export type SimPrinterFault = 'paper_out' | 'cover_open' | 'cutter_jam' | 'paper_jam';

export interface SimPrinterSettings {
  /** Columns in font A: 48 for 80 mm paper, 32 for 58 mm. Default 48. */
  widthChars?: number;
}

export type SimPrinterOptions = DeviceOptions & SimPrinterSettings;

export interface UnknownCommand {
  hex: string;
  at: number;
}

export interface SimPrinterEvents {
  page: [PrintedPage];
  unknown: [UnknownCommand];
  notice: [PageNotice];
  /** A status request answered: which (`DLE EOT n` or `GS r n`) and the byte sent. */
  status: [request: string, answer: number];
}

/** Ops held while stopped; past this a real printer's receive buffer would be full. */
const MAX_HELD = 100_000;
const MAX_KEPT = 200;

export class SimPrinter extends SimDevice {
  readonly events = new EventEmitter<SimPrinterEvents>();
  /** Commands seen by name (ignored ones included), for tests and the CLI. */
  readonly counts: Record<string, number> = {};
  /** The last 200 commands the printer did not know, oldest first. */
  readonly unknownCommands: UnknownCommand[] = [];
  /** Ops lost because the held buffer was full. */
  overflowed = 0;
  private paperOut = false;
  private nearEnd = false;
  private coverOpen = false;
  private cutterJam = false;
  private paperJam = false;
  private failAt: { line: number; fault: SimPrinterFault } | undefined;
  private readonly interpreter = new EscPosInterpreter();
  private readonly paper: PageBuilder;
  private held: EscPosOp[] = [];
  private resuming = false;

  constructor(wire: SimWire, opts: SimPrinterSettings = {}) {
    super(wire);
    const width = opts.widthChars ?? 48;
    if (!Number.isInteger(width) || width < 16 || width > 96) throw new SimError(SimErrorCode.BadArgument, `widthChars must be 16–96, got ${width}`);
    this.paper = new PageBuilder(width, (n) => this.events.emit('notice', n));
    wire.on('data', (chunk) => this.receive(chunk));
    wire.on('unplugged', () => {
      this.interpreter.reset();
      this.held = [];
    });
  }

  /** A printer on a new pty pair: `<dir>/<name ?? 'printer'>`, 115200 baud unless told. */
  static async open(opts: SimPrinterOptions): Promise<SimPrinter> {
    return new SimPrinter(await openLink(opts, { name: 'printer', baudRate: 115200 }), opts);
  }

  /** Pages cut so far, oldest first. */
  get pages(): readonly PrintedPage[] {
    return this.paper.pages;
  }

  lastPage(): PrintedPage | undefined {
    return this.paper.pages.at(-1);
  }

  /** What is on the paper since the last cut. */
  currentPage(): PrintedPage {
    return this.paper.current();
  }

  /** True while a fault holds the printing. */
  get stopped(): boolean {
    return this.paperOut || this.coverOpen || this.cutterJam || this.paperJam;
  }

  /** Ops received but not printed yet (held by a fault). */
  get heldCount(): number {
    return this.held.length;
  }

  setPaperOut(out = true): void {
    this.paperOut = out;
    this.resume();
  }

  setPaperNearEnd(near = true): void {
    this.nearEnd = near;
  }

  /** A new roll: paper out and near end clear, held data prints. */
  loadPaper(): void {
    this.paperOut = false;
    this.nearEnd = false;
    this.resume();
  }

  setCoverOpen(open = true): void {
    this.coverOpen = open;
    this.resume();
  }

  jam(kind: 'cutter_jam' | 'paper_jam' = 'cutter_jam'): void {
    if (kind === 'cutter_jam') this.cutterJam = true;
    else this.paperJam = true;
  }

  /** The jam is cleared: held data prints. */
  clearJam(): void {
    this.cutterJam = false;
    this.paperJam = false;
    this.resume();
  }

  /** Fail once `lines` more lines have printed: a jam or the roll running out mid-job. */
  failAfterLines(lines: number, fault: SimPrinterFault = 'cutter_jam'): void {
    this.failAt = { line: this.paper.lineCount + lines, fault };
  }

  private setFault(fault: SimPrinterFault): void {
    if (fault === 'paper_out') this.paperOut = true;
    else if (fault === 'cover_open') this.coverOpen = true;
    else this.jam(fault);
  }

  /** The DLE EOT n answer: 0xx1xx10 with the state bits. */
  statusByte(n: number): number {
    let b = 0x12;
    if (n === 1 && this.stopped) b |= 0x08;
    if (n === 2) b |= (this.coverOpen ? 0x04 : 0) | (this.paperOut ? 0x20 : 0) | (this.cutterJam || this.paperJam ? 0x40 : 0);
    if (n === 3) b |= (this.paperJam ? 0x04 : 0) | (this.cutterJam ? 0x08 : 0);
    if (n === 4) b |= (this.nearEnd ? 0x0c : 0) | (this.paperOut ? 0x60 : 0);
    return b;
  }

  private receive(chunk: Buffer): void {
    for (const op of this.interpreter.push(chunk)) {
      this.count(op);
      if (op.op === 'realtimeStatus') this.answer(`DLE EOT ${op.n}`, this.statusByte(op.n));
      else if (this.held.length < MAX_HELD) this.held.push(op);
      else this.overflowed++;
    }
    this.resume();
  }

  private count(op: EscPosOp): void {
    const name = op.op === 'ignored' ? op.name : op.op;
    this.counts[name] = (this.counts[name] ?? 0) + 1;
    if (op.op === 'unknown') {
      const u = { hex: op.bytes.toString('hex'), at: this.wire.now() };
      this.unknownCommands.push(u);
      if (this.unknownCommands.length > MAX_KEPT) this.unknownCommands.shift();
      this.events.emit('unknown', u);
    }
  }

  /** Print held ops until done or a fault stops the printer. */
  private resume(): void {
    // An event listener that clears a fault calls back in here: the running loop carries on.
    if (this.resuming) return;
    this.resuming = true;
    let i = 0;
    while (i < this.held.length && !this.stopped) {
      const op = this.held[i++]!;
      if (op.op === 'statusInSequence') {
        // n 1/49 paper sensor: bits 0+1 near end, 2+3 paper end; drawer (2/50) and others: 0.
        const paper = op.n === 1 || op.n === 49;
        this.answer(`GS r ${op.n}`, paper ? (this.nearEnd ? 0x03 : 0) | (this.paperOut ? 0x0c : 0) : 0);
        continue;
      }
      const pages = this.paper.pages.length;
      this.paper.apply(op);
      if (this.paper.pages.length > pages) this.events.emit('page', this.paper.pages.at(-1)!);
      if (this.failAt && this.paper.lineCount >= this.failAt.line) {
        this.setFault(this.failAt.fault);
        this.failAt = undefined;
      }
    }
    this.held = this.held.slice(i);
    this.resuming = false;
  }

  private answer(request: string, byte: number): void {
    this.events.emit('status', request, byte);
    if (this.wire.plugged) void this.wire.write(Buffer.from([byte])).catch(() => undefined);
  }
}
