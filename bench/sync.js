// Gate ↔ cloud sync figures against the real Mosquitto (BENCH_MQTT, default
// mqtt://127.0.0.1:1883) and PostgreSQL (BENCH_PG, default postgres://postgres@127.0.0.1:5432/test).
//
// stdout: one `key=value` line per figure (see bench/README.md); stderr: progress.
// Nothing is asserted. Every site id and PostgreSQL schema is unique to this run and
// removed at the end (also on Ctrl-C).
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { connectAsync } from 'mqtt';
import pino from 'pino';
import { loadGateConfig, MqttSchema, topics } from '../config/dist/index.js';
import { startCloudBridge } from '../cloud-bridge/dist/index.js';
import { startGateDaemon } from '../gate-agent/dist/daemon/gate-daemon.js';
import { openGate } from '../gate-agent/dist/daemon/gate-context.js';
import { createDemoSite, newTicketId } from '../demo/dist/site.js';
import { importSnapshot } from '../gate-agent/dist/store/index.js';
import { startIngestFloor } from './ingest-floor.js';
import { cloudSite, ingestGates, loadRun as publisherRun, seedIngestTickets, sleep, waitUntil } from './ingest-lib.js';
import { fmt, intEnv, line, note, nowMs, pgSchema, runCleanup, startOutageProxy, summarize } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const MQTT_URL = process.env.BENCH_MQTT ?? 'mqtt://127.0.0.1:1883';
const PG_URL = process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const INGEST_EVENTS = intEnv('BENCH_INGEST_EVENTS', 100_000);
const DRAIN_EVENTS = 10_000;
const DELTA_SAMPLES = intEnv('BENCH_DELTAS', 500);
const DELTA_GATES = 3;
// BENCH_SYNC_ONLY=postgres,drain runs only those parts (bare, floor, sqlite, postgres, drain,
// delta; floor = the bare insert consumer on each store selected by sqlite/postgres).
const ONLY = new Set((process.env.BENCH_SYNC_ONLY ?? 'bare,floor,sqlite,postgres,drain,delta').split(',').map((s) => s.trim()));


const RUN = `b${process.pid}${Date.now().toString(36)}`;
const dir = join(root, '.bench-tmp', `sync-${process.pid}-${Date.now()}`);
const silent = pino({ level: 'silent' });
const { cleanups, cleanup } = runCleanup(dir);

const loadRun = async (site, tag, consumed) => (await publisherRun(MQTT_URL, site, tag, INGEST_EVENTS, consumed)).ms;

async function bareSubscriber() {
  const site = `${RUN}-bare`;
  const client = await connectAsync(MQTT_URL, { protocolVersion: 5, clientId: `bench-bare-${RUN}`, reconnectPeriod: 0 });
  let events = 0;
  client.on('message', (_t, payload) => {
    events += JSON.parse(payload.toString('utf8')).events.length;
  });
  await client.subscribeAsync(topics.entries(site, '+'), { qos: 1 });
  const ms = await loadRun(site, 'bare', () => events >= INGEST_EVENTS);
  await client.endAsync();
  return (INGEST_EVENTS / ms) * 1000;
}

/** The floor (bench/ingest-floor.js): receive, parse, multi-row insert into an `entries` table of the same shape, PUBACK after commit. */
async function floorIngest(dialect) {
  const site = `${RUN}-floor${dialect}`;
  const db = dialect === 'sqlite' ? { sqlitePath: join(dir, 'floor-ingest.db') } : { databaseUrl: await pgSchema(PG_URL, `${RUN}floor`, cleanups) };
  const floor = await startIngestFloor({ mqttUrl: MQTT_URL, site, group: `grp-${site}`, clientId: `floor-${site}`, db });
  try {
    const ms = await loadRun(site, `floor-${dialect}`, () => floor.state.inserted >= INGEST_EVENTS);
    note(`floor-${dialect}: ${JSON.stringify(floor.state)} (${(floor.state.messages / Math.max(1, floor.state.commits)).toFixed(1)} messages per commit)`);
    return (INGEST_EVENTS / ms) * 1000;
  } finally {
    await floor.close();
  }
}

