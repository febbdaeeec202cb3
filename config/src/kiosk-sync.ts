/**
 * The kiosk ↔ cloud contract (issue #17 point 4). A kiosk sends its records (sales, cash
 * movements, prints) through its outbox to `stile/{site}/kiosks/{kiosk}/sales` in batches
 * numbered by a durable seq, exactly like a gate's entries; the cloud answers each batch,
 * after its commit, with a receipt signed by the site's control key. The cloud publishes to
 * each kiosk a retained, signed, expiring *offline pack*: what the kiosk sells, today's
 * prices, its daily offline cap and the id of its own offline key.
 */
import { z } from 'zod';
import { idHash, ticketId } from './ticket.js';
import { hhmm, isoDate } from './time.js';

const seq64 = z.string().regex(/^\d{1,20}$/, 'expected a decimal 64-bit sequence number');
const at = z.string().datetime({ offset: true });
const fen = z.number().int().min(0).max(100_000_000);
const shortId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1–64 chars of [A-Za-z0-9_-]');

export const kioskTopics = {
  /** Kiosk → cloud, QoS 1: batches of records (the same as gates' entries). */
  sales: (site: string, kiosk: string) => `stile/${site}/kiosks/${kiosk}/sales`,
  /** Cloud → kiosk: this batch is committed; the kiosk may drop it from its outbox. */
  salesAck: (site: string, kiosk: string) => `stile/${site}/kiosks/${kiosk}/sales/ack`,
  /** Cloud → kiosk, retained: the signed offline pack. */
  pack: (site: string, kiosk: string) => `stile/${site}/kiosks/${kiosk}/pack`,
  /** Shared subscription so several cloud-bridge instances split the kiosks' records. */
  allSalesShared: (group: string) => `$share/${group}/stile/+/kiosks/+/sales`,
  /** Without MQTT v5: one instance takes every kiosk's records. */
  allSales: 'stile/+/kiosks/+/sales',
} as const;

/** Split `stile/{site}/kiosks/{kiosk}/{leaf…}`; null for anything else. */
export function parseKioskTopic(topic: string): { site: string; kiosk: string; leaf: string } | null {
  const p = topic.split('/');
  if (p.length < 5 || p[0] !== 'stile' || p[2] !== 'kiosks' || !p[1] || !p[3]) return null;
  return { site: p[1], kiosk: p[3], leaf: p.slice(4).join('/') };
}

/**
 * A visitor of a real-name sale: the ID number only as the site's keyed hash (the gates'
 * keys.idHash) and the masked form the receipt shows (last 4).
 */
export const KioskVisitorSchema = z
  .object({
    name: z.string().min(1).max(50),
    idHash,
    idMasked: z.string().min(4).max(32),
  })
  .strict();

/** Money in or out of the cash box, in fen. */
export const CashMovementSchema = z
  .object({
    kind: z.enum(['note_in', 'coin_in', 'change_out', 'refund_out', 'float_in', 'collect_out']),
    fen,
    at,
  })
  .strict();
export type CashMovement = z.infer<typeof CashMovementSchema>;

export const PRINT_OUTCOMES = ['printed', 'failed', 'not_printed'] as const;

/**
 * How the visitor paid. `offline-cash`: cash while the cloud was unreachable, the tickets are
 * `ST2` codes signed by the kiosk's own key (the only kind the cloud counts from this record:
 * the others were sold through the channel API and are counted there already).
 */
export const KIOSK_PAYMENTS = ['cash', 'code', 'qr', 'offline-cash'] as const;

const SaleRecordSchema = z
  .object({
    kind: z.literal('sale'),
    saleId: shortId,
    seq: seq64,
    at,
    typeId: z.string().min(1).max(64),
    date: isoDate,
    slotId: shortId.optional(),
    persons: z.number().int().min(1).max(100),
    amountFen: fen,
    payment: z.enum(KIOSK_PAYMENTS),
    /** The tickets as printed: `ST1:<id>` (sold through the cloud) or `ST2:<payload>.<sig>` (offline). */
    tickets: z.array(z.object({ ticketId, code: z.string().min(1).max(512), persons: z.number().int().min(1).max(100) }).strict()).min(1).max(100),
    visitors: z.array(KioskVisitorSchema).max(100).optional(),
    /** The channel API's order, for sales made online. */
    orderId: z.string().min(1).max(64).optional(),
    cash: z.array(CashMovementSchema).max(200).default([]),
    print: z.enum(PRINT_OUTCOMES),
    /** Window mode: the staff member who sold. */
    staff: z.string().min(1).max(64).optional(),
  })
  .strict();

