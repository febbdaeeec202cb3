/**
 * Step 4: the order is made (session, Idempotency-Key), then paid with the provider that fits
 * the browser (client-env.ts): inside WeChat the JSAPI sheet, inside Alipay or a phone's browser
 * the Alipay WAP cashier (a redirect that comes back to #pay/{order}), on a desktop a QR code to
 * scan. Inside WeChat the JSAPI sheet needs the visitor's openid: the first tap goes through
 * WeChat's web authorization (wechat.ts) and comes back here to open the sheet; a cancelled
 * sheet leaves the visitor on this step with the order still payable. Whatever the way, the page then asks the server for the order until it is paid (or
 * expired), so a visitor who closed the page and comes back, or pays on another phone, gets
 * the ticket all the same.
 */
import { ApiError, idempotencyKey } from '../api.js';
import { payChoices, type PayChoice } from '../client-env.js';
import { el, put } from '../dom.js';
import { refusal, t, type Ctx } from '../context.js';
import { qrSvg } from '../qr.js';
import { yuan } from '../price.js';
import type { BookOrder, PayStarted } from '../types.js';
import { oauthStartUrl, payInWeChat, weixinBridge } from '../wechat.js';
import { orderSummary, stepHeading } from './common.js';
import { markCoupon, markVisitor } from './visitors.js';

const VISITOR_CODES = ['invalid_id_number', 'duplicate_visitor', 'visitor_already_booked', 'package_size'];
const PICK_CODES = ['sold_out', 'capacity_red', 'capacity_orange', 'capacity_exceeded', 'kiosk_reserve_exhausted', 'channel_paused', 'slot_required', 'slot_over', 'unknown_slot', 'not_on_this_day', 'entry_not_available', 'date_in_past', 'beyond_booking_horizon', 'unknown_type', 'type_not_on_channel'];

/** How often the page asks for the order while it waits: quickly at first, then every 5 s. */
export function pollDelay(attempt: number): number {
  return attempt < 10 ? 1500 : 5000;
}

/** The page's own URL for the provider to send the visitor back to, on this order. */
function returnUrl(ctx: Ctx, orderId: string): string {
  const u = new URL(window.location.href);
  u.hash = `#pay/${encodeURIComponent(orderId)}`;
  for (const k of Array.from(u.searchParams.keys())) if (k !== 'lang') u.searchParams.delete(k);
  u.searchParams.set('lang', ctx.lang);
  return u.href;
}

export function payView(ctx: Ctx): HTMLElement {
  const body = el('div', { class: 'pay-body', 'aria-busy': 'true' }, [el('p', { class: 'muted', text: t(ctx, 'loading') })]);
  const view = el('section', { class: 'step', 'data-step': 'pay' }, [stepHeading(t(ctx, 'stepPay'), 4), body]);
  if (ctx.state.orderId) void showOrder(ctx, ctx.state.orderId, body, view);
  else void createOrder(ctx, body, view);
  return view;
}

async function createOrder(ctx: Ctx, body: HTMLElement, view: HTMLElement): Promise<void> {
  const d = ctx.state.draft;
  if (!ctx.state.draft.typeId) return ctx.dispatch({ type: 'newBooking' });
  ctx.orderKey = ctx.orderKey ?? idempotencyKey();
  try {
    const order = await ctx.api.createOrder(
      { typeId: d.typeId!, date: d.date, ...(d.slotId ? { slotId: d.slotId } : {}), ...(d.entry ? { entry: d.entry } : {}), visitors: ctx.visitors.map((v) => ({ name: v.name.trim(), idNumber: v.idNumber })), lang: ctx.lang, ...orderExtras(ctx) },
      ctx.orderKey,
    );
    ctx.orderKey = null;
    ctx.store.pending(order.orderId);
    ctx.dispatch({ type: 'orderCreated', orderId: order.orderId });
  } catch (e) {
    const err = e as ApiError;
    ctx.orderKey = null;
    if (!view.isConnected) return;
    const text = refusal(ctx, err);
    if (err.code === 'session_required') return ctx.dispatch({ type: 'loggedOut' });
    if (VISITOR_CODES.indexOf(err.code) >= 0) {
      ctx.state = { ...ctx.state, step: 'visitors' };
      ctx.rerender();
      ctx.notice(text);
      if (typeof err.details.visitor === 'number') markVisitor(err.details.visitor, text);
      return;
    }
    if (err.code.startsWith('coupon_')) {
      // The coupon field is on the visitors step: back there, the reason next to the field.
      ctx.state = { ...ctx.state, step: 'visitors' };
      ctx.rerender();
      ctx.notice(text);
      markCoupon(text);
      return;
    }
    if (PICK_CODES.indexOf(err.code) >= 0) {
      ctx.state = { ...ctx.state, step: 'pick' };
      void ctx.loadAvailability(d.date);
      ctx.rerender();
      ctx.notice(text);
      return;
    }
    put(body, [el('p', { class: 'error', role: 'alert', text }), retryButton(ctx, () => void createOrder(ctx, body, view))]);
    body.removeAttribute('aria-busy');
  }
}

