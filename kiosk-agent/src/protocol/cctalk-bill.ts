/**
 * ccTalk bill validator answers (Generic Specification, part 3: bill validator commands). Pure.
 *
 *   159 read buffered bill events → [event counter] then 5 × [result A][result B], newest first
 *     A = 1..255, B = 0   bill type A validated and sent to the stacker (credit)
 *     A = 1..255, B = 1   bill type A validated and held in escrow: route it (154)
 *     A = 0               B is a status or error code (BILL_STATUS)
 *   154 route bill [1 stack | 0 return | 255 extend escrow] → ACK, or [254] escrow empty, [255] failed to route
 *   157 request bill id [type] → 7 ASCII bytes "CN0010A": country, value, issue ("......." = unused)
 *   156 request country scaling factor ["C","N"] → [scaling LSB][scaling MSB][decimal places]
 *   153 modify bill operating mode [bit 0 use stacker, bit 1 use escrow]
 */
import { counterDelta } from './cctalk.js';

/** Result B codes when result A is 0, with the specification's event type. */
export const BILL_STATUS = [
  { code: 0, name: 'master_inhibit_active', category: 'status', meaning: 'Master inhibit active: a note was refused at the entry' },
  { code: 1, name: 'returned_from_escrow', category: 'status', meaning: 'Bill returned from escrow' },
  { code: 2, name: 'invalid_bill_validation', category: 'reject', meaning: 'Invalid bill (validation fail): fake or worn note' },
  { code: 3, name: 'invalid_bill_transport', category: 'reject', meaning: 'Invalid bill (transport problem)' },
  { code: 4, name: 'inhibited_bill_serial', category: 'reject', meaning: 'Inhibited bill (on serial): this value is not enabled' },
  { code: 5, name: 'inhibited_bill_dip', category: 'reject', meaning: 'Inhibited bill (on DIP switches)' },
  { code: 6, name: 'bill_jammed_transport_unsafe', category: 'fatal', meaning: 'Bill jammed in transport (unsafe mode): the note may be retrievable by the customer' },
  { code: 7, name: 'bill_jammed_stacker', category: 'fatal', meaning: 'Bill jammed in stacker' },
  { code: 8, name: 'bill_pulled_backwards', category: 'fraud', meaning: 'Bill pulled backwards' },
  { code: 9, name: 'bill_tamper', category: 'fraud', meaning: 'Bill tamper' },
  { code: 10, name: 'stacker_ok', category: 'status', meaning: 'Stacker OK' },
  { code: 11, name: 'stacker_removed', category: 'status', meaning: 'Stacker removed' },
  { code: 12, name: 'stacker_inserted', category: 'status', meaning: 'Stacker inserted' },
  { code: 13, name: 'stacker_faulty', category: 'fatal', meaning: 'Stacker faulty' },
  { code: 14, name: 'stacker_full', category: 'fatal', meaning: 'Stacker full' },
  { code: 15, name: 'stacker_jammed', category: 'fatal', meaning: 'Stacker jammed' },
  { code: 16, name: 'bill_jammed_transport_safe', category: 'fatal', meaning: 'Bill jammed in transport (safe mode): the note is out of the customer\'s reach' },
  { code: 17, name: 'opto_fraud', category: 'fraud', meaning: 'Opto fraud detected' },
  { code: 18, name: 'string_fraud', category: 'fraud', meaning: 'String fraud detected' },
  { code: 19, name: 'anti_string_faulty', category: 'fatal', meaning: 'Anti-string mechanism faulty' },
  { code: 20, name: 'barcode_detected', category: 'status', meaning: 'Barcode detected (a voucher, not a note)' },
  { code: 21, name: 'unknown_bill_type_stacked', category: 'status', meaning: 'Unknown bill type stacked' },
] as const;

export type BillStatusName = (typeof BILL_STATUS)[number]['name'];
export type BillStatusCategory = (typeof BILL_STATUS)[number]['category'];
export type BillStatusEntry = (typeof BILL_STATUS)[number];
const STATUS_BY_CODE = new Map<number, BillStatusEntry>(BILL_STATUS.map((s) => [s.code, s]));
const STATUS_BY_NAME = new Map<BillStatusName, BillStatusEntry>(BILL_STATUS.map((s) => [s.name, s]));

export function billStatus(code: number): BillStatusEntry | undefined {
  return STATUS_BY_CODE.get(code);
}

export function billStatusCode(name: BillStatusName): number {
  return STATUS_BY_NAME.get(name)?.code ?? -1;
}

/** Statuses that mean a note is stuck in the machine. */
export const BILL_JAMS: ReadonlySet<BillStatusName> = new Set(['bill_jammed_transport_unsafe', 'bill_jammed_stacker', 'bill_jammed_transport_safe', 'stacker_jammed']);

export const RouteCode = { return: 0, stack: 1, extendEscrow: 255 } as const;
export const ROUTE_ERROR = { 254: 'escrow_empty', 255: 'failed_to_route' } as const;

