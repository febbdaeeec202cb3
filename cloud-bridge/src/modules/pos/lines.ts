import { localClock, localDate } from '@stile/config';

/*
 * POS lines as the park's restaurants and shops send them (JSON or a CSV export), checked by
 * pure functions: whatever comes in, the answer is a line or the list of what is wrong with
 * it, never an exception (test/pos-lines.test.ts fuzzes this).
 */

/** Lines one request may carry (the CLI import sends a day's export in batches of this size). */
export const MAX_LINES = 500;
/** A line stamped this far ahead of our clock is refused (a POS clock set wrong, a typo in the year). */
export const FUTURE_TOLERANCE_MS = 10 * 60_000;
const MAX_AMOUNT_FEN = 10_000_000; // 100,000 CNY on one line is a typo, not a lunch

/** A well-formed line: what is stored (the visitor identifiers are only used to find the visit). */
export interface PosLine {
  lineId: string;
  /** The instant of the sale, as UTC ISO text. */
  at: string;
  /** The park-local date of `at`: the day whose visit the line belongs to. */
  visitDate: string;
  amountFen: number;
  category: string;
  item: string | null;
  memberCode?: string;
  ticketCode?: string;
  /** Normalised mainland mobile (11 digits); used for the lookup only, never stored. */
  phone?: string;
  couponCode: string | null;
}

export type LineCheck = { ok: true; line: PosLine } | { ok: false; lineId: string | null; problems: string[] };

const FIELDS = ['lineId', 'at', 'amountFen', 'category', 'item', 'memberCode', 'ticketCode', 'phone', 'couponCode'] as const;
// Printable text: no control characters (they end up in CSV exports and logs).
const CONTROL = /[\u0000-\u001f\u007f]/; // eslint-disable-line no-control-regex
const LINE_ID = /^[A-Za-z0-9_.:/#-]{1,64}$/;
const CATEGORY = /^[\p{L}\p{N}_.-]{1,40}$/u;
const TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Text of `max` characters at most, trimmed, printable; `undefined` when absent or empty. */
function text(v: unknown, field: string, max: number, problems: string[]): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    problems.push(`${field}: expected text`);
    return undefined;
  }
  const t = v.trim();
  if (t === '') return undefined;
  if (t.length > max) problems.push(`${field}: at most ${max} characters`);
  else if (CONTROL.test(t)) problems.push(`${field}: control characters are not allowed`);
  else return t;
  return undefined;
}

/**
 * The instant of a POS timestamp: ISO 8601 with an offset ("2027-03-10T12:30:00+08:00", "…Z"),
 * or without one ("2027-03-10 12:30:00", a till's local time), which is read in the park's zone.
 */
export function parsePosTime(s: string, timeZone: string): Date | undefined {
  const m = TIME.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, sec] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  const ms = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return undefined;
  const wall = Date.UTC(y, mo - 1, d, h, mi, sec, ms);
  // Date.UTC rolls 31 April over into May: a day the month does not have is no time.
  if (new Date(wall).getUTCDate() !== d) return undefined;
  const zone = m[8];
  if (zone !== undefined) {
    if (zone === 'Z') return new Date(wall);
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2));
    if (oh > 14 || om > 59) return undefined;
    return new Date(wall - sign * (oh * 60 + om) * 60_000);
  }
  // Local wall time: subtract the zone's offset at that moment (twice, for a day the offset changes).
  let t = wall;
  for (let i = 0; i < 2; i++) {
    const l = localClock(timeZone, t);
    const localAsUtc = Date.parse(`${l.date}T00:00:00Z`) + l.secondOfDay * 1000 + (t % 1000);
    t -= localAsUtc - wall;
  }
  return new Date(t);
}

/** A mainland mobile number as 11 digits (spaces, dashes and a +86/0086 prefix dropped); undefined when it is none. */
export function normalisePhone(s: string): string | undefined {
  const digits = s.replace(/[\s-]/g, '').replace(/^(\+86|0086)/, '');
  return /^1[3-9]\d{9}$/.test(digits) ? digits : undefined;
}

/** The phone as logs and answers may show it: the last 4 digits. */
export const maskPhone = (phone: string): string => `*******${phone.slice(-4)}`;

