/** Daily reports: fetched with the header and shown from a blob: URL (a link would need the token in it). */
import { apiBase, errorText } from './api.js';
import type { Connection } from './connection.js';
import { $, byId, el, isDate } from './dom.js';
import type { View } from './view.js';

export class Reports {
  private url: string | null = null;

  constructor(
    private readonly view: View,
    private readonly conn: Connection,
  ) {}

  private status(text: string): void {
    const n = $('report-status');
    n.textContent = text;
    n.hidden = !text;
  }

  open(format: 'html' | 'csv'): void {
    if (!this.conn.token) return this.conn.unauthorized();
    const input = byId('report-date', HTMLInputElement);
    const date = input.value || this.view.model?.date || '';
    if (!isDate(date)) {
      input.focus();
      return;
    }
    // Opened now, inside the click, so it is not a blocked popup; the report goes into it when it arrives.
    const win = format === 'html' ? window.open('', '_blank') : null;
    if (win) win.opener = null;
    this.status(this.view.t('reportLoading'));
    const site = this.view.site;
    fetch(`${apiBase(site)}/reports/${date}?format=${format}&lang=${encodeURIComponent(this.view.lang)}`, {
      headers: this.conn.headers({ Accept: format === 'csv' ? 'text/csv' : 'text/html' }),
      cache: 'no-store',
    }).then(
      (res): Promise<void> => {
        if (!res.ok) {
          win?.close();
          if (res.status === 401) this.conn.unauthorized();
          return res.text().then((body) => this.status(errorText(this.view, res, body)));
        }
        return res.blob().then((blob) => {
          const url = URL.createObjectURL(blob);
          this.status('');
          if (format === 'csv') {
            const a = el('a', { href: url, download: `${site}-${date}.csv`, hidden: true });
            document.body.appendChild(a);
            a.click();
            a.remove();
            setTimeout(() => URL.revokeObjectURL(url), 60_000);
            return;
          }
          if (this.url) URL.revokeObjectURL(this.url);
          this.url = url;
          const link = byId('report-link', HTMLAnchorElement);
          link.href = url;
          link.setAttribute('data-date', date);
          link.hidden = false;
          if (win) win.location.href = url;
        });
      },
      () => {
        win?.close();
        this.status(this.view.t('networkError'));
      },
    );
  }
}
