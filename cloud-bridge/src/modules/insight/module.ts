import type { CloudModule, ModuleContext } from '../../core/module.js';
import { InsightRepository } from './repository.js';
import { insightRoutes } from './routes.js';
import { Insight } from './service.js';

export type InsightModule = CloudModule & { insight: Insight };

/** Product insight: reports, charts and suggestions (#19 point 5, docs/visitor-data/insight.md). */
export function createInsightModule(ctx: ModuleContext): InsightModule {
  const insight = new Insight(new InsightRepository(ctx.store), ctx);
  return {
    name: 'insight',
    insight,
    routes: (app) => insightRoutes(app, { sites: ctx.sites, insight }),
  };
}
