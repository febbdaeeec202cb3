/**
 * The staff dashboard in the browser: renders a {@link DashboardModel} live for one site.
 *
 * The staff token travels in the URL fragment (`#token=…`), which browsers never send to the
 * server; the page keeps it in memory and in sessionStorage (so a reload keeps working) and
 * sends it only as `Authorization: Bearer`, never in a URL (URLs end up in access logs and
 * history): the live stream is read with fetch() and a small SSE parser rather than
 * EventSource (which cannot send headers), and reports are fetched and shown from a blob: URL.
 * Every value from the model reaches the DOM through `textContent` / attributes, never as markup.
 *
 * Bundled by esbuild (cloud-bridge/scripts/build-dashboard.mjs) into dist/web/dashboard.js and
 * loaded by the page the server fills in (src/modules/dashboard/page.ts, from web/dashboard/index.html).
 */
import './dashboard.css';
import type { DashboardModel } from '../../src/modules/dashboard/model.js';
import { isTextKey, type DashboardLang } from '../../src/modules/dashboard/text.js';
import { Connection, tokenFromHash, type ConnState } from './connection.js';
import { $, byId, setItem } from './dom.js';
import { renderCapacity, renderCloud, renderHeader } from './render/capacity.js';
import { Channels } from './render/channels.js';
import { renderChart } from './render/chart.js';
import { renderGates } from './render/gates.js';
import { renderAlerts, renderConflicts } from './render/lists.js';
import { InsightPanel } from './insight.js';
import { Reports } from './reports.js';
import { LS_LANG, View } from './view.js';

/** What the page exposes for tests and for a look from the console. */
export interface DashboardApi {
  lastModel: DashboardModel | null;
  /** Render this model (or, without one, the last one again). */
  render(model?: DashboardModel): void;
}

declare global {
  interface Window {
    __stileDashboard?: DashboardApi;
  }
}

const view = new View(document.body);

function setConnBadge(state: ConnState): void {
  const b = $('conn-badge');
  b.setAttribute('data-state', state);
  b.textContent = view.t(state === 'unauthorized' ? 'unauthorizedShort' : state);
}

const conn = new Connection(view, {
  model: (m) => render(m),
  state: setConnBadge,
  unauthorized() {
    $('auth-error').hidden = false;
    $('loading').hidden = true;
  },
  authorized() {
    $('auth-error').hidden = true;
    $('loading').hidden = view.model !== null;
  },
  notice(text) {
    const n = $('notice');
    n.textContent = text;
    n.hidden = !text;
  },
});
const channels = new Channels(view, conn);
const reports = new Reports(view, conn);
const insight = new InsightPanel(view, conn);

const SECTIONS: ((m: DashboardModel) => void)[] = [
  (m) => renderCloud(view, m),
  (m) => renderCapacity(view, m),
  (m) => renderGates(view, m),
  (m) => channels.render(m),
  (m) => renderChart(view, m),
  (m) => renderAlerts(view, m),
  (m) => renderConflicts(view, m),
  // The month's insight is fetched once, after the first model (it names the park's today).
  () => {
    insight.load();
    insight.render();
  },
];

function render(model?: DashboardModel): void {
  if (model !== undefined) {
    view.model = model;
    api.lastModel = model;
  }
  const m = view.model;
  renderHeader(view, m);
  if (!m) return;
  $('loading').hidden = true;
  $('main').hidden = false;
  for (const section of SECTIONS) {
    try {
      section(m);
    } catch (e) {
      console.error('dashboard: render failed', e); // one broken section must not blank the others
    }
  }
}

/** The labels the server rendered, again in the current language (after a toggle). */
function applyStaticText(): void {
  document.documentElement.lang = view.lang;
  document.title = `${view.t('title')} · ${(view.model?.siteName && view.model.siteName[view.lang]) || view.site}`;
  for (const node of Array.from(document.querySelectorAll<HTMLElement>('[data-i18n]'))) {
    const key = node.getAttribute('data-i18n') ?? '';
    if (isTextKey(key)) node.textContent = view.t(key);
  }
  for (const b of Array.from(document.querySelectorAll('button[data-lang]'))) b.setAttribute('aria-pressed', b.getAttribute('data-lang') === view.lang ? 'true' : 'false');
  document.querySelector('.lang')?.setAttribute('aria-label', view.t('language'));
  setConnBadge(conn.connState);
}

function setLang(next: string | null): void {
  if (next !== 'zh-CN' && next !== 'en') return;
  view.lang = next satisfies DashboardLang;
  setItem('local', LS_LANG, next);
  applyStaticText();
  render();
}

const api: DashboardApi = { lastModel: null, render };
window.__stileDashboard = api;

// ---- start ----
for (const b of Array.from(document.querySelectorAll('button[data-lang]'))) b.addEventListener('click', () => setLang(b.getAttribute('data-lang')));
$('retry').addEventListener('click', () => conn.restart());
byId('report-html', HTMLButtonElement).addEventListener('click', () => reports.open('html'));
byId('report-csv', HTMLButtonElement).addEventListener('click', () => reports.open('csv'));
byId('insight-load', HTMLButtonElement).addEventListener('click', () => insight.load(true));
byId('insight-html', HTMLButtonElement).addEventListener('click', () => insight.open('html'));
byId('insight-csv', HTMLButtonElement).addEventListener('click', () => insight.open('csv'));
window.addEventListener('hashchange', () => {
  const next = tokenFromHash();
  if (next && next !== conn.token) conn.restart();
});
// Phones suspend background tabs: catch up at once when the page is shown again.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') conn.wake();
});
setInterval(() => {
  if (view.model) render();
}, 30_000); // ages, current hour
applyStaticText();
conn.restart();