/**
 * Check one line (a JSON object, or a CSV row made into one): every problem named, so a
 * POS operator fixes them all at once.
 */
export function checkLine(raw: unknown, timeZone: string, now: Date): LineCheck {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, lineId: null, problems: ['a line is an object {lineId, at, amountFen, category, …}'] };
  const r = raw as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of Object.keys(r)) if (!(FIELDS as readonly string[]).includes(k)) problems.push(`${k}: unknown field (known: ${FIELDS.join(', ')})`);
  let lineId: string | null = null;
  if (typeof r.lineId === 'string' && LINE_ID.test(r.lineId.trim())) lineId = r.lineId.trim();
  else problems.push('lineId: required, 1–64 of A–Z a–z 0–9 _ . : / # -');
  let at: Date | undefined;
  if (typeof r.at !== 'string' || r.at.trim() === '') problems.push('at: required, ISO 8601 time (2027-03-10T12:30:00+08:00)');
  else {
    at = parsePosTime(r.at.trim(), timeZone);
    if (!at) problems.push(`at: not a time: ${JSON.stringify(r.at.slice(0, 40))} (ISO 8601, e.g. 2027-03-10T12:30:00+08:00)`);
    else if (at.getTime() > now.getTime() + FUTURE_TOLERANCE_MS) {
      problems.push('at: in the future (check the POS clock)');
      at = undefined;
    }
  }
  const amount = r.amountFen;
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0 || amount > MAX_AMOUNT_FEN) problems.push(`amountFen: required, whole fen from 0 to ${MAX_AMOUNT_FEN}`);
  let category: string | undefined;
  if (typeof r.category === 'string' && CATEGORY.test(r.category.trim())) category = r.category.trim().toLowerCase();
  else problems.push('category: required, 1–40 letters, digits, _ . - (e.g. restaurant, souvenir)');
  const item = text(r.item, 'item', 100, problems);
  const memberCode = text(r.memberCode, 'memberCode', 64, problems);
  const ticketCode = text(r.ticketCode, 'ticketCode', 512, problems);
  const phoneText = text(r.phone, 'phone', 32, problems);
  const phone = phoneText === undefined ? undefined : normalisePhone(phoneText);
  if (phoneText !== undefined && phone === undefined) problems.push('phone: not a mainland mobile number (11 digits)');
  // As the coupons module spells codes (spaces and dashes dropped, upper case), so a line names the coupon row it used.
  const couponCode = text(r.couponCode, 'couponCode', 64, problems)?.replace(/[\s-]/g, '').toUpperCase() || undefined;
  const identified = memberCode !== undefined || ticketCode !== undefined || phone !== undefined;
  if (!identified && !problems.some((p) => /^(memberCode|ticketCode|phone):/.test(p))) problems.push('memberCode, ticketCode or phone: one is required to find the visit');
  if (problems.length > 0 || !lineId || !at || !category || typeof amount !== 'number') return { ok: false, lineId, problems };
  return {
    ok: true,
    line: {
      lineId,
      at: at.toISOString(),
      visitDate: localDate(at, timeZone),
      amountFen: amount,
      category,
      item: item ?? null,
      ...(memberCode !== undefined ? { memberCode } : {}),
      ...(ticketCode !== undefined ? { ticketCode } : {}),
      ...(phone !== undefined ? { phone } : {}),
      couponCode: couponCode ?? null,
    },
  };
}

/** Does a stored line say the same as a re-sent one (a retry), or something else (a conflict)? */
export function sameLine(stored: { at: string; amountFen: number; category: string; item: string | null; couponCode: string | null; link: string; idHash: string | null }, line: PosLine, link: { via: string; idHash: string } | undefined): boolean {
  return (
    Date.parse(stored.at) === Date.parse(line.at) &&
    stored.amountFen === line.amountFen &&
    stored.category === line.category &&
    stored.item === line.item &&
    stored.couponCode === line.couponCode &&
    // The visitor: compared when the re-sent line still finds its visit (a deleted visitor's line keeps no hash).
    (link === undefined || stored.idHash === null || (stored.link === link.via && stored.idHash === link.idHash))
  );
}
