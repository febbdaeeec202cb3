/**
 * The staff window page (kiosk.mode: window, a staff PC with mouse and keyboard): staff login
 * (id + PIN), then the desk — sell on the left (the machine's steps; cash typed in with the
 * change shown, or a payment code at the scanner), look a visitor up by ID card on the right
 * (print again, refund with a reason). Talks to `/window/*` (src/screen/window-api.ts) with the
 * session cookie; polls `/window/state` while logged in. Bundled into dist/web/window.js.
 */
import './window.css';
import type { Lang, LocalText } from '../src/sale/model.js';
import { saleText } from '../src/sale/text.js';
import { tenderCheck, WINDOW_TEXT, windowText, type WindowTextKey } from '../src/screen/window-text.js';
import type { PageOrder, SaleInput, WindowState, WindowView } from '../src/screen/window-view.js';
import { $, button, el, put, type Child } from './dom.js';

interface Lookup {
  date: string;
  orders: PageOrder[];
  refundReasons: { code: string; label: LocalText }[];
}

const POLL_MS = 700;
let lang: Lang = 'zh-CN';
let state: WindowState = { staff: null };
let lookup: Lookup | null = null;
let refunding: string | null = null;
let drawnSell = '';
let busy = false;

const t = (key: WindowTextKey, vars?: Record<string, string | number>) => windowText(lang, key, vars);
const local = (x: LocalText | string | undefined) => (typeof x === 'string' ? x : x ? (x[lang] ?? x['zh-CN']) : '');

function say(text: string | null, ok = false): void {
  const m = $('msg');
  m.hidden = !text;
  m.textContent = text ?? '';
  m.className = ok ? 'msg ok' : 'msg';
}

/** A refusal from the API in the page's words. */
function refusal(body: { error?: string; seconds?: number }): string {
  const key = `err_${body.error ?? 'internal'}`;
  return key in WINDOW_TEXT.en ? t(key as WindowTextKey, { seconds: body.seconds ?? 0 }) : t('err_internal');
}

async function call<T>(path: string, body?: unknown): Promise<{ ok: true; data: T } | { ok: false; status: number; error: { error?: string; seconds?: number } }> {
  const res = await fetch(path, body === undefined ? { credentials: 'same-origin' } : { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const data = (await res.json().catch(() => ({}))) as T & { error?: string; seconds?: number };
  return res.ok ? { ok: true, data } : { ok: false, status: res.status, error: data };
}

function take(s: WindowState): void {
  const wasIn = state.staff !== null;
  state = s;
  if (!s.staff) {
    lookup = null;
    refunding = null;
  }
  if (wasIn !== (s.staff !== null)) drawnSell = '';
  draw();
}

async function refresh(): Promise<void> {
  const r = await call<WindowState>('/window/state').catch(() => undefined);
  if (r?.ok) take(r.data);
}

async function sale(input: SaleInput): Promise<void> {
  if (busy) return;
  busy = true;
  try {
    const r = await call<WindowState>('/window/sale', input);
    if (r.ok) {
      say(null);
      take(r.data);
    } else {
      say(refusal(r.error));
      if (r.status === 401) await refresh();
    }
  } finally {
    busy = false;
  }
}

function draw(): void {
  document.documentElement.lang = lang;
  $('title').textContent = t('title');
  $('lang').textContent = lang === 'zh-CN' ? 'English' : '中文';
  const logout = $('logout');
  logout.textContent = t('log_out');
  logout.hidden = !state.staff;
  $('who').textContent = state.staff ? t('signed_in', { name: state.staff.name }) : '';
  if (!state.staff) return drawLogin();
  if (document.body.dataset.screen !== 'desk') {
    document.body.dataset.screen = 'desk';
    put($('main'), [el('section', { id: 'sell', 'aria-label': t('tab_sell') }), el('section', { id: 'lookup', 'aria-label': t('tab_lookup') })]);
    drawnSell = '';
    drawLookup();
  }
  drawSell();
}

function drawLogin(): void {
  if (document.body.dataset.screen === 'login' && $('main').dataset.lang === lang) return;
  document.body.dataset.screen = 'login';
  $('main').dataset.lang = lang;
  const id = el('input', { id: 'staff-id', name: 'staff', autocomplete: 'username', required: true });
  const pin = el('input', { id: 'pin', type: 'password', inputmode: 'numeric', autocomplete: 'current-password', required: true, pattern: '\\d{4,12}' });
  const form = el('form', { id: 'login-form' }, [el('label', {}, [t('staff_id'), id]), el('label', {}, [t('pin'), pin]), el('button', { type: 'submit', class: 'primary', id: 'log-in', text: t('log_in') })]);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void (async () => {
      const r = await call<WindowState>('/window/login', { staffId: id.value.trim(), pin: pin.value });
      pin.value = '';
      if (r.ok) {
        say(null);
        take(r.data);
      } else {
        say(refusal(r.error));
        pin.focus();
      }
    })();
  });
  put($('main'), [el('section', {}, [el('h2', { text: t('login') }), form])]);
  id.focus();
}

