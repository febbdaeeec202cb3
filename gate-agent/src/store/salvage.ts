import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { EntryEvent } from '@stile/config';

/**
 * What can still be read from a damaged gate database before it is rebuilt from the cloud
 * (gatectl restore, docs/backup.md): each part on its own, so one bad page costs only the
 * part it holds. Opened read-only; nothing here writes to the old file.
 */
export interface Salvage {
  /** The file could be opened as a database at all. */
  opened: boolean;
  /** The parts that could not be read, each with SQLite's reason. */
  problems: string[];
  /** Events the cloud has not confirmed (outbox rows: seq and the EntryEvent JSON as sent). */
  outbox: { seq: number; payload: string }[];
  /** The journal as far as it reads (for `entries tail`, not-passed corrections and anti-passback). */
  entries: EntryRowRaw[];
  /** The highest entry seq ever given out here (AUTOINCREMENT counter, journal or outbox). */
  maxSeq: number;
  /** The last session epoch. */
  epoch: number;
  /** Ticket rows with local usage or built from a signed code: the snapshot may not know them yet. */
  tickets: TicketRowRaw[];
  remoteUsage: { ticket_id: string; entries_used: number }[];
  /** Revocations that came as cloud deltas (gate.yaml's own come back at the daemon's start). */
  cloudRevocations: string[];
  /** Remote commands already handled, so a redelivered one is not run again. */
  seenCommands: { cmd_id: string; action: string; at: string; result: string | null }[];
  /** The gate was locked by a remote command. */
  locked: boolean;
}

export interface EntryRowRaw {
  seq: number;
  event_id: string;
  epoch: number;
  kind: string;
  ticket_id: string;
  type_id: string;
  credential: string;
  persons: number;
  at: number;
  input: string | null;
  ref_seq: number | null;
}

export interface TicketRowRaw {
  ticket_id: string;
  type_id: string;
  status: string;
  visit_date: string;
  slot_start: string | null;
  slot_end: string | null;
  persons: number;
  entries_used: number;
  entries_day: string | null;
  entries_day_count: number;
  last_entry_at: number | null;
  id_hash: string | null;
  source: string;
}

export function emptySalvage(): Salvage {
  return { opened: false, problems: [], outbox: [], entries: [], maxSeq: 0, epoch: 0, tickets: [], remoteUsage: [], cloudRevocations: [], seenCommands: [], locked: false };
}

/** Read what can be read of `path` (a missing file salvages nothing). */
export function salvageGateDb(path: string): Salvage {
  const s = emptySalvage();
  if (!existsSync(path)) return s;
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (err) {
    s.problems.push(`database: ${reason(err)}`);
    return s;
  }
  s.opened = true;
  const part = <T>(name: string, read: () => T, fallback: T): T => {
    try {
      return read();
    } catch (err) {
      s.problems.push(`${name}: ${reason(err)}`);
      return fallback;
    }
  };
  try {
    s.outbox = part('outbox', () => db.prepare<[], { seq: number; payload: string }>('SELECT seq, payload FROM outbox ORDER BY seq').all(), []);
    s.entries = part('entries', () => db.prepare<[], EntryRowRaw>('SELECT seq, event_id, epoch, kind, ticket_id, type_id, credential, persons, at, input, ref_seq FROM entries ORDER BY seq').all(), []);
    const counter = part('sqlite_sequence', () => (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'entries'").get() as { seq?: number } | undefined)?.seq ?? 0, 0);
    s.maxSeq = Math.max(counter, s.entries.at(-1)?.seq ?? 0, s.outbox.at(-1)?.seq ?? 0);
    const meta = part('meta', () => new Map(db.prepare<[], { key: string; value: string }>('SELECT key, value FROM meta').all().map((r) => [r.key, r.value])), new Map<string, string>());
    s.epoch = Number(meta.get('epoch') ?? '0') || 0;
    s.locked = meta.get('gate_locked') === '1';
    s.tickets = part(
      'tickets',
      () =>
        db
          .prepare<[], TicketRowRaw>(
            `SELECT ticket_id, type_id, status, visit_date, slot_start, slot_end, persons, entries_used, entries_day, entries_day_count,
               last_entry_at, id_hash, source FROM tickets WHERE source = 'signed' OR last_entry_at IS NOT NULL`,
          )
          .all(),
      [],
    );
    s.remoteUsage = part('remote_usage', () => db.prepare<[], { ticket_id: string; entries_used: number }>('SELECT ticket_id, entries_used FROM remote_usage').all(), []);
    s.cloudRevocations = part('revoked_tickets', () => db.prepare<[], string>("SELECT ticket_id FROM revoked_tickets WHERE source = 'cloud'").pluck().all(), []);
    s.seenCommands = part('seen_commands', () => db.prepare<[], Salvage['seenCommands'][number]>('SELECT cmd_id, action, at, result FROM seen_commands').all(), []);
  } finally {
    db.close();
  }
  return s;
}

/**
 * Journal rows for the outbox events whose journal row could not be read: rebuilt from the
 * event as it was queued (the outbox payload is the whole EntryEvent; only `input` is lost).
 */
export function entriesFromOutbox(outbox: readonly { seq: number; payload: string }[], have: ReadonlySet<number>): EntryRowRaw[] {
  const rows: EntryRowRaw[] = [];
  for (const o of outbox) {
    if (have.has(o.seq)) continue;
    const e = JSON.parse(o.payload) as EntryEvent;
    rows.push({
      seq: o.seq,
      event_id: e.eventId,
      epoch: e.epoch,
      kind: e.kind,
      ticket_id: e.ticketId,
      type_id: e.typeId,
      credential: e.credential,
      persons: e.persons,
      at: Date.parse(e.at),
      input: null,
      ref_seq: e.refSeq !== undefined ? Number(e.refSeq) : null,
    });
  }
  return rows;
}

function reason(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return `${(err as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`;
}
