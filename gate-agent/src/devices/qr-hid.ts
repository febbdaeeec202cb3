import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { StileError, StileErrorCode, type QrHidConfig } from '@stile/config';
import type { Credential } from '../gate/credential.js';
import { HidPosAssembler } from '../protocol/hid-pos.js';
import { KeyboardWedgeDecoder } from '../protocol/keyboard-wedge.js';
import type { GateInput } from './input.js';
import { countDiscard, newHealth, Reconnector } from './supervisor.js';

/** The udev rule shipped in gate-agent/udev/, for the error message that points at it. */
export const UDEV_RULES = 'gate-agent/udev/70-stile-scanners.rules';

export interface HidConnection extends EventEmitter<{ data: [Buffer]; error: [Error] }> {
  close(): Promise<void>;
}
export interface HidDeviceInfo {
  vendorId: number;
  productId: number;
  path?: string | undefined;
  product?: string | undefined;
  manufacturer?: string | undefined;
  usagePage?: number | undefined;
}
export interface HidBackend {
  devices(): HidDeviceInfo[];
  open(path: string): HidConnection;
}

type NodeHid = typeof import('node-hid');

/** What a technician should do when node-hid will not load. */
export function explainHidLoadError(err: Error): StileError {
  const msg = err.message.split('\n')[0] ?? '';
  const fix = /libusb/i.test(msg) ? 'install libusb: apt-get install libusb-1.0-0' : 'reinstall with "npm ci" on this machine (node-hid is an optional native module)';
  return new StileError(StileErrorCode.DeviceUnavailable, `USB HID scanner: node-hid could not load (${msg}); ${fix}`);
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
    open(path) {
      const dev = new hid.HID(path);
      const conn = new EventEmitter<{ data: [Buffer]; error: [Error] }>() as HidConnection;
      dev.on('data', (d: Buffer) => conn.emit('data', d));
      dev.on('error', (e: Error) => conn.emit('error', e));
      conn.close = async () => dev.close();
      return conn;
    },
  };
}

const toId = (v: number | string) => (typeof v === 'number' ? v : parseInt(v.replace(/^0x/, ''), 16));
const hex4 = (n: number) => n.toString(16).padStart(4, '0');

/** USB HID QR scanner, HID POS or keyboard-wedge mode, found by vendor/product id. */
export class QrHidScanner extends EventEmitter<{ credential: [Credential, string] }> implements GateInput {
  readonly name: string;
  readonly health;
  private readonly reconnector: Reconnector<HidConnection>;

  constructor(
    private readonly cfg: QrHidConfig,
    private readonly log: Logger,
    private readonly backend: () => Promise<HidBackend> = loadNodeHid,
  ) {
    super();
    this.name = cfg.name;
    this.health = newHealth(cfg.name, `qr-hid-${cfg.mode}`);
    this.reconnector = new Reconnector(this.health, log, () => this.open(), (conn, lost) => this.attach(conn, lost));
  }

  start(): void {
    this.reconnector.start();
  }

  private async open(): Promise<HidConnection> {
    const hid = await this.backend();
    const vid = toId(this.cfg.vendorId);
    const pid = toId(this.cfg.productId);
    const candidates = hid.devices().filter((d) => d.vendorId === vid && d.productId === pid && d.path);
    // A POS-mode scanner exposes its data on usage page 0x8C; prefer that interface.
    const dev = candidates.find((d) => this.cfg.mode !== 'pos' || d.usagePage === 0x8c) ?? candidates[0];
    if (!dev?.path) throw new StileError(StileErrorCode.DeviceUnavailable, `USB HID scanner ${hex4(vid)}:${hex4(pid)} not found — plugged in? "gatectl devices" lists HID devices`);
    try {
      return hid.open(dev.path);
    } catch (err) {
      const msg = (err as Error).message;
      if (/open|permission|access/i.test(msg)) {
        throw new StileError(StileErrorCode.DeviceUnavailable, `USB HID scanner ${dev.path}: cannot open (${msg}) — install the udev rule: cp ${UDEV_RULES} /etc/udev/rules.d/ && udevadm control --reload && udevadm trigger, then replug`);
      }
      throw new StileError(StileErrorCode.DeviceUnavailable, `USB HID scanner ${dev.path}: ${msg}`);
    }
  }

  private attach(conn: HidConnection, lost: (err: Error | undefined) => void): void {
    const decoder = this.cfg.mode === 'pos' ? new HidPosAssembler() : new KeyboardWedgeDecoder();
    conn.on('data', (report) => {
      for (const r of decoder.push(report)) {
        if (r.type === 'scan') {
          this.health.scans++;
          this.emit('credential', { kind: 'qr', text: r.text }, this.name);
        } else {
          countDiscard(this.health, r.reason);
          this.log.warn({ event: 'input_discarded', device: this.name, reason: r.reason }, 'scanner report discarded');
        }
      }
    });
    // node-hid reports an unplug as a read error; the reconnector re-enumerates.
    conn.on('error', (err) => lost(err));
  }

  async close(): Promise<void> {
    await this.reconnector.stop();
  }
}
