/**
 * Every word of the visitor booking page in zh-CN and English: one typed table, used by the
 * server (the page shell's title and no-script line, page.ts) and bundled into the browser code
 * (web/booking). Refusals have their own table: each code the booking API can answer, said the
 * way a visitor (often an older one) understands it, with what to do next. Pure data: no Node
 * or DOM imports (the refusal codes are imported as a type only, erased from the bundle).
 */
import type { RefusalCode } from '../../core/http/refusals.js';

export type BookLang = 'zh-CN' | 'en';
export const BOOK_LANGS: readonly BookLang[] = ['zh-CN', 'en'];

const ZH = {
  title: '预约购票',
  noscript: '此页面需要启用 JavaScript。',
  loading: '正在加载…',
  langSwitch: 'English',
  largeText: '大字模式',
  myOrders: '我的订单',
  back: '返回',
  next: '下一步',
  retry: '重试',
  close: '关闭',
  offline: '网络连接不上，请检查网络后重试。',
  // 1. date, slot, type
  stepPick: '选择日期和门票',
  date: '游览日期',
  today: '今天',
  tomorrow: '明天',
  ticketsLeft: '当前剩余票量 {count} 张',
  slotLeft: '余 {count} 张',
  almostFull: '余票紧张',
  soldOut: '已售罄',
  slotClosed: '不开放',
  slotOver: '已结束',
  dayClosed: '该日期已停止网上售票',
  paused: '景区暂停了网上售票，请稍后再试',
  slot: '入园时段',
  type: '票种',
  typePersons: '{persons} 人套票',
  notOnThisDay: '该日期不售',
  rule_earlyBird: '早鸟优惠',
  rule_night: '夜场优惠',
  rule_offSeasonWeekend: '淡季周末优惠',
  percentOff: '省 {percent}%',
  was: '原价 {price}',
  entry: '入园方式',
  entry_any: '时段内任意时间入园',
  entry_early: '早鸟入园（更便宜，仅限早场入园）',
  entry_night: '夜场入园（更便宜，仅限夜场入园）',
  quantity: '数量',
  less: '减少一张',
  more: '增加一张',
  total: '合计',
  perDay: '每个证件号每天限购 {count} 张',
  // 2. visitors
  stepVisitors: '填写游客实名信息',
  visitorN: '游客 {n}',
  ticketN: '第 {n} 张票',
  name: '姓名',
  idNumber: '身份证号',
  idHint: '18 位，最后一位可能是 X',
  id_format: '身份证号应为 18 位：17 位数字加最后一位数字或 X',
  id_check_digit: '身份证号校验位不对，请核对每一位',
  id_region: '身份证号前 6 位地区码不对',
  id_birth_date: '身份证号中的出生日期不对',
  id_duplicate: '同一订单中不能重复填写同一个身份证号',
  nameMissing: '请填写姓名',
  privacy: '身份证号仅用于入园核验，加密保存，页面和短信中只显示后 4 位。',
  couponCode: '优惠券码（选填）',
  couponHint: '输入优惠券上的码，或扫码后粘贴',
  marketingConsent: '我同意景区以短信向我发送优惠活动和优惠券。此项自愿、与本次购票无关，不勾选也能正常购票；每条短信都附退订方式，可随时退订。',
  couponRefused: '这张优惠券不能用于这笔订单（可能已过期、已使用或不适用于此票种）。请核对券码，或删掉券码后再提交。',
  // 3. phone
  stepLogin: '手机号验证',
  phone: '手机号',
  phoneInvalid: '请填写 11 位手机号',
  smsCode: '短信验证码',
  sendCode: '获取验证码',
  resendIn: '{sec} 秒后重发',
  codeSent: '验证码已发送到 {phone}',
  codeInvalid: '请填写 6 位数字验证码',
  login: '验证并继续',
  loggedInAs: '已验证手机号 {phone}',
  logout: '换个手机号',
  // 4. pay
  stepPay: '支付',
  orderSummary: '订单信息',
  payBy_wechat: '微信支付',
  payBy_alipay: '支付宝',
  payNow: '立即支付 {amount}',
  payDeadline: '请在 {time} 前完成支付，逾期订单自动取消',
  scanToPay_wechat: '请用微信扫一扫下面的二维码付款',
  scanToPay_alipay: '请用支付宝扫一扫下面的二维码付款',
  waitingPayment: '正在等待支付结果…',
  paymentStillPending: '还没有收到付款。付款后本页会自动更新；也可以在“我的订单”中查看。',
  orderExpired: '订单已超时取消，名额已释放，请重新预约。',
  pendingOrder: '您有一个待支付的订单',
  continuePay: '继续支付',
  cancelOrder: '取消订单',
  cancelOrderConfirm: '确定取消这个订单吗？名额将立即释放，二维码将无法再付款。',
  orderCancelled: '订单已取消，名额已释放。',
  // WeChat JSAPI inside WeChat (the openid from WeChat's web authorization first)
  wxAuthorizing: '正在打开微信支付…',
  wxPayCancelled: '您取消了支付，订单仍在等待付款。可以再次点“微信支付”，或改用二维码付款。',
  wxPayFailed: '微信支付没有完成，请再试一次，或改用二维码付款。',
  wxPaySent: '已在微信中付款，正在确认…',
  wxNoBridge: '微信支付没有打开，请在微信中打开本页，或改用二维码付款。',
  wxoauth_state_invalid: '微信授权没有完成（链接无效），请再点一次“微信支付”。',
  wxoauth_state_expired: '微信授权超时了，请再点一次“微信支付”。',
  wxoauth_code_invalid: '微信授权没有完成，请再点一次“微信支付”。',
  wxoauth_code_used: '微信授权已使用过，请再点一次“微信支付”。',
  wxoauth_unavailable: '暂时无法通过微信授权，请改用二维码付款（长按识别二维码）。',
  // 5. ticket
  stepTicket: '入园凭证',
  paid: '支付成功',
  showQr: '入园时请出示此二维码，在闸机扫码入园',
  ticketPersons: '本码可入园 {persons} 人',
  entryWindow: '入园时间 {from}–{to}',
  slotWindow: '入园时段 {date} {start}–{end}',
  dayTicket: '游览日期 {date}，当天有效',
  gateRules: '入园须知',
  gateRule1: '每张票仅可入园一次，出园后不能再次入园。',
  gateRule2: '也可以刷本人身份证入园。',
  tourRoute: '游览路线',
  smsSent: '入园码也已通过短信发送到您的手机。',
  visitors: '游客',
  // 6. my orders
  ordersEmpty: '该手机号下没有订单。',
  status_pending: '待支付',
  status_paid: '已支付',
  status_refunded: '已退款',
  status_expired: '已取消',
  refundState_requested: '退款已申请',
  refundState_processing: '退款处理中',
  refundState_succeeded: '退款已到账',
  refundState_failed: '退款失败，景区工作人员会联系您',
  viewTicket: '查看入园码',
  refund: '申请退款',
  refundReason: '退款原因',
  refundConfirm: '确认退款 {amount}',
  refundDone: '退款已提交，款项将原路退回。',
  rebook: '改期',
  rebookConfirm: '确认改期',
  rebookDone: '已改期，新的入园码已生效。',
  amount: '金额',
  orderNo: '订单号',
};

