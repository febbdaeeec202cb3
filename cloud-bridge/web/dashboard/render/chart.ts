/** Entries by hour: 24 bars in park time, the peak and the current hour marked, a text summary. */
import type { DashboardModel } from '../../../src/modules/dashboard/model.js';
import { $, el, hourLabel, pad2, svgEl } from '../dom.js';
import type { View } from '../view.js';

export function renderChart(view: View, m: DashboardModel): void {
  const t = view.t.bind(view);
  const svg = $('entries-chart');
  const persons: number[] = Array.from({ length: 24 }, () => 0);
  for (const b of m.entriesByHour) {
    if (Number.isInteger(b.hour) && b.hour >= 0 && b.hour < 24) persons[b.hour] = Number.isFinite(b.persons) ? b.persons : 0;
  }
  const max = Math.max(...persons);
  const total = persons.reduce((a, b) => a + b, 0);
  const peak = max > 0 ? persons.indexOf(max) : -1;
  const here = view.zoned(new Date());
  const nowHour = here.date === m.date ? here.hour : -1;
  const W = 20;
  const TOP = 16;
  const BOTTOM = 132;
  const H = BOTTOM - TOP;
  const nodes: SVGElement[] = [svgEl('line', { class: 'axis', x1: 0, x2: 24 * W, y1: BOTTOM + 0.5, y2: BOTTOM + 0.5 })];
  persons.forEach((p, hour) => {
    const cls = 'bar-g' + (hour === nowHour ? ' current' : '') + (hour === peak ? ' peak' : '');
    const bh = p > 0 ? Math.max(2, (p / Math.max(max, 1)) * H) : 0;
    const g = svgEl('g', { class: cls, 'data-hour': hour, 'data-persons': p });
    g.appendChild(svgEl('title', {}, t('hourTip', { from: hourLabel(hour), to: hourLabel((hour + 1) % 24), n: p })));
    g.appendChild(svgEl('rect', { class: 'hit', x: hour * W, y: 0, width: W, height: BOTTOM }));
    g.appendChild(svgEl('rect', { class: 'bar', x: hour * W + 3, y: BOTTOM - bh, width: W - 6, height: bh, rx: 2 }));
    if (hour === peak) g.appendChild(svgEl('text', { class: 'val', x: hour * W + W / 2, y: Math.max(10, BOTTOM - bh - 4), 'text-anchor': 'middle' }, p));
    nodes.push(g);
    const labelled = hour === nowHour || (hour % 6 === 0 && (nowHour < 0 || Math.abs(hour - nowHour) > 1));
    if (labelled) nodes.push(svgEl('text', { class: hour === nowHour ? 'now' : 'hour', x: hour * W + W / 2, y: BOTTOM + 16, 'text-anchor': 'middle' }, pad2(hour)));
  });
  svg.replaceChildren(...nodes);

  const peakText = peak >= 0 ? t('peak', { from: hourLabel(peak), to: hourLabel((peak + 1) % 24), n: max }) : null;
  const nowText = nowHour >= 0 ? t('now', { from: hourLabel(nowHour), to: hourLabel((nowHour + 1) % 24), n: persons[nowHour] ?? 0 }) : null;
  const totalText = total > 0 ? t('total', { n: total }) : t('noEntries');
  svg.setAttribute('aria-label', `${t('entriesByHour')}. ${[peakText, nowText, totalText].filter((x) => x !== null).join('; ')}`);
  const items: HTMLElement[] = [];
  if (peakText) items.push(el('span', {}, [el('span', { class: 'sw peak', 'aria-hidden': 'true' }), peakText]));
  if (nowText) items.push(el('span', {}, [el('span', { class: 'sw now', 'aria-hidden': 'true' }), nowText]));
  items.push(el('span', { text: totalText }));
  $('entries-summary').replaceChildren(...items);
}
