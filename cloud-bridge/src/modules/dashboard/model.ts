/** What the staff dashboard shows for one site; served as JSON and pushed over SSE on every change. */
export type Level = 'green' | 'yellow' | 'orange' | 'red';

/** A catalogue name in both languages; the page shows the one it is in. */
export type Names = { 'zh-CN': string; en: string };

export interface DashboardModel {
  site: string;
  /** The park's name (the site id in both languages when the catalogue has none). */
  siteName: Names;
  /** The park's local date, YYYY-MM-DD. */
  date: string;
  timeZone: string;
  capacity: {
    daily: number;
    /** admitted + sold for today and not yet admitted */
    load: number;
    /** persons admitted today (all gates) */
    admitted: number;
    /** persons sold for today (all channels) */
    soldToday: number;
    /** load / daily × 100, rounded */
    percent: number;
    level: Level;
    /** the thresholds as fractions, for drawing the bar */
    thresholds: { yellow: number; orange: number; red: number };
  };
  gates: {
    gate: string;
    online: boolean;
    /** the gate's own state word (e.g. 'running', 'offline', 'locked') or null */
    state: string | null;
    outboxDepth: number | null;
    /** device name → state word, e.g. { scanner: 'ok', relay: 'ok', idReader: 'reconnecting' } */
    devices: Record<string, string>;
    statusAt: string | null;
  }[];
  /** `name`: zh-CN (or the id); `names`: both, when the catalogue names the channel. */
  channels: { id: string; name: string; names?: Names; kind: 'online' | 'kiosk'; paused: boolean; by: string | null; reason: string | null; at: string | null }[];
  /** 24 buckets in the park's local time */
  entriesByHour: { hour: number; persons: number }[];
  /** newest first, at most 20 */
  alerts: { at: string; kind: string; level?: Level; message: { zh: string; en: string } }[];
  /** newest first, at most 20 */
  conflicts: { ticketId: string; firstGate: string | null; secondGate: string; detectedAt: string }[];
  /**
   * The cloud's own health (what /healthz says): staff must know when numbers stop moving
   * because the cloud lost its broker subscriptions or its store refuses writes.
   */
  cloud: { ready: boolean; problems: string[] };
  updatedAt: string;
}
