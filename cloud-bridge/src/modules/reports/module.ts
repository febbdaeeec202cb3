import type { CloudModule, ModuleContext } from '../../core/module.js';
import type { InsightView, ReconciliationView } from '../../core/ports.js';
import { Reports } from './report-service.js';
import { ReportsRepository } from './repository.js';
import { reportRoutes } from './routes.js';

export type ReportsModule = CloudModule & { reports: Reports; start(): Promise<void>; stop(): Promise<void> };

/** Daily reports: the staff routes, and the daily timer (only when some site sells). */
export function createReportsModule(ctx: ModuleContext, deps: { reconciliation?: ReconciliationView; insight?: InsightView } = {}): ReportsModule {
  const reports = new Reports(new ReportsRepository(ctx.store), ctx, deps.reconciliation, deps.insight);
  return {
    name: 'reports',
    reports,
    routes: (app) => reportRoutes(app, { sites: ctx.sites, reports }),
    start: () => {
      if (ctx.sites.salesIds.length > 0) reports.start();
      return Promise.resolve();
    },
    stop: () => Promise.resolve(reports.stop()),
  };
}