export type BillEvent =
  | { kind: 'credit'; billType: number }
  | { kind: 'escrow'; billType: number }
  | { kind: 'status'; code: number; name: BillStatusName; category: BillStatusCategory }
  | { kind: 'unknown'; a: number; b: number };

export function decodeBillEvent(a: number, b: number): BillEvent {
  if (a !== 0) {
    if (b === 0) return { kind: 'credit', billType: a };
    if (b === 1) return { kind: 'escrow', billType: a };
    return { kind: 'unknown', a, b };
  }
  const s = STATUS_BY_CODE.get(b);
  return s ? { kind: 'status', code: s.code, name: s.name, category: s.category } : { kind: 'unknown', a, b };
}

export interface BufferedBillEvents {
  counter: number;
  /** Five [A, B] pairs as sent, newest first. */
  pairs: [number, number][];
}

export function parseBufferedBillEvents(data: Buffer): BufferedBillEvents | null {
  if (data.length !== 11) return null;
  const pairs: [number, number][] = [];
  for (let i = 0; i < 5; i++) pairs.push([data[1 + 2 * i] ?? 0, data[2 + 2 * i] ?? 0]);
  return { counter: data[0] ?? 0, pairs };
}

/** Validator side: the counter and up to five pairs, newest first (missing ones are 0 0). */
export function encodeBufferedBillEvents(counter: number, pairsNewestFirst: readonly (readonly [number, number])[]): Buffer {
  const out = Buffer.alloc(11);
  out[0] = counter;
  pairsNewestFirst.slice(0, 5).forEach(([a, b], i) => {
    out[1 + 2 * i] = a;
    out[2 + 2 * i] = b;
  });
  return out;
}

export type BillEventsStep =
  /** First read after the host started: the counter becomes the baseline, old events are not replayed. */
  | { kind: 'baseline'; counter: number }
  /** The validator powered up or was reset: a note in escrow went back; inhibits must be set again. */
  | { kind: 'reset'; counter: 0 }
  /** New events, oldest first; `lost` more happened than the five the buffer holds. */
  | { kind: 'events'; counter: number; events: BillEvent[]; lost: number };

/**
 * What a poll of 159 means, given the counter of the previous poll (undefined before the first).
 * Pure, so the counter rules (wrap 255 → 1, 0 = power-up, more than five = missed) are tested alone.
 */
export function billEventsSince(prev: number | undefined, reply: BufferedBillEvents): BillEventsStep {
  const { counter } = reply;
  if (counter === 0) return prev === undefined || prev === 0 ? { kind: 'baseline', counter: 0 } : { kind: 'reset', counter: 0 };
  if (prev === undefined) return { kind: 'baseline', counter };
  const n = counterDelta(prev, counter);
  const take = Math.min(n, 5);
  const events: BillEvent[] = [];
  for (let i = take - 1; i >= 0; i--) {
    const [a, b] = reply.pairs[i] ?? [0, 0];
    events.push(decodeBillEvent(a, b));
  }
  return { kind: 'events', counter, events, lost: n - take };
}

export interface BillId {
  /** "CN0010A" */
  id: string;
  country: string;
  /** The four digits, before scaling. */
  value: number;
  issue: string;
}

/** 157's answer; null for an unused type ("......." or blanks) or anything malformed. */
export function parseBillId(data: Buffer): BillId | null {
  const id = data.toString('latin1');
  const m = /^([A-Z]{2})(\d{4})([A-Z0-9])$/.exec(id);
  if (!m) return null;
  return { id, country: m[1] ?? '', value: Number(m[2]), issue: m[3] ?? '' };
}

export interface ScalingFactor {
  scaling: number;
  decimals: number;
}

/** 156's answer; null when the validator has no such currency (all zero) or the reply is short. */
export function parseScalingFactor(data: Buffer): ScalingFactor | null {
  if (data.length !== 3) return null;
  const scaling = data.readUInt16LE(0);
  const decimals = data[2] ?? 0;
  return scaling === 0 ? null : { scaling, decimals };
}

export function encodeScalingFactor(f: ScalingFactor): Buffer {
  const out = Buffer.alloc(3);
  out.writeUInt16LE(f.scaling, 0);
  out[2] = f.decimals;
  return out;
}

/** The common setting for CNY notes: value × 100 with 2 decimals, so "CN0010A" is 1000 fen. */
export const CNY_SCALING: ScalingFactor = { scaling: 100, decimals: 2 };

/** A bill id's value in fen (minor units with 2 decimals), or null if it does not come out whole. */
export function billValueFen(bill: BillId, f: ScalingFactor = CNY_SCALING): number | null {
  const minor = bill.value * f.scaling;
  const fen = minor * 10 ** (2 - f.decimals);
  return Number.isSafeInteger(fen) && fen > 0 ? fen : null;
}

/** Modify bill operating mode: bit 0 use stacker, bit 1 use escrow. */
export function encodeBillOperatingMode(mode: { stacker: boolean; escrow: boolean }): Buffer {
  return Buffer.from([(mode.stacker ? 1 : 0) | (mode.escrow ? 2 : 0)]);
}
