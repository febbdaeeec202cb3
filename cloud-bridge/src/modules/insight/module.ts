import type { CloudModule, ModuleContext } from '../../core/module.js';

/** Product insight: reports, charts and suggestions (#19 point 5, docs/visitor-data.md). */
export function createInsightModule(ctx: ModuleContext): CloudModule {
  void ctx;
  return { name: 'insight' };
}
