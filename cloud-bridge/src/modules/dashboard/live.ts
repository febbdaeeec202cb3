import type { Logger } from '../../core/log.js';
import type { DashboardModel } from './model.js';

export type DashboardListener = (model: DashboardModel) => void;

/**
 * Who watches each site's dashboard live (the SSE streams), and the new model each of them
 * gets after a change. Models of a site are built one at a time and in order, and a burst of
 * changes while one is built makes one more, not one each.
 */
export class DashboardLive {
  private readonly listeners = new Map<string, Set<DashboardListener>>();
  private readonly queued = new Set<string>();
  private readonly running = new Map<string, Promise<void>>();
  private closed = false;

  constructor(
    private readonly build: (site: string) => Promise<DashboardModel | undefined>,
    private readonly log: Logger,
  ) {}

  subscribe(site: string, listener: DashboardListener): () => void {
    const set = this.listeners.get(site) ?? new Set<DashboardListener>();
    set.add(listener);
    this.listeners.set(site, set);
    return () => set.delete(listener);
  }

  /** Something the site's dashboard shows has moved: its watchers get the new model soon. */
  changed(site: string): void {
    if (this.closed || !this.listeners.get(site)?.size || this.queued.has(site)) return;
    this.queued.add(site);
    const prev = this.running.get(site) ?? Promise.resolve();
    const run = prev
      .then(async () => {
        this.queued.delete(site);
        const model = await this.build(site);
        if (model && !this.closed) for (const l of this.listeners.get(site) ?? []) l(model);
      })
      .catch((err: unknown) => {
        this.queued.delete(site);
        this.log.warn({ err, site }, 'dashboard model not pushed; the next change tries again');
      });
    this.running.set(site, run);
  }

  close(): void {
    this.closed = true;
  }
}
