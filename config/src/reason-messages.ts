/**
 * What the lane's display shows a visitor, in Chinese and English. Sized for a two-line
 * LED screen of 16 columns: at most 8 Chinese characters on the first line and 16 ASCII
 * characters on the second. Staff see the machine-readable reason in logs and `gatectl`.
 */
import type { RejectReason } from './reasons.js';

export interface VisitorMessage {
  zh: string;
  en: string;
}

export const ADMIT_MESSAGE: VisitorMessage = { zh: '请通行', en: 'Welcome' };

/** One entry per reject reason; the Record type makes a new reason without a message a compile error. */
export const REJECT_MESSAGES: Readonly<Record<RejectReason, VisitorMessage>> = {
  malformed_code: { zh: '无法识别', en: 'Unreadable code' },
  wrong_site: { zh: '非本景区门票', en: 'Wrong park' },
  unknown_ticket: { zh: '票不存在', en: 'Unknown ticket' },
  no_ticket_today: { zh: '今日无预约', en: 'No ticket today' },
  bad_signature: { zh: '票据无效', en: 'Invalid ticket' },
  unknown_key: { zh: '票据无法验证', en: 'Cannot verify' },
  key_expired: { zh: '票据已失效', en: 'Ticket expired' },
  refunded: { zh: '已退票', en: 'Refunded' },
  revoked: { zh: '票已作废', en: 'Ticket revoked' },
  rebooked: { zh: '已改签请用新票', en: 'Use new ticket' },
  date_not_yet: { zh: '未到游览日期', en: 'Not valid yet' },
  date_expired: { zh: '票已过期', en: 'Ticket expired' },
  before_slot: { zh: '未到入园时段', en: 'Too early' },
  after_slot: { zh: '入园时段已过', en: 'Slot has passed' },
  outside_entry_window: { zh: '非入园时间', en: 'Closed for entry' },
  entries_exhausted: { zh: '票已使用', en: 'Already used' },
  daily_entries_exhausted: { zh: '今日次数已用完', en: 'Used up today' },
  anti_passback: { zh: '请勿重复刷票', en: 'Already scanned' },
  gate_not_allowed: { zh: '请走其他闸口', en: 'Use another gate' },
  zone_not_allowed: { zh: '不可进入本区', en: 'Wrong area' },
  unknown_ticket_type: { zh: '票种无效', en: 'Invalid type' },
  gate_fault: { zh: '请找工作人员', en: 'Please ask staff' },
  gate_locked: { zh: '本通道已关闭', en: 'Lane closed' },
};

export function rejectMessage(reason: RejectReason): VisitorMessage {
  return REJECT_MESSAGES[reason];
}