const EN: Record<keyof typeof ZH, string> = {
  title: 'Book tickets',
  noscript: 'This page needs JavaScript.',
  loading: 'Loading…',
  langSwitch: '中文',
  largeText: 'Large text',
  myOrders: 'My orders',
  back: 'Back',
  next: 'Next',
  retry: 'Try again',
  close: 'Close',
  offline: 'No connection. Check your network and try again.',
  stepPick: 'Date and tickets',
  date: 'Visit date',
  today: 'Today',
  tomorrow: 'Tomorrow',
  ticketsLeft: '{count} tickets left',
  slotLeft: '{count} left',
  almostFull: 'Almost full',
  soldOut: 'Sold out',
  slotClosed: 'Closed',
  slotOver: 'Ended',
  dayClosed: 'Online sales are closed for this date',
  paused: 'The park has paused online sales. Please try again later',
  slot: 'Entry time',
  type: 'Ticket type',
  typePersons: 'Package for {persons}',
  notOnThisDay: 'Not sold on this date',
  rule_earlyBird: 'Early-bird price',
  rule_night: 'Night price',
  rule_offSeasonWeekend: 'Off-season weekend price',
  percentOff: '{percent}% off',
  was: 'was {price}',
  entry: 'Entry',
  entry_any: 'Any time in the slot',
  entry_early: 'Early-bird entry (cheaper, early entry only)',
  entry_night: 'Night entry (cheaper, night entry only)',
  quantity: 'Quantity',
  less: 'One ticket fewer',
  more: 'One ticket more',
  total: 'Total',
  perDay: 'At most {count} per ID number per day',
  stepVisitors: 'Visitors (real name)',
  visitorN: 'Visitor {n}',
  ticketN: 'Ticket {n}',
  name: 'Name',
  idNumber: 'ID card number',
  idHint: '18 characters; the last may be X',
  id_format: 'An ID number has 18 characters: 17 digits and a digit or X',
  id_check_digit: 'The ID number does not add up. Please check each digit',
  id_region: 'The first 6 digits (the region) of the ID number are wrong',
  id_birth_date: 'The birth date inside the ID number is wrong',
  id_duplicate: 'The same ID number cannot be used twice in one order',
  nameMissing: 'Please enter the name',
  privacy: 'ID numbers are used only at the gate and stored encrypted; pages and texts show only the last 4 characters.',
  couponCode: 'Coupon code (optional)',
  couponHint: 'Type the code on your coupon, or paste it after scanning',
  marketingConsent: 'Send me the park\'s offers and coupons by SMS. Optional and separate from this purchase: you can buy without it, and every text says how to opt out at any time.',
  couponRefused: 'This coupon cannot be used on this order (it may have expired, been used, or not apply to this ticket). Check the code, or clear it and try again.',
  stepLogin: 'Your phone',
  phone: 'Mobile number',
  phoneInvalid: 'Please enter an 11-digit mobile number',
  smsCode: 'SMS code',
  sendCode: 'Send code',
  resendIn: 'Resend in {sec} s',
  codeSent: 'Code sent to {phone}',
  codeInvalid: 'Please enter the 6-digit code',
  login: 'Verify and continue',
  loggedInAs: 'Verified: {phone}',
  logout: 'Use another number',
  stepPay: 'Payment',
  orderSummary: 'Your order',
  payBy_wechat: 'WeChat Pay',
  payBy_alipay: 'Alipay',
  payNow: 'Pay {amount}',
  payDeadline: 'Please pay before {time}; unpaid orders are cancelled',
  scanToPay_wechat: 'Scan this code with WeChat to pay',
  scanToPay_alipay: 'Scan this code with Alipay to pay',
  waitingPayment: 'Waiting for the payment…',
  paymentStillPending: 'No payment yet. This page updates by itself once you pay; you can also find the order under "My orders".',
  orderExpired: 'The order was not paid in time and was cancelled. Please book again.',
  pendingOrder: 'You have an order waiting for payment',
  continuePay: 'Continue to pay',
  cancelOrder: 'Cancel the order',
  cancelOrderConfirm: 'Cancel this order? Its places are released at once and the payment code stops working.',
  orderCancelled: 'The order is cancelled; its places are released.',
  wxAuthorizing: 'Opening WeChat Pay…',
  wxPayCancelled: 'You cancelled the payment; the order is still waiting. Tap "WeChat Pay" again, or pay with the QR code.',
  wxPayFailed: 'WeChat Pay did not complete. Please try again, or pay with the QR code.',
  wxPaySent: 'Paid in WeChat; confirming…',
  wxNoBridge: 'WeChat Pay did not open. Open this page in WeChat, or pay with the QR code.',
  wxoauth_state_invalid: 'WeChat did not confirm who you are (the link was not valid). Tap "WeChat Pay" again.',
  wxoauth_state_expired: 'WeChat took too long to confirm who you are. Tap "WeChat Pay" again.',
  wxoauth_code_invalid: 'WeChat did not confirm who you are. Tap "WeChat Pay" again.',
  wxoauth_code_used: 'That WeChat confirmation was already used. Tap "WeChat Pay" again.',
  wxoauth_unavailable: 'WeChat cannot confirm who you are right now. Please pay with the QR code (press and hold it).',
  stepTicket: 'Your ticket',
  paid: 'Payment received',
  showQr: 'Show this code at the gate scanner to enter',
  ticketPersons: 'Admits {persons}',
  entryWindow: 'Entry {from}–{to}',
  slotWindow: 'Entry {date} {start}–{end}',
  dayTicket: 'Valid all day on {date}',
  gateRules: 'At the gate',
  gateRule1: 'Each ticket admits once; leaving the park ends it.',
  gateRule2: 'You can also tap your own ID card at the gate.',
  tourRoute: 'Tour route',
  smsSent: 'The entry code was also sent to your phone by SMS.',
  visitors: 'Visitors',
  ordersEmpty: 'No orders for this number.',
  status_pending: 'Awaiting payment',
  status_paid: 'Paid',
  status_refunded: 'Refunded',
  status_expired: 'Cancelled',
  refundState_requested: 'Refund requested',
  refundState_processing: 'Refund in progress',
  refundState_succeeded: 'Refunded to your account',
  refundState_failed: 'Refund failed; park staff will contact you',
  viewTicket: 'Show entry code',
  refund: 'Refund',
  refundReason: 'Reason for the refund',
  refundConfirm: 'Refund {amount}',
  refundDone: 'Refund submitted; the money goes back the way you paid.',
  rebook: 'Change date',
  rebookConfirm: 'Change to this date',
  rebookDone: 'Date changed; your new entry code is valid.',
  amount: 'Amount',
  orderNo: 'Order no.',
};

