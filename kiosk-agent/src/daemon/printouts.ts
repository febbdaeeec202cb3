/**
 * The sale machine's `print_ticket` / `print_slip` as ESC/POS documents: one ticket per code
 * (the gate admits each once), then the receipt on the first copy. Pure.
 */
import { localDate, localTime, parseTicketCode } from '@stile/config';
import type { TicketPrint as SaleTicket } from '../sale/events.js';
import type { KioskCatalogue, Money } from '../sale/model.js';
import { formatFen, receiptDocument, ticketDocument, type BilingualText, type PaidBy } from '../protocol/escpos-layouts.js';
import type { PrintDoc } from '../protocol/escpos.js';

export interface PrintSetting {
  site: BilingualText;
  kioskId: string;
  timeZone: string;
  widthChars: number;
  receipt: boolean;
}

export function printedAt(at: number, timeZone: string): string {
  return `${localDate(at, timeZone)} ${localTime(at, timeZone)}`;
}

export interface TicketJob {
  ticket: SaleTicket;
  catalogue: KioskCatalogue;
  /** Persons on each code, when the cloud said (else the type's persons per ticket). */
  persons?: number[];
  money?: Money;
  provider?: 'wechat' | 'alipay';
  at: number;
}

/** The documents of one ticket job: every ticket, then (first copy only) the receipt. */
export function ticketDocuments(job: TicketJob, s: PrintSetting): { docs: PrintDoc[]; receiptSkipped?: string } {
  const t = job.ticket;
  const type = job.catalogue.types.find((x) => x.id === t.typeId);
  const name = { zh: type?.name['zh-CN'] ?? t.typeId, en: type?.name.en ?? t.typeId };
  const slot = t.slotId ? job.catalogue.slots.find((x) => x.id === t.slotId) : undefined;
  const when = printedAt(job.at, s.timeZone);
  const perTicket = type?.persons ?? 1;
  const docs = t.codes.map((code, i) => {
    const parsed = parseTicketCode(code);
    const ticketId = parsed.ok ? (parsed.kind === 'st1' ? parsed.ticketId : parsed.payload.ticketId) : code.slice(4);
    return ticketDocument(
      {
        site: s.site,
        ticketType: name,
        visitDate: t.date,
        slot: slot ? { start: slot.start, end: slot.end } : null,
        persons: job.persons?.[i] ?? perTicket,
        priceFen: Math.round(t.totalFen / t.codes.length),
        code,
        orderId: t.orderId,
        ticketId,
        printedAt: when,
        ...(t.copy > 1 ? { reprint: true } : {}),
      },
      s.widthChars,
    );
  });
  if (!s.receipt || t.copy > 1) return { docs };
  const quantity = Math.max(1, Math.round(t.persons / perTicket));
  if (t.totalFen % quantity !== 0) return { docs, receiptSkipped: 'total_not_divisible' };
  const cash = t.paidBy === 'cash';
  const m = job.money;
  const change = cash && m ? m.changePaidFen + m.changeOwedFen : 0;
  const paidBy: PaidBy = cash || t.paidBy === 'staff_cash' ? 'cash' : (job.provider ?? 'wechat');
  docs.push(
    receiptDocument(
      {
        site: s.site,
        kioskId: s.kioskId,
        orderId: t.orderId,
        items: [{ name, quantity, unitFen: t.totalFen / quantity }],
        totalFen: t.totalFen,
        paidBy,
        paidFen: t.totalFen + change,
        changeFen: change,
        printedAt: when,
      },
      s.widthChars,
    ),
  );
  return { docs };
}

/** What the kiosk owes a visitor, for them to show at the window. */
export function slipDocument(p: { saleId: string; owedFen: number; purpose: 'change' | 'refund'; at: number }, s: PrintSetting): PrintDoc {
  return {
    widthChars: s.widthChars,
    blocks: [
      { kind: 'text', text: s.site.zh, align: 'center', bold: true, size: { width: 2, height: 2 } },
      { kind: 'text', text: s.site.en, align: 'center', bold: true },
      { kind: 'bilingual', zh: p.purpose === 'change' ? '找零欠款凭条' : '退款欠款凭条', en: p.purpose === 'change' ? 'Change owed' : 'Refund owed', align: 'center' },
      { kind: 'rule' },
      { kind: 'row', label: '欠款 Owed', value: formatFen(p.owedFen), bold: true },
      { kind: 'row', label: '交易 Sale', value: p.saleId },
      { kind: 'row', label: '售票机 Kiosk', value: s.kioskId },
      { kind: 'row', label: '时间 Time', value: printedAt(p.at, s.timeZone) },
      { kind: 'rule' },
      { kind: 'bilingual', zh: '请持此凭条到售票窗口领取', en: 'Please take this slip to the ticket window', align: 'center' },
      { kind: 'cut' },
    ],
  };
}
