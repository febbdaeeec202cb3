/**
 * Keeping the screen's numbers current, and honest when they are not: the live stream
 * (EventSource: the page is public, so no header is needed), reconnected with exponential
 * backoff and jitter (a park's screens must not all reconnect in the same second); while it is
 * down, the model polled every 10 s; and when neither answers, the state `lost` with the
 * server time of the last news, which the page shows instead of passing old numbers off as live.
 *
 * ES2015 and XMLHttpRequest only (LED boards run old browsers): no fetch, no async.
 */
import type { ScreenModel } from '../../src/modules/screen/model.js';

/** connecting: nothing yet. live: the stream is up. polling: the stream is down but the model answers. lost: nothing answers. */
export type ConnState = 'connecting' | 'live' | 'polling' | 'lost';

export interface ConnectionEvents {
  model(m: ScreenModel): void;
  /** The server says the last model is still current (server time of its build). */
  fresh(at: string): void;
  state(s: ConnState): void;
}

/** The server pushes at least every 15 s while it builds models: a stream silent for longer than this is dead. */
const IDLE_MS = 45_000;
const POLL_MS = 10_000;
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 60_000;
const LEVELS = ['green', 'yellow', 'orange', 'red'];

/** A model from the server, checked as far as the page relies on it. */
export function isModel(m: unknown, site: string): m is ScreenModel {
  if (!m || typeof m !== 'object') return false;
  const o = m as Record<string, unknown>;
  const ann = o.announcement as Record<string, unknown> | null | undefined;
  return (
    o.site === site &&
    typeof o.remaining === 'number' &&
    typeof o.admittedToday === 'number' &&
    typeof o.capacity === 'number' &&
    typeof o.updatedAt === 'string' &&
    typeof o.date === 'string' &&
    LEVELS.indexOf(String(o.level)) >= 0 &&
    Array.isArray(o.slots) &&
    !!ann &&
    typeof ann.zh === 'string' &&
    typeof ann.en === 'string'
  );
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export class Connection {
  state: ConnState = 'connecting';
  /** A stream is open and has said something. */
  private streamUp = false;
  private es: EventSource | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  private polling: XMLHttpRequest | null = null;
  private delay = FIRST_DELAY_MS;
  private lastUpdatedAt = '';

  constructor(
    /** `/screen/{site}` */
    private readonly base: string,
    private readonly site: string,
    private readonly on: ConnectionEvents,
  ) {}

  start(): void {
    if (typeof EventSource === 'function') this.connect();
    else this.startPolling(); // no EventSource: polling is all there is
  }

  private setState(s: ConnState): void {
    if (this.state === s) return;
    this.state = s;
    this.on.state(s);
  }

  /** A model from the stream or a poll; an older answer overtaken by a newer one is dropped. */
  private accept(m: unknown): boolean {
    if (!isModel(m, this.site)) return false;
    if (this.lastUpdatedAt && m.updatedAt < this.lastUpdatedAt) return true;
    this.lastUpdatedAt = m.updatedAt;
    this.on.model(m);
    return true;
  }

  private connect(): void {
    this.closeStream();
    if (this.reconnectTimer) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
    }
    const es = new EventSource(`${this.base}/stream`);
    this.es = es;
    es.addEventListener('model', (e) => {
      if (this.es !== es) return;
      if (this.accept(parse((e as MessageEvent<string>).data))) this.heard(es);
    });
    es.addEventListener('fresh', (e) => {
      if (this.es !== es) return;
      const f = parse((e as MessageEvent<string>).data) as { at?: unknown } | undefined;
      if (f && typeof f.at === 'string') this.on.fresh(f.at);
      this.heard(es);
    });
    // A refused stream (503), a network error, the server going away: ours to retry, not EventSource's.
    es.onerror = () => {
      if (this.es === es) this.streamDown();
    };
    this.armIdle(es);
  }

  /** News on the stream: it is live, the backoff starts again from the beginning. */
  private heard(es: EventSource): void {
    this.streamUp = true;
    this.delay = FIRST_DELAY_MS;
    this.stopPolling();
    this.setState('live');
    this.armIdle(es);
  }

  private armIdle(es: EventSource): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.es === es) this.streamDown();
    }, IDLE_MS);
  }

  private closeStream(): void {
    this.streamUp = false;
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (this.es) {
      const es = this.es;
      this.es = null;
      es.close();
    }
  }

  private streamDown(): void {
    this.closeStream();
    this.scheduleReconnect();
    this.startPolling();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer) return;
    // Full delay up to twice the last, with jitter: 1, 2, 4 … 60 s.
    const wait = Math.round(this.delay * (0.5 + Math.random() * 0.5));
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, wait);
  }

  private startPolling(): void {
    if (this.pollTimer) return;
    this.poll();
    this.pollTimer = setInterval(() => this.poll(), POLL_MS);
  }

  private stopPolling(): void {
    if (this.pollTimer) {
      clearInterval(this.pollTimer);
      this.pollTimer = null;
    }
    if (this.polling) {
      const x = this.polling;
      this.polling = null;
      x.abort();
    }
  }

  private poll(): void {
    if (this.polling) return;
    const xhr = new XMLHttpRequest();
    this.polling = xhr;
    const done = (ok: boolean): void => {
      if (this.polling !== xhr) return;
      this.polling = null;
      if (this.streamUp) return; // the stream came back meanwhile
      this.setState(ok ? 'polling' : 'lost');
    };
    xhr.open('GET', `${this.base}/model`);
    xhr.timeout = 8000;
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.onload = () => done(xhr.status === 200 && !this.streamUp ? this.accept(parse(xhr.responseText)) : xhr.status === 200);
    xhr.onerror = () => done(false);
    xhr.ontimeout = () => done(false);
    xhr.send();
  }
}
