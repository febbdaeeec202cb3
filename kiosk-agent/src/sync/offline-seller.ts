import { hashIdNumber, issueOfflineTicket, localDate, maskIdNumber, newTicketId, StileError, StileErrorCode, type CashMovement, type KioskRecord, type SigningKey } from '@stile/config';
import type { KioskOutbox } from './outbox.js';
import { packUnusable, type PackStore } from './pack.js';

/** A visitor as the record holds them. */
export interface KioskVisitor {
  name: string;
  idHash: string;
  idMasked: string;
}

/** A cash sale made while the cloud is unreachable. */
export interface OfflineSale {
  saleId: string;
  typeId: string;
  /** Offline sales are for the pack's day only. */
  date: string;
  slotId?: string;
  /** Tickets of the type (each admits the type's persons). */
  count: number;
  /** Real-name visitors; the numbers are hashed here and never stored (or come hashed already, see `hashVisitor`). */
  visitors?: ({ name: string; idNumber: string } | KioskVisitor)[];
  cash: CashMovement[];
  staff?: string;
  at: Date;
}

export type CanSell = { ok: true; left: number } | { ok: false; reason: 'no_pack' | 'pack_expired' | 'pack_not_today' | 'wrong_key' | 'over_cap'; left: number };

export interface IssuedOffline {
  codes: { ticketId: string; code: string; persons: number }[];
  amountFen: number;
  record: KioskRecord;
}

/**
 * Sells for cash with the cloud unreachable: ST2 codes signed by the kiosk's own key, while
 * the signed pack is for today and unexpired, up to its daily cap. The counter, the sale's
 * record (payment `offline-cash`) and its outbox row commit in one transaction, so a power
 * cut cannot sell past the cap or lose a sale.
 */
export class OfflineSeller {
  constructor(
    private readonly d: { outbox: KioskOutbox; packs: PackStore; key: SigningKey; site: string; idHashKey: string },
  ) {}

  canSell(persons: number, at: Date = new Date()): CanSell {
    const pack = this.d.packs.pack;
    const why = packUnusable(pack, at.getTime());
    if (why || !pack) return { ok: false, reason: (why ?? 'no_pack') as 'no_pack', left: 0 };
    // The cloud believes only codes under the key id it named: a rotated key waits for a new pack.
    if (pack.keyId !== this.d.key.keyId) return { ok: false, reason: 'wrong_key', left: 0 };
    const left = Math.max(0, pack.offlineCap - this.d.outbox.offlineSold(pack.date));
    return persons <= left ? { ok: true, left } : { ok: false, reason: 'over_cap', left };
  }

  /** Sign the codes and record the sale; throws StileError(USAGE) when it may not sell (canSell says why). */
  issue(sale: OfflineSale): IssuedOffline {
    const pack = this.d.packs.pack;
    const type = pack?.types.find((t) => t.id === sale.typeId);
    if (!pack || !type) throw new StileError(StileErrorCode.UsageError, `offline: type "${sale.typeId}" is not in the offline pack`);
    if (sale.date !== pack.date) throw new StileError(StileErrorCode.UsageError, `offline: sales are for ${pack.date} only`);
    const slot = sale.slotId === undefined ? undefined : pack.slots.find((s) => s.id === sale.slotId);
    if (sale.slotId !== undefined && !slot) throw new StileError(StileErrorCode.UsageError, `offline: slot "${sale.slotId}" is not in the offline pack`);
    const persons = sale.count * type.persons;
    return this.d.outbox.atomically(() => {
      const can = this.canSell(persons, sale.at);
      if (!can.ok) throw new StileError(StileErrorCode.UsageError, `offline: cannot sell ${persons} person(s): ${can.reason} (${can.left} left today)`);
      const issuedAt = Math.floor(sale.at.getTime() / 1000);
      const codes = Array.from({ length: sale.count }, () => {
        const ticketId = newTicketId();
        const code = issueOfflineTicket(this.d.key, { site: this.d.site, ticketId, typeId: type.id, visitDate: pack.date, slotStart: slot?.start ?? null, slotEnd: slot?.end ?? null, persons: type.persons, issuedAt });
        return { ticketId, code, persons: type.persons };
      });
      const amountFen = sale.count * type.priceFen;
      this.d.outbox.addOfflineSold(pack.date, persons);
      const record = this.d.outbox.enqueue({
        kind: 'sale',
        saleId: sale.saleId,
        at: sale.at.toISOString(),
        typeId: type.id,
        date: pack.date,
        ...(sale.slotId !== undefined ? { slotId: sale.slotId } : {}),
        persons,
        amountFen,
        payment: 'offline-cash',
        tickets: codes,
        ...(sale.visitors && sale.visitors.length > 0
          ? { visitors: sale.visitors.map((v) => ('idNumber' in v ? this.hashVisitor(v) : v)) }
          : {}),
        cash: sale.cash,
        print: 'not_printed',
        ...(sale.staff ? { staff: sale.staff } : {}),
      });
      return { codes, amountFen, record };
    });
  }

  /** A visitor as a record holds them: the keyed hash and the masked number, never the number. */
  hashVisitor(v: { name: string; idNumber: string }): KioskVisitor {
    return { name: v.name, idHash: hashIdNumber(this.d.idHashKey, v.idNumber), idMasked: maskIdNumber(v.idNumber) };
  }

  /** The local date the kiosk is selling for (the pack's zone), for callers that have no pack yet. */
  today(at: Date = new Date()): string | undefined {
    const pack = this.d.packs.pack;
    return pack ? localDate(at, pack.timeZone) : undefined;
  }
}
