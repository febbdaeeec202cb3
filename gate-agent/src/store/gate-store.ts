import { randomUUID } from 'node:crypto';
import { closeSync, fdatasync, fstatSync, openSync, statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { EntryEvent, SnapshotTicket, TicketRecord, TicketType, WhitelistDelta } from '@stile/config';
import { TicketTypeSchema } from '@stile/config';
import { WriteLock } from './write-lock.js';

export type CredentialKind = EntryEvent['credential'];

export interface EntryRow {
  seq: number;
  eventId: string;
  epoch: number;
  kind: 'admit' | 'not-passed';
  ticketId: string;
  typeId: string;
  credential: CredentialKind;
  persons: number;
  at: number;
  input: string | null;
  /** not-passed: the admission it corrects. */
  refSeq: number | null;
}

export interface AdmissionInput {
  /** The ticket's state after the admission (recordAdmission's output). */
  ticket: TicketRecord;
  credential: CredentialKind;
  persons: number;
  at: number;
  gateSite: string;
  gateId: string;
  input?: string;
  /** signed-qr only: the normalised scanned `ST2:` text, sent so the cloud checks the signature itself. */
  code?: string;
}

/** Where a revocation came from: gate.yaml (replaced on every config sync) or a cloud delta (kept). */
export type RevocationSource = 'config' | 'cloud';

export interface NotPassedInput {
  /** The admission nobody (or not everybody) walked through. */
  refSeq: number;
  /** How many of its persons did not pass, 1…persons. */
  missing: number;
  at: number;
  /** Park-local date of the admission: the per-day counter is given back only on that day. */
  admissionDay: string;
}

export interface NotPassedResult {
  entry: EntryRow;
  /** True when nobody passed: the ticket got its entry back. */
  entryReturned: boolean;
}

/** One event of another gate of the site (park-local mode), as PeerEntries hands it over. */
export interface PeerEntryInput {
  eventId: string;
  seq: number;
  kind: 'admit' | 'not-passed';
  /** not-passed only: the peer's admission it corrects. */
  refSeq?: number;
  ticketId: string;
  persons: number;
  at: number;
  /** Park-local date of `at`: the per-day counter it counts on (or is given back on). */
  day: string;
  /**
   * No ticket row here: may the usage go to remote_usage? Only for a signed code this gate
   * verified itself; anything else this gate does not know is not kept.
   */
  remoteOk: boolean;
}

export interface PeerApplyResult {
  /** Admissions now counted on a ticket row or in remote_usage. */
  counted: number;
  /** Entries given back by a full not-passed. */
  returned: number;
  /** Seen before (the peer sent its outbox again): nothing changed. */
  duplicates: number;
  /** Neither a ticket row here nor a verified signed code: not kept. */
  unknown: number;
  /** Stored, nothing to change yet (a not-passed before its admission; an admission already given back). */
  held: number;
}

const TICKET_COLUMNS = `ticket_id AS ticketId, type_id AS typeId, status, visit_date AS visitDate,
  slot_start AS slotStart, slot_end AS slotEnd, persons, entries_used AS entriesUsed,
  entries_day AS entriesDay, entries_day_count AS entriesDayCount, last_entry_at AS lastEntryAt,
  id_hash AS idHash, source`;

const ENTRY_COLUMNS = `seq, event_id AS eventId, epoch, kind, ticket_id AS ticketId, type_id AS typeId,
  credential, persons, at, input, ref_seq AS refSeq`;

/**
 * The gate's local state. All statements are prepared once; lookups go by primary key.
 * The admission (ticket usage + journal + outbox) is one transaction that commits
 * before the caller moves the relay.
 */
export class GateStore {
  private readonly getTicketStmt;
  private readonly byIdHashStmt;
  private readonly upsertUsageStmt;
  private readonly insertEntryStmt;
  private readonly insertOutboxStmt;
  private readonly insertNotPassedStmt;
  private readonly entryBySeqStmt;
  private readonly hasCompensationStmt;
  private readonly giveBackStmt;
  private readonly writeLock;
  private readonly isRevokedStmt;
  private readonly revokeStmt;
  private readonly remoteUsageStmt;
  private readonly addRemoteUsageStmt;
  private readonly eventIdAtStmt;
  private readonly getMetaStmt;
  private readonly setMetaStmt;
  private readonly peerTx;
  /** The WAL file syncWal() syncs, and the inode it was opened on. */
  private wal: { fd: number; ino: number } | undefined;
  epoch = 0;

  constructor(readonly db: Database.Database) {
    this.getTicketStmt = db.prepare<[string], TicketRecord>(`SELECT ${TICKET_COLUMNS} FROM tickets WHERE ticket_id = ?`);
    // ticket_idcards (schema v6) holds (id_hash, visit_date, ticket_id) of every row with an id_hash.
    this.byIdHashStmt = db.prepare<[string], TicketRecord>(
      `SELECT ${TICKET_COLUMNS} FROM tickets
       WHERE ticket_id IN (SELECT ticket_id FROM ticket_idcards WHERE id_hash = ? ORDER BY visit_date, ticket_id LIMIT 50)
       ORDER BY visit_date, ticket_id`,
    );
    this.upsertUsageStmt = db.prepare(
      `INSERT INTO tickets (ticket_id, type_id, status, visit_date, slot_start, slot_end, persons, entries_used,
         entries_day, entries_day_count, last_entry_at, id_hash, source)
       VALUES (@ticketId, @typeId, @status, @visitDate, @slotStart, @slotEnd, @persons, @entriesUsed,
         @entriesDay, @entriesDayCount, @lastEntryAt, @idHash, @source)
       ON CONFLICT(ticket_id) DO UPDATE SET entries_used = excluded.entries_used, entries_day = excluded.entries_day,
         entries_day_count = excluded.entries_day_count, last_entry_at = excluded.last_entry_at`,
    );
    this.insertEntryStmt = db.prepare(
      `INSERT INTO entries (event_id, epoch, kind, ticket_id, type_id, credential, persons, at, input)
       VALUES (?, ?, 'admit', ?, ?, ?, ?, ?, ?)`,
    );
    this.insertOutboxStmt = db.prepare('INSERT INTO outbox (seq, payload) VALUES (?, ?)');
    this.insertNotPassedStmt = db.prepare(
      `INSERT INTO entries (event_id, epoch, kind, ticket_id, type_id, credential, persons, at, input, ref_seq)
       VALUES (?, ?, 'not-passed', ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.entryBySeqStmt = db.prepare<[number], EntryRow>(`SELECT ${ENTRY_COLUMNS} FROM entries WHERE seq = ?`);
    this.hasCompensationStmt = db.prepare<[number], { x: number }>('SELECT 1 AS x FROM entries WHERE ref_seq = ?');
    // Undo one entry: the day counter only if it still counts the admission's day, and
    // last_entry_at only once nothing is used, so anti-passback does not block the retry.
    this.giveBackStmt = db.prepare(
      `UPDATE tickets SET
         entries_used = max(entries_used - 1, 0),
         entries_day_count = CASE WHEN entries_day = @day THEN max(entries_day_count - 1, 0) ELSE entries_day_count END,
         last_entry_at = CASE WHEN entries_used <= 1 THEN NULL ELSE last_entry_at END
       WHERE ticket_id = @ticketId`,
    );
    // Either source revokes; the (ticket_id, source) key makes this a prefix lookup.
    this.isRevokedStmt = db.prepare<[string], { x: number }>('SELECT 1 AS x FROM revoked_tickets WHERE ticket_id = ? LIMIT 1');
    this.revokeStmt = db.prepare<[string, RevocationSource]>('INSERT OR IGNORE INTO revoked_tickets (ticket_id, source) VALUES (?, ?)');
    this.remoteUsageStmt = db.prepare<[string], { n: number }>('SELECT entries_used AS n FROM remote_usage WHERE ticket_id = ?');
    // Deltas may repeat or arrive after a later one was folded in: usage only grows.
    this.addRemoteUsageStmt = db.prepare<[string, number]>(
      `INSERT INTO remote_usage (ticket_id, entries_used) VALUES (?, ?)
       ON CONFLICT(ticket_id) DO UPDATE SET entries_used = max(remote_usage.entries_used, excluded.entries_used)`,
    );
    this.eventIdAtStmt = db.prepare<[number], { eventId: string }>('SELECT event_id AS eventId FROM entries WHERE seq = ?');
    this.getMetaStmt = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
    this.setMetaStmt = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.writeLock = new WriteLock(db);
    this.peerTx = this.peerStatements(db);
  }

  getTicket(ticketId: string): TicketRecord | undefined {
    return this.getTicketStmt.get(ticketId);
  }

  /** All tickets bound to one ID-card hash (a visitor rarely has more than a few). */
  ticketsForIdHash(idHash: string): TicketRecord[] {
    return this.byIdHashStmt.all(idHash);
  }

  isRevoked(ticketId: string): boolean {
    return this.isRevokedStmt.get(ticketId) !== undefined;
  }

  /**
   * Entries other gates reported (used-elsewhere) for a ticket this gate has no row for;
   * 0 when none. A signed ticket built from its code starts from this.
   */
  remoteEntriesUsed(ticketId: string): number {
    return this.remoteUsageStmt.get(ticketId)?.n ?? 0;
  }

  /** The event id of this gate's entry `seq`, to check that a receipt names real events. */
  eventIdAt(seq: number): string | undefined {
    return this.eventIdAtStmt.get(seq)?.eventId;
  }

  /**
   * Run `fn` inside an IMMEDIATE transaction so read-decide-write cannot interleave
   * with another writer (a whitelist swap, a second process).
   */
  exclusive<T>(fn: () => T): T {
    return this.writeLock.run(fn);
  }

  /**
   * exclusive(), committed without waiting for the disk: the admission path commits, sends
   * the relay command and then calls syncWal(), so the serial write and the fsync overlap
   * (docs/footprint.md, "scan → relay"). Anything else uses exclusive().
   */
  exclusiveUnsynced<T>(fn: () => T): T {
    return this.writeLock.runUnsynced(fn);
  }

  /**
   * Make every commit so far durable: fdatasync of the WAL file on libuv's thread pool (the
   * event loop and the relay's serial write go on meanwhile). The descriptor is reopened when
   * the file is not the one it was opened on (a WAL deleted and created again).
   */
  async syncWal(): Promise<void> {
    if (this.db.memory) return;
    const path = `${this.db.name}-wal`;
    let ino: number;
    try {
      ino = statSync(path).ino;
    } catch (err) {
      // No WAL file (not in WAL mode): the commit synced the database file itself.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    if (this.wal?.ino !== ino) {
      if (this.wal) closeSync(this.wal.fd);
      this.wal = undefined;
      const fd = openSync(path, 'r');
      this.wal = { fd, ino: fstatSync(fd).ino };
    }
    const fd = this.wal.fd;
    await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  }

  /** Durably record one admission. Call inside exclusive() after re-deciding. */
  recordAdmission(a: AdmissionInput): EntryRow {
    return this.db.inTransaction ? this.writeAdmission(a) : this.writeLock.run(() => this.writeAdmission(a));
  }

  private writeAdmission(a: AdmissionInput): EntryRow {
    this.upsertUsageStmt.run(a.ticket);
    const eventId = randomUUID();
    const input = a.input ?? null;
    const info = this.insertEntryStmt.run(eventId, this.epoch, a.ticket.ticketId, a.ticket.typeId, a.credential, a.persons, a.at, input);
    const seq = Number(info.lastInsertRowid);
    const event: EntryEvent = {
      eventId,
      seq: String(seq),
      epoch: this.epoch,
      kind: 'admit',
      ticketId: a.ticket.ticketId,
      typeId: a.ticket.typeId,
      credential: a.credential,
      persons: a.persons,
      at: new Date(a.at).toISOString(),
      // The cloud verifies the signature itself instead of trusting the gate with a ticket it never issued.
      ...(a.credential === 'signed-qr' && a.code !== undefined ? { code: a.code } : {}),
    };
    this.insertOutboxStmt.run(seq, JSON.stringify(event));
    return { seq, eventId, epoch: this.epoch, kind: 'admit', ticketId: a.ticket.ticketId, typeId: a.ticket.typeId, credential: a.credential, persons: a.persons, at: a.at, input, refSeq: null };
  }

  /**
   * Durably record that persons of an admission did not walk through: the journal row,
   * its outbox row and, when nobody passed, the entry given back to the ticket, in one
   * transaction. Returns undefined (and writes nothing) when `refSeq` is not an admission
   * or already has its compensating event.
   */
  recordNotPassed(n: NotPassedInput): NotPassedResult | undefined {
    return this.writeLock.run(() => this.writeNotPassed(n));
  }

  private writeNotPassed(n: NotPassedInput): NotPassedResult | undefined {
    const admission = this.entryBySeqStmt.get(n.refSeq);
    if (admission?.kind !== 'admit' || this.hasCompensationStmt.get(n.refSeq)) return undefined;
    const missing = Math.min(Math.max(1, n.missing), admission.persons);
    const eventId = randomUUID();
    const info = this.insertNotPassedStmt.run(eventId, this.epoch, admission.ticketId, admission.typeId, admission.credential, missing, n.at, admission.input, n.refSeq);
    const seq = Number(info.lastInsertRowid);
    const event: EntryEvent = {
      eventId,
      seq: String(seq),
      epoch: this.epoch,
      kind: 'not-passed',
      refSeq: String(n.refSeq),
      ticketId: admission.ticketId,
      typeId: admission.typeId,
      credential: admission.credential,
      persons: missing,
      at: new Date(n.at).toISOString(),
    };
    this.insertOutboxStmt.run(seq, JSON.stringify(event));
    const entryReturned = missing === admission.persons;
    if (entryReturned) this.giveBackStmt.run({ ticketId: admission.ticketId, day: n.admissionDay });
    const entry: EntryRow = { ...admission, seq, eventId, epoch: this.epoch, kind: 'not-passed', persons: missing, at: n.at, refSeq: n.refSeq };
    return { entry, entryReturned };
  }

  /** Start a new session epoch: a durable counter bumped at every daemon start. */
  beginEpoch(): number {
    this.epoch = this.exclusive(() => {
      const next = Number(this.getMeta('epoch') ?? '0') + 1;
      this.setMeta('epoch', String(next));
      return next;
    });
    return this.epoch;
  }

  getMeta(key: string): string | undefined {
    return this.getMetaStmt.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.setMetaStmt.run(key, value);
  }

  saveTicketTypes(types: readonly TicketType[]): void {
    const put = this.db.prepare('INSERT INTO ticket_types (type_id, rules) VALUES (?, ?) ON CONFLICT(type_id) DO UPDATE SET rules = excluded.rules');
    this.exclusive(() => {
      for (const t of types) put.run(t.id, JSON.stringify(t));
    });
  }

  loadTicketTypes(): Map<string, TicketType> {
    const rows = this.db.prepare<[], { rules: string }>('SELECT rules FROM ticket_types').all();
    return new Map(rows.map((r) => {
      const t = TicketTypeSchema.parse(JSON.parse(r.rules));
      return [t.id, t];
    }));
  }

  /**
   * Replace the trusted keys and the config-listed revocations with what gate.yaml says.
   * Cloud revocations stay: they arrived as deltas the gate will not be sent again.
   */
  saveKeysAndRevocations(keys: readonly { id: string; publicKey: string; notAfter?: string | undefined }[], revoked: readonly string[]): void {
    this.exclusive(() => {
      this.db.exec("DELETE FROM trusted_keys; DELETE FROM revoked_tickets WHERE source = 'config';");
      const putKey = this.db.prepare('INSERT INTO trusted_keys (key_id, public_key, not_after) VALUES (?, ?, ?)');
      for (const k of keys) putKey.run(k.id, k.publicKey, k.notAfter ?? null);
      for (const id of revoked) this.revokeStmt.run(id, 'config');
    });
  }

  listKeys(): { keyId: string; publicKey: string; notAfter: string | null }[] {
    return this.db.prepare<[], { keyId: string; publicKey: string; notAfter: string | null }>(
      'SELECT key_id AS keyId, public_key AS publicKey, not_after AS notAfter FROM trusted_keys ORDER BY key_id',
    ).all();
  }

  /** Revoked ticket ids (one listed by both config and cloud counts once). */
  revokedCount(): number {
    return (this.db.prepare('SELECT count(DISTINCT ticket_id) AS n FROM revoked_tickets').get() as { n: number }).n;
  }

  revokedCountsBySource(): Record<RevocationSource, number> {
    const rows = this.db.prepare<[], { source: RevocationSource; n: number }>('SELECT source, count(*) AS n FROM revoked_tickets GROUP BY source').all();
    const counts: Record<RevocationSource, number> = { config: 0, cloud: 0 };
    for (const r of rows) counts[r.source] = r.n;
    return counts;
  }

  ticketCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM tickets').get() as { n: number }).n;
  }

  outboxDepth(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
  }

  entryCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
  }

  /** Newest entries first. */
  recentEntries(limit: number, afterSeq = 0): EntryRow[] {
    return this.db
      .prepare<[number, number], EntryRow>(`SELECT ${ENTRY_COLUMNS} FROM entries WHERE seq > ? ORDER BY seq DESC LIMIT ?`)
      .all(afterSeq, limit);
  }

  entriesForTicket(ticketId: string): EntryRow[] {
    return this.db.prepare<[string], EntryRow>(`SELECT ${ENTRY_COLUMNS} FROM entries WHERE ticket_id = ? ORDER BY seq`).all(ticketId);
  }

  /** The whitelist's delta sequence (decimal string), or undefined before the first snapshot. */
  whitelistSeq(): string | undefined {
    return this.getMeta('whitelist_seq');
  }

  /**
   * Apply one whitelist delta and advance whitelist_seq in ONE transaction, but only if
   * `delta.seq` is exactly whitelist_seq + 1 (checked again under the write lock).
   * Returns 'applied', 'old' (already have it) or 'gap' (nothing written).
   */
  applyWhitelistDelta(delta: Pick<WhitelistDelta, 'seq' | 'changes'>): 'applied' | 'old' | 'gap' {
    return this.exclusive(() => {
      const local = this.whitelistSeq();
      const seq = BigInt(delta.seq);
      if (local === undefined) return 'gap';
      if (seq <= BigInt(local)) return 'old';
      if (seq !== BigInt(local) + 1n) return 'gap';
      for (const c of delta.changes) {
        switch (c.op) {
          case 'upsert':
            this.upsertWhitelistTicket(c.ticket);
            break;
          case 'refund':
            this.setTicketStatus(c.ticketId, 'refunded');
            break;
          case 'revoke':
            this.setTicketStatus(c.ticketId, 'revoked');
            this.revokeStmt.run(c.ticketId, 'cloud');
            break;
          case 'rebook':
            this.setTicketStatus(c.ticketId, 'rebooked');
            this.upsertWhitelistTicket(c.newTicket);
            break;
          case 'used-elsewhere':
            this.recordUsedElsewhere(c.ticketId, c.entriesUsed);
            break;
        }
      }
      this.setMeta('whitelist_seq', delta.seq);
      return 'applied';
    });
  }

  /** Insert or update a whitelist ticket; this gate's usage columns are kept (entries_used only grows). */
  upsertWhitelistTicket(t: SnapshotTicket): void {
    this.db
      .prepare(
        `INSERT INTO tickets (ticket_id, type_id, status, visit_date, slot_start, slot_end, persons, entries_used, id_hash, source)
         VALUES (@ticketId, @typeId, @status, @visitDate, @slotStart, @slotEnd, @persons, @entriesUsed, @idHash, 'whitelist')
         ON CONFLICT(ticket_id) DO UPDATE SET type_id = excluded.type_id, status = excluded.status, visit_date = excluded.visit_date,
           slot_start = excluded.slot_start, slot_end = excluded.slot_end, persons = excluded.persons, id_hash = excluded.id_hash,
           entries_used = max(tickets.entries_used, excluded.entries_used), source = 'whitelist'`,
      )
      .run({
        ticketId: t.ticketId,
        typeId: t.typeId,
        status: t.status,
        visitDate: t.visitDate,
        slotStart: t.slotStart ?? null,
        slotEnd: t.slotEnd ?? null,
        persons: t.persons,
        entriesUsed: t.entriesUsed,
        idHash: t.idHash ?? null,
      });
  }

  /** A refunded/revoked/rebooked ticket this gate has never seen (a signed one) is added to the revocation list. */
  private setTicketStatus(ticketId: string, status: 'refunded' | 'revoked' | 'rebooked'): void {
    const changed = this.db.prepare('UPDATE tickets SET status = ? WHERE ticket_id = ?').run(status, ticketId).changes;
    if (changed === 0) this.revokeStmt.run(ticketId, 'cloud');
  }

  /**
   * Another gate used a ticket. Without a row here (a signed code this gate never saw) the
   * usage is kept apart, or the code would build a fresh, unused ticket and admit again.
   */
  private recordUsedElsewhere(ticketId: string, entriesUsed: number): void {
    const changed = this.db.prepare('UPDATE tickets SET entries_used = max(entries_used, ?) WHERE ticket_id = ?').run(entriesUsed, ticketId).changes;
    if (changed === 0) this.addRemoteUsageStmt.run(ticketId, entriesUsed);
  }

  /**
   * Count another gate's entries here (park-local mode, docs/park-local-broker.md), in ONE
   * transaction: an admission is usage of its ticket as if admitted here (entries_used + 1,
   * the day counter, last_entry_at for anti-passback), or of remote_usage for a verified
   * signed ticket without a row; a not-passed of all its persons gives the entry back, as
   * the cloud does. Idempotent on eventId: a peer sends its outbox again after every
   * reconnect and receipt timeout, and each event counts once.
   */
  applyPeerEntries(gate: string, events: readonly PeerEntryInput[]): PeerApplyResult {
    return this.peerTx.immediate(gate, events);
  }

  /** Forget peer events older than `beforeMs`: a peer's event that old is not applied any more (PeerEntries). */
  prunePeerEntries(beforeMs: number): number {
    return this.db.prepare('DELETE FROM peer_entries WHERE at < ?').run(beforeMs).changes;
  }

  private peerStatements(db: Database.Database) {
    const insert = db.prepare(
      `INSERT INTO peer_entries (event_id, gate, seq, kind, ticket_id, persons, ref_seq, at, day)
       VALUES (@eventId, @gate, @seq, @kind, @ticketId, @persons, @refSeq, @at, @day) ON CONFLICT(event_id) DO NOTHING`,
    );
    // After a peer's database reset its seqs repeat: the newest row of that (gate, seq) is the one meant.
    const admission = db.prepare<[string, number], { eventId: string; persons: number; day: string; counted: number; ticketId: string }>(
      `SELECT event_id AS eventId, persons, day, counted, ticket_id AS ticketId FROM peer_entries
       WHERE gate = ? AND seq = ? AND kind = 'admit' ORDER BY at DESC LIMIT 1`,
    );
    const correction = db.prepare<[string, number], { persons: number }>(
      `SELECT max(persons) AS persons FROM peer_entries WHERE gate = ? AND ref_seq = ? AND kind = 'not-passed'`,
    );
    const forget = db.prepare<[string]>('DELETE FROM peer_entries WHERE event_id = ?');
    const setCounted = db.prepare<[number, string]>('UPDATE peer_entries SET counted = ? WHERE event_id = ?');
    // recordAdmission() in SQL: one more entry; the day counter restarts on a later day and is
    // left alone for an earlier one (a late event); last_entry_at only moves forward.
    const useTicket = db.prepare(
      `UPDATE tickets SET entries_used = entries_used + 1,
         entries_day_count = CASE WHEN entries_day = @day THEN entries_day_count + 1
                                  WHEN entries_day IS NULL OR entries_day < @day THEN 1 ELSE entries_day_count END,
         entries_day = CASE WHEN entries_day IS NULL OR entries_day < @day THEN @day ELSE entries_day END,
         last_entry_at = max(coalesce(last_entry_at, 0), @at)
       WHERE ticket_id = @ticketId`,
    );
    const useRemote = db.prepare<[string]>(
      `INSERT INTO remote_usage (ticket_id, entries_used) VALUES (?, 1)
       ON CONFLICT(ticket_id) DO UPDATE SET entries_used = remote_usage.entries_used + 1`,
    );
    const hasRemote = db.prepare<[string], { x: number }>('SELECT 1 AS x FROM remote_usage WHERE ticket_id = ?');
    const giveBackRemote = db.prepare<[string]>('UPDATE remote_usage SET entries_used = max(entries_used - 1, 0) WHERE ticket_id = ?');

    const count = (e: PeerEntryInput): 'counted' | 'unknown' => {
      if (useTicket.run({ ticketId: e.ticketId, day: e.day, at: e.at }).changes === 1) return 'counted';
      if (!e.remoteOk) return 'unknown';
      useRemote.run(e.ticketId);
      return 'counted';
    };
    const giveBack = (ticketId: string, day: string): void => {
      if (this.giveBackStmt.run({ ticketId, day }).changes === 0 && hasRemote.get(ticketId)) giveBackRemote.run(ticketId);
    };

    return db.transaction((gate: string, events: readonly PeerEntryInput[]): PeerApplyResult => {
      const r: PeerApplyResult = { counted: 0, returned: 0, duplicates: 0, unknown: 0, held: 0 };
      // In seq order, so an admission is there before its correction (as the cloud does).
      for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
        const row = { eventId: e.eventId, gate, seq: e.seq, kind: e.kind, ticketId: e.ticketId, persons: e.persons, refSeq: e.refSeq ?? null, at: e.at, day: e.day };
        if (insert.run(row).changes === 0) {
          r.duplicates++;
          continue;
        }
        if (e.kind === 'admit') {
          // Its full correction came first (batches overtaking each other): it never counts.
          const back = correction.get(gate, e.seq)?.persons;
          if (back != null && back >= e.persons) {
            r.held++;
            continue;
          }
          if (count(e) === 'unknown') {
            // Not kept: should the ticket reach this gate later, a resend of the event counts then.
            forget.run(e.eventId);
            r.unknown++;
            continue;
          }
          setCounted.run(1, e.eventId);
          r.counted++;
          continue;
        }
        const a = e.refSeq === undefined ? undefined : admission.get(gate, e.refSeq);
        // Admission not here (yet): when it comes it sees this correction. Partly passed: the entry stays used.
        if (a?.counted !== 1 || e.persons < a.persons) {
          r.held++;
          continue;
        }
        giveBack(a.ticketId, a.day);
        setCounted.run(0, a.eventId);
        r.returned++;
      }
      return r;
    });
  }

  /** The oldest outbox rows after `afterSeq`, in seq order. */
  outboxBatch(afterSeq: number, limit: number): { seq: number; payload: string }[] {
    return this.db.prepare<[number, number], { seq: number; payload: string }>('SELECT seq, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit);
  }

  /** Delete outbox rows the broker acknowledged (PUBACK). */
  deleteOutbox(fromSeq: number, toSeq: number): number {
    return this.db.prepare('DELETE FROM outbox WHERE seq >= ? AND seq <= ?').run(fromSeq, toSeq).changes;
  }

  /**
   * Remember a command before running it. Returns false when its cmdId was seen before
   * (then it must not run again).
   */
  claimCommand(cmdId: string, action: string, at: string): boolean {
    return this.db.prepare('INSERT OR IGNORE INTO seen_commands (cmd_id, action, at) VALUES (?, ?, ?)').run(cmdId, action, at).changes === 1;
  }

  setCommandResult(cmdId: string, result: string): void {
    this.db.prepare('UPDATE seen_commands SET result = ? WHERE cmd_id = ?').run(result, cmdId);
  }

  lastSeq(): number {
    return (this.db.prepare('SELECT coalesce(max(seq), 0) AS s FROM entries').get() as { s: number }).s;
  }

  close(): void {
    if (this.wal) closeSync(this.wal.fd);
    this.wal = undefined;
    if (this.db.open) this.db.close();
  }
}
