import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type RawBuilder, type Selectable, type SqlBool, type Transaction } from 'kysely';
import type { EntryEvent, SnapshotTicket, WhitelistDelta } from '@stile/config';
import { connectDb, type DbOptions, type Dialect } from './connect.js';
import { migrateToLatest } from './migrations.js';
import type { Database, TicketsTable } from './schema.js';

export type Db = Kysely<Database> | Transaction<Database>;

export interface ConflictRow {
  id: string;
  site: string;
  ticketId: string;
  firstGate: string | null;
  firstSeq: string | null;
  secondGate: string;
  secondSeq: string;
  detectedAt: string;
  resolved: boolean;
}

export interface GateStateRow {
  site: string;
  gate: string;
  highSeq: string;
  epoch: number;
  state: string | null;
  online: boolean;
  lastStatus: unknown;
}

export interface StoredTicket extends SnapshotTicket {
  maxEntries: number;
}

/** One event of a commit group, with where it came from and the anomaly it is stored as (if any). */
export interface EntryRow {
  site: string;
  gate: string;
  e: EntryEvent;
  anomaly: string | null;
}

export type ChangesResult = { ok: true; deltas: WhitelistDelta[] } | { ok: false; reason: 'gone' | 'unknown_site' };

const num = (v: number | string | bigint | null | undefined): number => (v == null ? 0 : Number(v));

/**
 * The cloud's database: schema, and the queries the ingest, the whitelist publisher and
 * the HTTP endpoints share. Methods taking `db` run inside the caller's transaction.
 */
