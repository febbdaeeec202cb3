/**
 * One interface over the SMS providers. A provider sends one approved template to one
 * mainland number and reads its delivery receipts; every failure is a CloudError of the
 * `sms` area (core/errors.ts) whose details say `outcome` (`not_sent` | `unknown`) and
 * whether a retry is safe (`retryable`). Deciding what to record, retry or refuse is the
 * sender's (sender.ts).
 */

export type SmsProviderId = 'aliyun' | 'tencent';
export const SMS_PROVIDERS: readonly SmsProviderId[] = ['aliyun', 'tencent'];

export interface ProviderText {
  /** 11-digit mainland mobile number. */
  phone: string;
  /** The approved sign name (签名), e.g. the park's name. */
  signName: string;
  /** The approved template: Alibaba's TemplateCode (SMS_…), Tencent's TemplateId. */
  templateId: string;
  /** Alibaba: named variables (TemplateParam JSON); Tencent: positional ({1}, {2}…: TemplateParamSet). */
  params: Record<string, string> | string[];
  /** Our message id, echoed by the provider: Alibaba's OutId (also in its receipts), Tencent's SessionContext. */
  ref: string;
}

export interface Accepted {
  /** Alibaba's BizId, Tencent's SerialNo: what the delivery receipts name. */
  providerMessageId: string;
}

/** One delivery receipt as the provider pushed it. */
export interface Receipt {
  providerMessageId: string;
  /** Our id when the provider echoes it (Alibaba's out_id). */
  ref?: string;
  /** The number the receipt names (11 digits, or masked as 138****8000 by some accounts). */
  phone: string;
  delivered: boolean;
  /** The carrier's status: DELIVERED / DELIVRD, or why it failed (MK:0001, UNDELIV…). */
  code: string;
  description?: string;
  /** When the phone got it (or the carrier gave up), as the provider says. */
  at?: Date;
}

export interface SmsProvider {
  readonly id: SmsProviderId;
  send(text: ProviderText): Promise<Accepted>;
  /** The receipts in one push (a JSON array); CloudError sms_malformed when it is not the provider's format. */
  parseReceipts(body: string): Receipt[];
  /** What the provider wants back: taken (ok) or "push again later". */
  receiptAck(ok: boolean): { status: number; body: string };
}

/** "2017-01-01 00:00:00" in Beijing time (both providers' form) → Date; undefined if not that form. */
export function parseBeijingTime(text: unknown): Date | undefined {
  if (typeof text !== 'string' || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(text)) return undefined;
  const d = new Date(`${text.replace(' ', 'T')}+08:00`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
