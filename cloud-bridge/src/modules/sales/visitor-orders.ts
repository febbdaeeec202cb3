import type { Channel } from '../../core/catalogue.js';
import type { OrdersTable } from '../../core/db/schema.js';
import type { RefundState, VisitorOrder } from '../../core/ports.js';
import type { SalesSite } from '../../core/sites.js';
import { HOLD_MS } from './orders.js';
import { NO_SLOT } from './places.js';
import type { SalesRepository } from './repository.js';

/**
 * What refund() and rebook() accept of an order before looking at the request: it is paid and
 * no ticket of it has entered the park (orders.ts: not_paid / already_refunded, ticket_used).
 * A rebooking also needs a target date and slot that sell; that is the request's to answer.
 */
export function changeable(status: string, usedTickets: number): boolean {
  return status === 'paid' && usedTickets === 0;
}

type VisitorRow = { order_id: string; idx: number; name: string; id_masked: string; ticket_id: string | null };

/** An order as its visitor sees it: masked visitors, the tickets once paid, what can be done with it. */
export function visitorOrderView(o: OrdersTable, visitors: readonly VisitorRow[], usedTickets: number): VisitorOrder {
  const ids = [...new Set(visitors.map((v) => v.ticket_id).filter((t): t is string => t !== null))];
  const pricing = JSON.parse(o.pricing) as { entryWindow?: { from: string; to: string } };
  const status = o.status as VisitorOrder['status'];
  const can = changeable(status, usedTickets);
  return {
    orderId: o.order_id,
    status,
    typeId: o.type_id,
    date: o.visit_date,
    slotId: o.slot_id === NO_SLOT ? null : o.slot_id,
    ...(pricing.entryWindow ? { entryWindow: pricing.entryWindow } : {}),
    persons: Number(o.persons),
    amountFen: Number(o.amount_fen),
    createdAt: o.created_at,
    deadline: status === 'pending' ? new Date(Date.parse(o.created_at) + HOLD_MS) : null,
    visitors: visitors.map((v) => ({ name: v.name, idMasked: v.id_masked })),
    tickets: status === 'paid' ? ids.map((ticketId) => ({ ticketId, code: `ST1:${ticketId}`, persons: visitors.filter((v) => v.ticket_id === ticketId).length })) : [],
    refundState: (o.refund_state as RefundState | null) ?? null,
    refundReason: o.refund_reason,
    canRefund: can,
    canRebook: can,
  };
}

/** A phone's orders on a channel, as its visitor sees them (the BookingSales port's reads). */
export class VisitorOrders {
  constructor(private readonly repo: SalesRepository) {}

  async list(site: SalesSite, channel: Channel, phone: string, limit: number): Promise<VisitorOrder[]> {
    const orders = await this.repo.ordersOfPhone(site.id, channel.id, phone, limit);
    return this.views(site, orders);
  }

  async one(site: SalesSite, channel: Channel, phone: string, orderId: string): Promise<VisitorOrder | undefined> {
    const o = await this.repo.order(site.id, channel.id, orderId);
    // Another phone's order is answered like no order at all: the caller must not learn it exists.
    if (!o || o.contact_phone !== phone) return undefined;
    return (await this.views(site, [o]))[0];
  }

  /** The site's orders for `date` holding this ID hash, any channel (a kiosk or staffed window looks a visitor up by ID card), each naming its channel. */
  async ofIdHash(site: SalesSite, date: string, idHash: string, limit = 20): Promise<(VisitorOrder & { channelId: string })[]> {
    const orders = await this.repo.ordersOfIdHash(site.id, date, idHash, limit);
    return (await this.views(site, orders)).map((v, i) => ({ ...v, channelId: orders[i]!.channel }));
  }

  private async views(site: SalesSite, orders: OrdersTable[]): Promise<VisitorOrder[]> {
    const visitors = await this.repo.visitorsOfOrders(orders.map((o) => o.order_id));
    const byOrder = new Map<string, VisitorRow[]>();
    for (const v of visitors) byOrder.set(v.order_id, [...(byOrder.get(v.order_id) ?? []), v]);
    const paidTickets = orders.filter((o) => o.status === 'paid').flatMap((o) => (byOrder.get(o.order_id) ?? []).map((v) => v.ticket_id).filter((t): t is string => t !== null));
    const used = new Set(paidTickets.length > 0 ? await this.repo.usedTickets(this.repo.db, site.id, [...new Set(paidTickets)]) : []);
    return orders.map((o) => {
      const rows = byOrder.get(o.order_id) ?? [];
      return visitorOrderView(o, rows, rows.filter((v) => v.ticket_id !== null && used.has(v.ticket_id)).length);
    });
  }
}
