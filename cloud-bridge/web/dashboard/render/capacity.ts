/** The header (site, date, last update), the cloud-health banner and the capacity card. */
import type { DashboardModel, Level } from '../../../src/modules/dashboard/model.js';
import { $, byId, el, isDate } from '../dom.js';
import type { View } from '../view.js';

export const LEVELS: readonly Level[] = ['green', 'yellow', 'orange', 'red'];
export const isLevel = (v: unknown): v is Level => (LEVELS as readonly unknown[]).includes(v);

export function renderHeader(view: View, m: DashboardModel | null): void {
  // The park's name in the page's language, once the model has it; the site id until then.
  const name = (m?.siteName && m.siteName[view.lang]) || m?.site || view.site;
  $('site').textContent = name;
  document.title = `${view.t('title')} · ${name}`;
  $('date').textContent = m ? view.fmtDate(m.date) : '';
  const updated = $('updated');
  updated.textContent = m ? view.fmtAt(m.updatedAt) : '—';
  if (m?.updatedAt) updated.setAttribute('datetime', m.updatedAt);
  const rd = byId('report-date', HTMLInputElement);
  if (m && isDate(m.date)) {
    rd.max = m.date;
    if (!rd.value) rd.value = m.date;
  }
}

/** The cloud's own /healthz: numbers that stop moving must say why. */
export function renderCloud(view: View, m: DashboardModel): void {
  const box = $('cloud-health');
  const c = m.cloud;
  if (!c || c.ready !== false) {
    box.hidden = true;
    return;
  }
  box.replaceChildren(el('strong', { text: view.t('cloudUnhealthy') }), el('ul', {}, (c.problems ?? []).map((p) => el('li', { text: p }))));
  box.hidden = false;
}

export function renderCapacity(view: View, m: DashboardModel): void {
  const c = m.capacity;
  const level = isLevel(c.level) ? c.level : 'unknown';
  $('capacity').setAttribute('data-level', level);
  const { daily, load } = c;
  const admitted = $('admitted');
  admitted.textContent = String(c.admitted);
  admitted.setAttribute('data-value', String(c.admitted));
  $('daily').textContent = String(daily);
  $('level-name').textContent = view.t(`level_${level}`);
  $('load').textContent = `${load} / ${daily}`;
  $('percent').textContent = `${c.percent}%`;
  $('sold').textContent = String(c.soldToday);

  const th = c.thresholds;
  const frac = daily > 0 ? load / daily : 0;
  const scale = Math.max(1, th.red, Math.min(frac, 1.5));
  $('cap-fill').style.width = `${Math.max(0, Math.min(frac / scale, 1)) * 100}%`;
  const bar = $('cap-bar');
  bar.setAttribute('aria-valuenow', String(c.percent));
  bar.setAttribute('aria-valuemax', String(Math.round(scale * 100)));
  bar.setAttribute('aria-valuetext', `${c.percent}% · ${view.t(`level_${level}`)}`);
  const ticks = $('cap-ticks');
  ticks.replaceChildren();
  for (const name of ['yellow', 'orange', 'red'] as const) {
    const f = th[name];
    if (!Number.isFinite(f) || f <= 0) continue;
    const pos = Math.min(f / scale, 1) * 100;
    const pct = `${Math.round(f * 100)}%`;
    const tick = el('div', { class: 'tick' + (pos > 92 ? ' edge' : ''), 'data-threshold': name, title: `${view.t(`levelShort_${name}`)} ${pct}` }, [el('span', { text: pct })]);
    tick.style.left = `${pos}%`; // CSSOM, not a style attribute: allowed by the CSP
    ticks.appendChild(tick);
  }
}
