import type { CloudModule, ModuleContext } from '../../core/module.js';
import type { OrderExtension } from '../../core/ports.js';

export type PartnersModule = CloudModule & {
  /** Combo orders: a split ledger row per partner on payment, reversed on refund. */
  readonly extension: OrderExtension;
};

/** Combos and revenue split (#19 point 4, docs/visitor-data.md). */
export function createPartnersModule(ctx: ModuleContext): PartnersModule {
  void ctx;
  return { name: 'partners', extension: { name: 'partners' } };
}
