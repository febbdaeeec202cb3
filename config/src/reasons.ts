/**
 * Machine-readable reasons a gate refuses a scan. They appear in logs, in
 * `gatectl check --json`, in the entries journal and (later) on the gate display,
 * so they are a stable contract: add codes, never rename them.
 */
export const REJECT_REASONS = [
  // The scanned text itself
  'malformed_code', // not a Stile code, truncated, bad characters or encoding
  'wrong_site', // a valid code for another park
  'unknown_ticket', // ST1 id not in this gate's whitelist
  'no_ticket_today', // ID card with no ticket bound to it for today
  // Signed offline tickets (ST2)
  'bad_signature', // payload altered or signed with a different key than it names
  'unknown_key', // signed with a key this gate does not trust (never had, or rotated out)
  'key_expired', // signing key is past its validity
  // Ticket status
  'refunded',
  'revoked',
  'rebooked',
  // Date, slot and time of day
  'date_not_yet', // visit date is in the future
  'date_expired', // visit date is in the past
  'before_slot', // earlier than slot start minus early grace
  'after_slot', // later than slot end plus late grace
  'outside_entry_window', // outside the ticket type's window of day (e.g. night ticket before 17:00)
  // Use
  'entries_exhausted', // single / N entries already used
  'daily_entries_exhausted', // per-day allowance used up today
  'anti_passback', // same ticket again within the anti-passback window
  'gate_not_allowed',
  'zone_not_allowed',
  'unknown_ticket_type', // whitelist names a type this gate has no rules for
  // The gate itself
  'gate_fault', // the admission could not be recorded (database error); the relay stays shut
  'gate_locked', // the gate was locked by a signed remote command
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];

export function isRejectReason(value: unknown): value is RejectReason {
  return typeof value === 'string' && (REJECT_REASONS as readonly string[]).includes(value);
}
