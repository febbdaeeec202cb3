/**
 * The two ways a receipt printer is attached:
 *
 * - serial: an RS-232 printer, or a USB printer whose USB-serial chip shows up as
 *   /dev/ttyUSB0 / /dev/ttyACM0. Opened with serialport (raw 8N1, optional RTS/CTS or
 *   XON/XOFF flow control: a printer's receive buffer is small and large jobs overrun it
 *   without one).
 * - usblp: a USB printer-class device, /dev/usb/lp0 (Linux usblp driver). A plain character
 *   device: writes go to the printer, reads return what it sends back (the status bytes), if it is
 *   bidirectional. Node reads such a device on a libuv pool thread, so one of the pool's
 *   threads (4 by default) waits in read() while the printer is open.
 *
 * Both give the driver the same small connection, so it never knows which it has.
 */
import { EventEmitter } from 'node:events';
import { close as closeFd, constants, open as openFd, read as readFd, write as writeFd } from 'node:fs';
import { StileError, StileErrorCode } from '@stile/config';

export interface PrinterConnection extends EventEmitter<{ data: [Buffer]; close: [Error | undefined] }> {
  readonly path: string;
  write(bytes: Buffer): Promise<void>;
  close(): Promise<void>;
}

export type PrinterTransport = 'serial' | 'usblp';

export interface PrinterPortConfig {
  path: string;
  transport: PrinterTransport;
  /** Serial only. Default 115200. */
  baudRate?: number;
  /** Serial only. Default none. */
  flowControl?: 'none' | 'rtscts' | 'xonxoff';
}

export type PrinterOpener = (cfg: PrinterPortConfig) => Promise<PrinterConnection>;

/** The OS's errno, as what a technician should do about it. */
export function explainPrinterError(cfg: PrinterPortConfig, err: Error & { code?: string }): StileError {
  const text = `${err.code ?? ''} ${err.message}`;
  const group = cfg.transport === 'usblp' ? 'lp' : 'dialout';
  let why = err.message;
  if (/ENOENT|No such file/i.test(text)) why = 'no such device — is the printer plugged in and switched on?';
  else if (/ENODEV|EIO|disconnected/i.test(text)) why = 'the printer went away (unplugged or switched off)';
  else if (/EACCES|Permission denied/i.test(text)) why = `permission denied — add the kiosk's user to the "${group}" group and log in again`;
  else if (/EBUSY|Resource busy|Cannot lock/i.test(text)) why = 'in use by another program (CUPS, or a second kiosk-agent?)';
  return new StileError(StileErrorCode.DeviceUnavailable, `printer ${cfg.path}: ${why}`, { errno: err.code });
}

type SerialPortModule = typeof import('serialport');
let serialportModule: Promise<SerialPortModule> | undefined;

/** serialport is native: loaded on first use, so a USB-only kiosk never needs its binding. */
function loadSerialport(): Promise<SerialPortModule> {
  serialportModule ??= import('serialport').catch((err: Error) => {
    serialportModule = undefined;
    throw new StileError(StileErrorCode.DeviceUnavailable, `serialport could not load (${err.message.split('\n')[0]}); run "npm ci" on this machine`);
  });
  return serialportModule;
}

class SerialPrinter extends EventEmitter<{ data: [Buffer]; close: [Error | undefined] }> implements PrinterConnection {
  readonly path: string;

  constructor(
    private readonly cfg: PrinterPortConfig,
    private readonly port: InstanceType<SerialPortModule['SerialPort']>,
  ) {
    super();
    this.path = cfg.path;
    port.on('data', (chunk: Buffer) => this.emit('data', chunk));
    port.on('error', (err: Error) => this.emit('close', err));
    port.on('close', (err?: Error) => this.emit('close', err ?? undefined));
  }

