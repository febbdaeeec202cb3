/** Recent alerts (in the page's language) and partition conflicts. */
import type { DashboardModel } from '../../../src/modules/dashboard/model.js';
import { $, el } from '../dom.js';
import type { View } from '../view.js';
import { isLevel } from './capacity.js';

export function renderAlerts(view: View, m: DashboardModel): void {
  const list = $('alerts');
  if (!m.alerts.length) {
    list.replaceChildren(el('li', { class: 'empty', text: view.t('none') }));
    return;
  }
  list.replaceChildren(
    ...m.alerts.map((a) => {
      const level = isLevel(a.level) ? a.level : null;
      const msg = a.message ?? { zh: '', en: '' };
      const text = view.lang === 'en' ? msg.en || msg.zh : msg.zh || msg.en;
      return el('li', { class: 'alert', 'data-level': level ?? 'none', 'data-kind': a.kind }, [
        el('span', { class: 'muted', text: view.fmtAt(a.at) }),
        el('span', { class: 'tag', text: level ? view.t(`levelShort_${level}`) : view.t('info') }),
        el('span', { class: 'msg', text: text || a.kind }),
      ]);
    }),
  );
}

export function renderConflicts(view: View, m: DashboardModel): void {
  const list = $('conflicts');
  if (!m.conflicts.length) {
    list.replaceChildren(el('li', { class: 'empty', text: view.t('none') }));
    return;
  }
  list.replaceChildren(
    el('li', { class: 'muted', text: view.t('conflictHead') }),
    ...m.conflicts.map((c) =>
      el('li', { class: 'conflict', 'data-ticket': c.ticketId }, [
        el('code', { text: c.ticketId }),
        ` · ${c.firstGate ?? '?'} → ${c.secondGate} · `,
        el('span', { class: 'muted', text: view.fmtAt(c.detectedAt) }),
      ]),
    ),
  );
}
