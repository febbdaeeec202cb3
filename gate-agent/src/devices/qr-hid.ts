import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import { StileError, StileErrorCode, type QrHidConfig } from '@stile/config';
import type { Credential } from '../gate/credential.js';
import { layoutFromDescriptor } from '../protocol/hid-descriptor.js';
import { HID_POS_DISCARD_HINTS, HidPosAssembler, type HidPosResult } from '../protocol/hid-pos.js';
import type { HidPosLayoutName } from '../protocol/hid-pos-layouts.js';
import { findFamily, initStep, type HidInitStep } from '../protocol/hid-pos-vendors.js';
import { KeyboardWedgeDecoder } from '../protocol/keyboard-wedge.js';
import type { GateInput } from './input.js';
import { countDiscard, newHealth, Reconnector, type Backoff } from './supervisor.js';

/** The udev rule packaging/install.sh installs (packaging/udev/70-stile.rules), for the error message that points at it. */
export const UDEV_RULES = '/etc/udev/rules.d/70-stile.rules';

export interface HidConnection extends EventEmitter<{ data: [Buffer]; error: [Error] }> {
  close(): Promise<void>;
  /** Output report; the first byte is the report id. */
  write?(data: Buffer): void;
  /** Feature report; the first byte is the report id. */
  sendFeatureReport?(data: Buffer): void;
}
export interface HidDeviceInfo {
  vendorId: number;
  productId: number;
  path?: string | undefined;
  product?: string | undefined;
  manufacturer?: string | undefined;
  usagePage?: number | undefined;
  usage?: number | undefined;
}
export interface HidBackend {
  devices(): HidDeviceInfo[];
  open(path: string): HidConnection;
  /** The interface's report descriptor, where the platform exposes it (Linux: sysfs). */
  descriptor?(path: string): Buffer | undefined;
}

type NodeHid = typeof import('node-hid');

/** What a technician should do when node-hid will not load. */
export function explainHidLoadError(err: Error): StileError {
  const msg = err.message.split('\n')[0] ?? '';
  const fix = /libusb/i.test(msg) ? 'install libusb: apt-get install libusb-1.0-0' : 'reinstall with "npm ci" on this machine (node-hid is an optional native module)';
  return new StileError(StileErrorCode.DeviceUnavailable, `USB HID scanner: node-hid could not load (${msg}); ${fix}`);
}

/** /dev/hidrawN → its report descriptor in sysfs (what the kernel read from the device). */
export function sysfsDescriptor(path: string, sysRoot = '/sys'): Buffer | undefined {
  if (!/^\/dev\/hidraw\d+$/.test(path)) return undefined;
  try {
    return readFileSync(`${sysRoot}/class/hidraw/${basename(path)}/device/report_descriptor`);
  } catch {
    return undefined;
  }
}

/** node-hid needs libusb/hidraw: load it lazily, and turn a failed load into the apt command. */
export async function loadNodeHid(): Promise<HidBackend> {
  let hid: NodeHid;
  try {
    hid = (await import('node-hid')) as NodeHid;
    hid.devices(); // the native binding loads on first use; fail here, with the fix, not later
  } catch (err) {
    throw explainHidLoadError(err as Error);
  }
  return {
    devices: () => hid.devices(),
    descriptor: (path) => sysfsDescriptor(path),
    open(path) {
      const dev = new hid.HID(path);
      const conn = new EventEmitter<{ data: [Buffer]; error: [Error] }>() as HidConnection;
      dev.on('data', (d: Buffer) => conn.emit('data', d));
      dev.on('error', (e: Error) => conn.emit('error', e));
      conn.close = async () => dev.close();
      conn.write = (d) => void dev.write(d);
      conn.sendFeatureReport = (d) => void dev.sendFeatureReport(d);
      return conn;
    },
  };
}

const toId = (v: number | string) => (typeof v === 'number' ? v : parseInt(v.replace(/^0x/, ''), 16));
const hex4 = (n: number) => n.toString(16).padStart(4, '0');
export const HID_POS_USAGE_PAGE = 0x8c;

export type InterfaceChoice =
  | { kind: 'ok'; device: HidDeviceInfo & { path: string } }
  | { kind: 'missing'; message: string }
  | { kind: 'wrong_mode'; message: string };

/**
 * Which interface of the scanner to open. HID POS needs the usage page 0x8C interface; keyboard
 * mode the boot keyboard (usage page 1, usage 6). A scanner that has only the other kind is in
 * the wrong mode, and we say how to fix it instead of reading the wrong interface.
 */
