import type Database from 'better-sqlite3';
import { StileError, StileErrorCode } from '@stile/config';
import { findPreUpgradeBackup, preMigratePath, schemaTooNewLine, vacuumInto } from '@stile/service';

/**
 * Schema migrations, applied in order and recorded in PRAGMA user_version.
 * Append new steps; never edit a shipped one (gates in the field upgrade in place).
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tickets (
    ticket_id TEXT PRIMARY KEY,
    type_id TEXT NOT NULL,
    status TEXT NOT NULL,
    visit_date TEXT NOT NULL,
    slot_start TEXT,
    slot_end TEXT,
    persons INTEGER NOT NULL,
    entries_used INTEGER NOT NULL DEFAULT 0,
    entries_day TEXT,
    entries_day_count INTEGER NOT NULL DEFAULT 0,
    last_entry_at INTEGER,
    id_hash TEXT,
    source TEXT NOT NULL DEFAULT 'whitelist'
  ) WITHOUT ROWID;
  CREATE INDEX tickets_id_hash_g0 ON tickets(id_hash, visit_date) WHERE id_hash IS NOT NULL;
  CREATE INDEX tickets_used_g0 ON tickets(last_entry_at) WHERE last_entry_at IS NOT NULL;

  CREATE TABLE ticket_types (type_id TEXT PRIMARY KEY, rules TEXT NOT NULL) WITHOUT ROWID;

  -- Admissions journal. AUTOINCREMENT: seq is the gate's durable event counter and must never be reused.
  CREATE TABLE entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    epoch INTEGER NOT NULL,
    kind TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    type_id TEXT NOT NULL,
    credential TEXT NOT NULL,
    persons INTEGER NOT NULL,
    at INTEGER NOT NULL,
    input TEXT
  );
  CREATE INDEX entries_ticket ON entries(ticket_id);

  -- Events waiting for the cloud's PUBACK; a row is deleted only after it.
  CREATE TABLE outbox (seq INTEGER PRIMARY KEY REFERENCES entries(seq), payload TEXT NOT NULL);

  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE revoked_tickets (ticket_id TEXT PRIMARY KEY) WITHOUT ROWID;
  CREATE TABLE trusted_keys (key_id TEXT PRIMARY KEY, public_key TEXT NOT NULL, not_after TEXT) WITHOUT ROWID;
  `,
  // v2: compensating events. A 'not-passed' row names the admission it corrects; at most one per admission.
  `
  ALTER TABLE entries ADD COLUMN ref_seq INTEGER REFERENCES entries(seq);
  CREATE UNIQUE INDEX entries_ref_seq ON entries(ref_seq) WHERE ref_seq IS NOT NULL;
  `,
  // v3: remote commands already handled, so a redelivered command is acked 'duplicate' and not run again.
  `
  CREATE TABLE seen_commands (cmd_id TEXT PRIMARY KEY, action TEXT NOT NULL, at TEXT NOT NULL, result TEXT) WITHOUT ROWID;
  `,
  // v4: revocations keep where they came from, so syncing gate.yaml replaces only its own and
  // a cloud revocation survives restarts. Older rows' origin is unknown: kept as 'cloud' (the safe side).
  // remote_usage: entries other gates reported for tickets this gate has no row for (signed codes),
  // outside `tickets` so a snapshot import (which swaps that table) cannot drop it.
  `
  CREATE TABLE revoked_tickets_v4 (
    ticket_id TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('config', 'cloud')),
    PRIMARY KEY (ticket_id, source)
  ) WITHOUT ROWID;
  INSERT INTO revoked_tickets_v4 (ticket_id, source) SELECT ticket_id, 'cloud' FROM revoked_tickets;
  DROP TABLE revoked_tickets;
  ALTER TABLE revoked_tickets_v4 RENAME TO revoked_tickets;
  CREATE TABLE remote_usage (ticket_id TEXT PRIMARY KEY, entries_used INTEGER NOT NULL) WITHOUT ROWID;
  `,
  // v5: entries of the site's other gates heard on a park-local broker (mqtt.peers). Keyed by
  // eventId so a peer's outbox sent again counts once; (gate, seq) finds the admission a
  // not-passed names. counted: the admission is on the ticket now. Pruned by age (at).
  `
  CREATE TABLE peer_entries (
    event_id TEXT PRIMARY KEY,
    gate TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    persons INTEGER NOT NULL,
    ref_seq INTEGER,
    at INTEGER NOT NULL,
    day TEXT NOT NULL,
    counted INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  CREATE INDEX peer_entries_gate_seq ON peer_entries(gate, seq);
  CREATE INDEX peer_entries_gate_ref ON peer_entries(gate, ref_seq) WHERE ref_seq IS NOT NULL;
  CREATE INDEX peer_entries_at ON peer_entries(at);
  `,
  // v6: ID-card lookups go through ticket_idcards, kept up to date by triggers on tickets,
  // instead of an index on tickets(id_hash): a snapshot import builds this table in key order
  // in short transactions, where the index cost one CREATE INDEX holding the write lock for
  // 0.1–0.5 s, or a page write per ID-bound ticket. snapshot-swap.ts creates the same
  // triggers on each imported table. The old index goes with the table at the next import.
  // No OR IGNORE in trigger bodies: the statement that fires them overrides it (an upsert
  // makes a duplicate an error), hence WHERE NOT EXISTS.
  `
  CREATE TABLE ticket_idcards (
    id_hash TEXT NOT NULL,
    visit_date TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    PRIMARY KEY (id_hash, visit_date, ticket_id)
  ) WITHOUT ROWID;
  INSERT INTO ticket_idcards (id_hash, visit_date, ticket_id) SELECT id_hash, visit_date, ticket_id FROM tickets WHERE id_hash IS NOT NULL;
  CREATE TRIGGER tickets_idcard_insert AFTER INSERT ON tickets WHEN new.id_hash IS NOT NULL BEGIN
    INSERT INTO ticket_idcards (id_hash, visit_date, ticket_id) SELECT new.id_hash, new.visit_date, new.ticket_id
      WHERE NOT EXISTS (SELECT 1 FROM ticket_idcards WHERE id_hash = new.id_hash AND visit_date = new.visit_date AND ticket_id = new.ticket_id);
  END;
  CREATE TRIGGER tickets_idcard_update AFTER UPDATE OF id_hash, visit_date, ticket_id ON tickets BEGIN
    DELETE FROM ticket_idcards WHERE id_hash = old.id_hash AND visit_date = old.visit_date AND ticket_id = old.ticket_id;
    INSERT INTO ticket_idcards (id_hash, visit_date, ticket_id) SELECT new.id_hash, new.visit_date, new.ticket_id
      WHERE new.id_hash IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ticket_idcards WHERE id_hash = new.id_hash AND visit_date = new.visit_date AND ticket_id = new.ticket_id);
  END;
  CREATE TRIGGER tickets_idcard_delete AFTER DELETE ON tickets WHEN old.id_hash IS NOT NULL BEGIN
    DELETE FROM ticket_idcards WHERE id_hash = old.id_hash AND visit_date = old.visit_date AND ticket_id = old.ticket_id;
  END;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export interface MigrateOptions {
  /** The database's path as the technician knows it (messages, the pre-migrate copy); default the connection's. */
  path?: string;
  now?: () => Date;
}

