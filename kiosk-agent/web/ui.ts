/** What every screen renderer gets: the language, the two text tables, and a way to send a touch. */
import type { Lang } from '../src/sale/model.js';
import { saleText, type TextKey } from '../src/sale/text.js';
import type { ScreenInput } from '../src/screen/input.js';
import { screenText, type ScreenTextKey } from '../src/screen/text.js';

/** The ID typed on screen: kept in the page (never in the view model) until it is sent. */
export interface Entry {
  open: boolean;
  name: string;
  id: string;
}

export interface Ui {
  lang: Lang;
  entry: Entry;
  send(input: ScreenInput): void;
  /** Draw the screen again (the page's own state changed: the keypad). */
  redraw(): void;
}

export function t(ui: Ui, key: ScreenTextKey, vars?: Record<string, string | number>): string {
  return screenText(ui.lang, key, vars);
}

export function say(ui: Ui, n: { key: TextKey; vars?: Record<string, string | number> }): string {
  return saleText(ui.lang, n.key, n.vars);
}

/** A name in the page's language. */
export function local(ui: Ui, name: Record<Lang, string> | string): string {
  return typeof name === 'string' ? name : name[ui.lang];
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** 2026-05-01 → 5月1日 / 1 May. */
export function dateLabel(ui: Ui, date: string): string {
  const [, m, d] = date.split('-').map(Number) as [number, number, number];
  return ui.lang === 'en' ? `${d} ${MONTHS[m - 1]}` : `${m}月${d}日`;
}

/** 周四 / Thu, from the date alone (no time zone involved). */
export function weekday(ui: Ui, date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Intl.DateTimeFormat(ui.lang, { weekday: 'short', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, d)));
}
