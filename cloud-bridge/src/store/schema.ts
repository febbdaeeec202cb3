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
}

export interface Database {
  sites: SitesTable;
  tickets: TicketsTable;
  entries: EntriesTable;
  gate_state: GateStateTable;
  deltas: DeltasTable;
  conflicts: ConflictsTable;
}
