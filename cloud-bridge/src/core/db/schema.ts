import type { Generated } from 'kysely';

/**
 * Table types. 64-bit gate sequence numbers travel as decimal strings (JSON cannot hold
 * them); they are written as strings and read back with CAST(… AS TEXT), so both dialects
 * agree. Small counters (delta seq, entries used) are numbers; PostgreSQL returns bigint
 * columns as strings, so reads go through Number().
 */
export interface SitesTable {
  id: string;
  control_key_id: string;
  /** The last allocated whitelist delta seq (0: none yet). The next delta gets this + 1. */
  delta_seq: Generated<number | string>;
}

export interface TicketsTable {
  site: string;
  ticket_id: string;
  type_id: string;
  status: string;
  visit_date: string;
  slot_start: string | null;
  slot_end: string | null;
  persons: number;
  entries_used: number;
  /** Admissions the ticket allows; 1 (single entry) unless a sale said otherwise. */
  max_entries: Generated<number>;
  id_hash: string | null;
  /** Delta seq of the last change; null for a ticket first seen in a gate's entries. */
  updated_seq: number | string | null;
}

export interface EntriesTable {
  event_id: string;
  site: string;
  gate: string;
  seq: string;
  epoch: number;
  kind: string;
  ref_seq: string | null;
  ticket_id: string;
  type_id: string;
  credential: string;
  persons: number;
  at: string;
  received_at: string;
  /** Why the cloud did not take this admission on the gate's word; null for a normal one. */
  anomaly: string | null;
}

export interface DeviceCredentialsTable {
  site: string;
  /** gate | screen */
  kind: string;
  device: string;
  /** SHA-256 (hex) of the device's random token: enough for a 256-bit secret, no slow hash needed. */
  token_sha256: string;
  created_at: string;
  revoked_at: string | null;
}

/**
 * Each site's capacity level as the cloud (all instances) last announced it. An instance
 * announces a change only if its compare-and-set on `version` wins, so a level change is
 * announced, alerted and spoken once however many instances watch the site.
 */
export interface CapacityLevelsTable {
  site: string;
  /** The park's local date the level is for. */
  date: string;
  level: string;
  version: number | string;
}

export interface DeltaPublishedTable {
  site: string;
  /** Every delta of the site up to this seq has been published (PUBACKed), in order. */
  seq: number | string;
}

export interface GateStateTable {
  site: string;
  gate: string;
  /** Highest entry seq received (decimal text, compared as BigInt). */
  high_seq: Generated<string>;
  epoch: Generated<number | string>;
  state: string | null;
  last_status: string | null;
  status_at: string | null;
  online: Generated<number>;
  registered_at: string;
}

export interface DeltasTable {
  site: string;
  seq: number | string;
  /** The signed WhitelistDelta exactly as published. */
  payload: string;
  created_at: string;
}

export interface ConflictsTable {
  id: string;
  site: string;
  ticket_id: string;
  first_gate: string | null;
  first_seq: string | null;
  second_gate: string;
  second_seq: string;
  detected_at: string;
  resolved: Generated<number>;
  /** When one cloud instance claimed this conflict's staff alert (so N instances alert once). */
  alerted_at: string | null;
}

export interface OrdersTable {
  order_id: string;
  site: string;
  channel: string;
  /** pending (places held) → paid (tickets issued) → refunded; pending → expired (unpaid after the hold, or cancelled: cancelled_at) */
  status: string;
  type_id: string;
  /** The ticket type the gates see, e.g. adult@early when an entry window came with the price. */
  gate_type_id: string;
  visit_date: string;
  /** '' for a ticket without a time slot. */
  slot_id: string;
  persons: number;
  amount_fen: number;
  /** JSON: unit price and the discounts applied. */
  pricing: string;
  /** Where the check-in code goes by SMS. */
  contact_phone: string;
  created_at: string;
  paid_at: string | null;
  payment_ref: string | null;
  refunded_at: string | null;
  refund_reason: string | null;
  /** The channel's payment mode when the order was made: partner (the channel confirms) | provider (WeChat Pay / Alipay through us). */
  payment_mode: string;
  /** Provider mode, once refunded: requested → processing → succeeded, or failed. */
  refund_state: string | null;
  /** Provider mode: our number of the order's refund (out_refund_no / out_request_no). */
  refund_no: string | null;
  /** The visitor's language (zh-CN | en) when the channel named one: the check-in SMS is sent in it. */
  lang?: string | null;
  /** Cancelled by its channel before it was paid (status expired, places released at once); null when the hold ended. */
  cancelled_at?: string | null;
  /** Home region of the contact phone from the number-segment table (#19), never the number. */
  phone_region?: string | null;
  /** A coupon held by (pending) or redeemed on (paid) this order, and what it took off. */
  coupon_code?: string | null;
  discount_fen?: number | string;
  /** The visitor said yes (1) or no (0) to marketing messages when ordering; null: not asked. */
  marketing_consent?: number | null;
}

