/**
 * May a sale's tickets be printed again (`kioskctl reprint <sale>`)? Only a paid, recorded
 * sale whose ticket did not surely print: no `printed` entry in the journal and no reprint
 * that printed. Pure: the sale's journal entries and audit rows in, a ticket job or a one-line
 * reason out.
 */
import type { JournalEntry, TicketPrint } from '../sale/events.js';
import { foldJournal, isPaid } from '../sale/money.js';
import type { AuditRow } from '../store/journal.js';

export type ReprintVerdict = { ok: true; ticket: TicketPrint } | { ok: false; reason: string };

export function reprintVerdict(saleId: string, entries: readonly JournalEntry[], audit: readonly AuditRow[], refunded: boolean): ReprintVerdict {
  const refuse = (reason: string): ReprintVerdict => ({ ok: false, reason: `sale ${saleId} ${reason}` });
  if (entries.length === 0) return refuse('is not in this kiosk\'s journal');
  const order = entries.find((e): e is Extract<JournalEntry, { kind: 'order_placed' }> => e.kind === 'order_placed');
  const recorded = [...entries].reverse().find((e): e is Extract<JournalEntry, { kind: 'sale_recorded' }> => e.kind === 'sale_recorded');
  const m = foldJournal(entries);
  if (!order) return refuse('never placed an order: nothing was sold');
  if (!isPaid(m)) return refuse('is not paid (or its money went back): no ticket to print');
  if (!recorded || recorded.codes.length === 0) return refuse('is paid but not recorded by the cloud: no ticket codes yet (the kiosk records it again by itself)');
  if (refunded) return refuse(`was refunded (order ${order.orderId}): its tickets no longer admit`);
  const printed = entries.find((e) => e.kind === 'printed');
  if (printed) return refuse(`printed at ${new Date(printed.at).toISOString()}: a reprint is only for a ticket that did not print`);
  const reprinted = audit.find((a) => a.action === 'reprint' && a.detail.outcome === 'printed');
  if (reprinted) return refuse(`was reprinted at ${new Date(reprinted.at).toISOString()}${reprinted.staff ? ` by ${reprinted.staff}` : ''}: it printed then`);
  const copies = Math.max(0, ...entries.map((e) => (e.kind === 'print_failed' ? e.copy : 0)), ...audit.map((a) => (a.action === 'reprint' ? Number(a.detail.copy ?? 0) : 0)));
  return {
    ok: true,
    ticket: {
      saleId,
      orderId: order.orderId,
      codes: recorded.codes,
      typeId: order.typeId,
      date: order.date,
      ...(order.slotId ? { slotId: order.slotId } : {}),
      persons: order.persons,
      totalFen: order.totalFen,
      paidBy: m.paidBy ?? order.method,
      changeOwedFen: m.changeOwedFen,
      // Always marked a copy: the first one may have come out before the fault.
      copy: Math.max(2, copies + 1),
    },
  };
}
