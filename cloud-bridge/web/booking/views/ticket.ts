/**
 * Step 5: the ticket. One QR code per ticket of the order (its ST1 code, what the gate's
 * scanner reads), how many it admits, the date and slot or entry window, the gate rules and
 * the tour-route link. A refunded or cancelled order shows its state instead of a code.
 */
import { ApiError } from '../api.js';
import { el, put } from '../dom.js';
import { dateLabel, refusal, t, type Ctx } from '../context.js';
import { qrSvg } from '../qr.js';
import type { BookOrder } from '../types.js';
import { orderSummary, primary, secondary, stepHeading } from './common.js';

export function ticketView(ctx: Ctx): HTMLElement {
  const body = el('div', { 'aria-busy': 'true' }, [el('p', { class: 'muted', text: t(ctx, 'loading') })]);
  const view = el('section', { class: 'step', 'data-step': 'ticket' }, [stepHeading(t(ctx, 'stepTicket')), body]);
  const id = ctx.state.orderId;
  if (!id) {
    void Promise.resolve().then(() => ctx.dispatch({ type: 'newBooking' }));
    return view;
  }
  ctx.api.order(id).then(
    (o) => {
      if (!view.isConnected) return;
      if (o.status === 'pending') return ctx.dispatch({ type: 'orderShown', order: o });
      put(body, ticketBody(ctx, o));
      body.removeAttribute('aria-busy');
    },
    (e: ApiError) => {
      if (e.code === 'session_required') return ctx.dispatch({ type: 'loggedOut' });
      put(body, [el('p', { class: 'error', role: 'alert', text: refusal(ctx, e) })]);
    },
  );
  return view;
}

export function ticketBody(ctx: Ctx, o: BookOrder): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (o.status === 'paid') {
    out.push(el('p', { class: 'ok', id: 'paid-banner', text: t(ctx, 'paid') }));
    out.push(el('p', { class: 'lead', text: t(ctx, 'showQr') }));
    for (const tk of o.tickets) {
      out.push(
        el('figure', { class: 'ticket', 'data-ticket': tk.ticketId, 'data-code': tk.code }, [
          qrSvg(tk.code, `${t(ctx, 'showQr')} ${t(ctx, 'ticketPersons', { persons: tk.persons })}`, 'M'),
          el('figcaption', {}, [el('strong', { text: t(ctx, 'ticketPersons', { persons: tk.persons }) }), el('span', { class: 'mono small muted', text: tk.ticketId })]),
        ]),
      );
    }
    const when = o.slot ? t(ctx, 'slotWindow', { date: dateLabel(ctx.lang, o.date), start: o.slot.start, end: o.slot.end }) : t(ctx, 'dayTicket', { date: dateLabel(ctx.lang, o.date) });
    const rules = [when, o.entryWindow ? t(ctx, 'entryWindow', o.entryWindow) : null, t(ctx, 'gateRule1'), t(ctx, 'gateRule2')].filter((x): x is string => x !== null);
    out.push(el('section', { class: 'rules' }, [el('h3', { text: t(ctx, 'gateRules') }), el('ul', {}, rules.map((r) => el('li', { text: r })))]));
    if (ctx.info.tourRouteUrl) out.push(el('p', {}, [el('a', { href: ctx.info.tourRouteUrl, class: 'route', rel: 'noopener', text: t(ctx, 'tourRoute') })]));
    out.push(el('p', { class: 'muted small', text: t(ctx, 'smsSent') }));
  } else {
    out.push(el('p', { class: 'status-line', 'data-status': o.status, text: t(ctx, `status_${o.status}`) }));
    if (o.refundState) out.push(el('p', { class: 'muted', 'data-refund': o.refundState, text: t(ctx, `refundState_${o.refundState}`) }));
  }
  out.push(el('h3', { text: t(ctx, 'orderSummary') }), orderSummary(ctx, o));
  out.push(el('div', { class: 'bar' }, [secondary(t(ctx, 'myOrders'), () => ctx.dispatch({ type: 'openOrders' })), primary(t(ctx, 'title'), () => ctx.dispatch({ type: 'newBooking' }))]));
  return out;
}
