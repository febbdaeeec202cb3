// The SaaS fleet, simulated: N parks × 10 gates as real MQTT sessions (bench/fleet-gates.js
// children) against one private Mosquitto and two cloud-bridge instances on PostgreSQL
// (bench/fleet-cloud.js children, MQTT 5 shared subscription), each park at its peak: 5
// admissions/s and a sale every ~3 s. Steps up the number of parks (BENCH_FLEET_STEPS,
// default 10,25,50,100,250,500,1000) and stops after the first step that does not hold (unless
// BENCH_FLEET_CONTINUE=1), printing one `key=value` line per step and the first limit hit.
//
// Everything is on loopback; the broker, the PostgreSQL schema (one per step, `bench_<run>s<n>`)
// and the temp folder are this run's own and removed at the end (also on Ctrl-C).
// stdout: one line per step, then the summary; stderr: progress. Nothing is asserted.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { sql } from 'kysely';
import { generateSigningKeyPair } from '../config/dist/index.js';
import { fmt, intEnv, line, note, pgSchema, summarize } from './lib.js';
import { machineCpu, procStat } from './proc.js';

const here = dirname(fileURLToPath(import.meta.url));
// Another build of the cloud (its dist/index.js) to measure instead of this checkout's: the children use it too.
const CLOUD = process.env.BENCH_FLEET_CLOUD ? resolvePath(process.env.BENCH_FLEET_CLOUD) : join(here, '..', 'cloud-bridge', 'dist', 'index.js');
const { CloudStore, WhitelistRepository } = await import(pathToFileURL(CLOUD).href);
const PG_URL = process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const STEPS = (process.env.BENCH_FLEET_STEPS ?? '10,25,50,100,250,500,1000').split(',').map((s) => Number(s.trim()));
const GATES = intEnv('BENCH_FLEET_GATES', 10);
const RATE = Number(process.env.BENCH_FLEET_RATE ?? 5); // admissions/s per park at its peak
const SALE_S = Number(process.env.BENCH_FLEET_SALE_S ?? 3); // seconds between a park's sales (±50 %)
const WARMUP_S = intEnv('BENCH_FLEET_WARMUP', 5);
const SECONDS = intEnv('BENCH_FLEET_SECONDS', 20);
const GRACE_S = intEnv('BENCH_FLEET_GRACE', 5);
const GATE_PROCS = intEnv('BENCH_FLEET_GATE_PROCS', 2);
const CONTINUE = process.env.BENCH_FLEET_CONTINUE === '1';
const BUDGET_S = intEnv('BENCH_FLEET_BUDGET_S', 480); // no new step starts after this long
// The cloud's `mqtt.ingestConnections` (default 8, at most 32): messages in flight per instance.
const INGEST_CONNECTIONS = process.env.BENCH_FLEET_INGEST_CONNECTIONS ? intEnv('BENCH_FLEET_INGEST_CONNECTIONS', 8) : undefined;
/** A step holds when p99s stay within these and (almost) nothing is left unanswered. */
const LAG_P99_MAX_MS = 1000;
const SALE_P99_MAX_MS = 1000;
const MISSING_MAX = 0.005;
const SATURATED_PCT = 90; // of one core, for a single-threaded process (broker, a cloud instance)

