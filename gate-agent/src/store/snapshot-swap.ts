import type Database from 'better-sqlite3';

/**
 * The write half of a snapshot import: everything that touches the gate's own tables,
 * cut into write transactions of a few milliseconds each, so that the daemon's
 * admissions (another connection, or the same one between slices during a resync) never
 * wait long for the write lock. The staging half is snapshot-import.ts.
 *
 * 1. `tickets_import` is created empty, and triggers on `tickets` start noting every
 *    ticket any writer changes from then on (`tickets_import_dirty`).
 * 2. The sorted snapshot is appended in key order, one slice per transaction, and so is
 *    `ticket_idcards_import` (the ID-card lookup table, schema v6), sorted by id_hash.
 *    Both grow at their right edge only; an index on tickets(id_hash) cost either one
 *    CREATE INDEX holding the lock for 0.1–0.5 s or a random page write per bound ticket.
 * 3. Carry-over, slice by slice over the old table: the rows this gate knows and the
 *    snapshot may not (local usage, signed tickets admitted offline) are merged in. The
 *    swap used to find the signed ones by reading all of the old table inside its
 *    transaction: 0.6 s of write lock for 1M tickets.
 * 4. The tickets the triggers noted since are merged again with their current state,
 *    until few are left; the swap transaction merges the rest, drops the triggers and
 *    renames the tables. Merging is idempotent, so noting a ticket twice costs nothing.
 * 5. The old tables are emptied in key-range slices and then dropped: one DROP TABLE of
 *    1M rows holds the lock for 40–60 ms even on an idle machine.
 *
 * Slices are sized by time (SLICE_MS), not rows, and each is followed by a pause, so an
 * admission waiting for the lock gets it before the next slice. Each slice commits with
 * the connection's own synchronous setting (FULL): its fsync is inside the slice's time,
 * and the admission that follows does not have to write the slice's pages with its own
 * (committing slices with NORMAL and syncing them afterwards measured no better). While
 * an import runs, the WAL is checkpointed by the import alone (WalKeeper).
 */

/** Target duration of one write transaction. */
export const SLICE_MS = 2;
/**
 * Pause after each write transaction, for a waiting admission to take the lock: longer
 * than WriteLock's retry interval (0.2 ms). A timer cannot be that short (setTimeout waits
 * ≥ 1 ms: over a 1M import, 2 s of pauses), so this thread sleeps, then lets the event
 * loop turn once (a resync shares it with the daemon's scans).
 */
const PAUSE_MS = 0.4;
/**
 * Checkpoint before the WAL would pass this many frames: below SQLite's autocheckpoint
 * (1000), so an admission's commit never finds the WAL over it and copies the import's
 * pages into the database before its relay moves.
 */
const CHECKPOINT_FRAMES = 400;

const COLUMNS = `ticket_id, type_id, status, visit_date, slot_start, slot_end, persons, entries_used,
  entries_day, entries_day_count, last_entry_at, id_hash, source`;
const DIRTY = 'tickets_import_dirty';
/**
 * Trigger bodies say WHERE NOT EXISTS, not OR IGNORE: the statement that fires a trigger
 * overrides its conflict clause, so the daemon's upsert of a ticket noted before would fail.
 */
const NOTE = (row: 'new' | 'old') =>
  `INSERT INTO ${DIRTY} (ticket_id) SELECT ${row}.ticket_id WHERE NOT EXISTS (SELECT 1 FROM ${DIRTY} WHERE ticket_id = ${row}.ticket_id);`;
const TRACKING = ['tickets_import_track_insert', 'tickets_import_track_update', 'tickets_import_track_delete'];
const IDCARDS_DDL = (table: string) =>
  `CREATE TABLE ${table} (id_hash TEXT NOT NULL, visit_date TEXT NOT NULL, ticket_id TEXT NOT NULL, PRIMARY KEY (id_hash, visit_date, ticket_id)) WITHOUT ROWID`;

/**
 * Schema v6's triggers on `tickets`, for `tickets_import`: they keep ticket_idcards_import
 * in step while signed tickets are carried over (the swap moves the real ones across).
 */
