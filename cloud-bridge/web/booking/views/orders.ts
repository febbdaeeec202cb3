/**
 * "My orders": every order of the verified phone, newest first, with what can be done with
 * each: pay a pending one, show the code of a paid one, refund it (a reason from the park's
 * list) or move it to another date and slot.
 */
import { ApiError, idempotencyKey } from '../api.js';
import { el, nextId, put } from '../dom.js';
import { addDays, dateLabel, local, refusal, t, type Ctx } from '../context.js';
import { yuan } from '../price.js';
import type { Availability, BookOrder } from '../types.js';
import { primary, secondary, stepHeading } from './common.js';

export function ordersView(ctx: Ctx): HTMLElement {
  const list = el('div', { class: 'orders', 'aria-busy': 'true' }, [el('p', { class: 'muted', text: t(ctx, 'loading') })]);
  const logout = secondary(t(ctx, 'logout'), () => {
    ctx.api.endSession().catch(() => undefined);
    ctx.store.session(null, null, null);
    ctx.api.token = null;
    ctx.phoneMasked = null;
    ctx.dispatch({ type: 'loggedOut' });
  });
  const view = el('section', { class: 'step', 'data-step': 'orders' }, [
    stepHeading(t(ctx, 'myOrders')),
    el('p', { class: 'muted' }, [ctx.phoneMasked ? t(ctx, 'loggedInAs', { phone: ctx.phoneMasked }) : '', ' ', logout]),
    list,
  ]);
  const load = () =>
    ctx.api.orders().then(
      (r) => {
        if (!view.isConnected) return;
        put(list, r.orders.length === 0 ? [el('p', { text: t(ctx, 'ordersEmpty') })] : r.orders.map((o) => orderCard(ctx, o, load)));
        list.removeAttribute('aria-busy');
      },
      (e: ApiError) => {
        if (e.code === 'session_required') return ctx.dispatch({ type: 'loggedOut' });
        put(list, [el('p', { class: 'error', role: 'alert', text: refusal(ctx, e) })]);
      },
    );
  void load();
  return view;
}

function orderCard(ctx: Ctx, o: BookOrder, reload: () => void): HTMLElement {
  const actions = el('div', { class: 'actions' });
  const panel = el('div', { class: 'panel' });
  const when = `${dateLabel(ctx.lang, o.date)}${o.slot ? ` ${o.slot.start}–${o.slot.end}` : ''}`;
  if (o.status === 'pending') actions.appendChild(primary(t(ctx, 'continuePay'), () => ctx.dispatch({ type: 'orderShown', order: o })));
  if (o.status === 'paid') actions.appendChild(primary(t(ctx, 'viewTicket'), () => ctx.dispatch({ type: 'orderShown', order: o })));
  if (o.canRefund) actions.appendChild(secondary(t(ctx, 'refund'), () => put(panel, [refundForm(ctx, o, reload)]), { 'data-action': 'refund' }));
  if (o.canRebook) actions.appendChild(secondary(t(ctx, 'rebook'), () => put(panel, [rebookForm(ctx, o, reload)]), { 'data-action': 'rebook' }));
  return el('article', { class: 'order', 'data-order': o.orderId, 'data-status': o.status }, [
    el('h3', {}, [local(ctx, o.typeName), ' × ', String(o.tickets.length || o.persons), el('span', { class: `status ${o.status}`, text: t(ctx, `status_${o.status}`) })]),
    el('p', {}, [when, ' · ', el('strong', { text: yuan(o.amountFen) })]),
    o.refundState ? el('p', { class: 'muted', 'data-refund': o.refundState, text: t(ctx, `refundState_${o.refundState}`) }) : null,
    el('p', { class: 'muted small mono', text: `${t(ctx, 'orderNo')} ${o.orderId}` }),
    actions,
    panel,
  ]);
}

function refundForm(ctx: Ctx, o: BookOrder, reload: () => void): HTMLElement {
  const id = nextId('reason');
  const select = el('select', { id, name: 'reason' }, ctx.info.refundReasons.map((r) => el('option', { value: r.code, text: local(ctx, r.label) })));
  const msg = el('p', { 'aria-live': 'polite' });
  const key = idempotencyKey();
  const confirm = primary(t(ctx, 'refundConfirm', { amount: yuan(o.amountFen) }), () => {
    confirm.disabled = true;
    ctx.api.refund(o.orderId, select.value, key).then(
      () => {
        msg.className = 'ok';
        msg.textContent = t(ctx, 'refundDone');
        setTimeout(reload, 1200);
      },
      (e: ApiError) => {
        confirm.disabled = false;
        msg.className = 'error';
        msg.textContent = refusal(ctx, e);
      },
    );
  }, { 'data-action': 'refund-confirm' });
  return el('div', { class: 'form' }, [el('label', { for: id, text: t(ctx, 'refundReason') }), select, confirm, msg]);
}

function rebookForm(ctx: Ctx, o: BookOrder, reload: () => void): HTMLElement {
  const dateId = nextId('rdate');
  const slotId = nextId('rslot');
  const start = o.date > ctx.info.today ? o.date : ctx.info.today;
  const date = el('input', { type: 'date', id: dateId, min: ctx.info.today, max: ctx.info.lastDate, value: start === o.date ? addDays(start, 1) <= ctx.info.lastDate ? addDays(start, 1) : start : start });
  const slot = el('select', { id: slotId, name: 'slot' });
  const msg = el('p', { 'aria-live': 'polite' });
  const fillSlots = () => {
    if (ctx.info.slots.length === 0) return;
    ctx.api.availability(date.value).then(
      (a: Availability) =>
        put(
          slot,
          ctx.info.slots.map((s) => {
            const left = a.slots.find((x) => x.slotId === s.slotId)?.remaining ?? 0;
            return el('option', { value: s.slotId, disabled: left < o.persons, text: `${s.start}–${s.end} · ${left >= o.persons ? t(ctx, 'slotLeft', { count: left }) : t(ctx, 'soldOut')}` });
          }),
        ),
      (e: ApiError) => (msg.textContent = refusal(ctx, e)),
    );
  };
  date.addEventListener('change', fillSlots);
  fillSlots();
  const confirm = primary(t(ctx, 'rebookConfirm'), () => {
    confirm.disabled = true;
    // A key per try: another date after a refusal is another request.
    ctx.api.rebook(o.orderId, date.value, ctx.info.slots.length > 0 ? slot.value : undefined, idempotencyKey()).then(
      () => {
        msg.className = 'ok';
        msg.textContent = t(ctx, 'rebookDone');
        setTimeout(reload, 1200);
      },
      (e: ApiError) => {
        confirm.disabled = false;
        msg.className = 'error';
        msg.textContent = refusal(ctx, e);
      },
    );
  }, { 'data-action': 'rebook-confirm' });
  return el('div', { class: 'form' }, [
    el('label', { for: dateId, text: t(ctx, 'date') }),
    date,
    ctx.info.slots.length > 0 ? el('label', { for: slotId, text: t(ctx, 'slot') }) : null,
    ctx.info.slots.length > 0 ? slot : null,
    confirm,
    msg,
  ]);
}
