/**
 * Phone numbers are personal data: sms_messages keeps a keyed hash (HMAC-SHA256 under the
 * SMS phone-hash key, so the 10^10 mainland numbers cannot be hashed through without it) and
 * the masked form, never the number. The hash is what per-phone throttling counts and what a
 * delivery receipt's number is checked against.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { maskPhone } from '../../core/notify/sms.js';

/** The 11-digit mainland mobile number, from 13800138000, +8613800138000, 008613800138000 or 86 13800138000; undefined otherwise. */
export function mainlandMobile(raw: string): string | undefined {
  const digits = raw.replace(/[\s-]/g, '').replace(/^(\+86|0086|86)(?=1\d{10}$)/, '');
  return /^1\d{10}$/.test(digits) ? digits : undefined;
}

export class PhoneHasher {
  constructor(private readonly key: string) {}

  hash(phone: string): string {
    return createHmac('sha256', this.key).update(`sms-phone:${phone}`, 'utf8').digest('hex');
  }

  /** Whether a receipt's number is this message's: the full number against the hash, a masked one against the masked form. */
  matches(receiptPhone: string, storedHash: string, storedMasked: string): boolean {
    const phone = mainlandMobile(receiptPhone);
    if (phone !== undefined) {
      const a = Buffer.from(this.hash(phone), 'hex');
      const b = Buffer.from(storedHash, 'hex');
      return a.length === b.length && timingSafeEqual(a, b);
    }
    return /^1\d{2}\*{4}\d{4}$/.test(receiptPhone) && receiptPhone === storedMasked;
  }
}

export { maskPhone };
