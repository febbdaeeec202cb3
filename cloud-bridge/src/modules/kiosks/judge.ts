import { loadTrustedKeys, parseTicketCode, verifyOfflineTicket, type KioskSaleRecord, type OfflineTicketPayload } from '@stile/config';
import type { KioskConfig } from '../../core/sites.js';

/** Why the cloud flags a kiosk record. */
export type KioskAnomaly = 'unverified_code' | 'over_cap' | 'duplicate_sale' | 'not_counted';

export type OfflineVerdict = { ok: true; payloads: OfflineTicketPayload[] } | { ok: false; anomaly: 'unverified_code'; detail: string };

/**
 * An offline-cash sale is believed only if every ticket code is an ST2 code signed by THIS
 * kiosk's key (not just any key of the site: a kiosk must not pass off another's codes), for
 * this site, ticket and date, and the persons add up. Key validity is judged on the sale's day.
 */
export function judgeOfflineSale(site: string, kiosk: KioskConfig, sale: KioskSaleRecord, saleDay: string): OfflineVerdict {
  const bad = (detail: string): OfflineVerdict => ({ ok: false, anomaly: 'unverified_code', detail });
  const own = loadTrustedKeys([kiosk.offlineKey]);
  const payloads: OfflineTicketPayload[] = [];
  let persons = 0;
  for (const t of sale.tickets) {
    const parsed = parseTicketCode(t.code);
    if (!parsed.ok || parsed.kind !== 'st2') return bad(`ticket ${t.ticketId}: not an ST2 code`);
    const v = verifyOfflineTicket(parsed, own, saleDay);
    if (!v.ok) return bad(`ticket ${t.ticketId}: ${v.reason}`);
    const p = v.payload;
    if (p.site !== site) return bad(`ticket ${t.ticketId}: code is for site ${p.site}`);
    if (p.ticketId !== t.ticketId) return bad(`ticket ${t.ticketId}: code names ticket ${p.ticketId}`);
    if (p.visitDate !== sale.date) return bad(`ticket ${t.ticketId}: code is for ${p.visitDate}, the sale for ${sale.date}`);
    if (p.persons !== t.persons) return bad(`ticket ${t.ticketId}: code admits ${p.persons}, the sale says ${t.persons}`);
    persons += p.persons;
    payloads.push(p);
  }
  if (persons !== sale.persons) return bad(`codes admit ${persons} persons, the sale says ${sale.persons}`);
  return { ok: true, payloads };
}

/** Over the cap: what the kiosk had sold offline that day before this sale, plus this one. */
export function overCap(soldBefore: number, persons: number, cap: number): boolean {
  return soldBefore + persons > cap;
}
