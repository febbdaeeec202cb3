import { EventEmitter } from 'node:events';
import type { SerialConnection, SerialOpener } from '../../src/devices/serial-port.js';

/** An in-memory serial port: tests push bytes in with `receive` and see what the driver wrote. */
export class FakeSerial extends EventEmitter<{ data: [Buffer]; close: [Error | undefined]; error: [Error] }> implements SerialConnection {
  readonly written: Buffer[] = [];
  closed = false;
  /** Answer each write (e.g. a simulated reader); return undefined to stay silent. */
  responder: ((req: Buffer) => Buffer | undefined) | undefined;

  constructor(readonly path: string) {
    super();
  }

  async write(bytes: Buffer): Promise<void> {
    if (this.closed) throw new Error(`${this.path}: port is not open`);
    this.written.push(Buffer.from(bytes));
    const answer = this.responder?.(bytes);
    if (answer) setImmediate(() => this.emit('data', answer));
  }

  receive(bytes: Buffer | string): void {
    this.emit('data', Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1'));
  }

  /** Pull the plug: the driver sees the port close with an error. */
  unplug(): void {
    this.closed = true;
    this.emit('close', new Error('disconnected'));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** An opener that hands out FakeSerial ports, or fails while `unavailable` is set. */
export function fakeOpener(): { open: SerialOpener; ports: FakeSerial[]; unavailable: boolean; setup?: (p: FakeSerial) => void } {
  const state = {
    ports: [] as FakeSerial[],
    unavailable: false,
    setup: undefined as ((p: FakeSerial) => void) | undefined,
    open: (async (path: string) => {
      if (state.unavailable) throw new Error(`${path}: no such device`);
      const port = new FakeSerial(path);
      state.setup?.(port);
      state.ports.push(port);
      return port;
    }) as SerialOpener,
  };
  return state;
}

export async function until(pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 10));
  }
}
