/**
 * Code providers for playVisitors from the files a site already has: the NDJSON whitelist
 * snapshot the gate imports (`stile-gate`/gatectl format) and a list of ID numbers.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { localDate, localTime } from '@stile/config';
import type { IdFields } from '@stile/gate-agent/protocol';
import { SimError, SimErrorCode } from './errors.js';
import { residentCard } from './id-numbers.js';
import type { VisitorCodes } from './visitors.js';

export interface WhitelistCodeOptions {
  /** The park's local date, YYYY-MM-DD. Default: today in `timeZone`. */
  today?: string;
  /** Local time HH:MM for slot checks. Default: now in `timeZone`. */
  time?: string;
  timeZone?: string;
}

export interface WhitelistCodes {
  /** Tickets valid today, unused, slot (if any) open now: each handed out once. */
  valid: string[];
  /** Tickets for an earlier day. */
  expired: string[];
  codes: Pick<VisitorCodes, 'validQr' | 'expired'>;
}

function localNow(timeZone: string): { date: string; time: string } {
  const now = Date.now();
  return { date: localDate(now, timeZone), time: localTime(now, timeZone) };
}

/** Hand out the items in order, each once. */
function onceEach<T>(items: readonly T[]): () => T | undefined {
  let i = 0;
  return () => items[i++];
}

async function* lines(file: string): AsyncGenerator<[number, string]> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of rl) yield [++n, line];
  } catch (err) {
    throw new SimError(SimErrorCode.BadInputFile, `${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** QR codes ("ST1:<ticketId>") from a whitelist snapshot. */
export async function loadWhitelistCodes(file: string, opts: WhitelistCodeOptions = {}): Promise<WhitelistCodes> {
  const local = localNow(opts.timeZone ?? 'Asia/Shanghai');
  const today = opts.today ?? local.date;
  const time = opts.time ?? local.time;
  const valid: string[] = [];
  const expired: string[] = [];
  for await (const [n, line] of lines(file)) {
    if (line.trim() === '') continue;
    let t: Record<string, unknown>;
    try {
      t = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new SimError(SimErrorCode.BadInputFile, `${file}:${n}: not JSON`);
    }
    if (typeof t !== 'object' || t === null || 'snapshot' in t) continue;
    const { ticketId, visitDate, status = 'valid', entriesUsed = 0, slotStart, slotEnd } = t;
    if (typeof ticketId !== 'string' || typeof visitDate !== 'string') throw new SimError(SimErrorCode.BadInputFile, `${file}:${n}: expected ticketId and visitDate`);
    if (visitDate < today) expired.push(`ST1:${ticketId}`);
    else if (visitDate === today && status === 'valid' && entriesUsed === 0) {
      const slotOpen = typeof slotStart !== 'string' || typeof slotEnd !== 'string' || (slotStart <= time && time < slotEnd);
      if (slotOpen) valid.push(`ST1:${ticketId}`);
    }
  }
  return { valid, expired, codes: { validQr: onceEach(valid), expired: onceEach(expired) } };
}

/** ID numbers, one a line, optionally followed by a name; blank lines and # comments skipped. */
export async function loadIdCards(file: string): Promise<{ cards: IdFields[]; idCard: () => IdFields | undefined }> {
  const cards: IdFields[] = [];
  for await (const [n, line] of lines(file)) {
    const text = line.replace(/#.*/, '').trim();
    if (text === '') continue;
    const [idNumber = '', ...name] = text.split(/[\s,]+/);
    if (!/^\d{17}[\dXx]$/.test(idNumber)) throw new SimError(SimErrorCode.BadInputFile, `${file}:${n}: expected an 18-character ID number`);
    cards.push(residentCard({ idNumber: idNumber.toUpperCase(), ...(name.length ? { name: name.join(' ') } : {}) }));
  }
  return { cards, idCard: onceEach(cards) };
}