export type BookTextKey = keyof typeof ZH;

/** Every label in both languages (same keys, same `{name}` placeholders). */
export const BOOK_TEXT: Record<BookLang, Record<BookTextKey, string>> = { 'zh-CN': ZH, en: EN };

/** The refusals a visitor can meet on the booking page, in plain words with what to do. */
export type BookRefusal = Extract<
  RefusalCode,
  | 'sold_out'
  | 'capacity_red'
  | 'capacity_orange'
  | 'capacity_exceeded'
  | 'kiosk_reserve_exhausted'
  | 'channel_paused'
  | 'visitor_already_booked'
  | 'invalid_id_number'
  | 'duplicate_visitor'
  | 'date_in_past'
  | 'beyond_booking_horizon'
  | 'slot_required'
  | 'slot_over'
  | 'same_date_and_slot'
  | 'package_size'
  | 'not_on_this_day'
  | 'entry_not_available'
  | 'order_expired'
  | 'already_paid'
  | 'already_refunded'
  | 'not_paid'
  | 'ticket_used'
  | 'price_higher'
  | 'session_required'
  | 'sms_code_wrong'
  | 'sms_code_expired'
  | 'sms_code_throttled'
  | 'unknown_site'
  | 'invalid_date'
  | 'unknown_type'
  | 'type_not_on_channel'
  | 'unknown_slot'
  | 'idempotency_key_reused'
  | 'not_payable'
  | 'unknown_order'
  | 'unknown_refund_reason'
  | 'provider_not_configured'
  | 'payment_refused'
  | 'payment_unavailable'
  | 'payment_timeout'
  | 'invalid_request'
  | 'internal'
  | 'rebook_too_late'
  | 'combo_part_redeemed'
  | 'coupon_unknown'
  | 'coupon_in_use'
  | 'coupon_used'
  | 'coupon_void'
  | 'coupon_expired'
  | 'coupon_not_yet_valid'
  | 'coupon_not_for_channel'
  | 'coupon_not_yours'
  | 'coupon_not_applicable'
  | 'coupon_min_spend'
  | 'coupon_not_stackable'
