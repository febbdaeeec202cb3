import type { StoredStatus } from './status-lines.js';

/** A heartbeat older than this means the daemon is gone (it writes one every 2 s). */
export const HEARTBEAT_STALE_MS = 15_000;

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface DaemonView {
  running: boolean;
  /** The daemon's last heartbeat (devices, sync, counters), running or not. */
  status: StoredStatus | null;
  stoppedAt: string | null;
  /** It stopped cleanly after its last start. */
  stoppedSinceStart: boolean;
}

/**
 * Is stile-gate running, and what did it last say? Read from the heartbeat it keeps in the
 * database's meta table (`gatectl status` and `gatectl doctor` both ask here): running means
 * not stopped since its start, its pid alive and a fresh heartbeat.
 */
export function daemonView(getMeta: (key: string) => string | undefined, now = Date.now(), alive: (pid: number) => boolean = pidAlive): DaemonView {
  const raw = getMeta('daemon_status');
  const status = raw ? (JSON.parse(raw) as StoredStatus) : null;
  const stoppedAt = getMeta('daemon_stopped_at') ?? null;
  // A clean stop writes a fresh heartbeat too, so a stop after this start means "not running".
  const stoppedSinceStart = status !== null && stoppedAt !== null && Date.parse(stoppedAt) >= Date.parse(status.startedAt);
  const running = status !== null && !stoppedSinceStart && alive(status.pid) && now - Date.parse(status.heartbeatAt) < HEARTBEAT_STALE_MS;
  return { running, status, stoppedAt, stoppedSinceStart };
}
