/**
 * The ESC/POS ticket printer. Every job runs the same way:
 *
 *   1. DLE EOT 1–4 (real-time status). A fault (paper out, cover open, jam…) → not_printed,
 *      nothing sent.
 *   2. The job, then GS r 1. GS r waits its turn behind the job, so its answer says the
 *      printer has processed everything before it; a printer stopped by a fault never answers.
 *   3. DLE EOT 1–4 again. Only an answered GS r and a clean status make `printed`; anything
 *      else after the first byte went out is `uncertain`, and the kiosk offers a reprint.
 *
 * The port is opened on first use and reopened on the next call after an unplug, so
 * `status()` doubles as the kiosk's "is the printer back?" poll.
 */
import type { Logger } from 'pino';
import { isStileError, StileError, StileErrorCode } from '@stile/config';
import { encodeDocument, paperStatusInSequence, statusRequest, type PrintDoc } from '../protocol/escpos.js';
import { decodeStatus, isPaperStatusByte, isRealtimeStatusByte, statusFaults, type PrinterFault, type PrinterStatus, type StatusRequestKind } from '../protocol/escpos-status.js';
import { openPrinterPort, type PrinterConnection, type PrinterOpener, type PrinterPortConfig } from './printer-transport.js';

export interface PrinterOptions extends PrinterPortConfig {
  /** How long one DLE EOT may take to answer. Default 500 ms. */
  statusTimeoutMs?: number;
  /** How long the printer may take to print a job once sent. Default 8000 ms. */
  jobTimeoutMs?: number;
  /** After a job whose end was not seen: how long to wait for the printer's late answers. Default 150 ms. */
  resyncQuietMs?: number;
}

/** The printer now, as the kiosk shows it. `status` is null when it could not be read. */
export interface PrinterReport {
  ready: boolean;
  faults: PrinterFault[];
  /** A warning: the roll is nearly used up. */
  paperNearEnd: boolean;
  status: PrinterStatus | null;
  detail?: string;
}

export type PrintOutcome = 'printed' | 'not_printed' | 'uncertain';

export interface PrintResult {
  /** printed: surely complete. not_printed: nothing sent. uncertain: sent, completion not seen — offer a reprint. */
  outcome: PrintOutcome;
  faults: PrinterFault[];
  paperNearEnd: boolean;
  before: PrinterReport;
  after: PrinterReport | null;
  bytes: number;
  ms: number;
}

export interface PrinterHealth {
  state: 'unknown' | 'ready' | 'fault' | 'disconnected';
  faults: PrinterFault[];
  /** The roll is nearly used up (the near-end sensor, at the last status read). */
  paperNearEnd: boolean;
  detail?: string;
  since: string;
  jobs: Record<PrintOutcome, number>;
  reconnects: number;
  /** Bytes from the printer nobody asked for (a late job end, XON/XOFF, noise), by reason. */
  discarded: Record<string, number>;
}

interface Waiter {
  accept: (b: number) => boolean;
  resolve: (b: number) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const NO_ANSWER = 'no_answer';

export class EscPosPrinter {
  readonly health: PrinterHealth = { state: 'unknown', faults: [], paperNearEnd: false, since: new Date().toISOString(), jobs: { printed: 0, not_printed: 0, uncertain: 0 }, reconnects: 0, discarded: {} };
  private conn: PrinterConnection | undefined;
  private waiter: Waiter | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  /** A job's GS r answer may still come: drain it before trusting the next one. */
  private needsResync = false;
  private everConnected = false;
  private failedOpens = 0;
  private readonly log: Logger;

  constructor(
    private readonly opts: PrinterOptions,
    log: Logger,
    private readonly open: PrinterOpener = openPrinterPort,
  ) {
    this.log = log.child({ module: 'printer', device: opts.path });
  }

  /** Status now (opens or reopens the port). Never throws: transport trouble is a fault. */
  status(): Promise<PrinterReport> {
    return this.exclusive(() => this.readReport());
  }

