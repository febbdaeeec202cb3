/** Gates: online or not, the gate's state, outbox depth, last status and each device. */
import type { DashboardModel } from '../../../src/modules/dashboard/model.js';
import { isTextKey } from '../../../src/modules/dashboard/text.js';
import { $, el } from '../dom.js';
import type { View } from '../view.js';

/** A state word from a gate or device, in the page's language when it is one we know. */
function stateWord(view: View, prefix: 'gateState_' | 'deviceState_', word: string): string {
  const key = prefix + word;
  return isTextKey(key) ? view.t(key) : word;
}

export function renderGates(view: View, m: DashboardModel): void {
  const list = $('gates');
  if (!m.gates.length) {
    list.replaceChildren(el('li', { class: 'empty', text: view.t('none') }));
    return;
  }
  list.replaceChildren(
    ...m.gates.map((g) => {
      const online = g.online === true;
      const devices = g.devices ?? {};
      const names = Object.keys(devices);
      const bad = names.filter((n) => devices[n] !== 'ok');
      const outbox = g.outboxDepth === null ? '—' : String(g.outboxDepth);
      const age = g.statusAt ? view.ageText(g.statusAt) : '';
      return el('li', { class: online ? 'online' : 'offline', 'data-gate': g.gate, 'data-online': String(online), 'data-bad-devices': String(bad.length) }, [
        el('div', { class: 'gate-head' }, [
          el('span', { class: 'dot ' + (online ? 'on' : 'off'), 'aria-hidden': 'true' }),
          el('span', { class: 'gate-name', text: g.gate }),
          el('span', { class: 'online-text', text: view.t(online ? 'online' : 'offline') }),
          el('span', { class: 'gate-state', 'data-field': 'state', 'data-state': g.state ?? '' }, [view.t('gateState') + ': ', el('strong', { text: g.state === null ? '—' : stateWord(view, 'gateState_', g.state) })]),
        ]),
        el('div', { class: 'meta-line muted' }, [
          el('span', { 'data-field': 'outbox', class: (g.outboxDepth ?? 0) > 0 ? 'warn-text' : null, text: `${view.t('outbox')}: ${outbox}` }),
          el('span', { 'data-field': 'statusAt', text: `${view.t('statusAt')}: ${view.fmtAt(g.statusAt)}${age ? ` (${age})` : ''}` }),
        ]),
        names.length
          ? el(
              'ul',
              { class: 'devices', 'aria-label': view.t('devices') },
              names.map((n) => {
                const state = String(devices[n]);
                return el('li', { class: 'device' + (state !== 'ok' ? ' bad' : ''), 'data-device': n, 'data-state': state, text: `${n}: ${stateWord(view, 'deviceState_', state)}` });
              }),
            )
          : el('div', { class: 'muted', text: `${view.t('devices')}: ${view.t('noDevices')}` }),
      ]);
    }),
  );
}