>;

type RefusalTable = Record<BookRefusal, string>;

const REFUSAL_ZH: RefusalTable = {
  sold_out: '这个时段的票已经卖完了，请换一个时段或日期。',
  capacity_red: '景区今天已满员，暂停售票。请改天再来。',
  capacity_orange: '这一天的网上票已售完，剩余名额留给现场购票。请换个日期。',
  capacity_exceeded: '这一天剩下的票不够这么多人，请减少人数或换个日期。',
  kiosk_reserve_exhausted: '这一天的网上票已售完，剩余名额留给现场购票。请换个日期。',
  channel_paused: '景区暂停了网上售票，请稍后再试。',
  visitor_already_booked: '{who}这一天已经订过票了，每人每天限购。',
  invalid_id_number: '{who}的身份证号不对，请核对后再提交。',
  duplicate_visitor: '{who}的身份证号和前面的游客重复了。',
  date_in_past: '不能预约已经过去的日期，请重新选择日期。',
  beyond_booking_horizon: '这个日期还没有开放预约，请选择更近的日期。',
  slot_required: '请选择入园时段。',
  slot_over: '这个时段已经结束了，请选择其他时段。',
  same_date_and_slot: '订单已经是这个日期和时段，无需改期。',
  package_size: '套票的游客人数不对，请按套票人数填写每一位游客。',
  not_on_this_day: '这种票在所选日期不售（例如只在周末或工作日有效），请换票种或日期。',
  entry_not_available: '所选时段不在早鸟/夜场入园时间内，请换时段或选择普通入园。',
  order_expired: '订单已超时取消，名额已释放，请重新预约。',
  already_paid: '这个订单已经支付过了，请在“我的订单”中查看。',
  already_refunded: '这个订单已经退款了。',
  not_paid: '订单还没有支付，不能退款或改期。',
  ticket_used: '这个订单的票已经入园使用过，不能退款或改期。',
  price_higher: '新日期的票价更高，不能直接改期：请退款后重新购买。',
  session_required: '手机号验证已过期，请重新获取验证码。',
  sms_code_wrong: '验证码不对，请核对短信中的 6 位数字。',
  sms_code_expired: '验证码已失效，请重新获取。',
  sms_code_throttled: '获取验证码太频繁了，请稍等一会儿再试。',
  unknown_site: '找不到这个景区的预约页面。',
  invalid_date: '日期不对，请重新选择日期。',
  unknown_type: '这种票已不再出售，请重新选择票种。',
  type_not_on_channel: '这种票不能在网上购买，请到售票处购买。',
  unknown_slot: '这个时段已不存在，请重新选择时段。',
  idempotency_key_reused: '请求重复了，请刷新页面后再试。',
  not_payable: '这个订单现在不能支付，请在“我的订单”中查看。',
  unknown_order: '找不到这个订单，请在“我的订单”中查看。',
  unknown_refund_reason: '请从列表中选择一个退款原因。',
  provider_not_configured: '景区暂不支持这种支付方式，请换一种。',
  payment_refused: '支付平台拒绝了这笔支付，请稍后再试或换一种支付方式。',
  payment_unavailable: '支付平台暂时无法连接，请稍后再试。',
  payment_timeout: '支付平台响应超时。如果已经付款，请稍候在“我的订单”中查看，不要重复付款。',
  invalid_request: '填写的内容有误，请检查后再提交。',
  internal: '系统出了点问题，请稍后再试。',
  rebook_too_late: '已过免费改期的截止时间（入园时段开始前的规定小时数），不能再改期；如需要可申请退款。',
  combo_part_redeemed: '这张联票中合作方的部分（如酒店入住）已经使用，不能在线退款；请联系景区或合作方。',
  coupon_unknown: '没有找到这张优惠券，请核对券码（区分字母和数字），或删掉券码后再提交。',
  coupon_in_use: '这张优惠券正被另一笔未支付的订单占用。那笔订单超时未付后会自动释放，或删掉券码后直接购票。',
  coupon_used: '这张优惠券已经用过了，每张券只能用一次。请删掉券码后再提交。',
  coupon_void: '这张优惠券已被景区作废，不能再用。请删掉券码后再提交。',
  coupon_expired: '这张优惠券在您的游览日期前已过期。请删掉券码，或换一张券。',
  coupon_not_yet_valid: '这张优惠券在您的游览日期还不能用。请换一个日期，或删掉券码。',
  coupon_not_for_channel: '这张优惠券不能在官网使用（例如只限园内消费或其他渠道）。请删掉券码后再提交。',
  coupon_not_yours: '这张优惠券是发给其他游客的，需要券的主人在本订单的游客中。请删掉券码后再提交。',
  coupon_not_applicable: '这张优惠券不适用于这种门票（例如只限餐饮或其他票种）。请删掉券码，或换一种票。',
  coupon_min_spend: '订单金额没有达到这张优惠券的最低消费。请增加门票，或删掉券码。',
  coupon_not_stackable: '这张优惠券不能和早鸟、夜场等优惠同时使用。请删掉券码，或换一个不打折的时段。',
};