/** A ticket printed again (a jam, paper out, a reprint at the window). */
const PrintRecordSchema = z
  .object({ kind: z.literal('print'), saleId: shortId, seq: seq64, at, outcome: z.enum(PRINT_OUTCOMES), reprint: z.boolean(), staff: z.string().min(1).max(64).optional() })
  .strict();

/** Cash outside a sale: float topped up, cash collected, close of day. */
const CashRecordSchema = z
  .object({ kind: z.literal('cash'), saleId: shortId, seq: seq64, at, movements: z.array(CashMovementSchema).min(1).max(200), reason: z.string().min(1).max(200), staff: z.string().min(1).max(64).optional() })
  .strict();

export const KioskRecordSchema = z.discriminatedUnion('kind', [SaleRecordSchema, PrintRecordSchema, CashRecordSchema]);
export type KioskRecord = z.infer<typeof KioskRecordSchema>;
export type KioskSaleRecord = z.infer<typeof SaleRecordSchema>;
/** What a kiosk enqueues: the outbox gives the record its seq. */
export type KioskRecordInput = KioskRecord extends infer R ? (R extends KioskRecord ? Omit<R, 'seq'> : never) : never;

export const KioskSalesMessageSchema = z
  .object({ v: z.literal(1), site: z.string().min(1), kiosk: z.string().min(1), records: z.array(KioskRecordSchema).min(1).max(200) })
  .strict();
export type KioskSalesMessage = z.infer<typeof KioskSalesMessageSchema>;

/** The cloud's receipt for one batch, after its commit (also for duplicates); signControl() by the site. */
export const KioskSalesAckSchema = z
  .object({
    v: z.literal(1),
    site: z.string().min(1),
    kiosk: z.string().min(1),
    from: seq64,
    to: seq64,
    /** The saleIds of the records at `from` and `to`: a receipt replayed after a kiosk reset names nothing it holds. */
    firstSaleId: shortId,
    lastSaleId: shortId,
    sig: z.string().min(1),
  })
  .strict()
  .refine((a) => BigInt(a.from) <= BigInt(a.to), { message: 'from must not exceed to', path: ['to'] });
export type KioskSalesAck = z.infer<typeof KioskSalesAckSchema>;

export const KioskPackTypeSchema = z
  .object({
    id: z.string().min(1).max(64),
    name: z.object({ 'zh-CN': z.string(), en: z.string() }).strict(),
    /** Today's price of one ticket on the kiosk's channel (base or channel price, no time-window discount). */
    priceFen: fen,
    persons: z.number().int().min(1).max(100),
  })
  .strict();

/**
 * The signed offline pack of one kiosk for one local day. The kiosk sells offline only while
 * it holds a pack that verifies, names it, is for today and has not expired.
 */
export const KioskPackSchema = z
  .object({
    v: z.literal(1),
    site: z.string().min(1),
    kiosk: z.string().min(1),
    /** The park's local date the prices and the cap are for. */
    date: isoDate,
    timeZone: z.string().min(1),
    issuedAt: at,
    /** After this instant the kiosk stops selling offline. */
    expiresAt: at,
    /** The id of the kiosk's own offline key (the key its ST2 codes must carry). */
    keyId: z.string().regex(/^[A-Za-z0-9_-]{1,16}$/),
    /** Persons the kiosk may sell offline on `date`. */
    offlineCap: z.number().int().min(0).max(100_000),
    types: z.array(KioskPackTypeSchema).min(1).max(100),
    slots: z.array(z.object({ id: shortId, start: hhmm, end: hhmm }).strict()).max(100),
    sig: z.string().min(1),
  })
  .strict();
export type KioskPack = z.infer<typeof KioskPackSchema>;
