import { daysAround, localDate } from '@stile/config';
import type { CloudModule, ModuleContext } from '../../core/module.js';
import type { CapacityView } from '../../core/ports.js';
import { ScreenLive, type BuiltModel, type ScreenListener, type ScreenLiveOptions } from './live.js';
import type { ScreenModel } from './model.js';
import { ScreenRepository } from './repository.js';
import { screenRoutes } from './routes.js';
import { screenModel, type CapacityNow } from './screen-data.js';

export interface ScreenDeps {
  /** Today's published level and load (the capacity module), for a model built before its first `capacity` event. */
  capacity: Pick<CapacityView, 'current'>;
  /** Live streams per site at most (default 50); one more is answered 503 `too_many_streams`. */
  maxStreamsPerSite?: number;
  /** Each watched site's model is rebuilt at least this often (slots running out of time, and the streams' sign of life). Default 5 s. */
  refreshMs?: number;
  live?: ScreenLiveOptions;
}

export type ScreenModule = CloudModule & {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The screen's model now; undefined for a site without sales. */
  model(site: string): Promise<ScreenModel | undefined>;
};

/**
 * The public entrance screen (a TV or LED board at the gate): today's remaining places per
 * time slot, visitors admitted today, the level and its announcement in Chinese and English,
 * live. Its page, model and stream need no credential, so the model holds nothing private.
 *
 * Fed by site events: `changed` (a sale, refund or stored entries), `capacity` (a recount with
 * a new level or load) and `level`; rebuilt per site one at a time (live.ts).
 */
export function createScreenModule(ctx: ModuleContext, deps: ScreenDeps): ScreenModule {
  const repo = new ScreenRepository(ctx.store);
  /** Each site's level, load and admissions from capacity's last recount. */
  const latest = new Map<string, CapacityNow & { date: string }>();
  const build = async (siteId: string): Promise<ScreenModel | undefined> => {
    const site = ctx.sites.site(siteId);
    if (!site) return undefined;
    const now = ctx.clock();
    const date = localDate(now, site.catalogue.timeZone);
    let capacity = latest.get(siteId);
    if (capacity?.date !== date) {
      const c = await deps.capacity.current(siteId);
      if (!c) return undefined;
      capacity = { date: c.load.date, level: c.level, load: c.load.load, admitted: c.load.admitted };
    }
    const rows = await repo.rows(siteId, date, daysAround(date));
    return screenModel(site, capacity, rows, now);
  };
  const live = new ScreenLive(build, ctx.log, deps.live);
  const unsubscribe: (() => void)[] = [];
  let refresh: ReturnType<typeof setInterval> | null = null;
  const model = async (site: string) => (await live.current(site))?.model;
  return {
    name: 'screen',
    model,
    routes: (app) =>
      screenRoutes(app, {
        sites: ctx.sites,
        current: (site): Promise<BuiltModel | undefined> => live.current(site),
        subscribe: (site: string, l: ScreenListener) => live.subscribe(site, l),
        maxStreamsPerSite: deps.maxStreamsPerSite ?? 50,
        log: ctx.log,
        metrics: ctx.metrics,
      }),
    start: () => {
      unsubscribe.push(
        ctx.events.on('changed', (e) => live.changed(e.site)),
        ctx.events.on('capacity', (e) => {
          const prev = latest.get(e.site);
          const next = { date: e.load.date, level: e.level, load: e.load.load, admitted: e.load.admitted };
          latest.set(e.site, next);
          // Capacity recounts every 2 s whether or not anything moved: only a new level, load or admission count is news here.
          if (prev?.date !== next.date || prev.level !== next.level || prev.load !== next.load || prev.admitted !== next.admitted) live.changed(e.site);
        }),
        // A new level comes before the recount's `capacity` event: until that one, a build asks
        // the capacity module (level and load of one count), never a new level with the old load.
        ctx.events.on('level', (e) => {
          const prev = latest.get(e.site);
          if (prev?.date !== e.date || prev.level !== e.level) latest.delete(e.site);
          live.changed(e.site);
        }),
      );
      refresh = setInterval(() => {
        for (const site of live.watchedSites()) live.changed(site);
      }, deps.refreshMs ?? 5000);
      refresh.unref();
      return Promise.resolve();
    },
    stop: () => {
      for (const off of unsubscribe.splice(0)) off();
      if (refresh) clearInterval(refresh);
      live.close();
      return Promise.resolve();
    },
  };
}
