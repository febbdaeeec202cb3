import type { Logger } from '../log.js';

/** A text to a visitor's phone: the check-in code after payment or rebooking. */
export interface SmsMessage {
  /** Mainland mobile number, 11 digits. */
  to: string;
  text: string;
  orderId: string;
  /**
   * For providers that send only approved templates (Alibaba Cloud, Tencent Cloud SMS,
   * modules/sms): without `template` the message is the check-in code of `orderId`, and the
   * provider builds its variables from the order; with it, the site's template of that name
   * is filled with `vars` (e.g. a booking page's verification code). `text` is what the log
   * provider writes.
   */
  site?: string;
  template?: string;
  vars?: Record<string, string>;
  /** The visitor's language: picks the zh-CN or English template (default zh-CN). */
  lang?: SmsLang;
}

export type SmsLang = 'zh-CN' | 'en';

/**
 * Whether the sender took the text: `accepted` false when it will not go out (the phone's
 * throttle — then `retryAfterSec` says when a text to it would be taken — a full queue, no
 * template…). Taken is not delivered: a provider may still fail it later.
 */
export interface SmsSendResult {
  accepted: boolean;
  retryAfterSec?: number;
  /** Why not, in the sender's words (throttled_minute, queue_full, no_template…). */
  reason?: string;
}

/**
 * How check-in codes reach visitors. A real provider (Aliyun SMS, Tencent Cloud SMS…) is a
 * small adapter implementing this; it must not throw for a failed send but log and keep
 * the order — the code is also in the channel's order view. It may say whether it took the
 * text (a caller that must tell the visitor, like the booking page's login code, reads it);
 * no answer means taken.
 */
export interface SmsSender {
  send(message: SmsMessage): Promise<SmsSendResult | void>;
}

/** Phone numbers are personal data too: logs keep the first 3 and last 4 digits. */
export function maskPhone(phone: string): string {
  return phone.length === 11 ? `${phone.slice(0, 3)}****${phone.slice(7)}` : '***';
}

/** The demo's provider: writes the message to the log (and keeps the last ones for tests and the dashboard). */
export class LogSmsSender implements SmsSender {
  readonly sent: SmsMessage[] = [];

  constructor(
    private readonly log: Logger,
    private readonly keep = 100,
  ) {}

  send(message: SmsMessage): Promise<SmsSendResult> {
    this.sent.push(message);
    if (this.sent.length > this.keep) this.sent.shift();
    // The text holds check-in codes, which open the gate: they stay out of the log.
    this.log.info({ event: 'sms', to: maskPhone(message.to), orderId: message.orderId, chars: message.text.length }, 'SMS (log provider)');
    return Promise.resolve({ accepted: true });
  }
}
