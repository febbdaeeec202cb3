/**
 * sd_notify(3) for the Stile daemons: READY=1, STATUS=…, STOPPING=1, RELOADING=1 and the
 * WATCHDOG=1 keep-alive, as datagrams to the unix socket systemd names in $NOTIFY_SOCKET.
 * Node has no AF_UNIX datagram socket, so the send goes through the `unix-dgram` native
 * module, loaded only when $NOTIFY_SOCKET is set (a daemon run by hand never loads it).
 *
 * The protocol parts (address, message text, watchdog interval) are pure functions; the
 * socket is the edge. Every send is best effort: a lost notification must never take a gate down.
 */
import { createRequire } from 'node:module';

/** Where $NOTIFY_SOCKET points. */
export type NotifyAddress =
  | { kind: 'none' }
  | { kind: 'path'; path: string }
  /** "@name": Linux abstract namespace (the name without the leading NUL). */
  | { kind: 'abstract'; name: string }
  | { kind: 'unsupported'; value: string; reason: string };

/** sun_path holds 108 bytes including the terminating NUL. */
const SUN_PATH_MAX = 107;

export function parseNotifySocket(value: string | undefined): NotifyAddress {
  if (value === undefined || value === '') return { kind: 'none' };
  if (value.startsWith('@')) return { kind: 'abstract', name: value.slice(1) };
  if (value.startsWith('/')) {
    if (Buffer.byteLength(value) > SUN_PATH_MAX) return { kind: 'unsupported', value, reason: `path longer than ${SUN_PATH_MAX} bytes` };
    return { kind: 'path', path: value };
  }
  // systemd ≥ 254 may pass vsock:CID:PORT to a VM; a relative path is never valid.
  return { kind: 'unsupported', value, reason: value.startsWith('vsock') ? 'AF_VSOCK notify sockets are not supported' : 'not an absolute path or @abstract name' };
}

/** The fields we send. Numbers are sent as decimal text; STATUS is one line. */
export interface NotifyFields {
  READY?: 1;
  RELOADING?: 1;
  STOPPING?: 1;
  WATCHDOG?: 1;
  STATUS?: string;
  /** CLOCK_MONOTONIC in µs, which Type=notify-reload wants next to RELOADING=1. */
  MONOTONIC_USEC?: bigint;
}

/** STATUS is shown by `systemctl status` as one line: no newlines, and kept short. */
export const STATUS_MAX = 400;

export function statusText(text: string): string {
  const one = text.replace(/[\r\n\t]+/g, ' ').replace(/ {2,}/g, ' ').trim();
  return one.length > STATUS_MAX ? `${one.slice(0, STATUS_MAX - 1)}…` : one;
}

/** "READY=1\nSTATUS=…": state fields first, in a fixed order, then STATUS. */
export function formatNotify(fields: NotifyFields): string {
  const lines: string[] = [];
  for (const key of ['READY', 'RELOADING', 'STOPPING', 'WATCHDOG'] as const) if (fields[key] === 1) lines.push(`${key}=1`);
  if (fields.MONOTONIC_USEC !== undefined) lines.push(`MONOTONIC_USEC=${fields.MONOTONIC_USEC}`);
  if (fields.STATUS !== undefined) lines.push(`STATUS=${statusText(fields.STATUS)}`);
  return lines.join('\n');
}

export type WatchdogSettings = { enabled: true; usec: number; intervalMs: number } | { enabled: false; reason: string };

/**
 * The keep-alive interval from $WATCHDOG_USEC (set by systemd from WatchdogSec=): half of it,
 * as sd_watchdog_enabled(3) advises. $WATCHDOG_PID, when set, names the process meant: a child
 * that inherited the environment must not ping for its parent.
 */
