import type { CloudModule, ModuleContext } from '../../core/module.js';
import type { OrderExtension, VisitorDirectory } from '../../core/ports.js';

export type VisitorsModule = CloudModule & {
  /** Answers the other modules (pos, marketing) about visits and profiles. */
  readonly directory: VisitorDirectory;
  /** Derives the coarse attributes of a sale and keeps the profiles (sales calls it in its transaction). */
  readonly extension: OrderExtension;
};

/** Visitor profiles without personal data at rest (#19 point 1, docs/visitor-data.md). */
export function createVisitorsModule(ctx: ModuleContext): VisitorsModule {
  void ctx;
  const directory: VisitorDirectory = {
    findVisit: () => Promise.resolve(undefined),
    addSpend: () => Promise.resolve(),
    retag: () => Promise.resolve(),
    reachable: () => Promise.resolve(undefined),
  };
  return { name: 'visitors', directory, extension: { name: 'visitors' } };
}
