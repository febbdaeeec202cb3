import { CloudError } from '../../core/errors.js';
import { utf8Bytes } from '../../core/utf8.js';
import type { PaymentOrder } from './provider.js';

/** Our own order fields, before anything is sent. */
export function checkOrder(order: PaymentOrder): void {
  if (!/^[0-9A-Za-z_\-|*]{6,32}$/.test(order.outTradeNo)) throw new CloudError('invalid_request', `out_trade_no must be 6–32 of [0-9A-Za-z_-|*]: ${order.outTradeNo}`);
  if (!Number.isSafeInteger(order.amountFen) || order.amountFen <= 0) throw new CloudError('invalid_request', `amount must be a positive integer of fen: ${order.amountFen}`);
  // WeChat Pay counts it in UTF-8 bytes: 43 Chinese characters are already too many.
  if (order.description === '' || utf8Bytes(order.description) > 127) throw new CloudError('invalid_request', `description must be 1–127 UTF-8 bytes (${utf8Bytes(order.description)})`);
}
