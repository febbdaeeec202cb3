import type { CloudModule, ModuleContext } from '../../core/module.js';
import type { OrderExtension, VisitorDirectory } from '../../core/ports.js';
import { loadRegionData, type RegionData } from './geo.js';
import { VisitorsRepository } from './repository.js';
import { visitorRoutes } from './routes.js';
import { Visitors } from './service.js';

export type VisitorsModule = CloudModule & {
  /** Answers the other modules (pos, marketing) about visits and profiles. */
  readonly directory: VisitorDirectory;
  /** Derives the coarse attributes of a sale and keeps the profiles (sales calls it in its transaction). */
  readonly extension: OrderExtension;
  /** For tests and the CLI: one sweep now (admissions → visits, the daily purge when due). */
  sweepNow(): Promise<void>;
  readonly visitors: Visitors;
};

/** How often admissions become visits (off the request path). */
const SWEEP_MS = 60_000;

/** Visitor profiles without personal data at rest (#19 point 1, docs/visitor-data/profiles.md). */
export function createVisitorsModule(ctx: ModuleContext, opts: { regions?: RegionData; sweepMs?: number } = {}): VisitorsModule {
  const given = opts.regions;
  const visitors = new Visitors({ repo: new VisitorsRepository(ctx.store), sites: ctx.sites, regions: given ? () => given : loadRegionData, clock: ctx.clock, log: ctx.log });
  const purged = new Map<string, string>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<void> | undefined;
  const sweepNow = async (): Promise<void> => {
    // One at a time: a slow sweep is not overlapped by the next tick.
    if (running) return running;
    running = (async () => {
      for (const site of ctx.sites.salesIds) {
        try {
          await visitors.sweep(site, purged);
        } catch (err) {
          ctx.log.error({ err, site }, 'visitor sweep failed');
        }
      }
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  return {
    name: 'visitors',
    directory: visitors.directory,
    extension: visitors.extension,
    visitors,
    sweepNow,
    routes: (app) => visitorRoutes(app, { sites: ctx.sites, visitors }),
    start: () => {
      // Bad age bands or tag rules stop the start with the reason, not the first sale.
      for (const site of ctx.sites.salesIds) visitors.config(site);
      // The tables are read here, at start (once per process), not inside the first sale's transaction.
      if (ctx.sites.salesIds.length > 0 && !given) loadRegionData();
      void sweepNow();
      timer = setInterval(() => void sweepNow(), opts.sweepMs ?? SWEEP_MS);
      timer.unref();
      return Promise.resolve();
    },
    stop: async () => {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
