/**
 * Every sale, cash movement and print into the kiosk's outbox (docs/kiosk-offline.md), built
 * from the sale's journal when it closes (`sale_closed`):
 *
 * - a sale recorded through the channel API → one `sale` record (payment cash | code | qr, the
 *   order id, the tickets as printed, the cash movements, the print outcome). The cloud stores
 *   it as the audit trail and counts nothing from it: the order is counted already. No visitors:
 *   the order holds them.
 * - a sale sold offline → its `sale` record went into the outbox with the ST2 codes when they
 *   were signed (`OfflineSeller.issue`); at the close only a `print` record with the outcome.
 * - a sale that ended without being recorded but moved cash (notes in, refunded) → one `cash`
 *   record, so the cloud sees every note that went into or out of the box.
 *
 * `closedSaleRecords` is pure; `recordClosedSales` subscribes it to the runtime.
 */
import type { Logger } from 'pino';
import { KioskRecordSchema, parseTicketCode, type CashMovement, type KioskRecordInput } from '@stile/config';
import type { JournalEntry } from '../sale/events.js';
import type { KioskJournal } from '../store/journal.js';
import type { KioskRuntime } from './runtime.js';

/** Orders the kiosk made up itself while the cloud was unreachable (offline-cloud.ts). */
export const OFFLINE_ORDER_PREFIX = 'offline-';
export const isOfflineOrder = (orderId: string): boolean => orderId.startsWith(OFFLINE_ORDER_PREFIX);

const iso = (ms: number) => new Date(ms).toISOString();

function lastOf<K extends JournalEntry['kind']>(entries: readonly JournalEntry[], kind: K): Extract<JournalEntry, { kind: K }> | undefined {
  for (let i = entries.length - 1; i >= 0; i--) if (entries[i]!.kind === kind) return entries[i] as Extract<JournalEntry, { kind: K }>;
  return undefined;
}

/** The cash that moved in a sale, from its journal: notes in, change and refunds paid out (owed money stays in the box). */
export function cashMovementsOf(entries: readonly JournalEntry[]): CashMovement[] {
  const out: CashMovement[] = [];
  let purpose: 'change' | 'refund' = 'change';
  for (const e of entries) {
    const at = iso(e.at);
    switch (e.kind) {
      case 'note_stacked':
      case 'note_unconfirmed':
        out.push({ kind: 'note_in', fen: e.valueFen, at });
        break;
      case 'payout_started':
        purpose = e.purpose;
        break;
      case 'payout_done':
        if (e.paidFen > 0) out.push({ kind: purpose === 'change' ? 'change_out' : 'refund_out', fen: e.paidFen, at });
        break;
      case 'staff_cash':
        out.push({ kind: 'note_in', fen: e.tenderedFen, at });
        if (e.changeFen > 0) out.push({ kind: 'change_out', fen: e.changeFen, at });
        break;
      default:
        break;
    }
  }
  return out;
}

function ticketIdOf(code: string): string {
  const p = parseTicketCode(code);
  if (!p.ok) return code.slice(4);
  return p.kind === 'st1' ? p.ticketId : p.payload.ticketId;
}

/** The records one closed sale adds to the outbox (none for a sale that moved neither tickets nor cash). */
export function closedSaleRecords(entries: readonly JournalEntry[]): KioskRecordInput[] {
  const closed = lastOf(entries, 'sale_closed');
  if (!closed) return [];
  const saleId = closed.saleId;
  const staff = entries.find((e) => e.staff)?.staff;
  const who = staff ? { staff } : {};
  const placed = lastOf(entries, 'order_placed');
  const recorded = lastOf(entries, 'sale_recorded');
  const print = entries.some((e) => e.kind === 'printed') ? 'printed' : entries.some((e) => e.kind === 'print_failed') ? 'failed' : 'not_printed';
  if (placed && recorded && isOfflineOrder(placed.orderId)) {
    return [{ kind: 'print', saleId, at: iso(closed.at), outcome: print, reprint: false, ...who }];
  }
  const cash = cashMovementsOf(entries);
  if (placed && recorded && recorded.codes.length > 0) {
    const per = Math.max(1, Math.round(placed.persons / recorded.codes.length));
    return [
      {
        kind: 'sale',
        saleId,
        at: iso(recorded.at),
        typeId: placed.typeId,
        date: placed.date,
        ...(placed.slotId ? { slotId: placed.slotId } : {}),
        persons: placed.persons,
        amountFen: placed.totalFen,
        payment: placed.method === 'code' || placed.method === 'qr' ? placed.method : 'cash',
        tickets: recorded.codes.map((code) => ({ ticketId: ticketIdOf(code), code, persons: per })),
        orderId: placed.orderId,
        cash,
        print,
        ...who,
      },
    ];
  }
  if (cash.length > 0) return [{ kind: 'cash', saleId, at: iso(closed.at), movements: cash, reason: `sale_${closed.outcome}`, ...who }];
  return [];
}

/** What the recorder needs of KioskSync. */
export interface RecordSink {
  enqueue(record: KioskRecordInput): unknown;
}

/**
 * After each step, every sale that closed in it goes into the outbox. A record the cloud would
 * refuse (its schema) is logged and left out, so it cannot hold up the records after it.
 */
export function recordClosedSales(rt: KioskRuntime, journal: KioskJournal, sink: RecordSink, log: Logger): () => void {
  return rt.subscribe((_state, _event, effects) => {
    for (const fx of effects) {
      if (fx.kind !== 'journal' || fx.entry.kind !== 'sale_closed' || fx.entry.saleId === 'none' || fx.entry.saleId.startsWith('refund:')) continue;
      try {
        for (const r of closedSaleRecords(journal.saleEntries(fx.entry.saleId))) {
          const check = KioskRecordSchema.safeParse({ ...r, seq: '0' });
          if (!check.success) {
            log.error({ event: 'record_invalid', saleId: r.saleId, kind: r.kind, issue: check.error.issues[0]?.message }, 'kiosk record left out of the outbox');
            continue;
          }
          sink.enqueue(r);
        }
      } catch (err) {
        log.error({ event: 'record_failed', saleId: fx.entry.saleId, err: (err as Error).message }, 'kiosk record not written to the outbox');
      }
    }
  });
}
