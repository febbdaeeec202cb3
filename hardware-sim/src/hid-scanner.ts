/**
 * A USB HID QR scanner, as the gate's HID backend sees one (gate-agent's `HidBackend`): it
 * enumerates with the interfaces a real scanner shows in HID POS or keyboard mode, sends each
 * code as input reports in the chosen layout (Honeywell/Youjie, Newland and its OEMs, or the
 * extra-byte variant), and records what the host sends it (feature and output reports).
 *
 * hidraw cannot be faked from user space without /dev/uhid (root), so this one lives in the
 * gate's process: pass `backend` to startGateDaemon({ inputDevices: { hid } }) or to QrHidScanner.
 */
import { EventEmitter } from 'node:events';
import type { HidBackend, HidConnection, HidDeviceInfo } from '@stile/gate-agent';
import { encodeHidPosReports, encodeKeyboardReports, type HidPosLayoutName } from '@stile/gate-agent/protocol';

export interface SimHidScannerOptions {
  vendorId?: number;
  productId?: number;
  /** pos: one interface on usage page 0x8C; keyboard: one boot keyboard (usage page 1, usage 6). */
  mode?: 'pos' | 'keyboard';
  layout?: HidPosLayoutName;
  reportSize?: number;
  /** AIM id sent with every code (layouts with an AIM slot); null: zeros. */
  aim?: string | null;
  /** Report descriptor the backend returns for the interface (undefined: none, as on non-Linux). */
  descriptor?: Buffer;
  path?: string;
}

export interface HidScanOptions {
  aim?: string | null;
  /** Lose the last report of the code, as a flaky hub does. */
  dropLast?: boolean;
  /** Pause between two reports of the code. */
  gapMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class SimHidScanner {
  readonly vendorId: number;
  readonly productId: number;
  readonly path: string;
  mode: 'pos' | 'keyboard';
  layout: HidPosLayoutName;
  /** Feature and output reports the host sent, in order. */
  readonly received: { kind: 'feature' | 'output'; bytes: Buffer }[] = [];
  /** Times the host opened the scanner. */
  opens = 0;
  scans = 0;
  private conn: HidConnection | undefined;
  private plugged = true;

  constructor(private readonly opts: SimHidScannerOptions = {}) {
    this.vendorId = opts.vendorId ?? 0x0c2e;
    this.productId = opts.productId ?? 0x0b61;
    this.path = opts.path ?? '/dev/hidraw-sim0';
    this.mode = opts.mode ?? 'pos';
    this.layout = opts.layout ?? 'honeywell';
  }

  /** The gate's side: enumerate, read the descriptor, open. */
  readonly backend: HidBackend = {
    devices: () => (this.plugged ? [this.info()] : []),
    descriptor: () => this.opts.descriptor,
    open: (path) => {
      if (!this.plugged || path !== this.path) throw new Error(`could not open ${path}`);
      const conn = Object.assign(new EventEmitter<{ data: [Buffer]; error: [Error] }>(), {
        close: async () => {
          if (this.conn === conn) this.conn = undefined;
        },
        write: (d: Buffer) => void this.received.push({ kind: 'output', bytes: Buffer.from(d) }),
        sendFeatureReport: (d: Buffer) => void this.received.push({ kind: 'feature', bytes: Buffer.from(d) }),
      }) as HidConnection;
      this.conn = conn;
      this.opens++;
      return conn;
    },
  };

  get connected(): boolean {
    return this.conn !== undefined;
  }

  private info(): HidDeviceInfo {
    const [usagePage, usage] = this.mode === 'pos' ? [0x8c, 0x02] : [0x01, 0x06];
    return { vendorId: this.vendorId, productId: this.productId, path: this.path, product: 'Sim HID scanner', usagePage, usage };
  }

  /** The reports this scanner sends for `text`, in its mode and layout. */
  reportsFor(text: string, aim: string | null = this.opts.aim ?? null): Buffer[] {
    if (this.mode === 'keyboard') return encodeKeyboardReports(text);
    return encodeHidPosReports(text, { layout: this.layout, aim, ...(this.opts.reportSize ? { reportSize: this.opts.reportSize } : {}) });
  }

  /** Read a code: its reports go to the open connection. Returns the reports sent. */
  async scan(text: string, opts: HidScanOptions = {}): Promise<Buffer[]> {
    const all = this.reportsFor(text, opts.aim === undefined ? (this.opts.aim ?? null) : opts.aim);
    const reports = opts.dropLast && all.length > 1 ? all.slice(0, -1) : all;
    await this.send(reports, opts.gapMs ?? 0);
    this.scans++;
    return reports;
  }

  /** Raw reports, e.g. a captured sequence. */
  async send(reports: Buffer[], gapMs = 0): Promise<void> {
    const conn = this.conn;
    if (!conn) throw new Error('the gate has not opened the scanner');
    for (const [i, r] of reports.entries()) {
      if (i > 0) await (gapMs > 0 ? sleep(gapMs) : new Promise<void>((res) => setImmediate(res)));
      conn.emit('data', r);
    }
  }

  /** Pull the cable: the open connection fails with a read error, and the device is gone until replug(). */
  unplug(): void {
    this.plugged = false;
    const conn = this.conn;
    this.conn = undefined;
    conn?.emit('error', new Error('could not read from HID device'));
  }

  /** Plug in again, optionally in another mode (what scanning a setup code does). */
  replug(mode: 'pos' | 'keyboard' = this.mode): void {
    this.mode = mode;
    this.plugged = true;
  }
}
