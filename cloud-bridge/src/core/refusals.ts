/**
 * Every machine-readable `error` the channel and staff APIs answer with, its HTTP status and
 * what it means. The sales rules throw only codes from this table (`Refusal` takes a
 * `RefusalCode`), and the OpenAPI document lists each route's codes from it, so a new code
 * cannot be returned without being documented: add it here, to the route's list in
 * http/routes.ts, and the contract test checks the rest.
 */
export const REFUSALS = {
  // 400: the request itself
  invalid_request: { status: 400, text: 'The request does not match the schema (the message names the field)' },
  invalid_date: { status: 400, text: 'A date that is not a calendar date YYYY-MM-DD (2027-02-30, 2027-2-3)' },
  // 401: who is calling
  unknown_api_key: { status: 401, text: 'Missing or unknown channel API key' },
  unauthorized: { status: 401, text: "Missing or wrong staff token for this site (never in the URL)" },
  // 404: what the request names
  unknown_order: { status: 404, text: 'No such order on this channel' },
  unknown_site: { status: 404, text: 'No site with sales by that id' },
  unknown_channel: { status: 404, text: 'The site has no channel by that id' },
  // 409: refused by the current state; the same request may succeed later or elsewhere
  sold_out: { status: 409, text: 'The slot has fewer places left than the order has visitors' },
  capacity_red: { status: 409, text: 'The park is full today (level red): nobody sells' },
  capacity_orange: { status: 409, text: 'Online sales are closed for the day (level orange, or this order would reach it); the rest is kept for on-site sales' },
  capacity_exceeded: { status: 409, text: 'Not enough places left in the day for this many visitors' },
  kiosk_reserve_exhausted: { status: 409, text: 'Online sales are closed for the day: the remaining places are the kiosk reserve' },
  channel_paused: { status: 409, text: 'Park staff paused this channel' },
  visitor_already_booked: { status: 409, text: 'A visitor already holds as many tickets for that day as the park allows per ID number (`visitor` is the index in `visitors`)' },
  already_paid: { status: 409, text: 'The order is paid (with another paymentRef)' },
  not_payable: { status: 409, text: 'The order is neither pending nor paid (refunded), or changed meanwhile' },
  order_expired: { status: 409, text: 'The order was not paid within the hold; its places were released' },
  already_refunded: { status: 409, text: 'The order is refunded' },
  not_paid: { status: 409, text: 'Only paid orders are refunded or rebooked' },
  ticket_used: { status: 409, text: 'A ticket of the order already entered the park' },
  price_higher: { status: 409, text: 'The new date/slot costs more than was paid: refund and buy again' },
  // 413
  payload_too_large: { status: 413, text: 'The request body is over 64 KiB' },
  // 422: refused by a rule of the park; the same request is refused again
  invalid_id_number: { status: 422, text: 'Not a resident ID number: format, check digit, region or birth date (`visitor` is the index in `visitors`)' },
  duplicate_visitor: { status: 422, text: 'The same ID number twice in one order (`visitor` is the index of the second)' },
  date_in_past: { status: 422, text: 'The date is before today (park time)' },
  beyond_booking_horizon: { status: 422, text: 'The date is further ahead than the park sells (catalogue realName.bookingHorizonDays)' },
  slot_required: { status: 422, text: 'The park sells time slots: name one' },
  slot_over: { status: 422, text: "Today's slot is over (its end plus the late grace)" },
  same_date_and_slot: { status: 422, text: 'The order is already for that date and slot' },
  package_size: { status: 422, text: 'The visitors do not fill whole tickets of a package type' },
  unknown_type: { status: 422, text: 'No such ticket type' },
  type_not_on_channel: { status: 422, text: 'The ticket type is not sold on this channel' },
  not_on_this_day: { status: 422, text: 'The ticket type is not valid on that day of the week' },
  unknown_slot: { status: 422, text: 'No such time slot' },
  entry_not_available: { status: 422, text: 'The type has no such early/night entry, or the slot is outside its window' },
  unknown_refund_reason: { status: 422, text: "Not one of the park's refund reasons" },
  amount_mismatch: { status: 422, text: 'The amount paid is not the order amount' },
  idempotency_key_reused: { status: 422, text: 'The Idempotency-Key was used for a different request' },
  // 500
  internal: { status: 500, text: 'An unexpected error (logged); safe to retry with the same Idempotency-Key' },
} as const satisfies Record<string, { status: number; text: string }>;

export type RefusalCode = keyof typeof REFUSALS;
export const REFUSAL_CODES = Object.keys(REFUSALS) as RefusalCode[];

/** An answer to a channel request: HTTP status and JSON body. Errors carry a machine-readable `error`. */
export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/**
 * A refusal: the code's status, `{ error, message, ...details }`. Business refusals are stored
 * under the idempotency key like a success, so a retry gets the same answer.
 */
export class Refusal extends Error {
  readonly status: number;
  constructor(
    readonly error: RefusalCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.status = REFUSALS[error].status;
  }
  reply(): Reply {
    return { status: this.status, body: { error: this.error, message: this.message, ...this.details } };
  }
}

/** The body of a refusal with `code`, for the places that answer without a Refusal (middleware). */
export function refusalBody(code: RefusalCode, message: string): { error: RefusalCode; message: string } {
  return { error: code, message };
}
