import { SnapshotTicketSchema, TICKET_STATUSES, type SnapshotTicket } from '@stile/config';

/**
 * One parsed snapshot line as a ticket, or the zod issue that refuses it. The common case
 * (a well-formed line) is checked by plain code that mirrors SnapshotTicketSchema field by
 * field; anything it does not recognise as valid goes through the schema itself, which has
 * the last word and the error message. zod cost ~2.8 µs a line, a quarter of a 1M-ticket
 * import (docs/footprint.md); the mirror is held to the schema by a property test
 * (snapshot-line.test.ts): whatever it accepts, the schema accepts with the same result.
 */
export function parseSnapshotTicket(obj: unknown): ReturnType<typeof SnapshotTicketSchema.safeParse> {
  const fast = fastSnapshotTicket(obj);
  return fast ? { success: true, data: fast } : SnapshotTicketSchema.safeParse(obj);
}

const TICKET_ID = /^[A-Za-z0-9_-]{8,64}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const HHMM = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;
const ID_HASH = /^[0-9a-f]{64}$/;
const STATUSES: ReadonlySet<string> = new Set(TICKET_STATUSES);
const KEYS: ReadonlySet<string> = new Set(['ticketId', 'typeId', 'status', 'visitDate', 'slotStart', 'slotEnd', 'persons', 'entriesUsed', 'idHash']);
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** A real calendar date "YYYY-MM-DD" (what isoDate's Date round trip accepts for 4-digit years). */
function realDate(s: string): boolean {
  const y = Number(s.slice(0, 4));
  const m = Number(s.slice(5, 7));
  const d = Number(s.slice(8, 10));
  if (m < 1 || m > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return d <= (m === 2 && leap ? 29 : DAYS[m - 1]!);
}

const optionalText = (v: unknown, re: RegExp): boolean => v === undefined || v === null || (typeof v === 'string' && re.test(v));
const int = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;

/** The ticket, when `obj` is certainly valid; undefined when the schema must decide. */
export function fastSnapshotTicket(obj: unknown): SnapshotTicket | undefined {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return undefined;
  const o = obj as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) return undefined;
  const { ticketId, typeId, visitDate, slotStart, slotEnd, idHash } = o;
  // Defaults replace a missing field only: null is not missing (the schema refuses it).
  const status = o.status === undefined ? 'valid' : o.status;
  const persons = o.persons === undefined ? 1 : o.persons;
  const entriesUsed = o.entriesUsed === undefined ? 0 : o.entriesUsed;
  if (typeof ticketId !== 'string' || !TICKET_ID.test(ticketId)) return undefined;
  if (typeof typeId !== 'string' || typeId.length < 1 || typeId.length > 64) return undefined;
  if (typeof status !== 'string' || !STATUSES.has(status)) return undefined;
  if (typeof visitDate !== 'string' || !DATE.test(visitDate) || !realDate(visitDate)) return undefined;
  if (!optionalText(slotStart, HHMM) || !optionalText(slotEnd, HHMM) || (slotStart == null) !== (slotEnd == null)) return undefined;
  if (!int(persons, 1, 100) || !int(entriesUsed, 0, Number.MAX_SAFE_INTEGER)) return undefined;
  if (!optionalText(idHash, ID_HASH)) return undefined;
  // The schema's output: defaults filled in, optional fields only when given.
  const t: SnapshotTicket = { ticketId, typeId, status: status as SnapshotTicket['status'], visitDate, persons, entriesUsed };
  if (slotStart !== undefined) t.slotStart = slotStart as string | null;
  if (slotEnd !== undefined) t.slotEnd = slotEnd as string | null;
  if (idHash !== undefined) t.idHash = idHash as string | null;
  return t;
}
