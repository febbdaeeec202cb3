import type BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely, type RawBuilder, type SqlBool, type Transaction } from 'kysely';
import { onlineBackup, preMigratePath } from '@stile/service';
import { CloudError } from '../errors.js';
import { connectDb, type DbOptions, type Dialect } from './connect.js';
import { CLOUD_SCHEMA_VERSION, migrateToLatest } from './migrations.js';
import { readSchemaState, readSqliteSchemaState, schemaTooNew } from './schema-state.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database> | Transaction<Database>;

/** A count or bigint column as a number (PostgreSQL returns bigint columns as strings; null: 0). */
export const num = (v: number | string | bigint | null | undefined): number => (v == null ? 0 : Number(v));

/** A gate's high-water mark to raise: the highest entry seq of the gate in a commit group. */
export interface GateMark {
  site: string;
  gate: string;
  seq: bigint;
}

/**
 * The cloud's database: the connection (schema migrated on open) and the site and gate rows
 * every module shares. Each module keeps its own queries in its repository
 * (modules/X/repository.ts). Methods taking `db` run inside the caller's transaction.
 */
export class CloudStore {
  private constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    /** SQLite: the connection under `db` (online backups go through it) and its file. */
    readonly sqlite?: { connection: BetterSqlite3.Database; path: string },
    /** The copy taken before pending migrations were applied to this database, if any. */
    readonly preMigrateBackup?: string,
  ) {}

  /**
   * Connect and migrate (docs/backup.md): a database from a newer Stile is refused before
   * anything is written to it; an existing SQLite database with migrations pending is first
   * copied to `<db>.pre-migrate-v<from>-<time>`; an existing PostgreSQL one is migrated only
   * when the operator says the backup is taken (`migrateWithoutBackup`).
   */
  static async open(opts: DbOptions, clock: () => Date = () => new Date()): Promise<CloudStore> {
    const file = opts.databaseUrl ? undefined : (opts.sqlitePath ?? 'cloud.db');
    if (file !== undefined) {
      const before = readSqliteSchemaState(file);
      if (before.unknown.length > 0) throw schemaTooNew(before, { sqlitePath: file, label: file });
    }
    const { db, dialect, sqlite } = connectDb(opts);
    let backup: string | undefined;
    try {
      const state = await readSchemaState(db, dialect);
      if (state.unknown.length > 0) throw schemaTooNew(state, { label: 'the PostgreSQL database' });
      if (state.pending.length > 0 && state.applied.length > 0) {
        if (sqlite && file !== undefined && file !== ':memory:') {
          backup = preMigratePath(file, state.version, clock());
          await onlineBackup(sqlite, backup);
        } else if (dialect === 'postgres' && !opts.migrateWithoutBackup) {
          throw new CloudError(
            'store_needs_backup',
            `the PostgreSQL database schema is version ${state.version}, this stile-cloud brings it to ${CLOUD_SCHEMA_VERSION}: back it up first (pg_dump -Fc, docs/backup.md), then start stile-cloud once with STILE_MIGRATE_WITHOUT_BACKUP=1`,
            { version: state.version, target: CLOUD_SCHEMA_VERSION },
          );
        }
      }
      await migrateToLatest(db, dialect);
    } catch (err) {
      await db.destroy();
      throw err;
    }
    return new CloudStore(db, dialect, sqlite && file !== undefined ? { connection: sqlite, path: file } : undefined, backup);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  /**
   * `column IN (values)` with the list as one parameter (a PostgreSQL array, a JSON array
   * for SQLite): one statement text for any list length, so it is parsed and planned once
   * (PostgreSQL) and prepared once (SQLite), instead of one placeholder per value.
   */
  oneOf(column: string, values: readonly (string | number)[], type: 'text' | 'bigint'): RawBuilder<SqlBool> {
    if (this.dialect === 'postgres') return sql<SqlBool>`${sql.ref(column)} = ANY(${values}::${sql.raw(type)}[])`;
    return sql<SqlBool>`${sql.ref(column)} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`;
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

  async siteExists(id: string): Promise<boolean> {
    return (await this.db.selectFrom('sites').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
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

  /** A gate's high-water mark and newest session epoch (GET …/gates/{gate}/marks); undefined for a gate the cloud does not know. */
  async gateMarks(site: string, gate: string): Promise<{ highSeq: string; epoch: number } | undefined> {
    const row = await this.db.selectFrom('gate_state').select(['high_seq', 'epoch']).where('site', '=', site).where('gate', '=', gate).executeTakeFirst();
    return row ? { highSeq: BigInt(row.high_seq).toString(), epoch: num(row.epoch) } : undefined;
  }

  // ---- gates' high-water marks --------------------------------------------------------
  // Here, not in the sync module: the whitelist's finishGroup raises them in the same
  // statement that stores the ingest group's deltas (one round trip less per commit).

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
  async raiseHighSeqs(db: Db, marks: readonly GateMark[]): Promise<Map<string, bigint>> {
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
   * PostgreSQL: CTEs `v`, `cur` (the gates' rows locked in (site, gate) order, with their
   * marks before) and `up` (raised where higher), for raiseHighSeqs() and the whitelist's finishGroup().
   */
  highSeqCtes(marks: readonly GateMark[]): RawBuilder<unknown> {
    return sql`v AS (SELECT * FROM unnest(${marks.map((m) => m.site)}::text[], ${marks.map((m) => m.gate)}::text[], ${marks.map((m) => m.seq.toString())}::numeric[]) AS v(site, gate, seq)),
      cur AS MATERIALIZED (SELECT g.site, g.gate, g.high_seq FROM gate_state g JOIN v ON g.site = v.site AND g.gate = v.gate ORDER BY g.site, g.gate FOR UPDATE OF g),
      up AS (UPDATE gate_state g SET high_seq = v.seq::text FROM v, cur
             WHERE g.site = v.site AND g.gate = v.gate AND cur.site = v.site AND cur.gate = v.gate AND cur.high_seq::numeric < v.seq)`;
  }
}
