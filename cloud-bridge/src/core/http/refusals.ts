import { CloudError, ERROR_TEXT, type CloudErrorCode } from '../errors.js';

/**
 * How the HTTP edge answers each code the channel and staff APIs can return: its status.
 * The meaning of each code is core/errors.ts; the OpenAPI document lists each route's codes
 * from here (core/http/openapi.ts), so a new code cannot be answered without being
 * documented: add it to errors.ts, its status here, to the route's list, and the contract
 * test checks the rest.
 */
export const HTTP_STATUS = {
  invalid_request: 400,
  invalid_date: 400,
  invalid_period: 400,
  unknown_api_key: 401,
  unauthorized: 401,
  unknown_partner_key: 401,
  not_your_part: 403,
  session_required: 401,
  sms_code_wrong: 401,
  sms_code_expired: 401,
  unknown_order: 404,
  unknown_site: 404,
  unknown_partner: 404,
  unknown_channel: 404,
  unknown_visitor: 404,
  opt_out_token_invalid: 403,
  sold_out: 409,
  capacity_red: 409,
  capacity_orange: 409,
  capacity_exceeded: 409,
  kiosk_reserve_exhausted: 409,
  channel_paused: 409,
  visitor_already_booked: 409,
  already_paid: 409,
  not_payable: 409,
  order_expired: 409,
  already_refunded: 409,
  not_paid: 409,
  ticket_used: 409,
  price_higher: 409,
  payment_by_provider: 409,
  payment_by_partner: 409,
  bill_not_ready: 409,
  combo_part_redeemed: 409,
  part_not_redeemable: 409,
  payload_too_large: 413,
  invalid_id_number: 422,
  duplicate_visitor: 422,
  date_in_past: 422,
  beyond_booking_horizon: 422,
  slot_required: 422,
  slot_over: 422,
  same_date_and_slot: 422,
  rebook_too_late: 422,
  package_size: 422,
  unknown_type: 422,
  type_not_on_channel: 422,
  not_on_this_day: 422,
  unknown_slot: 422,
  entry_not_available: 422,
  unknown_refund_reason: 422,
  unknown_part: 422,
  amount_mismatch: 422,
  idempotency_key_reused: 422,
  provider_not_configured: 422,
  coupon_unknown: 422,
  coupon_in_use: 422,
  coupon_used: 422,
  coupon_void: 422,
  coupon_expired: 422,
  coupon_not_yet_valid: 422,
  coupon_not_for_channel: 422,
  coupon_not_yours: 422,
  coupon_not_applicable: 422,
  coupon_min_spend: 422,
  coupon_not_stackable: 422,
  sms_code_throttled: 429,
  internal: 500,
  too_many_streams: 503,
  payment_refused: 502,
  payment_unavailable: 503,
  payment_timeout: 504,
} as const satisfies Partial<Record<CloudErrorCode, number>>;

/** The codes an HTTP route can answer. */
export type RefusalCode = keyof typeof HTTP_STATUS;
export const REFUSAL_CODES = Object.keys(HTTP_STATUS) as RefusalCode[];

/** Why a sale on a date is refused, wherever one is made (a channel's order or rebooking, the booking page's): the same sales rules answer. */
export const SALE_REFUSALS: readonly RefusalCode[] = [
  'invalid_date',
  'channel_paused',
  'date_in_past',
  'beyond_booking_horizon',
  'slot_required',
  'slot_over',
  'capacity_red',
  'capacity_orange',
  'capacity_exceeded',
  'kiosk_reserve_exhausted',
  'sold_out',
  'visitor_already_booked',
  'unknown_type',
  'type_not_on_channel',
  'not_on_this_day',
  'unknown_slot',
  'entry_not_available',
];

/** Why an order's couponCode is refused (modules/marketing, docs/visitor-data/coupons.md): wherever an order is made. */
export const COUPON_REFUSALS: readonly RefusalCode[] = [
  'coupon_unknown',
  'coupon_in_use',
  'coupon_used',
  'coupon_void',
  'coupon_expired',
  'coupon_not_yet_valid',
  'coupon_not_for_channel',
  'coupon_not_yours',
  'coupon_not_applicable',
  'coupon_min_spend',
  'coupon_not_stackable',
];

/** Status and meaning of each code an HTTP route can answer. */
export const REFUSALS = Object.fromEntries(REFUSAL_CODES.map((code) => [code, { status: HTTP_STATUS[code], text: ERROR_TEXT[code] }])) as Record<RefusalCode, { status: number; text: string }>;

/** An answer to a channel request: HTTP status and JSON body. Errors carry a machine-readable `error`. */
export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** A code an HTTP route can answer (the rest are internal: 500). */
export function isRefusalCode(code: string): code is RefusalCode {
  return Object.hasOwn(HTTP_STATUS, code);
}

/**
 * The answer to a refusal: the code's status, `{ error, message, ...details }`. Business
 * refusals are stored under the idempotency key like a success, so a retry gets the same answer.
 */
export function refusalReply(err: CloudError): Reply {
  if (!isRefusalCode(err.code)) return { status: 500, body: { error: 'internal', message: 'internal error' } };
  return { status: HTTP_STATUS[err.code], body: { error: err.code, message: err.message, ...err.details } };
}

/** The body of a refusal with `code`, for the places that answer without a CloudError (middleware). */
export function refusalBody(code: RefusalCode, message: string): { error: RefusalCode; message: string } {
  return { error: code, message };
}
