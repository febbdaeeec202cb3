// The floor of the snapshot-import figure (bench/run.js): what plain SQLite needs to put the
// same tickets into a table shaped like the gate's, the most favourable way. The snapshot's
// lines are sorted by ticket id first (not timed, written next to the snapshot); then, timed:
// read that file, JSON.parse each line, one prepared INSERT per ticket in ONE transaction
// into a fresh `tickets` table (WITHOUT ROWID, ticket_id primary key, as the gate's), its
// partial index and the ID-card table (ticket_idcards) built after the rows, commit. Same
// settings as the gate database (WAL, synchronous=FULL, 2 MiB page cache), SQLite's own
// automatic checkpoint at the commit included. No validation, no staging, no write slices.
//
//   node bench/import-raw.js <db> <snapshot>
//
// Prints one JSON object on stdout: { mode: 'raw', ms, tickets, maxRssKb }.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';

const [dbPath, snapshot] = process.argv.slice(2);
if (!dbPath || !snapshot) {
  process.stderr.write('usage: import-raw.js <db> <snapshot>\n');
  process.exit(2);
}

// ---- untimed: the sorted copy ----------------------------------------------------------
const lines = readFileSync(snapshot, 'utf8').split('\n').filter((l) => l.length > 0);
const header = lines[0].startsWith('{"snapshot"') ? lines.shift() : null;
const keyed = lines.map((l) => [JSON.parse(l).ticketId, l]);
// Code-unit order is SQLite's BINARY collation for these ASCII ids: rows arrive in key order.
keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
const sorted = `${snapshot}.sorted`;
writeFileSync(sorted, `${header ? `${header}\n` : ''}${keyed.map((k) => k[1]).join('\n')}\n`);
keyed.length = 0;
lines.length = 0;
for (const f of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) rmSync(f, { force: true });

// ---- timed ------------------------------------------------------------------------------
const t0 = performance.now();
const db = new Database(dbPath);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('cache_size = -2048');
db.exec(`CREATE TABLE tickets (
    ticket_id TEXT PRIMARY KEY, type_id TEXT NOT NULL, status TEXT NOT NULL, visit_date TEXT NOT NULL,
    slot_start TEXT, slot_end TEXT, persons INTEGER NOT NULL, entries_used INTEGER NOT NULL DEFAULT 0,
    entries_day TEXT, entries_day_count INTEGER NOT NULL DEFAULT 0, last_entry_at INTEGER, id_hash TEXT,
    source TEXT NOT NULL DEFAULT 'whitelist') WITHOUT ROWID;
  CREATE TABLE ticket_idcards (id_hash TEXT NOT NULL, visit_date TEXT NOT NULL, ticket_id TEXT NOT NULL,
    PRIMARY KEY (id_hash, visit_date, ticket_id)) WITHOUT ROWID;`);
const insert = db.prepare(
  'INSERT INTO tickets (ticket_id, type_id, status, visit_date, slot_start, slot_end, persons, entries_used, id_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
);
const text = readFileSync(sorted, 'utf8');
let tickets = 0;
db.transaction(() => {
  let from = header ? text.indexOf('\n') + 1 : 0;
  for (let nl = text.indexOf('\n', from); nl >= 0; from = nl + 1, nl = text.indexOf('\n', from)) {
    const t = JSON.parse(text.slice(from, nl));
    insert.run(t.ticketId, t.typeId, t.status ?? 'valid', t.visitDate, t.slotStart ?? null, t.slotEnd ?? null, t.persons ?? 1, t.entriesUsed ?? 0, t.idHash ?? null);
    tickets++;
  }
  db.exec(`CREATE INDEX tickets_used ON tickets(last_entry_at) WHERE last_entry_at IS NOT NULL;
    INSERT INTO ticket_idcards SELECT id_hash, visit_date, ticket_id FROM tickets WHERE id_hash IS NOT NULL ORDER BY 1, 2, 3;`);
})();
const ms = performance.now() - t0;
db.close();
rmSync(sorted, { force: true });
process.stdout.write(`${JSON.stringify({ mode: 'raw', ms, tickets, maxRssKb: process.resourceUsage().maxRSS })}\n`);