export interface OrderVisitorsTable {
  order_id: string;
  idx: number;
  name: string;
  /** Keyed hash of the ID number (never the number). */
  id_hash: string;
  id_masked: string;
  ticket_id: string | null;
  /** Coarse attributes derived at sale time from the ID number (#19): age band, gender (f|m), GB/T 2260 region (4 digits: city). */
  age_band?: string | null;
  gender?: string | null;
  region?: string | null;
}

/** Persons sold per site, day and slot; slot '*' is the whole day (the capacity guard). */
export interface InventoryTable {
  site: string;
  visit_date: string;
  slot_id: string;
  sold: Generated<number>;
}

export interface IdempotencyTable {
  site: string;
  channel: string;
  key: string;
  request_hash: string;
  status: number;
  response: string;
  created_at: string;
}

export interface ChannelStateTable {
  site: string;
  channel: string;
  paused: number;
  changed_by: string;
  reason: string;
  changed_at: string;
}

export interface AuditLogTable {
  id: string;
  site: string;
  at: string;
  actor: string;
  action: string;
  target: string;
  reason: string;
  details: string | null;
}

/** Daily reports as generated (JSON of DailyReport); CSV and HTML are rendered from it. */
export interface ReportsTable {
  site: string;
  date: string;
  generated_at: string;
  report: string;
}

export interface AlertsTable {
  id: string;
  site: string;
  at: string;
  kind: string;
  level: string | null;
  message_zh: string;
  message_en: string;
}

/** A payment attempt at a provider (modules/payments): one out_trade_no, one QR / in-app sheet / payment code. */
export interface PaymentsTable {
  out_trade_no: string;
  site: string;
  order_id: string;
  /** wechat | alipay */
  provider: string;
  /** qr | in_app | code */
  method: string;
  amount_fen: number;
  /** pending → paid (verified) | closed (closed or reversed at the provider) | failed (a refused payment code) */
  state: string;
  code_url: string | null;
  /** Keyed hash of the payment code (a retry of the same scan finds its attempt; the code itself is never stored). */
  auth_code_hash: string | null;
  transaction_id: string | null;
  paid_fen: number | null;
  paid_at: string | null;
  /** What the money became: ticketed | late_payment | duplicate | amount_mismatch (the last three refunded). Null until settled. */
  outcome: string | null;
  /** The provider's word when it failed (payment-code refusal, close refused…). */
  failure: string | null;
  created_at: string;
  /** The provider's time_expire: the order's hold deadline. */
  expires_at: string;
  closed_at: string | null;
  updated_at: string;
}

/** Provider notifications handled (dedupe by the provider's notification id). */
export interface PaymentNotificationsTable {
  provider: string;
  notification_id: string;
  kind: string;
  out_trade_no: string | null;
  received_at: string;
}

/** Money sent back through a provider, until the provider confirms it. */
export interface PaymentRefundsTable {
  out_refund_no: string;
  site: string;
  order_id: string;
  out_trade_no: string;
  provider: string;
  amount_fen: number;
  total_fen: number;
  /** visitor (a refund through sales) | late_payment | duplicate | amount_mismatch (money that bought no ticket) */
  cause: string;
  reason: string;
  /** pending (not yet accepted) → processing → succeeded, or failed (refused: staff act) */
  state: string;
  refund_id: string | null;
  attempts: number;
  last_error: string | null;
  /** When the sweep tries (or asks) again. */
  next_at: string;
  created_at: string;
  updated_at: string;
  succeeded_at: string | null;
}

