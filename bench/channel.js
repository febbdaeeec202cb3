// Sales channel API figures: availability reads and order writes through the cloud-bridge's
// HTTP API, on SQLite and on PostgreSQL (BENCH_PG, default postgres://postgres@127.0.0.1:5432/test),
// with the bridge on the real Mosquitto (BENCH_MQTT, default mqtt://127.0.0.1:1883). The load
// comes from a second process (bench/channel-load.js, forked); the baseline is a bare
// node:http server in this process answering a fixed ~1 KB JSON, hit by the same child.
//
// stdout: one `key=value` line per figure (see bench/README.md); stderr: progress.
// Nothing is asserted. The site id, MQTT client ids, idempotency keys and the PostgreSQL
// schema are unique to this run; the schema and the temp folder are removed at the end
// (also on Ctrl-C).
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { generateSigningKeyPair } from '../config/dist/index.js';
import { startCloudBridge } from '../cloud-bridge/dist/index.js';
import { DEMO_API_KEYS, demoCatalogue } from '../demo/dist/catalogue.js';
import { fmt, intEnv, line, note, pgSchema } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const MQTT_URL = process.env.BENCH_MQTT ?? 'mqtt://127.0.0.1:1883';
const PG_URL = process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const SECONDS = intEnv('BENCH_CHANNEL_SECONDS', 5);
const READ_CONCURRENCY = intEnv('BENCH_CHANNEL_CONCURRENCY', 32);
const ORDER_CONCURRENCY = Math.max(1, Math.floor(READ_CONCURRENCY / 2));
const WARMUP_S = 1;
const DATES = 30; // future visit dates the orders (and availability reads) are spread over
const DAILY_CAPACITY = 1_000_000;
const SLOT_QUOTA = 1_000_000; // the catalogue's maximum
// BENCH_CHANNEL_ONLY=orders runs only those parts (bare, availability, orders).
const ONLY = new Set((process.env.BENCH_CHANNEL_ONLY ?? 'bare,availability,orders').split(',').map((s) => s.trim()));


