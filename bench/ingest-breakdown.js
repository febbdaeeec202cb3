// Where the cloud's ingest time goes, beside the floor (bench/ingest-floor.js), on the same
// load as bench/sync.js (the publisher child, 10 gates draining 200-event batches). Not part
// of `npm run bench`: run it when the ingest line moves (`node bench/ingest-breakdown.js`,
// about a minute). Real Mosquitto (BENCH_MQTT) and PostgreSQL (BENCH_PG) as in sync.js;
// site ids, the SQLite files and the PostgreSQL schemas are unique to the run and removed.
//
// Per store it runs the floor, then the bridge (startCloudBridge in this process), and prints
//  - the rates and the ratio bridge / floor;
//  - CPU seconds of every party during the run: this process (the consumer), the publisher
//    child, the broker (the pid listening on BENCH_MQTT's port), the PostgreSQL backends of
//    this run (by application_name), and the whole machine's busy share;
//  - the commit pipeline (one transaction at a time in both): time it was busy per message,
//    split by statement kind (client-side latency of each statement: round trip + the
//    database's work), the rest being JavaScript inside the transaction;
//  - JavaScript the bridge runs per message, measured by direct calls: JSON + schema
//    validation, the admission judge, signing the receipt (outside the transaction), signing
//    the delta (inside it, part of js_in_tx), stringifying the delta to publish it.
// Timing hooks: pg.Client#query, better-sqlite3's Statement#run/all/get, EntriesIngest#storeGroup.
import { mkdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import pino from 'pino';
import { sql } from 'kysely';
import { EntriesMessageSchema } from '../config/dist/index.js';
import { EntriesIngest, SiteKeys, startCloudBridge } from '../cloud-bridge/dist/index.js';
import { judgeAdmissions, LaneRateLimiter } from '../cloud-bridge/dist/modules/sync/admission-check.js';
import { startIngestFloor } from './ingest-floor.js';
import { cloudSite, ingestGates, INGEST_BATCH, loadRun, seedIngestTickets } from './ingest-lib.js';
import { fmt, intEnv, line, note, nowMs, pgSchema, runCleanup } from './lib.js';
import { CpuMeter, machineCpu, pidListening } from './proc.js';

const here = dirname(fileURLToPath(import.meta.url));
const MQTT_URL = process.env.BENCH_MQTT ?? 'mqtt://127.0.0.1:1883';
const PG_URL = process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const EVENTS = intEnv('BENCH_INGEST_EVENTS', 100_000);
const STORES = (process.env.BENCH_BREAKDOWN_STORES ?? 'sqlite,postgres').split(',').map((s) => s.trim());
const REPEAT = intEnv('BENCH_BREAKDOWN_REPEAT', 3);
// Experiment: PostgreSQL `tickets` with this fillfactor before seeding (room for HOT updates of the usage counts).
const FILLFACTOR = process.env.BENCH_TICKETS_FILLFACTOR ? intEnv('BENCH_TICKETS_FILLFACTOR', 100) : null;
const RUN = `d${process.pid}${Date.now().toString(36)}`;
const dir = join(here, '..', '.bench-tmp', `breakdown-${process.pid}-${Date.now()}`);
const silent = pino({ level: 'silent' });
const { cleanups, cleanup } = runCleanup(dir);

// ---- statement timing ------------------------------------------------------------------

const KINDS = [
  ['insert_entries', /^insert into "?entries"?/],
  ['ticket_usage', /^update "?tickets"?/],
  ['store_delta', /^(insert into|delete from) "?deltas"?|^with ins as \(insert into deltas/],
  ['allocate_seq', /^update "?sites"?|^with l as materialized \(select s\.id from sites/],
  ['gate_known', /^select "gate" from "gate_state"/],
  ['high_seq', /^(select "high_seq" from|update) "?gate_state"?|^with cur as \(select high_seq|^with v as .*\bgate_state\b/],
  ['not_passed', /^select cast\(ref_seq/],
  ['begin_commit', /^(begin|commit|rollback)\b/],
  ['revoked_check', /device_credentials/],
  // The delta publisher's passes (after the commit, outside the ingest transaction).
  ['publish_pass', /pg_try_advisory|delta_published|^select "payload" from "deltas"|^select "delta_seq" from "sites"/],
];
const OUTSIDE = new Set(['revoked_check', 'publish_pass', 'other']);
let stmts = new Map();
function record(text, ms) {
  const t = text.replace(/\s+/g, ' ').trim().toLowerCase();
  const kind = KINDS.find(([, re]) => re.test(t))?.[0] ?? 'other';
  const s = stmts.get(kind) ?? { n: 0, ms: 0 };
  s.n++;
  s.ms += ms;
  stmts.set(kind, s);
}
const pgQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, values, cb) {
  const text = typeof config === 'string' ? config : (config?.text ?? '');
  const t0 = nowMs();
  const r = pgQuery.call(this, config, values, cb);
  if (r && typeof r.then === 'function') r.then(() => record(text, nowMs() - t0), () => {});
  return r;
};
{
  const probe = new Database(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('select 1'));
  for (const m of ['run', 'all', 'get']) {
    const orig = proto[m];
    proto[m] = function (...args) {
      const t0 = nowMs();
      try {
        return orig.apply(this, args);
      } finally {
        record(this.source, nowMs() - t0);
      }
    };
  }
  probe.close();
}
let bridgeBusyMs = 0;
const storeGroup = EntriesIngest.prototype.storeGroup;
EntriesIngest.prototype.storeGroup = async function (group) {
  const t0 = nowMs();
  try {
    return await storeGroup.call(this, group);
  } finally {
    bridgeBusyMs += nowMs() - t0;
  }
};

// ---- CPU of the parties ------------------------------------------------------------------

const brokerPid = pidListening(Number(new URL(MQTT_URL).port || 1883));

async function pgBackendPids(appName) {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  const r = await c.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [appName]);
  await c.end();
  return r.rows.map((x) => x.pid);
}

/** Measure one load run: `consumed()` ends it. Returns wall ms and CPU ms per party. */
async function measured(site, tag, consumed, appName) {
  stmts = new Map();
  const broker = new CpuMeter();
  const backends = new CpuMeter();
  let cpu0;
  let m0;
  const before = appName ? await pgBackendPids(appName) : [];
  const { ms, pubCpuMs } = await loadRun(MQTT_URL, site, tag, EVENTS, consumed, {
    started: () => {
      cpu0 = process.cpuUsage();
      m0 = machineCpu();
      if (brokerPid) broker.start([brokerPid]);
      backends.start(before);
    },
  });
  const cpu = process.cpuUsage(cpu0);
  const m1 = machineCpu();
  const during = stmts;
  stmts = new Map();
  if (brokerPid) broker.sample([brokerPid]);
  if (appName) backends.sample(await pgBackendPids(appName));
  return {
    ms,
    stmts: during,
    cpu: {
      node_s: (cpu.user + cpu.system) / 1e6,
      publisher_s: pubCpuMs / 1000,
      broker_s: brokerPid ? broker.total() / 1000 : NaN,
      pg_backends_s: appName ? backends.total() / 1000 : NaN,
      machine_busy_pct: (100 * (m1.busyMs - m0.busyMs)) / (m1.totalMs - m0.totalMs),
    },
  };
}

async function database(dialect, tag) {
  if (dialect === 'sqlite') return { db: { sqlitePath: join(dir, `${tag}.db`) }, appName: null };
  const appName = `bench-${RUN}-${tag}`;
  const url = await pgSchema(PG_URL, `${RUN}${tag}`, cleanups);
  return { db: { databaseUrl: `${url}&application_name=${appName}` }, appName };
}

/** A run's figures per message (ms): the pipeline busy time, each statement kind, JS inside the transaction, and outside it. */
function pipeline(r, kinds) {
  const inTx = [...r.stmts].filter(([k]) => !OUTSIDE.has(k)).reduce((a, [, v]) => a + v.ms, 0);
  const out = { busy_ms_per_msg: r.busyMs / r.messages };
  for (const k of kinds) out[k] = (r.stmts.get(k)?.ms ?? 0) / r.messages;
  out.js_in_tx = Math.max(0, r.busyMs - inTx) / r.messages;
  for (const k of OUTSIDE) if (r.stmts.has(k)) out[`outside_tx_${k}`] = r.stmts.get(k).ms / r.messages;
  return out;
}

/** Median of each key over the runs (keys of the first run). */
function medians(rows) {
  const out = {};
  for (const k of Object.keys(rows[0])) {
    const v = rows.map((r) => r[k]).filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    out[k] = v.length ? v[Math.floor((v.length - 1) / 2)] : NaN;
  }
  return out;
}
const fmtAll = (o, decimals) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fmt(v, k.endsWith('pct') || k.endsWith('per_s') ? 0 : decimals)]));

