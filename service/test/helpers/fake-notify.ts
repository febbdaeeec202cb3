import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface DgramSocket {
  on(event: 'message', fn: (buf: Buffer) => void): void;
  on(event: 'error', fn: (err: Error) => void): void;
  bind(path: string): void;
  close(): void;
}

/** One datagram as systemd would read it: KEY=value lines, and when it arrived. */
export interface NotifyMessage {
  fields: Record<string, string>;
  text: string;
  at: number;
}

/**
 * The service manager's end of $NOTIFY_SOCKET: a real unix datagram socket (bound with the
 * same unix-dgram module the daemons send with), collecting what arrives.
 */
export class FakeNotifySocket {
  readonly path: string;
  readonly messages: NotifyMessage[] = [];
  private readonly dir: string;
  private readonly sock: DgramSocket;
  private waiters: (() => void)[] = [];

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'stile-notify-'));
    this.path = join(this.dir, 'notify');
    const unix = createRequire(import.meta.url)('unix-dgram') as { createSocket(type: 'unix_dgram'): DgramSocket };
    this.sock = unix.createSocket('unix_dgram');
    let bindError: Error | undefined;
    this.sock.on('error', (err) => (bindError = err));
    this.sock.on('message', (buf) => {
      const text = buf.toString('utf8');
      const fields: Record<string, string> = {};
      for (const line of text.split('\n')) {
        const i = line.indexOf('=');
        if (i > 0) fields[line.slice(0, i)] = line.slice(i + 1);
      }
      this.messages.push({ fields, text, at: Date.now() });
      this.waiters.splice(0).forEach((w) => w());
    });
    // unix-dgram binds synchronously and reports a failure as an 'error' event.
    this.sock.bind(this.path);
    if (bindError) throw bindError;
  }

  /** The environment a unit with Type=notify gives its process. */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, NOTIFY_SOCKET: this.path, ...extra };
    // Leave no trace of an outer service manager (a test run started by systemd).
    if (!('INVOCATION_ID' in extra)) delete env.INVOCATION_ID;
    if (!('WATCHDOG_USEC' in extra)) delete env.WATCHDOG_USEC;
    delete env.WATCHDOG_PID;
    return env;
  }

  has(key: string, value?: string): boolean {
    return this.messages.some((m) => key in m.fields && (value === undefined || m.fields[key] === value));
  }

  index(key: string, value = '1'): number {
    return this.messages.findIndex((m) => m.fields[key] === value);
  }

  count(key: string): number {
    return this.messages.filter((m) => key in m.fields).length;
  }

  /** The newest STATUS= text. */
  lastStatus(): string | undefined {
    for (let i = this.messages.length - 1; i >= 0; i--) if ('STATUS' in this.messages[i]!.fields) return this.messages[i]!.fields.STATUS;
    return undefined;
  }

  async waitFor(pred: (msgs: NotifyMessage[]) => boolean, what: string, timeoutMs = 20_000, alive?: () => string | null): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.messages)) {
      const dead = alive?.();
      if (dead) throw new Error(`waiting for ${what}: ${dead}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; received: ${JSON.stringify(this.messages.map((m) => m.text))}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  close(): void {
    this.sock.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
