// The floor for cloud ingest (bench/sync.js): the least a durable consumer of the gates'
// EntriesMessages must do, with nothing of the bridge's own code. It takes the entries
// topic of one site through the same MQTT v5 shared subscription on the same number of
// connections as the bridge (8), JSON-parses each message and inserts its events into an
// `entries` table of the same shape (columns, primary key, unique (site, gate, seq), the
// same three secondary indexes) with ONE multi-row INSERT … ON CONFLICT DO NOTHING per
// message, and PUBACKs a message only after its transaction committed. Transactions are
// grouped like the bridge's: messages that arrive while a commit runs share the next one
// (at most 32), one commit at a time. Same database settings as the bridge: SQLite WAL +
// synchronous=FULL + 64 MiB cache; PostgreSQL through a pg.Pool of 10.
//
// Not done here (and done by the bridge): schema validation of the message, ticket usage,
// the used-elsewhere delta (signed, stored, published), the gate's high-water seq, the
// signed receipt. The ratio bridge / floor is what those cost on top of storing.
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { connectAsync } from 'mqtt';

const COLS = ['event_id', 'site', 'gate', 'seq', 'epoch', 'kind', 'ref_seq', 'ticket_id', 'type_id', 'credential', 'persons', 'at', 'received_at', 'anomaly'];
const CONNECTIONS = 8;
const MAX_GROUP = 32;

/** The bridge's `entries` table (cloud-bridge/src/core/db/migrations.ts, after 0005), written out in plain SQL. */
function ddl() {
  return [
    `CREATE TABLE entries (event_id text PRIMARY KEY, site text NOT NULL, gate text NOT NULL, seq bigint NOT NULL, epoch bigint NOT NULL,
       kind text NOT NULL, ref_seq bigint, ticket_id text NOT NULL, type_id text NOT NULL, credential text NOT NULL, persons integer NOT NULL,
       at text NOT NULL, received_at text NOT NULL, anomaly text, CONSTRAINT entries_gate_seq_uq UNIQUE (site, gate, seq))`,
    'CREATE INDEX entries_ticket_ix ON entries (site, ticket_id)',
    'CREATE INDEX entries_ref_ix ON entries (site, gate, ref_seq) WHERE ref_seq IS NOT NULL',
    'CREATE INDEX entries_site_at_ix ON entries (site, at)',
  ];
}

function row(msg, e, receivedAt) {
  return [e.eventId, msg.site, msg.gate, e.seq, e.epoch, e.kind, e.refSeq ?? null, e.ticketId, e.typeId, e.credential, e.persons, e.at, receivedAt, null];
}

/** SQLite: prepared multi-row statements, cached by row count. */
function sqliteStore(path) {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('cache_size = -65536');
  for (const s of ddl()) db.exec(s);
  const stmts = new Map();
  const insert = (n) => {
    let s = stmts.get(n);
    if (!s) {
      const one = `(${COLS.map(() => '?').join(',')})`;
      s = db.prepare(`INSERT INTO entries (${COLS.join(',')}) VALUES ${Array(n).fill(one).join(',')} ON CONFLICT DO NOTHING`);
      stmts.set(n, s);
    }
    return s;
  };
  // Explicit BEGIN/COMMIT statements (not db.transaction) so a statement timer sees the commit.
  const begin = db.prepare('BEGIN');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  const writeGroup = (msgs, receivedAt) => {
    begin.run();
    try {
      let inserted = 0;
      for (const m of msgs) inserted += insert(m.events.length).run(m.events.flatMap((e) => row(m, e, receivedAt))).changes;
      commit.run();
      return inserted;
    } catch (err) {
      if (db.inTransaction) rollback.run();
      throw err;
    }
  };
  return {
    write: async (msgs) => writeGroup(msgs, new Date().toISOString()),
    close: async () => db.close(),
  };
}

/** PostgreSQL: one multi-row INSERT per message, as a named (prepared) statement per row count. */
async function pgStore(url) {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  for (const s of ddl()) await pool.query(s);
  const text = (n) => `INSERT INTO entries (${COLS.join(',')}) VALUES ${Array.from({ length: n }, (_, r) => `(${COLS.map((_c, c) => `$${r * COLS.length + c + 1}`).join(',')})`).join(',')} ON CONFLICT DO NOTHING`;
  const texts = new Map();
  return {
    write: async (msgs) => {
      const receivedAt = new Date().toISOString();
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        let inserted = 0;
        for (const m of msgs) {
          const n = m.events.length;
          if (!texts.has(n)) texts.set(n, text(n));
          const r = await c.query({ name: `floor_ins_${n}`, text: texts.get(n), values: m.events.flatMap((e) => row(m, e, receivedAt)) });
          inserted += r.rowCount;
        }
        await c.query('COMMIT');
        return inserted;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        c.release();
      }
    },
    close: () => pool.end(),
  };
}

/**
 * Start the floor consumer for `site`. `db`: { sqlitePath } or { databaseUrl } (an empty
 * database / schema). Returns { inserted, commits, close() }.
 */
export async function startIngestFloor({ mqttUrl, site, group, clientId, db }) {
  const store = db.sqlitePath ? sqliteStore(db.sqlitePath) : await pgStore(db.databaseUrl);
  /** busyMs: time spent writing groups (the commit pipeline busy). */
  const state = { inserted: 0, commits: 0, messages: 0, errors: 0, busyMs: 0 };
  const queue = [];
  let running = false;
  const drain = async () => {
    running = true;
    try {
      while (queue.length > 0) {
        // As the bridge's GroupCommit: let the sockets deliver what they hold first.
        await new Promise((r) => setImmediate(r));
        const batch = queue.splice(0, MAX_GROUP);
        const t0 = performance.now();
        try {
          state.inserted += await store.write(batch.map((p) => p.msg));
          state.busyMs += performance.now() - t0;
          state.commits++;
          for (const p of batch) p.ack();
        } catch (err) {
          state.errors++;
          for (const p of batch) p.ack(err);
        }
      }
    } finally {
      running = false;
    }
  };
  const clients = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const c = await connectAsync(mqttUrl, { protocolVersion: 5, clientId: `${clientId}-${i}`, reconnectPeriod: 0 });
    c.stream.setNoDelay?.(true);
    // PUBACK only after the commit (mqtt.js sends it when the callback is called without an error).
    c.handleMessage = (packet, callback) => {
      let msg;
      try {
        msg = JSON.parse(packet.payload.toString('utf8'));
      } catch {
        return callback();
      }
      state.messages++;
      queue.push({ msg, ack: callback });
      if (!running) void drain();
    };
    await c.subscribeAsync(`$share/${group}/stile/${site}/gates/+/entries`, { qos: 1 });
    clients.push(c);
  }
  return {
    state,
    close: async () => {
      await Promise.all(clients.map((c) => c.endAsync()));
      await store.close();
    },
  };
}
