/** The gate's side in tests: a real serialport on the device path, collecting what arrives. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';

export class GatePort {
  received = Buffer.alloc(0);
  closed = false;
  disconnected = false;
  private waiters: (() => void)[] = [];

  private constructor(readonly port: SerialPort) {
    port.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake();
    });
    port.on('close', (err: (Error & { disconnected?: boolean }) | null) => {
      this.closed = true;
      this.disconnected = Boolean(err?.disconnected);
      this.wake();
    });
    port.on('error', () => undefined);
  }

  static open(path: string, baudRate: number): Promise<GatePort> {
    return new Promise((resolve, reject) => {
      const port = new SerialPort({ path, baudRate, autoOpen: false });
      port.open((err) => (err ? reject(err) : resolve(new GatePort(port))));
    });
  }

  private wake(): void {
    this.waiters.splice(0).forEach((w) => w());
  }

  /** Default 20 s: under a full parallel test run a pty hang-up has taken over 3 s to reach the reader (CI, 2 cores). */
  async waitFor(pred: (g: GatePort) => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this)) {
      if (Date.now() > deadline) throw new Error(`timed out; received ${this.received.toString('hex')}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 20);
      });
    }
  }

  /** Wait for at least n bytes, then take them off the front. */
  async take(n: number, timeoutMs = 10_000): Promise<Buffer> {
    await this.waitFor((g) => g.received.length >= n, timeoutMs);
    const out = this.received.subarray(0, n);
    this.received = this.received.subarray(n);
    return Buffer.from(out);
  }

  write(data: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.port.write(data);
      this.port.drain((err) => (err ? reject(err) : resolve()));
    });
  }

  close(): Promise<void> {
    if (!this.port.isOpen) return Promise.resolve();
    return new Promise((r) => this.port.close(() => r()));
  }
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'stile-sim-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Running (a zombie waiting for a slow init to reap it counts as gone). */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