export interface MigrateResult {
  from: number;
  to: number;
  /** The copy taken before an existing database was migrated (`<db>.pre-migrate-v<from>-<time>`). */
  backup?: string;
}

/** The refusal for a database a newer gate-agent migrated (docs/backup.md). */
export function schemaTooNew(path: string, found: number): StileError {
  return new StileError(
    StileErrorCode.StoreTooNew,
    schemaTooNewLine({ file: path, found, known: SCHEMA_VERSION, program: 'stile-gate', backup: findPreUpgradeBackup(path, SCHEMA_VERSION) }),
  );
}

/**
 * Bring the schema to SCHEMA_VERSION. Forward only: a database already past it is refused
 * untouched; an existing one behind it is first copied next to itself (VACUUM INTO, one
 * read transaction), so a failed or regretted upgrade goes back to that copy.
 */
export function migrate(db: Database.Database, opts: MigrateOptions = {}): MigrateResult {
  const path = opts.path ?? db.name;
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) throw schemaTooNew(path, current);
  let backup: string | undefined;
  if (current > 0 && current < SCHEMA_VERSION && !db.memory) {
    backup = preMigratePath(path, current, (opts.now ?? (() => new Date()))());
    vacuumInto(db, backup);
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
  return { from: current, to: SCHEMA_VERSION, ...(backup ? { backup } : {}) };
}
