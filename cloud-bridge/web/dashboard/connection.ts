/**
 * Keeping the model current: the live stream (server-sent events over fetch(), so the token
 * goes in a header) first, polling every 2 s while it is down, and a wrong token told apart
 * from a network blip.
 */
import type { DashboardModel } from '../../src/modules/dashboard/model.js';
import { apiBase, authHeaders, errorText, isModel } from './api.js';
import { getItem, setItem } from './dom.js';
import { readEvents } from './sse.js';
import type { View } from './view.js';

export type ConnState = 'connecting' | 'live' | 'reconnecting' | 'polling' | 'unauthorized';

export interface ConnectionEvents {
  model(m: DashboardModel): void;
  state(s: ConnState): void;
  /** The token is missing or refused: stream and polling stopped until restart() or a good answer. */
  unauthorized(): void;
  /** A model arrived again after unauthorized() (or restart() was called). */
  authorized(): void;
  /** A refusal other than 401 to show above the numbers; '' clears it. */
  notice(text: string): void;
}

const STREAM_GRACE_MS = 5000;
const POLL_MS = 2000;
// The server sends a comment line every 20 s; a stream silent for longer is dead (a dropped
// connection fetch() would otherwise wait on forever): drop it and connect again.
const STREAM_IDLE_MS = 45_000;

/** The token from the URL fragment (`#token=…`), which browsers never send to the server. */
export function tokenFromHash(): string | null {
  for (const part of String(location.hash || '').replace(/^#/, '').split('&')) {
    if (part.startsWith('token=')) {
      let raw = part.slice(6);
      try {
        raw = decodeURIComponent(raw);
      } catch {
        /* keep as is */
      }
      return raw || null;
    }
  }
  return null;
}

export class Connection {
  token: string | null = null;
  streamUp = false;
  authFailed = false;
  connState: ConnState = 'connecting';
  private readonly api: string;
  private readonly ssToken: string;
  private stream: AbortController | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private downTimer: ReturnType<typeof setTimeout> | null = null;
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private reconnectDelay = 1000;
  private lastProbe = 0;
  private lastUpdatedAt: string | null = null;

  constructor(
    private readonly view: View,
    private readonly on: ConnectionEvents,
  ) {
    this.api = apiBase(view.site);
    this.ssToken = `stile.dashboard.token:${view.site}`;
  }

  /** (Re)start with the token of the fragment, or of this tab's session (a reload keeps working). */
  restart(): void {
    const fromHash = tokenFromHash();
    if (fromHash) setItem('session', this.ssToken, fromHash);
    this.token = fromHash ?? getItem('session', this.ssToken);
    this.clearUnauthorized();
    this.reconnectDelay = 1000;
    if (!this.token) return this.unauthorized();
    this.setState('connecting');
    this.connect();
    void this.fetchModel();
  }

  /** The tab is shown again (phones suspend background tabs): catch up at once. */
  wake(): void {
    if (this.token && !this.authFailed && !this.streamUp) {
      this.connect();
      void this.fetchModel();
    }
  }

  setState(state: ConnState): void {
    this.connState = state;
    this.on.state(state);
  }

  headers(extra?: Record<string, string>): Record<string, string> {
    return authHeaders(this.token ?? '', extra);
  }

  unauthorized(): void {
    this.authFailed = true;
    this.stopStream();
    this.stopPolling();
    this.setState('unauthorized');
    this.on.unauthorized();
  }

  private clearUnauthorized(): void {
    this.authFailed = false;
    this.on.authorized();
  }

  /** One GET of the model. */
  fetchModel(): Promise<void> {
    if (!this.token) {
      this.unauthorized();
      return Promise.resolve();
    }
    this.lastProbe = Date.now();
    return fetch(`${this.api}/dashboard`, { headers: this.headers(), cache: 'no-store' })
      .then((res) => {
        if (res.status === 401) return this.unauthorized();
        if (!res.ok) return res.text().then((body) => this.on.notice(errorText(this.view, res, body)));
        return res.json().then((m: unknown) => {
          if (this.authFailed) {
            this.clearUnauthorized();
            this.connect();
          }
          this.on.notice('');
          this.accept(m);
        });
      })
      .catch(() => {
        /* offline: the badge already says so */
      });
  }

  private accept(m: unknown): void {
    if (!isModel(m)) return;
    if (this.lastUpdatedAt) {
      const a = Date.parse(m.updatedAt);
      const b = Date.parse(this.lastUpdatedAt);
      if (Number.isFinite(a) && Number.isFinite(b) && a < b) return; // an older answer overtaken by a newer one
    }
    this.lastUpdatedAt = m.updatedAt;
    this.on.model(m);
  }

  private stopPolling(): void {
    if (this.pollTimer) {
      clearInterval(this.pollTimer);
      this.pollTimer = null;
    }
  }

  private startPolling(): void {
    if (this.pollTimer || this.streamUp || this.authFailed) return;
    this.setState('polling');
    void this.fetchModel();
    this.pollTimer = setInterval(() => {
      if (this.streamUp) this.stopPolling();
      else void this.fetchModel();
    }, POLL_MS);
  }

  private closeStream(): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (this.stream) {
      const s = this.stream;
      this.stream = null;
      s.abort();
    }
    this.streamUp = false;
  }

  private stopStream(): void {
    this.closeStream();
    if (this.downTimer) {
      clearTimeout(this.downTimer);
      this.downTimer = null;
    }
    if (this.reconnectTimer) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
    }
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.authFailed) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, this.reconnectDelay);
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, 15_000);
  }

  private streamDown(ctrl: AbortController): void {
    if (this.stream !== ctrl) return;
    this.closeStream();
    if (!this.pollTimer) this.setState('reconnecting');
    if (!this.downTimer && !this.pollTimer) {
      this.downTimer = setTimeout(() => {
        this.downTimer = null;
        if (!this.streamUp) this.startPolling();
      }, STREAM_GRACE_MS);
    }
    this.scheduleReconnect();
    // One GET right away: tells a wrong token (401) apart from a network blip.
    if (Date.now() - this.lastProbe > POLL_MS) void this.fetchModel();
  }

  connect(): void {
    // Not stopStream(): the "down for 5 s, start polling" timer must survive our own reconnect attempts.
    this.closeStream();
    if (this.reconnectTimer) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
    }
    if (!this.token) return this.unauthorized();
    if (typeof AbortController !== 'function' || typeof TextDecoder !== 'function' || typeof ReadableStream !== 'function') return this.startPolling();
    const ctrl = new AbortController();
    this.stream = ctrl;
    const alive = (): boolean => {
      if (this.stream !== ctrl) return false;
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => this.streamDown(ctrl), STREAM_IDLE_MS);
      return true;
    };
    fetch(`${this.api}/dashboard/stream`, { headers: this.headers({ Accept: 'text/event-stream' }), cache: 'no-store', signal: ctrl.signal })
      .then((res) => {
        if (this.stream !== ctrl) return;
        if (res.status === 401) return this.unauthorized();
        if (!res.ok || !res.body) return this.streamDown(ctrl);
        this.streamUp = true;
        this.reconnectDelay = 1000;
        if (this.downTimer) {
          clearTimeout(this.downTimer);
          this.downTimer = null;
        }
        this.stopPolling();
        this.setState('live');
        alive();
        return readEvents(res.body, alive, (data) => {
          let m: unknown;
          try {
            m = JSON.parse(data);
          } catch {
            return;
          }
          this.accept(m);
        }).then(() => this.streamDown(ctrl)); // the server ended the stream
      })
      .catch(() => this.streamDown(ctrl)); // network error, or our own abort (then stream !== ctrl)
  }
}
