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
  /** pending (places held) → paid (tickets issued) → refunded; pending → expired (unpaid after the hold) */
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
}

export interface OrderVisitorsTable {
  order_id: string;
  idx: number;
  name: string;
  /** Keyed hash of the ID number (never the number). */
  id_hash: string;
  id_masked: string;
  ticket_id: string | null;
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

export interface Database {
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
}
