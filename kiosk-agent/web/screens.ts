/**
 * One body per screen of the view model (src/screen/view.ts): what to touch, the numbers that
 * matter in large type, and a CSS illustration of the part of the machine the step uses (the
 * ID reader, the note slot, the scanner window, the ticket slot) — no images.
 */
import type { ScreenId, ScreenView } from '../src/screen/view.js';
import { button, el, type Child } from './dom.js';
import { idEntry } from './id-entry.js';
import { qrSvg } from './qr.js';
import { dateLabel, local, say, t, weekday, type Ui } from './ui.js';

type Render = (ui: Ui, v: ScreenView) => Child[];

/** A drawing of a part of the machine, in CSS (kiosk.css `.art-*`). */
function art(kind: 'touch' | 'card' | 'note' | 'coins' | 'phone' | 'qr' | 'ticket' | 'wait' | 'fault'): HTMLElement {
  return el('div', { class: `art art-${kind}`, 'aria-hidden': 'true' }, [el('span', { class: 'art-a' }), el('span', { class: 'art-b' }), el('span', { class: 'art-c' })]);
}

function guide(ui: Ui, v: ScreenView): HTMLElement {
  return el('p', { class: 'guide', id: 'guide', text: t(ui, v.guide) });
}

function orderSummary(ui: Ui, v: ScreenView): HTMLElement | null {
  const o = v.order;
  if (!o) return null;
  const row = (k: string, val: string, cls = '') => el('div', { class: `row ${cls}` }, [el('dt', { text: k }), el('dd', { text: val })]);
  return el('dl', { class: 'order' }, [
    o.type ? row(t(ui, 'ticket_type'), local(ui, o.type)) : null,
    row(t(ui, 'visit_date'), dateLabel(ui, o.date) + (o.slot ? ` · ${local(ui, o.slot)}` : '')),
    row(t(ui, 'count'), `${o.count} · ${t(ui, 'persons_total', { persons: o.persons })}`),
    row(t(ui, 'total'), o.total, 'total'),
  ]);
}

const welcome: Render = (ui, v) => {
  if (v.outOfService) return [art('fault'), guide(ui, v)];
  return [button(t(ui, 'start'), () => ui.send({ kind: 'start' }), { id: 'start', class: 'start' }, [art('touch'), el('span', { class: 'start-label', text: t(ui, 'start') })]), guide(ui, v)];
};

const choose: Render = (ui, v) => {
  const c = v.choose;
  if (!c) return [guide(ui, v)];
  const pressed = (on: boolean) => (on ? 'true' : 'false');
  const types = el(
    'div',
    { class: 'types', role: 'group', 'aria-label': t(ui, 'ticket_type') },
    c.types.map((tp) =>
      button(local(ui, tp.name), () => ui.send({ kind: 'choose_type', typeId: tp.id }), { class: 'card-choice', 'data-type': tp.id, 'aria-pressed': pressed(tp.id === c.typeId) }, [
        el('span', { class: 'choice-name', text: local(ui, tp.name) }),
        el('span', { class: 'choice-price', text: tp.price }),
        tp.persons > 1 ? el('span', { class: 'choice-sub', text: t(ui, 'per_person', { persons: tp.persons }) }) : null,
      ]),
    ),
  );
  const dates = el(
    'div',
    { class: 'chips', role: 'group', 'aria-label': t(ui, 'visit_date') },
    c.dates.map((d, i) =>
      button(d, () => ui.send({ kind: 'choose_date', date: d }), { class: 'chip', 'data-date': d, 'aria-pressed': pressed(d === c.date) }, [
        el('span', { class: 'chip-top', text: i === 0 ? t(ui, 'today') : i === 1 ? t(ui, 'tomorrow') : weekday(ui, d) }),
        el('span', { class: 'chip-sub', text: dateLabel(ui, d) }),
      ]),
    ),
  );
  const slots =
    c.slots.length > 0
      ? el(
          'div',
          { class: 'chips', role: 'group', 'aria-label': t(ui, 'slot') },
          c.slots.map((s) =>
            button(local(ui, s.name), () => ui.send({ kind: 'choose_slot', slotId: s.id }), { class: 'chip', 'data-slot': s.id, 'aria-pressed': pressed(s.id === c.slotId), disabled: s.remaining === 0 }, [
              el('span', { class: 'chip-top', text: local(ui, s.name) }),
              s.remaining !== undefined ? el('span', { class: 'chip-sub', text: t(ui, 'remaining', { remaining: s.remaining }) }) : null,
            ]),
          ),
        )
      : null;
  const count = el('div', { class: 'stepper' }, [
    button('−', () => ui.send({ kind: 'set_count', count: c.count - 1 }), { class: 'step-btn', id: 'fewer', 'aria-label': '−', disabled: c.count <= 1 }),
    el('output', { class: 'count', id: 'count', text: String(c.count) }),
    button('+', () => ui.send({ kind: 'set_count', count: c.count + 1 }), { class: 'step-btn', id: 'more', 'aria-label': '+', disabled: c.count >= c.maxCount }),
    el('span', { class: 'persons', text: t(ui, 'persons_total', { persons: c.persons }) }),
  ]);
  const level = c.level ? el('span', { class: `level level-${c.level}`, text: c.level === 'red' ? t(ui, 'level_red') : c.level === 'orange' ? t(ui, 'level_orange') : t(ui, 'remaining', { remaining: c.remaining ?? 0 }) }) : null;
  return [
    guide(ui, v),
    el('section', { class: 'field' }, [el('h2', { text: t(ui, 'ticket_type') }), types]),
    el('section', { class: 'field' }, [el('h2', {}, [t(ui, 'visit_date'), ' ', level]), dates]),
    slots ? el('section', { class: 'field' }, [el('h2', { text: t(ui, 'slot') }), slots]) : null,
    el('section', { class: 'field' }, [el('h2', { text: t(ui, 'count') }), count]),
  ];
};

