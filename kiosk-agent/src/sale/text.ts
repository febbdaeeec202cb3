/**
 * Every word the sale machine puts on the screen, in zh-CN and English: one typed table (the
 * same shape as cloud-bridge's modules/screen/text.ts). Refusals and faults are keys of it, so
 * a new reason cannot ship without both texts. Money placeholders are yuan strings ("¥80.50",
 * see yuan()). Pure data: the touch-screen page bundles it too.
 */
import type { Lang } from './lang.js';

const ZH = {
  welcome: '请触摸屏幕开始购票',
  choose: '请选择票种、日期、时段和人数',
  choose_type: '请先选择票种',
  choose_slot: '请选择入园时段',
  unknown_choice: '该选项不可用，请重新选择',
  date_invalid: '只能购买今天至 {last} 的门票',
  too_many_persons: '每次最多购买 {max} 人的门票',
  availability_pending: '正在查询余票，请稍候',
  availability_failed: '暂时无法查询余票，请稍后再试或到人工窗口购票',
  capacity_orange_kiosk: '今日游客较多，线上售票已暂停；本机出售现场预留票，还可售 {remaining} 人',
  capacity_red: '今日游客已满，已停止售票',
  capacity_changed: '余票已变化，请重新选择',
  not_enough_places: '余票不足：还可售 {remaining} 人',
  slot_full: '该时段余票不足：还可售 {remaining} 人',
  tap_id_card: '请将第 {index} 位游客（共 {total} 位）的身份证放在读卡区，或输入身份证号',
  name_required: '请输入游客姓名',
  invalid_id_format: '身份证号格式不正确（18 位：17 位数字加 1 位数字或 X）',
  invalid_id_check_digit: '身份证号校验位不正确，请核对',
  invalid_id_region: '身份证号地区码不正确，请核对',
  invalid_id_birth_date: '身份证号出生日期不正确，请核对',
  duplicate_visitor: '这张身份证已登记在本单中',
  id_limit_reached: '该身份证当日已购 {limit} 张票，不能再购买',
  card_removed: '读卡未完成，请重新放置身份证',
  visitors_complete: '游客信息已登记完成',
  quote_failed: '暂时无法计算票价，请稍后再试',
  choose_payment: '应付 {total}，请选择支付方式',
  method_unavailable: '该支付方式暂不可用，请选择其他方式',
  offline_cash_only: '网络中断，暂时只能使用现金支付',
  out_of_service: '本机暂停售票（打印机故障），请到人工窗口购票',
  staff_required: '请工作人员先登录',
  order_held: '订单已生成，如需修改请取消后重新购买',
  order_refused: '下单失败，请稍后再试或到人工窗口购票',
  order_failed: '下单无应答，请重试',
  insert_notes: '请投入纸币：还需支付 {due}',
  note_not_accepted: '本机不收该面额纸币，已退回',
  no_change: '找零不足，无法找零 {change}，纸币已退回，请投入较小面额',
  exact_change_only: '零钱已用完，现金支付请投入正好等于应付金额的纸币，或使用扫码支付',
  note_rejected: '纸币无法识别，已退回',
  bill_jam: '纸币器故障，已通知工作人员',
  paying_change: '正在找零 {change}，请取走零钱',
  change_owed: '找零不足，尚欠您 {amount}，已打印凭条，请到人工窗口领取',
  refunding_cash: '正在退还 {amount}',
  refund_owed: '无法全部退还现金，尚欠您 {amount}，已打印凭条并通知工作人员',
  cash_unexpected: '收到一张未请求的纸币，已记录并通知工作人员',
  scan_payment_code: '请出示微信或支付宝付款码，对准扫描口',
  payment_pending: '请在手机上确认付款',
  payment_failed: '付款未成功，请重试或选择其他方式',
  payment_timeout: '付款超时，已撤销本次付款',
  payment_unresolved: '付款结果暂未确认；如已扣款，将自动退回',
  scan_qr: '请用微信或支付宝扫描屏幕上的二维码付款',
  qr_failed: '暂时无法生成付款码，请选择其他方式',
  amount_mismatch: '付款金额不符，已撤销并退款',
  staff_cash_enter: '应收 {total}，请输入实收金额',
  not_enough_cash: '实收金额不足 {total}',
  recording: '正在出票，请稍候',
  record_failed: '出票失败，款项将退回',
  printing: '正在打印门票',
  paper_out: '打印纸已用完，已通知工作人员；您的门票已付款，稍后补打',
  printer_jam: '打印机卡纸，已通知工作人员；您的门票已付款，稍后补打',
  printer_offline: '打印机无应答，已通知工作人员；您的门票已付款，稍后补打',
  take_ticket: '出票成功，请取走门票和凭条',
  cancelled: '已取消购票',
  idle_timeout: '长时间无操作，已返回首页',
  cannot_cancel_paid: '已付款，不能取消；正在出票',
  refund_started: '正在办理退款',
  refund_done: '退款已完成',
  refund_failed: '退款未完成，将自动重试',
  unknown_refund_reason: '请选择退款原因',
  staff_called: '已通知工作人员，请稍候',
} as const;

