/**
 * The one error class of cloud-bridge and every code it can carry, grouped by area. What
 * a code means lives here; how it is answered over HTTP (status, body) lives at the edge
 * (core/http/refusals.ts).
 */
export const ERROR_CODES = {
  /** The request itself. */
  request: {
    invalid_request: 'The request does not match the schema (the message names the field)',
    invalid_date: 'A date that is not a calendar date YYYY-MM-DD (2027-02-30, 2027-2-3)',
    payload_too_large: 'The request body is over 64 KiB',
    too_many_streams: 'This live stream already has as many watchers as it takes (the entrance screen: 50 per site); try again after Retry-After seconds',
  },
  /** Who is calling. */
  auth: {
    unknown_api_key: 'Missing or unknown channel API key',
    unauthorized: 'Missing or wrong staff token for this site (never in the URL)',
  },
  /** Sites and their configuration. */
  site: {
    unknown_site: 'No site with sales by that id',
    unknown_channel: 'The site has no channel by that id',
    config_invalid: 'The configuration is refused (the message lists every problem)',
  },
  /** Sales rules: orders, payment, refunds, rebooking. */
  sales: {
    unknown_order: 'No such order on this channel',
    sold_out: 'The slot has fewer places left than the order has visitors',
    capacity_red: 'The park is full today (level red): nobody sells',
    capacity_orange: 'Online sales are closed for the day (level orange, or this order would reach it); the rest is kept for on-site sales',
    capacity_exceeded: 'Not enough places left in the day for this many visitors',
    kiosk_reserve_exhausted: 'Online sales are closed for the day: the remaining places are the kiosk reserve',
    channel_paused: 'Park staff paused this channel',
    visitor_already_booked: 'A visitor already holds as many tickets for that day as the park allows per ID number (`visitor` is the index in `visitors`)',
    already_paid: 'The order is paid (with another paymentRef)',
    not_payable: 'The order is neither pending nor paid (refunded), or changed meanwhile',
    order_expired: 'The order was not paid within the hold; its places were released',
    already_refunded: 'The order is refunded',
    not_paid: 'Only paid orders are refunded or rebooked',
    ticket_used: 'A ticket of the order already entered the park',
    price_higher: 'The new date/slot costs more than was paid: refund and buy again',
    rebook_too_late: "The ticket type rebooks free only until its rebooking.freeUntilHoursBefore hours before the slot (or the day's opening); `deadline` says when that was",
    invalid_id_number: 'Not a resident ID number: format, check digit, region or birth date (`visitor` is the index in `visitors`)',
    duplicate_visitor: 'The same ID number twice in one order (`visitor` is the index of the second)',
    date_in_past: 'The date is before today (park time)',
    beyond_booking_horizon: 'The date is further ahead than the park sells (catalogue realName.bookingHorizonDays)',
    slot_required: 'The park sells time slots: name one',
    slot_over: "Today's slot is over (its end plus the late grace)",
    same_date_and_slot: 'The order is already for that date and slot',
    package_size: 'The visitors do not fill whole tickets of a package type',
    unknown_type: 'No such ticket type',
    type_not_on_channel: 'The ticket type is not sold on this channel',
    not_on_this_day: 'The ticket type is not valid on that day of the week',
    unknown_slot: 'No such time slot',
    entry_not_available: 'The type has no such early/night entry, or the slot is outside its window',
    unknown_refund_reason: "Not one of the park's refund reasons",
    amount_mismatch: 'The amount paid is not the order amount',
    idempotency_key_reused: 'The Idempotency-Key was used for a different request',
    payment_by_provider: "This channel's orders are paid through WeChat Pay / Alipay (POST …/payments), not confirmed by the channel",
  },
  /** Visitor profiles, consent, retention and deletion (modules/visitors, #19). */
  visitors: {
    unknown_visitor: 'No profile of that visitor at this site (a deletion request is still logged)',
    opt_out_token_invalid: 'The opt-out link is malformed or was not made by this park (forged or from another site)',
  },
  /** Secondary spending from the park's POS systems (modules/pos, #19). */
  pos: {
    unknown_visit: 'A POS line names no visit of that day: no member, ticket or phone of a visitor of the day',
    invalid_line: 'A POS line that is not well formed (the message names every bad field; in a CSV, the line number)',
    line_conflict: 'A POS line id already stored by this source with other content (amount, time, category, item, coupon or visitor): lines are never changed, send a new id',
  },
  /** Coupons and membership (modules/marketing, #19). */
  coupons: {
    coupon_unknown: 'No such coupon at this site',
    coupon_in_use: 'The coupon is held by another unpaid order (it comes back if that order is not paid within its hold)',
    coupon_used: 'The coupon was already redeemed (one use)',
    coupon_void: 'Park staff voided the coupon',
    coupon_expired: "The coupon's validity ended before the day it would be used (for a ticket coupon: the visit date)",
    coupon_not_yet_valid: "The coupon's validity starts after the day it would be used (for a ticket coupon: the visit date)",
    coupon_not_for_channel: 'The coupon is not for this sales channel or POS',
    coupon_not_yours: 'The coupon belongs to another visitor: none of the order\'s visitors (or the checkout\'s visitor) holds it',
    coupon_not_applicable: 'The coupon is not for this purchase: a POS coupon on a ticket order or the other way round, another POS category or ticket type, or it would make a WeChat Pay / Alipay order free',
    coupon_min_spend: 'The purchase costs less than the coupon\'s minimum spend (`minSpendFen`)',
    coupon_not_stackable: "An exclusive coupon on a price that already has a park discount (early-bird, night, off-season): the better of the two is the visitor's choice",
  },
  /** Combos and partners' shares (modules/partners, #19). */
  partners: {
    combo_part_redeemed: 'A partner already redeemed its part of this combo (the hotel checked the guest in): the order is not refunded',
    unknown_partner_key: 'Missing or unknown partner API key (send it as Authorization: Bearer <key>)',
    unknown_partner: 'No partner by that id at this site',
    invalid_period: 'A statement period is a park-local day YYYY-MM-DD or a month YYYY-MM',
    unknown_part: 'The order is not a combo with a part by that id',
    not_your_part: "That part of the combo is another partner's: a partner redeems only its own parts",
    part_not_redeemable: 'The order is not paid (unpaid, expired or refunded): its parts cannot be redeemed',
  },
  /** The visitor booking page (modules/booking): SMS login and the visitor's session. */
  booking: {
    session_required: 'Missing, unknown or expired booking session: log in again with the phone and an SMS code (POST …/sms-code, then …/session)',
    sms_code_wrong: 'Not the code sent to this phone (`attemptsLeft` says how many tries the code has left; after 5 wrong tries it is dead)',
    sms_code_expired: 'No live code for this phone: it expired (5 minutes), was used, or died after 5 wrong tries; ask for a new one',
    sms_code_throttled: 'Too many codes asked for: one per phone per 60 s, 10 per phone a day, and a limit per client address; try again after Retry-After seconds',
  },
  /**
   * Payment providers (modules/payments: WeChat Pay API v3, Alipay). A provider's answer is
   * acted on only after its signature verified; every failure to get one is one of these.
   */
  payment: {
    payment_timeout: 'The payment provider did not answer in time: the outcome is unknown, query before acting',
    payment_unavailable: 'The payment provider answered 5xx or 429, or could not be reached',
    payment_malformed: 'The provider answer or notification is not what its protocol says (not JSON, missing or mistyped fields, unparseable bill)',
    payment_bad_signature: 'A provider answer or notification whose signature is missing or does not verify',
    payment_stale: 'A signed answer or notification whose timestamp is more than 5 minutes from our clock',
    payment_unknown_key: 'Signed under a key (certificate serial, public key id) this merchant does not hold, or an expired certificate',
    payment_undecryptable: 'A notification resource that does not decrypt and authenticate under the APIv3 key (tampered ciphertext, tag or associated data, or another key)',
    payment_mismatch: 'A verified answer or notification for another merchant, app, order or bill than the one asked about',
    payment_refused: 'The provider refused the request (`providerCode` and `providerMessage` in the details)',
    payment_config: 'A payment key, certificate or APIv3 key file is missing, unreadable or of the wrong kind',
    payment_by_partner: 'This channel collects payment itself (partner mode): confirm with POST …/pay',
    provider_not_configured: 'The site has no such payment provider configured (cloud.yaml sites[].payments)',
    bill_not_ready: "The providers' bill of that date is not out yet (a day is reconciled from the next day, once the bills are published)",
  },
  /**
   * SMS providers (modules/sms: Alibaba Cloud SMS, Tencent Cloud SMS). A failed or refused
   * text never fails the sale that asked for it: it is logged and recorded in sms_messages.
   * `outcome` in the details says whether the provider may have sent it (`unknown`) or surely
   * did not (`not_sent`); only the latter is ever retried.
   */
  sms: {
    sms_timeout: 'The SMS provider did not answer in time: the text may have been sent, so it is not retried',
    sms_unavailable: 'The SMS provider could not be reached, answered 5xx, or refused for its own request rate (retried only when it surely did not send)',
    sms_malformed: 'The SMS provider answered something its protocol does not say (not JSON, missing fields): the text may have been sent',
    sms_refused: 'The SMS provider refused the text (`providerCode`, `providerMessage`): bad number, sign name or template, its per-phone limit, no balance',
    sms_auth: "The SMS provider refused our credentials or request signature (key id, secret, clock skew): nothing was sent",
    sms_throttled: 'Not sent: the phone reached its limit (`limit`: minute, hour, day) or the send queue is full',
    sms_not_sendable: 'Not sent: no sign name or template for the site and language, the order is not paid, or the number is not a mainland mobile',
    sms_config: 'An SMS key, secret or token file is missing, unreadable or too short',
  },
  /** Whitelist deltas and gate commands. */
  sync: {
    no_changes: 'A whitelist delta with no changes',
    no_ack: 'The gate did not acknowledge a command in time',
    closed: 'cloud-bridge closed before the operation finished',
  },
  /** The MQTT broker. */
  broker: {
    broker_unreachable: 'The MQTT broker could not be reached at start (the message names the URL, without credentials)',
  },
  /** The cloud's own database: schema versions, backups, restores (docs/backup.md). */
  store: {
    store_too_new: 'The database was migrated by a newer Stile: this software refuses to open it (upgrade, or restore the pre-upgrade backup)',
    store_needs_backup: 'PostgreSQL schema migrations wait for the operator: back the database up, then start with STILE_MIGRATE_WITHOUT_BACKUP=1',
    store_in_use: 'A stile-cloud is running on this SQLite file (or a restore is): stop it before restoring',
    backup_invalid: 'The file is not a whole Stile cloud database this software can open (integrity_check, schema version)',
  },
  /** Devices (gates, kiosks) and their credentials. */
  device: {
    invalid_device_id: 'Device ids are letters, digits, _ and - (1–64)',
  },
  internal: {
    internal: 'An unexpected error (logged); safe to retry with the same Idempotency-Key',
  },
} as const;

type Areas = typeof ERROR_CODES;
export type ErrorArea = keyof Areas;
export type CloudErrorCode = { [A in ErrorArea]: keyof Areas[A] }[ErrorArea];

/** Each code's meaning, flat. */
export const ERROR_TEXT = Object.fromEntries(Object.values(ERROR_CODES).flatMap((area) => Object.entries(area))) as Record<CloudErrorCode, string>;

/** The area a code belongs to. */
export function errorArea(code: CloudErrorCode): ErrorArea {
  for (const [area, codes] of Object.entries(ERROR_CODES)) if (code in codes) return area as ErrorArea;
  return 'internal';
}

/**
 * An error with a code: thrown by the rules, logged with its code, answered by the HTTP edge
 * with the code's status. `details` are machine-readable fields a client may act on
 * (`visitor`, `remaining`…).
 */
export class CloudError extends Error {
  override readonly name = 'CloudError';
  constructor(
    readonly code: CloudErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isCloudError(err: unknown, code?: CloudErrorCode): err is CloudError {
  return err instanceof CloudError && (code === undefined || err.code === code);
}
