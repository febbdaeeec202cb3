import type { CloudModule, ModuleContext } from '../../core/module.js';
import type { SmsSender } from '../../core/notify/sms.js';
import type { CouponRedeemer, OrderExtension, VisitorDirectory } from '../../core/ports.js';
import { MarketingEngine } from './engine.js';
import { couponExtension, posRedeemer } from './redemption.js';
import { MarketingRepository } from './repository.js';
import { marketingRoutes } from './routes.js';
import type { WeatherProvider } from './weather.js';

export interface MarketingDeps {
  visitors: VisitorDirectory;
  sms: SmsSender;
  /** A forecast service; default: cloud.yaml marketing.weather.file. */
  weather?: WeatherProvider;
  /** How often the issuing rules run (default every minute). */
  everyMs?: number;
}

export type MarketingModule = CloudModule & {
  /** Coupons on orders: held at creation, redeemed on payment, given back when the order expires. */
  readonly extension: OrderExtension;
  /** Coupons at the POS. */
  readonly redeemer: CouponRedeemer;
  /** The issuing rules and membership (runs every minute; tests run it by hand). */
  readonly engine: MarketingEngine;
};

const EVERY_MS = 60_000;

/** Membership and coupons (#19 point 3, docs/visitor-data/coupons.md). */
export function createMarketingModule(ctx: ModuleContext, deps: MarketingDeps): MarketingModule {
  const repo = new MarketingRepository(ctx.store);
  const engine = new MarketingEngine({ repo, sites: ctx.sites, clock: ctx.clock, log: ctx.log, visitors: deps.visitors, sms: deps.sms, ...(deps.weather ? { weather: deps.weather } : {}) });
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  const tick = async (): Promise<void> => {
    if (running) return; // a slow run is never overlapped by the next
    running = true;
    try {
      await engine.runOnce();
    } catch (err) {
      ctx.log.warn({ err }, 'marketing rules failed; next try in a minute');
    } finally {
      running = false;
    }
  };
  return {
    name: 'marketing',
    extension: couponExtension(repo, ctx.log),
    redeemer: posRedeemer(repo, ctx.sites, ctx.clock, ctx.log),
    engine,
    routes: (app) => marketingRoutes(app, { sites: ctx.sites, repo, clock: ctx.clock, log: ctx.log }),
    start() {
      // Only when some site has marketing rules: a park without them runs nothing.
      if (ctx.sites.ids.some((s) => ctx.sites.config(s)?.marketing)) {
        timer = setInterval(() => void tick(), deps.everyMs ?? EVERY_MS);
        timer.unref();
      }
      return Promise.resolve();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      while (running) await new Promise((r) => setTimeout(r, 10));
    },
  };
}
