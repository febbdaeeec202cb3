/** The simulator's ledger: trades and refunds of both providers, in one shape. */

export type Provider = 'wechat' | 'alipay';
export type TradeKind = 'native' | 'jsapi' | 'codepay' | 'precreate' | 'wap' | 'bar_code';
/**
 * WeChat Pay's trade states, used for both providers; Alipay's trade_status is derived:
 * NOTPAY/USERPAYING → WAIT_BUYER_PAY, SUCCESS → TRADE_SUCCESS, REFUND → TRADE_SUCCESS (part
 * refunded) or TRADE_CLOSED (all refunded), CLOSED/REVOKED/PAYERROR → TRADE_CLOSED.
 */
export type TradeState = 'NOTPAY' | 'USERPAYING' | 'SUCCESS' | 'REFUND' | 'CLOSED' | 'REVOKED' | 'PAYERROR';

export interface SimRefund {
  outRefundNo: string;
  refundId: string;
  amountFen: number;
  reason?: string;
  status: 'PROCESSING' | 'SUCCESS' | 'ABNORMAL' | 'CLOSED';
  createdAt: Date;
  successAt?: Date;
  notifyUrl?: string;
}

export interface Trade {
  provider: Provider;
  kind: TradeKind;
  outTradeNo: string;
  amountFen: number;
  description: string;
  attach?: string;
  notifyUrl?: string;
  returnUrl?: string;
  expiresAt?: Date;
  createdAt: Date;
  /** The defining parameters: the same out_trade_no with others is refused. */
  requestKey: string;
  state: TradeState;
  /** Alipay precreate: the trade exists at Alipay only once the QR code is scanned. */
  exists: boolean;
  scanned: boolean;
  /** Timed out (time_expire passed or the control API said so): can no longer be paid. */
  expired: boolean;
  transactionId?: string;
  paidAt?: Date;
  closedAt?: Date;
  openid?: string;
  buyerId?: string;
  codeUrl?: string;
  prepayId?: string;
  authCode?: string;
  deviceId?: string;
  refunds: SimRefund[];
  /** How many notifications of payment were sent (the control API can send one twice). */
  payNotifications: number;
}

export function refundedFen(t: Trade): number {
  return t.refunds.filter((r) => r.status !== 'CLOSED' && r.status !== 'ABNORMAL').reduce((s, r) => s + r.amountFen, 0);
}

export function alipayStatus(t: Trade): 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_CLOSED' {
  switch (t.state) {
    case 'NOTPAY':
    case 'USERPAYING':
      return 'WAIT_BUYER_PAY';
    case 'SUCCESS':
      return 'TRADE_SUCCESS';
    case 'REFUND':
      return refundedFen(t) >= t.amountFen ? 'TRADE_CLOSED' : 'TRADE_SUCCESS';
    default:
      return 'TRADE_CLOSED';
  }
}

export const WECHAT_STATE_DESC: Record<TradeState, string> = {
  NOTPAY: '未支付',
  USERPAYING: '用户支付中（需要输入密码）',
  SUCCESS: '支付成功',
  REFUND: '转入退款',
  CLOSED: '已关闭',
  REVOKED: '已撤销',
  PAYERROR: '支付失败，请重新下单支付',
};