async function floorRun(dialect, rep) {
  const site = `${RUN}-floor${dialect}${rep}`;
  const { db, appName } = await database(dialect, `floor${rep}`);
  const floor = await startIngestFloor({ mqttUrl: MQTT_URL, site, group: `grp-${site}`, clientId: `floor-${site}`, db });
  try {
    const r = await measured(site, `floor-${dialect}`, () => floor.state.inserted >= EVENTS, appName);
    return { ...r, busyMs: floor.state.busyMs, messages: floor.state.messages, commits: floor.state.commits };
  } finally {
    await floor.close();
  }
}

async function bridgeRun(dialect, rep) {
  const id = `${RUN}-${dialect}${rep}`;
  const site = cloudSite(id, ingestGates());
  const { db, appName } = await database(dialect, `bridge${rep}`);
  const bridge = await startCloudBridge({ ...db, mqttUrl: MQTT_URL, httpPort: 0, sites: [site.config], sharedGroup: `grp-${id}`, clientId: `cloud-${id}`, sessionExpirySec: 60, logger: silent });
  try {
    if (FILLFACTOR && dialect === 'postgres') await sql`ALTER TABLE tickets SET (fillfactor = ${sql.lit(FILLFACTOR)})`.execute(bridge.store.db);
    await seedIngestTickets(bridge, id, `${dialect}${rep}`, EVENTS);
    bridgeBusyMs = 0;
    const r = await measured(id, `${dialect}${rep}`, () => bridge.metrics.inserted >= EVENTS, appName);
    return { ...r, busyMs: bridgeBusyMs, messages: bridge.metrics.received, commits: bridge.metrics.ingestCommits };
  } finally {
    await bridge.close();
  }
}

