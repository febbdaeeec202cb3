/**
 * The touchscreen's local HTTP server (node:http), on 127.0.0.1 unless kiosk.yaml says
 * otherwise: `GET /` the page shell (CSP with a fresh nonce, SRI), `GET /kiosk.js|css` the
 * built files, `GET /state` the screen's view model, `GET /events` the same as server-sent
 * events whenever it changes, `POST /input` a touch. Anything on the kiosk can reach
 * localhost, so the API is no more than the screen: the view carries no full ID number, no
 * key, no order id; an input is one of the touches the screen has (input.ts), nothing that
 * reports money in or a payment's result. Requests naming another host (DNS rebinding) or
 * coming from another origin are refused; inputs must be JSON (no cross-site form posts).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { KioskRuntime } from '../daemon/runtime.js';
import type { SaleConfig } from '../sale/model.js';
import { fillShell, loadScreenAssets, newNonce, screenCsp, type Asset, type ScreenAssets } from './assets.js';
import { inputAction, ScreenInputSchema } from './input.js';
import { WindowApi, type WindowApiOptions } from './window-api.js';
import { loadWindowAssets } from './window-assets.js';
import { screenView, type SentView } from './view.js';

export type ScreenRuntime = Pick<KioskRuntime, 'state' | 'catalogue' | 'subscribe' | 'dispatch' | 'startSale'>;

export interface ScreenServerOptions {
  host: string;
  port: number;
  sale: SaleConfig;
  runtime: ScreenRuntime;
  log: Logger;
  now?: () => number;
  /** Tests: the built page from elsewhere. */
  assets?: () => ScreenAssets;
  /** Tests: the built staff window page from elsewhere. */
  windowAssets?: () => ScreenAssets;
}

const MAX_BODY = 4096;
const HEARTBEAT_MS = 15_000;
const BASE_HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' };

export class ScreenServer {
  private server: Server | undefined;
  private readonly clients = new Set<ServerResponse>();
  private lastJson = '';
  private seq = 0;
  private readonly boot = randomBytes(6).toString('hex');
  private unsubscribe: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private assets: ScreenAssets | undefined;
  private windowAssets: ScreenAssets | undefined;
  private windowApi: WindowApi | undefined;
  private readonly log: Logger;
  private readonly now: () => number;
  port = 0;

  constructor(private readonly o: ScreenServerOptions) {
    this.log = o.log.child({ module: 'screen' });
    this.now = o.now ?? Date.now;
  }

  /** The view now, numbered: the same number until it changes. */
  view(): SentView {
    const v = screenView(this.o.runtime.state(), { sale: { config: this.o.sale, catalogue: this.o.runtime.catalogue() } }, this.now());
    const json = JSON.stringify(v);
    if (json !== this.lastJson) {
      this.lastJson = json;
      this.seq += 1;
    }
    return { ...v, seq: this.seq, boot: this.boot };
  }

  async start(): Promise<void> {
    // The page is part of the kiosk: a build without it is a start-up error, not a blank screen later.
    this.assets = (this.o.assets ?? loadScreenAssets)();
    if (this.o.sale.mode === 'window') this.windowAssets = (this.o.windowAssets ?? loadWindowAssets)();
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        this.log.error({ event: 'screen_error', err: err.message }, 'screen request failed');
        if (!res.headersSent) this.json(res, 500, { error: 'internal' });
        else res.end();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
    this.view();
    // The machine's listeners run on every event, ticks included: a view goes out only when it changed.
    this.unsubscribe = this.o.runtime.subscribe(() => this.push());
    this.heartbeat = setInterval(() => {
      for (const c of this.clients) c.write(': keep-alive\n\n');
    }, HEARTBEAT_MS);
    const loopback = ['127.0.0.1', '::1', 'localhost'].includes(this.o.host);
    if (!loopback) this.log.warn({ event: 'screen_exposed', host: this.o.host }, 'the screen page is reachable beyond this machine: anyone who reaches it can touch the screen');
    this.log.info({ event: 'screen_listening', host: this.o.host, port: this.port }, `screen page on http://${this.o.host}:${this.port}/`);
  }