async function bridgeIngest(dialect) {
  const id = `${RUN}-${dialect}`;
  const site = cloudSite(id, ingestGates());
  const db = dialect === 'sqlite' ? { sqlitePath: join(dir, 'cloud-ingest.db') } : { databaseUrl: await pgSchema(PG_URL, RUN, cleanups) };
  const bridge = await startCloudBridge({ ...db, mqttUrl: MQTT_URL, httpPort: 0, sites: [site.config], sharedGroup: `grp-${id}`, clientId: `cloud-${id}`, sessionExpirySec: 60, logger: silent });
  try {
    // The tickets were sold through the cloud, so it knows them (as the publisher names them).
    await seedIngestTickets(bridge, id, dialect, INGEST_EVENTS);
    const ms = await loadRun(id, dialect, () => bridge.metrics.inserted >= INGEST_EVENTS);
    const stored = await bridge.sync.countEntries(id);
    const m = bridge.metrics;
    note(`${dialect}: entries stored ${stored}, metrics ${JSON.stringify({ received: m.received, inserted: m.inserted, duplicates: m.duplicates, dbErrors: m.dbErrors, commits: m.ingestCommits })} (${(m.received / Math.max(1, m.ingestCommits)).toFixed(1)} messages per commit)`);
    return (INGEST_EVENTS / ms) * 1000;
  } finally {
    await bridge.close();
  }
}

async function gateSite(name, tickets, siteId, controlPublicKey, mqtt) {
  const site = await createDemoSite(join(dir, name), { tickets });
  const base = loadGateConfig(site.configPath);
  const cfg = {
    ...base,
    site: { ...base.site, id: siteId },
    gate: { ...base.gate, id: name },
    keys: { ...base.keys, control: [{ id: 'ck1', publicKey: controlPublicKey }] },
    mqtt: MqttSchema.parse({ clientId: `stile-${siteId}-${name}`, sessionExpirySec: 60, ...mqtt }),
  };
  const { store } = openGate(cfg, silent);
  await importSnapshot(store.db, site.whitelistPath);
  store.close();
  return { site, cfg };
}

async function drain() {
  const siteId = `${RUN}-drain`;
  const proxy = await startOutageProxy(MQTT_URL);
  cleanups.push(() => proxy.close());
  // The cloud (SQLite): the gate deletes outbox rows on the cloud's receipt (entries/ack),
  // which the bridge sends after its commit.
  const cs = cloudSite(siteId, ['drain-1']);
  const bridge = await startCloudBridge({ sqlitePath: join(dir, 'cloud-drain.db'), mqttUrl: MQTT_URL, httpPort: 0, sites: [cs.config], sharedGroup: `grp-${siteId}`, clientId: `cloud-${siteId}`, sessionExpirySec: 60, logger: silent });
  cleanups.push(() => bridge.close());
  const { cfg } = await gateSite('drain-1', DRAIN_EVENTS + 100, siteId, cs.publicKey, { url: proxy.url, batchSize: 200, reconnectMinMs: 20, reconnectMaxMs: 50 });
  const daemon = startGateDaemon({ ...cfg, inputs: [] }, silent);
  cleanups.push(() => daemon.stop());

  // The admissions, written while the broker is unreachable, through a second connection
  // to the gate's database (the same transaction the gatekeeper uses).
  const { store } = openGate(cfg, silent);
  const now = Date.now();
  const ids = store.db.prepare('SELECT ticket_id AS id FROM tickets LIMIT ?').all(DRAIN_EVENTS).map((r) => r.id);
  // Sold through the cloud: it believes admissions only of tickets it issued.
  const visitDate = new Date().toISOString().slice(0, 10);
  await bridge.whitelist.upsertTickets(bridge.store.db, siteId, ids.map((ticketId) => ({ ticketId, typeId: 'adult', status: 'valid', visitDate, persons: 1, entriesUsed: 0 })), null);
  for (const id of ids) {
    const t = store.getTicket(id);
    store.recordAdmission({ ticket: { ...t, entriesUsed: t.entriesUsed + 1 }, credential: 'qr', persons: t.persons, at: now, gateSite: siteId, gateId: cfg.gate.id });
  }
  note(`drain: ${ids.length} admissions in the outbox (depth ${store.outboxDepth()}), broker unreachable`);

  const sub = await connectAsync(MQTT_URL, { protocolVersion: 5, clientId: `bench-drain-${RUN}`, reconnectPeriod: 0 });
  const seen = new Set();
  sub.on('message', (_t, payload) => {
    for (const e of JSON.parse(payload.toString('utf8')).events) seen.add(e.eventId);
  });
  await sub.subscribeAsync(topics.entries(siteId, cfg.gate.id), { qos: 1 });
  await sleep(300);

  const t0 = nowMs();
  proxy.refuse = false;
  await waitUntil(() => store.outboxDepth() === 0 && seen.size >= ids.length, 'outbox drained', 120_000, 2);
  const s = (nowMs() - t0) / 1000;
  note(`drain: outbox empty, ${seen.size} distinct events at the subscriber, ${bridge.metrics.inserted} stored by the cloud`);
  store.close();
  await sub.endAsync();
  return { s, events: seen.size };
}