/** Median µs per call of `fn` over `n` calls, in 20 rounds. */
function micro(fn, n = 200) {
  const rounds = [];
  for (let r = 0; r < 20; r++) {
    const t0 = nowMs();
    for (let i = 0; i < n / 20; i++) fn(i);
    rounds.push(((nowMs() - t0) * 1000) / (n / 20));
  }
  return rounds.sort((a, b) => a - b)[10];
}

function nodeSideCosts() {
  const site = cloudSite('micro', ['g1']);
  const keys = new SiteKeys([site.config]);
  const at = new Date().toISOString();
  const events = Array.from({ length: INGEST_BATCH }, (_, i) => ({ eventId: randomUUID(), seq: String(i + 1), epoch: 1, kind: 'admit', ticketId: `BENCHx${String(i).padStart(9, '0')}`, typeId: 'adult', credential: 'qr', persons: 1, at }));
  const payload = Buffer.from(JSON.stringify({ v: 1, site: 'micro', gate: 'g1', events }));
  const changes = events.map((e) => ({ op: 'used-elsewhere', ticketId: e.ticketId, gate: 'g1', entriesUsed: 1 }));
  const limiter = new LaneRateLimiter(() => 5);
  const delta = keys.sign('micro', { v: 1, site: 'micro', seq: '1', changes });
  return {
    parse_validate: micro(() => EntriesMessageSchema.safeParse(JSON.parse(payload.toString('utf8')))),
    judge: micro(() => judgeAdmissions('micro', 'g1', events, keys.offlineKeys('micro'), limiter, Date.now())),
    sign_delta: micro((i) => keys.sign('micro', { v: 1, site: 'micro', seq: String(i), changes })),
    sign_receipt: micro((i) => keys.sign('micro', { v: 1, site: 'micro', gate: 'g1', from: String(i), to: String(i + 199), firstEventId: events[0].eventId, lastEventId: events[199].eventId })),
    stringify_delta: micro(() => JSON.stringify(delta)),
    delta_bytes: JSON.stringify(delta).length,
  };
}

