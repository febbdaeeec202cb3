/**
 * The product-insight panel (#19): a month's suggestions and three small charts (type mix,
 * refund reasons per week, admissions by hour against the previous period), from
 * GET /v1/staff/sites/{site}/insight/{YYYY-MM}. The full page and the CSV are fetched with the
 * header and shown from a blob: URL, like the daily reports.
 */
import { apiBase, errorText } from './api.js';
import type { Connection } from './connection.js';
import { $, byId, el, svgEl } from './dom.js';
import type { View } from './view.js';

type Text = { 'zh-CN': string; en: string };
/** What the panel reads of the insight report (the server's InsightReport has more). */
export interface InsightJson {
  period: { label: string };
  typeMix: { typeId: string; name: Text; revenueShare: number; orders: number }[];
  refundWeeks: string[];
  refundReasons: { reason: string; label: Text; count: number; byWeek: number[] }[];
  repeat: { rate: number | null };
  secondarySpend: { share: number | null };
  peakHours: { current: number[]; previous: number[] };
  suggestions: { metric: string; text: Text; note?: Text }[];
}

const COLORS = ['#1e6bd6', '#e8590c', '#2f9e44', '#ae3ec9', '#f59f00', '#1098ad'];
const pct = (v: number | null): string => (v === null ? '—' : `${Math.round(v * 100)} %`);

function isInsight(j: unknown): j is InsightJson {
  if (!j || typeof j !== 'object') return false;
  const o = j as Record<string, unknown>;
  return ['typeMix', 'refundWeeks', 'refundReasons', 'suggestions'].every((k) => Array.isArray(o[k])) && !!o.peakHours && !!o.secondarySpend && !!o.repeat;
}

export class InsightPanel {
  private data: InsightJson | null = null;
  private url: string | null = null;

  constructor(
    private readonly view: View,
    private readonly conn: Connection,
  ) {}

  private status(text: string): void {
    const n = $('insight-status');
    n.textContent = text;
    n.hidden = !text;
  }

  /** The month asked for, else the model's (the park's today). */
  private month(): string {
    const input = byId('insight-month', HTMLInputElement);
    if (!/^\d{4}-\d{2}$/.test(input.value) && this.view.model) input.value = this.view.model.date.slice(0, 7);
    return input.value;
  }

  /** Loads the month once a model has come (the first call), or again when asked. */
  load(force = false): void {
    if (this.data && !force) return;
    if (!this.conn.token) return;
    const month = this.month();
    if (!month) return;
    this.status(this.view.t('insightLoading'));
    fetch(`${apiBase(this.view.site)}/insight/${month}?format=json`, { headers: this.conn.headers(), cache: 'no-store' }).then(
      (res) => res.text().then((body) => {
        if (!res.ok) return this.status(errorText(this.view, res, body));
        const j: unknown = JSON.parse(body);
        if (!isInsight(j)) return this.status(this.view.t('requestFailed'));
        this.data = j;
        this.status('');
        this.render();
      }),
      () => this.status(this.view.t('networkError')),
    );
  }

  /** The month's page (HTML with charts) or CSV, from a blob: URL. */
  open(format: 'html' | 'csv'): void {
    if (!this.conn.token) return this.conn.unauthorized();
    const month = this.month();
    const win = format === 'html' ? window.open('', '_blank') : null;
    if (win) win.opener = null;
    fetch(`${apiBase(this.view.site)}/insight/${month}?format=${format}&lang=${encodeURIComponent(this.view.lang)}`, { headers: this.conn.headers({ Accept: format === 'csv' ? 'text/csv' : 'text/html' }), cache: 'no-store' }).then(
      (res): Promise<void> => {
        if (!res.ok) {
          win?.close();
          return res.text().then((body) => this.status(errorText(this.view, res, body)));
        }
        return res.blob().then((blob) => {
          if (this.url) URL.revokeObjectURL(this.url);
          this.url = URL.createObjectURL(blob);
          if (format === 'csv') {
            const a = el('a', { href: this.url, download: `${this.view.site}-insight-${month}.csv`, hidden: true });
            document.body.appendChild(a);
            a.click();
            a.remove();
          } else if (win) win.location.href = this.url;
        });
      },
      () => {
        win?.close();
        this.status(this.view.t('networkError'));
      },
    );
  }

