/**
 * The day's bill files as the providers publish them.
 *
 * WeChat Pay trade bill (bill_type ALL): UTF-8 with a BOM, CRLF lines; the detail header,
 * one row per payment (by payment time) and per refund (by the time it was accepted), every
 * field prefixed with a backtick; then the summary header and row. Amounts in yuan.
 *
 * Alipay trade bill: a zip of two GBK CSV files, `<pid>_<yyyymmdd>_业务明细.csv` and
 * `<pid>_<yyyymmdd>_业务明细(汇总).csv`, `#` comment lines around a table whose fields are
 * padded with a tab; refunds are rows of 业务类型 退款 with negative amounts.
 *
 * A test can stage what a real bill sometimes holds (BillEdits, control API `PUT
 * /sim/bills/{provider}/{date}/edits`): a trade made elsewhere, a line left out, another amount,
 * a line twice, lines nobody can read, a summary count that disagrees, or a bill not made yet.
 */
import { randomBytes } from 'node:crypto';
import { zipSync } from 'fflate';
import iconv from 'iconv-lite';
import { beijingDate, plain, yuan } from './time.js';
import { type Trade } from './trades.js';

const WECHAT_HEADER = '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注';
const WECHAT_SUMMARY = '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额';
const TRADE_TYPE: Record<string, string> = { native: 'NATIVE', jsapi: 'JSAPI', codepay: 'MICROPAY' };

/** What a test makes the day's bill say besides the ledger (all optional). */
export interface BillEdits {
  /** The provider has not made the bill yet: WeChat Pay answers STATEMENT_CREATING, Alipay isp.bill_not_exist. */
  notReady?: boolean;
  /** Payments taken on trades the merchant never made (another shop on the same account, a forged order). */
  extra?: { outTradeNo: string; amountFen: number; at?: string; refund?: { outRefundNo: string } }[];
  /** Lines left out: payments by out_trade_no, refunds by out_refund_no or out_trade_no. */
  omit?: string[];
  /** A payment line with another amount, by out_trade_no. */
  amounts?: Record<string, number>;
  /** Payment lines listed twice, by out_trade_no. */
  duplicate?: string[];
  /** Raw lines written among the rows (unreadable ones). */
  garbage?: string[];
  /** The summary's count of rows, whatever the rows are. */
  declaredCount?: number;
}

function fakeTransactionId(provider: 'wechat' | 'alipay', date: string): string {
  const digits = [...randomBytes(20)].map((b) => String(b % 10)).join('');
  const day = date.replaceAll('-', '');
  return provider === 'wechat' ? `42000${digits.slice(0, 5)}${day}${digits.slice(5, 15)}` : `${day}22001${digits.slice(0, 15)}`;
}

/** 0.6% service fee, rounded to the fen. */
function fee(fen: number): number {
  return Math.round(fen * 0.006);
}