async function main() {
  mkdirSync(dir, { recursive: true });
  note(`ingest breakdown: broker ${MQTT_URL} (pid ${brokerPid ?? '?'}), PostgreSQL ${PG_URL.replace(/\/\/[^@/]*@/, '//')}, ${EVENTS} events, run ${RUN}`);
  const kinds = ['insert_entries', 'ticket_usage', 'store_delta', 'allocate_seq', 'gate_known', 'high_seq', 'not_passed', 'begin_commit'];
  for (const dialect of STORES) {
    const runs = [];
    for (let rep = 1; rep <= REPEAT; rep++) {
      const floor = await floorRun(dialect, rep);
      const bridge = await bridgeRun(dialect, rep);
      if (bridge.messages !== EVENTS / INGEST_BATCH) note(`${dialect}: the bridge received ${bridge.messages} messages for ${EVENTS / INGEST_BATCH} published (redeliveries)`);
      const rate = (r) => (EVENTS / r.ms) * 1000;
      runs.push({ floor, bridge, ratio: rate(bridge) / rate(floor) });
      note(`${dialect} #${rep}: floor ${rate(floor).toFixed(0)}/s, bridge ${rate(bridge).toFixed(0)}/s, ratio ${fmt(rate(bridge) / rate(floor))}`);
    }
    const ratios = runs.map((r) => r.ratio).sort((a, b) => a - b);
    const head = medians(
      runs.map(({ floor, bridge, ratio }) => ({
        floor_events_per_s: (EVENTS / floor.ms) * 1000,
        bridge_events_per_s: (EVENTS / bridge.ms) * 1000,
        ratio_floor: ratio,
        floor_ms_per_msg: floor.ms / floor.messages,
        bridge_ms_per_msg: bridge.ms / bridge.messages,
        floor_msgs_per_commit: floor.messages / floor.commits,
        bridge_msgs_per_commit: bridge.messages / bridge.commits,
      })),
    );
    line({ store: dialect, ...fmtAll(head, 3), ratio_min: fmt(ratios[0]), ratio_max: fmt(ratios[ratios.length - 1]), runs: REPEAT }, '(medians)');
    for (const run of ['floor', 'bridge']) {
      const m = medians(runs.map((r) => ({ wall_s: r[run].ms / 1000, ...r[run].cpu })));
      line({ store: dialect, run, ...fmtAll(m, 2) }, '(CPU seconds during the run, medians)');
    }
    line({ store: dialect, run: 'floor', ...fmtAll(medians(runs.map((r) => pipeline(r.floor, ['insert_entries', 'begin_commit']))), 3) }, '(ms per message, medians)');
    line({ store: dialect, run: 'bridge', ...fmtAll(medians(runs.map((r) => pipeline(r.bridge, kinds))), 3) }, '(ms per message, medians)');
  }
  const c = nodeSideCosts();
  line({ ...Object.fromEntries(Object.entries(c).map(([k, v]) => [k, k === 'delta_bytes' ? v : fmt(v, 1)])) }, `(µs per ${INGEST_BATCH}-event message; delta_bytes: its signed used-elsewhere delta)`);
}

try {
  await main();
} finally {
  await cleanup();
}
