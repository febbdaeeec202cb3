import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { hhmm, isoDate } from './time.js';

export const TICKET_STATUSES = ['valid', 'used', 'refunded', 'revoked', 'rebooked'] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

/** Lowercase hex HMAC-SHA256 of an ID number under the site key. */
export const idHash = z.string().regex(/^[0-9a-f]{64}$/, 'expected a 64-char lowercase hex HMAC-SHA256');

/** Ticket ids: URL-safe, 8–64 characters (online ids are ≥96-bit random, base32/base64url). */
export const ticketId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'expected 8–64 chars of [A-Za-z0-9_-]');

/**
 * One ticket as the cloud sends it in a whitelist snapshot line (NDJSON) or delta.
 * Usage counters are included so a re-imported snapshot carries what other gates saw.
 */
export const SnapshotTicketSchema = z
  .object({
    ticketId,
    typeId: z.string().min(1).max(64),
    status: z.enum(TICKET_STATUSES).default('valid'),
    visitDate: isoDate,
    slotStart: hhmm.nullable().optional(),
    slotEnd: hhmm.nullable().optional(),
    persons: z.number().int().min(1).max(100).default(1),
    entriesUsed: z.number().int().min(0).default(0),
    idHash: idHash.nullable().optional(),
  })
  .strict()
  .refine((t) => (t.slotStart == null) === (t.slotEnd == null), {
    message: 'slotStart and slotEnd go together',
    path: ['slotEnd'],
  });
export type SnapshotTicket = z.infer<typeof SnapshotTicketSchema>;

/**
 * A ticket as the gate holds it: the snapshot fields plus local usage state.
 * This is what decide() sees.
 */
export interface TicketRecord {
  ticketId: string;
  typeId: string;
  status: TicketStatus;
  visitDate: string; // YYYY-MM-DD in the park's time zone
  slotStart: string | null; // HH:MM
  slotEnd: string | null; // HH:MM
  persons: number;
  entriesUsed: number; // admissions so far (one per passage event, whatever the persons)
  entriesDay: string | null; // local date of entriesDayCount
  entriesDayCount: number; // admissions on entriesDay
  lastEntryAt: number | null; // epoch ms of the last admission
  idHash: string | null;
  source: 'whitelist' | 'signed';
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** 120-bit random id, base32 (24 chars): unguessable, and survives a caps-lock wedge. */
export function newTicketId(): string {
  const bytes = randomBytes(15);
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}
