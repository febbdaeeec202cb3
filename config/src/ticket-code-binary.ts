import { TextDecoder } from 'node:util';
import { StileError, StileErrorCode } from './errors.js';

/** What an ST2 code carries; everything a gate needs to admit without the whitelist. */
export interface OfflineTicketPayload {
  keyId: string;
  site: string;
  ticketId: string;
  typeId: string;
  visitDate: string; // YYYY-MM-DD
  slotStart: string | null; // HH:MM
  slotEnd: string | null; // HH:MM, may be 24:00
  persons: number;
  issuedAt: number; // epoch seconds
}

const VERSION = 1;
const NO_SLOT = 0xffff;
const DAY_MS = 86_400_000;
const EPOCH_2000 = Date.UTC(2000, 0, 1);

// Same rules as gate-config.ts (key ids, site slug) and ticket.ts (ticket ids, type ids).
const KEY_ID_RE = /^[A-Za-z0-9_-]{1,16}$/;
const SITE_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const TICKET_ID_RE = /^[A-Za-z0-9_-]{8,64}$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const HHMM_RE = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;

// fatal: reject invalid UTF-8; ignoreBOM: keep a BOM so decoding stays byte-exact.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

/** Type ids end up on displays and in logs: no control characters, no lone surrogates. */
function validTypeId(s: string): boolean {
  return s.length >= 1 && s.length <= 64 && !hasControl(s) && Buffer.from(s, 'utf8').toString('utf8') === s;
}

function daysToDate(days: number): string {
  return new Date(EPOCH_2000 + days * DAY_MS).toISOString().slice(0, 10);
}

function dateToDays(date: string): number | null {
  if (!DATE_RE.test(date)) return null;
  const ms = Date.parse(`${date}T00:00:00Z`);
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) return null;
  const days = (ms - EPOCH_2000) / DAY_MS;
  return days >= 0 && days <= 0xffff ? days : null;
}

function minutesToHhmm(m: number): string {
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

function hhmmToMinutes(s: string): number | null {
  return HHMM_RE.test(s) ? Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5)) : null;
}

/** Slot rule shared by encode and decode: both or neither, start < end, end ≤ 24:00. */
function slotError(start: number | null, end: number | null): string | null {
  if ((start === null) !== (end === null)) return 'slot start and end go together';
  if (start !== null && end !== null && (start >= 1440 || end > 1440 || end <= start)) return 'bad slot';
  return null;
}

/**
 * Compact binary payload (QR density matters more than readability):
 * ver u8 | keyId u8+ASCII | site u8+ASCII | ticketId u8+ASCII | typeId u8+UTF-8 |
 * visitDate u16 days since 2000-01-01 | slotStart u16 | slotEnd u16 (0xFFFF = none) |
 * persons u8 | issuedAt u32 epoch seconds. Big-endian.
 * Throws StileError(USAGE) naming the field when the payload cannot be represented.
 */
