import { addDays } from '@stile/config';
import { entryOffer, type Channel } from '../../core/catalogue.js';
import type { LocalText } from '../../core/i18n.js';
import type { VisitorOrder } from '../../core/ports.js';
import type { SalesSite } from '../../core/sites.js';
import type { z } from '@hono/zod-openapi';
import type { BookInfoSchema, BookOrderSchema } from './schemas.js';

/*
 * The booking page's bodies from the catalogue and sales' view of an order: pure, no I/O.
 * Every name is a LocalText: the page picks the visitor's language.
 */

export type BookInfo = z.infer<typeof BookInfoSchema>;
export type BookOrder = z.infer<typeof BookOrderSchema>;

/** The park's name: the catalogue's, or the site id in both languages. */
export function siteName(site: SalesSite): LocalText {
  return site.catalogue.name ?? { 'zh-CN': site.id, en: site.id };
}

/** What the page needs that does not change during the day. */
export function bookInfo(site: SalesSite, channel: Channel, today: string, providers: ('wechat' | 'alipay')[], wechatOAuth: boolean): BookInfo {
  const c = site.catalogue;
  const channelPrice = (typeId: string): number | undefined => {
    for (const r of c.pricing) if (r.kind === 'channelPrice' && r.channel === channel.id && r.type === typeId) return r.priceFen;
    return undefined;
  };
  return {
    site: site.id,
    name: siteName(site),
    timeZone: c.timeZone,
    today,
    lastDate: addDays(today, c.realName.bookingHorizonDays),
    ticketsPerIdPerDay: c.realName.ticketsPerIdPerDay,
    types: c.ticketTypes
      .filter((t) => !t.channels || t.channels.includes(channel.id))
      .map((t) => ({
        typeId: t.id,
        name: t.name,
        persons: t.persons,
        baseFen: channelPrice(t.id) ?? t.priceFen,
        days: t.days,
        entries: (['early', 'night'] as const).filter((k) => entryOffer(c, t, k) !== undefined),
      })),
    slots: c.slots.map((s) => ({ slotId: s.id, start: s.start, end: s.end, ...(s.name ? { name: s.name } : {}) })),
    refundReasons: c.refundReasons.map((r) => ({ code: r.code, label: r.label })),
    providers,
    wechatOAuth,
    tourRouteUrl: site.tourRouteUrl ?? null,
  };
}

/** An order as the page shows it: names from the catalogue, the slot's times, tickets with their ST1 codes once paid. */
export function bookOrder(site: SalesSite, o: VisitorOrder): BookOrder {
  const type = site.catalogue.ticketTypes.find((t) => t.id === o.typeId);
  const slot = o.slotId === null ? undefined : site.catalogue.slots.find((s) => s.id === o.slotId);
  return {
    orderId: o.orderId,
    status: o.status,
    typeId: o.typeId,
    typeName: type?.name ?? { 'zh-CN': o.typeId, en: o.typeId },
    date: o.date,
    slot: slot ? { slotId: slot.id, start: slot.start, end: slot.end, ...(slot.name ? { name: slot.name } : {}) } : null,
    ...(o.entryWindow ? { entryWindow: o.entryWindow } : {}),
    persons: o.persons,
    amountFen: o.amountFen,
    deadline: o.deadline?.toISOString() ?? null,
    visitors: o.visitors,
    tickets: o.tickets,
    refundState: o.refundState,
    refundReason: o.refundReason,
    canRefund: o.canRefund,
    canRebook: o.canRebook,
  };
}
