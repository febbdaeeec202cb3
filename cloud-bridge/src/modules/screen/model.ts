/**
 * What the public entrance screen shows for one site (GET /screen/{site}/model, pushed over
 * GET /screen/{site}/stream). Public: nothing in it names a visitor, a ticket or a member of
 * staff — counts, the level, the slots of the catalogue and the announcement text only.
 *
 * Pure types: the browser code (web/screen) is type-checked against this file.
 */
export type Level = 'green' | 'yellow' | 'orange' | 'red';

/**
 * A time slot today: `open` (places left), `soldOut` (none left, or the park is at red),
 * `closed` (quota 0 in the catalogue) or `over` (its end plus the late grace has passed:
 * nobody sells it any more).
 */
export type SlotState = 'open' | 'soldOut' | 'closed' | 'over';

export interface ScreenSlot {
  id: string;
  /** "HH:MM", park time. */
  start: string;
  end: string;
  /** The slot's name from the catalogue ("上午场" / "Morning"), when it has one; else the times name it. */
  name?: { zh: string; en: string };
  /** Places the ticket window can still sell in this slot (0 unless `open`). */
  remaining: number;
  state: SlotState;
}

export interface ScreenModel {
  site: string;
  /** The park's name from the catalogue in both languages (the site id in both when it has none). */
  siteName: { zh: string; en: string };
  /** The park's local date, YYYY-MM-DD. */
  date: string;
  timeZone: string;
  /** The published capacity level (what the announcements and sales follow). */
  level: Level;
  /**
   * Places still on sale for today: what the ticket window (the kiosk channel, which sells
   * up to the red line) can sell — the day's limit less what is sold or held, and with time
   * slots the sum over the slots still open. 0 at red. One place is one person.
   */
  remaining: number;
  /** False at red (nobody sells) and when nothing is left. */
  salesOpen: boolean;
  /** The catalogue's time slots in order; empty for a park without slots. */
  slots: ScreenSlot[];
  /**
   * Persons admitted today at all gates, less those the passage sensor saw not walk through.
   * The gates report no exits, so this counts today's entries, not who is inside right now.
   */
  admittedToday: number;
  /** The park's daily capacity in persons (its published maximum). */
  capacity: number;
  /** The announcement of the current level (the site's texts, {count}/{percent} filled in). */
  announcement: { zh: string; en: string };
  /** When the server built this model (ISO, server clock). */
  updatedAt: string;
}