  render(): void {
    const d = this.data;
    if (!d) return;
    const lang = this.view.lang;
    const items = d.suggestions.map((s) => el('li', { class: 'suggestion', 'data-metric': s.metric }, [s.text[lang], ...(s.note ? [' ', el('span', { class: 'note', text: `(${s.note[lang]})` })] : [])]));
    $('insight-suggestions').replaceChildren(...(items.length ? items : [el('li', { class: 'muted', text: this.view.t('insightNoSuggestions') })]));
    $('insight-spend').textContent = this.view.t('insightSpend', { v: pct(d.secondarySpend.share), r: pct(d.repeat.rate) });

    // Type mix: one bar per type, its share of revenue.
    const mix = $('insight-typemix');
    const rowH = 18;
    mix.setAttribute('viewBox', `0 0 480 ${Math.max(20, d.typeMix.length * rowH + 4)}`);
    mix.setAttribute('aria-label', d.typeMix.map((t) => `${t.name[lang]} ${pct(t.revenueShare)}`).join(', '));
    mix.replaceChildren(
      ...d.typeMix.flatMap((t, i) => [
        svgEl('text', { x: 118, y: i * rowH + 13, 'text-anchor': 'end' }, t.name[lang].slice(0, 22)),
        svgEl('rect', { class: 'ibar', 'data-type': t.typeId, x: 122, y: i * rowH + 4, width: Math.max(1, t.revenueShare * 300), height: rowH - 6, rx: 2 }),
        svgEl('text', { x: 126 + t.revenueShare * 300, y: i * rowH + 13 }, pct(t.revenueShare)),
      ]),
    );

    // Refund reasons: one line per reason across the weeks.
    const ref = $('insight-refunds');
    const max = Math.max(1, ...d.refundReasons.flatMap((r) => r.byWeek));
    const n = d.refundWeeks.length;
    const x = (i: number) => 20 + (n <= 1 ? 170 : (i * 340) / (n - 1));
    const y = (v: number) => 120 - (v / max) * 100;
    ref.setAttribute('aria-label', d.refundReasons.map((r) => `${r.label[lang]} ${r.count}`).join(', '));
    ref.replaceChildren(
      ...d.refundReasons.flatMap((r, k) => [
        svgEl('polyline', { class: 'iline', 'data-reason': r.reason, stroke: COLORS[k % COLORS.length]!, points: r.byWeek.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ') }),
        svgEl('text', { x: 370, y: 14 + k * 12, fill: COLORS[k % COLORS.length]! }, `${r.label[lang].slice(0, 18)} ${r.count}`),
      ]),
      ...d.refundWeeks.map((w, i) => svgEl('text', { x: x(i), y: 136, 'text-anchor': 'middle' }, n > 8 && i % 2 ? '' : w.slice(5))),
    );

    // Hours: shares of the period's admissions, this period against the previous.
    const hours = $('insight-hours');
    const share = (h: number[]) => {
      const total = h.reduce((a, b) => a + b, 0);
      return h.map((v) => (total > 0 ? v / total : 0));
    };
    const now = share(d.peakHours.current);
    const before = share(d.peakHours.previous);
    const top = Math.max(0.05, ...now, ...before);
    const bars: SVGElement[] = [];
    for (let h = 0; h < 24; h++) {
      const bh = (v: number) => (v / top) * 110;
      bars.push(svgEl('rect', { class: 'ibar', 'data-hour': h, x: h * 20 + 2, y: 120 - bh(now[h]!), width: 8, height: bh(now[h]!) }));
      bars.push(svgEl('rect', { class: 'ibar previous', 'data-hour': h, x: h * 20 + 10, y: 120 - bh(before[h]!), width: 8, height: bh(before[h]!) }));
      if (h % 3 === 0) bars.push(svgEl('text', { x: h * 20 + 10, y: 134, 'text-anchor': 'middle' }, String(h).padStart(2, '0')));
    }
    hours.setAttribute('aria-label', this.view.t('insightHours'));
    hours.replaceChildren(...bars);
  }
}
