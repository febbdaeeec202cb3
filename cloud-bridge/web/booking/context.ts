/** What every view of the page gets: the language, the texts, the site, the API, the flow state and a way to move it. */
import { bookText, refusalText, type BookTextKey } from '../../src/modules/booking/page-text.js';
import type { ApiError, BookApi } from './api.js';
import type { BrowserKind } from './client-env.js';
import type { FlowEvent, FlowState } from './flow.js';
import type { PageStore } from './store.js';
import type { OAuthError } from './wechat.js';
import type { Availability, BookInfo, Lang, LocalText } from './types.js';

export interface Visitor {
  name: string;
  idNumber: string;
}

export interface Ctx {
  site: string;
  lang: Lang;
  info: BookInfo;
  api: BookApi;
  store: PageStore;
  browser: BrowserKind;
  state: FlowState;
  /** Availability of state.draft.date, once loaded (null while loading or when it failed). */
  avail: Availability | null;
  visitors: Visitor[];
  /** The visitors step's optional coupon code and the separate marketing-consent box (unticked until the visitor ticks it). */
  extras: { couponCode: string; marketingConsent: boolean };
  /** The verified phone, masked, while the session lives. */
  phoneMasked: string | null;
  /** A per-attempt key: the same draft and visitors retried books once. */
  orderKey: string | null;
  /** Inside WeChat: the visitor's openid (from WeChat's web authorization), what went wrong getting it, and whether to open the sheet on arrival. */
  wechat: { openid: string | null; error: OAuthError | null; payOnArrival: boolean };
  dispatch(e: FlowEvent): void;
  /** Render the current step again (after a change of data). */
  rerender(): void;
  /** Load the availability of a date (and rerender). */
  loadAvailability(date: string): Promise<void>;
  /** A message for the visitor above the step (a refusal, or news); null clears it. */
  notice(text: string | null, kind?: 'error' | 'info'): void;
}

export function t(ctx: Pick<Ctx, 'lang'>, key: BookTextKey, vars?: Record<string, string | number>): string {
  return bookText(ctx.lang, key, vars);
}

export function local(ctx: Pick<Ctx, 'lang'>, text: LocalText | undefined): string {
  return text ? text[ctx.lang] : '';
}

/** A refusal as the visitor reads it; `visitor` (0-based) in the details names who it is about. */
export function refusal(ctx: Pick<Ctx, 'lang'>, err: ApiError): string {
  if (err.code === 'offline') return bookText(ctx.lang, 'offline');
  const v = typeof err.details.visitor === 'number' ? err.details.visitor : undefined;
  return refusalText(ctx.lang, err.code, v === undefined ? {} : { who: bookText(ctx.lang, 'visitorN', { n: v + 1 }) });
}

/** "3月10日 周三" / "Wed 10 Mar", from a YYYY-MM-DD (a calendar date: formatted in UTC). */
export function dateLabel(lang: Lang, date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const at = new Date(Date.UTC(y, m - 1, d));
  try {
    return new Intl.DateTimeFormat(lang, { timeZone: 'UTC', month: lang === 'en' ? 'short' : 'numeric', day: 'numeric', weekday: 'short' }).format(at);
  } catch {
    return date;
  }
}

/** "周三" / "Wed", and "3/10" / "10 Mar", of a YYYY-MM-DD: the two lines of a date button. */
export function dayParts(lang: Lang, date: string): { weekday: string; day: string } {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const at = new Date(Date.UTC(y, m - 1, d));
  try {
    return {
      weekday: new Intl.DateTimeFormat(lang, { timeZone: 'UTC', weekday: 'short' }).format(at),
      day: new Intl.DateTimeFormat(lang, { timeZone: 'UTC', month: lang === 'en' ? 'short' : 'numeric', day: 'numeric' }).format(at),
    };
  } catch {
    return { weekday: '', day: date.slice(5) };
  }
}

/** HH:MM in the park's time zone now (for slots of today that have ended). */
export function parkTimeNow(timeZone: string): string {
  try {
    const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date());
    const h = parts.find((p) => p.type === 'hour')?.value ?? '00';
    const m = parts.find((p) => p.type === 'minute')?.value ?? '00';
    return `${h}:${m}`;
  } catch {
    return '00:00';
  }
}

/** The date `n` days after a YYYY-MM-DD. */
export function addDays(date: string, n: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** A time of day from an ISO instant, in the park's zone ("10:45"). */
export function timeOf(iso: string, timeZone: string): string {
  try {
    return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
  } catch {
    return iso;
  }
}
