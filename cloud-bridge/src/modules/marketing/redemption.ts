import { localDate } from '@stile/config';
import type { Clock } from '../../core/clock.js';
import type { Db } from '../../core/db/store.js';
import { CloudError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { CouponRedeemer, OrderExtension } from '../../core/ports.js';
import type { SiteRegistry } from '../../core/sites.js';
import { termsOf, type MarketingRepository } from './repository.js';
import { checkTerms, normalizeCode, type CouponUse } from './terms.js';

/**
 * The coupon on an order, inside sales' transactions (core/ports.ts OrderExtension):
 *   creating: held by ONE conditional UPDATE (issued → held), then checked (a refusal rolls the
 *             hold back with the order): of two orders racing for it, on any channels, the
 *             second finds it held and is refused coupon_in_use;
 *   paid:     held → redeemed (when, on which channel, how much it took off);
 *   released: held → issued (the order expired or was cancelled unpaid);
 *   refunded: redeemed → issued (the visitor got the money back, so the one use was not kept).
 * A rebooking keeps the coupon as redeemed (the price paid stays).
 */
export function couponExtension(repo: MarketingRepository, log: Logger): OrderExtension {
  return {
    name: 'marketing',
    async creating(trx, o) {
      if (o.couponCode === undefined) return undefined;
      const code = normalizeCode(o.couponCode);
      // Hold first (one conditional UPDATE … RETURNING: the race is decided here), then check
      // the terms: a refusal thrown below rolls the hold back with the whole order.
      const row = await repo.holdReturning(trx, o.site.id, code, o.orderId);
      if (!row) throw await lost(repo, trx, o.site.id, code);
      const type = o.site.catalogue.ticketTypes.find((t) => t.id === o.typeId);
      const tickets = o.persons / (type?.persons ?? 1);
      const use: CouponUse = {
        on: 'ticket',
        channel: o.channel.id,
        useDate: o.date,
        today: o.today,
        ownerHashes: o.visitors.map((v) => v.idHash),
        amountFen: o.amountFen,
        priceDiscounts: o.priceDiscounts ?? [],
        typeId: o.typeId,
        unitFen: tickets > 0 ? Math.floor(o.amountFen / tickets) : o.amountFen,
        providerMode: o.channel.payment === 'provider',
      };
      const verdict = checkTerms({ ...termsOf(row), state: 'issued' }, use);
      if (!verdict.ok) throw new CloudError(verdict.code, verdict.message);
      log.info({ site: o.site.id, channel: o.channel.id, orderId: o.orderId, coupon: code, discountFen: verdict.discountFen }, 'coupon held by a new order');
      return { discountFen: verdict.discountFen, order: { coupon_code: code } };
    },
    async paid(trx, { site, order }) {
      if (!order.coupon_code) return;
      const ok = await repo.redeemHeld(trx, site.id, order.coupon_code, order.order_id, order.channel, order.paid_at ?? new Date().toISOString(), Number(order.discount_fen));
      // Cannot happen while the order held it: logged loudly rather than refusing money already taken.
      if (!ok) log.error({ site: site.id, orderId: order.order_id, coupon: order.coupon_code }, 'paid order did not hold its coupon');
      else log.info({ site: site.id, orderId: order.order_id, coupon: order.coupon_code, via: order.channel, discountFen: Number(order.discount_fen) }, 'coupon redeemed');
    },
    async released(trx, { site, order }) {
      if (!order.coupon_code) return;
      if (await repo.releaseHeld(trx, site.id, order.coupon_code, order.order_id)) log.info({ site: site.id, orderId: order.order_id, coupon: order.coupon_code }, 'coupon given back: its order ended unpaid');
    },
    async refunded(trx, { site, order }) {
      if (!order.coupon_code) return;
      if (await repo.giveBack(trx, site.id, order.coupon_code, order.order_id)) log.info({ site: site.id, orderId: order.order_id, coupon: order.coupon_code }, 'coupon given back: its order was refunded');
    },
  };
}

/** The conditional UPDATE changed nothing (or a racer got there first): say what the coupon is now. */
async function lost(repo: MarketingRepository, db: Db, site: string, code: string): Promise<CloudError> {
  const now = await repo.coupon(db, site, code);
  if (!now) return new CloudError('coupon_unknown', `no coupon ${code} at this park`);
  if (now.state === 'redeemed') return new CloudError('coupon_used', `coupon ${code} was used meanwhile`);
  if (now.state === 'void') return new CloudError('coupon_void', `coupon ${code} was voided meanwhile`);
  return new CloudError('coupon_in_use', `coupon ${code} is held by another order`);
}

/** Coupons at the POS: issued → redeemed in one conditional UPDATE, inside the POS transaction (terms checked on what it returned). */
export function posRedeemer(repo: MarketingRepository, sites: Pick<SiteRegistry, 'site'>, clock: Clock, log: Logger): CouponRedeemer {
  return {
    async redeemAtPos(db, site, rawCode, sale) {
      const code = normalizeCode(rawCode);
      // The day of the checkout in the park's time zone: the coupon's window is about it.
      const useDate = localDate(sale.at, sites.site(site)?.catalogue.timeZone ?? 'Asia/Shanghai');
      const use = { on: 'pos', source: sale.source, useDate, idHash: sale.idHash, amountFen: sale.amountFen, category: sale.category } as const;
      const via = `pos:${sale.source}`;
      // Redeem first (one conditional UPDATE … RETURNING decides any race), then check the
      // terms; a refusal puts it back in the same transaction before anyone else can see it.
      const row = await repo.redeemIssuedReturning(db, site, code, via, sale.ref, clock().toISOString(), sale.amountFen);
      if (!row) {
        const now = await repo.coupon(db, site, code);
        if (!now) throw new CloudError('coupon_unknown', `no coupon ${code} at this park`);
        const why = checkTerms(termsOf(now), use);
        throw why.ok ? await lost(repo, db, site, code) : new CloudError(why.code, why.message);
      }
      const verdict = checkTerms({ ...termsOf(row), state: 'issued' }, use);
      if (!verdict.ok) {
        await repo.undoRedeem(db, site, code, sale.ref);
        throw new CloudError(verdict.code, verdict.message);
      }
      log.info({ site, coupon: code, via, ref: sale.ref, discountFen: verdict.discountFen }, 'coupon redeemed at the POS');
      return { discountFen: verdict.discountFen };
    },
  };
}