  /** Print a document (or prepared ESC/POS bytes). Never throws for device trouble; bad documents throw StileError(USAGE). */
  async print(job: PrintDoc | Buffer): Promise<PrintResult> {
    const bytes = Buffer.isBuffer(job) ? job : encodeDocument(job);
    return this.exclusive(() => this.runJob(bytes));
  }

  async close(): Promise<void> {
    await this.exclusive(async () => {
      const conn = this.conn;
      this.conn = undefined;
      this.failWaiter(new StileError(StileErrorCode.DeviceUnavailable, `printer ${this.opts.path}: closed`));
      await conn?.close();
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }

  private async runJob(bytes: Buffer): Promise<PrintResult> {
    const t0 = performance.now();
    const done = (outcome: PrintOutcome, before: PrinterReport, after: PrinterReport | null, faults: PrinterFault[]): PrintResult => {
      this.health.jobs[outcome]++;
      const result = { outcome, faults, paperNearEnd: (after ?? before).paperNearEnd, before, after, bytes: bytes.length, ms: Math.round(performance.now() - t0) };
      const level = outcome === 'printed' ? 'info' : 'warn';
      this.log[level]({ event: 'print_job', outcome, faults, bytes: bytes.length, ms: result.ms, nearEnd: result.paperNearEnd }, `print job ${outcome}`);
      return result;
    };
    const before = await this.readReport();
    if (!before.ready) return done('not_printed', before, null, before.faults);
    if (this.needsResync && !(await this.resync())) {
      const stuck = { ...before, ready: false, faults: [NO_ANSWER] as PrinterFault[], detail: 'the printer did not answer GS r after an unfinished job' };
      return done('not_printed', stuck, null, stuck.faults);
    }
    let ended = false;
    try {
      await this.ask(Buffer.concat([bytes, paperStatusInSequence()]), isPaperStatusByte, this.jobTimeout(bytes.length));
      ended = true;
    } catch (err) {
      this.needsResync = true;
      this.log.warn({ event: 'print_unfinished', err: (err as Error).message }, 'job end not seen');
    }
    const after = await this.readReport();
    if (ended && after.ready) return done('printed', before, after, []);
    const faults: PrinterFault[] = after.faults.length > 0 ? after.faults : [NO_ANSWER];
    return done('uncertain', before, after, faults);
  }

  /** Eat the late GS r answers of an unfinished job: ask once more, then wait until the line is quiet. */
  private async resync(): Promise<boolean> {
    try {
      await this.ask(paperStatusInSequence(), isPaperStatusByte, this.opts.jobTimeoutMs ?? 8000);
    } catch {
      return false; // still stopped, or gone
    }
    const quietMs = this.opts.resyncQuietMs ?? 150;
    let drained = true;
    while (drained) drained = await this.expect(isPaperStatusByte, quietMs).then(() => true, () => false);
    this.needsResync = false;
    return true;
  }

  private jobTimeout(bytes: number): number {
    const base = this.opts.jobTimeoutMs ?? 8000;
    // The time the bytes take on the wire at 8N1 (10 bits a byte), on top of the printing.
    return this.opts.transport === 'serial' ? base + Math.ceil((bytes * 10_000) / (this.opts.baudRate ?? 115200)) : base;
  }

  private async readReport(): Promise<PrinterReport> {
    try {
      await this.connect();
      const answers = {} as Record<StatusRequestKind, number>;
      for (const n of [1, 2, 3, 4] as const) {
        answers[n] = await this.ask(statusRequest(n), isRealtimeStatusByte, this.opts.statusTimeoutMs ?? 500);
      }
      const status = decodeStatus(answers)!;
      const faults = statusFaults(status);
      return this.note({ ready: faults.length === 0, faults, paperNearEnd: status.paperNearEnd, status });
    } catch (err) {
      const fault: PrinterFault = isStileError(err) && (err.details as { reason?: string } | undefined)?.reason === NO_ANSWER ? 'no_answer' : 'disconnected';
      return this.note({ ready: false, faults: [fault], paperNearEnd: false, status: null, detail: (err as Error).message });
    }
  }

  private note(report: PrinterReport): PrinterReport {
    const state = report.ready ? 'ready' : report.faults[0] === 'disconnected' ? 'disconnected' : 'fault';
    const h = this.health;
    if (state !== h.state || report.faults.join() !== h.faults.join()) {
      h.since = new Date().toISOString();
      this.log.info({ event: 'printer_state', state, faults: report.faults, detail: report.detail }, `printer ${state}`);
    }
    Object.assign(h, { state, faults: report.faults, paperNearEnd: report.paperNearEnd, detail: report.detail });
    return report;
  }

  private async connect(): Promise<void> {
    if (this.conn) return;
    let conn: PrinterConnection;
    try {
      conn = await this.open(this.opts);
    } catch (err) {
      // Loud once, then quiet: the kiosk polls status while the printer is unplugged.
      this.log[this.failedOpens++ === 0 ? 'warn' : 'debug']({ event: 'printer_unavailable', err: (err as Error).message }, 'printer unavailable');
      throw err;
    }
    this.failedOpens = 0;
    if (this.everConnected) this.health.reconnects++;
    this.everConnected = true;
    // needsResync survives a reconnect: a printer re-enumerated on USB may still hold the old job.
    this.conn = conn;
    conn.on('data', (chunk) => this.onData(chunk));
    conn.on('close', (err) => {
      if (this.conn !== conn) return;
      this.conn = undefined;
      const lost = isStileError(err) ? err : new StileError(StileErrorCode.DeviceUnavailable, `printer ${this.opts.path}: disconnected${err ? ` (${err.message})` : ''}`);
      this.log.warn({ event: 'printer_lost', err: lost.message }, 'printer disconnected');
      this.failWaiter(lost);
      void conn.close().catch(() => undefined);
    });
    this.log.info({ event: 'printer_connected', transport: this.opts.transport }, 'printer connected');
  }

  private onData(chunk: Buffer): void {
    for (const b of chunk) {
      const w = this.waiter;
      if (w && w.accept(b)) {
        this.waiter = undefined;
        clearTimeout(w.timer);
        w.resolve(b);
      } else {
        const reason = isPaperStatusByte(b) ? 'late_job_end' : 'unsolicited';
        this.health.discarded[reason] = (this.health.discarded[reason] ?? 0) + 1;
      }
    }
  }

  /**
   * Send a request and wait for the byte that answers it. The wait is armed before the write,
   * so no answer is missed; the write has a deadline too, so a port that neither takes bytes
   * nor fails (flow control held, a half-dead adapter) cannot hang the kiosk.
   */
  private async ask(bytes: Buffer, accept: (b: number) => boolean, timeoutMs: number): Promise<number> {
    const conn = this.conn;
    if (!conn) throw new StileError(StileErrorCode.DeviceUnavailable, `printer ${this.opts.path}: not connected`);
    const answer = this.expect(accept, timeoutMs);
    answer.catch(() => undefined); // a failed write is the error reported, not the wait behind it
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StileError(StileErrorCode.DeviceUnavailable, `printer ${this.opts.path}: write not done within ${timeoutMs} ms (flow control holding?)`, { reason: NO_ANSWER })), timeoutMs);
    });
    try {
      await Promise.race([conn.write(bytes), deadline]);
    } catch (err) {
      this.failWaiter(err as Error);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return answer;
  }

  /** The next byte that `accept`s. */
  private expect(accept: (b: number) => boolean, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      if (!this.conn) return reject(new StileError(StileErrorCode.DeviceUnavailable, `printer ${this.opts.path}: not connected`));
      const timer = setTimeout(() => {
        if (this.waiter?.timer === timer) this.waiter = undefined;
        reject(new StileError(StileErrorCode.DeviceUnavailable, `printer ${this.opts.path}: no answer within ${timeoutMs} ms (switched off, or the wrong port or baud rate?)`, { reason: NO_ANSWER }));
      }, timeoutMs);
      this.waiter = { accept, resolve, reject, timer };
    });
  }

  private failWaiter(err: Error): void {
    const w = this.waiter;
    this.waiter = undefined;
    if (w) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }
}
