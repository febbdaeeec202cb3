import type { CloudModule, ModuleContext } from '../../core/module.js';
import type { CouponRedeemer, VisitorDirectory } from '../../core/ports.js';

export interface PosDeps {
  visitors: VisitorDirectory;
  coupons: CouponRedeemer;
}

/** Secondary spending from the park's POS systems (#19 point 2, docs/visitor-data.md). */
export function createPosModule(ctx: ModuleContext, deps: PosDeps): CloudModule {
  void ctx;
  void deps;
  return { name: 'pos' };
}