export function wechatBill(trades: Trade[], date: string, ids: { appid: string; mchid: string }, edits: BillEdits = {}): string | undefined {
  let rows: string[][] = [];
  for (const t of trades) {
    if (t.provider !== 'wechat') continue;
    if (t.paidAt !== undefined && t.transactionId !== undefined && beijingDate(t.paidAt) === date) {
      rows.push([plain(t.paidAt), ids.appid, ids.mchid, '0', t.deviceId ?? '', t.transactionId, t.outTradeNo, t.openid ?? '', TRADE_TYPE[t.kind] ?? 'NATIVE', 'SUCCESS', 'OTHERS', 'CNY', yuan(t.amountFen), '0.00', '0', '0', '0.00', '0.00', '', '', t.description, t.attach ?? '', yuan(fee(t.amountFen)), '0.60%', yuan(t.amountFen), '0.00', '']);
    }
    for (const r of t.refunds) {
      if (beijingDate(r.createdAt) !== date || r.status === 'ABNORMAL' || r.status === 'CLOSED') continue;
      rows.push([plain(r.createdAt), ids.appid, ids.mchid, '0', t.deviceId ?? '', t.transactionId ?? '', t.outTradeNo, t.openid ?? '', TRADE_TYPE[t.kind] ?? 'NATIVE', 'REFUND', 'OTHERS', 'CNY', '0.00', '0.00', r.refundId, r.outRefundNo, yuan(r.amountFen), '0.00', 'ORIGINAL', r.status, t.description, t.attach ?? '', yuan(-fee(r.amountFen)), '0.60%', '0.00', yuan(r.amountFen), '']);
    }
  }
  // Columns: 0 time, 5 transaction id, 6 out_trade_no, 9 status, 12 settled amount, 15 out_refund_no, 16 refund amount, 24 order amount.
  for (const x of edits.extra ?? []) {
    const fen = x.amountFen;
    const at = `${date} ${x.at ?? '12:00:00'}`;
    if (x.refund) rows.push([at, ids.appid, ids.mchid, '0', '', fakeTransactionId('wechat', date), x.outTradeNo, 'o-elsewhere', 'NATIVE', 'REFUND', 'OTHERS', 'CNY', '0.00', '0.00', `5030${randomBytes(8).toString('hex')}`, x.refund.outRefundNo, yuan(fen), '0.00', 'ORIGINAL', 'SUCCESS', '其他商品', '', yuan(-fee(fen)), '0.60%', '0.00', yuan(fen), '']);
    else rows.push([at, ids.appid, ids.mchid, '0', '', fakeTransactionId('wechat', date), x.outTradeNo, 'o-elsewhere', 'NATIVE', 'SUCCESS', 'OTHERS', 'CNY', yuan(fen), '0.00', '0', '0', '0.00', '0.00', '', '', '其他商品', '', yuan(fee(fen)), '0.60%', yuan(fen), '0.00', '']);
  }
  const omit = new Set(edits.omit ?? []);
  rows = rows.filter((r) => !omit.has(r[6]!) && !(r[9] === 'REFUND' && omit.has(r[15]!)));
  for (const r of rows) {
    const fen = edits.amounts?.[r[6]!];
    if (fen !== undefined && r[9] === 'SUCCESS') r[12] = r[24] = yuan(fen);
  }
  for (const no of edits.duplicate ?? []) rows.push(...rows.filter((r) => r[6] === no && r[9] === 'SUCCESS').map((r) => [...r]));
  if (rows.length === 0 && (edits.garbage ?? []).length === 0) return undefined;
  rows.sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
  let paid = 0;
  let refunded = 0;
  let fees = 0;
  for (const r of rows) {
    const fen = fenOf(r[9] === 'REFUND' ? r[16]! : r[24]!);
    if (r[9] === 'REFUND') refunded += fen;
    else paid += fen;
    fees += r[9] === 'REFUND' ? -fee(fen) : fee(fen);
  }
  const tick = (fields: string[]) => fields.map((f) => `\`${f}`).join(',');
  const body = rows.map(tick);
  body.splice(Math.min(1, body.length), 0, ...(edits.garbage ?? []));
  const lines = ['\uFEFF' + WECHAT_HEADER, ...body, WECHAT_SUMMARY, tick([String(edits.declaredCount ?? rows.length), yuan(paid), yuan(refunded), '0.00', yuan(fees), yuan(paid), yuan(refunded)])];
  return lines.join('\r\n') + '\r\n';
}

/** "12.34" → 1234 (the bill's own amounts, always two decimals). */
function fenOf(text: string): number {
  const [i, d = '0'] = text.replace('-', '').split('.');
  return Number(i) * 100 + Number(d.padEnd(2, '0'));
}

const ALIPAY_HEADER = '支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注';
const ALIPAY_SUMMARY_HEADER = '门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）';

function cn(date: string): string {
  return `${date.slice(0, 4)}年${date.slice(5, 7)}月${date.slice(8, 10)}日`;
}

