/**
 * Daily capacity: the pure core. No I/O, no clock; callers pass the load (persons admitted
 * today + persons sold for today and not yet admitted) and get levels, sales decisions,
 * announcement texts and message payloads back.
 */
import { z } from 'zod';
import { CAPACITY_LEVELS, topics, type AnnounceMessage, type CapacityMessage } from '@stile/config';
import { CloudError } from './errors.js';

export type Level = (typeof CAPACITY_LEVELS)[number];
const RANK: Record<Level, number> = { green: 0, yellow: 1, orange: 2, red: 3 };

const LocalizedTextSchema = z
  .object({ zh: z.string().min(1, 'expected the Chinese text'), en: z.string().min(1, 'expected the English text') })
  .strict();
export type LocalizedText = z.infer<typeof LocalizedTextSchema>;

/** Texts may use {count}, {capacity} and {percent}; renderAnnouncement fills them in. */
export const DEFAULT_ANNOUNCEMENTS: Readonly<Record<Level, LocalizedText>> = {
  green: { zh: '今日入园人数正常，欢迎游览。', en: 'Visitor numbers are normal today. Welcome!' },
  yellow: {
    zh: '今日游客较多，已达最大承载量的 {percent}%，即将满员，请合理安排游览。',
    en: 'The park is almost full today ({percent}% of capacity). Please plan your visit.',
  },
  orange: {
    zh: '今日游客已达最大承载量的 {percent}%，线上售票已暂停，现场窗口限量售票。',
    en: 'The park is nearly full ({percent}% of capacity). Online sales are paused; a limited number of tickets is sold on site.',
  },
  // Sales stop at red; the gates keep admitting visitors who hold a ticket for today.
  red: {
    zh: '今日游客已满，已停止售票；持今日门票的游客仍可凭票入园。',
    en: 'The park is full for today: ticket sales have stopped. Visitors with a ticket for today can still enter.',
  },
};

const fraction = (name: string, dflt: number) =>
  z
    .number({ error: `${name} must be a number (a fraction of daily, e.g. ${dflt})` })
    .gt(0, `${name} must be above 0 (a fraction of daily, e.g. ${dflt})`)
    .max(1, `${name} must be at most 1 (100% of daily)`)
    .default(dflt);

export const CapacityConfigSchema = z
  .object({
    /** The park's maximum visitors per day, in persons. */
    daily: z.number({ error: 'daily must be a whole number of persons' }).int('daily must be a whole number of persons').min(1, 'daily must be at least 1 person'),
    yellow: fraction('yellow', 0.7),
    orange: fraction('orange', 0.85),
    red: fraction('red', 1.0),
    /** Persons online channels never sell into, kept for the on-site kiosk. Default: 5% of daily. */
    kioskReserve: z.number().int('kioskReserve must be a whole number of persons').min(0, 'kioskReserve must not be negative').optional(),
    announcements: z
      .object({
        green: LocalizedTextSchema.default(DEFAULT_ANNOUNCEMENTS.green),
        yellow: LocalizedTextSchema.default(DEFAULT_ANNOUNCEMENTS.yellow),
        orange: LocalizedTextSchema.default(DEFAULT_ANNOUNCEMENTS.orange),
        red: LocalizedTextSchema.default(DEFAULT_ANNOUNCEMENTS.red),
      })
      .strict()
      .default({ ...DEFAULT_ANNOUNCEMENTS }),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.orange <= c.yellow) ctx.addIssue({ code: 'custom', path: ['orange'], message: `orange (${c.orange}) must be above yellow (${c.yellow})` });
    if (c.red <= c.orange) ctx.addIssue({ code: 'custom', path: ['red'], message: `red (${c.red}) must be above orange (${c.orange})` });
    if (c.kioskReserve !== undefined && Number.isInteger(c.daily) && c.kioskReserve > c.daily) {
      ctx.addIssue({ code: 'custom', path: ['kioskReserve'], message: `kioskReserve (${c.kioskReserve}) must not exceed daily (${c.daily})` });
    }
  })
  .transform((c) => ({ ...c, kioskReserve: c.kioskReserve ?? Math.round(c.daily * 0.05) }));
export type CapacityConfig = z.output<typeof CapacityConfigSchema>;
export type CapacityConfigInput = z.input<typeof CapacityConfigSchema>;