async function deltas() {
  const siteId = `${RUN}-delta`;
  const gates = Array.from({ length: DELTA_GATES }, (_, i) => `gate-${i + 1}`);
  const cs = cloudSite(siteId, gates);
  const bridge = await startCloudBridge({ sqlitePath: join(dir, 'cloud-delta.db'), mqttUrl: MQTT_URL, httpPort: 0, sites: [cs.config], sharedGroup: `grp-${siteId}`, clientId: `cloud-${siteId}`, sessionExpirySec: 60, logger: silent });
  cleanups.push(() => bridge.close());
  const running = [];
  for (const g of gates) {
    const { cfg } = await gateSite(g, 100, siteId, cs.publicKey, { url: MQTT_URL, reconnectMinMs: 50, reconnectMaxMs: 300 });
    const daemon = startGateDaemon({ ...cfg, inputs: [] }, silent);
    cleanups.push(() => daemon.stop());
    const reader = new Database(cfg.store.path, { readonly: true });
    cleanups.push(() => Promise.resolve(reader.close()));
    running.push({ daemon, has: reader.prepare('SELECT 1 FROM tickets WHERE ticket_id = ?').pluck() });
  }
  await waitUntil(() => running.every((g) => g.daemon.sync?.status.connected), 'gates connected', 30_000);
  await sleep(300);
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).format(Date.now());
  const ticket = () => ({ ticketId: newTicketId(), typeId: 'adult', status: 'valid', visitDate: today, persons: 1, entriesUsed: 0 });
  // The generated whitelists are at seq 1: the first delta (seq 1) is one they already have.
  // Warm up past it, and wait until every gate applied the last warm-up delta.
  let warm;
  for (let i = 0; i < 5; i++) {
    warm = ticket();
    await bridge.publishChanges(siteId, [{ op: 'upsert', ticket: warm }]);
  }
  await waitUntil(() => running.every((g) => g.has.get(warm.ticketId)), 'warm-up delta applied', 30_000);

  const all = [];
  const perGate = [];
  for (let n = 0; n < DELTA_SAMPLES; n++) {
    const t = ticket();
    const t0 = nowMs();
    await bridge.publishChanges(siteId, [{ op: 'upsert', ticket: t }]);
    const pending = new Set(running);
    let last = 0;
    await waitUntil(
      () => {
        for (const g of pending) {
          if (g.has.get(t.ticketId)) {
            last = nowMs() - t0;
            perGate.push(last);
            pending.delete(g);
          }
        }
        return pending.size === 0;
      },
      `delta ${n} on every gate`,
      30_000,
      0,
    );
    all.push(last);
  }
  const g = summarize(perGate);
  note(`delta: per gate p50 ${fmt(g.p50)} ms p99 ${fmt(g.p99)} ms max ${fmt(g.max)} ms (${g.n} applications)`);
  return summarize(all);
}

async function main() {
  mkdirSync(dir, { recursive: true });
  note(`sync bench: broker ${MQTT_URL}, PostgreSQL ${PG_URL.replace(/\/\/[^@/]*@/, '//')}, run ${RUN}`);

  // (a) ingest: the bare subscriber, then per store the floor consumer and the bridge, same publisher child.
  const bare = ONLY.has('bare') ? await bareSubscriber() : NaN;
  const floorSqlite = ONLY.has('floor') && ONLY.has('sqlite') ? await floorIngest('sqlite') : NaN;
  const sqlite = ONLY.has('sqlite') ? await bridgeIngest('sqlite') : NaN;
  const floorPg = ONLY.has('floor') && ONLY.has('postgres') ? await floorIngest('postgres') : NaN;
  const pgRate = ONLY.has('postgres') ? await bridgeIngest('postgres') : NaN;
  line(
    { ingest_sqlite_events_per_s: sqlite.toFixed(0), ingest_pg_events_per_s: pgRate.toFixed(0), bare_subscriber_events_per_s: bare.toFixed(0), ratio_sqlite: fmt(sqlite / bare), ratio_pg: fmt(pgRate / bare) },
    '(targets sqlite>=20000 pg>=10000)',
  );
  line(
    { floor_sqlite_events_per_s: floorSqlite.toFixed(0), floor_pg_events_per_s: floorPg.toFixed(0), ratio_floor_sqlite: fmt(sqlite / floorSqlite), ratio_floor_pg: fmt(pgRate / floorPg), floor: 'insert-per-message,grouped-commit' },
    '(target ratio_floor>=0.5)',
  );

  // (b) outbox drain after an outage.
  if (ONLY.has('drain')) {
    const d = await drain();
    line({ drain_10k_s: fmt(d.s), events: d.events }, '(target <=5)');
  }

  // (c) sale → every gate.
  if (ONLY.has('delta')) {
    const lat = await deltas();
    line({ delta_p50_ms: fmt(lat.p50), delta_p99_ms: fmt(lat.p99), gates: DELTA_GATES, samples: lat.n }, '(target p99<=1000)');
  }
}

try {
  await main();
} finally {
  await cleanup();
}
