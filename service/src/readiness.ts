/**
 * When a daemon tells systemd READY=1, and what its STATUS= line says afterwards. The
 * role decides what "opened" means (gate: store and devices; cloud: subscriptions); this
 * module waits for it, sends READY once, starts the watchdog and keeps STATUS current.
 */
import type { Notifier } from './notify.js';

/** A device as the STATUS line sees it (gate-agent's DeviceHealth and the kiosk printer fit). */
export interface DeviceView {
  name: string;
  /** starting/unknown: not tried yet; ok/ready: working; anything else: a fault. */
  state: string;
  error?: string | undefined;
}

const UNTRIED = new Set(['starting', 'unknown']);
const WORKING = new Set(['ok', 'ready']);

/** Every device has been tried once (opened, or failed and now retrying). */
export function devicesSettled(devices: readonly DeviceView[]): boolean {
  return devices.every((d) => !UNTRIED.has(d.state));
}

const WORDS: Record<string, string> = { reconnecting: 'missing', disconnected: 'missing', wrong_mode: 'in the wrong mode', degraded: 'degraded', fault: 'fault', stopped: 'stopped', starting: 'not opened yet', unknown: 'not opened yet' };

/** "devices ok", or what is wrong with which device: "scanner-1 missing (ENOENT …); relay degraded". */
export function deviceSummary(devices: readonly DeviceView[]): string {
  const bad = devices.filter((d) => !WORKING.has(d.state));
  if (bad.length === 0) return devices.length === 0 ? 'no devices' : devices.length === 1 ? '1 device ok' : `${devices.length} devices ok`;
  return bad.map((d) => `${d.name} ${WORDS[d.state] ?? d.state}${d.error ? ` (${shorten(d.error, 60)})` : ''}`).join('; ');
}

function shorten(s: string, max: number): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

export interface SupervisionOptions {
  /** True once the role is ready (devices tried, subscriptions in place…). */
  isReady: () => boolean | Promise<boolean>;
  /** Give up waiting after this long and send READY anyway (default: wait forever). */
  readyTimeoutMs?: number;
  /** The STATUS line; sent with READY=1 and again whenever it changes. */
  status: () => string | Promise<string>;
  /** How often STATUS is recomputed (default 5 s). */
  refreshMs?: number;
  /** How often isReady is polled (default 25 ms). */
  pollMs?: number;
}

export interface Supervision {
  /** Resolves when READY=1 was sent (true) or the supervision stopped before (false). */
  readonly ready: Promise<boolean>;
  /** Before shutting down: no READY, no more STATUS refreshes (the caller sends STOPPING=1). */
  stop(): void;
}

/**
 * Wait until the role is ready, then READY=1 with the STATUS line, the watchdog, and a
 * STATUS refresh on a timer. With a disabled notifier (no $NOTIFY_SOCKET) nothing is polled.
 */
export function supervise(notifier: Notifier, opts: SupervisionOptions): Supervision {
  let stopped = false;
  let refresh: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  let settle!: (sent: boolean) => void;
  const ready = new Promise<boolean>((r) => (settle = r));
  const safeStatus = async (): Promise<string> => {
    try {
      return await opts.status();
    } catch (err) {
      // A status query must never stop READY or the watchdog: say what failed instead.
      return `status unavailable: ${(err as Error).message}`;
    }
  };
  const goReady = async (): Promise<void> => {
    const text = await safeStatus();
    if (stopped) return settle(false);
    notifier.ready(text);
    notifier.startWatchdog();
    refresh = setInterval(() => {
      void safeStatus().then((t) => {
        if (!stopped) notifier.status(t);
      });
    }, opts.refreshMs ?? 5000);
    refresh.unref();
    settle(true);
  };
  if (!notifier.enabled) {
    settle(false);
  } else {
    const deadline = opts.readyTimeoutMs === undefined ? Infinity : Date.now() + opts.readyTimeoutMs;
    const check = async (): Promise<void> => {
      if (stopped) return settle(false);
      let isReady: boolean;
      try {
        isReady = await opts.isReady();
      } catch {
        isReady = false;
      }
      if (stopped) return settle(false);
      if (isReady || Date.now() >= deadline) return goReady();
      poll = setTimeout(() => void check(), opts.pollMs ?? 25);
    };
    void check();
  }
  return {
    ready,
    stop() {
      stopped = true;
      clearTimeout(poll);
      clearInterval(refresh);
      settle(false);
    },
  };
}
