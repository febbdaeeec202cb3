import { newTicketId, type SnapshotTicket } from '@stile/config';
import type { Db } from '../../core/db/store.js';
import type { OrdersTable } from '../../core/db/schema.js';
import type { SalesSite } from '../../core/sites.js';
import { truncateUtf8, utf8Bytes } from '../../core/utf8.js';
import type { SalesRepository } from './repository.js';

export interface IssuedTicket {
  ticketId: string;
  code: string;
  persons: number;
  visitors: number[];
}

/** Tickets for the order's visitors: one per visitor, or one per package of `persons`, bound to its first visitor's ID. */
export async function issueTickets(repo: SalesRepository, trx: Db, site: SalesSite, order: OrdersTable): Promise<{ tickets: IssuedTicket[]; snapshot: SnapshotTicket[] }> {
  const visitors = await repo.visitorHashes(trx, order.order_id);
  const type = site.catalogue.ticketTypes.find((t) => t.id === order.type_id);
  const per = type?.persons ?? 1;
  const slot = site.catalogue.slots.find((s) => s.id === order.slot_id);
  const tickets: IssuedTicket[] = [];
  const snapshot: SnapshotTicket[] = [];
  for (let i = 0; i < visitors.length; i += per) {
    const group = visitors.slice(i, i + per);
    const ticketId = newTicketId();
    tickets.push({ ticketId, code: `ST1:${ticketId}`, persons: group.length, visitors: group.map((v) => Number(v.idx)) });
    snapshot.push({ ticketId, typeId: order.gate_type_id, status: 'valid', visitDate: order.visit_date, slotStart: slot?.start ?? null, slotEnd: slot?.end ?? null, persons: group.length, entriesUsed: 0, idHash: group[0]!.id_hash });
    for (const v of group) await repo.setVisitorTicket(trx, order.order_id, v.idx, ticketId);
  }
  return { tickets, snapshot };
}

/** Admissions each issued ticket allows, from its type's entries rule (single: 1). */
export function maxEntries(site: SalesSite, order: OrdersTable, tickets: IssuedTicket[]): Map<string, number> {
  const rule = site.catalogue.ticketTypes.find((t) => t.id === order.type_id)?.entries;
  const max = !rule || rule.mode === 'single' ? 1 : rule.max;
  return new Map(tickets.map((t) => [t.ticketId, max]));
}

/**
 * The SMS with the check-in codes, in the visitor's language when the order names one (the
 * log provider's text; real providers fill the site's approved template, modules/sms).
 */
export function smsText(site: SalesSite, order: { visit_date: string; slot_id: string; lang?: string | null }, tickets: IssuedTicket[]): string {
  const en = order.lang === 'en';
  const slot = site.catalogue.slots.find((s) => s.id === order.slot_id);
  const slotName = slot?.name ? `${slot.name[en ? 'en' : 'zh-CN']} ` : '';
  const when = slot ? `${order.visit_date} ${slotName}${slot.start}-${slot.end}` : order.visit_date;
  const codes = tickets.map((t) => t.code).join(' ');
  const park = site.catalogue.name?.[en ? 'en' : 'zh-CN'] ?? site.id;
  if (en) return `[${park}] Your entry code: ${codes} (${when}). Scan it or tap your ID card at the gate.${site.tourRouteUrl ? ` Tour route: ${site.tourRouteUrl}` : ''}`;
  return `【${park}】您的入园码：${codes}（${when}）。请在闸机扫码或刷身份证入园。${site.tourRouteUrl ? ` 游览路线：${site.tourRouteUrl}` : ''}`;
}

/** WeChat Pay's `description` is 1–127 UTF-8 bytes (Alipay's `subject` allows more): the one text both get. */
export const RECEIPT_MAX_BYTES = 127;

/**
 * What the payer sees on the provider's receipt, in Chinese (the providers' language, whatever
 * the page's): "青山湖风景区 成人票 ×2 2027-03-10 10:00". A long park or type name is shortened,
 * never the count, date or time.
 */
export function receiptText(site: SalesSite, o: Pick<OrdersTable, 'type_id' | 'slot_id' | 'persons' | 'visit_date'>): string {
  const type = site.catalogue.ticketTypes.find((t) => t.id === o.type_id);
  const slot = site.catalogue.slots.find((s) => s.id === o.slot_id);
  const tickets = type ? Number(o.persons) / type.persons : Number(o.persons);
  const what = `${site.catalogue.name?.['zh-CN'] ?? site.id} ${type?.name['zh-CN'] ?? o.type_id}`;
  const when = ` ×${tickets} ${o.visit_date}${slot ? ` ${slot.start}` : ''}`;
  return truncateUtf8(what, RECEIPT_MAX_BYTES - utf8Bytes(when)) + when;
}