function notice(v: WindowView): Child {
  if (!v.notice) return null;
  return el('p', { id: 'notice', class: `notice ${v.notice.tone}`, 'data-key': v.notice.key, text: saleText(lang, v.notice.key, v.notice.vars) });
}

function orderLine(v: WindowView): Child {
  const o = v.order;
  if (!o) return null;
  return el('p', { id: 'order', text: `${t('order', { type: local(o.type), date: o.date, count: o.count, persons: o.persons })}${o.slot ? ` · ${local(o.slot)}` : ''}` });
}

function drawSell(): void {
  const v = state.view;
  if (!v) return;
  document.body.dataset.phase = v.phase;
  const key = JSON.stringify([lang, v, state.lastTender]);
  if (key === drawnSell) return;
  drawnSell = key;
  const kids: Child[] = [el('h2', { text: t('tab_sell') }), notice(v)];
  const cancel = v.canCancel ? button(t('cancel'), () => void sale({ kind: 'cancel' }), { id: 'cancel', class: 'danger' }) : null;
  const back = v.canBack ? button(t('back'), () => void sale({ kind: 'back' }), { id: 'back' }) : null;
  let focus: HTMLElement | null = null;
  switch (v.phase) {
    case 'idle':
    case 'done': {
      if (v.phase === 'done') kids.push(el('p', { class: 'big', text: t('done') }));
      if (state.lastTender) kids.push(el('p', { id: 'last-change', class: 'change', text: t('last_change', state.lastTender) }));
      const start = button(t('new_sale'), () => void sale({ kind: 'start' }), { id: 'new-sale', class: 'primary', disabled: v.phase !== 'idle' || v.outOfService });
      kids.push(el('div', { class: 'row' }, [start]));
      break;
    }
    case 'choosing': {
      const c = v.choose;
      if (!c) break;
      const type = el('select', { id: 'type' }, [el('option', { value: '', text: '—' }), ...c.types.map((x) => el('option', { value: x.id, selected: x.id === c.typeId, text: `${local(x.name)} ${x.price}` }))]);
      type.addEventListener('change', () => type.value && void sale({ kind: 'choose_type', typeId: type.value }));
      const date = el('select', { id: 'date' }, c.dates.map((d) => el('option', { value: d, selected: d === c.date, text: d })));
      date.addEventListener('change', () => void sale({ kind: 'choose_date', date: date.value }));
      const fields: Child[] = [el('label', {}, [t('type'), type]), el('label', {}, [t('date'), date])];
      if (c.slots.length > 0) {
        const slot = el('select', { id: 'slot' }, [el('option', { value: '', text: '—' }), ...c.slots.map((x) => el('option', { value: x.id, selected: x.id === c.slotId, text: `${local(x.name)}${x.remaining !== undefined ? ` (${x.remaining})` : ''}` }))]);
        slot.addEventListener('change', () => slot.value && void sale({ kind: 'choose_slot', slotId: slot.value }));
        fields.push(el('label', {}, [t('slot'), slot]));
      }
      const count = el('input', { id: 'count', type: 'number', min: 1, max: c.maxCount, value: c.count });
      count.addEventListener('change', () => {
        const n = Number(count.value);
        if (Number.isInteger(n) && n >= 1 && n <= c.maxCount) void sale({ kind: 'set_count', count: n });
      });
      fields.push(el('label', {}, [t('count'), count]));
      const form = el('form', { id: 'choose-form' }, [...fields, el('button', { type: 'submit', id: 'next', class: 'primary', disabled: !c.canConfirm, text: t('next') })]);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        void sale({ kind: 'confirm' });
      });
      kids.push(form, el('p', { class: 'muted', text: `${t('persons', { persons: c.persons })}${c.remaining !== undefined ? ` · ${t('remaining', { remaining: c.remaining })}` : ''}` }));
      focus = c.typeId ? null : type;
      break;
    }
    case 'identifying': {
      const d = v.identify;
      if (!d) break;
      kids.push(el('p', { id: 'progress', text: t('visitors', { index: d.index, total: d.total }) }));
      kids.push(el('ul', { id: 'visitors', class: 'list' }, d.visitors.map((x, i) => el('li', {}, [`${x.name} ${x.id}`, button(t('remove'), () => void sale({ kind: 'remove_visitor', index: i }))]))));
      const name = el('input', { id: 'visitor-name', autocomplete: 'off', maxlength: 40, required: true });
      const idn = el('input', { id: 'visitor-id', autocomplete: 'off', maxlength: 18, required: true, pattern: '\\d{17}[\\dXx]' });
      const form = el('form', { id: 'visitor-form' }, [el('label', {}, [t('name'), name]), el('label', {}, [t('id_number'), idn]), el('button', { type: 'submit', id: 'add-visitor', text: t('add_visitor') })]);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        void sale({ kind: 'id_typed', name: name.value.trim(), idNumber: idn.value.trim() });
      });
      kids.push(form);
      focus = name;
      break;
    }
    case 'review': {
      kids.push(orderLine(v));
      if (v.order) kids.push(el('p', { class: 'big', id: 'total', text: t('total', { total: v.order.total }) }));
      const methods = (v.methods ?? []).map((m) =>
        button(t(m.method === 'staff_cash' ? 'pay_cash' : 'pay_code'), () => void sale({ kind: 'choose_method', method: m.method }), { id: m.method === 'staff_cash' ? 'pay-cash' : 'pay-code', class: 'primary', disabled: !m.enabled }),
      );
      kids.push(el('div', { class: 'row' }, methods));
      focus = methods[0] ?? null;
      break;
    }
    case 'staff_cash': {
      const c = v.collect;
      if (!c) break;
      kids.push(orderLine(v), el('p', { class: 'big', id: 'total', text: t('total', { total: c.total }) }));
      const input = el('input', { id: 'tendered', inputmode: 'decimal', autocomplete: 'off', required: true });
      const preview = el('p', { id: 'change-preview', class: 'change' });
      const take = el('button', { type: 'submit', id: 'take-cash', class: 'primary', disabled: true, text: t('take_cash') });
      input.addEventListener('input', () => {
        const r = tenderCheck(input.value, c.totalFen);
        take.disabled = !r.ok;
        preview.className = r.ok || input.value === '' ? 'change' : 'change bad';
        preview.textContent = input.value === '' ? '' : r.ok ? t('change', { change: fmt(r.changeFen) }) : t(r.why, { total: c.total });
      });
      const form = el('form', { id: 'tender-form' }, [el('label', {}, [t('tendered'), input]), take]);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        const r = tenderCheck(input.value, c.totalFen);
        if (r.ok) void sale({ kind: 'tender', amountFen: r.tenderedFen });
      });
      kids.push(form, preview);
      focus = input;
      break;
    }
    case 'code_wait':
    case 'code_pending':
      kids.push(orderLine(v), el('p', { class: 'big', text: t('scan_code') }));
      break;
    case 'print_failed':
      kids.push(button(saleText(lang, 'printing'), () => void sale({ kind: 'reprint' }), { id: 'reprint', class: 'primary' }));
      break;
    default:
      kids.push(orderLine(v), el('p', { class: 'muted', text: t('working') }));
  }
  if (back || cancel) kids.push(el('div', { class: 'row' }, [back, cancel]));
  put($('sell'), kids);
  // Not while the staff member types in the lookup pane.
  if (!document.getElementById('lookup')?.contains(document.activeElement)) focus?.focus();
}

