/**
 * The kiosk's touchscreen page (Chromium in kiosk mode, 1080×1920 portrait or 1920×1080
 * landscape): one step per screen, drawn from the view model the kiosk daemon sends
 * (`GET /events`, server-sent events; `GET /state` while the stream is down), touches sent as
 * `POST /input`. zh-CN by default, English by the switch on every screen, back to zh-CN when a
 * sale ends. Bundled by esbuild (scripts/build-screen.mjs) into dist/web/kiosk.js.
 */
import './kiosk.css';
import type { Lang } from '../src/sale/model.js';
import type { ScreenInput } from '../src/screen/input.js';
import type { ScreenView, SentView } from '../src/screen/view.js';
import { $, button, el, put } from './dom.js';
import { SCREENS } from './screens.js';
import { say, t, type Ui } from './ui.js';

/** For tests and a look from the console. */
declare global {
  interface Window {
    __kiosk?: { view: ScreenView | null; lang: Lang; sent: number };
  }
}

const POLL_MS = 2000;
const STEP_KEYS = ['step_choose', 'step_identify', 'step_pay', 'step_ticket'] as const;

let view: SentView | null = null;
/** The body drawn last (all of the view but its countdown, the language, the keypad): redrawn only when it changes. */
let drawnKey = '';
const debug = { view: null as ScreenView | null, lang: 'zh-CN' as Lang, sent: 0 };
window.__kiosk = debug;

const ui: Ui = {
  lang: 'zh-CN',
  entry: { open: false, name: '', id: '' },
  send,
  redraw: () => draw(true),
};

function setLang(lang: Lang): void {
  ui.lang = lang;
  debug.lang = lang;
  document.documentElement.lang = lang;
  draw(true);
}

$('lang').addEventListener('click', () => setLang(ui.lang === 'zh-CN' ? 'en' : 'zh-CN'));

function show(next: SentView): void {
  // An answer to a touch can arrive after a newer push on the stream: the newer one stands.
  if (view && next.boot === view.boot && next.seq < view.seq) return;
  // A sale ended: the next visitor starts in Chinese, with no typed number left over.
  if (view?.inSale && !next.inSale) {
    ui.lang = 'zh-CN';
    debug.lang = 'zh-CN';
    document.documentElement.lang = 'zh-CN';
  }
  if (view?.screen !== next.screen) ui.entry = { open: false, name: '', id: '' };
  view = next;
  debug.view = next;
  draw(false);
}

function draw(force: boolean): void {
  const v: SentView | null = view;
  if (!v) return;
  const { seq: _seq, countdown, ...rest } = v;
  const key = JSON.stringify([rest, countdown?.kind, ui.lang, ui.entry.open]);
  drawCountdown(v);
  if (!force && key === drawnKey) return;
  drawnKey = key;
  document.body.setAttribute('data-screen', v.screen);
  document.body.setAttribute('data-phase', v.phase);
  $('title').textContent = t(ui, 'title');
  $('lang').textContent = t(ui, 'lang_switch');
  $('lang').setAttribute('lang', ui.lang === 'zh-CN' ? 'en' : 'zh-CN');
  put(
    $('steps'),
    STEP_KEYS.map((k, i) => el('li', { class: i + 1 === v.step ? 'on' : i + 1 < v.step ? 'past' : '', 'aria-current': i + 1 === v.step ? 'step' : null }, [el('span', { class: 'n', text: String(i + 1) }), t(ui, k)])),
  );
  $('steps').hidden = v.step === 0;
  put(
    $('banners'),
    v.banners.map((b) => el('p', { class: `banner ${b.tone}`, 'data-key': b.key, text: say(ui, b) })),
  );
  const notice = v.notice && !v.banners.some((b) => b.key === v.notice?.key) ? el('p', { class: `notice ${v.notice.tone}`, id: 'notice', role: 'alert', 'data-key': v.notice.key, text: say(ui, v.notice) }) : null;
  put($('main'), [notice, ...SCREENS[v.screen](ui, v)]);
  const foot: HTMLElement[] = [];
  if (v.canBack) foot.push(button(t(ui, 'back'), () => send({ kind: 'back' }), { class: 'secondary', id: 'back' }));
  if (v.canCancel) foot.push(button(t(ui, 'cancel'), () => send({ kind: 'cancel' }), { class: 'danger', id: 'cancel' }));
  if (v.screen === 'choose') foot.push(button(t(ui, 'next'), () => send({ kind: 'confirm' }), { class: 'primary', id: 'next', disabled: v.choose?.level === 'red' }));
  put($('foot'), foot);
}

function drawCountdown(v: ScreenView): void {
  const box = $('countdown');
  const c = v.countdown;
  if (!c) {
    box.hidden = true;
    put(box, []);
    return;
  }
  box.hidden = false;
  box.className = `countdown countdown-${c.kind}`;
  const key = c.kind === 'idle' ? 'countdown_idle' : c.kind === 'pay' ? 'countdown_pay' : 'countdown_done';
  put(box, [
    el('span', { class: 'cd-text', id: 'countdown-text', text: t(ui, key, { seconds: c.seconds }) }),
    c.kind === 'idle' ? button(t(ui, 'still_here'), () => send({ kind: 'stay' }), { class: 'primary', id: 'stay' }) : null,
  ]);
}

function send(input: ScreenInput): void {
  debug.sent += 1;
  fetch('/input', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) })
    .then((res) => (res.ok ? res.json() : null))
    .then((v: SentView | null) => {
      if (v) show(v);
    })
    .catch(() => undefined);
}

// The stream first; while it is down, the state is polled (the daemon restarting, say).
let pollTimer: ReturnType<typeof setInterval> | null = null;
function poll(): void {
  fetch('/state')
    .then((r) => (r.ok ? r.json() : null))
    .then((v: SentView | null) => v && show(v))
    .catch(() => undefined);
}
function connect(): void {
  const es = new EventSource('/events');
  es.addEventListener('view', (e) => {
    if (pollTimer) {
      clearInterval(pollTimer);
      pollTimer = null;
    }
    show(JSON.parse((e as MessageEvent<string>).data) as SentView);
  });
  es.onerror = () => {
    if (!pollTimer) pollTimer = setInterval(poll, POLL_MS);
  };
}
connect();
