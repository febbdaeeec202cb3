/**
 * The MQTT contract between gates, kiosks and the cloud. Topic names and payloads are
 * defined here once; both sides validate every message on receipt and drop (and log)
 * anything that does not parse.
 */
import { z } from 'zod';
import { SnapshotTicketSchema } from './ticket.js';
import { REJECT_REASONS } from './reasons.js';
import { isoDate } from './time.js';

export const topics = {
  entries: (site: string, gate: string) => `stile/${site}/gates/${gate}/entries`,
  /** Cloud → gate: these entries are committed in the cloud store; the gate may drop them from its outbox. */
  entriesAck: (site: string, gate: string) => `stile/${site}/gates/${gate}/entries/ack`,
  status: (site: string, gate: string) => `stile/${site}/gates/${gate}/status`,
  cmd: (site: string, gate: string) => `stile/${site}/gates/${gate}/cmd`,
  /** Gate → cloud: the outcome of each command, by cmdId. */
  cmdAck: (site: string, gate: string) => `stile/${site}/gates/${gate}/cmd/ack`,
  whitelistDelta: (site: string) => `stile/${site}/whitelist/delta`,
  whitelistHead: (site: string) => `stile/${site}/whitelist/head`,
  whitelistSnapshot: (site: string, part: string) => `stile/${site}/whitelist/snapshot/${part}`,
  capacity: (site: string) => `stile/${site}/capacity`,
  announce: (site: string) => `stile/${site}/announce`,
  /** Kiosk → cloud records; the kiosk contract (receipts, the offline pack) is in kiosk-sync.ts. */
  kioskSales: (site: string, kiosk: string) => `stile/${site}/kiosks/${kiosk}/sales`,
  /**
   * Every gate's entries of one site: what a gate in park-local mode (`mqtt.peers`)
   * subscribes to on the park's broker to learn its peers' admissions.
   */
  siteEntries: (site: string) => `stile/${site}/gates/+/entries`,
  /** Shared subscription so several cloud-bridge instances split the gates' entries. */
  allEntriesShared: (group: string) => `$share/${group}/stile/+/gates/+/entries`,
} as const;

/** The gate of a `stile/{site}/gates/{gate}/entries` topic of `site`, or undefined for any other topic. */
export function entriesTopicGate(site: string, topic: string): string | undefined {
  const p = topic.split('/');
  return p.length === 5 && p[0] === 'stile' && p[1] === site && p[2] === 'gates' && p[4] === 'entries' && p[3] !== '' ? p[3] : undefined;
}

/** A gate's session counter, bumped once per daemon start: 2^31 starts is beyond any gate's life. */
export const MAX_EPOCH = 2 ** 31 - 1;
/** How far ahead of the epoch the cloud knows a status may claim (a gate restarts once per boot). */
export const MAX_EPOCH_JUMP = 1000;

/** Decimal string: a 64-bit counter does not fit in a JSON number. */
const seq64 = z.string().regex(/^\d{1,20}$/, 'expected a decimal 64-bit sequence number');

export const EntryEventSchema = z
  .object({
    eventId: z.string().min(8).max(64),
    seq: seq64,
    epoch: z.number().int().min(0).max(MAX_EPOCH),
    /**
     * admit: the ticket was used and the relay opened for `persons`. not-passed: the
     * passage sensor saw `persons` of admission `refSeq` not walk through in time; when
     * that is all of them the gate gave the entry back to the ticket.
     */
    kind: z.enum(['admit', 'not-passed']),
    /** not-passed only: the seq of the admission it corrects. */
    refSeq: seq64.optional(),
    ticketId: z.string().min(1).max(64),
    typeId: z.string().min(1).max(64),
    credential: z.enum(['qr', 'signed-qr', 'idcard']),
    persons: z.number().int().min(1).max(100),
    at: z.string().datetime({ offset: true }),
    /**
     * credential signed-qr, admit only: the scanned `ST2:` code itself, so the cloud checks
     * the signature instead of taking the gate's word for a ticket it never issued.
     */
    code: z.string().min(1).max(512).optional(),
  })
  .strict()
  .refine((e) => (e.kind === 'not-passed') === (e.refSeq !== undefined), { message: 'refSeq is required for not-passed events and only for them', path: ['refSeq'] });
export type EntryEvent = z.infer<typeof EntryEventSchema>;

export const EntriesMessageSchema = z
  .object({ v: z.literal(1), site: z.string(), gate: z.string(), events: z.array(EntryEventSchema).min(1).max(500) })
  .strict();
export type EntriesMessage = z.infer<typeof EntriesMessageSchema>;

/**
 * The cloud's end-to-end receipt for one entries message, sent after its database commit
 * (also for a message that was all duplicates). A broker's PUBACK only says the broker has
 * it: a broker restarted without persistence, or one with no subscriber, loses it.
 */
export const EntriesAckSchema = z
  .object({
    v: z.literal(1),
    site: z.string().min(1),
    gate: z.string().min(1),
    from: seq64,
    to: seq64,
    /**
     * The eventIds of the events at seq `from` and `to`: random per event, so a receipt
     * replayed after the gate's database was reset (seqs start again at 1) names nothing.
     */
    firstEventId: z.string().min(8).max(64),
    lastEventId: z.string().min(8).max(64),
    /** signControl() by the site's control key: only the cloud empties an outbox. */
    sig: z.string().min(1),
  })
  .strict()
  .refine((a) => BigInt(a.from) <= BigInt(a.to), { message: 'from must not exceed to', path: ['to'] });