/** The coupon code (when one was typed) and the consent answer: ticked is true, unticked is false (asked, declined). */
export function orderExtras(ctx: Pick<Ctx, 'extras'>): { couponCode?: string; marketingConsent: boolean } {
  const code = ctx.extras.couponCode.trim();
  return { ...(code !== '' ? { couponCode: code } : {}), marketingConsent: ctx.extras.marketingConsent };
}

function retryButton(ctx: Ctx, again: () => void): HTMLButtonElement {
  const b = el('button', { type: 'button', class: 'secondary', text: t(ctx, 'retry') });
  b.addEventListener('click', again);
  return b;
}

async function showOrder(ctx: Ctx, orderId: string, body: HTMLElement, view: HTMLElement): Promise<void> {
  let order: BookOrder;
  try {
    order = await ctx.api.order(orderId);
  } catch (e) {
    const err = e as ApiError;
    if (err.code === 'session_required') return ctx.dispatch({ type: 'loggedOut' });
    if (err.code === 'unknown_order') ctx.store.pending(null);
    if (!view.isConnected) return;
    put(body, [el('p', { class: 'error', role: 'alert', text: refusal(ctx, err) }), retryButton(ctx, () => void showOrder(ctx, orderId, body, view))]);
    body.removeAttribute('aria-busy');
    return;
  }
  if (!view.isConnected) return;
  if (order.status !== 'pending') return settled(ctx, order);
  // In WeChat, JSAPI when the openid is known or WeChat's web authorization can get it; else the Native QR code.
  const choices = payChoices(ctx.browser, ctx.info.providers, ctx.wechat.openid !== null || ctx.info.wechatOAuth);
  const qrBox = el('div', { class: 'qr-box', id: 'pay-qr', hidden: true });
  const status = el('p', { class: 'muted', id: 'pay-status', 'aria-live': 'polite' });
  const buttons = choices.map((c) => {
    const b = el('button', { type: 'button', class: `primary pay ${c.provider}`, 'data-provider': c.provider, 'data-method': c.method }, [
      c.method === 'qr' && choices.some((x) => x.provider === c.provider && x.method === 'in_app') ? `${t(ctx, `payBy_${c.provider}`)} (QR)` : t(ctx, `payBy_${c.provider}`),
      ' ',
      yuan(order.amountFen),
    ]);
    b.addEventListener('click', () => void startPay(ctx, order, c, { qrBox, status, buttons: () => buttonList }));
    return b;
  });
  const buttonList = buttons;
  const cancel = el('button', { type: 'button', class: 'secondary cancel-order', text: t(ctx, 'cancelOrder') });
  cancel.addEventListener('click', () => void cancelOrder(ctx, order, cancel));
  put(body, [orderSummary(ctx, order), el('div', { class: 'pay-buttons' }, buttons), qrBox, status, cancel]);
  body.removeAttribute('aria-busy');
  void poll(ctx, order.orderId, view, status);
  // Back from WeChat's authorization: say why there is no openid, or open the sheet the visitor asked for.
  const w = ctx.wechat;
  if (w.error) ctx.notice(t(ctx, `wxoauth_${w.error}` as const));
  w.error = null;
  const jsapi = choices.find((c) => c.provider === 'wechat' && c.method === 'in_app');
  if (w.payOnArrival && jsapi && w.openid) void startPay(ctx, order, jsapi, { qrBox, status, buttons: () => buttonList });
  w.payOnArrival = false;
}