/**
 * What the functions below need. A parsed CapacityConfig fits; so does a bare
 * { daily, yellow, orange } from elsewhere, with the schema's defaults for the rest.
 */
export interface CapacityLimits {
  daily: number;
  yellow: number;
  orange: number;
  red?: number;
  kioskReserve?: number;
  announcements?: Partial<Record<Level, LocalizedText>>;
}
const reserveOf = (cfg: CapacityLimits) => cfg.kioskReserve ?? Math.round(cfg.daily * 0.05);

/**
 * A fraction of daily as the first whole person at or above it. Rounded to 1e-6 first so
 * float noise (0.07 * 100 = 7.000000000000001) does not move a threshold by one person.
 */
function persons(fraction: number, daily: number): number {
  return Math.ceil(Math.round(fraction * daily * 1e6) / 1e6);
}

/** The thresholds in persons; red never exceeds daily because red ≤ 1. */
export function thresholds(cfg: CapacityLimits): { yellow: number; orange: number; red: number } {
  return { yellow: persons(cfg.yellow, cfg.daily), orange: persons(cfg.orange, cfg.daily), red: persons(cfg.red ?? 1, cfg.daily) };
}

/** The level for a load, without hysteresis (see nextCapacityState for the published one). */
export function levelFor(load: number, cfg: CapacityLimits): Level {
  const t = thresholds(cfg);
  if (load >= t.red) return 'red';
  if (load >= t.orange) return 'orange';
  if (load >= t.yellow) return 'yellow';
  return 'green';
}

/** Integer percent of capacity, rounded down so it never shows 70 while the park is still green. */
export function percentOf(count: number, capacity: number): number {
  return Math.max(0, Math.floor((count * 100) / capacity + 1e-9));
}

export type SalesRefusal = 'capacity_orange' | 'capacity_red' | 'capacity_exceeded' | 'kiosk_reserve_exhausted';
export type SalesDecision = { ok: true; almostFull: boolean } | { ok: false; reason: SalesRefusal };

export interface SalesRequest {
  /** Persons admitted today + persons sold for today not yet admitted. */
  load: number;
  /**
   * The published level (after hysteresis), when the caller has it. Sales follow the
   * higher of it and levelFor(load), so channels never sell while the park announces
   * "online paused" / "sales closed" during a hysteresis band.
   */
  level?: Level;
  channelKind: 'online' | 'kiosk';
  requestedPersons: number;
}

/**
 * Whether a channel may sell `requestedPersons` now. With Y, O, R the yellow, orange and
 * red thresholds in persons (R = daily at the default red = 1.0) and after = load + requested:
 *
 *  1. Nobody sells at red (current level red)                          → capacity_red
 *  2. Nobody sells past the red line: after > R                         → capacity_exceeded
 *     (R, not daily, so a site that sets red < 1 really stops there.)
 *  3. Online stops at orange: current level orange, or after ≥ O        → capacity_orange
 *     An online order never itself moves the park into orange: the last online ticket
 *     is the one that makes the load O − 1.
 *  4. Online never sells into the kiosk reserve: after > R − kioskReserve
 *                                                                       → kiosk_reserve_exhausted
 *     With the defaults (O = 85%, reserve 5%) rule 3 binds first and the kiosk keeps the
 *     whole 85–100% band; the reserve matters when a site sets orange close to red.
 *  5. The kiosk sells at green, yellow and orange while after ≤ R (rule 2).
 *
 * almostFull: the park is at yellow or above once this order is counted (what the
 * availability display should say after the sale).
 */
/**
 * The most persons a channel kind may have sold for one day under the rules below (2–4):
 * the single number the store's atomic oversell guard checks (`sold + n <= limit`).
 */
export function sellLimit(cfg: CapacityLimits, channelKind: 'online' | 'kiosk'): number {
  const t = thresholds(cfg);
  return channelKind === 'online' ? Math.max(0, Math.min(t.orange - 1, t.red - reserveOf(cfg))) : t.red;
}

