import type { Level } from '../../core/capacity-levels.js';
import type { CloudModule, ModuleContext } from '../../core/module.js';
import type { CapacityView, CloudHealth, TodayLoad } from '../../core/ports.js';
import { dashboardModel } from './dashboard-data.js';
import { DashboardLive, type DashboardListener } from './live.js';
import type { DashboardModel } from './model.js';
import { DashboardRepository } from './repository.js';
import { dashboardRoutes } from './routes.js';

export interface DashboardDeps {
  /** Today's level and load (the capacity module). */
  capacity: CapacityView;
  /** The cloud's own health, shown on the dashboard (subscriptions lost, writes failing). */
  health: CloudHealth;
}

export type DashboardModule = CloudModule & {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The dashboard model now (also what a new stream gets first); undefined for a site without sales. */
  model(site: string): Promise<DashboardModel | undefined>;
  /** The model after each change at the site, until the returned function is called. */
  subscribe(site: string, listener: DashboardListener): () => void;
};

/**
 * The staff dashboard: its page, model and live stream. The model is the store's rows (gates,
 * channels, alerts, conflicts) with the capacity module's level and load; the stream gets a
 * new one after each capacity refresh, staff alert and channel pause or resume.
 */
export function createDashboardModule(ctx: ModuleContext, deps: DashboardDeps): DashboardModule {
  const repo = new DashboardRepository(ctx.store);
  /** The level and load of each site's last capacity refresh: what a pushed model shows. */
  const latest = new Map<string, { level: Level; load: TodayLoad }>();
  const build = async (siteId: string, known?: { level: Level; load: TodayLoad }): Promise<DashboardModel | undefined> => {
    const site = ctx.sites.site(siteId);
    if (!site) return undefined;
    const now = ctx.clock();
    const capacity = known ?? (await deps.capacity.current(siteId));
    if (!capacity) return undefined;
    const [rows, cloud] = await Promise.all([repo.rows(siteId), deps.health()]);
    return dashboardModel(site, capacity.level, capacity.load, rows, now, cloud);
  };
  const live = new DashboardLive((site) => build(site, latest.get(site)), ctx.log);
  const unsubscribe: (() => void)[] = [];
  const model = (site: string) => build(site);
  const subscribe = (site: string, listener: DashboardListener) => live.subscribe(site, listener);
  return {
    name: 'dashboard',
    model,
    subscribe,
    routes: (app) => dashboardRoutes(app, { sites: ctx.sites, dashboard: { model, subscribe } }),
    start: () => {
      unsubscribe.push(
        ctx.events.on('capacity', (e) => {
          latest.set(e.site, { level: e.level, load: e.load });
          live.changed(e.site);
        }),
        ctx.events.on('alert', (a) => live.changed(a.site)),
        ctx.events.on('channel', (c) => live.changed(c.site)),
      );
      return Promise.resolve();
    },
    stop: () => {
      for (const off of unsubscribe.splice(0)) off();
      live.close();
      return Promise.resolve();
    },
  };
}