export function chooseInterface(devices: HidDeviceInfo[], vendorId: number, productId: number, mode: 'pos' | 'keyboard'): InterfaceChoice {
  const id = `${hex4(vendorId)}:${hex4(productId)}`;
  const candidates = devices.filter((d): d is HidDeviceInfo & { path: string } => d.vendorId === vendorId && d.productId === productId && !!d.path);
  if (candidates.length === 0) return { kind: 'missing', message: `USB HID scanner ${id} not found — plugged in? "gatectl devices" lists HID devices` };
  // Platforms that do not report usages: we cannot tell the interfaces apart, take the first.
  if (candidates.every((d) => d.usagePage === undefined)) return { kind: 'ok', device: candidates[0]! };
  const pos = candidates.find((d) => d.usagePage === HID_POS_USAGE_PAGE);
  // A keyboard collection; where the platform gives the page but not the usage, any generic-desktop one.
  const keyboard = candidates.find((d) => d.usagePage === 0x01 && d.usage === 0x06) ?? candidates.find((d) => d.usagePage === 0x01 && d.usage === undefined);
  const setup = findFamily(vendorId, productId)?.setup;
  if (mode === 'pos') {
    if (pos) return { kind: 'ok', device: pos };
    return {
      kind: 'wrong_mode',
      message: `USB HID scanner ${id} has no HID POS interface (usage page 0x8C)${keyboard ? ': it is in keyboard mode' : ''} — scan the vendor's USB HID POS setup code${setup ? ` (${setup})` : ''}, or set mode: keyboard`,
    };
  }
  if (keyboard) return { kind: 'ok', device: keyboard };
  return {
    kind: 'wrong_mode',
    message: `USB HID scanner ${id} has no keyboard interface (usage page 1, usage 6)${pos ? ': it is in HID POS mode' : ''} — set mode: pos, or scan the vendor's USB keyboard setup code`,
  };
}

export type LayoutSource = 'config' | 'descriptor' | 'usb-id' | 'default';

/** gate.yaml's `layout:` wins; then what the report descriptor settles; then the vendor table; else Honeywell's. */
export function chooseLayout(configured: HidPosLayoutName | undefined, vendorId: number, productId: number, descriptor: Buffer | undefined): { layout: HidPosLayoutName; source: LayoutSource } {
  if (configured) return { layout: configured, source: 'config' };
  const fromDescriptor = descriptor ? layoutFromDescriptor(descriptor) : null;
  if (fromDescriptor) return { layout: fromDescriptor, source: 'descriptor' };
  const family = findFamily(vendorId, productId);
  if (family) return { layout: family.layout, source: 'usb-id' };
  return { layout: 'honeywell', source: 'default' };
}

/** One decoded (or refused) code with its raw reports, for `gatectl scan`. */
export interface HidScanDetail {
  input: string;
  layout: HidPosLayoutName;
  layoutSource: LayoutSource;
  reports: Buffer[];
  result: HidPosResult;
}

interface Opened {
  conn: HidConnection;
  layout: HidPosLayoutName;
  layoutSource: LayoutSource;
}

/** USB HID QR scanner, HID POS or keyboard-wedge mode, found by vendor/product id. */
export class QrHidScanner extends EventEmitter<{ credential: [Credential, string] }> implements GateInput {
  readonly name: string;
  /** Each HID POS code with its raw reports and layout, while someone listens (`gatectl scan`). */
  readonly details = new EventEmitter<{ decoded: [HidScanDetail] }>();
  readonly health;
  private readonly reconnector: Reconnector<HidConnection>;
  private opened: Opened | undefined;
  private gapTimer: NodeJS.Timeout | undefined;
  private readonly clock: () => number;

  constructor(
    private readonly cfg: QrHidConfig,
    private readonly log: Logger,
    private readonly backend: () => Promise<HidBackend> = loadNodeHid,
    opts: { clock?: () => number; backoff?: Backoff } = {},
  ) {
    super();
    this.name = cfg.name;
    this.clock = opts.clock ?? (() => performance.now());
    this.health = newHealth(cfg.name, `qr-hid-${cfg.mode}`);
    this.reconnector = new Reconnector(this.health, log, () => this.open(), (conn, lost) => this.attach(conn, lost), opts.backoff);
  }

  start(): void {
    this.reconnector.start();
  }