export class CloudStore {
  private constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    /** Deltas kept per site for changes?since; older ones are pruned. */
    readonly retainDeltas: number,
  ) {}

  static async open(opts: DbOptions & { retainDeltas?: number }): Promise<CloudStore> {
    const { db, dialect } = connectDb(opts);
    try {
      await migrateToLatest(db, dialect);
    } catch (err) {
      await db.destroy();
      throw err;
    }
    return new CloudStore(db, dialect, opts.retainDeltas ?? 10_000);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  // ---- sites and gates ----------------------------------------------------------------

  async ensureSite(id: string, controlKeyId: string): Promise<void> {
    await this.db
      .insertInto('sites')
      .values({ id, control_key_id: controlKeyId })
      .onConflict((oc) => oc.column('id').doUpdateSet({ control_key_id: controlKeyId }))
      .execute();
    await this.db.insertInto('delta_published').values({ site: id, seq: 0 }).onConflict((oc) => oc.column('site').doNothing()).execute();
  }

  // ---- delta publication (in seq order, across instances) ------------------------------

  /**
   * Run `fn` as the site's only delta publisher. PostgreSQL: a transaction-scoped advisory
   * lock, so instances sharing the database take turns (false: another one is at it, and
   * will see what we committed on its next pass). SQLite: one instance per database, and
   * the caller serialises per site; no transaction, so publishing never holds the write lock.
   */
  async asDeltaPublisher(site: string, fn: (db: Db) => Promise<void>): Promise<boolean> {
    if (this.dialect !== 'postgres') {
      await fn(this.db);
      return true;
    }
    return this.db.transaction().execute(async (trx) => {
      const r = await sql<{ locked: boolean }>`SELECT pg_try_advisory_xact_lock(hashtext(${`stile-deltas:${site}`})) AS locked`.execute(trx);
      if (!r.rows[0]?.locked) return false;
      await fn(trx);
      return true;
    });
  }

  /** Seq up to which the site's deltas are published, and the site's newest seq. */
  async deltaProgress(db: Db, site: string): Promise<{ published: number; head: number }> {
    // One statement, not two: every publishing pass asks it (in the fleet, once per admission message).
    const r = await sql<{ published: string | number | null; head: string | number | null }>`
      SELECT (SELECT seq FROM delta_published WHERE site = ${site}) AS published, (SELECT delta_seq FROM sites WHERE id = ${site}) AS head`.execute(db);
    return { published: num(r.rows[0]?.published), head: num(r.rows[0]?.head) };
  }

  /** Sites whose newest delta is not published yet. */
  async sitesBehind(db: Db): Promise<string[]> {
    const rows = await db.selectFrom('delta_published as p').innerJoin('sites as s', 's.id', 'p.site').select('p.site').whereRef('s.delta_seq', '>', 'p.seq').execute();
    return rows.map((r) => r.site);
  }

  /** Stored deltas after `seq`, oldest first. */
  async deltasAfter(db: Db, site: string, seq: number, limit: number): Promise<WhitelistDelta[]> {
    const rows = await db.selectFrom('deltas').select('payload').where('site', '=', site).where('seq', '>', seq).orderBy('seq').limit(limit).execute();
    return rows.map((r) => JSON.parse(r.payload) as WhitelistDelta);
  }

  async markDeltasPublished(db: Db, site: string, seq: number): Promise<void> {
    await db.updateTable('delta_published').set({ seq }).where('site', '=', site).where('seq', '<', seq).execute();
  }

  async siteExists(id: string): Promise<boolean> {
    return (await this.db.selectFrom('sites').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
  }

  async headSeq(site: string, db: Db = this.db): Promise<number | null> {
    const row = await db.selectFrom('sites').select('delta_seq').where('id', '=', site).executeTakeFirst();
    return row ? num(row.delta_seq) : null;
  }

  async registerGate(site: string, gate: string, db: Db = this.db): Promise<void> {
    await db
      .insertInto('gate_state')
      .values({ site, gate, registered_at: new Date().toISOString() })
      .onConflict((oc) => oc.columns(['site', 'gate']).doNothing())
      .execute();
  }

  async gateKnown(site: string, gate: string, db: Db = this.db): Promise<boolean> {
    const row = await db.selectFrom('gate_state').select('gate').where('site', '=', site).where('gate', '=', gate).executeTakeFirst();
    return row !== undefined;
  }

  async gateState(site: string, gate: string): Promise<GateStateRow | undefined> {
    const r = await this.db.selectFrom('gate_state').selectAll().where('site', '=', site).where('gate', '=', gate).executeTakeFirst();
    if (!r) return undefined;
    return {
      site: r.site,
      gate: r.gate,
      highSeq: r.high_seq,
      epoch: num(r.epoch),
      state: r.state,
      online: num(r.online) === 1,
      lastStatus: r.last_status ? (JSON.parse(r.last_status) as unknown) : null,
    };
  }

  /** Raise the gate's high-water mark to `seq` if higher; returns the previous mark (PostgreSQL: `seq` itself when not raised). */
  async raiseHighSeq(db: Db, site: string, gate: string, seq: bigint): Promise<bigint> {
    if (this.dialect === 'postgres') {
      // Locked, compared and raised in one statement: two instances storing batches of one
      // gate at once (the shared subscription spreads them) cannot lower the mark.
      const r = await sql<{ prev: string }>`
        WITH cur AS (SELECT high_seq FROM gate_state WHERE site = ${site} AND gate = ${gate} FOR UPDATE)
        UPDATE gate_state g SET high_seq = ${seq.toString()} FROM cur
        WHERE g.site = ${site} AND g.gate = ${gate} AND cur.high_seq::numeric < ${seq.toString()}::numeric
        RETURNING cur.high_seq AS prev`.execute(db);
      return r.rows[0] ? BigInt(r.rows[0].prev) : seq;
    }
    const row = await db.selectFrom('gate_state').select('high_seq').where('site', '=', site).where('gate', '=', gate).executeTakeFirst();
    const prev = BigInt(row?.high_seq ?? '0');
    if (seq > prev) await db.updateTable('gate_state').set({ high_seq: seq.toString() }).where('site', '=', site).where('gate', '=', gate).execute();
    return prev;
  }

  /**
   * raiseHighSeq() for a commit group, once per gate: each gate's mark raised to its `seq` if
   * higher. Returns each gate's mark before (by `${site}\0${gate}`); gates without a row are absent.
   */
  async raiseHighSeqs(db: Db, marks: readonly { site: string; gate: string; seq: bigint }[]): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>();
    if (marks.length === 0) return out;
    if (this.dialect === 'postgres') {
      // Rows locked in (site, gate) order, compared and raised in one statement: two instances
      // storing batches of one gate at once cannot lower the mark, nor deadlock on the rows.
      const r = await sql<{ site: string; gate: string; high_seq: string }>`WITH ${this.highSeqCtes(marks)} SELECT site, gate, high_seq FROM cur`.execute(db);
      for (const row of r.rows) out.set(`${row.site}\u0000${row.gate}`, BigInt(row.high_seq));
      return out;
    }
    for (const m of marks) {
      const row = await db.selectFrom('gate_state').select('high_seq').where('site', '=', m.site).where('gate', '=', m.gate).executeTakeFirst();
      if (!row) continue;
      const prev = BigInt(row.high_seq);
      out.set(`${m.site}\u0000${m.gate}`, prev);
      if (m.seq > prev) await db.updateTable('gate_state').set({ high_seq: m.seq.toString() }).where('site', '=', m.site).where('gate', '=', m.gate).execute();
    }
    return out;
  }

  /**
   * Record a status message unless it is older than the session we know (rule 4: a late
   * "offline" LWT from a previous epoch must not mark a reconnected gate offline), or claims
   * an epoch more than `maxEpochJump` above it (`epoch_jump`: one retained status with a
   * huge epoch would otherwise make every later real status look stale). The known epoch of
   * a gate never seen is 0. A refused status changes nothing, not even the gate's row. The
   * ingest passes MAX_EPOCH_JUMP; without it only the stale rule applies.
   */
  async recordStatus(
    site: string,
    gate: string,
    status: { state: string; epoch: number; at: string },
    raw: string,
    maxEpochJump = Number.POSITIVE_INFINITY,
  ): Promise<'applied' | 'stale' | 'epoch_jump'> {
    return this.db.transaction().execute(async (trx) => {
      const cur = await trx.selectFrom('gate_state').select('epoch').where('site', '=', site).where('gate', '=', gate).executeTakeFirst();
      const known = num(cur?.epoch);
      if (status.epoch < known) return 'stale';
      if (status.epoch - known > maxEpochJump) return 'epoch_jump';
      await this.registerGate(site, gate, trx);
      // The epoch guard repeats the stale check in the write: a concurrent higher status wins.
      const r = await trx
        .updateTable('gate_state')
        .set({ epoch: status.epoch, state: status.state, last_status: raw, status_at: status.at, online: status.state === 'offline' ? 0 : 1 })
        .where('site', '=', site)
        .where('gate', '=', gate)
        .where('epoch', '<=', status.epoch)
        .executeTakeFirst();
      return r.numUpdatedRows > 0n ? 'applied' : 'stale';
    });
  }

  /**
   * `column IN (values)` with the list as one parameter (a PostgreSQL array, a JSON array
   * for SQLite): one statement text for any list length, so it is parsed and planned once
   * (PostgreSQL) and prepared once (SQLite), instead of one placeholder per value.
   */
  private oneOf(column: string, values: readonly (string | number)[], type: 'text' | 'bigint'): RawBuilder<SqlBool> {
    if (this.dialect === 'postgres') return sql<SqlBool>`${sql.ref(column)} = ANY(${values}::${sql.raw(type)}[])`;
    return sql<SqlBool>`${sql.ref(column)} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`;
  }

  // ---- entries -------------------------------------------------------------------------

  /** Insert one event unless its eventId or (site, gate, seq) is already stored; true if inserted. */
  async insertEntry(db: Db, site: string, gate: string, e: EntryEvent, receivedAt: string, anomaly: string | null = null): Promise<boolean> {
    const rows = await db
      .insertInto('entries')
      .values({
        event_id: e.eventId,
        site,
        gate,
        seq: e.seq,
        epoch: e.epoch,
        kind: e.kind,
        ref_seq: e.refSeq ?? null,
        ticket_id: e.ticketId,
        type_id: e.typeId,
        credential: e.credential,
        persons: e.persons,
        at: e.at,
        received_at: receivedAt,
        anomaly,
      })
      .onConflict((oc) => oc.doNothing())
      .returning('event_id')
      .execute();
    return rows.length > 0;
  }

  /**
   * Insert the events of a whole commit group (any sites and gates, in the given order) in
   * ONE statement, each row skipped when its eventId or (site, gate, seq) is already stored
   * or came earlier in `rows`. Returns the inserted eventIds, each with the persons of a
   * stored not-passed correction of that admission (null: none), looked up in the same
   * statement. For admissions only: a not-passed row among `rows` is not seen by the lookup.
   */
  async insertEntries(db: Db, rows: readonly EntryRow[], receivedAt: string): Promise<Map<string, number | null>> {
    const inserted = new Map<string, number | null>();
    if (rows.length === 0) return inserted;
    if (this.dialect === 'postgres') {
      // One array parameter per column: PostgreSQL parses and plans 13 parameters, not 13 per row.
      const n = rows.length;
      const eventId = new Array<string>(n);
      const site = new Array<string>(n);
      const gate = new Array<string>(n);
      const seq = new Array<string>(n);
      const epoch = new Array<number>(n);
      const kind = new Array<string>(n);
      const refSeq = new Array<string | null>(n);
      const ticketId = new Array<string>(n);
      const typeId = new Array<string>(n);
      const credential = new Array<string>(n);
      const persons = new Array<number>(n);
      const at = new Array<string>(n);
      const anomaly = new Array<string | null>(n);
      for (let i = 0; i < n; i++) {
        const r = rows[i]!;
        const e = r.e;
        eventId[i] = e.eventId;
        site[i] = r.site;
        gate[i] = r.gate;
        seq[i] = e.seq;
        epoch[i] = e.epoch;
        kind[i] = e.kind;
        refSeq[i] = e.refSeq ?? null;
        ticketId[i] = e.ticketId;
        typeId[i] = e.typeId;
        credential[i] = e.credential;
        persons[i] = e.persons;
        at[i] = e.at;
        anomaly[i] = r.anomaly;
      }
      // The correction's lookup is a subquery in RETURNING: one index probe per inserted row
      // (entries_ref_ix), no second round trip. It sees the table as before this statement.
      const r = await sql<{ event_id: string; back: number | null }>`
        INSERT INTO entries AS t (event_id, site, gate, seq, epoch, kind, ref_seq, ticket_id, type_id, credential, persons, at, received_at, anomaly)
        SELECT u.event_id, u.site, u.gate, u.seq, u.epoch, u.kind, u.ref_seq, u.ticket_id, u.type_id, u.credential, u.persons, u.at, ${receivedAt}, u.anomaly
        FROM unnest(${eventId}::text[], ${site}::text[], ${gate}::text[], ${seq}::bigint[], ${epoch}::bigint[], ${kind}::text[],
                    ${refSeq}::bigint[], ${ticketId}::text[], ${typeId}::text[], ${credential}::text[], ${persons}::integer[], ${at}::text[],
                    ${anomaly}::text[])
          WITH ORDINALITY AS u(event_id, site, gate, seq, epoch, kind, ref_seq, ticket_id, type_id, credential, persons, at, anomaly, n)
        ORDER BY u.n
        ON CONFLICT DO NOTHING
        RETURNING t.event_id, (SELECT np.persons FROM entries np
                               WHERE np.site = t.site AND np.gate = t.gate AND np.ref_seq = t.seq AND np.kind = 'not-passed' LIMIT 1) AS back`.execute(db);
      for (const row of r.rows) inserted.set(row.event_id, row.back === null ? null : num(row.back));
      return inserted;
    }
    // One JSON parameter, expanded by json_each: one short statement (prepared once) instead
    // of 14 bound parameters a row for Kysely to build and SQLite to parse. Row order = the
    // given order, so a repeat keeps its first occurrence.
    const json = JSON.stringify(
      rows.map(({ site, gate, e, anomaly }) => [e.eventId, site, gate, e.seq, e.epoch, e.kind, e.refSeq ?? null, e.ticketId, e.typeId, e.credential, e.persons, e.at, anomaly]),
    );
    const r = await sql<{ event_id: string; back: number | null }>`
      INSERT INTO entries (event_id, site, gate, seq, epoch, kind, ref_seq, ticket_id, type_id, credential, persons, at, received_at, anomaly)
      SELECT j.value->>0, j.value->>1, j.value->>2, j.value->>3, j.value->>4, j.value->>5, j.value->>6, j.value->>7, j.value->>8, j.value->>9, j.value->>10, j.value->>11, ${receivedAt}, j.value->>12
      FROM json_each(${json}) AS j
      WHERE true
      ORDER BY j.key
      ON CONFLICT DO NOTHING
      RETURNING event_id, (SELECT np.persons FROM entries np
                           WHERE np.site = entries.site AND np.gate = entries.gate AND np.ref_seq = entries.seq AND np.kind = 'not-passed' LIMIT 1) AS back`.execute(db);
    for (const row of r.rows) inserted.set(row.event_id, row.back === null ? null : num(row.back));
    return inserted;
  }

  /** Mark stored entries as anomalies (they then count for nothing). */
  async flagEntries(db: Db, site: string, eventIds: string[], anomaly: string): Promise<void> {
    if (eventIds.length === 0) return;
    await db.updateTable('entries').set({ anomaly }).where('site', '=', site).where(this.oneOf('event_id', eventIds, 'text')).execute();
  }

  /** Admissions stored as anomalies, newest first (the dashboard, the threat-model tests). */
  async anomalies(site: string, limit = 100): Promise<{ gate: string; seq: string; ticketId: string; credential: string; anomaly: string; at: string }[]> {
    const rows = await this.db
      .selectFrom('entries')
      .select(['gate', sql<string>`CAST(seq AS TEXT)`.as('seq'), 'ticket_id', 'credential', 'anomaly', 'at'])
      .where('site', '=', site)
      .where('anomaly', 'is not', null)
      .orderBy('received_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ gate: r.gate, seq: r.seq, ticketId: r.ticket_id, credential: r.credential, anomaly: r.anomaly!, at: r.at }));
  }

  /** Persons of the not-passed event that corrects admission (gate, seq), if stored. */
  async notPassedFor(db: Db, site: string, gate: string, seq: string): Promise<number | null> {
    const r = await db
      .selectFrom('entries')
      .select('persons')
      .where('site', '=', site)
      .where('gate', '=', gate)
      .where('kind', '=', 'not-passed')
      .where('ref_seq', '=', seq)
      .executeTakeFirst();
    return r ? num(r.persons) : null;
  }

  async admissionPersons(db: Db, site: string, gate: string, seq: string): Promise<number | null> {
    const r = await db
      .selectFrom('entries')
      .select('persons')
      .where('site', '=', site)
      .where('gate', '=', gate)
      .where('seq', '=', seq)
      .where('kind', '=', 'admit')
      .executeTakeFirst();
    return r ? num(r.persons) : null;
  }

  /** The earliest other admission of a ticket that was not given back. */
  async earlierAdmission(
    db: Db,
    site: string,
    ticketId: string,
    notGate: string,
    notSeq: string,
    /** Rows to treat as not there yet (stored by the current batch, but later in its seq order). */
    skip?: (gate: string, seq: string) => boolean,
  ): Promise<{ gate: string; seq: string } | null> {
    const rows = await db
      .selectFrom('entries')
      .select(['gate', sql<string>`CAST(seq AS TEXT)`.as('seq'), 'persons'])
      .where('site', '=', site)
      .where('ticket_id', '=', ticketId)
      .where('kind', '=', 'admit')
      .orderBy('received_at')
      .orderBy('at')
      .execute();
    for (const r of rows) {
      if (r.gate === notGate && r.seq === notSeq) continue;
      if (skip?.(r.gate, r.seq)) continue;
      const back = await this.notPassedFor(db, site, r.gate, r.seq);
      if (back !== null && back >= num(r.persons)) continue;
      return { gate: r.gate, seq: r.seq };
    }
    return null;
  }

  async countEntries(site: string): Promise<number> {
    const r = await this.db.selectFrom('entries').select((eb) => eb.fn.countAll().as('n')).where('site', '=', site).executeTakeFirstOrThrow();
    return num(r.n as number | string);
  }

  // ---- tickets -------------------------------------------------------------------------

  async getTicket(site: string, ticketId: string, db: Db = this.db): Promise<StoredTicket | undefined> {
    const r = await db.selectFrom('tickets').selectAll().where('site', '=', site).where('ticket_id', '=', ticketId).executeTakeFirst();
    return r ? toTicket(r) : undefined;
  }

  /**
   * Add admissions to many tickets of one site in one statement, and mark them changed by
   * delta `seq`. Returns each ticket's count afterwards and its limit; tickets the cloud
   * does not know are absent. An increment, not a read-then-write: cloud-bridge instances
   * sharing PostgreSQL cannot lose each other's counts.
   */
  async addTicketUsage(db: Db, site: string, added: [ticketId: string, admissions: number][], seq: number): Promise<Map<string, { entriesUsed: number; maxEntries: number }>> {
    const out = new Map<string, { entriesUsed: number; maxEntries: number }>();
    // One statement per distinct increment (almost always just 1), its tickets named by a
    // list: the planner then looks each one up by primary key. A join against the list
    // (UPDATE … FROM json_each) let SQLite without statistics scan the whole table per batch.
    const byIncrement = new Map<number, string[]>();
    for (const [id, n] of added) {
      const ids = byIncrement.get(n);
      if (ids) ids.push(id);
      else byIncrement.set(n, [id]);
    }
    for (const [n, ids] of byIncrement) {
      for (let i = 0; i < ids.length; i += 1000) {
        const part = ids.slice(i, i + 1000);
        const r =
          this.dialect === 'postgres'
            ? await sql<{ ticket_id: string; entries_used: number; max_entries: number }>`
                UPDATE tickets SET entries_used = entries_used + ${n}::integer, updated_seq = ${seq}::bigint
                WHERE site = ${site} AND ticket_id = ANY(${part}::text[])
                RETURNING ticket_id, entries_used, max_entries`.execute(db)
            : await sql<{ ticket_id: string; entries_used: number; max_entries: number }>`
                UPDATE tickets SET entries_used = entries_used + ${n}, updated_seq = ${seq}
                WHERE site = ${site} AND ticket_id IN (SELECT value FROM json_each(${JSON.stringify(part)}))
                RETURNING ticket_id, entries_used, max_entries`.execute(db);
        for (const row of r.rows) out.set(row.ticket_id, { entriesUsed: num(row.entries_used), maxEntries: num(row.max_entries) });
      }
    }
    return out;
  }

  /**
   * addTicketUsage() for a commit group: many sites, each ticket with its own increment and
   * the delta seq that names the change. Returns the counts afterwards by `${site}\0${ticketId}`;
   * tickets the cloud does not know are absent. The caller holds the sites' rows (allocateSeqs),
   * so two transactions never wait on each other's tickets in opposite orders.
   */
  async addTicketUsageMany(db: Db, rows: readonly { site: string; ticketId: string; n: number; seq: number }[]): Promise<Map<string, { entriesUsed: number; maxEntries: number }>> {
    const out = new Map<string, { entriesUsed: number; maxEntries: number }>();
    if (rows.length === 0) return out;
    if (this.dialect === 'postgres') {
      // Joined with the list on the primary key: one statement for the group. The list is a
      // JSON recordset, not unnest(arrays): the planner estimates it at 100 rows and probes
      // the primary key per row. With unnest it knows the real length (a group: 1,000+),
      // and hashed the whole table instead: 3.5× slower on 100,000 tickets.
      const list = JSON.stringify(rows.map((x) => ({ site: x.site, ticket_id: x.ticketId, n: x.n, seq: x.seq })));
      const r = await sql<{ site: string; ticket_id: string; entries_used: number; max_entries: number }>`
        UPDATE tickets t SET entries_used = t.entries_used + v.n, updated_seq = v.seq
        FROM json_to_recordset(${list}::json) AS v(site text, ticket_id text, n integer, seq bigint)
        WHERE t.site = v.site AND t.ticket_id = v.ticket_id
        RETURNING t.site, t.ticket_id, t.entries_used, t.max_entries`.execute(db);
      for (const row of r.rows) out.set(`${row.site}\u0000${row.ticket_id}`, { entriesUsed: num(row.entries_used), maxEntries: num(row.max_entries) });
      return out;
    }
    // SQLite: one statement per (site, increment, seq), its tickets named by a list (a join
    // against the list let SQLite without statistics scan the whole table).
    const parts = new Map<string, { site: string; n: number; seq: number; ids: string[] }>();
    for (const x of rows) {
      const k = `${x.site}\u0000${x.n}\u0000${x.seq}`;
      const p = parts.get(k);
      if (p) p.ids.push(x.ticketId);
      else parts.set(k, { site: x.site, n: x.n, seq: x.seq, ids: [x.ticketId] });
    }
    for (const { site, n, seq, ids } of parts.values()) {
      const r = await sql<{ ticket_id: string; entries_used: number; max_entries: number }>`
        UPDATE tickets SET entries_used = entries_used + ${n}, updated_seq = ${seq}
        WHERE site = ${site} AND ticket_id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))
        RETURNING ticket_id, entries_used, max_entries`.execute(db);
      for (const row of r.rows) out.set(`${site}\u0000${row.ticket_id}`, { entriesUsed: num(row.entries_used), maxEntries: num(row.max_entries) });
    }
    return out;
  }

  /** upsertTicket() (default max entries) for many tickets in multi-row statements. */
  async upsertTickets(db: Db, site: string, tickets: SnapshotTicket[], seq: number | null): Promise<void> {
    if (this.dialect === 'postgres') {
      const col = <T>(f: (t: SnapshotTicket) => T): T[] => tickets.map(f);
      await sql`
        INSERT INTO tickets (site, ticket_id, type_id, status, visit_date, slot_start, slot_end, persons, entries_used, id_hash, updated_seq)
        SELECT ${site}, u.ticket_id, u.type_id, u.status, u.visit_date, u.slot_start, u.slot_end, u.persons, u.entries_used, u.id_hash, ${seq}::bigint
        FROM unnest(${col((t) => t.ticketId)}::text[], ${col((t) => t.typeId)}::text[], ${col((t) => t.status)}::text[], ${col((t) => t.visitDate)}::text[],
                    ${col((t) => t.slotStart ?? null)}::text[], ${col((t) => t.slotEnd ?? null)}::text[], ${col((t) => t.persons)}::integer[],
                    ${col((t) => t.entriesUsed)}::integer[], ${col((t) => t.idHash ?? null)}::text[])
          AS u(ticket_id, type_id, status, visit_date, slot_start, slot_end, persons, entries_used, id_hash)
        ON CONFLICT (site, ticket_id) DO UPDATE SET type_id = excluded.type_id, status = excluded.status, visit_date = excluded.visit_date,
          slot_start = excluded.slot_start, slot_end = excluded.slot_end, persons = excluded.persons, entries_used = excluded.entries_used,
          id_hash = excluded.id_hash, updated_seq = excluded.updated_seq`.execute(db);
      return;
    }
    for (let i = 0; i < tickets.length; i += 500) {
      await db
        .insertInto('tickets')
        .values(tickets.slice(i, i + 500).map((t) => ({ site, ticket_id: t.ticketId, ...ticketColumns(t, seq) })))
        .onConflict((oc) =>
          oc.columns(['site', 'ticket_id']).doUpdateSet((eb) => ({
            type_id: eb.ref('excluded.type_id'),
            status: eb.ref('excluded.status'),
            visit_date: eb.ref('excluded.visit_date'),
            slot_start: eb.ref('excluded.slot_start'),
            slot_end: eb.ref('excluded.slot_end'),
            persons: eb.ref('excluded.persons'),
            entries_used: eb.ref('excluded.entries_used'),
            id_hash: eb.ref('excluded.id_hash'),
            updated_seq: eb.ref('excluded.updated_seq'),
          })),
        )
        .execute();
    }
  }

  async upsertTicket(db: Db, site: string, t: SnapshotTicket, seq: number | null, maxEntries?: number): Promise<void> {
    const row = ticketColumns(t, seq);
    await db
      .insertInto('tickets')
      .values({ site, ticket_id: t.ticketId, ...row, ...(maxEntries !== undefined ? { max_entries: maxEntries } : {}) })
      .onConflict((oc) => oc.columns(['site', 'ticket_id']).doUpdateSet({ ...row, ...(maxEntries !== undefined ? { max_entries: maxEntries } : {}) }))
      .execute();
  }

  async setTicketUsage(db: Db, site: string, ticketId: string, entriesUsed: number): Promise<void> {
    await db.updateTable('tickets').set({ entries_used: entriesUsed }).where('site', '=', site).where('ticket_id', '=', ticketId).execute();
  }

  async setTicketStatus(db: Db, site: string, ticketId: string, status: string, seq: number): Promise<void> {
    await db.updateTable('tickets').set({ status, updated_seq: seq }).where('site', '=', site).where('ticket_id', '=', ticketId).execute();
  }

  async markTicketsChanged(db: Db, site: string, ticketIds: string[], seq: number): Promise<void> {
    if (ticketIds.length === 0) return;
    await db.updateTable('tickets').set({ updated_seq: seq }).where('site', '=', site).where(this.oneOf('ticket_id', ticketIds, 'text')).execute();
  }

  /** Tickets in ticket-id order after `after`, for the streamed snapshot. */
  async ticketPage(site: string, after: string | null, limit: number): Promise<SnapshotTicket[]> {
    let q = this.db.selectFrom('tickets').selectAll().where('site', '=', site);
    if (after !== null) q = q.where('ticket_id', '>', after);
    const rows = await q.orderBy('ticket_id').limit(limit).execute();
    return rows.map((r) => {
      const { maxEntries: _m, ...t } = toTicket(r);
      return t;
    });
  }

  // ---- conflicts -----------------------------------------------------------------------

  async insertConflict(db: Db, c: Omit<ConflictRow, 'id' | 'resolved' | 'detectedAt'>): Promise<boolean> {
    const rows = await db
      .insertInto('conflicts')
      .values({
        id: randomUUID(),
        site: c.site,
        ticket_id: c.ticketId,
        first_gate: c.firstGate,
        first_seq: c.firstSeq,
        second_gate: c.secondGate,
        second_seq: c.secondSeq,
        detected_at: new Date().toISOString(),
      })
      .onConflict((oc) => oc.doNothing())
      .returning('id')
      .execute();
    return rows.length > 0;
  }

  async conflicts(site: string): Promise<ConflictRow[]> {
    const rows = await this.db.selectFrom('conflicts').selectAll().where('site', '=', site).orderBy('detected_at').execute();
    return rows.map((r) => ({
      id: r.id,
      site: r.site,
      ticketId: r.ticket_id,
      firstGate: r.first_gate,
      firstSeq: r.first_seq,
      secondGate: r.second_gate,
      secondSeq: r.second_seq,
      detectedAt: r.detected_at,
      resolved: num(r.resolved) === 1,
    }));
  }

  // ---- deltas --------------------------------------------------------------------------

  /**
   * Allocate the site's next delta seq. Call inside the transaction that stores the
   * delta: a rollback gives the number back, so the sequence stays gap-free; on
   * PostgreSQL the row lock serializes allocations across cloud-bridge instances.
   */
  async allocateSeq(db: Db, site: string): Promise<number> {
    const r = await db
      .updateTable('sites')
      .set({ delta_seq: sql`delta_seq + 1` })
      .where('id', '=', site)
      .returning('delta_seq')
      .executeTakeFirst();
    if (!r) throw new Error(`unknown site "${site}"`);
    return num(r.delta_seq);
  }

  async insertDelta(db: Db, delta: WhitelistDelta): Promise<void> {
    const seq = Number(delta.seq);
    await db.insertInto('deltas').values({ site: delta.site, seq, payload: JSON.stringify(delta), created_at: new Date().toISOString() }).execute();
    const oldest = seq - this.retainDeltas;
    if (oldest > 0) await db.deleteFrom('deltas').where('site', '=', delta.site).where('seq', '<=', oldest).execute();
  }

  /**
   * allocateSeq() for a commit group: `counts` seqs for each site, the sites' rows locked in
   * site order (so instances allocating for overlapping sites cannot deadlock). Returns each
   * site's first new seq; the site's seqs are first … first + count − 1.
   */
  async allocateSeqs(db: Db, counts: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (counts.size === 0) return out;
    const sites = [...counts.keys()].sort();
    if (this.dialect === 'postgres') {
      const r = await sql<{ id: string; delta_seq: string }>`
        WITH l AS MATERIALIZED (SELECT s.id FROM sites s WHERE s.id = ANY(${sites}::text[]) ORDER BY s.id FOR UPDATE)
        UPDATE sites s SET delta_seq = s.delta_seq + v.k
        FROM unnest(${sites}::text[], ${sites.map((x) => counts.get(x)!)}::bigint[]) AS v(id, k), l
        WHERE s.id = v.id AND l.id = v.id
        RETURNING s.id, s.delta_seq`.execute(db);
      for (const row of r.rows) out.set(row.id, num(row.delta_seq) - counts.get(row.id)! + 1);
    } else {
      for (const site of sites) {
        const k = counts.get(site)!;
        const r = await sql<{ delta_seq: number }>`UPDATE sites SET delta_seq = delta_seq + ${k} WHERE id = ${site} RETURNING delta_seq`.execute(db);
        if (r.rows[0]) out.set(site, num(r.rows[0].delta_seq) - k + 1);
      }
    }
    for (const site of sites) if (!out.has(site)) throw new Error(`unknown site "${site}"`);
    return out;
  }

  /**
   * Hold the site's row to the end of the transaction (PostgreSQL; SQLite has one writer):
   * the ticket reads and writes after it take turns with every other transaction that
   * allocates the site's seqs (other commit pipelines, instances, sales).
   */
  async lockSite(db: Db, site: string): Promise<void> {
    if (this.dialect === 'postgres') await sql`SELECT id FROM sites WHERE id = ${site} FOR UPDATE`.execute(db);
  }

  /** Give back the last `n` seqs of the site allocated in this transaction (head = the site's seq after allocating). */
  async releaseSeqs(db: Db, site: string, n: number, head: number): Promise<void> {
    if (n <= 0) return;
    await db.updateTable('sites').set({ delta_seq: head - n }).where('id', '=', site).where('delta_seq', '=', head).execute();
  }

  /**
   * The end of an ingest commit group: its deltas stored (insertDeltas) and the gates'
   * high-water marks raised (raiseHighSeqs), on PostgreSQL in one statement. Returns each
   * gate's mark before.
   */
  async finishGroup(db: Db, deltas: readonly WhitelistDelta[], marks: readonly { site: string; gate: string; seq: bigint }[]): Promise<Map<string, bigint>> {
    if (this.dialect !== 'postgres' || deltas.length === 0) {
      await this.insertDeltas(db, deltas);
      return this.raiseHighSeqs(db, marks);
    }
    const out = new Map<string, bigint>();
    const r = await sql<{ site: string; gate: string; high_seq: string }>`
      WITH ins AS (${this.deltasInsert(deltas)}), pruned AS (${this.deltasPrune(deltas)}), ${this.highSeqCtes(marks)}
      SELECT site, gate, high_seq FROM cur`.execute(db);
    for (const row of r.rows) out.set(`${row.site}\u0000${row.gate}`, BigInt(row.high_seq));
    return out;
  }

  /** PostgreSQL: the INSERT of insertDeltas(). */
  private deltasInsert(deltas: readonly WhitelistDelta[]): RawBuilder<unknown> {
    return sql`INSERT INTO deltas (site, seq, payload, created_at)
      SELECT u.site, u.seq, u.payload, ${new Date().toISOString()}
      FROM unnest(${deltas.map((d) => d.site)}::text[], ${deltas.map((d) => d.seq)}::bigint[], ${deltas.map((d) => JSON.stringify(d))}::text[]) AS u(site, seq, payload)`;
  }

  /** PostgreSQL: the DELETE of each site's deltas older than the retained window after `deltas`. */
  private deltasPrune(deltas: readonly WhitelistDelta[]): RawBuilder<unknown> {
    const oldest = new Map<string, number>();
    for (const d of deltas) oldest.set(d.site, Math.max(oldest.get(d.site) ?? 0, Number(d.seq) - this.retainDeltas));
    return sql`DELETE FROM deltas d USING unnest(${[...oldest.keys()]}::text[], ${[...oldest.values()]}::bigint[]) AS p(site, oldest)
      WHERE d.site = p.site AND d.seq <= p.oldest`;
  }

  /**
   * PostgreSQL: CTEs `v`, `cur` (the gates' rows locked in (site, gate) order, with their
   * marks before) and `up` (raised where higher), for raiseHighSeqs() and finishGroup().
   */
  private highSeqCtes(marks: readonly { site: string; gate: string; seq: bigint }[]): RawBuilder<unknown> {
    return sql`v AS (SELECT * FROM unnest(${marks.map((m) => m.site)}::text[], ${marks.map((m) => m.gate)}::text[], ${marks.map((m) => m.seq.toString())}::numeric[]) AS v(site, gate, seq)),
      cur AS MATERIALIZED (SELECT g.site, g.gate, g.high_seq FROM gate_state g JOIN v ON g.site = v.site AND g.gate = v.gate ORDER BY g.site, g.gate FOR UPDATE OF g),
      up AS (UPDATE gate_state g SET high_seq = v.seq::text FROM v, cur
             WHERE g.site = v.site AND g.gate = v.gate AND cur.site = v.site AND cur.gate = v.gate AND cur.high_seq::numeric < v.seq)`;
  }

  /** insertDelta() for many deltas (any sites) in one statement, and the prune of each site's oldest. */
  async insertDeltas(db: Db, deltas: readonly WhitelistDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    const createdAt = new Date().toISOString();
    const oldest = new Map<string, number>();
    for (const d of deltas) oldest.set(d.site, Math.max(oldest.get(d.site) ?? 0, Number(d.seq) - this.retainDeltas));
    const prune = [...oldest].filter(([, o]) => o > 0);
    if (this.dialect === 'postgres') {
      if (prune.length === 0) await this.deltasInsert(deltas).execute(db);
      else await sql`WITH ins AS (${this.deltasInsert(deltas)}) ${this.deltasPrune(deltas)}`.execute(db);
      return;
    }
    await db
      .insertInto('deltas')
      .values(deltas.map((d) => ({ site: d.site, seq: Number(d.seq), payload: JSON.stringify(d), created_at: createdAt })))
      .execute();
    for (const [site, o] of prune) await db.deleteFrom('deltas').where('site', '=', site).where('seq', '<=', o).execute();
  }

  /**
   * Deltas after `since`, oldest first. Gone when a delta the caller needs was pruned, or
   * when `since` is beyond the head (the cloud's database was reset: resnapshot).
   */
  async changesSince(site: string, since: number): Promise<ChangesResult> {
    const head = await this.headSeq(site);
    if (head === null) return { ok: false, reason: 'unknown_site' };
    if (since > head) return { ok: false, reason: 'gone' };
    if (since === head) return { ok: true, deltas: [] };
    const rows = await this.db.selectFrom('deltas').select(['seq', 'payload']).where('site', '=', site).where('seq', '>', since).orderBy('seq').execute();
    const first = rows[0];
    if (!first || num(first.seq) !== since + 1) return { ok: false, reason: 'gone' };
    return { ok: true, deltas: rows.map((r) => JSON.parse(r.payload) as WhitelistDelta) };
  }
}

/** A ticket's columns as stored (all but its key and max_entries). */
function ticketColumns(t: SnapshotTicket, seq: number | null) {
  return {
    type_id: t.typeId,
    status: t.status,
    visit_date: t.visitDate,
    slot_start: t.slotStart ?? null,
    slot_end: t.slotEnd ?? null,
    persons: t.persons,
    entries_used: t.entriesUsed,
    id_hash: t.idHash ?? null,
    updated_seq: seq,
  };
}

function toTicket(r: Selectable<TicketsTable>): StoredTicket {
  return {
    ticketId: r.ticket_id,
    typeId: r.type_id,
    status: r.status as SnapshotTicket['status'],
    visitDate: r.visit_date,
    slotStart: r.slot_start,
    slotEnd: r.slot_end,
    persons: num(r.persons),
    entriesUsed: num(r.entries_used),
    idHash: r.id_hash,
    maxEntries: num(r.max_entries),
  };
}