const EN: Record<keyof typeof ZH, string> = {
  welcome: 'Touch the screen to buy tickets',
  choose: 'Choose the ticket type, date, time slot and number of visitors',
  choose_type: 'Choose a ticket type first',
  choose_slot: 'Choose a time slot',
  unknown_choice: 'That option is not available: choose again',
  date_invalid: 'Tickets are sold from today to {last}',
  too_many_persons: 'At most {max} visitors per purchase',
  availability_pending: 'Checking tickets left, one moment',
  availability_failed: 'Tickets left cannot be checked now: try again shortly or buy at the staffed window',
  capacity_orange_kiosk: 'The park is busy: online sales are paused and this machine sells the on-site reserve, {remaining} visitors left',
  capacity_red: 'The park is full for today: ticket sales have stopped',
  capacity_changed: 'Tickets left have changed: choose again',
  not_enough_places: 'Not enough tickets left: {remaining} visitors',
  slot_full: 'Not enough tickets left in this slot: {remaining} visitors',
  tap_id_card: 'Place the ID card of visitor {index} of {total} on the reader, or type the ID number',
  name_required: "Enter the visitor's name",
  invalid_id_format: 'Not an ID number (18 characters: 17 digits and a digit or X)',
  invalid_id_check_digit: 'The ID number does not check out: please check it',
  invalid_id_region: 'The region code of the ID number is not valid: please check it',
  invalid_id_birth_date: 'The birth date in the ID number is not valid: please check it',
  duplicate_visitor: 'This ID card is already in this purchase',
  id_limit_reached: 'This ID already holds {limit} ticket(s) for the day: no more can be bought',
  card_removed: 'The card was removed before it was read: place it again',
  visitors_complete: 'All visitors are registered',
  quote_failed: 'The price cannot be worked out now: try again shortly',
  choose_payment: 'To pay: {total}. Choose how to pay',
  method_unavailable: 'That way of paying is not available now: choose another',
  offline_cash_only: 'The network is down: cash only for now',
  out_of_service: 'This machine is not selling (printer fault): please buy at the staffed window',
  staff_required: 'A staff member must log in first',
  order_held: 'The order is made: cancel and start again to change it',
  order_refused: 'The order could not be made: try again shortly or buy at the staffed window',
  order_failed: 'No answer to the order: try again',
  insert_notes: 'Insert notes: {due} still to pay',
  note_not_accepted: 'This machine does not take that note: it has been returned',
  no_change: 'Not enough coins for {change} change: note returned, please use a smaller note',
  exact_change_only: 'No coins left for change: pay cash with notes that make the exact amount, or pay by code',
  note_rejected: 'The note was not recognised and has been returned',
  bill_jam: 'Note reader fault: staff have been called',
  paying_change: 'Paying {change} change: please take your coins',
  change_owed: 'Not enough coins: we owe you {amount}. Take the printed slip to the staffed window',
  refunding_cash: 'Returning {amount}',
  refund_owed: 'Not all your cash could be returned: we owe you {amount}. A slip is printed and staff are called',
  cash_unexpected: 'A note came in that was not asked for: it is recorded and staff are called',
  scan_payment_code: 'Show your WeChat or Alipay payment code to the scanner',
  payment_pending: 'Confirm the payment on your phone',
  payment_failed: 'The payment did not go through: try again or choose another way to pay',
  payment_timeout: 'The payment timed out and has been cancelled',
  payment_unresolved: 'The payment is not confirmed yet; if you were charged, it will be refunded automatically',
  scan_qr: 'Scan the QR code on the screen with WeChat or Alipay to pay',
  qr_failed: 'A payment QR code cannot be made now: choose another way to pay',
  amount_mismatch: 'The amount paid did not match: the payment is cancelled and refunded',
  staff_cash_enter: 'To collect: {total}. Enter the amount received',
  not_enough_cash: 'The amount received is less than {total}',
  recording: 'Issuing your tickets, one moment',
  record_failed: 'The tickets could not be issued: your money will be returned',
  printing: 'Printing your tickets',
  paper_out: 'Out of paper: staff have been called. Your tickets are paid and will be printed',
  printer_jam: 'Printer jam: staff have been called. Your tickets are paid and will be printed',
  printer_offline: 'The printer is not answering: staff have been called. Your tickets are paid and will be printed',
  take_ticket: 'Done: please take your tickets and receipt',
  cancelled: 'Purchase cancelled',
  idle_timeout: 'No touch for a while: back to the start',
  cannot_cancel_paid: 'Paid: cannot cancel now, your tickets are being issued',
  refund_started: 'Refund in progress',
  refund_done: 'Refund completed',
  refund_failed: 'The refund did not complete: it will be retried automatically',
  unknown_refund_reason: 'Choose a refund reason',
  staff_called: 'Staff have been called: please wait',
};

export type TextKey = keyof typeof ZH;

/** Every text in both languages (same keys, same `{name}` placeholders). */
export const SALE_TEXT: Record<Lang, Record<TextKey, string>> = { 'zh-CN': ZH, en: EN };

export function isTextKey(key: string): key is TextKey {
  return Object.prototype.hasOwnProperty.call(ZH, key);
}

/** A text with its `{name}` placeholders filled in. */
export function saleText(lang: Lang, key: TextKey, vars?: Record<string, string | number>): string {
  let s: string = SALE_TEXT[lang][key];
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
  return s;
}

/** Fen as the screen shows money: ¥80, ¥80.50. */
export function yuan(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const a = Math.abs(Math.trunc(fen));
  const cents = a % 100;
  return `${sign}¥${Math.floor(a / 100)}${cents === 0 ? '' : `.${String(cents).padStart(2, '0')}`}`;
}
