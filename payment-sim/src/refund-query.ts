/**
 * The providers' refund queries, provider side:
 *
 * - WeChat Pay v3 `GET /v3/refund/domestic/refunds/{out_refund_no}`: the refund as the refund
 *   call answered it (status SUCCESS / CLOSED / PROCESSING / ABNORMAL), or 404
 *   RESOURCE_NOT_EXISTS when the merchant has no refund of that number.
 * - Alipay `alipay.trade.fastpay.refund.query` (out_trade_no or trade_no, out_request_no):
 *   10000 in both cases; `refund_status: REFUND_SUCCESS` with the amounts when the refund was
 *   made, no refund fields when it was not (Alipay's way of saying "not refunded").
 *
 * Signing and faults are the protocol handlers' (wechat/api.ts, alipay/api.ts); this reads the ledger.
 */
import type { PaymentSimulator } from './simulator.js';
import type { SimRefund, Trade } from './trades.js';
import { plain, rfc3339, yuan } from './time.js';

type Json = Record<string, unknown>;

function refundOf(sim: PaymentSimulator, provider: 'wechat' | 'alipay', outRefundNo: string, trade?: Trade): { t: Trade; r: SimRefund } | undefined {
  const trades = trade === undefined ? [...sim.trades.values()].filter((t) => t.provider === provider) : [trade];
  for (const t of trades) {
    const r = t.refunds.find((x) => x.outRefundNo === outRefundNo);
    if (r !== undefined) return { t, r };
  }
  return undefined;
}

/** The WeChat Pay answer: 200 and the refund, or the error to answer. */
export function wechatRefundQuery(sim: PaymentSimulator, outRefundNo: string): { status: 200; body: Json } | { status: number; code: string; message: string } {
  if (!/^[0-9A-Za-z_\-|*@]{1,64}$/.test(outRefundNo)) return { status: 400, code: 'PARAM_ERROR', message: 'out_refund_no 格式错误' };
  const found = refundOf(sim, 'wechat', outRefundNo);
  if (found === undefined) return { status: 404, code: 'RESOURCE_NOT_EXISTS', message: '退款单不存在' };
  const { t, r } = found;
  return {
    status: 200,
    body: {
      refund_id: r.refundId,
      out_refund_no: r.outRefundNo,
      transaction_id: t.transactionId,
      out_trade_no: t.outTradeNo,
      channel: 'ORIGINAL',
      user_received_account: '支付用户零钱',
      ...(r.successAt === undefined ? {} : { success_time: rfc3339(r.successAt) }),
      create_time: rfc3339(r.createdAt),
      status: r.status,
      funds_account: 'AVAILABLE',
      amount: { total: t.amountFen, refund: r.amountFen, payer_total: t.amountFen, payer_refund: r.amountFen, settlement_refund: r.amountFen, settlement_total: t.amountFen, discount_refund: 0, currency: 'CNY' },
    },
  };
}

/** The Alipay answer's value (signed by the caller). */
export function alipayRefundQuery(sim: PaymentSimulator, biz: Json): Json {
  const requestNo = typeof biz.out_request_no === 'string' ? biz.out_request_no : undefined;
  if (requestNo === undefined) return { code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.missing-parameter', sub_msg: '缺少 out_request_no' };
  let t: Trade | undefined;
  if (typeof biz.out_trade_no === 'string') t = sim.trade('alipay', biz.out_trade_no);
  else if (typeof biz.trade_no === 'string') t = [...sim.trades.values()].find((x) => x.provider === 'alipay' && x.transactionId === biz.trade_no);
  if (t === undefined || !t.exists) return { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.TRADE_NOT_EXIST', sub_msg: '交易不存在' };
  const base: Json = { code: '10000', msg: 'Success', ...(t.transactionId === undefined ? {} : { trade_no: t.transactionId }), out_trade_no: t.outTradeNo, out_request_no: requestNo };
  const found = refundOf(sim, 'alipay', requestNo, t);
  if (found === undefined || found.r.status !== 'SUCCESS') return base;
  const options = Array.isArray(biz.query_options) ? biz.query_options : [];
  return {
    ...base,
    total_amount: yuan(t.amountFen),
    refund_amount: yuan(found.r.amountFen),
    refund_status: 'REFUND_SUCCESS',
    ...(options.includes('gmt_refund_pay') && found.r.successAt !== undefined ? { gmt_refund_pay: plain(found.r.successAt) } : {}),
  };
}
