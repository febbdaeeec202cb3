/**
 * kioskctl's line to the running stile-kiosk: a Unix socket beside the journal (owner only,
 * 0600), one JSON request per line, one JSON answer per line. What needs the daemon goes
 * through it (the printer is the daemon's, the sale machine's state lives there); what the
 * journal alone answers, kioskctl reads itself, so `status` and `cash` work with the daemon down.
 */
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import type { Logger } from 'pino';

export interface ControlRequest {
  cmd: string;
  args?: Record<string, unknown>;
}

export type ControlAnswer = { ok: true; data: unknown } | { ok: false; code: string; message: string };

/** A refusal a handler gives: its code and one line, sent as `{ ok: false }`. */
export class ControlRefusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ControlRefusal';
  }
}

export type ControlHandler = (args: Record<string, unknown>) => unknown;

const MAX_LINE = 64 * 1024;

export class ControlServer {
  private server: Server | undefined;

  constructor(
    private readonly path: string,
    private readonly handlers: Record<string, ControlHandler>,
    private readonly log: Logger,
  ) {}

  async listen(): Promise<void> {
    // A socket file left by a daemon that died is stale: nothing listens on it.
    if (existsSync(this.path) && !(await isListening(this.path))) unlinkSync(this.path);
    const server = createServer((sock) => {
      let buf = '';
      sock.setEncoding('utf8');
      sock.on('error', () => undefined);
      sock.on('data', (chunk: string) => {
        buf += chunk;
        if (buf.length > MAX_LINE) return sock.destroy();
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          void this.answer(line).then((a) => sock.write(`${JSON.stringify(a)}\n`));
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => resolve());
    });
    chmodSync(this.path, 0o600);
    this.server = server;
  }

  private async answer(line: string): Promise<ControlAnswer> {
    let req: ControlRequest;
    try {
      req = JSON.parse(line) as ControlRequest;
    } catch {
      return { ok: false, code: 'bad_request', message: 'not a JSON line' };
    }
    const handler = typeof req?.cmd === 'string' && Object.hasOwn(this.handlers, req.cmd) ? this.handlers[req.cmd] : undefined;
    if (!handler) return { ok: false, code: 'unknown_command', message: `unknown control command ${JSON.stringify(req?.cmd)}` };
    try {
      return { ok: true, data: await handler(req.args && typeof req.args === 'object' ? req.args : {}) };
    } catch (err) {
      if (err instanceof ControlRefusal) return { ok: false, code: err.code, message: err.message };
      this.log.error({ event: 'control_failed', cmd: req.cmd, err: (err as Error).message }, 'control command failed');
      return { ok: false, code: 'failed', message: (err as Error).message };
    }
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    if (existsSync(this.path)) unlinkSync(this.path);
  }
}

function isListening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => (c.end(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

/** The daemon is not there to ask (no socket, or nobody listening on it). */
export class DaemonNotRunning extends Error {
  constructor(path: string) {
    super(`stile-kiosk is not running (no answer on ${path})`);
    this.name = 'DaemonNotRunning';
  }
}

/** One request to the daemon; DaemonNotRunning when nobody answers on the socket. */
export function controlRequest(path: string, req: ControlRequest, timeoutMs = 20_000): Promise<ControlAnswer> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    let connected = false;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`stile-kiosk did not answer "${req.cmd}" within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.once('connect', () => {
      connected = true;
      sock.write(`${JSON.stringify(req)}\n`);
    });
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as ControlAnswer);
      } catch {
        reject(new Error('stile-kiosk answered with something that is not JSON'));
      }
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (!connected && (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')) reject(new DaemonNotRunning(path));
      else reject(err);
    });
  });
}
