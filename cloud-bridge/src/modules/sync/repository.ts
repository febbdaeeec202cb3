import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { EntryEvent } from '@stile/config';
import { systemClock, type Clock } from '../../core/clock.js';
import type { Dialect } from '../../core/db/connect.js';
import type { Database } from '../../core/db/schema.js';
import { num, type CloudStore, type Db } from '../../core/db/store.js';

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

/** One event of a commit group, with where it came from and the anomaly it is stored as (if any). */
export interface EntryRow {
  site: string;
  gate: string;
  e: EntryEvent;
  anomaly: string | null;
}

/** An admission stored as an anomaly. */
export interface AnomalyRow {
  gate: string;
  seq: string;
  ticketId: string;
  credential: string;
  anomaly: string;
  at: string;
}

/**
 * What the gates report: entries (and the anomalies among them), partition conflicts, and
 * each gate's status. Methods taking `db` run inside the caller's transaction.
 */
export class SyncRepository {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;

  constructor(
    private readonly store: CloudStore,
    /** When conflicts are detected (detected_at). */
    private readonly clock: Clock = systemClock,
  ) {
    this.db = store.db;
    this.dialect = store.dialect;
  }

  // ---- gate state ----------------------------------------------------------------------

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
      await this.store.registerGate(site, gate, trx);
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
    await db.updateTable('entries').set({ anomaly }).where('site', '=', site).where(this.store.oneOf('event_id', eventIds, 'text')).execute();
  }

  /** Admissions stored as anomalies, newest first (the dashboard, the threat-model tests). */
  async anomalies(site: string, limit = 100): Promise<AnomalyRow[]> {
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
        detected_at: this.clock().toISOString(),
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
}
