import { renameSync, rmSync, existsSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { EntryEvent } from '@stile/config';
import { asidePath, ownLikeData } from '@stile/service';
import { openDatabase } from './open.js';
import { importSnapshot, type SnapshotSignatureCheck } from './snapshot-import.js';
import { entriesFromOutbox, type EntryRowRaw, type Salvage } from './salvage.js';

/**
 * A gate database built anew after a card failure (gatectl restore, docs/backup.md): what
 * could be salvaged from the old file, the cloud's snapshot of the site's whitelist, and the
 * counters the cloud holds for this gate, so that nothing the gate did is lost or repeated:
 *
 * - un-synced events (the old outbox) are queued again with their own seq and eventId: the
 *   cloud stores each (gate, seq) once, so a resend of what it has is harmless;
 * - the entry seq goes on above everything the old file or the cloud has seen (a fresh
 *   AUTOINCREMENT would start at 1, and the cloud would take those seqs for repeats);
 * - the epoch goes on from the higher of the old one and the cloud's (a lower one makes
 *   the cloud ignore the gate's status as stale);
 * - tickets used here and not yet known used by the cloud keep their usage (carried over
 *   by the import exactly as in a resync).
 */
export interface RebuildInput {
  /** Where the new database is built (renamed over the real one by installRebuilt). */
  path: string;
  snapshotFile: string;
  site: string;
  signature: SnapshotSignatureCheck;
  salvage: Salvage;
  /** The cloud's marks for this gate (GET …/gates/{gate}/marks); 0/0 for a gate it has never heard of. */
  cloud: { highSeq: bigint; epoch: number };
  now: Date;
}

export interface RebuildResult {
  tickets: number;
  asOfSeq: string | null;
  /** Events queued for the cloud again. */
  requeued: number;
  /** Journal rows kept. */
  journal: number;
  /** Ticket rows whose local usage was carried over. */
  usageKept: number;
  /** The next admission's seq. */
  nextSeq: number;
  /** The epoch the daemon's next start goes on from. */
  epoch: number;
}

export async function buildGateDb(input: RebuildInput): Promise<RebuildResult> {
  for (const f of [input.path, `${input.path}-wal`, `${input.path}-shm`]) rmSync(f, { force: true });
  const db = openDatabase(input.path);
  try {
    const carried = carryOver(db, input);
    const result = await importSnapshot(db, input.snapshotFile, { siteId: input.site, signature: input.signature });
    db.prepare("INSERT INTO meta (key, value) VALUES ('restored_at', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(input.now.toISOString());
    db.pragma('wal_checkpoint(TRUNCATE)');
    return { tickets: result.tickets, asOfSeq: result.asOfSeq, ...carried };
  } finally {
    db.close();
  }
}

function carryOver(db: Database.Database, input: RebuildInput): Omit<RebuildResult, 'tickets' | 'asOfSeq'> {
  const s = input.salvage;
  const outboxRead = !s.problems.some((p) => p.startsWith('outbox:'));
  const journal = s.entries.length > 0 ? [...s.entries] : [];
  const have = new Set(journal.map((e) => e.seq));
  journal.push(...entriesFromOutbox(s.outbox, have));
  journal.sort((a, b) => a.seq - b.seq);
  // Without a readable outbox, what the cloud has not got is what lies above its mark.
  const outbox = outboxRead ? s.outbox : journal.filter((e) => BigInt(e.seq) > input.cloud.highSeq).map((e) => ({ seq: e.seq, payload: JSON.stringify(eventOf(e)) }));
  const floor = Math.max(s.maxSeq, Number(input.cloud.highSeq), journal.at(-1)?.seq ?? 0);
  const epoch = Math.max(s.epoch, input.cloud.epoch);

  // A not-passed may name an admission whose journal row was lost: the reference is kept as data.
  db.pragma('foreign_keys = OFF');
  try {
    db.transaction(() => {
      const entry = db.prepare(
        `INSERT INTO entries (seq, event_id, epoch, kind, ticket_id, type_id, credential, persons, at, input, ref_seq)
         VALUES (@seq, @event_id, @epoch, @kind, @ticket_id, @type_id, @credential, @persons, @at, @input, @ref_seq)`,
      );
      for (const e of journal) entry.run(e);
      const queued = db.prepare('INSERT INTO outbox (seq, payload) VALUES (?, ?)');
      for (const o of outbox) queued.run(o.seq, o.payload);
      const ticket = db.prepare(
        `INSERT INTO tickets (ticket_id, type_id, status, visit_date, slot_start, slot_end, persons, entries_used, entries_day, entries_day_count, last_entry_at, id_hash, source)
         VALUES (@ticket_id, @type_id, @status, @visit_date, @slot_start, @slot_end, @persons, @entries_used, @entries_day, @entries_day_count, @last_entry_at, @id_hash, @source)`,
      );
      for (const t of s.tickets) ticket.run(t);
      const remote = db.prepare('INSERT INTO remote_usage (ticket_id, entries_used) VALUES (?, ?)');
      for (const r of s.remoteUsage) remote.run(r.ticket_id, r.entries_used);
      const revoked = db.prepare("INSERT OR IGNORE INTO revoked_tickets (ticket_id, source) VALUES (?, 'cloud')");
      for (const id of s.cloudRevocations) revoked.run(id);
      const seen = db.prepare('INSERT OR IGNORE INTO seen_commands (cmd_id, action, at, result) VALUES (@cmd_id, @action, @at, @result)');
      for (const c of s.seenCommands) seen.run(c);
      const meta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
      meta.run('epoch', String(epoch));
      if (s.locked) meta.run('gate_locked', '1');
      // The AUTOINCREMENT counter: the next admission gets floor + 1.
      if (db.prepare("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'entries'").run(floor).changes === 0) {
        db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('entries', ?)").run(floor);
      }
    })();
  } finally {
    db.pragma('foreign_keys = ON');
  }
  return { requeued: outbox.length, journal: journal.length, usageKept: s.tickets.length, nextSeq: floor + 1, epoch };
}

/** The event as the outbox would have queued it (a signed code's text is not in the journal, so it is absent). */
export function eventOf(e: EntryRowRaw): EntryEvent {
  return {
    eventId: e.event_id,
    seq: String(e.seq),
    epoch: e.epoch,
    kind: e.kind as EntryEvent['kind'],
    ...(e.ref_seq !== null ? { refSeq: String(e.ref_seq) } : {}),
    ticketId: e.ticket_id,
    typeId: e.type_id,
    credential: e.credential as EntryEvent['credential'],
    persons: e.persons,
    at: new Date(e.at).toISOString(),
  };
}

/**
 * Put the rebuilt database in place: the old one (and its -wal, -shm) is moved aside to
 * `<db>.damaged-<time>` — kept, never deleted — then the new one is renamed in.
 */
export function installRebuilt(dbPath: string, built: string, now: Date): string | undefined {
  // Run as root: the new file gets the old one's owner (else the folder's), for the daemon's user.
  ownLikeData(built, dbPath);
  let aside: string | undefined;
  if (existsSync(dbPath)) {
    aside = asidePath(dbPath, 'damaged', now);
    // -wal and -shm go with it under the names SQLite expects next to the new name.
    for (const suffix of ['-wal', '-shm']) if (existsSync(`${dbPath}${suffix}`)) renameSync(`${dbPath}${suffix}`, `${aside}${suffix}`);
    renameSync(dbPath, aside);
  }
  renameSync(built, dbPath);
  return aside;
}