  /** Resolves once the bytes have left for the UART (drain); rejects if the port fails or closes first. */
  write(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.port.isOpen) return reject(explainPrinterError(this.cfg, new Error('disconnected')));
      const onClose = (err: Error | undefined) => reject(explainPrinterError(this.cfg, err ?? new Error('disconnected')));
      this.once('close', onClose);
      const settle = (err: Error | null | undefined) => {
        this.off('close', onClose);
        if (err) reject(explainPrinterError(this.cfg, err));
        else resolve();
      };
      this.port.write(bytes, (err) => {
        if (err) settle(err);
      });
      this.port.drain(settle);
    });
  }

  close(): Promise<void> {
    if (!this.port.isOpen) return Promise.resolve();
    return new Promise((resolve) => this.port.close(() => resolve()));
  }
}

async function openSerialPrinter(cfg: PrinterPortConfig): Promise<PrinterConnection> {
  const { SerialPort } = await loadSerialport();
  const flow = cfg.flowControl ?? 'none';
  return new Promise((resolve, reject) => {
    const port = new SerialPort({
      path: cfg.path,
      baudRate: cfg.baudRate ?? 115200,
      autoOpen: false,
      lock: true,
      rtscts: flow === 'rtscts',
      xon: flow === 'xonxoff',
      xoff: flow === 'xonxoff',
    });
    port.open((err) => (err ? reject(explainPrinterError(cfg, err)) : resolve(new SerialPrinter(cfg, port))));
  });
}

/** /dev/usb/lp0 as a file descriptor: a read loop for the status bytes, writes for the jobs. */
class UsbLpPrinter extends EventEmitter<{ data: [Buffer]; close: [Error | undefined] }> implements PrinterConnection {
  private closed = false;
  readonly path: string;

  constructor(
    private readonly cfg: PrinterPortConfig,
    private readonly fd: number,
  ) {
    super();
    this.path = cfg.path;
    this.readNext();
  }

  private readNext(): void {
    const buf = Buffer.alloc(64);
    readFd(this.fd, buf, 0, buf.length, null, (err, n) => {
      if (this.closed) return;
      if (err && (err as NodeJS.ErrnoException).code === 'EAGAIN') {
        setTimeout(() => this.readNext(), 20);
        return;
      }
      // EOF or an error: the printer is gone (ENODEV on unplug, EIO on a pty hang-up).
      if (err || n === 0) return this.lost(err ?? new Error('end of file'));
      this.emit('data', Buffer.from(buf.subarray(0, n)));
      this.readNext();
    });
  }

  private lost(err: Error): void {
    if (this.closed) return;
    void this.close();
    this.emit('close', explainPrinterError(this.cfg, err));
  }

  write(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const step = (offset: number): void => {
        if (this.closed) return reject(new StileError(StileErrorCode.DeviceUnavailable, `printer ${this.path}: closed`));
        writeFd(this.fd, bytes, offset, bytes.length - offset, null, (err, n) => {
          if (err) {
            reject(explainPrinterError(this.cfg, err));
            this.lost(err);
          } else if (offset + n < bytes.length) step(offset + n);
          else resolve();
        });
      };
      step(0);
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    // A read still waiting in the pool returns when the device hangs up; its result is ignored.
    return new Promise((resolve) => closeFd(this.fd, () => resolve()));
  }
}

async function openUsbLpPrinter(cfg: PrinterPortConfig): Promise<PrinterConnection> {
  const fd = await new Promise<number>((resolve, reject) => {
    // O_NOCTTY: the path may be a tty (a test's pty, a USB-serial adapter named by mistake).
    openFd(cfg.path, constants.O_RDWR | constants.O_NOCTTY, (err, fd) => (err ? reject(explainPrinterError(cfg, err)) : resolve(fd)));
  });
  return new UsbLpPrinter(cfg, fd);
}

export const openPrinterPort: PrinterOpener = (cfg) => (cfg.transport === 'usblp' ? openUsbLpPrinter(cfg) : openSerialPrinter(cfg));
