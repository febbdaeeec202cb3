/**
 * A serial (USB-CDC / RS-232) QR scanner: each decoded code is sent as its bytes (UTF-8), an
 * optional AIM symbology prefix such as "]Q1", and the configured suffix (CR LF by default).
 *
 * mode 'auto' (presentation mode, what gate scanners ship with) sends every scan at once.
 * mode 'command' only reads between a trigger command and a release command from the host,
 * as the gate's `triggerCommand` / `releaseCommand` do (Honeywell SYN T CR / SYN U CR by
 * default; give the bytes your scanner model uses).
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { SimDevice, openLink, type DeviceOptions } from './device.js';
import type { SimWire } from './sim-link.js';

export type ScanSuffix = '\r\n' | '\r' | '\n' | '';

export interface ScanOptions {
  /** Default: the scanner's suffix. */
  suffix?: ScanSuffix;
  /** AIM symbology identifier sent before the data, e.g. "]Q1". Default: the scanner's. */
  aim?: string;
}

/** Behaviour; `QrScannerOptions` adds where the pty goes. */
export interface QrScannerSettings {
  suffix?: ScanSuffix;
  aim?: string;
  mode?: 'auto' | 'command';
  /** Default 16 54 0D (SYN T CR). */
  triggerCommand?: Buffer;
  /** Default 16 55 0D (SYN U CR). */
  releaseCommand?: Buffer;
  /** Sent back when a trigger arrives (some engines acknowledge, e.g. GM65: 02 00 00 01 00 33 31). */
  triggerAck?: Buffer;
}

export type QrScannerOptions = DeviceOptions & QrScannerSettings;

export type ScanResult = { sent: true; bytes: number; writtenAt: number } | { sent: false; reason: 'not_triggered' };

export interface QrScannerEvents {
  trigger: [at: number];
  release: [at: number];
}

const DEFAULT_TRIGGER = Buffer.from([0x16, 0x54, 0x0d]);
const DEFAULT_RELEASE = Buffer.from([0x16, 0x55, 0x0d]);
const RECEIVED_KEEP = 4096;

export class SimQrScanner extends SimDevice {
  readonly events = new EventEmitter<QrScannerEvents>();
  /** Scans sent so far. */
  scans = 0;
  /** Trigger commands received. */
  triggers = 0;
  /** Whether a command-mode scanner is currently reading. */
  triggered = false;
  private received = Buffer.alloc(0);
  private readonly opts: Required<Pick<QrScannerSettings, 'suffix' | 'aim' | 'mode' | 'triggerCommand' | 'releaseCommand'>> & { triggerAck?: Buffer };

  constructor(wire: SimWire, opts: QrScannerSettings = {}) {
    super(wire);
    this.opts = {
      suffix: opts.suffix ?? '\r\n',
      aim: opts.aim ?? '',
      mode: opts.mode ?? 'auto',
      triggerCommand: opts.triggerCommand ?? DEFAULT_TRIGGER,
      releaseCommand: opts.releaseCommand ?? DEFAULT_RELEASE,
      ...(opts.triggerAck ? { triggerAck: opts.triggerAck } : {}),
    };
    wire.on('data', (chunk, at) => this.onData(chunk, at));
    wire.on('unplugged', () => {
      this.triggered = false;
    });
  }

  /** A scanner on a new pty pair: `<dir>/<name ?? 'scanner'>`, 9600 baud unless told. */
  static async open(opts: QrScannerOptions): Promise<SimQrScanner> {
    return new SimQrScanner(await openLink(opts, { name: 'scanner', baudRate: 9600 }), opts);
  }

  /** Suffix, AIM prefix, mode and trigger bytes in effect. */
  get settings(): Readonly<Required<Pick<QrScannerSettings, 'suffix' | 'aim' | 'mode' | 'triggerCommand' | 'releaseCommand'>>> {
    return this.opts;
  }

  /** Bytes the host sent us (last 4 KiB), for checking trigger traffic. */
  get receivedBytes(): Buffer {
    return this.received;
  }

  /** Read a code. Resolves once the last byte has left our end (the latency clock's start). */
  async scan(text: string, opts: ScanOptions = {}): Promise<ScanResult> {
    if (this.opts.mode === 'command' && !this.triggered) return { sent: false, reason: 'not_triggered' };
    const bytes = Buffer.concat([Buffer.from(opts.aim ?? this.opts.aim, 'latin1'), Buffer.from(text, 'utf8'), Buffer.from(opts.suffix ?? this.opts.suffix, 'latin1')]);
    const writtenAt = await this.wire.write(bytes);
    this.scans++;
    return { sent: true, bytes: bytes.length, writtenAt };
  }

  /**
   * Line noise: the given bytes, or that many random bytes without CR/LF (so they glue onto
   * the next scan, as a glitch on a real line does). Resolves with the write time.
   */
  noise(bytes: Buffer | number): Promise<number> {
    const data = typeof bytes === 'number' ? randomNoise(bytes) : bytes;
    return this.wire.write(data);
  }

  private onData(chunk: Buffer, at: number): void {
    this.received = Buffer.concat([this.received, chunk]).subarray(-RECEIVED_KEEP);
    // Look for the commands at every position the chunk could complete one.
    const window = this.received.subarray(-(chunk.length + Math.max(this.opts.triggerCommand.length, this.opts.releaseCommand.length)));
    for (let end = window.length - chunk.length + 1; end <= window.length; end++) {
      const upTo = window.subarray(0, end);
      if (endsWith(upTo, this.opts.triggerCommand)) {
        this.triggers++;
        this.triggered = true;
        if (this.opts.triggerAck) void this.wire.write(this.opts.triggerAck).catch(() => undefined);
        this.events.emit('trigger', at);
      } else if (endsWith(upTo, this.opts.releaseCommand)) {
        this.triggered = false;
        this.events.emit('release', at);
      }
    }
  }
}

function endsWith(buf: Buffer, tail: Buffer): boolean {
  return tail.length > 0 && buf.length >= tail.length && buf.subarray(buf.length - tail.length).equals(tail);
}

function randomNoise(n: number): Buffer {
  const b = randomBytes(Math.max(0, Math.floor(n)));
  for (let i = 0; i < b.length; i++) if (b[i] === 0x0d || b[i] === 0x0a) b[i] = 0x00;
  return b;
}
