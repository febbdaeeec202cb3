/** The booking page's SMS login limits (docs/booking.md, "SMS login"). */
export interface BookingLimits {
  /** A code lives this long. */
  codeTtlMs: number;
  /** Wrong tries a code takes; then it is dead. */
  maxWrongTries: number;
  /** One code per phone per this long. */
  resendAfterMs: number;
  /** Codes per phone in 24 h (a window from the first of them). */
  codesPerPhonePerDay: number;
  /** Codes per client address per hour (generous: carriers put many phones behind one address). */
  codesPerAddressPerHour: number;
  /** A session lives this long. */
  sessionTtlMs: number;
  /** "My orders" lists at most this many, newest first. */
  ordersListed: number;
}

export const BOOKING_LIMITS: BookingLimits = {
  codeTtlMs: 5 * 60_000,
  maxWrongTries: 5,
  resendAfterMs: 60_000,
  codesPerPhonePerDay: 10,
  codesPerAddressPerHour: 30,
  sessionTtlMs: 24 * 3_600_000,
  ordersListed: 50,
};
