import type { CloudModule, ModuleContext } from '../../core/module.js';
import type { OrderExtension } from '../../core/ports.js';
import { Combos } from './combos.js';
import { PartnersRepository } from './repository.js';
import { partnerRoutes } from './routes.js';

export type PartnersModule = CloudModule & {
  /** Combo orders: a split ledger row per partner on payment, reversed on refund. */
  readonly extension: OrderExtension;
  readonly combos: Combos;
};

/** Combos and revenue split (#19 point 4, docs/visitor-data/combos.md). */
export function createPartnersModule(ctx: ModuleContext): PartnersModule {
  const combos = new Combos({ repo: new PartnersRepository(ctx.store), sites: ctx.sites, clock: ctx.clock, log: ctx.log });
  return {
    name: 'partners',
    combos,
    extension: combos.extension,
    routes: (app) => partnerRoutes(app, { sites: ctx.sites, combos }),
  };
}