export function watchdogSettings(env: NodeJS.ProcessEnv, pid: number): WatchdogSettings {
  const raw = env.WATCHDOG_USEC;
  if (raw === undefined || raw === '') return { enabled: false, reason: 'WATCHDOG_USEC not set' };
  if (!/^\d+$/.test(raw) || Number(raw) <= 0) return { enabled: false, reason: `WATCHDOG_USEC=${raw} is not a positive number of microseconds` };
  const wpid = env.WATCHDOG_PID;
  if (wpid !== undefined && wpid !== '' && Number(wpid) !== pid) return { enabled: false, reason: `WATCHDOG_PID=${wpid} is another process (this is ${pid})` };
  const usec = Number(raw);
  return { enabled: true, usec, intervalMs: Math.max(1, Math.floor(usec / 2000)) };
}

/** What the notifier logs: pino's Logger fits. */
export interface NotifyLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** One datagram socket to the service manager. */
export interface NotifyTransport {
  /** Calls back with an error (socket gone, congestion) or nothing. */
  send(message: Buffer, done: (err: Error | undefined) => void): void;
  close(): void;
}

export class NotifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotifyError';
  }
}

interface UnixDgramSocket {
  on(event: 'error', fn: (err: Error) => void): void;
  send(buf: Buffer, offset: number, length: number, path: string, cb: (err?: Error) => void): void;
  close(): void;
}
interface UnixDgramModule {
  createSocket(type: 'unix_dgram'): UnixDgramSocket;
}

/** The native module, loaded on first need; a failure names the fix. */
export function loadUnixDgram(): UnixDgramModule {
  try {
    return createRequire(import.meta.url)('unix-dgram') as UnixDgramModule;
  } catch (err) {
    const why = (err as Error).message.split('\n')[0];
    throw new NotifyError(
      `$NOTIFY_SOCKET is set (started by systemd with Type=notify) but the unix-dgram native module did not load (${why}); ` +
        'rebuild it for this Node and CPU: `npm rebuild unix-dgram` in the installed code folder (/opt/stile/current), or reinstall the package for this architecture',
    );
  }
}

/**
 * Sends through unix-dgram to a path, one socket per message: an open unix-dgram socket is a
 * referenced libuv handle (it polls for incoming datagrams) with no unref(), and would keep a
 * daemon whose inputs all closed from ever ending. A datagram is written by the time sendmsg
 * returns, so the socket is closed right after.
 */
export function unixDgramTransport(path: string, load: () => UnixDgramModule = loadUnixDgram): NotifyTransport {
  const unix = load();
  return {
    send: (message, done) => {
      const sock = unix.createSocket('unix_dgram');
      // unix-dgram emits 'error' only for a send without callback; this one has one.
      sock.on('error', () => {});
      try {
        sock.send(message, 0, message.length, path, (err) => done(err ?? undefined));
      } finally {
        sock.close();
      }
    },
    close: () => {},
  };
}

export interface NotifierOptions {
  log?: NotifyLog;
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Default process.pid (WATCHDOG_PID is compared with it). */
  pid?: number;
  /** Default: unix-dgram to the parsed $NOTIFY_SOCKET path. */
  transport?: (address: { kind: 'path'; path: string }) => NotifyTransport;
}

export interface Notifier {
  /** False when $NOTIFY_SOCKET is unset (or unusable): every call is then a no-op. */
  readonly enabled: boolean;
  /** READY=1, with a STATUS line when given. Call once everything the role needs is open. */
  ready(status?: string): void;
  /** STATUS=…; the same text twice in a row is sent once. */
  status(text: string): void;
  /** STOPPING=1: systemd then waits for the exit instead of calling the stop a crash. */
  stopping(status?: string): void;
  /** RELOADING=1 (with MONOTONIC_USEC); send ready() when the reload is done. */
  reloading(status?: string): void;
  /**
   * WATCHDOG=1 now and every WATCHDOG_USEC/2 from a timer on the event loop: a loop that
   * stalls stops the pings and systemd restarts the daemon. False when WatchdogSec= is off.
   */
  startWatchdog(): boolean;
  stopWatchdog(): void;
  /** Stops the watchdog and closes the socket. */
  close(): void;
}

const DISABLED: Notifier = {
  enabled: false,
  ready: () => {},
  status: () => {},
  stopping: () => {},
  reloading: () => {},
  startWatchdog: () => false,
  stopWatchdog: () => {},
  close: () => {},
};

