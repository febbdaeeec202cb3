/**
 * The visitor booking page in the browser (mobile first; WeChat's and Alipay's in-app browsers
 * and plain phone browsers): date and slot with the live remaining count, ticket types with
 * their prices, real-name visitors, phone + SMS code, payment with the provider that fits the
 * browser, the ticket's QR code, and "my orders" with refund and rebooking. zh-CN by default,
 * English by the switch or ?lang=en; a large-text mode for older visitors, remembered.
 *
 * Bundled by esbuild (cloud-bridge/scripts/build-dashboard.mjs, ES2017) into dist/web/booking.js
 * and loaded by the shell the server fills in (src/modules/booking/page.ts from web/booking/index.html).
 */
import './booking.css';
import { BOOK_LANGS, type BookLang } from '../../src/modules/booking/page-text.js';
import { ApiError, BookApi } from './api.js';
import { browserKind } from './client-env.js';
import { $, el, put } from './dom.js';
import { refusal, t, type Ctx } from './context.js';
import { advance, hashOf, initialState, parseHash, type FlowEvent } from './flow.js';
import { PageStore } from './store.js';
import type { Availability, BookInfo, Lang } from './types.js';
import { loginView } from './views/login.js';
import { ordersView } from './views/orders.js';
import { payView } from './views/pay.js';
import { pickView } from './views/pick.js';
import { ticketView } from './views/ticket.js';
import { visitorsView } from './views/visitors.js';
import { oauthReturn } from './wechat.js';

/** What the page exposes for tests and a look from the console. */
export interface BookingDebug {
  ctx: Ctx | null;
  ready: boolean;
}
declare global {
  interface Window {
    __stileBooking?: BookingDebug;
  }
}

const site = document.body.getAttribute('data-site') || '';
const store = new PageStore(site);
const remembered = store.read(Date.now());
const fromQuery = new URLSearchParams(window.location.search).get('lang');
const isLang = (x: string | null): x is BookLang => x !== null && (BOOK_LANGS as readonly string[]).indexOf(x) >= 0;
// ?lang= first (the server rendered the shell in it), then the visitor's last choice on this phone, then the shell's.
const lang: Lang = isLang(fromQuery) ? fromQuery : isLang(remembered.lang) ? remembered.lang : document.documentElement.lang === 'en' ? 'en' : 'zh-CN';
document.documentElement.lang = lang;
const debug: BookingDebug = { ctx: null, ready: false };
window.__stileBooking = debug;

// Back from WeChat's web authorization: the openid (or why not) is in the fragment. Take it out
// of the address at once (history, screenshots, a shared link), keep the page's own fragment.
const fromWeChat = oauthReturn(window.location.hash);
if (fromWeChat) {
  history.replaceState(null, '', window.location.pathname + window.location.search + fromWeChat.hash);
  if (fromWeChat.openid) store.setWechatOpenid(fromWeChat.openid);
}

const api = new BookApi(`/v1/book/${encodeURIComponent(site)}`);
api.token = remembered.token;

applyLargeText(remembered.largeText);
wireHeader();

// The park's date comes with the shell (data-today), which preloads both answers: ask for them together.
const shellToday = document.body.getAttribute('data-today') || '';
const firstAvail: Promise<Availability | null> = /^\d{4}-\d{2}-\d{2}$/.test(shellToday) ? api.availability(shellToday).catch(() => null) : Promise.resolve(null);
api.info().then(start, (e: ApiError) => {
  const box = $('view');
  const again = el('button', { type: 'button', class: 'secondary', text: t({ lang }, 'retry') });
  again.addEventListener('click', () => window.location.reload());
  put(box, [el('p', { class: 'error', role: 'alert', text: refusal({ lang }, e) }), again]);
});