const RUN = `b${process.pid}${Date.now().toString(36)}`;
const dir = join(root, '.bench-tmp', `channel-${process.pid}-${Date.now()}`);
const silent = pino({ level: 'silent' });
const cleanups = [];
let cleaning = null;
let interrupted = false;
/** Runs once; every caller waits for the same run (Ctrl-C and the main path's finally). */
function cleanup() {
  cleaning ??= (async () => {
    for (const c of cleanups.reverse()) await c().catch((err) => note(`cleanup: ${err.message}`));
    rmSync(dir, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM'])
  process.once(sig, () => {
    interrupted = true;
    note(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });

/** Register `fn` for cleanup and return a once-only version to call on the normal path. */
function onCleanup(fn) {
  let done = false;
  const once = async () => {
    if (done) return;
    done = true;
    await fn();
  };
  cleanups.push(once);
  return once;
}

/** The park's visit dates: from the day after tomorrow (park time), DATES days. */
function visitDates() {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).format(Date.now());
  const [y, m, d] = today.split('-').map(Number);
  return Array.from({ length: DATES }, (_, k) => new Date(Date.UTC(y, m - 1, d + 2 + k)).toISOString().slice(0, 10));
}

/** Fork the load child, give it `job`, resolve with its result. */
async function load(tag, job) {
  const child = fork(join(here, 'channel-load.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const kill = onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  try {
    const result = await new Promise((resolve, reject) => {
      let got = null;
      child.on('message', (m) => {
        if (m.ready) child.send({ warmupS: WARMUP_S, seconds: SECONDS, ...job });
        if (m.result) got = m.result;
      });
      child.on('error', reject);
      child.on('exit', (code) => (got ? resolve(got) : reject(new Error(`${tag}: load child exited with ${code} and no result`))));
    });
    const rate = result.count / result.seconds;
    const cpu = (result.cpuUserMs + result.cpuSystemMs) / (result.seconds * 1000);
    note(
      `${tag}: ${result.count} answers in ${result.seconds} s = ${rate.toFixed(0)}/s, p50 ${fmt(result.p50)} ms p99 ${fmt(result.p99)} ms max ${fmt(result.max)} ms, ` +
        `statuses ${JSON.stringify(result.statuses)}, transport errors ${result.errors}, load child CPU ${(cpu * 100).toFixed(0)} % of one core`,
    );
    if (result.sample) note(`${tag}: e.g. ${result.sample.status} ${result.sample.body}`);
    return { ...result, rate };
  } finally {
    await kill();
  }
}

/** A bare node:http server: drains the request, answers a fixed ~1 KB JSON (201 to a POST, else 200). */
async function bareServer() {
  const slots = ['early', 's08', 's10', 's12', 's14', 's16', 'night'].map((slotId, i) => ({ slotId, start: `${String(6 + 2 * i).padStart(2, '0')}:00`, end: `${String(8 + 2 * i).padStart(2, '0')}:00`, quota: 1000, remaining: 1000, almostFull: false }));
  const types = ['adult', 'child', 'senior'].map((typeId) => ({ typeId, name: typeId, persons: 1, unitFen: 8000, discounts: [] }));
  const payload = Buffer.from(JSON.stringify({ site: 'bare', channel: 'wechat', date: '2030-01-01', open: true, paused: false, capacity: { daily: 5000, sold: 0, remaining: 4249, percent: 0 }, almostFull: false, slots, types }));
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json', 'content-length': payload.length });
      res.end(payload);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const close = onCleanup(
    () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${server.address().port}`, bytes: payload.length, close };
}

/** A cloud-bridge with one site that sells: the demo catalogue with every slot quota raised, a large daily capacity. */
async function salesBridge(dialect, groupCommit = true) {
  const id = `${RUN}-${dialect}${groupCommit ? '' : '-single'}`;
  const pair = generateSigningKeyPair('ck1');
  const cat = demoCatalogue();
  const catalogue = { ...cat, slots: cat.slots.map((s) => ({ ...s, quota: SLOT_QUOTA })) };
  const sales = {
    catalogue,
    capacity: { daily: DAILY_CAPACITY, yellow: 0.7, orange: 0.85 },
    idHashKey: `bench-id-hash-key-${RUN}-0123456789abcdef`,
    staffTokenSha256: createHash('sha256').update(`bench-staff-${RUN}`).digest('hex'),
  };
  const site = { id, controlKey: { id: pair.keyId, privateKeyPem: pair.privateKeyPem }, gates: ['g1'], sales };
  const tag = groupCommit ? '' : 's';
  const db = dialect === 'sqlite' ? { sqlitePath: join(dir, `cloud-channel${tag}.db`) } : { databaseUrl: await pgSchema(PG_URL, `${RUN}${tag}`, cleanups) };
  // demoMode: the demo catalogue's channels use the public demo keys. groupCommit false: each
  // order its own transaction (how orders were committed before group commit).
  const bridge = await startCloudBridge({ ...db, mqttUrl: MQTT_URL, httpPort: 0, sites: [site], sharedGroup: `grp-${id}`, clientId: `cloud-${id}`, sessionExpirySec: 60, demoMode: true, logger: silent, salesOptions: { groupCommit } });
  const close = onCleanup(() => bridge.close());
  return { bridge, id, url: `http://127.0.0.1:${bridge.httpPort}`, slots: catalogue.slots.map((s) => s.id), close };
}

const auth = { authorization: `Bearer ${DEMO_API_KEYS.wechat}` };

/**
 * One order on every (date, slot) before the reads, so availability reads days that have
 * inventory rows, as a selling park's days do. Not timed.
 */
async function seed(b, dates) {
  const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  // Region 110101, a real birth date, sequence: what the cloud's ID-number checks accept.
  const idNumber = (n) => {
    const body = `110101${new Date(Date.UTC(1960, 0, 1) + Math.floor(n / 999) * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '')}${String((n % 999) + 1).padStart(3, '0')}`;
    let sum = 0;
    for (let i = 0; i < 17; i++) sum += Number(body[i]) * WEIGHTS[i];
    return body + '10X98765432'[sum % 11];
  };
  let n = 0;
  const bad = {};
  for (const date of dates) {
    await Promise.all(
      b.slots.map(async (slotId) => {
        const i = ++n;
        const res = await globalThis.fetch(`${b.url}/v1/channel/orders`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': `${RUN}-seed-${i}` },
          body: JSON.stringify({ typeId: 'adult', date, slotId, contactPhone: '13800138000', visitors: [{ name: `种子${i}`, idNumber: idNumber(i) }] }),
        });
        const body = await res.text();
        if (res.status !== 201) bad[res.status] = body.slice(0, 200);
      }),
    );
  }
  if (Object.keys(bad).length > 0) note(`seed: unexpected answers ${JSON.stringify(bad)}`);
  const sample = await globalThis.fetch(`${b.url}/v1/channel/availability?date=${dates[0]}`, { headers: auth });
  const text = await sample.text();
  note(`seed: ${n} orders (one per date and slot); an availability answer is ${sample.status}, ${Buffer.byteLength(text)} bytes`);
}

async function dialectRuns(dialect, dates, bare) {
  const b = await salesBridge(dialect);
  const out = {};
  try {
    await seed(b, dates);
    if (ONLY.has('availability')) {
      const paths = dates.map((d) => `/v1/channel/availability?date=${d}`);
      out.availability = await load(`availability ${dialect}`, { url: b.url, kind: 'get', concurrency: READ_CONCURRENCY, headers: auth, paths });
      // The bare server again right after, while the bridge still runs: on a shared machine the
      // load of other tenants drifts, and the ratio against the adjacent bare figure drifts less.
      if (bare) out.bareGet = await load(`bare GET beside ${dialect}`, { url: bare.url, kind: 'get', concurrency: READ_CONCURRENCY, headers: auth, paths });
    }
    if (ONLY.has('orders')) {
      out.orders = await load(`orders ${dialect}`, { url: b.url, kind: 'order', concurrency: ORDER_CONCURRENCY, headers: auth, run: `${RUN}-${dialect}`, dates, slots: b.slots, typeId: 'adult' });
      const stored = await b.bridge.store.db.selectFrom('orders').select((eb) => eb.fn.countAll().as('n')).where('site', '=', b.id).executeTakeFirstOrThrow();
      note(`orders ${dialect}: ${stored.n} orders stored (seed + warm-up + measured + those finishing after the window)`);
      const g = b.bridge.sales.groupCommits;
      note(`orders ${dialect}: group commit put ${g.orders} orders (seed included) into ${g.transactions} transactions, ${(g.orders / Math.max(1, g.transactions)).toFixed(1)} per commit`);
    }
  } finally {
    await b.close();
  }
  if (ONLY.has('orders')) {
    // The same orders with one transaction (and one durable commit) per order, as before group commit.
    const single = await salesBridge(dialect, false);
    try {
      out.ordersSingle = await load(`orders ${dialect} (one commit per order)`, { url: single.url, kind: 'order', concurrency: ORDER_CONCURRENCY, headers: auth, run: `${RUN}-${dialect}-single`, dates, slots: single.slots, typeId: 'adult' });
    } finally {
      await single.close();
    }
  }
  return out;
}

const nonOk = (r, ok) => (r ? Object.entries(r.statuses).reduce((s, [code, n]) => (Number(code) === ok ? s : s + n), 0) + r.errors : 0);

async function main() {
  mkdirSync(dir, { recursive: true });
  note(`channel bench: broker ${MQTT_URL}, PostgreSQL ${PG_URL.replace(/\/\/[^@/]*@/, '//')}, run ${RUN}, ${SECONDS} s after ${WARMUP_S} s warm-up, concurrency ${READ_CONCURRENCY} reads / ${ORDER_CONCURRENCY} orders, ${availableParallelism()} CPUs`);
  const dates = visitDates();
  // Which lines: bare alone gives both baselines; availability/orders alone only their own.
  const readsLine = ONLY.has('availability') || (ONLY.has('bare') && !ONLY.has('orders'));
  const ordersLine = ONLY.has('orders') || (ONLY.has('bare') && !ONLY.has('availability'));

  // Baseline: the same child against a bare node:http server, GET and POST.
  let bareGet;
  let barePost;
  let bareServerForReads;
  if (ONLY.has('bare')) {
    const bare = await bareServer();
    note(`bare: fixed answer of ${bare.bytes} bytes`);
    if (readsLine) bareGet = await load('bare GET', { url: bare.url, kind: 'get', concurrency: READ_CONCURRENCY, headers: auth, paths: dates.map((d) => `/v1/channel/availability?date=${d}`) });
    if (ordersLine) barePost = await load('bare POST', { url: bare.url, kind: 'order', concurrency: ORDER_CONCURRENCY, headers: auth, run: `${RUN}-bare`, dates, slots: ['s10'], typeId: 'adult' });
    bareServerForReads = bare;
  }

  const sqlite = ONLY.has('availability') || ONLY.has('orders') ? await dialectRuns('sqlite', dates, bareServerForReads) : {};
  const pgr = ONLY.has('availability') || ONLY.has('orders') ? await dialectRuns('postgres', dates, bareServerForReads) : {};
  await bareServerForReads?.close();

  const rate = (r) => (r ? r.rate : NaN);
  const ms = (r, k) => fmt(r ? r[k] : NaN);
  if (readsLine) {
    const a = { s: sqlite.availability, p: pgr.availability };
    line(
      {
        availability_sqlite_req_per_s: rate(a.s).toFixed(0),
        availability_pg_req_per_s: rate(a.p).toFixed(0),
        bare_http_req_per_s: rate(bareGet).toFixed(0),
        ratio_availability_sqlite: fmt(rate(a.s) / rate(bareGet)),
        ratio_availability_pg: fmt(rate(a.p) / rate(bareGet)),
        p50_sqlite_ms: ms(a.s, 'p50'),
        p99_sqlite_ms: ms(a.s, 'p99'),
        p50_pg_ms: ms(a.p, 'p50'),
        p99_pg_ms: ms(a.p, 'p99'),
        bare_p99_ms: ms(bareGet, 'p99'),
        bare_beside_sqlite_req_per_s: rate(sqlite.bareGet).toFixed(0),
        bare_beside_pg_req_per_s: rate(pgr.bareGet).toFixed(0),
        ratio_availability_sqlite_adjacent: fmt(rate(a.s) / rate(sqlite.bareGet)),
        ratio_availability_pg_adjacent: fmt(rate(a.p) / rate(pgr.bareGet)),
        non_200: nonOk(a.s, 200) + nonOk(a.p, 200),
        concurrency: READ_CONCURRENCY,
        seconds: SECONDS,
      },
      '(informative)',
    );
  }
  if (ordersLine) {
    const o = { s: sqlite.orders, p: pgr.orders };
    line(
      {
        orders_sqlite_per_s: rate(o.s).toFixed(0),
        orders_pg_per_s: rate(o.p).toFixed(0),
        orders_sqlite_single_commit_per_s: rate(sqlite.ordersSingle).toFixed(0),
        orders_pg_single_commit_per_s: rate(pgr.ordersSingle).toFixed(0),
        bare_http_post_per_s: rate(barePost).toFixed(0),
        ratio_orders_sqlite: fmt(rate(o.s) / rate(barePost)),
        ratio_orders_pg: fmt(rate(o.p) / rate(barePost)),
        p50_sqlite_ms: ms(o.s, 'p50'),
        p99_sqlite_ms: ms(o.s, 'p99'),
        p50_pg_ms: ms(o.p, 'p50'),
        p99_pg_ms: ms(o.p, 'p99'),
        non_201: nonOk(o.s, 201) + nonOk(o.p, 201) + nonOk(sqlite.ordersSingle, 201) + nonOk(pgr.ordersSingle, 201),
        concurrency: ORDER_CONCURRENCY,
        seconds: SECONDS,
      },
      '(informative)',
    );
  }
}

try {
  await main();
} catch (err) {
  // After Ctrl-C the killed load child fails the run: the signal handler exits once cleaned up.
  if (!interrupted) throw err;
} finally {
  await cleanup();
}