  private async open(): Promise<HidConnection> {
    const hid = await this.backend();
    const vid = toId(this.cfg.vendorId);
    const pid = toId(this.cfg.productId);
    const choice = chooseInterface(hid.devices(), vid, pid, this.cfg.mode);
    if (choice.kind === 'missing') throw new StileError(StileErrorCode.DeviceUnavailable, choice.message);
    if (choice.kind === 'wrong_mode') throw new StileError(StileErrorCode.DeviceWrongMode, choice.message);
    const dev = choice.device;
    let conn: HidConnection;
    try {
      conn = hid.open(dev.path);
    } catch (err) {
      const msg = (err as Error).message;
      if (/open|permission|access/i.test(msg)) {
        throw new StileError(StileErrorCode.DeviceUnavailable, `USB HID scanner ${dev.path}: cannot open (${msg}) — the udev rule ${UDEV_RULES} is missing or the daemon's user is not in group plugdev: packaging/install.sh sets up both (docs/install.md), then replug`);
      }
      throw new StileError(StileErrorCode.DeviceUnavailable, `USB HID scanner ${dev.path}: ${msg}`);
    }
    if (this.cfg.mode === 'pos') {
      const { layout, source } = chooseLayout(this.cfg.layout, vid, pid, hid.descriptor?.(dev.path));
      this.opened = { conn, layout, layoutSource: source };
      this.health.kind = `qr-hid-pos:${layout}`;
      this.log.info({ event: 'hid_layout', device: this.name, path: dev.path, layout, source }, 'HID POS layout chosen');
      this.initialise(conn, vid, pid);
    }
    return conn;
  }

  /** The vendor's initialisation (or gate.yaml's `init:`), on every open and reconnect. */
  private initialise(conn: HidConnection, vid: number, pid: number): void {
    const steps: readonly HidInitStep[] = this.cfg.init ? this.cfg.init.map(initStep) : (findFamily(vid, pid)?.init ?? []);
    for (const step of steps) {
      const [kind, bytes] = 'feature' in step ? (['feature', step.feature] as const) : (['output', step.output] as const);
      try {
        const send = kind === 'feature' ? conn.sendFeatureReport : conn.write;
        if (!send) throw new Error(`this HID backend cannot send ${kind} reports`);
        send.call(conn, bytes);
        this.log.debug({ event: 'hid_init', device: this.name, kind, bytes: bytes.toString('hex') }, 'scanner initialisation sent');
      } catch (err) {
        // Not fatal: most scanners read codes without it. Logged so a technician can drop or fix the step.
        this.log.warn({ event: 'hid_init_failed', device: this.name, kind, bytes: bytes.toString('hex'), err: (err as Error).message }, 'scanner initialisation failed');
      }
    }
  }

  private attach(conn: HidConnection, lost: (err: Error | undefined) => void): void {
    if (this.cfg.mode === 'keyboard') {
      const decoder = new KeyboardWedgeDecoder();
      conn.on('data', (report) => {
        for (const r of decoder.push(report)) this.handle(r.type === 'scan' ? { type: 'scan', text: r.text } : { type: 'discarded', reason: r.reason });
      });
    } else {
      const { layout, layoutSource } = this.opened!;
      const a = new HidPosAssembler({ layout, gapMs: this.cfg.reportGapMs, keepReports: this.details.listenerCount('decoded') > 0 });
      const results = (out: HidPosResult[]) => {
        for (const r of out) {
          if (r.reports) this.details.emit('decoded', { input: this.name, layout, layoutSource, reports: r.reports, result: r });
          this.handle(r);
        }
      };
      // The next report of a code is due within the gap. setImmediate: reports already queued
      // behind a busy event loop are read before the fragment is judged overdue. Timers may fire
      // a fraction of a millisecond early, so a fragment not yet overdue is looked at again.
      const arm = (ms: number) => {
        clearTimeout(this.gapTimer);
        if (a.pending) this.gapTimer = setTimeout(() => setImmediate(() => {
          results(a.expire(this.clock()));
          arm(2);
        }), ms);
      };
      conn.on('data', (report) => {
        results(a.push(report, this.clock()));
        arm(this.cfg.reportGapMs);
      });
    }
    // node-hid reports an unplug as a read error; the reconnector re-enumerates.
    conn.on('error', (err) => {
      clearTimeout(this.gapTimer);
      lost(err);
    });
  }

  private handle(r: { type: 'scan'; text: string } | { type: 'discarded'; reason: string }): void {
    if (r.type === 'scan') {
      this.health.scans++;
      this.emit('credential', { kind: 'qr', text: r.text }, this.name);
      return;
    }
    countDiscard(this.health, r.reason);
    const hint = (HID_POS_DISCARD_HINTS as Record<string, string | undefined>)[r.reason];
    this.log.warn({ event: 'input_discarded', device: this.name, reason: r.reason, ...(hint ? { hint } : {}) }, 'scanner report discarded');
  }

  async close(): Promise<void> {
    clearTimeout(this.gapTimer);
    await this.reconnector.stop();
  }
}
