/**
 * WeChat Pay trade bill (交易账单, bill_type ALL), as /v3/billdownload/file returns it: UTF-8
 * text, comma-separated, in four parts — the detail header, the detail rows, the summary
 * header (总交易单数,…) and the summary row. Every field of a row is prefixed with a backtick
 * (`) so spreadsheets keep long numbers as text; the file may start with a BOM. Columns are
 * read by header name, not position ("请根据表头的列名顺序获取字段"). Amounts are yuan.
 */
import { CloudError } from '../../core/errors.js';
import { yuanToFen } from './money.js';
import type { Bill, BillLine, RejectedBillLine } from './bill.js';

const REQUIRED = ['交易时间', '微信订单号', '商户订单号', '交易状态'];

function fields(line: string): string[] {
  return line.split(',').map((f) => (f.startsWith('`') ? f.slice(1) : f).trim());
}

export function parseWechatTradeBill(text: string, date: string): Bill {
  const rows = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const headerAt = rows.findIndex((r) => r.trim() !== '');
  if (headerAt < 0) return { provider: 'wechat', date, lines: [], rejected: [], empty: true };
  const header = rows[headerAt]!.split(',').map((h) => h.trim());
  for (const name of REQUIRED) {
    if (!header.includes(name)) throw new CloudError('payment_malformed', `WeChat Pay bill: no ${name} column`, { reason: 'bill_header', column: name });
  }
  const col = (row: string[], name: string): string | undefined => {
    const i = header.indexOf(name);
    return i < 0 ? undefined : row[i];
  };
  const lines: BillLine[] = [];
  const rejected: RejectedBillLine[] = [];
  let declaredCount: number | undefined;
  for (let i = headerAt + 1; i < rows.length; i++) {
    const raw = rows[i]!;
    const lineNo = i + 1;
    if (raw.trim() === '') continue;
    if (raw.startsWith('总交易单数')) {
      const summaryHeader = raw.split(',').map((h) => h.trim());
      const summary = fields(rows[i + 1] ?? '');
      const n = Number(summary[summaryHeader.indexOf('总交易单数')]);
      if (Number.isSafeInteger(n)) declaredCount = n;
      else rejected.push({ lineNo: lineNo + 1, raw: rows[i + 1] ?? '', reason: 'summary row unreadable' });
      for (let j = i + 2; j < rows.length; j++) if (rows[j]!.trim() !== '') rejected.push({ lineNo: j + 1, raw: rows[j]!, reason: 'text after the summary' });
      break;
    }
    if (!raw.startsWith('`')) {
      rejected.push({ lineNo, raw, reason: 'not a bill row (no backtick prefix)' });
      continue;
    }
    const row = fields(raw);
    if (row.length !== header.length) {
      rejected.push({ lineNo, raw, reason: `${row.length} fields, the header has ${header.length}` });
      continue;
    }
    const status = col(row, '交易状态')!;
    const outTradeNo = col(row, '商户订单号')!;
    const transactionId = col(row, '微信订单号')!;
    const at = col(row, '交易时间')!;
    if (outTradeNo === '' || transactionId === '' || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(at)) {
      rejected.push({ lineNo, raw, reason: 'missing order number, transaction id or time' });
      continue;
    }
    if (status === 'REFUND') {
      const amount = yuanToFen(col(row, '申请退款金额') ?? col(row, '退款金额') ?? '');
      if (amount === undefined) {
        rejected.push({ lineNo, raw, reason: 'refund amount unreadable' });
        continue;
      }
      lines.push({ kind: 'refund', outTradeNo, transactionId, amountFen: Math.abs(amount), outRefundNo: col(row, '商户退款单号'), refundId: col(row, '微信退款单号'), status: col(row, '退款状态') || status, at, lineNo });
      continue;
    }
    const amount = yuanToFen(col(row, '订单金额') ?? col(row, '应结订单金额') ?? '');
    if (amount === undefined) {
      rejected.push({ lineNo, raw, reason: 'order amount unreadable' });
      continue;
    }
    lines.push({ kind: status === 'SUCCESS' ? 'payment' : 'other', outTradeNo, transactionId, amountFen: amount, status, at, lineNo });
  }
  const bill: Bill = { provider: 'wechat', date, lines, rejected, empty: false };
  if (declaredCount !== undefined) {
    bill.declaredCount = declaredCount;
    bill.countMatches = declaredCount === lines.length + rejected.filter((r) => r.raw.startsWith('`')).length;
  }
  return bill;
}