export function salesDecision(cfg: CapacityLimits, req: SalesRequest): SalesDecision {
  const { load, channelKind, requestedPersons } = req;
  if (!Number.isInteger(requestedPersons) || requestedPersons < 1) throw new CloudError('invalid_request', `requestedPersons must be a whole number ≥ 1, got ${requestedPersons}`);
  const t = thresholds(cfg);
  const computed = levelFor(load, cfg);
  const level = req.level !== undefined && RANK[req.level] > RANK[computed] ? req.level : computed;
  const after = load + requestedPersons;
  if (level === 'red') return { ok: false, reason: 'capacity_red' };
  if (after > t.red) return { ok: false, reason: 'capacity_exceeded' };
  if (channelKind === 'online') {
    if (level === 'orange' || after >= t.orange) return { ok: false, reason: 'capacity_orange' };
    if (after > t.red - reserveOf(cfg)) return { ok: false, reason: 'kiosk_reserve_exhausted' };
  }
  return { ok: true, almostFull: levelFor(after, cfg) !== 'green' };
}

/** The PA / e-screen text for a level with {count}, {capacity} and {percent} filled in. */
export function renderAnnouncement(cfg: CapacityLimits, level: Level, v: { count: number; capacity: number }): LocalizedText {
  const values: Record<string, string> = { count: String(v.count), capacity: String(v.capacity), percent: String(percentOf(v.count, v.capacity)) };
  // Unknown placeholders stay as written so a typo is visible on the screen, not silently blank.
  const fill = (s: string) => s.replace(/\{(count|capacity|percent)\}/g, (_m, k: string) => values[k]!);
  const text = cfg.announcements?.[level] ?? DEFAULT_ANNOUNCEMENTS[level];
  return { zh: fill(text.zh), en: fill(text.en) };
}

export interface CapacityState {
  level: Level;
  /** The site's local date, YYYY-MM-DD. */
  date: string;
}

/**
 * The published level for (site, date).
 * - No previous state, or a new date: the computed level, counted as a change (each day's
 *   retained message and announcement start fresh).
 * - An input dated before the state's date is stale (a late recount): ignored.
 * - Up: immediately, as soon as the load reaches a threshold.
 * - Down (refunds, not-passed entries): only once the load is below the threshold of the
 *   current level minus 1% of daily, so a load oscillating by one person around a
 *   threshold does not flap announcements. A big drop can skip levels; each lower level
 *   is reached only with the same margin below its own upper threshold.
 */
export function nextCapacityState(prev: CapacityState | null, input: { load: number; date: string }, cfg: CapacityLimits): { level: Level; changed: boolean } {
  const raw = levelFor(input.load, cfg);
  if (prev === null || input.date > prev.date) return { level: raw, changed: true };
  if (input.date < prev.date) return { level: prev.level, changed: false };
  if (RANK[raw] >= RANK[prev.level]) return { level: raw, changed: raw !== prev.level };
  const margin = cfg.daily * 0.01;
  const t = thresholds(cfg);
  // The level the load would have if each threshold were `margin` lower: still "at" a level until well below it.
  const sticky: Level = input.load >= t.red - margin ? 'red' : input.load >= t.orange - margin ? 'orange' : input.load >= t.yellow - margin ? 'yellow' : 'green';
  const level = RANK[sticky] < RANK[prev.level] ? sticky : prev.level;
  return { level, changed: level !== prev.level };
}

/** Namespace-style access: CapacityState.next(prev, input, cfg). */
export const CapacityState = { next: nextCapacityState } as const;
/** Alias of nextCapacityState (the name the capacity monitor uses). */
export const nextLevel = nextCapacityState;

// The message contracts live with the other MQTT messages in @stile/config.
export { CapacityMessageSchema, AnnounceMessageSchema as AnnouncementMessageSchema } from '@stile/config';
export type { CapacityMessage, AnnounceMessage as AnnouncementMessage } from '@stile/config';

export const capacityTopic = (site: string): string => topics.capacity(site);
export const announceTopic = (site: string): string => topics.announce(site);

/** The retained capacity payload for a site's state, before the control-key signature. */
export function capacityMessage(cfg: CapacityLimits, site: string, state: CapacityState, load: number, at: Date): Omit<CapacityMessage, 'sig'> {
  return { v: 1, site, date: state.date, level: state.level, load, capacity: cfg.daily, percent: percentOf(load, cfg.daily), at: at.toISOString() };
}

/** The announcement payload for a level change, before the control-key signature. */
export function announcementMessage(cfg: CapacityLimits, site: string, level: Level, load: number, at: Date): Omit<AnnounceMessage, 'sig'> {
  return { v: 1, site, level, text: renderAnnouncement(cfg, level, { count: load, capacity: cfg.daily }), at: at.toISOString() };
}
