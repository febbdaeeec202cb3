import type { CloudModule, ModuleContext } from '../../core/module.js';
import type { SmsSender } from '../../core/notify/sms.js';
import type { CouponRedeemer, OrderExtension, VisitorDirectory } from '../../core/ports.js';
import { CloudError } from '../../core/errors.js';

export interface MarketingDeps {
  visitors: VisitorDirectory;
  sms: SmsSender;
}

export type MarketingModule = CloudModule & {
  /** Coupons on orders: held at creation, redeemed on payment, given back when the order expires. */
  readonly extension: OrderExtension;
  /** Coupons at the POS. */
  readonly redeemer: CouponRedeemer;
};

/** Membership and coupons (#19 point 3, docs/visitor-data.md). */
export function createMarketingModule(ctx: ModuleContext, deps: MarketingDeps): MarketingModule {
  void ctx;
  void deps;
  return {
    name: 'marketing',
    extension: { name: 'marketing' },
    redeemer: { redeemAtPos: () => Promise.reject(new CloudError('invalid_request', 'coupons are not built yet')) },
  };
}