export function encodeOfflinePayload(p: OfflineTicketPayload): Buffer {
  const fail = (field: string, why: string): never => {
    throw new StileError(StileErrorCode.UsageError, `offline ticket payload: ${field}: ${why}`);
  };
  if (typeof p.keyId !== 'string' || !KEY_ID_RE.test(p.keyId)) fail('keyId', 'expected 1–16 chars of [A-Za-z0-9_-]');
  if (typeof p.site !== 'string' || !SITE_RE.test(p.site)) fail('site', 'expected a lowercase slug');
  if (typeof p.ticketId !== 'string' || !TICKET_ID_RE.test(p.ticketId)) fail('ticketId', 'expected 8–64 chars of [A-Za-z0-9_-]');
  if (typeof p.typeId !== 'string' || !validTypeId(p.typeId)) fail('typeId', 'expected 1–64 chars of well-formed text');
  const days = typeof p.visitDate === 'string' ? dateToDays(p.visitDate) : null;
  if (days === null) fail('visitDate', 'expected a real date "YYYY-MM-DD" from 2000-01-01 to 2179-06-06');
  const start = p.slotStart == null ? null : hhmmToMinutes(p.slotStart);
  const end = p.slotEnd == null ? null : hhmmToMinutes(p.slotEnd);
  if ((p.slotStart != null && start === null) || (p.slotEnd != null && end === null)) fail('slot', 'expected "HH:MM"');
  const slotErr = slotError(start, end);
  if (slotErr) fail('slot', slotErr);
  if (!Number.isInteger(p.persons) || p.persons < 1 || p.persons > 100) fail('persons', 'expected an integer 1–100');
  if (!Number.isInteger(p.issuedAt) || p.issuedAt < 0 || p.issuedAt > 0xffffffff) fail('issuedAt', 'expected epoch seconds (u32)');

  const type = Buffer.from(p.typeId, 'utf8');
  const buf = Buffer.alloc(1 + 1 + p.keyId.length + 1 + p.site.length + 1 + p.ticketId.length + 1 + type.length + 11);
  let o = buf.writeUInt8(VERSION, 0);
  for (const s of [p.keyId, p.site, p.ticketId]) {
    o = buf.writeUInt8(s.length, o);
    o += buf.write(s, o, 'latin1');
  }
  o = buf.writeUInt8(type.length, o);
  o += type.copy(buf, o);
  o = buf.writeUInt16BE(days as number, o);
  o = buf.writeUInt16BE(start ?? NO_SLOT, o);
  o = buf.writeUInt16BE(end ?? NO_SLOT, o);
  o = buf.writeUInt8(p.persons, o);
  buf.writeUInt32BE(p.issuedAt, o);
  return buf;
}

/** Strict inverse of encodeOfflinePayload; returns a short reason instead of throwing. */
export function decodeOfflinePayload(buf: Buffer): OfflineTicketPayload | { error: string } {
  let o = 0;
  const need = (n: number): boolean => o + n <= buf.length;
  const str = (re: RegExp): string | null => {
    if (!need(1)) return null;
    const len = buf[o++] as number;
    if (!need(len)) return null;
    const s = buf.toString('latin1', o, (o += len));
    return re.test(s) ? s : '';
  };
  if (!need(1)) return { error: 'truncated payload' };
  if (buf[o++] !== VERSION) return { error: 'unsupported payload version' };
  const fields: [string, RegExp][] = [['key id', KEY_ID_RE], ['site', SITE_RE], ['ticket id', TICKET_ID_RE]];
  const ids: string[] = [];
  for (const [name, re] of fields) {
    const s = str(re);
    if (s === null) return { error: 'truncated payload' };
    if (s === '') return { error: `bad ${name}` };
    ids.push(s);
  }
  if (!need(1)) return { error: 'truncated payload' };
  const typeLen = buf[o++] as number;
  if (!need(typeLen)) return { error: 'truncated payload' };
  let typeId: string;
  try {
    typeId = utf8.decode(buf.subarray(o, (o += typeLen)));
  } catch {
    return { error: 'bad type id' };
  }
  if (!validTypeId(typeId)) return { error: 'bad type id' };
  if (!need(11)) return { error: 'truncated payload' };
  const days = buf.readUInt16BE(o);
  const rawStart = buf.readUInt16BE(o + 2);
  const rawEnd = buf.readUInt16BE(o + 4);
  const persons = buf.readUInt8(o + 6);
  const issuedAt = buf.readUInt32BE(o + 7);
  o += 11;
  if (o !== buf.length) return { error: 'trailing bytes' };
  const start = rawStart === NO_SLOT ? null : rawStart;
  const end = rawEnd === NO_SLOT ? null : rawEnd;
  const slotErr = slotError(start, end);
  if (slotErr) return { error: slotErr };
  if (persons < 1 || persons > 100) return { error: 'bad persons' };
  return {
    keyId: ids[0] as string,
    site: ids[1] as string,
    ticketId: ids[2] as string,
    typeId,
    visitDate: daysToDate(days),
    slotStart: start === null ? null : minutesToHhmm(start),
    slotEnd: end === null ? null : minutesToHhmm(end),
    persons,
    issuedAt,
  };
}
