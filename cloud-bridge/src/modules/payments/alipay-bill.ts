/**
 * Alipay trade bill (bill_type trade): the bill_download_url gives a zip holding two GBK CSV
 * files, `<pid>_<yyyymmdd>_业务明细.csv` and `…_业务明细(汇总).csv`. The detail file has `#`
 * comment lines around a table whose header starts 支付宝交易号,商户订单号,业务类型,…; fields
 * are padded with spaces or tabs; refunds (业务类型 退款) have negative amounts and their
 * 退款批次号/请求号 (our out_request_no). The zip is read with fflate; GBK is decoded by
 * Node's ICU (TextDecoder 'gbk', fatal).
 */
import { unzipSync } from 'fflate';
import { CloudError } from '../../core/errors.js';
import { yuanToFen } from './money.js';
import type { Bill, BillLine, RejectedBillLine } from './bill.js';

/** Full-width brackets as ASCII, surrounding blanks off: 订单金额（元） → 订单金额(元). */
function norm(h: string): string {
  return h.replace(/（/g, '(').replace(/）/g, ')').trim();
}

/** The detail CSV's text out of the zip. */
export function alipayBillText(zip: Uint8Array): string {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip);
  } catch (err) {
    throw new CloudError('payment_malformed', 'Alipay bill: not a zip file', { reason: 'bill_zip' }, { cause: err });
  }
  for (const data of Object.values(files)) {
    let text: string;
    try {
      text = new TextDecoder('gbk', { fatal: true }).decode(data);
    } catch {
      continue;
    }
    if (text.split(/\r?\n/).some((l) => l.startsWith('支付宝交易号'))) return text;
  }
  throw new CloudError('payment_malformed', 'Alipay bill: no 业务明细 table in the zip', { reason: 'bill_no_detail' });
}

export function parseAlipayTradeBill(text: string, date: string): Bill {
  const rows = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const headerAt = rows.findIndex((r) => r.startsWith('支付宝交易号'));
  if (headerAt < 0) throw new CloudError('payment_malformed', 'Alipay bill: no table header', { reason: 'bill_header' });
  const header = rows[headerAt]!.split(',').map(norm);
  const need = ['支付宝交易号', '商户订单号', '业务类型', '完成时间', '订单金额(元)'];
  for (const name of need) if (!header.includes(name)) throw new CloudError('payment_malformed', `Alipay bill: no ${name} column`, { reason: 'bill_header', column: name });
  const col = (row: string[], name: string) => {
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
    if (raw.startsWith('#')) {
      // #交易合计：N笔，退款合计：M笔
      const m = /交易合计[:：](\d+)笔.*退款合计[:：](\d+)笔/.exec(raw);
      if (m !== null) declaredCount = Number(m[1]) + Number(m[2]);
      continue;
    }
    const row = raw.split(',').map((f) => f.trim());
    if (row.length !== header.length) {
      rejected.push({ lineNo, raw, reason: `${row.length} fields, the header has ${header.length}` });
      continue;
    }
    const kindText = col(row, '业务类型')!;
    const outTradeNo = col(row, '商户订单号')!;
    const transactionId = col(row, '支付宝交易号')!;
    const at = col(row, '完成时间')!;
    const amount = yuanToFen(col(row, '订单金额(元)')!);
    if (outTradeNo === '' || transactionId === '' || amount === undefined || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(at)) {
      rejected.push({ lineNo, raw, reason: 'missing order number, transaction id, time or amount' });
      continue;
    }
    if (kindText === '退款') {
      lines.push({ kind: 'refund', outTradeNo, transactionId, amountFen: Math.abs(amount), outRefundNo: col(row, '退款批次号/请求号') || undefined, status: kindText, at, lineNo });
    } else {
      lines.push({ kind: kindText === '交易' ? 'payment' : 'other', outTradeNo, transactionId, amountFen: amount, status: kindText, at, lineNo });
    }
  }
  const bill: Bill = { provider: 'alipay', date, lines, rejected, empty: false };
  if (declaredCount !== undefined) {
    bill.declaredCount = declaredCount;
    bill.countMatches = declaredCount === lines.length + rejected.length;
  }
  return bill;
}