/** A text to a visitor through an SMS provider (modules/sms). The phone is never stored in clear. */
export interface SmsMessagesTable {
  /** Ours; sent as Alibaba's OutId / Tencent's SessionContext. */
  id: string;
  site: string;
  order_id: string | null;
  /** aliyun | tencent */
  provider: string;
  /** Alibaba BizId / Tencent SerialNo, once the provider took the text. */
  provider_message_id: string | null;
  /** HMAC-SHA256 of the 11-digit number under the SMS phone-hash key (hex). */
  phone_hash: string;
  /** 138****8000 */
  phone_masked: string;
  /** Our template name: checkin, or what the caller named. */
  kind: string;
  /** The provider's template code / id. */
  template: string;
  lang: string;
  /** queued → sent → delivered | failed; refused (never sent: throttled, not sendable); unknown (no answer: may have been sent) */
  state: string;
  error_code: string | null;
  error_message: string | null;
  attempts: Generated<number>;
  created_at: string;
  sent_at: string | null;
  /** When it was delivered or failed (the receipt's time), or refused. */
  done_at: string | null;
  updated_at: string;
}

/** A day's reconciliation of a site's provider payments against the providers' bills (modules/payments). */
export interface PaymentReconciliationsTable {
  site: string;
  /** The bill date, YYYY-MM-DD (Beijing). */
  date: string;
  /** done | retrying | failed */
  state: string;
  attempts: number;
  /** When a retrying reconciliation runs again. */
  next_at: string | null;
  /** The ReconciliationResult (core/reconciliation.ts) as JSON. */
  result: string;
  /** Digest of the mismatches last alerted: the same ones are not alerted twice. */
  alert_digest: string | null;
  ran_at: string;
}

/** A live SMS login code of the booking page: only its keyed hash, one per site and phone (modules/booking). */
export interface BookingCodesTable {
  site: string;
  /** Keyed hash of the phone (never the number). */
  phone_hash: string;
  code_hash: string;
  created_at: string;
  expires_at: string;
  wrong_tries: number;
}

/** A booking-page session: the token's SHA-256, the phone encrypted under the token itself (modules/booking). */
export interface BookingSessionsTable {
  token_hash: string;
  site: string;
  phone_hash: string;
  /** AES-256-GCM of the phone under a key derived from the token: the row alone does not give the number. */
  phone_enc: string;
  phone_masked: string;
  created_at: string;
  expires_at: string;
}

/** Throttling windows of the booking page's SMS codes (per phone, per client address). */
export interface BookingThrottleTable {
  key: string;
  window_start: string;
  count: number;
  last_at: string;
}

/** A kiosk's record (sale, print, cash) as received (modules/kiosks); the payload is the validated JSON. */
export interface KioskRecordsTable {
  site: string;
  kiosk: string;
  /** Decimal text, as entries' seqs. */
  seq: string;
  sale_id: string;
  /** sale | print | cash */
  kind: string;
  /** Sales: cash | code | qr | offline-cash. */
  payment: string | null;
  visit_date: string | null;
  persons: number;
  amount_fen: number;
  at: string;
  received_at: string;
  payload: string;
  /** Why the cloud flagged it (unverified_code, over_cap…); null for a normal one. */
  anomaly: string | null;
  /** The paid order an offline sale was counted as (capacity, reports). */
  order_id: string | null;
}

/** One visitor of a site, keyed by the keyed ID hash: coarse attributes only (#19, docs/visitor-data.md). */
export interface VisitorProfilesTable {
  site: string;
  id_hash: string;
  age_band: string | null;
  gender: string | null;
  region: string | null;
  phone_region: string | null;
  first_visit: string | null;
  last_visit: string | null;
  visits: Generated<number>;
  orders: Generated<number>;
  ticket_fen: Generated<number | string>;
  pos_fen: Generated<number | string>;
  consent_marketing: Generated<number>;
  consent_at: string | null;
  consent_source: string | null;
  opted_out_at: string | null;
  member_code: string | null;
  member_since: string | null;
  /** The newest paid order: where a marketing SMS finds the phone while the order is kept. */
  last_order_id: string | null;
  updated_at: string;
}

