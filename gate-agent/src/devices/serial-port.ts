import { EventEmitter } from 'node:events';
import { StileError, StileErrorCode } from '@stile/config';

/** The little a device driver needs from a serial port; tests and the simulator can supply their own. */
export interface SerialConnection extends EventEmitter<{ data: [Buffer]; close: [Error | undefined]; error: [Error] }> {
  readonly path: string;
  write(bytes: Buffer): Promise<void>;
  close(): Promise<void>;
}

export type SerialOpener = (path: string, baudRate: number) => Promise<SerialConnection>;

type SerialPortModule = typeof import('serialport');
let serialportModule: Promise<SerialPortModule> | undefined;

/** serialport is native: load it on first use so a gate without serial devices never needs it. */
function loadSerialport(): Promise<SerialPortModule> {
  serialportModule ??= import('serialport').catch((err: Error) => {
    serialportModule = undefined;
    throw new StileError(
      StileErrorCode.DeviceUnavailable,
      `serialport could not load (${err.message.split('\n')[0]}); reinstall with "npm ci" on this machine so its native binding matches Node ${process.versions.node}`,
    );
  });
  return serialportModule;
}

/** Turn the OS's terse errno into what a technician should do about it. */
export function explainSerialError(path: string, err: Error & { code?: string }): StileError {
  const msg = err.message;
  if (/ENOENT|No such file/i.test(msg) || err.code === 'ENOENT') {
    return new StileError(StileErrorCode.DeviceUnavailable, `${path}: no such device — is it plugged in? "gatectl devices" lists the serial ports`);
  }
  if (/EACCES|Permission denied/i.test(msg) || err.code === 'EACCES') {
    return new StileError(StileErrorCode.DeviceUnavailable, `${path}: permission denied — add the gate's user to the "dialout" group (usermod -aG dialout stile) and log in again`);
  }
  if (/EBUSY|Resource busy|Cannot lock/i.test(msg)) {
    return new StileError(StileErrorCode.DeviceUnavailable, `${path}: in use by another program (another stile-gate, or a serial terminal?)`);
  }
  return new StileError(StileErrorCode.DeviceUnavailable, `${path}: ${msg}`);
}

class NodeSerialConnection extends EventEmitter<{ data: [Buffer]; close: [Error | undefined]; error: [Error] }> implements SerialConnection {
  constructor(
    readonly path: string,
    private readonly port: InstanceType<SerialPortModule['SerialPort']>,
  ) {
    super();
    port.on('data', (chunk: Buffer) => this.emit('data', chunk));
    port.on('error', (err: Error) => this.emit('error', err));
    // serialport reports an unplug as a close with a "disconnected" error.
    port.on('close', (err?: Error) => this.emit('close', err ?? undefined));
  }

  /**
   * Resolves once the bytes are in the kernel's buffer. No tcdrain: it runs on libuv's
   * thread pool and added milliseconds to every relay switch; a few bytes at 9600 baud
   * leave the UART within ~4 ms anyway, well inside any pulse.
   */
  write(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.port.write(bytes, (err) => (err ? reject(explainSerialError(this.path, err)) : resolve()));
    });
  }

  close(): Promise<void> {
    if (!this.port.isOpen) return Promise.resolve();
    return new Promise((resolve) => this.port.close(() => resolve()));
  }
}

/** Open a real serial port (raw, 8N1), with errors that name the fix. */
export const openSerialPort: SerialOpener = async (path, baudRate) => {
  const { SerialPort } = await loadSerialport();
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path, baudRate, dataBits: 8, parity: 'none', stopBits: 1, autoOpen: false, lock: true });
    port.open((err) => (err ? reject(explainSerialError(path, err)) : resolve(new NodeSerialConnection(path, port))));
  });
};