const REFUSAL_EN: RefusalTable = {
  sold_out: 'This time slot is sold out. Please pick another slot or date.',
  capacity_red: 'The park is full today and has stopped selling tickets. Please come another day.',
  capacity_orange: 'Online tickets for this date are sold out; the rest are kept for the ticket office. Please pick another date.',
  capacity_exceeded: 'Not enough tickets left on this date for that many visitors. Please book fewer or pick another date.',
  kiosk_reserve_exhausted: 'Online tickets for this date are sold out; the rest are kept for the ticket office. Please pick another date.',
  channel_paused: 'The park has paused online sales. Please try again later.',
  visitor_already_booked: '{who} already has a ticket for this date; the park limits tickets per person per day.',
  invalid_id_number: "{who}'s ID number is not right. Please check it.",
  duplicate_visitor: "{who}'s ID number is the same as an earlier visitor's.",
  date_in_past: 'That date has passed. Please pick another date.',
  beyond_booking_horizon: 'That date is not open for booking yet. Please pick an earlier date.',
  slot_required: 'Please pick an entry time.',
  slot_over: 'That time slot has ended. Please pick another.',
  same_date_and_slot: 'The order is already for that date and time.',
  package_size: 'A package needs exactly its number of visitors. Please fill in each of them.',
  not_on_this_day: 'This ticket is not sold on that date (some are weekend-only or weekday-only). Please pick another ticket or date.',
  entry_not_available: 'That time slot is outside the early-bird/night entry hours. Pick another slot or the normal entry.',
  order_expired: 'The order was not paid in time and was cancelled. Please book again.',
  already_paid: 'This order is paid already. See "My orders".',
  already_refunded: 'This order has been refunded.',
  not_paid: 'The order is not paid, so it cannot be refunded or changed.',
  ticket_used: 'A ticket of this order has been used at the gate, so it cannot be refunded or changed.',
  price_higher: 'The new date costs more, so the order cannot be moved: please refund it and book again.',
  session_required: 'Your phone verification has expired. Please get a new code.',
  sms_code_wrong: 'That code is not right. Please check the 6 digits in the text message.',
  sms_code_expired: 'That code no longer works. Please get a new one.',
  sms_code_throttled: 'Too many codes asked for. Please wait a little and try again.',
  unknown_site: 'There is no booking page for this park.',
  invalid_date: 'That date is not valid. Please pick another date.',
  unknown_type: 'This ticket is no longer sold. Please pick another ticket.',
  type_not_on_channel: 'This ticket is not sold online. Please buy it at the ticket office.',
  unknown_slot: 'That time slot no longer exists. Please pick another.',
  idempotency_key_reused: 'That request was sent twice. Please reload the page and try again.',
  not_payable: 'This order cannot be paid now. See "My orders".',
  unknown_order: 'Order not found. See "My orders".',
  unknown_refund_reason: 'Please pick a reason from the list.',
  provider_not_configured: 'The park does not take this payment method. Please use another.',
  payment_refused: 'The payment service refused this payment. Try again later or use another method.',
  payment_unavailable: 'The payment service cannot be reached right now. Please try again later.',
  payment_timeout: 'The payment service did not answer in time. If you have paid, check "My orders" in a moment; do not pay again.',
  invalid_request: 'Something in the form is not right. Please check it.',
  internal: 'Something went wrong on our side. Please try again later.',
  rebook_too_late: 'It is too late to change the date for free (the ticket allows it only until some hours before the time slot). You can still ask for a refund.',
  combo_part_redeemed: "A partner's part of this combo (the hotel stay, the meal) has already been used, so it cannot be refunded online. Please contact the park or the partner.",
  coupon_unknown: 'There is no coupon with that code. Check it, or clear it and try again.',
  coupon_in_use: 'This coupon is held by another unpaid order. It comes back when that order runs out of time; or clear the code and book without it.',
  coupon_used: 'This coupon has already been used; each coupon works once. Clear the code and try again.',
  coupon_void: 'The park has cancelled this coupon. Clear the code and try again.',
  coupon_expired: 'This coupon expires before your visit date. Clear the code or use another coupon.',
  coupon_not_yet_valid: 'This coupon is not valid yet on your visit date. Pick another date or clear the code.',
  coupon_not_for_channel: 'This coupon cannot be used on the booking page (it may be for the park\'s shops or another channel). Clear the code and try again.',
  coupon_not_yours: 'This coupon was given to another visitor, who must be one of the visitors of this order. Clear the code and try again.',
  coupon_not_applicable: 'This coupon does not apply to this ticket (it may be for meals or another ticket type). Clear the code or pick another ticket.',
  coupon_min_spend: 'The order is below this coupon\'s minimum spend. Add tickets or clear the code.',
  coupon_not_stackable: 'This coupon cannot be combined with the early-bird or night price. Clear the code or pick a slot without that discount.',
};