/** One visitor of one paid order (a visit): party size, channel, type, their share of the amount. */
export interface VisitorVisitsTable {
  site: string;
  order_id: string;
  id_hash: string;
  visit_date: string;
  channel: string;
  type_id: string;
  party_size: number;
  amount_fen: number | string;
  admitted_at: string | null;
  refunded: Generated<number>;
}

export interface VisitorTagsTable {
  site: string;
  id_hash: string;
  tag: string;
  at: string;
}

/** A line of a park POS (restaurant, shop), linked to a visit. */
export interface PosLinesTable {
  site: string;
  source: string;
  line_id: string;
  at: string;
  visit_date: string;
  amount_fen: number | string;
  category: string;
  item: string | null;
  id_hash: string | null;
  order_id: string | null;
  /** How it was linked: member | ticket | phone. */
  link: string;
  coupon_code: string | null;
  discount_fen: Generated<number | string>;
  received_at: string;
}

export interface CouponsTable {
  site: string;
  code: string;
  rule_id: string;
  id_hash: string | null;
  /** percent | fixed | free_item */
  kind: string;
  percent_off: number | null;
  amount_fen: number | string | null;
  item: string | null;
  /** ticket | pos */
  applies_to: string;
  valid_from: string;
  valid_to: string;
  /** JSON list of channel ids (null: every channel). */
  channels: string | null;
  /** exclusive | stackable */
  stacking: string;
  /** issued | held | redeemed | void */
  state: string;
  issued_at: string;
  held_order: string | null;
  redeemed_at: string | null;
  redeemed_via: string | null;
  redeemed_ref: string | null;
  discount_fen: number | string | null;
  /** The template it was issued from (0018). */
  template: string | null;
  /** Minimum spend before the coupon, fen (0018). */
  min_spend_fen: Generated<number | string>;
  /** POS coupons: JSON list of POS categories (null: any) (0018). */
  categories: string | null;
  /** When its SMS was claimed (at most one per coupon) (0018). */
  notified_at: string | null;
}

export interface CouponGrantsTable {
  site: string;
  rule_id: string;
  id_hash: string;
  period: string;
  code: string;
}

/** A partner's share of a combo order: `sale` on payment, `reversal` (negative) on refund. */
export interface SplitLedgerTable {
  id: string;
  site: string;
  order_id: string;
  partner: string;
  part: string;
  kind: string;
  units: number;
  amount_fen: number | string;
  at: string;
  date: string;
}

export interface PartnerRedemptionsTable {
  site: string;
  order_id: string;
  partner: string;
  part: string;
  redeemed_at: string;
  redeemed_by: string | null;
}

export interface Database {
  visitor_profiles: VisitorProfilesTable;
  visitor_visits: VisitorVisitsTable;
  visitor_tags: VisitorTagsTable;
  pos_lines: PosLinesTable;
  coupons: CouponsTable;
  coupon_grants: CouponGrantsTable;
  split_ledger: SplitLedgerTable;
  partner_redemptions: PartnerRedemptionsTable;
  booking_codes: BookingCodesTable;
  booking_sessions: BookingSessionsTable;
  booking_throttle: BookingThrottleTable;
  payment_reconciliations: PaymentReconciliationsTable;
  sms_messages: SmsMessagesTable;
  payments: PaymentsTable;
  payment_notifications: PaymentNotificationsTable;
  payment_refunds: PaymentRefundsTable;
  reports: ReportsTable;
  alerts: AlertsTable;
  orders: OrdersTable;
  order_visitors: OrderVisitorsTable;
  inventory: InventoryTable;
  idempotency: IdempotencyTable;
  channel_state: ChannelStateTable;
  audit_log: AuditLogTable;
  sites: SitesTable;
  tickets: TicketsTable;
  entries: EntriesTable;
  gate_state: GateStateTable;
  deltas: DeltasTable;
  conflicts: ConflictsTable;
  device_credentials: DeviceCredentialsTable;
  delta_published: DeltaPublishedTable;
  capacity_levels: CapacityLevelsTable;
  kiosk_records: KioskRecordsTable;
}