  /** kiosk.mode: window: the staff page's API on this server (docs/kiosk-screen.md#the-staff-window-page). */
  attachWindow(o: Omit<WindowApiOptions, 'runtime' | 'sale' | 'log' | 'now'>): void {
    this.windowApi = new WindowApi({ ...o, runtime: this.o.runtime, sale: this.o.sale, log: this.o.log, now: this.now });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    clearInterval(this.heartbeat);
    for (const c of this.clients) c.end();
    this.clients.clear();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private push(): void {
    const seq = this.seq;
    const v = this.view();
    if (v.seq === seq) return;
    const data = JSON.stringify(v);
    for (const c of this.clients) c.write(`event: view\ndata: ${data}\n\n`);
  }

  /** Host is this server (not a rebound DNS name), and a browser's Origin, when sent, is this page's. */
  private trusted(req: IncomingMessage): boolean {
    const host = req.headers.host ?? '';
    const names = new Set([`127.0.0.1:${this.port}`, `localhost:${this.port}`, `[::1]:${this.port}`, `${this.o.host}:${this.port}`]);
    if (!names.has(host)) return false;
    const origin = req.headers.origin;
    return origin === undefined || origin === `http://${host}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://screen');
    if (!this.trusted(req)) {
      this.log.warn({ event: 'screen_refused', host: req.headers.host, origin: req.headers.origin, path: url.pathname }, 'request from another host or origin');
      return this.json(res, 403, { error: 'forbidden' });
    }
    const route = `${req.method} ${url.pathname}`;
    const assets = this.assets as ScreenAssets;
    const win = this.windowAssets;
    if (win) {
      // The staff PC: the window page at / and /window; sale touches only through a staff session.
      if (route === 'GET /' || route === 'GET /window') return this.page(res, win, 'window');
      if (route === 'GET /window.js') return this.asset(req, res, url, win.script);
      if (route === 'GET /window.css') return this.asset(req, res, url, win.style);
      if (url.pathname.startsWith('/window/')) {
        if (this.windowApi) return this.windowApi.handle(req, res, url.pathname);
        return this.json(res, 503, { error: 'no_window' });
      }
      if (route === 'POST /input') return this.refuse(res, 403, 'staff_session_required', 'the staffed window sells through /window/sale with a staff session');
    }
    switch (route) {
      case 'GET /':
        return this.page(res, assets);
      case 'GET /kiosk.js':
        return this.asset(req, res, url, assets.script);
      case 'GET /kiosk.css':
        return this.asset(req, res, url, assets.style);
      case 'GET /state':
        return this.json(res, 200, this.view());
      case 'GET /events':
        return this.events(req, res);
      case 'POST /input':
        return this.input(req, res);
      default:
        return this.json(res, url.pathname === '/input' || url.pathname === '/state' || url.pathname === '/events' ? 405 : 404, { error: 'not_found' });
    }
  }

  private page(res: ServerResponse, a: ScreenAssets, name: 'kiosk' | 'window' = 'kiosk'): void {
    const nonce = newNonce();
    const csp = screenCsp(nonce);
    const html = fillShell(a.template, {
      csp,
      nonce,
      scriptUrl: `/${name}.js?v=${a.script.version}`,
      scriptIntegrity: a.script.integrity,
      styleUrl: `/${name}.css?v=${a.style.version}`,
      styleIntegrity: a.style.integrity,
    });
    res.writeHead(200, { ...BASE_HEADERS, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': `${csp}; frame-ancestors 'none'` });
    res.end(html);
  }

  private asset(req: IncomingMessage, res: ServerResponse, url: URL, a: Asset): void {
    const etag = `"${a.version}"`;
    const headers = {
      'x-content-type-options': 'nosniff',
      'content-type': a.contentType,
      etag,
      'cache-control': url.searchParams.get('v') === a.version ? 'public, max-age=31536000, immutable' : 'no-cache',
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, headers);
    res.end(a.body);
  }

  private events(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { ...BASE_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
    res.write(`retry: 1000\nevent: view\ndata: ${JSON.stringify(this.view())}\n\n`);
    this.clients.add(res);
    req.on('close', () => this.clients.delete(res));
  }

  private async input(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return this.refuse(res, 415, 'not_json', 'inputs are JSON');
    const body = await readBody(req, MAX_BODY);
    if (body === undefined) return this.refuse(res, 413, 'too_large', `at most ${MAX_BODY} bytes`);
    let raw: unknown;
    try {
      raw = JSON.parse(body);
    } catch {
      return this.refuse(res, 400, 'bad_json', 'not JSON');
    }
    const parsed = ScreenInputSchema.safeParse(raw);
    if (!parsed.success) {
      const kind = typeof raw === 'object' && raw !== null && typeof (raw as { kind?: unknown }).kind === 'string' ? String((raw as { kind: string }).kind).slice(0, 40) : undefined;
      // Only the paths and messages: a rejected id_typed may hold a (wrong) ID number.
      const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      return this.refuse(res, 400, 'bad_input', 'not a touch this screen has', { kind, issues });
    }
    const action = inputAction(parsed.data, this.o.runtime.state());
    if (action.kind === 'start') this.o.runtime.startSale();
    else if (action.kind === 'event') this.o.runtime.dispatch(action.event);
    // The machine steps synchronously: the answer is the screen after the touch.
    this.push();
    this.json(res, 200, this.view());
  }

  private refuse(res: ServerResponse, status: number, error: string, message: string, extra: Record<string, unknown> = {}): void {
    this.log.warn({ event: 'screen_input_refused', status, error, ...extra }, message);
    this.json(res, status, { error, message, ...('issues' in extra ? { issues: extra.issues } : {}) });
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { ...BASE_HEADERS, 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  }
}

/** The request body as text, or undefined when it runs past `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
