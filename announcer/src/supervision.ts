/**
 * The announcer under systemd (docs/supervision.md): READY=1 once it listens (connected and
 * subscribed to the site's announcements and capacity), or after BROKER_WAIT_MS without the
 * broker — a PA whose network comes up late must not be killed and restarted for it; it keeps
 * reconnecting and the STATUS= line says so.
 */
import { supervise, type Notifier, type Supervision } from '@stile/service';
import type { AnnouncerDaemon } from './daemon.js';

export const BROKER_WAIT_MS = 15_000;

export interface AnnouncerStatusFacts {
  connected: boolean;
  subscribed: boolean;
  lastError: string | null;
  level: string | null;
  holding: string | null;
  spoken: number;
  refused: number;
}

/** "listening; level orange (repeating); spoken 3; refused 0". */
export function announcerStatusLine(f: AnnouncerStatusFacts): string {
  const link = f.connected && f.subscribed ? 'listening' : f.connected ? 'connected, not subscribed' : 'broker unreachable';
  const why = !(f.connected && f.subscribed) && f.lastError ? ` (${f.lastError.slice(0, 80)})` : '';
  const level = `level ${f.level ?? 'not known yet'}${f.holding ? ' (repeating)' : ''}`;
  return `${link}${why}; ${level}; spoken ${f.spoken}; refused ${f.refused}`;
}

export function superviseAnnouncer(daemon: AnnouncerDaemon, notifier: Notifier, waitMs = BROKER_WAIT_MS): Supervision {
  return supervise(notifier, {
    isReady: () => daemon.status.connected && daemon.status.subscribed,
    readyTimeoutMs: waitMs,
    status: () =>
      announcerStatusLine({
        ...daemon.status,
        level: daemon.announcer.currentLevel,
        holding: daemon.announcer.holding,
        spoken: daemon.announcer.stats.spoken,
        refused: daemon.announcer.stats.refused,
      }),
  });
}
