import type { CloudModule, ModuleContext } from '../../core/module.js';
import { channelRoutes } from './channel-routes.js';
import { Sales, type SalesDeps } from './sales.js';

/** How often unpaid orders past their hold are expired. */
const EXPIRE_EVERY_MS = 30_000;

export type SalesModule = CloudModule & {
  readonly sales: Sales;
  /** Starts the expiry of unpaid holds (every 30 s). */
  start(): Promise<void>;
  stop(): Promise<void>;
};

/**
 * The sales module: the partner channel API (`/v1/channel/…`), orders and availability, and
 * the timer that gives the places of unpaid orders back.
 */
export function createSalesModule(ctx: ModuleContext, deps: SalesDeps): SalesModule {
  const sales = new Sales(ctx, deps);
  // A pause or resume through this instance shows in availability at once (other instances: within the TTL).
  ctx.events.on('channel', (e) => sales.pausesChanged(e.site));
  let holds: ReturnType<typeof setInterval> | undefined;
  return {
    name: 'sales',
    sales,
    routes: (app) => channelRoutes(app, sales, ctx.sites),
    start: () => {
      holds ??= setInterval(() => void sales.expireHolds().catch((err: unknown) => ctx.log.warn({ err }, 'expiring unpaid orders failed; next try in 30 s')), EXPIRE_EVERY_MS);
      holds.unref();
      return Promise.resolve();
    },
    stop: () => {
      clearInterval(holds);
      holds = undefined;
      return Promise.resolve();
    },
  };
}