export type EntriesAck = z.infer<typeof EntriesAckSchema>;

export const DeviceHealthSchema = z
  .object({ name: z.string(), kind: z.string(), state: z.enum(['ok', 'reconnecting', 'wrong_mode', 'failed']), error: z.string().optional() })
  .strict();

export const GateStatusSchema = z
  .object({
    v: z.literal(1),
    state: z.enum(['online', 'degraded', 'offline']),
    /** Bounded: the cloud also refuses a jump far beyond the epoch it knows (MAX_EPOCH_JUMP). */
    epoch: z.number().int().min(0).max(MAX_EPOCH),
    at: z.string().datetime({ offset: true }),
    whitelistSeq: seq64.optional(),
    outboxDepth: z.number().int().min(0).optional(),
    devices: z.array(DeviceHealthSchema).optional(),
  })
  .strict();
export type GateStatus = z.infer<typeof GateStatusSchema>;

export const GATE_ACTIONS = ['open', 'lock', 'unlock', 'emergency-open', 'emergency-clear', 'resync', 'reload-config'] as const;

export const GateCommandSchema = z
  .object({
    v: z.literal(1),
    cmdId: z.string().min(8).max(64),
    /** Bound into the signature, so a command cannot be replayed to another gate or site. */
    site: z.string().min(1),
    gate: z.string().min(1),
    action: z.enum(GATE_ACTIONS),
    /** open: how many persons to let through (default 1). */
    persons: z.number().int().min(1).max(100).optional(),
    issuedBy: z.string().min(1).max(100),
    /** Why, for the audit log (e.g. "visitor's entry recorded, relay failed"). */
    reason: z.string().max(200).optional(),
    at: z.string().datetime({ offset: true }),
    /** A gate refuses a command after this instant (stale or replayed). */
    expiresAt: z.string().datetime({ offset: true }),
    /** signControl(): "<keyId>.<Ed25519 signature>" by the site's control key. */
    sig: z.string().min(1),
  })
  .strict();
export type GateCommand = z.infer<typeof GateCommandSchema>;

export const CommandAckSchema = z
  .object({
    v: z.literal(1),
    cmdId: z.string().min(8).max(64),
    /** done, or refused with a reason (bad_signature, expired, wrong_gate, …); duplicate for a cmdId already handled. */
    result: z.enum(['done', 'refused', 'duplicate', 'failed']),
    detail: z.string().max(500).optional(),
    at: z.string().datetime({ offset: true }),
  })
  .strict();
export type CommandAck = z.infer<typeof CommandAckSchema>;

export const WhitelistChangeSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('upsert'), ticket: SnapshotTicketSchema }).strict(),
  z.object({ op: z.literal('refund'), ticketId: z.string() }).strict(),
  z.object({ op: z.literal('revoke'), ticketId: z.string() }).strict(),
  z.object({ op: z.literal('rebook'), ticketId: z.string(), newTicket: SnapshotTicketSchema }).strict(),
  z.object({ op: z.literal('used-elsewhere'), ticketId: z.string(), gate: z.string(), entriesUsed: z.number().int().min(0) }).strict(),
]);
export type WhitelistChange = z.infer<typeof WhitelistChangeSchema>;

export const WhitelistDeltaSchema = z
  .object({
    v: z.literal(1),
    site: z.string(),
    /** Per-site, gap-free: a gate applies exactly lastSeq + 1, ignores older, resyncs on a gap. */
    seq: seq64,
    changes: z.array(WhitelistChangeSchema).min(1).max(1000),
    /** signControl() by the site's control key. */
    sig: z.string().min(1),
  })
  .strict();
export type WhitelistDelta = z.infer<typeof WhitelistDeltaSchema>;

export const WhitelistHeadSchema = z.object({ v: z.literal(1), seq: seq64, snapshotUrl: z.string().optional() }).strict();

export const CAPACITY_LEVELS = ['green', 'yellow', 'orange', 'red'] as const;
/** Retained on stile/{site}/capacity after every change of today's load (e-screens, staff apps). */
export const CapacityMessageSchema = z
  .object({
    v: z.literal(1),
    site: z.string().min(1),
    date: isoDate,
    level: z.enum(CAPACITY_LEVELS),
    /** Sold for today plus admissions today on tickets not sold for today. */
    load: z.number().int().min(0),
    admitted: z.number().int().min(0).optional(),
    soldForToday: z.number().int().min(0).optional(),
    capacity: z.number().int().min(1),
    /** Rounded down; can exceed 100 when admissions overshoot. */
    percent: z.number().int().min(0),
    at: z.string().datetime({ offset: true }),
    /** signControl() by the site's control key: a screen shows nothing it cannot verify. */
    sig: z.string().min(1),
  })
  .strict();
export type CapacityMessage = z.infer<typeof CapacityMessageSchema>;

/** On stile/{site}/announce when the level changes: PA and e-screen text in both languages. */
export const AnnounceMessageSchema = z
  .object({
    v: z.literal(1),
    site: z.string().min(1),
    level: z.enum(CAPACITY_LEVELS),
    text: z.object({ zh: z.string().min(1), en: z.string().min(1) }).strict(),
    at: z.string().datetime({ offset: true }),
    /** signControl() by the site's control key: a PA speaks nothing it cannot verify. */
    sig: z.string().min(1),
  })
  .strict();
export type AnnounceMessage = z.infer<typeof AnnounceMessageSchema>;

/** Logged on the gate when a scan is refused; not sent to the cloud in this version. */
export const RejectReasonSchema = z.enum(REJECT_REASONS);
