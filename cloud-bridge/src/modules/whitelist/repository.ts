import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { SnapshotTicket, WhitelistDelta } from '@stile/config';
import { systemClock, type Clock } from '../../core/clock.js';
import type { Dialect } from '../../core/db/connect.js';
import type { Database, TicketsTable } from '../../core/db/schema.js';
import { num, type CloudStore, type Db, type GateMark } from '../../core/db/store.js';
import { CloudError } from '../../core/errors.js';
import type { StoredTicket, TicketUsage } from '../../core/ports.js';

export type ChangesResult = { ok: true; deltas: WhitelistDelta[] } | { ok: false; reason: 'gone' | 'unknown_site' };

export interface WhitelistRepositoryOptions {
  /** Deltas kept per site for changes?since; older ones are pruned. Default 10,000. */
  retainDeltas?: number;
  /** When deltas are stored (created_at). */
  clock?: Clock;
}

/**
 * The whitelist's tables: tickets, the sites' signed deltas (gap-free seqs per site) and how
 * far each site's deltas are published. Methods taking `db` run inside the caller's transaction.
 */
export class WhitelistRepository {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** Deltas kept per site for changes?since; older ones are pruned. */
  readonly retainDeltas: number;
  private readonly clock: Clock;

  constructor(
    private readonly store: CloudStore,
    opts: WhitelistRepositoryOptions = {},
  ) {
    this.db = store.db;
    this.dialect = store.dialect;
    this.retainDeltas = opts.retainDeltas ?? 10_000;
    this.clock = opts.clock ?? systemClock;
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

  async headSeq(site: string, db: Db = this.db): Promise<number | null> {
    const row = await db.selectFrom('sites').select('delta_seq').where('id', '=', site).executeTakeFirst();
    return row ? num(row.delta_seq) : null;
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
  async addTicketUsage(db: Db, site: string, added: [ticketId: string, admissions: number][], seq: number): Promise<Map<string, TicketUsage>> {
    const out = new Map<string, TicketUsage>();
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
  async addTicketUsageMany(db: Db, rows: readonly { site: string; ticketId: string; n: number; seq: number }[]): Promise<Map<string, TicketUsage>> {
    const out = new Map<string, TicketUsage>();
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
    await db.updateTable('tickets').set({ updated_seq: seq }).where('site', '=', site).where(this.store.oneOf('ticket_id', ticketIds, 'text')).execute();
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
    if (!r) throw new CloudError('unknown_site', `unknown site "${site}"`);
    return num(r.delta_seq);
  }

  async insertDelta(db: Db, delta: WhitelistDelta): Promise<void> {
    const seq = Number(delta.seq);
    await db.insertInto('deltas').values({ site: delta.site, seq, payload: JSON.stringify(delta), created_at: this.clock().toISOString() }).execute();
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
    for (const site of sites) if (!out.has(site)) throw new CloudError('unknown_site', `unknown site "${site}"`);
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
   * high-water marks raised (CloudStore.raiseHighSeqs), on PostgreSQL in one statement. Returns each
   * gate's mark before.
   */
  async finishGroup(db: Db, deltas: readonly WhitelistDelta[], marks: readonly GateMark[]): Promise<Map<string, bigint>> {
    if (this.dialect !== 'postgres' || deltas.length === 0) {
      await this.insertDeltas(db, deltas);
      return this.store.raiseHighSeqs(db, marks);
    }
    const out = new Map<string, bigint>();
    const r = await sql<{ site: string; gate: string; high_seq: string }>`
      WITH ins AS (${this.deltasInsert(deltas)}), pruned AS (${this.deltasPrune(deltas)}), ${this.store.highSeqCtes(marks)}
      SELECT site, gate, high_seq FROM cur`.execute(db);
    for (const row of r.rows) out.set(`${row.site}\u0000${row.gate}`, BigInt(row.high_seq));
    return out;
  }

  /** PostgreSQL: the INSERT of insertDeltas(). */
  private deltasInsert(deltas: readonly WhitelistDelta[]): RawBuilder<unknown> {
    return sql`INSERT INTO deltas (site, seq, payload, created_at)
      SELECT u.site, u.seq, u.payload, ${this.clock().toISOString()}
      FROM unnest(${deltas.map((d) => d.site)}::text[], ${deltas.map((d) => d.seq)}::bigint[], ${deltas.map((d) => JSON.stringify(d))}::text[]) AS u(site, seq, payload)`;
  }

  /** PostgreSQL: the DELETE of each site's deltas older than the retained window after `deltas`. */
  private deltasPrune(deltas: readonly WhitelistDelta[]): RawBuilder<unknown> {
    const oldest = new Map<string, number>();
    for (const d of deltas) oldest.set(d.site, Math.max(oldest.get(d.site) ?? 0, Number(d.seq) - this.retainDeltas));
    return sql`DELETE FROM deltas d USING unnest(${[...oldest.keys()]}::text[], ${[...oldest.values()]}::bigint[]) AS p(site, oldest)
      WHERE d.site = p.site AND d.seq <= p.oldest`;
  }

  /** insertDelta() for many deltas (any sites) in one statement, and the prune of each site's oldest. */
  async insertDeltas(db: Db, deltas: readonly WhitelistDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    const createdAt = this.clock().toISOString();
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