const identify: Render = (ui, v) => {
  const idv = v.identify;
  if (!idv) return [guide(ui, v)];
  const list = el(
    'ol',
    { class: 'visitors', id: 'visitors', 'aria-label': t(ui, 'visitors') },
    idv.visitors.map((p, i) =>
      el('li', {}, [el('span', { class: 'v-name', text: p.name }), el('span', { class: 'v-id mono', text: p.id }), button(t(ui, 'remove'), () => ui.send({ kind: 'remove_visitor', index: i }), { class: 'small-btn' })]),
    ),
  );
  return [
    el('p', { class: 'progress', id: 'progress', text: t(ui, 'visitor_progress', { index: idv.index, total: idv.total }) }),
    ui.entry.open ? idEntry(ui) : art('card'),
    guide(ui, v),
    idv.visitors.length ? list : null,
    ui.entry.open ? null : button(t(ui, 'type_id'), () => ((ui.entry.open = true), ui.redraw()), { class: 'secondary', id: 'type-id' }),
  ];
};

const wait: Render = (ui, v) => [art('wait'), orderSummary(ui, v), el('p', { class: 'guide', text: t(ui, 'waiting') })];

/** A coupon code typed on the review screen (a scanned coupon QR arrives from the scanner instead). */
function couponField(ui: Ui): HTMLElement {
  const input = el('input', { type: 'text', id: 'coupon-code', class: 'coupon-code mono', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', maxlength: 32, 'aria-label': t(ui, 'coupon_label') });
  const use = button(t(ui, 'coupon_use'), () => ui.send({ kind: 'coupon_entered', code: input.value }), { class: 'secondary', id: 'coupon-use' });
  return el('div', { class: 'coupon' }, [el('label', { class: 'entry-label', for: 'coupon-code', text: t(ui, 'coupon_label') }), input, use]);
}

const review: Render = (ui, v) => [
  guide(ui, v),
  orderSummary(ui, v),
  couponField(ui),
  el(
    'div',
    { class: 'methods', role: 'group' },
    (v.methods ?? []).map((m) => {
      const key = m.method === 'cash' ? 'pay_cash' : m.method === 'code' ? 'pay_code' : 'pay_qr';
      return button(t(ui, key), () => ui.send({ kind: 'choose_method', method: m.method }), { class: `method method-${m.method}`, 'data-method': m.method, disabled: !m.enabled }, [
        el('span', { class: `method-icon icon-${m.method}`, 'aria-hidden': 'true' }),
        el('span', { class: 'method-name', text: t(ui, key) }),
        el('span', { class: 'method-sub', text: m.why ? say(ui, { key: m.why }) : t(ui, `${key}_sub` as 'pay_cash_sub') }),
      ]);
    }),
  ),
];

function money(ui: Ui, v: ScreenView): HTMLElement | null {
  const c = v.cash;
  if (!c) return null;
  const cell = (k: string, val: string, id: string) => el('div', { class: `sum sum-${id}` }, [el('span', { class: 'sum-k', text: k }), el('strong', { class: 'sum-v', id: `sum-${id}`, text: val })]);
  return el('div', { class: 'sums' }, [cell(t(ui, 'total'), c.total, 'total'), cell(t(ui, 'paid_in'), c.paidIn, 'paid'), c.change ? cell(t(ui, 'change'), c.change, 'change') : cell(t(ui, 'due'), c.due, 'due')]);
}

const cash: Render = (ui, v) => [money(ui, v), art('note'), guide(ui, v)];
const change: Render = (ui, v) => [money(ui, v), art('coins'), guide(ui, v)];
const refund: Render = (ui, v) => [money(ui, v), art('coins'), guide(ui, v)];
const owed: Render = (ui, v) => [el('p', { class: 'big-amount', id: 'owed', text: `${t(ui, 'owed')} ${v.owed?.amount ?? ''}` }), art('ticket'), guide(ui, v)];
const code: Render = (ui, v) => [orderSummary(ui, v), art('phone'), guide(ui, v)];

const qr: Render = (ui, v) => [
  el('p', { class: 'big-amount', text: v.order?.total ?? '' }),
  v.qr ? el('div', { class: 'qr-box', id: 'pay-qr' }, [qrSvg(v.qr.url, t(ui, 'pay_qr'))]) : art('wait'),
  guide(ui, v),
];

const printFailed: Render = (ui, v) => [art('fault'), guide(ui, v), button(t(ui, 'reprint'), () => ui.send({ kind: 'reprint' }), { class: 'primary', id: 'reprint' })];
const done: Render = (ui, v) => [art('ticket'), guide(ui, v)];
const staff: Render = (ui, v) => [guide(ui, v)];

export const SCREENS: Record<ScreenId, Render> = {
  welcome, choose, identify, wait, review, cash, change, code, qr, refund, owed, print_failed: printFailed, done, staff,
};
