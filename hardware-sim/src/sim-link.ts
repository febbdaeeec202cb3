/**
 * The simulator's side of one virtual serial device: a socat pty pair plus a real serialport
 * opened on the `.sim` end, so the serialport code path runs on both ends. Devices
 * (scanner, reader, relay board, sensor) talk through this and never see the pty.
 *
 * unplug() kills socat: the gate's port gets a disconnect and the device path disappears, as
 * when a USB adapter is pulled. replug() makes a new pair at the same path.
 */
import { EventEmitter } from 'node:events';
import { execFile } from 'node:child_process';
import { SerialPort } from 'serialport';
import { SimError, SimErrorCode } from './errors.js';
import { createPty, ptyPaths, type Pty, type PtyOptions } from './pty.js';

export interface SimLinkOptions extends PtyOptions {
  dir: string;
  name: string;
  /** Set on the simulator's end; a pty carries bytes at any speed, see `gateBaudRate()`. */
  baudRate: number;
  /** Clock for receive and write timestamps (ms). Default performance.now. */
  now?: () => number;
}

export interface SimLinkEvents {
  /** Bytes from the gate, stamped when they reached the simulator. */
  data: [chunk: Buffer, at: number];
  unplugged: [reason: 'unplug' | 'socat_exit' | 'port_closed'];
  plugged: [];
}

/** What a simulated device needs from its link; tests may hand a device anything that fits. */
export interface SimWire {
  readonly devicePath: string;
  readonly baudRate: number;
  readonly plugged: boolean;
  /** Write and wait until the bytes left our end; resolves with the clock reading then. */
  write(data: Buffer): Promise<number>;
  now(): number;
  on<K extends keyof SimLinkEvents>(event: K, listener: (...args: SimLinkEvents[K]) => void): unknown;
  off<K extends keyof SimLinkEvents>(event: K, listener: (...args: SimLinkEvents[K]) => void): unknown;
}

function openPort(path: string, baudRate: number): Promise<SerialPort> {
  return new Promise((resolveOpen, reject) => {
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    port.open((err) => (err ? reject(new SimError(SimErrorCode.PortFailed, `cannot open ${path}: ${err.message}`, { cause: err })) : resolveOpen(port)));
  });
}

export class SimLink extends EventEmitter<SimLinkEvents> implements SimWire {
  readonly devicePath: string;
  readonly simPath: string;
  readonly baudRate: number;
  readonly now: () => number;
  private pty: Pty | undefined;
  private port: SerialPort | undefined;
  private closed = false;
  /** Serialises unplug/replug/close so a test cannot interleave them. */
  private lifecycle: Promise<unknown> = Promise.resolve();

  private constructor(private readonly opts: SimLinkOptions) {
    super();
    const paths = ptyPaths(opts.dir, opts.name);
    this.devicePath = paths.devicePath;
    this.simPath = paths.simPath;
    this.baudRate = opts.baudRate;
    this.now = opts.now ?? (() => performance.now());
  }

  static async open(opts: SimLinkOptions): Promise<SimLink> {
    const link = new SimLink(opts);
    await link.plug();
    return link;
  }

  get plugged(): boolean {
    return this.port !== undefined;
  }

  /** socat's pid while plugged. */
  get socatPid(): number | undefined {
    return this.pty?.pid;
  }

  private async plug(): Promise<void> {
    const pty = await createPty(this.opts.dir, this.opts.name, this.opts);
    let port: SerialPort;
    try {
      port = await openPort(pty.simPath, this.baudRate);
    } catch (err) {
      await pty.close();
      throw err;
    }
    this.pty = pty;
    this.port = port;
    port.on('data', (chunk: Buffer) => this.emit('data', chunk, this.now()));
    // A disconnect we did not ask for: socat was killed from outside.
    port.on('close', () => {
      if (this.port === port) void this.serial(() => this.drop(pty, pty.exited ? 'socat_exit' : 'port_closed'));
    });
    port.on('error', () => {
      // 'close' follows a disconnect; write errors reach the writer.
    });
    void pty.exit.then(() => {
      if (this.pty === pty) void this.serial(() => this.drop(pty, 'socat_exit'));
    });
  }

  /** Tear down the pair if it is still the current one; emits 'unplugged' once per pair. */
  private async drop(pty: Pty | undefined, reason: SimLinkEvents['unplugged'][0]): Promise<void> {
    if (pty === undefined || this.pty !== pty) return;
    const port = this.port;
    this.port = undefined;
    this.pty = undefined;
    if (port?.isOpen) await new Promise<void>((r) => port.close(() => r()));
    await pty.close();
    this.emit('unplugged', reason);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lifecycle.then(fn, fn);
    this.lifecycle = next.catch(() => undefined);
    return next;
  }

  async write(data: Buffer): Promise<number> {
    const port = this.port;
    if (this.closed) throw new SimError(SimErrorCode.Closed, `${this.devicePath} is closed`);
    if (port === undefined) throw new SimError(SimErrorCode.Unplugged, `${this.devicePath} is unplugged`);
    await new Promise<void>((resolveWrite, reject) => {
      port.write(data);
      port.drain((err) => (err ? reject(new SimError(SimErrorCode.PortFailed, `write to ${this.devicePath} failed: ${err.message}`, { cause: err })) : resolveWrite()));
    });
    return this.now();
  }

  /** Pull the plug: socat dies, the gate's port reports a disconnect, the path disappears. */
  unplug(): Promise<void> {
    return this.serial(async () => {
      if (this.closed) throw new SimError(SimErrorCode.Closed, `${this.devicePath} is closed`);
      await this.drop(this.pty, 'unplug');
    });
  }

  /** Plug back in at the same path (a new /dev/pts behind the same link). No-op if plugged. */
  replug(): Promise<void> {
    return this.serial(async () => {
      if (this.closed) throw new SimError(SimErrorCode.Closed, `${this.devicePath} is closed`);
      if (this.pty !== undefined) return;
      await this.plug();
      this.emit('plugged');
    });
  }

  close(): Promise<void> {
    return this.serial(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.drop(this.pty, 'unplug');
    });
  }

  /**
   * The speed the gate set on its end, read with `stty -F` (a pty passes bytes at any speed,
   * so a wrong baudRate in gate.yaml would go unnoticed otherwise). null while unplugged or
   * when stty fails.
   */
  gateBaudRate(): Promise<number | null> {
    if (this.pty === undefined) return Promise.resolve(null);
    return new Promise((resolveBaud) => {
      execFile('stty', ['-F', this.devicePath, 'speed'], { timeout: 2000 }, (err, stdout) => {
        const n = Number(String(stdout).trim());
        resolveBaud(err || !Number.isFinite(n) ? null : n);
      });
    });
  }
}
