/** A provider's daily bill as lines: what reconciliation (a later step) matches against orders. */

export interface BillLine {
  /** A payment, a refund, or another kind of row the provider lists (status tells). */
  kind: 'payment' | 'refund' | 'other';
  outTradeNo: string;
  /** The provider's transaction id (微信订单号 / 支付宝交易号). */
  transactionId: string;
  /** Payment: the order amount; refund: the amount refunded. Positive fen. */
  amountFen: number;
  outRefundNo?: string;
  refundId?: string;
  /** The provider's own status text (SUCCESS, REFUND, 交易, 退款…). */
  status: string;
  /** As written in the file: "YYYY-MM-DD HH:mm:ss", Beijing time. */
  at: string;
  /** 1-based line in the file, for reports. */
  lineNo: number;
}

/** A line the parser could not read: kept for the reconciliation report, never dropped. */
export interface RejectedBillLine {
  lineNo: number;
  raw: string;
  reason: string;
}

export interface Bill {
  provider: 'wechat' | 'alipay';
  /** YYYY-MM-DD. */
  date: string;
  lines: BillLine[];
  rejected: RejectedBillLine[];
  /** The file's own count of rows, when it has one, and whether the lines read agree with it. */
  declaredCount?: number;
  countMatches?: boolean;
  /** The provider has no bill for the day (no transactions). */
  empty: boolean;
}
