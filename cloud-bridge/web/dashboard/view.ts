/**
 * What every part of the page reads: the site, the language and the last model, with the
 * label lookup and the park-time formatting that depend on them.
 */
import type { DashboardModel } from '../../src/modules/dashboard/model.js';
import { dashboardText, type DashboardLang, type TextKey } from '../../src/modules/dashboard/text.js';
import { getItem, isDate } from './dom.js';

export const LS_LANG = 'stile.dashboard.lang';

function pickLang(fromServer: string | undefined): DashboardLang {
  const saved = getItem('local', LS_LANG);
  if (saved === 'zh-CN' || saved === 'en') return saved;
  if (fromServer === 'zh-CN' || fromServer === 'en') return fromServer;
  return String(navigator.language || '').toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

export class View {
  /** The site, from the page (`<body data-site>`), not from the model. */
  readonly site: string;
  lang: DashboardLang;
  model: DashboardModel | null = null;
  private fmtCache = new Map<string, Intl.DateTimeFormat>();

  constructor(body: HTMLElement) {
    this.site = body.dataset.site ?? '';
    this.lang = pickLang(body.dataset.lang);
  }

  t(key: TextKey, vars?: Record<string, string | number>): string {
    return dashboardText(this.lang, key, vars);
  }

  /** The park's time zone (the phone's own until the first model, or when the model's is unknown). */
  private tz(): string | undefined {
    return this.model?.timeZone || undefined;
  }

  private formatter(key: string, options: Intl.DateTimeFormatOptions, locale: string = this.lang): Intl.DateTimeFormat {
    const k = `${key}|${locale}|${this.tz() ?? ''}`;
    let f = this.fmtCache.get(k);
    if (!f) {
      try {
        f = new Intl.DateTimeFormat(locale, { timeZone: this.tz(), ...options });
      } catch {
        f = new Intl.DateTimeFormat(locale, options); // unknown time zone: the phone's own
      }
      this.fmtCache.set(k, f);
    }
    return f;
  }

  /** A moment as the park's local date and hour. */
  zoned(d: Date): { date: string; hour: number } {
    try {
      const o: Partial<Record<Intl.DateTimeFormatPartTypes, string>> = {};
      for (const p of this.formatter('parts', { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' }, 'en-US').formatToParts(d)) o[p.type] = p.value;
      const date = `${o.year}-${o.month}-${o.day}`;
      return { date: isDate(date) ? date : '', hour: Number(o.hour) % 24 };
    } catch {
      return { date: '', hour: d.getHours() };
    }
  }

  /** A model timestamp as park-local time; with the date when it is not the model's day. */
  fmtAt(iso: string | null | undefined): string {
    if (!iso) return '—';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    const sameDay = this.model !== null && this.zoned(d).date === this.model.date;
    const f = sameDay
      ? this.formatter('time', { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
      : this.formatter('datetime', { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    return f.format(d);
  }

  /** "12 min ago" once a timestamp is two minutes old or more. */
  ageText(iso: string): string {
    const ms = Date.now() - new Date(iso).getTime();
    if (!Number.isFinite(ms) || ms < 120_000) return '';
    return this.t('minutesAgo', { n: Math.floor(ms / 60_000) });
  }

  /** YYYY-MM-DD as the long local date with the weekday. */
  fmtDate(date: string): string {
    if (!isDate(date)) return date;
    try {
      return new Intl.DateTimeFormat(this.lang, { timeZone: 'UTC', year: 'numeric', month: 'long', day: 'numeric', weekday: 'short' }).format(new Date(`${date}T00:00:00Z`));
    } catch {
      return date;
    }
  }
}

