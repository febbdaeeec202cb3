import type { Logger } from '../../core/log.js';
import type { ScreenModel } from './model.js';

/** What a stream of the screen gets: a new model (JSON text), or word that the last one is still current. */
export type ScreenPush = { event: 'model'; data: string } | { event: 'fresh'; data: string };
export type ScreenListener = (push: ScreenPush) => void;

/** A model as built, with its JSON text (serialised once for every stream). */
export interface BuiltModel {
  model: ScreenModel;
  json: string;
  /** The JSON without updatedAt: two builds with the same key show the same thing. */
  key: string;
  /** When it was built (performance.now()). */
  builtAt: number;
}

export interface ScreenLiveOptions {
  /** How long a burst of changes is gathered into one build. Default 100 ms. */
  coalesceMs?: number;
  /** A model this young answers a new stream or a GET without a build of its own. Default 1 s. */
  reuseMs?: number;
  /** At most this long between two pushes to a stream while builds succeed (a `fresh` when nothing changed). Default 15 s. */
  freshMs?: number;
}

interface SiteLive {
  listeners: Set<ScreenListener>;
  /** A build waiting for the running one: every change until it starts is in it. */
  queued: Promise<BuiltModel | undefined> | null;
  running: Promise<unknown> | null;
  timer: ReturnType<typeof setTimeout> | null;
  last: BuiltModel | null;
  /** A change since the last build started: `last` is not current. */
  dirty: boolean;
  /** performance.now() of the last push to the listeners. */
  pushedAt: number;
}

/**
 * Who watches each site's entrance screen, and the model they get. Per site, one build at a
 * time: changes during a build make one more after it, a burst of changes within `coalesceMs`
 * makes one, and concurrent callers (a dozen screens reconnecting at once) share a build.
 * Listeners are called synchronously with text already serialised; a slow stream keeps only
 * the newest push (routes.ts) and holds nobody else up.
 */
export class ScreenLive {
  private readonly sites = new Map<string, SiteLive>();
  private readonly coalesceMs: number;
  private readonly reuseMs: number;
  private readonly freshMs: number;
  private closed = false;

  constructor(
    private readonly build: (site: string) => Promise<ScreenModel | undefined>,
    private readonly log: Logger,
    opts: ScreenLiveOptions = {},
    private readonly now: () => number = () => performance.now(),
  ) {
    this.coalesceMs = opts.coalesceMs ?? 100;
    this.reuseMs = opts.reuseMs ?? 1000;
    this.freshMs = opts.freshMs ?? 15_000;
  }

  private state(site: string): SiteLive {
    let s = this.sites.get(site);
    if (!s) this.sites.set(site, (s = { listeners: new Set(), queued: null, running: null, timer: null, last: null, dirty: true, pushedAt: 0 }));
    return s;
  }

  /** Streams open on `site` now. */
  watchers(site: string): number {
    return this.sites.get(site)?.listeners.size ?? 0;
  }

  /** Sites with at least one stream open. */
  watchedSites(): string[] {
    return [...this.sites].filter(([, s]) => s.listeners.size > 0).map(([id]) => id);
  }

  subscribe(site: string, listener: ScreenListener): () => void {
    const s = this.state(site);
    s.listeners.add(listener);
    return () => void s.listeners.delete(listener);
  }

  /** Something the site's screen shows may have moved: its watchers get the new model soon (once per burst). */
  changed(site: string): void {
    if (this.closed) return;
    const s = this.state(site);
    s.dirty = true;
    if (s.timer || s.listeners.size === 0) return;
    s.timer = setTimeout(() => {
      s.timer = null;
      // A build that started since the change has it already (dirty is cleared when a build starts).
      if (s.dirty) this.request(site).catch(() => undefined);
    }, this.coalesceMs);
  }

  /** The current model: a young one already built, else a build (shared with anyone asking meanwhile). Undefined for a site without sales. */
  async current(site: string): Promise<BuiltModel | undefined> {
    const s = this.state(site);
    if (s.last && !s.dirty && this.now() - s.last.builtAt < this.reuseMs) return s.last;
    return this.request(site);
  }

  /** A build that starts after this call: the queued one if there is one, else a new one after the running one. */
  private request(site: string): Promise<BuiltModel | undefined> {
    const s = this.state(site);
    if (s.queued) return s.queued;
    const queued = (s.running ?? Promise.resolve())
      .catch(() => undefined)
      .then(async () => {
        s.queued = null;
        s.dirty = false;
        const run = this.buildOnce(site, s);
        s.running = run;
        try {
          return await run;
        } finally {
          if (s.running === run) s.running = null;
        }
      });
    s.queued = queued;
    return queued;
  }

  private async buildOnce(site: string, s: SiteLive): Promise<BuiltModel | undefined> {
    let model: ScreenModel | undefined;
    try {
      model = await this.build(site);
    } catch (err) {
      s.dirty = true;
      this.log.warn({ err, site }, 'entrance screen model not built; the next change or refresh tries again');
      throw err;
    }
    if (!model) return undefined;
    const json = JSON.stringify(model);
    const built: BuiltModel = { model, json, key: JSON.stringify({ ...model, updatedAt: '' }), builtAt: this.now() };
    const prev = s.last;
    s.last = built;
    if (this.closed || s.listeners.size === 0) return built;
    if (prev?.key !== built.key) this.push(s, { event: 'model', data: json });
    else if (built.builtAt - s.pushedAt >= this.freshMs) this.push(s, { event: 'fresh', data: JSON.stringify({ at: model.updatedAt }) });
    return built;
  }

  private push(s: SiteLive, push: ScreenPush): void {
    s.pushedAt = this.now();
    for (const l of [...s.listeners]) {
      try {
        l(push);
      } catch (err) {
        this.log.warn({ err }, 'entrance screen listener failed');
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const s of this.sites.values()) if (s.timer) clearTimeout(s.timer);
  }
}