const RUN = `f${process.pid}${Date.now().toString(36)}`;
const dir = join(here, '..', '.bench-tmp', `fleet-${process.pid}-${Date.now()}`);
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cleanups = [];
let cleaning = null;
function cleanup() {
  cleaning ??= (async () => {
    for (const c of cleanups.reverse()) await c().catch((err) => note(`cleanup: ${err.message}`));
    rmSync(dir, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM'])
  process.once(sig, () => {
    note(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });

/** The soft and hard open-files limits of this process. */
function fdLimits() {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  const n = (s) => (s === 'unlimited' ? Infinity : Number(s));
  return m ? { soft: n(m[1]), hard: n(m[2]) } : { soft: NaN, hard: NaN };
}

/** Spawn `argv` with the open-files soft limit raised to the hard limit (no setrlimit in Node). */
function spawnRaised(argv, opts) {
  return spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'sh', ...argv], opts);
}

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function portOpen(port) {
  return new Promise((resolve) => {
    const c = netConnect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

/** A private Mosquitto: no connection cap, no persistence, Nagle off, queues unbounded (the steps are short). */
async function startBroker() {
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_connections -1', 'max_inflight_messages 0', 'max_queued_messages 0', 'set_tcp_nodelay true', 'log_type error', 'log_type warning', ''].join('\n'),
  );
  const p = spawnRaised(['mosquitto', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  p.stderr.on('data', (d) => (log = (log + d.toString()).slice(-4000)));
  cleanups.push(async () => {
    if (p.exitCode === null) {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
  });
  const until = Date.now() + 10_000;
  while (!(await portOpen(port))) {
    if (p.exitCode !== null || Date.now() > until) throw new Error(`mosquitto did not start: ${log}`);
    await sleep(50);
  }
  const limits = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${p.pid}/limits`, 'utf8'))?.[1];
  return { port, url: `mqtt://127.0.0.1:${port}`, pid: p.pid, fdLimit: Number(limits), log: () => log };
}

/** A child with IPC; `request(msg, answer)` sends and waits for the reply whose cmd is `answer`. */
function child(script, name) {
  const p = spawnRaised([process.execPath, join(here, script)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, BENCH_FLEET_CLOUD: CLOUD } });
  const waiting = new Map();
  p.on('message', (m) => {
    const w = waiting.get(m.cmd);
    if (w) {
      waiting.delete(m.cmd);
      w.resolve(m);
    }
  });
  const exited = new Promise((r) => p.once('exit', r));
  p.once('exit', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`${name} exited (${code})`));
    waiting.clear();
  });
  const c = {
    pid: p.pid,
    send: (m) => p.connected && p.send(m),
    request: (m, answer, timeoutMs = 300_000) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${name}: no ${answer} within ${timeoutMs} ms`)), timeoutMs);
        waiting.set(answer, { resolve: (x) => (clearTimeout(t), resolve(x)), reject: (e) => (clearTimeout(t), reject(e)) });
        p.send(m);
      }),
    close: async () => {
      if (p.exitCode !== null || p.signalCode !== null) return;
      c.send({ cmd: 'close' });
      const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return c;
}

/** CPU (% of one core) and peak RSS of processes, sampled every second. */
class Sampler {
  constructor() {
    this.groups = new Map();
    this.timer = null;
  }
  /** `pids()` may change between samples (PostgreSQL backends). */
  add(name, pids) {
    this.groups.set(name, { pids, first: new Map(), last: new Map(), rssKb: 0 });
  }
  tick() {
    for (const g of this.groups.values()) {
      let rss = 0;
      for (const pid of g.pids()) {
        const s = procStat(pid);
        if (!s) continue;
        if (!g.first.has(pid)) g.first.set(pid, this.started ? 0 : s.cpuMs);
        g.last.set(pid, s.cpuMs);
        rss += s.rssKb;
      }
      g.rssKb = Math.max(g.rssKb, rss);
    }
  }
  start() {
    this.started = false;
    this.t0 = now();
    this.m0 = machineCpu();
    this.tick();
    this.started = true;
    this.timer = setInterval(() => this.tick(), 1000);
  }
  stop() {
    clearInterval(this.timer);
    this.tick();
    const wall = now() - this.t0;
    const m1 = machineCpu();
    const out = { machine_busy_pct: (100 * (m1.busyMs - this.m0.busyMs)) / (m1.totalMs - this.m0.totalMs) };
    for (const [name, g] of this.groups) {
      let cpu = 0;
      for (const [pid, v] of g.last) cpu += v - g.first.get(pid);
      out[`${name}_cpu_pct`] = (100 * cpu) / wall;
      out[`${name}_rss_mb`] = g.rssKb / 1024;
    }
    return out;
  }
}

function ticketsPerPark() {
  return Math.ceil(RATE * (WARMUP_S + SECONDS + GRACE_S + 10) * 1.2) + 20;
}

async function step(broker, parks) {
  const t0 = now();
  const url = await pgSchema(PG_URL, `${RUN}s${parks}`, cleanups);
  const sites = [];
  for (let i = 0; i < parks; i++) {
    const pair = generateSigningKeyPair('ck1');
    sites.push({ id: `${RUN}-p${i}`, controlKey: { id: pair.keyId, privateKeyPem: pair.privateKeyPem }, gates: Array.from({ length: GATES }, (_, g) => `g${String(g + 1).padStart(2, '0')}`) });
  }
  // Schema, and the tickets the cloud sold (admissions of tickets it never issued are anomalies).
  const store = await CloudStore.open({ databaseUrl: url });
  const visitDate = new Date().toISOString().slice(0, 10);
  const perPark = ticketsPerPark();
  // Builds before the store was split kept the tickets' queries on CloudStore.
  const ticketRows = WhitelistRepository ? new WhitelistRepository(store) : store;
  for (let i = 0; i < parks; i++) {
    const tickets = Array.from({ length: perPark }, (_, n) => ({ ticketId: `T${String(i).padStart(4, '0')}x${String(n + 1).padStart(6, '0')}`, typeId: 'adult', status: 'valid', visitDate, persons: 1, entriesUsed: 0 }));
    await ticketRows.upsertTickets(store.db, sites[i].id, tickets, null);
  }
  await sql`ANALYZE`.execute(store.db);
  await store.close();
  note(`${parks} parks: schema and ${parks * perPark} tickets in ${((now() - t0) / 1000).toFixed(1)} s`);

  const apps = [1, 2].map((i) => `fleet-${RUN}-c${i}`);
  const clouds = [1, 2].map((i) => child('fleet-cloud.js', `cloud ${i}`));
  const gateProcs = [];
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  let backendPids = [];
  const refreshBackends = async () => {
    backendPids = (await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = ANY($1)', [apps])).rows.map((r) => r.pid);
  };
  try {
    const tc = now();
    await Promise.all(
      clouds.map((c, i) =>
        c.request({ cmd: 'start', databaseUrl: `${url}&application_name=${apps[i]}`, mqttUrl: broker.url, sites, sharedGroup: `fleet-${RUN}-s${parks}`, clientId: `fleet-${RUN}-s${parks}-c${i + 1}`, ingestConnections: INGEST_CONNECTIONS }, 'ready'),
      ),
    );
    note(`${parks} parks: 2 cloud instances up in ${((now() - tc) / 1000).toFixed(1)} s`);

    // Parks split between the gate processes; all gates of a park in one (sale → every gate is timed there).
    const tg = now();
    const per = Math.ceil(parks / GATE_PROCS);
    const ready = [];
    for (let k = 0; k * per < parks; k++) {
      const c = child('fleet-gates.js', `gates ${k + 1}`);
      gateProcs.push(c);
      const mine = sites.slice(k * per, (k + 1) * per).map((s) => ({ idx: sites.indexOf(s), site: s.id, gates: s.gates }));
      ready.push(c.request({ cmd: 'setup', port: broker.port, run: RUN, parks: mine }, 'ready'));
    }
    const up = await Promise.all(ready);
    const connected = up.reduce((a, r) => a + r.connected, 0);
    const failed = up.reduce((a, r) => a + r.failed, 0);
    note(`${parks} parks: ${connected}/${parks * GATES} gate sessions in ${((now() - tg) / 1000).toFixed(1)} s${failed ? `, ${failed} failed (${up.find((r) => r.firstError)?.firstError})` : ''}`);

    // Run: warm-up, measured window, grace for the last receipts and deltas.
    const sampler = new Sampler();
    sampler.add('broker', () => [broker.pid]);
    clouds.forEach((c, i) => sampler.add(`cloud${i + 1}`, () => [c.pid]));
    sampler.add('pg', () => backendPids);
    sampler.add('gates', () => gateProcs.map((c) => c.pid));
    const go = now() + 200;
    const measureFrom = go + WARMUP_S * 1000;
    const measureUntil = measureFrom + SECONDS * 1000;
    for (const c of gateProcs) c.send({ cmd: 'go', ratePerPark: RATE, measureFrom, measureUntil });
    const sellers = [[], []];
    sites.forEach((s, i) => sellers[i % 2].push({ site: s.id, park: i }));
    clouds.forEach((c, i) => c.send({ cmd: 'sell', sellSites: sellers[i], saleEveryMs: SALE_S * 1000 }));
    await sleep(measureFrom - now());
    await refreshBackends();
    sampler.start();
    const refresher = setInterval(() => void refreshBackends().catch(() => {}), 2000);
    await sleep(measureUntil - now());
    clearInterval(refresher);
    const usage = sampler.stop();
    // Everyone else on the machine, in % of one core (the machine's busy share × its cores).
    const ours = ['broker', 'cloud1', 'cloud2', 'pg', 'gates'].reduce((a, k) => a + usage[`${k}_cpu_pct`], 0);
    usage.others_cpu_pct = Math.max(0, (usage.machine_busy_pct * availableParallelism()) - ours);
    // The clouds' PostgreSQL sessions by state: many `idle in transaction` that stay so = a stall.
    const states = (await admin.query('SELECT state, count(*)::int AS n FROM pg_stat_activity WHERE application_name = ANY($1) GROUP BY state', [apps])).rows;
    const idleInTx = states.find((r) => r.state === 'idle in transaction')?.n ?? 0;
    for (const c of gateProcs) c.send({ cmd: 'stop' });
    for (const c of clouds) c.send({ cmd: 'stop' });
    await sleep(GRACE_S * 1000);

    const results = await Promise.all(gateProcs.map((c) => c.request({ cmd: 'result' }, 'result')));
    const cloudRes = await Promise.all(clouds.map((c) => c.request({ cmd: 'result' }, 'result')));
    const count = (k) => results.reduce((a, r) => a + r.counts[k], 0);
    const lag = summarize(results.flatMap((r) => r.lag));
    const sale = summarize(results.flatMap((r) => r.sale));
    const offered = count('publishedInWindow');
    const unreceipted = count('unreceipted');
    const salesIncomplete = count('salesIncomplete');
    const salesInWindow = sale.n + salesIncomplete;
    // Stored-side view: received_at (set in the ingest transaction) − at, for the window.
    const from = new Date(measureFrom).toISOString();
    const until = new Date(measureUntil).toISOString();
    const db = (
      await admin.query(
        `SELECT count(*)::int AS n, count(anomaly)::int AS anomalies,
                percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM received_at::timestamptz - at::timestamptz) * 1000) AS p99
         FROM bench_${RUN}s${parks}.entries WHERE at >= $1 AND at < $2`,
        [from, until],
      )
    ).rows[0];
    const m = cloudRes.map((r) => r.metrics);
    const pipe = cloudRes.map((r) => r.timing);
    note(
      `${parks} parks: cloud pipeline ${JSON.stringify(pipe.map((t, i) => ({ busy_pct: +fmt((100 * t.busyMs) / t.wallMs / (t.pipelines ?? 1), 0), pipelines: t.pipelines ?? 1, msgs_per_commit: +fmt(m[i].received / Math.max(1, m[i].ingestCommits), 1), stmts_per_s: +fmt((1000 * t.stmts) / t.wallMs, 0), stmt_mean_ms: +fmt(t.stmtMs / Math.max(1, t.stmts), 2) })))}`,
    );
    const sales = cloudRes.map((r) => r.sales);
    note(
      `${parks} parks: cloud ingest ${JSON.stringify(m.map((x) => ({ received: x.received, inserted: x.inserted, commits: x.ingestCommits, dbErrors: x.dbErrors, anomalies: x.anomalies, invalid: x.invalid, deltasPublished: x.deltasPublished, publishErrors: x.publishErrors })))}`,
    );
    note(
      `${parks} parks: sales ${JSON.stringify(sales.map((s) => ({ started: s.started, done: s.done, failed: s.failed, skipped: s.skipped, call_p99_ms: +fmt(summarize(s.callMs).p99, 1), firstError: s.firstError })))}; stored in window ${db.n} (${db.anomalies} anomalies), received_at − at p99 ${fmt(Number(db.p99), 1)} ms`,
    );
    note(`${parks} parks: gates ${JSON.stringify({ published: count('published'), receipts: count('receipts'), deltas: count('deltas'), heads: count('heads'), disconnects: count('disconnects'), errors: count('errors'), up: count('up') })}`);

    const missing = offered ? unreceipted / offered : 0;
    const saleMissing = salesInWindow ? salesIncomplete / salesInWindow : 0;
    const problems = [];
    if (connected < parks * GATES) problems.push('connections');
    // An instance whose whole pool (10) sits idle in transaction and stops answering: stalled, not slow.
    if (offered > 0 && (missing > 0.9 || (missing > 0.25 && idleInTx >= 10))) problems.push('stalled');
    if (count('disconnects') > 0) problems.push('disconnects');
    if (!(lag.p99 <= LAG_P99_MAX_MS) || missing > MISSING_MAX) problems.push('ingest');
    if (!(sale.p99 <= SALE_P99_MAX_MS) || saleMissing > MISSING_MAX) problems.push('sales');
    const cloudDbErrors = m.reduce((a, x) => a + x.dbErrors, 0);
    if (cloudDbErrors > 0) problems.push('db_errors');
    const verdict = problems.length === 0 ? 'ok' : `fail:${problems.join('+')}`;
    const r = {
      fleet_parks: parks,
      gates: parks * GATES,
      connected,
      admissions_per_s: fmt(offered / SECONDS, 0),
      ingest_lag_p50_ms: fmt(lag.p50, 1),
      ingest_lag_p99_ms: fmt(lag.p99, 1),
      unreceipted,
      sale_p50_ms: fmt(sale.p50, 1),
      sale_p99_ms: fmt(sale.p99, 1),
      sales: salesInWindow,
      sales_incomplete: salesIncomplete,
      pg_idle_in_tx: idleInTx,
      ...Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, fmt(v, 0)])),
      verdict,
    };
    return { r, usage, problems, connected, idleInTx, pipe: pipe.map((t, i) => ({ busyPct: (100 * t.busyMs) / t.wallMs / (t.pipelines ?? 1), pipelines: t.pipelines ?? 1, stmtMs: t.stmts ? t.stmtMs / t.stmts : NaN, stmtsPerMsg: m[i].received ? t.stmts / m[i].received : NaN })) };
  } finally {
    for (const c of gateProcs) await c.close();
    for (const c of clouds) await c.close();
    await admin.end();
  }
}

/** Name what ran out first, from the step's problems and who was saturated. */
function limitOf(s, broker) {
  if (s.problems.includes('connections')) return `connections (${s.connected} of ${s.r.gates}; broker open-files limit ${broker.fdLimit})`;
  if (s.problems.includes('stalled'))
    return `a cloud instance stalled (${s.r.unreceipted} admissions never receipted; ${s.idleInTx} of the instances' PostgreSQL sessions idle in transaction at the end; see bench/README.md, the fleet section)`;
  const u = s.usage;
  const single = [
    ['broker CPU (Mosquitto is one thread)', u.broker_cpu_pct],
    ['cloud instance 1 CPU (one event loop)', u.cloud1_cpu_pct],
    ['cloud instance 2 CPU (one event loop)', u.cloud2_cpu_pct],
  ].filter(([, v]) => v >= SATURATED_PCT);
  if (single.length) return single.sort((a, b) => b[1] - a[1])[0][0];
  const busiest = Math.max(...s.pipe.map((p) => p.busyPct));
  if (busiest >= 75) {
    const p = s.pipe;
    return `the cloud's ingest pipeline (${p.map((x) => x.pipelines).join('/')} group transactions at a time per instance, each pipeline busy ${p.map((x) => fmt(x.busyPct, 0)).join('/')} %; ${p.map((x) => fmt(x.stmtsPerMsg, 1)).join('/')} PostgreSQL statements per admission message at ${p.map((x) => fmt(x.stmtMs, 2)).join('/')} ms each; instance CPU ${fmt(u.cloud1_cpu_pct, 0)}/${fmt(u.cloud2_cpu_pct, 0)} %, PostgreSQL ${fmt(u.pg_cpu_pct, 0)} % of a core; machine ${fmt(u.machine_busy_pct, 0)} % busy, other processes ${fmt(u.others_cpu_pct, 0)} % of a core)`;
  }
  if (u.machine_busy_pct >= 95)
    return `the bench machine (all cores ${fmt(u.machine_busy_pct, 0)} % busy; % of one core: PostgreSQL ${fmt(u.pg_cpu_pct, 0)}, clouds ${fmt(u.cloud1_cpu_pct, 0)}+${fmt(u.cloud2_cpu_pct, 0)}, broker ${fmt(u.broker_cpu_pct, 0)}, gate simulators ${fmt(u.gates_cpu_pct, 0)}, other processes ${fmt(u.others_cpu_pct, 0)})`;
  return 'latency without a saturated process: the cloud\'s ingest (its commit pipelines) or PostgreSQL';
}

async function main() {
  mkdirSync(dir, { recursive: true });
  const fd = fdLimits();
  const broker = await startBroker();
  note(`fleet: cloud ${CLOUD}`);
  note(`fleet: broker ${broker.url} (pid ${broker.pid}, open files ${broker.fdLimit}), PostgreSQL ${PG_URL.replace(/\/\/[^@/]*@/, '//')}, this process open files ${fd.soft}/${fd.hard}, run ${RUN}`);
  note(`fleet: ${GATES} gates a park, ${RATE} admissions/s a park, a sale every ~${SALE_S} s a park; ${WARMUP_S} s warm-up, ${SECONDS} s measured, ${GRACE_S} s grace; steps ${STEPS.join(',')}; ingest connections per instance ${INGEST_CONNECTIONS ?? 'default (8)'}`);
  const done = [];
  let limit = null;
  const started = now();
  for (const parks of STEPS) {
    if (now() - started > BUDGET_S * 1000) {
      note(`${parks} parks: not started, the ${BUDGET_S} s budget is spent (BENCH_FLEET_BUDGET_S)`);
      break;
    }
    const needed = Math.ceil((parks * GATES) / GATE_PROCS) + 100;
    if (needed > fd.hard || parks * GATES + 200 > broker.fdLimit) {
      limit = `open files: ${parks * GATES} sessions need more than the hard limit (${fd.hard}; broker ${broker.fdLimit})`;
      note(`${parks} parks: skipped, ${limit}`);
      break;
    }
    const s = await step(broker, parks);
    line(s.r, `(targets ingest_lag_p99_ms<=${LAG_P99_MAX_MS} sale_p99_ms<=${SALE_P99_MAX_MS})`);
    done.push(s);
    if (s.problems.length > 0) {
      limit ??= limitOf(s, broker);
      if (!CONTINUE) break;
    }
  }
  const held = done.filter((s) => s.problems.length === 0).map((s) => s.r.fleet_parks);
  line({ fleet_max_parks_ok: held.length ? Math.max(...held) : 0, first_failing_parks: done.find((s) => s.problems.length)?.r.fleet_parks ?? 'none', steps: done.map((s) => s.r.fleet_parks).join(',') }, `first_limit="${limit ?? 'none reached'}"`);
}

try {
  await main();
} finally {
  await cleanup();
}
