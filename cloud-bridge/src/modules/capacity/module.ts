import type { Alerts } from '../../core/alerts.js';
import type { CloudModule, ModuleContext } from '../../core/module.js';
import type { CapacityView } from '../../core/ports.js';
import { CapacityMonitor, type CapacityMonitorOptions } from './monitor.js';
import { CapacityRepository } from './repository.js';

export interface CapacityModuleDeps extends CapacityMonitorOptions {
  /** Level changes and partition conflicts become staff alerts here. */
  alerts: Pick<Alerts, 'raise'>;
}

export type CapacityModule = CloudModule &
  CapacityView & {
    start(): Promise<void>;
    stop(): Promise<void>;
    /** Recount a site now, outside the coalesced schedule (tests, tools). */
    refresh(site: string): Promise<void>;
  };

/**
 * Daily capacity: the shared level per site, the retained capacity message, announcements
 * and level alerts. Driven by site events; offers the CapacityView port (dashboard, sales).
 */
export function createCapacityModule(ctx: ModuleContext, deps: CapacityModuleDeps): CapacityModule {
  const monitor = new CapacityMonitor(ctx, new CapacityRepository(ctx.store), deps.alerts, deps);
  return {
    name: 'capacity',
    start: () => monitor.start(),
    stop: () => Promise.resolve(monitor.stop()),
    level: (site) => monitor.level(site),
    current: (site) => monitor.current(site),
    refresh: (site) => monitor.refresh(site),
  };
}