/** The zip's bytes and its file name, or undefined when the day has no trade. */
export function alipayBill(trades: Trade[], date: string, sellerId: string, exportedAt: Date, edits: BillEdits = {}): { zip: Uint8Array; name: string } | undefined {
  let rows: string[][] = [];
  for (const t of trades) {
    if (t.provider !== 'alipay') continue;
    if (t.paidAt !== undefined && t.transactionId !== undefined && beijingDate(t.paidAt) === date) {
      rows.push([t.transactionId, t.outTradeNo, '交易', t.description, plain(t.createdAt), plain(t.paidAt), '', '', '', t.deviceId ?? '', t.buyerId ?? '', yuan(t.amountFen), yuan(t.amountFen), '0.00', '0.00', '0.00', '0.00', '0.00', '', '0.00', '0.00', '', yuan(-fee(t.amountFen)), '0.00', '']);
    }
    for (const r of t.refunds) {
      if (beijingDate(r.createdAt) !== date || r.status !== 'SUCCESS') continue;
      rows.push([t.transactionId ?? '', t.outTradeNo, '退款', t.description, plain(t.createdAt), plain(r.successAt ?? r.createdAt), '', '', '', '', t.buyerId ?? '', yuan(-r.amountFen), yuan(-r.amountFen), '0.00', '0.00', '0.00', '0.00', '0.00', '', '0.00', '0.00', r.outRefundNo, yuan(fee(r.amountFen)), '0.00', r.reason ?? '']);
    }
  }
  // Columns: 0 transaction id, 1 out_trade_no, 2 kind, 5 finished, 11/12 amounts, 21 out_request_no.
  for (const x of edits.extra ?? []) {
    const at = `${date} ${x.at ?? '12:00:00'}`;
    const fen = x.refund ? -x.amountFen : x.amountFen;
    rows.push([fakeTransactionId('alipay', date), x.outTradeNo, x.refund ? '退款' : '交易', '其他商品', at, at, '', '', '', '', 'oth***@example.com', yuan(fen), yuan(fen), '0.00', '0.00', '0.00', '0.00', '0.00', '', '0.00', '0.00', x.refund?.outRefundNo ?? '', yuan(-fee(fen)), '0.00', '']);
  }
  const omit = new Set(edits.omit ?? []);
  rows = rows.filter((r) => !omit.has(r[1]!) && !(r[2] === '退款' && omit.has(r[21]!)));
  for (const r of rows) {
    const fen = edits.amounts?.[r[1]!];
    if (fen !== undefined && r[2] === '交易') r[11] = r[12] = yuan(fen);
  }
  for (const no of edits.duplicate ?? []) rows.push(...rows.filter((r) => r[1] === no && r[2] === '交易').map((r) => [...r]));
  if (rows.length === 0 && (edits.garbage ?? []).length === 0) return undefined;
  rows.sort((a, b) => (a[5]! < b[5]! ? -1 : a[5]! > b[5]! ? 1 : 0));
  let nPay = 0;
  let nRefund = 0;
  let total = 0;
  let fees = 0;
  for (const r of rows) {
    const fen = fenOf(r[11]!);
    if (r[2] === '退款') {
      nRefund++;
      total -= fen;
      fees -= fee(fen);
    } else {
      nPay++;
      total += fen;
      fees += fee(fen);
    }
  }
  if (edits.declaredCount !== undefined) nPay = edits.declaredCount - nRefund;
  const day = date.replaceAll('-', '');
  const next = beijingDate(new Date(Date.parse(`${date}T00:00:00+08:00`) + 86_400_000));
  const head = (title: string) => [`#支付宝${title}查询`, `#账号：[${sellerId}]`, `#起始日期：[${cn(date)} 00:00:00]   终止日期：[${cn(next)} 00:00:00]`];
  const detail = [
    ...head('业务明细'),
    '#-----------------------------------------业务明细列表----------------------------------------',
    ALIPAY_HEADER,
    ...rows.map((r) => r.map((f) => `${f}\t`).join(',')),
    ...(edits.garbage ?? []),
    '#-----------------------------------------业务明细列表结束------------------------------------',
    `#交易合计：${nPay}笔，退款合计：${nRefund}笔`,
    `#导出时间：[${plain(exportedAt).replace(/^(\d{4})-(\d{2})-(\d{2})/, '$1年$2月$3日')}]`,
  ];
  const summary = [
    ...head('业务汇总'),
    '#-----------------------------------------业务汇总列表----------------------------------------',
    ALIPAY_SUMMARY_HEADER,
    ['合计', '', String(nPay), String(nRefund), yuan(total), yuan(total), '0.00', '0.00', '0.00', yuan(-fees), '0.00', yuan(total - fees)].join(','),
    '#-----------------------------------------业务汇总列表结束------------------------------------',
  ];
  const gbk = (lines: string[]) => new Uint8Array(iconv.encode(lines.join('\r\n') + '\r\n', 'gbk'));
  const zip = zipSync({ [`${sellerId}_${day}_业务明细.csv`]: gbk(detail), [`${sellerId}_${day}_业务明细(汇总).csv`]: gbk(summary) });
  return { zip, name: `${sellerId}_${day}.csv.zip` };
}
