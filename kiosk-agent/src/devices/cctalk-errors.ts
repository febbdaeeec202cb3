/** Stable codes for cash-device failures, so the sale flow, logs and kioskctl name them alike. */
export const CashErrorCode = {
  /** The port is not open: unplugged, wrong path, no permission (the message says which). */
  DeviceUnavailable: 'CASH_DEVICE_UNAVAILABLE',
  /** No valid answer within the timeout, after the retries a command allows. */
  NoAnswer: 'CASH_NO_ANSWER',
  /** The device answered NAK (header 5): it refused the command or its data. */
  Nak: 'CASH_NAK',
  /** The device stayed BUSY (header 6) through every retry. */
  Busy: 'CASH_BUSY',
  /** An answer that does not parse (wrong length, wrong category). */
  BadReply: 'CASH_BAD_REPLY',
  /** The device at that address is not what the config says (e.g. a coin acceptor at 40). */
  WrongDevice: 'CASH_WRONG_DEVICE',
  /** accept/return for a note that is not (or no longer) the one in escrow. */
  NotHeld: 'CASH_NOT_HELD',
  /** Route bill answered 254: there was no note in escrow. */
  EscrowEmpty: 'CASH_ESCROW_EMPTY',
  /** Route bill answered 255: the validator could not move the note. */
  RouteFailed: 'CASH_ROUTE_FAILED',
  /** A payout is already running on the hopper. */
  HopperBusy: 'CASH_HOPPER_BUSY',
  /** A request the caller can fix: an amount the coins cannot make, a value no bill type has. */
  BadRequest: 'CASH_BAD_REQUEST',
  /** The driver was closed. */
  Closed: 'CASH_CLOSED',
} as const;
export type CashErrorCode = (typeof CashErrorCode)[keyof typeof CashErrorCode];

export class CashDeviceError extends Error {
  override readonly name = 'CashDeviceError';

  constructor(
    readonly code: CashErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isCashDeviceError(err: unknown, code?: CashErrorCode): err is CashDeviceError {
  return err instanceof CashDeviceError && (code === undefined || err.code === code);
}
