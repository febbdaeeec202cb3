import type { Channel } from '../../core/catalogue.js';
import { isCloudError } from '../../core/errors.js';
import { refusalReply } from '../../core/http/refusals.js';
import type { BookingPayments } from '../../core/ports.js';
import type { SalesSite } from '../../core/sites.js';
import type { ProviderSet } from './provider-set.js';
import { channelError, type Payments } from './payments.js';

/**
 * The BookingPayments port (core/ports.ts): the booking page pays its orders exactly as a
 * provider-mode channel does through `POST /v1/channel/orders/{id}/payments` — same attempts,
 * same refusals — and asks the providers about a pending payment while the visitor waits.
 */
export function bookingPayments(payments: Payments, providers: ProviderSet): BookingPayments {
  return {
    providers: (site) => (['wechat', 'alipay'] as const).filter((p) => providers.get(site, p) !== undefined),
    async create(site: SalesSite, channel: Channel, orderId, body) {
      try {
        return await payments.create(site, channel, orderId, body);
      } catch (err) {
        if (!isCloudError(err)) throw err;
        return refusalReply(channelError(err));
      }
    },
    async refresh(site: SalesSite, _channel: Channel, orderId) {
      const pending = (await payments.repo.attempts(site.id, orderId)).filter((a) => a.state === 'pending');
      await Promise.all(pending.map((a) => payments.refresh(a)));
    },
  };
}