function start(info: BookInfo): void {
  const ctx: Ctx = {
    site,
    lang,
    info,
    api,
    store,
    browser: browserKind(navigator.userAgent),
    state: initialState(info.today, api.token !== null),
    avail: null,
    visitors: [],
    extras: { couponCode: '', marketingConsent: false },
    phoneMasked: remembered.phoneMasked,
    orderKey: null,
    // Coming back with an openid means the visitor tapped WeChat Pay: open the sheet straight away.
    wechat: { openid: fromWeChat?.openid ?? store.wechatOpenid(), error: fromWeChat?.error ?? null, payOnArrival: fromWeChat?.openid != null },
    dispatch(e: FlowEvent) {
      const before = ctx.state.step;
      ctx.state = advance(ctx.state, e);
      if (ctx.state.step !== before) ctx.notice(null);
      render(true);
    },
    rerender: () => render(false),
    async loadAvailability(date: string) {
      try {
        const a: Availability = await api.availability(date);
        if (a.date === ctx.state.draft.date) ctx.avail = a;
      } catch (e) {
        ctx.notice(refusal(ctx, e as ApiError));
      }
      if (ctx.state.step === 'pick') render(false);
    },
    notice(text, kind = 'error') {
      const n = $('notice');
      n.className = `notice ${kind}`;
      n.textContent = text ?? '';
      n.hidden = text === null;
    },
  };
  debug.ctx = ctx;
  api.onUnauthorized = () => {
    store.session(null, null, null);
    api.token = null;
    ctx.phoneMasked = null;
    ctx.state = { ...ctx.state, loggedIn: false };
  };
  document.title = `${info.name[lang]} · ${t(ctx, 'title')}`;
  $('site-name').textContent = info.name[lang];

  // Back from the provider (#pay/{order}), a reload on a step, or an order left waiting for payment.
  const at = parseHash(window.location.hash);
  if (at.orderId && (at.step === 'pay' || at.step === 'ticket') && api.token) ctx.state = { ...ctx.state, step: at.step, orderId: at.orderId };
  else if (at.step === 'orders') ctx.state = advance(ctx.state, { type: 'openOrders' });
  else if (remembered.pendingOrderId && api.token) ctx.state = { ...ctx.state, step: 'pay', orderId: remembered.pendingOrderId };

  let lastHash = '';
  function render(moved: boolean): void {
    const s = ctx.state;
    const view = $('view');
    const node =
      s.step === 'pick'
        ? pickView(ctx)
        : s.step === 'visitors'
          ? visitorsView(ctx)
          : s.step === 'login'
            ? loginView(ctx, () => ctx.dispatch({ type: 'loggedIn' }))
            : s.step === 'pay'
              ? payView(ctx)
              : s.step === 'ticket'
                ? ticketView(ctx)
                : ordersView(ctx);
    // Keep the scroll position and focus on a rerender of the same step; a new step starts at the top with its heading focused.
    const y = window.scrollY;
    put(view, [node]);
    const hash = hashOf(s);
    if (hash !== lastHash) {
      if (moved && lastHash !== '') history.pushState(null, '', hash);
      else history.replaceState(null, '', hash);
      lastHash = hash;
    }
    $('orders-link').setAttribute('aria-current', String(s.step === 'orders'));
    updateLangLink();
    if (moved) {
      window.scrollTo(0, 0);
      const h = document.getElementById('step-title');
      if (h) h.focus({ preventScroll: true });
    } else window.scrollTo(0, y);
    debug.ready = true;
  }

  window.addEventListener('popstate', () => {
    const to = parseHash(window.location.hash);
    lastHash = window.location.hash;
    ctx.state = { ...ctx.state, step: to.step === 'pay' && !to.orderId ? 'pick' : to.step, orderId: to.orderId ?? ctx.state.orderId };
    if ((ctx.state.step === 'pay' || ctx.state.step === 'orders' || ctx.state.step === 'ticket') && !api.token) ctx.state = advance({ ...ctx.state, step: 'pick' }, { type: 'openOrders' });
    ctx.notice(null);
    render(false);
  });
  $('orders-link').addEventListener('click', () => ctx.dispatch({ type: 'openOrders' }));

  void firstAvail.then((a) => {
    if (a && a.date === ctx.state.draft.date) {
      ctx.avail = a;
      if (ctx.state.step === 'pick') render(false);
    } else void ctx.loadAvailability(ctx.state.draft.date);
  });
  render(false);
  // The count is live: ask again every 30 s while the visitor is choosing.
  setInterval(() => {
    if (ctx.state.step === 'pick' && document.visibilityState !== 'hidden') void ctx.loadAvailability(ctx.state.draft.date);
  }, 30_000);
}

function applyLargeText(on: boolean): void {
  document.documentElement.classList.toggle('large', on);
  const b = document.getElementById('large-toggle');
  if (b) b.setAttribute('aria-pressed', String(on));
}

function wireHeader(): void {
  const large = $('large-toggle');
  large.addEventListener('click', () => {
    const on = !document.documentElement.classList.contains('large');
    applyLargeText(on);
    store.largeText(on);
  });
  large.setAttribute('aria-pressed', String(remembered.largeText));
  large.textContent = t({ lang }, 'largeText');
  $('orders-link').textContent = t({ lang }, 'myOrders');
  const link = $('lang-link');
  link.textContent = t({ lang }, 'langSwitch');
  link.setAttribute('lang', lang === 'en' ? 'zh-CN' : 'en');
  link.addEventListener('click', () => {
    updateLangLink();
    store.lang(lang === 'en' ? 'zh-CN' : 'en');
  });
  updateLangLink();
}

/** The switch is a link to the other language that keeps the step (its hash). */
function updateLangLink(): void {
  const u = new URL(window.location.href);
  u.searchParams.set('lang', lang === 'en' ? 'zh-CN' : 'en');
  $('lang-link').setAttribute('href', u.pathname + u.search + window.location.hash);
}