/**
 * The daemon's line to systemd. A no-op when $NOTIFY_SOCKET is unset. Throws NotifyError
 * (one line naming the fix) only when the socket is set and unix-dgram cannot load: a unit
 * that waits for READY=1 would otherwise time out with no word of why.
 */
export function createNotifier(opts: NotifierOptions = {}): Notifier {
  const env = opts.env ?? process.env;
  const pid = opts.pid ?? process.pid;
  const log = opts.log;
  const address = parseNotifySocket(env.NOTIFY_SOCKET);
  if (address.kind === 'none') return DISABLED;
  if (address.kind !== 'path') {
    const why =
      address.kind === 'abstract'
        ? // unix-dgram copies the address with strncpy and passes sizeof(sockaddr_un) as its length, so a name starting with NUL cannot be reached (tested).
          `$NOTIFY_SOCKET=@${address.name} is an abstract socket, which the unix-dgram module cannot address; give the service manager a path socket (systemd uses /run/systemd/notify), or start the unit with Type=simple`
        : `$NOTIFY_SOCKET=${address.value}: ${address.reason}; start the unit with Type=simple or give it a path socket`;
    warn(log, { event: 'notify_unavailable', notifySocket: env.NOTIFY_SOCKET }, `cannot notify the service manager: ${why}`);
    return DISABLED;
  }
  const transport = (opts.transport ?? ((a) => unixDgramTransport(a.path)))(address);
  let lastStatus: string | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let closed = false;
  // One warning per kind of failure: a vanished socket must not write a line every 15 s.
  const failures = new Set<string>();

  const send = (fields: NotifyFields): void => {
    if (closed) return;
    const text = formatNotify(fields);
    try {
      transport.send(Buffer.from(text), (err) => {
        if (!err) return;
        const code = String((err as NodeJS.ErrnoException).code ?? err.message);
        if (failures.has(code)) return;
        failures.add(code);
        warn(log, { event: 'notify_failed', socket: address.path, err: err.message, message: text.split('\n')[0] }, 'could not notify the service manager (repeats of this failure are not logged)');
      });
    } catch (err) {
      warn(log, { event: 'notify_failed', socket: address.path, err: (err as Error).message }, 'could not notify the service manager');
    }
  };

  const api: Notifier = {
    enabled: true,
    ready(status) {
      if (status !== undefined) lastStatus = statusText(status);
      send({ READY: 1, ...(status !== undefined ? { STATUS: status } : {}) });
    },
    status(text) {
      const t = statusText(text);
      if (t === lastStatus) return;
      lastStatus = t;
      send({ STATUS: t });
    },
    stopping(status) {
      api.stopWatchdog();
      if (status !== undefined) lastStatus = statusText(status);
      send({ STOPPING: 1, ...(status !== undefined ? { STATUS: status } : {}) });
    },
    reloading(status) {
      const usec = process.hrtime.bigint() / 1000n;
      send({ RELOADING: 1, MONOTONIC_USEC: usec, ...(status !== undefined ? { STATUS: status } : {}) });
    },
    startWatchdog() {
      const s = watchdogSettings(env, pid);
      if (!s.enabled) {
        log?.debug({ event: 'watchdog_off', reason: s.reason }, 'systemd watchdog not in use');
        return false;
      }
      if (watchdog) return true;
      send({ WATCHDOG: 1 });
      // On the event loop on purpose (not a worker or a native timer): a loop blocked by a
      // runaway computation or a synchronous read on a dead device stops the pings.
      watchdog = setInterval(() => send({ WATCHDOG: 1 }), s.intervalMs);
      // The keep-alive alone must not keep a finished daemon running.
      watchdog.unref();
      return true;
    },
    stopWatchdog() {
      clearInterval(watchdog);
      watchdog = undefined;
    },
    close() {
      api.stopWatchdog();
      if (closed) return;
      closed = true;
      try {
        transport.close();
      } catch {
        // closing a socket the kernel already dropped: nothing to do
      }
    },
  };
  return api;
}

function warn(log: NotifyLog | undefined, obj: object, msg: string): void {
  if (log) log.warn(obj, msg);
  else process.stderr.write(`${msg}\n`);
}
