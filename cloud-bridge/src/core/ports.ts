import type { WhitelistChange, WhitelistDelta } from '@stile/config';
import type { Level } from './capacity-levels.js';
import type { Db } from './db/store.js';

/*
 * What one module offers another, as interfaces. The module that implements a port does not
 * know who uses it, the user does not know who implements it: bridge.ts passes the
 * implementation in. Events (core/events.ts) carry facts; ports answer questions and take
 * part in a caller's transaction.
 */

/**
 * The site's ticket whitelist as a ledger of signed, numbered deltas (implemented by the
 * whitelist module). Sales stage their changes inside their own transaction, then announce
 * after the commit, so a sale and its delta are stored together or not at all.
 */
export interface TicketLedger {
  /** Inside the caller's transaction: apply `changes` to the tickets and store them as the site's next signed delta. */
  stageChanges(db: Db, site: string, changes: WhitelistChange[], maxEntries?: ReadonlyMap<string, number>): Promise<WhitelistDelta>;
  /** After the commit: publish the site's unpublished deltas in order. Never rejects. */
  announce(delta: Pick<WhitelistDelta, 'site'>): Promise<void>;
}

/** Today's load of a site, as the capacity level is computed from it. */
export interface TodayLoad {
  date: string;
  /** Persons admitted today at all gates. */
  admitted: number;
  /** Persons sold for today through the channels. */
  soldToday: number;
  /** Sold for today, plus admissions on tickets that were not (walk-ins on offline kiosk tickets, multi-day tickets…). */
  load: number;
  entriesByHour: { hour: number; persons: number }[];
}

/** The capacity module's answers (dashboard, sales). */
export interface CapacityView {
  /** Today's shared level; undefined until the first refresh of the day. */
  level(site: string): Level | undefined;
  /** Load and level now (a dashboard's first model). */
  current(site: string): Promise<{ level: Level; load: TodayLoad } | undefined>;
}

/** The cloud's own health in words for staff: what stops the numbers moving. */
export type CloudHealth = () => Promise<{ ready: boolean; problems: string[] }>;