export const BOOK_REFUSALS: Record<BookLang, RefusalTable> = { 'zh-CN': REFUSAL_ZH, en: REFUSAL_EN };

export function isBookRefusal(code: string): code is BookRefusal {
  return Object.prototype.hasOwnProperty.call(REFUSAL_ZH, code);
}

export function isBookTextKey(key: string): key is BookTextKey {
  return Object.prototype.hasOwnProperty.call(ZH, key);
}

/** Fill `{name}` placeholders. */
export function fill(s: string, vars?: Record<string, string | number>): string {
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
  return s;
}

/** A label with its placeholders filled in. */
export function bookText(lang: BookLang, key: BookTextKey, vars?: Record<string, string | number>): string {
  return fill((BOOK_TEXT[lang] ?? BOOK_TEXT.en)[key], vars);
}

/**
 * A refusal in plain words. `who` names the visitor a per-visitor refusal is about ("游客 2" /
 * "Visitor 2"); an unknown code (a newer server) falls back to the generic one.
 */
export function refusalText(lang: BookLang, code: string, vars: { who?: string } = {}): string {
  const table = BOOK_REFUSALS[lang] ?? BOOK_REFUSALS.en;
  const fallbackWho = lang === 'zh-CN' ? '有一位游客' : 'A visitor';
  // Coupon refusals the table does not name one by one (expired, used, wrong channel…): one plain sentence.
  if (!isBookRefusal(code) && code.startsWith('coupon_')) return bookText(lang, 'couponRefused');
  return fill(isBookRefusal(code) ? table[code] : table.internal, { who: vars.who ?? fallbackWho });
}