async function startPay(ctx: Ctx, order: BookOrder, c: PayChoice, ui: { qrBox: HTMLElement; status: HTMLElement; buttons: () => HTMLButtonElement[] }): Promise<void> {
  ctx.notice(null);
  for (const b of ui.buttons()) b.disabled = true;
  const enable = () => ui.buttons().forEach((b) => (b.disabled = false));
  const jsapi = c.provider === 'wechat' && c.method === 'in_app';
  const openid = ctx.wechat.openid;
  if (jsapi && openid === null) {
    // Once per visit: WeChat's web authorization brings the browser back to this order with the openid.
    ui.status.textContent = t(ctx, 'wxAuthorizing');
    window.location.assign(oauthStartUrl(ctx.site, window.location.pathname + window.location.search, order.orderId));
    return;
  }
  let started: PayStarted;
  try {
    started = await ctx.api.pay(order.orderId, { provider: c.provider, method: c.method, ...(c.method === 'in_app' && c.provider === 'alipay' ? { returnUrl: returnUrl(ctx, order.orderId) } : {}), ...(jsapi && openid ? { openid } : {}) });
  } catch (e) {
    enable();
    const err = e as ApiError;
    if (err.code === 'already_paid') return void ctx.api.order(order.orderId).then((o) => settled(ctx, o));
    if (err.code === 'order_expired') return expired(ctx);
    // WeChat refused the payer: the next tap asks WeChat who the visitor is again.
    if (jsapi && err.code === 'payment_refused') {
      ctx.wechat.openid = null;
      ctx.store.setWechatOpenid(null);
    }
    ctx.notice(refusal(ctx, err));
    return;
  }
  if (started.orderStatus === 'paid' || started.state === 'paid') return void ctx.api.order(order.orderId).then((o) => settled(ctx, o));
  ui.status.textContent = t(ctx, 'waitingPayment');
  if (started.inApp && started.inApp.kind === 'redirect') {
    window.location.assign(started.inApp.url);
    return;
  }
  if (started.inApp && started.inApp.kind === 'wechat_jsapi') {
    const bridge = await weixinBridge();
    if (!bridge) {
      ui.status.textContent = '';
      ctx.notice(t(ctx, 'wxNoBridge'));
      return enable();
    }
    const outcome = await payInWeChat(bridge, started.inApp.params);
    // "ok" is not proof of payment: the order's status decides (the poll is running).
    if (outcome === 'ok') ui.status.textContent = t(ctx, 'wxPaySent');
    else {
      ui.status.textContent = '';
      ctx.notice(t(ctx, outcome === 'cancel' ? 'wxPayCancelled' : 'wxPayFailed'), outcome === 'cancel' ? 'info' : 'error');
    }
    return enable();
  }
  if (started.codeUrl) {
    put(ui.qrBox, [el('p', { text: t(ctx, `scanToPay_${c.provider}`) }), qrSvg(started.codeUrl, t(ctx, `scanToPay_${c.provider}`), 'M')]);
    ui.qrBox.hidden = false;
    ui.qrBox.setAttribute('data-provider', c.provider);
  }
  enable();
}

async function poll(ctx: Ctx, orderId: string, view: HTMLElement, status: HTMLElement): Promise<void> {
  for (let attempt = 0; view.isConnected; attempt++) {
    await new Promise((r) => setTimeout(r, pollDelay(attempt)));
    if (!view.isConnected) return;
    try {
      const o = await ctx.api.order(orderId);
      if (o.status !== 'pending') return settled(ctx, o);
      if (attempt === 20) status.textContent = t(ctx, 'paymentStillPending');
    } catch (e) {
      if ((e as ApiError).code === 'session_required') return ctx.dispatch({ type: 'loggedOut' });
      // A lost connection: keep asking.
    }
  }
}

/** A cancel retried (no answer, provider down) is the same request: one key per order. */
const cancelKeys = new Map<string, string>();

/**
 * The visitor gives up: the payment is closed at the provider (a QR code on screen stops
 * working) and the places go back at once, instead of being held until the deadline. Paid
 * meanwhile, the payment wins and the ticket is shown.
 */
async function cancelOrder(ctx: Ctx, order: BookOrder, button: HTMLButtonElement): Promise<void> {
  if (!window.confirm(t(ctx, 'cancelOrderConfirm'))) return;
  ctx.notice(null);
  button.disabled = true;
  const key = cancelKeys.get(order.orderId) ?? idempotencyKey();
  cancelKeys.set(order.orderId, key);
  try {
    await ctx.api.cancel(order.orderId, key);
    cancelKeys.delete(order.orderId);
    ctx.store.pending(null);
    ctx.dispatch({ type: 'expired' });
    ctx.notice(t(ctx, 'orderCancelled'), 'info');
  } catch (e) {
    button.disabled = false;
    const err = e as ApiError;
    if (err.code === 'session_required') return ctx.dispatch({ type: 'loggedOut' });
    // Anything but "try again later" is final for this key.
    if (err.code !== 'payment_unavailable' && err.code !== 'offline') cancelKeys.delete(order.orderId);
    if (err.code === 'already_paid' && err.details.order) return settled(ctx, err.details.order as BookOrder);
    ctx.notice(refusal(ctx, err));
  }
}

function settled(ctx: Ctx, o: BookOrder): void {
  if (ctx.store.read(Date.now()).pendingOrderId === o.orderId) ctx.store.pending(null);
  if (o.status === 'expired') return expired(ctx);
  ctx.dispatch({ type: 'orderShown', order: o });
}

function expired(ctx: Ctx): void {
  ctx.store.pending(null);
  ctx.dispatch({ type: 'expired' });
  ctx.notice(t(ctx, 'orderExpired'));
}
