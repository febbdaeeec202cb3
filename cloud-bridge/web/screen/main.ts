/**
 * The public entrance screen in the browser: renders a {@link ScreenModel} live for one site,
 * on a TV at the park entrance or an LED board's small browser. No credential, no input: it
 * opens, connects and keeps going (connection.ts); when the server cannot be reached it says so
 * on the screen, with the time of the last news, and greys the numbers out.
 *
 * Bundled by esbuild (cloud-bridge/scripts/build-dashboard.mjs, ES2015) into dist/web/screen.js
 * and loaded by the page the server fills in (src/modules/screen/page.ts, from web/screen/index.html).
 */
import './screen.css';
import type { ScreenModel } from '../../src/modules/screen/model.js';
import { Connection, type ConnState } from './connection.js';
import { render, renderState, renderUpdated } from './render.js';

/** What the page exposes for tests and for a look from the console. */
export interface ScreenApi {
  lastModel: ScreenModel | null;
  state: ConnState;
  /** Server time of the last model or `fresh` word. */
  lastNewsAt: string | null;
}

declare global {
  interface Window {
    __stileScreen?: ScreenApi;
  }
}

const site = document.body.getAttribute('data-site') || '';
const api: ScreenApi = { lastModel: null, state: 'connecting', lastNewsAt: null };
window.__stileScreen = api;
const tz = (): string | undefined => (api.lastModel ? api.lastModel.timeZone : undefined);

const conn = new Connection(`/screen/${encodeURIComponent(site)}`, site, {
  model(m) {
    api.lastModel = m;
    api.lastNewsAt = m.updatedAt;
    try {
      render(m);
    } catch (e) {
      console.error('screen: render failed', e);
    }
  },
  fresh(at) {
    api.lastNewsAt = at;
    renderUpdated(at, tz());
  },
  state(s) {
    api.state = s;
    renderState(s, api.lastNewsAt, tz());
  },
});
conn.start();