const fmt = (fen: number) => `¥${Math.floor(fen / 100)}${fen % 100 ? `.${String(fen % 100).padStart(2, '0')}` : ''}`;

function drawLookup(): void {
  const box = document.getElementById('lookup');
  if (!box) return;
  const idn = el('input', { id: 'lookup-id', autocomplete: 'off', maxlength: 18, pattern: '\\d{17}[\\dXx]' });
  const form = el('form', { id: 'lookup-form' }, [el('label', {}, [t('lookup_id'), idn]), el('button', { type: 'submit', id: 'look-up', class: 'primary', text: t('look_up') })]);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void (async () => {
      const q = idn.value.trim();
      const r = await call<Lookup>('/window/lookup', q ? { idNumber: q } : {});
      if (!r.ok) {
        say(refusal(r.error));
        if (r.status === 401) await refresh();
        return;
      }
      say(null);
      lookup = r.data;
      refunding = null;
      drawLookup();
    })();
  });
  const kids: Child[] = [el('h2', { text: t('tab_lookup') }), el('p', { class: 'muted', text: t('tap_card_hint') }), form];
  if (lookup) {
    kids.push(el('p', { text: t('orders_of', { date: lookup.date }) }));
    if (lookup.orders.length === 0) kids.push(el('p', { id: 'no-orders', text: t('no_orders') }));
    const typeName = (id: string) => local(state.types?.find((x) => x.id === id)?.name) || id;
    for (const o of lookup.orders) {
      const actions: Child[] = [];
      if (o.status === 'paid') {
        actions.push(button(t('print_again'), () => void act('/window/print', { orderId: o.orderId }, (d: { tickets: number }) => t('printed_again', { tickets: d.tickets })), { class: 'print-again' }));
        if (o.canRefund) actions.push(button(t('refund'), () => ((refunding = o.orderId), drawLookup()), { class: 'refund danger' }));
        else actions.push(el('span', { class: 'muted', text: t('used') }));
      }
      const row = el('div', { class: 'order', 'data-order': o.orderId, 'data-status': o.status }, [
        el('div', { class: 'head' }, [[typeName(o.typeId), o.date, t('persons', { persons: o.persons }), o.amount].join(' · '), el('span', { class: `status status-${o.status}`, text: t(`status_${o.status}`) })]),
        el('ul', { class: 'list' }, o.visitors.map((x) => el('li', { text: `${x.name} ${x.idMasked}` }))),
        el('div', { class: 'row' }, actions),
      ]);
      if (refunding === o.orderId) {
        const reason = el('select', { id: 'refund-reason' }, [el('option', { value: '', text: '—' }), ...lookup.refundReasons.map((r) => el('option', { value: r.code, text: local(r.label) }))]);
        const f = el('form', { class: 'refund-form' }, [el('label', {}, [t('reason'), reason]), el('button', { type: 'submit', id: 'confirm-refund', class: 'danger', text: t('confirm_refund') })]);
        f.addEventListener('submit', (e) => {
          e.preventDefault();
          if (!reason.value) return say(t('err_unknown_reason'));
          void act('/window/refund', { orderId: o.orderId, reason: reason.value }, (d: { ok: boolean; cashBackFen: number; cashBack: string }) => {
            o.status = d.ok ? 'refunded' : o.status;
            refunding = null;
            return d.ok ? (d.cashBackFen > 0 ? t('refunded_cash', { amount: d.cashBack }) : t('refunded')) : t('refund_failed');
          });
        });
        row.appendChild(f);
        setTimeout(() => reason.focus(), 0);
      }
      kids.push(row);
    }
  }
  put(box, kids);
}

async function act<T>(path: string, body: unknown, done: (d: T) => string): Promise<void> {
  if (busy) return;
  busy = true;
  say(t('working'), true);
  try {
    const r = await call<T>(path, body);
    if (r.ok) say(done(r.data), true);
    else {
      say(refusal(r.error));
      if (r.status === 401) await refresh();
    }
  } finally {
    busy = false;
    drawLookup();
  }
}

$('lang').addEventListener('click', () => {
  lang = lang === 'zh-CN' ? 'en' : 'zh-CN';
  drawnSell = '';
  document.body.dataset.screen = '';
  say(null);
  draw();
  drawLookup();
});
$('logout').addEventListener('click', () => {
  void (async () => {
    const r = await call<WindowState>('/window/logout', {});
    if (r.ok) take(r.data);
    else say(refusal(r.error));
  })();
});

void refresh();
setInterval(() => {
  if (state.staff && !busy) void refresh();
}, POLL_MS);