function idcardTriggers(tickets: string, idcards: string): string {
  const absent = `NOT EXISTS (SELECT 1 FROM ${idcards} WHERE id_hash = new.id_hash AND visit_date = new.visit_date AND ticket_id = new.ticket_id)`;
  return `CREATE TRIGGER ${tickets}_idcard_insert AFTER INSERT ON ${tickets} WHEN new.id_hash IS NOT NULL BEGIN
    INSERT INTO ${idcards} (id_hash, visit_date, ticket_id) SELECT new.id_hash, new.visit_date, new.ticket_id WHERE ${absent};
  END;
  CREATE TRIGGER ${tickets}_idcard_update AFTER UPDATE OF id_hash, visit_date, ticket_id ON ${tickets} BEGIN
    DELETE FROM ${idcards} WHERE id_hash = old.id_hash AND visit_date = old.visit_date AND ticket_id = old.ticket_id;
    INSERT INTO ${idcards} (id_hash, visit_date, ticket_id) SELECT new.id_hash, new.visit_date, new.ticket_id WHERE new.id_hash IS NOT NULL AND ${absent};
  END;
  CREATE TRIGGER ${tickets}_idcard_delete AFTER DELETE ON ${tickets} WHEN old.id_hash IS NOT NULL BEGIN
    DELETE FROM ${idcards} WHERE id_hash = old.id_hash AND visit_date = old.visit_date AND ticket_id = old.ticket_id;
  END;`;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

export interface ShadowLoad {
  /**
   * Name of the attached staging database: `sorted` holds the tickets (rowid = position in
   * ticket-id order), `idcards` the (id_hash, visit_date, ticket_id) of those with an
   * id_hash, in that order.
   */
  stage: string;
  tickets: number;
  idcards: number;
  generation: number;
  asOfSeq: string | null;
  /** Upper bound of rows per write transaction. */
  maxRows: number;
  /** The error for a duplicate ticket id found while loading. */
  duplicate: () => Error;
  /** Keeps the gate's WAL checkpointed while the import writes. */
  wal: WalKeeper;
}

/** Load, carry over and swap in the staged snapshot; then remove the old tables. Returns how many rows were carried over. */
export async function replaceTickets(db: Database.Database, s: ShadowLoad): Promise<number> {
  const w = new SliceWriter(db, s.wal);
  await dropLeftovers(db, w);
  db.exec(`DROP TABLE IF EXISTS temp.import_ids; DROP TABLE IF EXISTS temp.import_snap;
    CREATE TEMP TABLE import_ids (ticket_id TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TEMP TABLE import_snap (ticket_id TEXT PRIMARY KEY, used INTEGER) WITHOUT ROWID;`);
  try {
    w.once(() =>
      db.exec(`CREATE TABLE tickets_import (
        ticket_id TEXT PRIMARY KEY, type_id TEXT NOT NULL, status TEXT NOT NULL, visit_date TEXT NOT NULL,
        slot_start TEXT, slot_end TEXT, persons INTEGER NOT NULL, entries_used INTEGER NOT NULL DEFAULT 0,
        entries_day TEXT, entries_day_count INTEGER NOT NULL DEFAULT 0, last_entry_at INTEGER, id_hash TEXT,
        source TEXT NOT NULL DEFAULT 'whitelist') WITHOUT ROWID;
      CREATE INDEX tickets_used_g${s.generation} ON tickets_import(last_entry_at) WHERE last_entry_at IS NOT NULL;
      ${IDCARDS_DDL('ticket_idcards_import')};
      CREATE TABLE ${DIRTY} (ticket_id TEXT PRIMARY KEY) WITHOUT ROWID;
      CREATE TRIGGER ${TRACKING[0]} AFTER INSERT ON tickets BEGIN ${NOTE('new')} END;
      CREATE TRIGGER ${TRACKING[1]} AFTER UPDATE ON tickets BEGIN ${NOTE('new')} END;
      CREATE TRIGGER ${TRACKING[2]} AFTER DELETE ON tickets BEGIN ${NOTE('old')} END;`),
    );
    await load(db, w, s);
    // From here on, a signed ticket carried into tickets_import is carried into ticket_idcards_import too.
    w.once(() => db.exec(idcardTriggers('tickets_import', 'ticket_idcards_import')));
    const merge = new Merger(db);
    await carryOver(db, w, merge);
    await drainDirty(db, w, merge);
    const carried = swap(db, w, merge, s);
    await dropTable(db, w, 'tickets_old');
    await dropTable(db, w, 'ticket_idcards_old');
    return carried;
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    // Stop tracking first: the daemon would fill tickets_import_dirty for ever.
    if (tableExists(db, DIRTY)) w.once(() => db.exec(`${TRACKING.map((t) => `DROP TRIGGER IF EXISTS ${t};`).join(' ')} DROP TABLE ${DIRTY};`));
    await dropTable(db, w, 'tickets_import');
    await dropTable(db, w, 'ticket_idcards_import');
    throw err;
  } finally {
    db.exec('DROP TABLE IF EXISTS temp.import_ids; DROP TABLE IF EXISTS temp.import_snap;');
  }
}

/** Phase 2: the sorted snapshot rows and their ID-card rows, appended in key order. */
async function load(db: Database.Database, w: SliceWriter, s: ShadowLoad): Promise<void> {
  const tickets = db.prepare(
    `INSERT INTO tickets_import (${COLUMNS})
     SELECT ticket_id, type_id, status, visit_date, slot_start, slot_end, persons, entries_used, NULL, 0, NULL, id_hash, 'whitelist'
     FROM ${s.stage}.sorted WHERE rowid > ? AND rowid <= ?`,
  );
  try {
    await sliced(w, s.tickets, s.maxRows, (from, to) => tickets.run(from, to));
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw s.duplicate();
    throw err;
  }
  const idcards = db.prepare(`INSERT INTO ticket_idcards_import (id_hash, visit_date, ticket_id) SELECT id_hash, visit_date, ticket_id FROM ${s.stage}.idcards WHERE rowid > ? AND rowid <= ?`);
  await sliced(w, s.idcards, s.maxRows * 4, (from, to) => idcards.run(from, to));
}

/** rows (from, to] of 1…total, one write transaction each, sized by time. */
async function sliced(w: SliceWriter, total: number, maxRows: number, run: (from: number, to: number) => void): Promise<void> {
  const slice = new Slice(500, maxRows);
  for (let from = 0; from < total; ) {
    const to = Math.min(total, from + slice.rows);
    slice.took(
      w.slice(() => run(from, to)),
      to - from,
    );
    from = to;
    await w.pause();
  }
}

/**
 * Phase 3: the old table in key-range slices; the ids of rows with local usage or signed
 * are read (no lock: only the temp table is written), then merged in one write transaction.
 * A row that changes after its slice was read is noted by the triggers and merged again.
 */
async function carryOver(db: Database.Database, w: SliceWriter, merge: Merger): Promise<void> {
  const wanted = "(source = 'signed' OR last_entry_at IS NOT NULL)";
  const bound = db.prepare<[string, number], string>('SELECT ticket_id FROM tickets WHERE ticket_id > ? ORDER BY ticket_id LIMIT 1 OFFSET ?').pluck();
  const firstBound = db.prepare<[number], string>('SELECT ticket_id FROM tickets ORDER BY ticket_id LIMIT 1 OFFSET ?').pluck();
  const between = db.prepare(`INSERT OR IGNORE INTO temp.import_ids SELECT ticket_id FROM tickets WHERE ticket_id > ? AND ticket_id <= ? AND ${wanted}`);
  const upTo = db.prepare(`INSERT OR IGNORE INTO temp.import_ids SELECT ticket_id FROM tickets WHERE ticket_id <= ? AND ${wanted}`);
  const after = db.prepare(`INSERT OR IGNORE INTO temp.import_ids SELECT ticket_id FROM tickets WHERE ticket_id > ? AND ${wanted}`);
  const all = db.prepare(`INSERT OR IGNORE INTO temp.import_ids SELECT ticket_id FROM tickets WHERE ${wanted}`);
  // Reading is cheap next to merging: slices of the old table are sized for the read plus the merge.
  const slice = new Slice(5_000, 50_000);
  let lo: string | undefined;
  for (;;) {
    const n = slice.rows;
    const hi = lo === undefined ? firstBound.get(n - 1) : bound.get(lo, n - 1);
    const started = performance.now();
    if (hi === undefined) {
      if (lo === undefined) all.run();
      else after.run(lo);
    } else if (lo === undefined) upTo.run(hi);
    else between.run(lo, hi);
    const read = performance.now() - started;
    if (merge.hasPending()) {
      slice.took(read + w.slice(() => merge.pending()), n);
      await w.pause();
    } else {
      slice.took(read, n);
      // No lock to hand over, but a resync shares this thread with the daemon's scans.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (hi === undefined) return;
    lo = hi;
  }
}

/** Phase 4: merge what changed meanwhile, until little is left for the swap transaction. */
async function drainDirty(db: Database.Database, w: SliceWriter, merge: Merger): Promise<void> {
  const count = db.prepare<[], number>(`SELECT count(*) FROM ${DIRTY}`).pluck();
  const take = db.prepare(`INSERT OR IGNORE INTO temp.import_ids SELECT ticket_id FROM ${DIRTY} LIMIT ?`);
  const forget = db.prepare(`DELETE FROM ${DIRTY} WHERE ticket_id IN (SELECT ticket_id FROM temp.import_ids)`);
  const slice = new Slice(200, 5_000);
  // Bounded: should tickets change faster than they are merged, the swap takes the rest.
  for (let round = 0; round < 1_000 && count.get()! > 20; round++) {
    const n = slice.rows;
    slice.took(
      w.slice(() => {
        take.run(n);
        forget.run();
        merge.pending();
      }),
      n,
    );
    await w.pause();
  }
}

/** Phase 4b: one short transaction merges the last changes, stops tracking and swaps the tables. */
function swap(db: Database.Database, w: SliceWriter, merge: Merger, s: ShadowLoad): number {
  // Rows carried over: counted before the transaction (it reads every ticket merged so far),
  // then corrected for the few the swap merges again.
  const counting = (from: string) =>
    db.prepare<[], number>(
      `SELECT count(*) FROM ${from} d CROSS JOIN temp.import_snap s ON s.ticket_id = d.ticket_id CROSS JOIN tickets_import i ON i.ticket_id = d.ticket_id
       WHERE i.source = 'signed' OR i.last_entry_at IS NOT NULL`,
    ).pluck();
  const before = counting('temp.import_snap').get()!;
  return w.once(() => {
    const last = counting(DIRTY);
    const stale = last.get()!;
    db.prepare(`INSERT OR IGNORE INTO temp.import_ids SELECT ticket_id FROM ${DIRTY}`).run();
    merge.pending();
    const carried = before - stale + last.get()!;
    // The table's own triggers (schema v6's, keeping ticket_idcards) move to the new table as
    // they are; the import's own go. A trigger would follow its table's rename to tickets_old.
    const triggers = db
      .prepare<[], { name: string; tbl_name: string; sql: string }>("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('tickets', 'tickets_import')")
      .all();
    const kept = triggers.filter((t) => t.tbl_name === 'tickets' && !TRACKING.includes(t.name));
    db.exec(`${triggers.map((t) => `DROP TRIGGER "${t.name}";`).join(' ')} DROP TABLE ${DIRTY};
      ALTER TABLE tickets RENAME TO tickets_old; ALTER TABLE tickets_import RENAME TO tickets;
      ALTER TABLE ticket_idcards RENAME TO ticket_idcards_old; ALTER TABLE ticket_idcards_import RENAME TO ticket_idcards;
      ${kept.map((t) => `${t.sql};`).join('\n')}`);
    const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    put.run('tickets_generation', String(s.generation));
    put.run('whitelist_imported_at', new Date().toISOString());
    put.run('whitelist_count', String(s.tickets));
    if (s.asOfSeq !== null) put.run('whitelist_seq', s.asOfSeq);
    return carried;
  }, true);
}

/**
 * Merge the tickets listed in temp.import_ids from their current state in `tickets`
 * (the old table) into tickets_import, the same result as the swap used to compute in one
 * transaction: the snapshot row keeps its data and takes local usage (entries_used = the
 * larger, the day counter and last entry from the gate) when the gate's row has a last
 * entry; a signed ticket the snapshot does not have is copied as it is. The snapshot's own
 * entries_used is kept aside (temp.import_snap) on the first merge, so a later merge (say,
 * after a not-passed gave the entry back) starts from it again.
 */
class Merger {
  private readonly steps: Database.Statement[];
  private readonly any: Database.Statement<[], number>;

  constructor(db: Database.Database) {
    this.any = db.prepare<[], number>('SELECT EXISTS (SELECT 1 FROM temp.import_ids)').pluck();
    // Every statement reads temp.import_ids first: the planner must not scan a 1M-row table per merge.
    this.steps = [
      db.prepare("DELETE FROM tickets_import WHERE source = 'signed' AND ticket_id IN (SELECT ticket_id FROM temp.import_ids)"),
      db.prepare(
        `INSERT OR IGNORE INTO temp.import_snap (ticket_id, used)
         SELECT d.ticket_id, i.entries_used FROM temp.import_ids d LEFT JOIN tickets_import i ON i.ticket_id = d.ticket_id`,
      ),
      db.prepare(
        `UPDATE tickets_import AS i SET
           entries_used = CASE WHEN o.last_entry_at IS NULL THEN s.used ELSE max(s.used, o.entries_used) END,
           entries_day = CASE WHEN o.last_entry_at IS NULL THEN NULL ELSE o.entries_day END,
           entries_day_count = CASE WHEN o.last_entry_at IS NULL THEN 0 ELSE o.entries_day_count END,
           last_entry_at = o.last_entry_at
         FROM temp.import_ids d JOIN temp.import_snap s ON s.ticket_id = d.ticket_id LEFT JOIN tickets o ON o.ticket_id = d.ticket_id
         WHERE i.ticket_id = d.ticket_id`,
      ),
      db.prepare(
        `INSERT OR IGNORE INTO tickets_import (${COLUMNS})
         SELECT ${COLUMNS.split(',').map((c) => `o.${c.trim()}`).join(', ')}
         FROM tickets o WHERE o.ticket_id IN (SELECT ticket_id FROM temp.import_ids) AND o.source = 'signed'`,
      ),
      db.prepare('DELETE FROM temp.import_ids'),
    ];
  }

  hasPending(): boolean {
    return this.any.get() === 1;
  }

  /** Inside a write transaction. */
  pending(): void {
    for (const s of this.steps) s.run();
  }
}

/** Leftovers of an import that was killed: removed the same way, slice by slice. */
async function dropLeftovers(db: Database.Database, w: SliceWriter): Promise<void> {
  const tracking = db.prepare<[], string>(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN (${TRACKING.map((t) => `'${t}'`).join(', ')})`).pluck().all();
  if (tracking.length > 0 || tableExists(db, DIRTY)) {
    w.once(() => db.exec(`${tracking.map((t) => `DROP TRIGGER ${t};`).join(' ')} DROP TABLE IF EXISTS ${DIRTY};`));
  }
  for (const table of ['tickets_import', 'ticket_idcards_import', 'tickets_old', 'ticket_idcards_old'] as const) await dropTable(db, w, table);
}

/** First key column: slices of a table are ranges of it. */
const KEY = { tickets_import: 'ticket_id', tickets_old: 'ticket_id', ticket_idcards_import: 'id_hash', ticket_idcards_old: 'id_hash' } as const;

/**
 * DROP TABLE frees every page of the table in one transaction. Instead: its triggers and
 * indexes first (the indexes are small: last_entry_at only, or a legacy id_hash index
 * once after the upgrade to schema v6), then its rows in key-range slices (a range of
 * whole leaf pages is freed without being written), then the empty table.
 */
async function dropTable(db: Database.Database, w: SliceWriter, table: keyof typeof KEY): Promise<void> {
  if (!tableExists(db, table)) return;
  const key = KEY[table];
  const attached = db.prepare<[string], { type: string; name: string }>("SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'index') AND tbl_name = ? AND sql IS NOT NULL ORDER BY type DESC").all(table);
  for (const { type, name } of attached) {
    w.slice(() => db.exec(`DROP ${type === 'index' ? 'INDEX' : 'TRIGGER'} "${name.replaceAll('"', '""')}"`));
    await w.pause();
  }
  const chunk = db.prepare(`DELETE FROM ${table} WHERE ${key} <= (SELECT ${key} FROM ${table} ORDER BY ${key} LIMIT 1 OFFSET ?)`);
  const rest = db.prepare(`DELETE FROM ${table}`);
  const slice = new Slice(1_000, 20_000);
  for (;;) {
    const n = slice.rows;
    let deleted = 0;
    slice.took(w.slice(() => (deleted = chunk.run(n - 1).changes)), n);
    await w.pause();
    if (deleted < n) break;
  }
  w.slice(() => {
    rest.run();
    db.exec(`DROP TABLE ${table}`);
  });
}

function tableExists(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** Rows per transaction, adjusted after each one towards SLICE_MS; at most halved or doubled per step, so one slow commit does not swing it. */
class Slice {
  constructor(
    public rows: number,
    private readonly max: number,
  ) {
    this.rows = Math.min(rows, max);
  }

  took(ms: number, rows: number): void {
    if (rows < this.rows) return;
    const ideal = (this.rows * SLICE_MS) / Math.max(ms, 0.01);
    this.rows = Math.round(Math.max(16, Math.min(this.max, this.rows * 2, Math.max(this.rows / 2, ideal))));
  }
}

/**
 * Write transactions of the import. The connection may be the daemon's own (a resync),
 * so every setting changed here is changed back before an admission can run.
 *
 * The checkpoint that is due runs right before the import's next write transaction, never
 * after one: after a complete checkpoint, the next writer starts the WAL over and, with
 * synchronous=FULL, syncs its new header, a second fsync in that commit. Checkpointing after
 * a slice and then pausing for the daemon made that writer an admission, one in every few.
 */
class SliceWriter {
  private framesPerSlice = 100;
  private slicesSinceCheckpoint = 0;
  private checkpointed = false;

  constructor(
    private readonly db: Database.Database,
    private readonly wal: WalKeeper,
  ) {}

  /** One write transaction of intermediate work; returns how long it took (ms). */
  slice(fn: () => void): number {
    this.checkpointIfDue();
    const started = performance.now();
    this.db.transaction(fn).immediate();
    const ms = performance.now() - started;
    this.slicesSinceCheckpoint++;
    return ms;
  }

  /** One write transaction whose result the caller needs (the swap, setting up). */
  once<T>(fn: () => T, checkpointFirst = false): T {
    this.checkpointIfDue(checkpointFirst);
    const r = this.db.transaction(fn).immediate();
    this.slicesSinceCheckpoint++;
    return r;
  }

  pause(): Promise<void> {
    Atomics.wait(sleeper, 0, 0, PAUSE_MS);
    return new Promise<void>((resolve) => setImmediate(resolve));
  }

  /**
   * A PASSIVE checkpoint (takes no write lock) every few slices, often enough that the WAL
   * stays under SQLite's autocheckpoint: otherwise the next admission's commit crosses it
   * and copies the import's pages into the database before its relay moves.
   */
  private checkpointIfDue(now = false): void {
    if (!this.wal.active) return;
    // The first write starts from a checkpoint too: the WAL may hold the daemon's admissions since the import began.
    if (!now && this.checkpointed && (this.slicesSinceCheckpoint + 1) * this.framesPerSlice < CHECKPOINT_FRAMES) return;
    this.checkpointed = true;
    const log = this.wal.checkpoint();
    // `log` counts the frames since the WAL last restarted, i.e. (nearly) since the previous checkpoint.
    if (log > 0 && this.slicesSinceCheckpoint > 0) this.framesPerSlice = Math.max(1, log / this.slicesSinceCheckpoint);
    this.slicesSinceCheckpoint = 0;
  }
}

/**
 * While an import writes, its connection checkpoints the gate's database itself (PASSIVE:
 * no lock, only I/O) right before its own write transactions (SliceWriter), and never from
 * a commit (wal_autocheckpoint = 0 on this connection from its first checkpoint on); it
 * keeps the WAL below the daemon's autocheckpoint, so no admission's commit copies the
 * import's pages. No checkpoint runs on a timer: one between two admissions (while the
 * import reads or sorts the file) made the next admission restart the WAL, an extra fsync
 * in about one admission of ten. While the import only reads, the WAL is left as in quiet
 * operation (a resync's connection keeps its autocheckpoint until then).
 * A resync runs on the daemon's connection: `stop()` gives it its setting back.
 */
export class WalKeeper {
  readonly active: boolean;
  private readonly autocheckpoint: number;
  private writing = false;

  constructor(private readonly db: Database.Database) {
    this.active = !db.memory && db.pragma('journal_mode', { simple: true }) === 'wal';
    this.autocheckpoint = db.pragma('wal_autocheckpoint', { simple: true }) as number;
  }

  /** Frames in the WAL when the checkpoint ran. */
  checkpoint(): number {
    if (!this.active) return 0;
    if (!this.writing) {
      this.writing = true;
      this.db.pragma('wal_autocheckpoint = 0');
    }
    const [r] = this.db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
    return r?.log ?? 0;
  }

  stop(): void {
    if (this.writing) this.db.pragma(`wal_autocheckpoint = ${this.autocheckpoint}`);
  }
}
