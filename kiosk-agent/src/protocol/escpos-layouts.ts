/**
 * The kiosk's two printouts as documents, from plain data: the ticket (what the visitor
 * scans at the gate) and the receipt. Pure; the caller formats dates in the site's time zone.
 * Bad data (a code that is not ST1/ST2, a total that does not add up) throws StileError(USAGE):
 * printing a wrong ticket is worse than printing none.
 */
import { parseTicketCode, StileError, StileErrorCode } from '@stile/config';
import type { PrintBlock, PrintDoc } from './escpos.js';

export interface BilingualText {
  zh: string;
  en: string;
}

export interface TicketPrint {
  site: BilingualText;
  ticketType: BilingualText;
  /** YYYY-MM-DD */
  visitDate: string;
  slot: { start: string; end: string } | null;
  persons: number;
  priceFen: number;
  /** The gate code: "ST1:<ticket id>" online, "ST2:…" signed offline. */
  code: string;
  orderId: string;
  ticketId: string;
  /** Local time, "YYYY-MM-DD HH:mm". */
  printedAt: string;
  /** A second print of a paid ticket (the code is the same; the gate admits it once). */
  reprint?: boolean;
  /** The line under the code; default: scan at the gate. */
  guide?: BilingualText;
}

export type PaidBy = 'cash' | 'wechat' | 'alipay';

export interface ReceiptPrint {
  site: BilingualText;
  kioskId: string;
  orderId: string;
  items: { name: BilingualText; quantity: number; unitFen: number }[];
  totalFen: number;
  paidBy: PaidBy;
  /** What the visitor handed over (cash) or was charged (payment code). */
  paidFen: number;
  changeFen: number;
  printedAt: string;
}

export const SCAN_GUIDE: BilingualText = { zh: '请在闸机扫码入园', en: 'Scan at the gate' };

const PAID_BY: Record<PaidBy, string> = { cash: '现金 Cash', wechat: '微信支付 WeChat Pay', alipay: '支付宝 Alipay' };
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/** 3500 → "￥35.00" (the full-width yen sign: GBK has no U+00A5). */
export function formatFen(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}￥${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

function usage(message: string): StileError {
  return new StileError(StileErrorCode.UsageError, message);
}

function checkFen(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw usage(`${what} must be a whole number of fen ≥ 0, got ${n}`);
}

function title(site: BilingualText): PrintBlock[] {
  return [
    { kind: 'text', text: site.zh, align: 'center', bold: true, size: { width: 2, height: 2 } },
    { kind: 'text', text: site.en, align: 'center', bold: true },
  ];
}

export function ticketDocument(t: TicketPrint, widthChars?: number): PrintDoc {
  const code = parseTicketCode(t.code);
  if (!code.ok || t.code !== t.code.trim()) throw usage(`ticket ${t.ticketId}: "${t.code.slice(0, 12)}…" is not an ST1/ST2 code (${code.ok ? 'whitespace' : code.detail})`);
  if (!DATE_RE.test(t.visitDate)) throw usage(`visitDate must be YYYY-MM-DD, got "${t.visitDate}"`);
  if (!Number.isInteger(t.persons) || t.persons < 1 || t.persons > 99) throw usage(`persons must be 1–99, got ${t.persons}`);
  checkFen(t.priceFen, 'priceFen');
  const guide = t.guide ?? SCAN_GUIDE;
  const blocks: PrintBlock[] = [
    ...title(t.site),
    ...(t.reprint ? [{ kind: 'text', text: '补打 REPRINT', align: 'center', bold: true } as const] : []),
    { kind: 'rule' },
    { kind: 'row', label: '票种 Type', value: `${t.ticketType.zh} ${t.ticketType.en}`, bold: true },
    { kind: 'row', label: '日期 Date', value: t.visitDate },
    { kind: 'row', label: '时段 Slot', value: t.slot ? `${t.slot.start}-${t.slot.end}` : '全天 All day' },
    { kind: 'row', label: '人数 Persons', value: String(t.persons) },
    { kind: 'row', label: '票价 Price', value: formatFen(t.priceFen) },
    { kind: 'rule' },
    { kind: 'qr', data: t.code, moduleSize: 6, ecc: 'M' },
    { kind: 'bilingual', zh: guide.zh, en: guide.en, align: 'center', bold: true },
    { kind: 'rule' },
    { kind: 'row', label: '订单 Order', value: t.orderId },
    { kind: 'row', label: '票号 Ticket', value: t.ticketId },
    { kind: 'row', label: '打印 Printed', value: t.printedAt },
    { kind: 'cut' },
  ];
  return { widthChars, blocks };
}

export function receiptDocument(r: ReceiptPrint, widthChars?: number): PrintDoc {
  if (r.items.length === 0) throw usage(`receipt ${r.orderId}: no items`);
  let sum = 0;
  for (const item of r.items) {
    if (!Number.isInteger(item.quantity) || item.quantity < 1) throw usage(`receipt ${r.orderId}: quantity must be ≥ 1, got ${item.quantity}`);
    checkFen(item.unitFen, 'unitFen');
    sum += item.quantity * item.unitFen;
  }
  for (const [what, n] of [['totalFen', r.totalFen], ['paidFen', r.paidFen], ['changeFen', r.changeFen]] as const) checkFen(n, what);
  if (sum !== r.totalFen) throw usage(`receipt ${r.orderId}: items add up to ${sum} fen, total says ${r.totalFen}`);
  if (r.paidFen - r.changeFen !== r.totalFen) throw usage(`receipt ${r.orderId}: paid ${r.paidFen} − change ${r.changeFen} ≠ total ${r.totalFen}`);
  if (r.paidBy !== 'cash' && r.changeFen !== 0) throw usage(`receipt ${r.orderId}: change only for cash`);
  const blocks: PrintBlock[] = [
    ...title(r.site),
    { kind: 'bilingual', zh: '购票收据', en: 'Receipt', align: 'center' },
    { kind: 'rule' },
    ...r.items.map((i): PrintBlock => ({ kind: 'row', label: `${i.name.zh} ${i.name.en} x${i.quantity}`, value: formatFen(i.quantity * i.unitFen) })),
    { kind: 'rule' },
    { kind: 'row', label: '合计 Total', value: formatFen(r.totalFen), bold: true },
    { kind: 'row', label: '支付 Paid by', value: PAID_BY[r.paidBy] },
    ...(r.paidBy === 'cash'
      ? [
          { kind: 'row', label: '收款 Received', value: formatFen(r.paidFen) } as const,
          { kind: 'row', label: '找零 Change', value: formatFen(r.changeFen) } as const,
        ]
      : []),
    { kind: 'rule' },
    { kind: 'row', label: '订单 Order', value: r.orderId },
    { kind: 'row', label: '售票机 Kiosk', value: r.kioskId },
    { kind: 'row', label: '时间 Time', value: r.printedAt },
    { kind: 'cut' },
  ];
  return { widthChars, blocks };
}
