// Mixed operation (issue #13 points 2 and 5): cloud-bridge instance(s) on PostgreSQL and N
// in-process gate daemons on the real Mosquitto (BENCH_MQTT, default mqtt://127.0.0.1:1883;
// BENCH_PG, default postgres://postgres@127.0.0.1:5432/test). The gates scan tickets at a
// steady rate while the cloud sells; at the end, per gate and in total: deltas applied, gap
// detections, HTTP resyncs, and an independent observer's check of the delta order on the
// broker. Before that, a short burst measures ingest with one and with two instances.
//
// Each cloud-bridge instance is a child process (this file with `--cloud`, IPC), as in
// production, and so is the observer (`--observer`). The gates are in this process, each
// gate daemon on a worker thread of its own (this file again), so one gate's synchronous
// SQLite commits (fsync) do not hold up the others, as on separate devices.
// stdout: the `key=value` lines (see bench/README.md); stderr: progress. Nothing is asserted.
// Site ids, client ids, PostgreSQL schemas (`bench_<run>…`) and the temp folder are this
// run's own and removed at the end (also on Ctrl-C); a watchdog ends a run that hangs.
import { fork } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import pino from 'pino';

const here = dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);
// The cloud build a child runs (its dist/index.js): this checkout's unless BENCH_MIXED_CLOUD names
// another; BENCH_MIXED_BASELINE names a second build whose mixed run goes first, as the baseline.
const CLOUD = process.env.BENCH_MIXED_CLOUD ? resolvePath(process.env.BENCH_MIXED_CLOUD) : join(here, '..', 'cloud-bridge', 'dist', 'index.js');
const BASELINE = process.env.BENCH_MIXED_BASELINE ? resolvePath(process.env.BENCH_MIXED_BASELINE) : null;

const epochMs = () => performance.timeOrigin + performance.now();

if (!isMainThread && workerData?.role === 'gate') await gateWorker();
else if (process.argv[2] === '--cloud') await cloudChild();
else if (process.argv[2] === '--observer') await observerChild();
else await mainProcess();

/** Answer the parent's IPC requests ({id, cmd, …}) with `handlers[cmd]`; `close` exits after its answer. */
function serve(handlers) {
  process.on('message', (m) => {
    void (async () => {
      try {
        const r = await handlers[m.cmd](m);
        process.send({ id: m.id, ok: true, r }, () => m.cmd === 'close' && process.exit(0));
      } catch (err) {
        process.send({ id: m.id, ok: false, error: err.stack ?? err.message });
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));
}

/** What one gate's log says, counted by event (a pino destination we read). */
function gateLog() {
  const counts = {};
  const recent = [];
  const stream = {
    write(s) {
      const m = /"event":"([a-z_]+)"/.exec(s);
      if (!m) return;
      const ev = m[1];
      counts[ev] = (counts[ev] ?? 0) + 1;
      if (ev === 'resync_done') {
        const how = /"how":"([a-z]+)"/.exec(s)?.[1] ?? '?';
        counts[`resync_${how}`] = (counts[`resync_${how}`] ?? 0) + 1;
      }
      if (/^(whitelist_gap|whitelist_behind|resync_|changes_gone|snapshot_|control_dropped|mqtt_disconnected|message_failed)/.test(ev)) {
        recent.push(s.trim());
        if (recent.length > 5) recent.shift();
      }
    },
  };
  return { log: pino({ level: 'info' }, stream), counts, recent };
}

// ---------------------------------------------------------------------------------------
// One gate: startGateDaemon on a worker thread, its scans driven here, its log counted.
// ---------------------------------------------------------------------------------------
async function gateWorker() {
  const { startGateDaemon } = await import('../gate-agent/dist/daemon/gate-daemon.js');
  const Database = (await import('better-sqlite3')).default;
  const { cfg } = workerData;
  const glog = gateLog();
  const daemon = startGateDaemon(cfg, glog.log);
  const reader = new Database(cfg.store.path, { readonly: true });
  const depth = reader.prepare('SELECT count(*) AS n FROM outbox').pluck();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const outcomes = { admit: 0 };
  const scans = { done: 0, skipped: 0, timer: null };
  const record = (o) => {
    const k = o.decision === 'admit' ? 'admit' : o.reason;
    outcomes[k] = (outcomes[k] ?? 0) + 1;
    return k;
  };
  const scan = (ticketId) => daemon.scan({ kind: 'qr', text: `ST1:${ticketId}` }).then(record, (err) => record({ reason: `error:${err.message}` }));
  const stopScans = () => {
    clearTimeout(scans.timer);
    scans.timer = null;
  };
  let stopped = false;
  const handlers = {
    status() {
      const st = daemon.sync.status;
      return {
        sync: { connected: st.connected, deltasApplied: st.deltasApplied, deltasIgnored: st.deltasIgnored, resyncCount: st.resync.count, whitelistSeq: st.whitelistSeq, disconnects: st.disconnects, dropped: st.dropped },
        counts: glog.counts,
        recent: glog.recent,
        outcomes,
        scans: { done: scans.done, skipped: scans.skipped },
        outboxDepth: depth.get(),
        loopP99Ms: loop.percentile(99) / 1e6,
        loopMaxMs: loop.max / 1e6,
      };
    },
    resetLoop() {
      loop.reset();
      return {};
    },
    // One scan every `period` ms from `firstDue` (epoch ms), through this gate's tickets. A slot that
    // passed while the thread was busy is skipped, not fired in a burst (the cloud's lane rate check
    // would store a burst as anomalies).
    startScans({ tickets, period, firstDue }) {
      let i = 0;
      let due = firstDue;
      const tick = () => {
        if (scans.timer === null) return;
        const id = tickets[i++];
        if (id !== undefined) {
          scans.done++;
          void scan(id);
        }
        due += period;
        const now = epochMs();
        while (due < now) {
          due += period;
          scans.skipped++;
        }
        scans.timer = setTimeout(tick, due - now);
      };
      scans.timer = setTimeout(tick, Math.max(0, due - epochMs()));
      return {};
    },
    stopScans() {
      stopScans();
      return {};
    },
    async scan({ ticketId }) {
      return { outcome: await scan(ticketId) };
    },
    async close() {
      stopScans();
      if (!stopped) {
        stopped = true;
        reader.close();
        await daemon.stop();
      }
      return {};
    },
  };
  parentPort.on('message', (m) => {
    void (async () => {
      try {
        parentPort.postMessage({ id: m.id, ok: true, r: await handlers[m.cmd](m) });
      } catch (err) {
        parentPort.postMessage({ id: m.id, ok: false, error: err.stack ?? err.message });
      }
    })();
  });
}

// ---------------------------------------------------------------------------------------
// The independent observer: a plain MQTT client in a process of its own (so the gates'
// synchronous SQLite work cannot delay what it sees), subscribed to the site's delta topic.
// ---------------------------------------------------------------------------------------
async function observerChild() {
  const { connectAsync } = await import('mqtt');
  const obs = { messages: 0, inversions: 0, duplicates: 0, differing: 0, highest: 0, firstInversions: [] };
  const bodies = new Map();
  const firstAt = new Map();
  let client;
  serve({
    async start(m) {
      client = await connectAsync(m.mqttUrl, { protocolVersion: 5, clientId: m.clientId, reconnectPeriod: 0 });
      client.on('message', (_t, payload) => {
        const at = epochMs();
        const body = payload.toString('utf8');
        const seq = Number(JSON.parse(body).seq);
        obs.messages++;
        const seen = bodies.get(seq);
        if (seen !== undefined) {
          // A repeat (republished after a crash) is harmless: gates ignore it.
          obs.duplicates++;
          if (seen !== body) obs.differing++;
        } else {
          // Seen for the first time after a higher one: a gate would detect a gap and resync.
          if (seq < obs.highest) {
            obs.inversions++;
            if (obs.firstInversions.length < 5) obs.firstInversions.push(`${seq} after ${obs.highest}`);
          }
          bodies.set(seq, body);
          firstAt.set(seq, at);
        }
        obs.highest = Math.max(obs.highest, seq);
      });
      await client.subscribeAsync(m.topic, { qos: 1 });
      return {};
    },
    status() {
      return { ...obs, distinct: bodies.size };
    },
    result() {
      const seqs = [...bodies.keys()].sort((a, b) => a - b);
      // Seqs never seen between 1 and the highest.
      let missing = seqs.length > 0 ? seqs[0] - 1 : 0;
      for (let i = 1; i < seqs.length; i++) missing += seqs[i] - seqs[i - 1] - 1;
      return { ...obs, distinct: bodies.size, missing, firstAt: [...firstAt] };
    },
    async close() {
      await client?.endAsync(true);
      return {};
    },
  });
}

// ---------------------------------------------------------------------------------------
// The cloud child: one startCloudBridge, driven over IPC.
// ---------------------------------------------------------------------------------------
async function cloudChild() {
  const http = await import('node:http');
  const { startCloudBridge, WhitelistPublisher } = await import(pathToFileURL(CLOUD).href);
  // Diagnostics (stderr only), where the build has them: how long one publishing pass takes
  // (read the unpublished deltas, publish them and the head, wait for the PUBACKs, mark them
  // published), and how long a run of passes lasts — what an announce() caller waits for.
  const pub = { passes: [], runs: [] };
  const P = WhitelistPublisher?.prototype;
  if (P && typeof P.publishPending === 'function' && typeof P.kick === 'function') {
    const publishPending = P.publishPending;
    P.publishPending = async function (...args) {
      const t = epochMs();
      try {
        return await publishPending.apply(this, args);
      } finally {
        pub.passes.push(epochMs() - t);
      }
    };
    const kick = P.kick;
    P.kick = function (site) {
      const fresh = !this.running.has(site);
      const t = epochMs();
      const p = kick.call(this, site);
      if (fresh) void p.finally(() => pub.runs.push(epochMs() - t));
      return p;
    };
  }
  const { newTicketId } = await import('../config/dist/index.js');
  const { sql } = await import('kysely');
  // Requests reaching this instance's HTTP listener, by route (the gates' resyncs).
  const httpCounts = { changes: 0, snapshot: 0, other: 0 };
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function (ev, req, ...rest) {
    if (ev === 'request') {
      const path = String(req.url ?? '').split('?')[0];
      if (path.endsWith('/whitelist/changes')) httpCounts.changes++;
      else if (path.endsWith('/whitelist/snapshot')) httpCounts.snapshot++;
      else httpCounts.other++;
    }
    return emit.call(this, ev, req, ...rest);
  };
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let bridge;
  const sales = { started: 0, done: 0, failed: 0, firstError: null, inFlight: new Set(), ms: [] };
  let sellTimer = null;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();

  const handlers = {
    async start(m) {
      const logger = pino({ level: process.env.BENCH_MIXED_CLOUD_LOG ?? 'warn', base: { instance: m.clientId } }, pino.destination(2));
      bridge = await startCloudBridge({ databaseUrl: m.databaseUrl, mqttUrl: m.mqttUrl, httpPort: 0, sites: m.sites, sharedGroup: m.sharedGroup, clientId: m.clientId, sessionExpirySec: 60, logger });
      return { httpPort: bridge.httpPort };
    },
    async issue(m) {
      const out = {};
      for (const g of m.gates) out[g] = await bridge.registry.issue(m.site, 'gate', g);
      return out;
    },
    async tickets(m) {
      // Sold through the cloud: it believes admissions only of tickets it issued.
      for (let i = 0; i < m.tickets.length; i += 5000) await bridge.whitelist.upsertTickets(bridge.store.db, m.site, m.tickets.slice(i, i + 5000), null);
      if (bridge.store.dialect === 'postgres') await sql`ANALYZE`.execute(bridge.store.db);
      return { n: m.tickets.length };
    },
    sell(m) {
      // Sales as the channel API makes them: one new ticket per publishChanges, calls may overlap.
      const once = () => {
        const ticket = { ticketId: newTicketId(), typeId: 'adult', status: 'valid', visitDate: m.visitDate, persons: 1, entriesUsed: 0 };
        sales.started++;
        const at = epochMs();
        const p = bridge.publishChanges(m.site, [{ op: 'upsert', ticket }]).then(
          (delta) => {
            sales.done++;
            const ms = epochMs() - at;
            sales.ms.push(ms);
            process.send({ sold: ticket.ticketId, seq: Number(delta.seq), at, ms });
          },
          (err) => {
            sales.failed++;
            sales.firstError ??= err.message;
          },
        );
        sales.inFlight.add(p);
        void p.finally(() => sales.inFlight.delete(p));
      };
      const next = () => {
        sellTimer = setTimeout(() => {
          once();
          next();
        }, (1000 / m.perSecond) * (0.5 + Math.random()));
      };
      next();
      return {};
    },
    async stopSelling() {
      clearTimeout(sellTimer);
      sellTimer = null;
      await Promise.allSettled([...sales.inFlight]);
      return {};
    },
    async count(m) {
      return { entries: await bridge.sync.countEntries(m.site), head: await bridge.whitelist.headSeq(m.site) };
    },
    result() {
      const cpu = process.cpuUsage(cpu0);
      const pctl = (arr, f) => {
        const a = Float64Array.from(arr).sort();
        return a.length ? a[Math.min(a.length - 1, Math.ceil(f * a.length) - 1)] : NaN;
      };
      const q = (f) => pctl(sales.ms, f);
      const dist = (arr) => ({ n: arr.length, p50Ms: pctl(arr, 0.5), p99Ms: pctl(arr, 0.99), maxMs: pctl(arr, 1) });
      return {
        metrics: bridge.metrics.toJSON(),
        sales: { started: sales.started, done: sales.done, failed: sales.failed, firstError: sales.firstError, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: q(1) },
        saleMs: sales.ms,
        publisher: pub.passes.length > 0 ? { passes: dist(pub.passes), runs: dist(pub.runs) } : null,
        http: httpCounts,
        cpuPct: ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100,
        loopMaxMs: loop.max / 1e6,
        loopP99Ms: loop.percentile(99) / 1e6,
      };
    },
    async close() {
      clearTimeout(sellTimer);
      await bridge?.close();
      return {};
    },
  };
  serve(handlers);
}

// ---------------------------------------------------------------------------------------
// The bench: gates, observer, scan driver, figures.
// ---------------------------------------------------------------------------------------
async function mainProcess() {
  const Database = (await import('better-sqlite3')).default;
  const { generateSigningKeyPair, loadGateConfig, localDate, MqttSchema, newTicketId, topics } = await import('../config/dist/index.js');
  const { openGate } = await import('../gate-agent/dist/daemon/gate-context.js');
  const { createDemoSite } = await import('../demo/dist/site.js');
  const { importSnapshot } = await import('../gate-agent/dist/store/index.js');
  const { fmt, intEnv, line, note, nowMs, pgSchema, startOutageProxy, summarize } = await import('./lib.js');

  const MQTT_URL = process.env.BENCH_MQTT ?? 'mqtt://127.0.0.1:1883';
  const PG_URL = process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
  const MIXED_S = intEnv('BENCH_MIXED_S', 600);
  const INSTANCES = intEnv('BENCH_MIXED_INSTANCES', 1);
  const GATES = intEnv('BENCH_MIXED_GATES', 4);
  const RATE = intEnv('BENCH_MIXED_RATE', 10); // scans per second per gate
  const SALES_PER_S = Number(process.env.BENCH_MIXED_SALES_PER_S ?? 3); // the cloud's sales, all instances together
  // Admissions per gate outbox in the ingest burst; 0 skips the burst.
  const BURST = process.env.BENCH_MIXED_BURST === '0' ? 0 : intEnv('BENCH_MIXED_BURST', 5000);
  const SOLD_SCAN_AFTER_MS = 3000; // a sold ticket is scanned at a gate this long after the sale
  const SETTLE_MS = 60_000;
  if (INSTANCES > 2) throw new Error('BENCH_MIXED_INSTANCES must be 1 or 2');
  if (!(SALES_PER_S > 0)) throw new Error('BENCH_MIXED_SALES_PER_S must be a positive number');

  const RUN = `m${process.pid}${Date.now().toString(36)}`;
  const dir = join(here, '..', '.bench-tmp', `mixed-${process.pid}-${Date.now()}`);
  const silent = pino({ level: 'silent' });
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const waitUntil = async (cond, what, timeoutMs, everyMs = 5) => {
    const until = Date.now() + timeoutMs;
    while (!(await cond())) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await sleep(everyMs);
    }
  };
  const cleanups = [];
  let cleaning = null;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const c of cleanups.reverse()) await c().catch((err) => note(`cleanup: ${err.message}`));
      rmSync(dir, { recursive: true, force: true });
    })());
  for (const sig of ['SIGINT', 'SIGTERM'])
    process.once(sig, () => {
      note(`${sig}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  // Bounded: the burst, the run, the settling and the cleanup, with room to spare.
  const watchdogS = (BASELINE ? 2 : 1) * MIXED_S + 900;
  const watchdog = setTimeout(() => {
    note(`watchdog: still running after ${watchdogS} s; cleaning up`);
    void cleanup().finally(() => process.exit(2));
  }, watchdogS * 1000);
  watchdog.unref();

  /** A child process of this file in `role` (cloud, observer) or, for `gate`, a worker thread; driven by request/answer messages. */
  function child(role, tag, data) {
    const proc =
      role === 'gate'
        ? new Worker(self, { workerData: { role, ...data } })
        : fork(self, [`--${role}`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, BENCH_MIXED_CLOUD: data?.cloud ?? CLOUD } });
    const send = (m) => (role === 'gate' ? proc.postMessage(m) : proc.send(m));
    const waiting = new Map();
    let next = 0;
    let exited = false;
    const exit = new Promise((r) => proc.once('exit', r));
    const inst = {
      tag,
      onSold: null,
      cpuPct: null,
      call(cmd, args = {}) {
        if (exited) return Promise.reject(new Error(`${role} ${tag} has exited`));
        const id = next++;
        return new Promise((resolve, reject) => {
          waiting.set(id, { resolve, reject, cmd });
          send({ ...args, cmd, id });
        });
      },
      async close() {
        if (!exited) {
          await Promise.race([inst.call('close').catch(() => undefined), sleep(15_000)]);
          if (role === 'gate') await proc.terminate();
          else if (!exited) proc.kill('SIGKILL');
        }
        await exit;
      },
    };
    proc.on('message', (m) => {
      if (m.sold) return inst.onSold?.(m);
      const w = waiting.get(m.id);
      if (!w) return;
      waiting.delete(m.id);
      if (m.ok) w.resolve(m.r);
      else w.reject(new Error(`${role} ${tag} ${w.cmd}: ${m.error}`));
    });
    proc.once('exit', (code, signal) => {
      exited = true;
      for (const w of waiting.values()) w.reject(new Error(`${role} ${tag} exited (${code ?? signal}) during ${w.cmd}`));
      waiting.clear();
    });
    if (role === 'gate') proc.on('error', (err) => note(`gate ${tag}: ${err.stack ?? err.message}`));
    cleanups.push(() => inst.close());
    return inst;
  }

  /** `n` instances on one PostgreSQL schema, in one shared-subscription group, each with its own client id. */
  async function startCloud(site, n, schemaTag, cloudPath = CLOUD) {
    const databaseUrl = await pgSchema(PG_URL, `${RUN}${schemaTag}`, cleanups);
    const instances = [];
    for (let i = 0; i < n; i++) {
      const inst = child('cloud', `${site.id}/${i}`, { cloud: cloudPath });
      const { httpPort } = await inst.call('start', { databaseUrl, mqttUrl: MQTT_URL, sites: [site], sharedGroup: `grp-${site.id}`, clientId: `cloud-${site.id}-${i}` });
      inst.httpUrl = `http://127.0.0.1:${httpPort}`;
      instances.push(inst);
    }
    return instances;
  }

  function siteConfig(id, gates, maxAdmissionsPerSecond) {
    const pair = generateSigningKeyPair('ck1');
    return { config: { id, controlKey: { id: pair.keyId, privateKeyPem: pair.privateKeyPem }, gates, maxAdmissionsPerSecond }, publicKey: pair.publicKey };
  }

  /** The site's whitelist, as sold through the cloud (all adult, today): in memory and as a snapshot file at `asOfSeq` 0. */
  async function whitelist(siteId, count, file) {
    const visitDate = localDate(Date.now(), 'Asia/Shanghai');
    const tickets = Array.from({ length: count }, () => ({ ticketId: newTicketId(), typeId: 'adult', status: 'valid', visitDate, persons: 1, entriesUsed: 0 }));
    const out = createWriteStream(file);
    out.write(`${JSON.stringify({ snapshot: { site: siteId, asOfSeq: '0' } })}\n`);
    for (const t of tickets) if (!out.write(`${JSON.stringify(t)}\n`)) await once(out, 'drain');
    out.end();
    await once(out, 'finish');
    return { tickets, visitDate };
  }

  /** A gate of `siteId`: generated config, the site's whitelist imported, its issued credential in mqtt.passwordFile. */
  async function makeGate(gateId, siteId, controlPublicKey, whitelistFile, credential, mqtt) {
    const gdir = join(dir, siteId, gateId);
    const demo = await createDemoSite(gdir, { tickets: 0 });
    const base = loadGateConfig(demo.configPath);
    const passwordFile = join(gdir, 'gate.pw');
    writeFileSync(passwordFile, `${credential.token}\n`, { mode: 0o600 });
    const cfg = {
      ...base,
      site: { ...base.site, id: siteId },
      gate: { ...base.gate, id: gateId },
      keys: { ...base.keys, control: [{ id: 'ck1', publicKey: controlPublicKey }] },
      // The turnstile is not what is measured: shortest legal pulse, no gap.
      relay: { type: 'log', pulseMs: 50, gapMs: 0 },
      inputs: [],
      mqtt: MqttSchema.parse({ username: credential.username, passwordFile, sessionExpirySec: 60, ...mqtt }),
    };
    const { store } = openGate(cfg, silent);
    await importSnapshot(store.db, whitelistFile);
    store.close();
    return cfg;
  }

  /** The gate daemon on a worker thread of its own. */
  function startGate(cfg) {
    const w = child('gate', cfg.gate.id, { cfg });
    return { id: cfg.gate.id, cfg, call: w.call, stop: () => w.close() };
  }
  const statuses = (gates) => Promise.all(gates.map((g) => g.call('status')));

  /** A TCP relay in front of the broker that refuses connections until opened (from bench/sync.js). */
  // ---- (a) ingest burst: every gate's outbox filled offline, then released at once ------
  let bursts = 0;
  async function burst(n) {
    const round = ++bursts;
    const siteId = `${RUN}-burst${round}`;
    const gateIds = Array.from({ length: GATES }, (_, i) => `g${i + 1}`);
    // The outbox was written within seconds: the lane rate check would call it a forgery.
    const site = siteConfig(siteId, gateIds, 0);
    const cloud = await startCloud(site.config, n, `b${round}`);
    mkdirSync(join(dir, siteId), { recursive: true });
    const wlFile = join(dir, siteId, 'whitelist.ndjson');
    const { tickets } = await whitelist(siteId, GATES * BURST, wlFile);
    await cloud[0].call('tickets', { site: siteId, tickets });
    const creds = await cloud[0].call('issue', { site: siteId, gates: gateIds });
    const proxy = await startOutageProxy(MQTT_URL);
    cleanups.push(() => proxy.close());
    const gates = [];
    for (let i = 0; i < GATES; i++) {
      const cfg = await makeGate(gateIds[i], siteId, site.publicKey, wlFile, creds[gateIds[i]], { url: proxy.url, snapshotUrl: cloud[i % n].httpUrl, reconnectMinMs: 20, reconnectMaxMs: 50 });
      const g = startGate(cfg);
      // Outbox depth read here, through a read-only connection of our own (polled every 2 ms).
      const reader = new Database(cfg.store.path, { readonly: true });
      cleanups.push(async () => reader.open && reader.close());
      const depth = reader.prepare('SELECT count(*) AS n FROM outbox').pluck();
      g.outboxDepth = () => depth.get();
      g.reader = reader;
      gates.push(g);
    }
    // The admissions, written while the broker is unreachable, through a second connection
    // to each gate's database (the gatekeeper's own write), 500 to a transaction.
    const at = Date.now();
    for (let i = 0; i < GATES; i++) {
      const { store } = openGate(gates[i].cfg, silent);
      const mine = tickets.slice(i * BURST, (i + 1) * BURST);
      for (let k = 0; k < mine.length; k += 500)
        store.db.transaction(() => {
          for (const t of mine.slice(k, k + 500)) {
            const row = store.getTicket(t.ticketId);
            store.recordAdmission({ ticket: { ...row, entriesUsed: row.entriesUsed + 1 }, credential: 'qr', persons: 1, at, gateSite: siteId, gateId: gateIds[i] });
          }
        })();
      store.close();
    }
    const events = GATES * BURST;
    note(`ingest ${n} instance(s): ${events} admissions in ${GATES} outboxes (${gates.map((g) => g.outboxDepth()).join('/')}), broker unreachable`);
    await sleep(300);
    const t0 = nowMs();
    proxy.refuse = false;
    await waitUntil(() => gates.every((g) => g.outboxDepth() === 0), `ingest ${n}: every outbox receipted`, 300_000, 2);
    const s = (nowMs() - t0) / 1000;
    const { entries } = await cloud[0].call('count', { site: siteId });
    const results = await Promise.all(cloud.map((c) => c.call('result')));
    note(
      `ingest ${n} instance(s): ${events} receipted in ${fmt(s)} s, ${entries} stored; per instance ${results.map((r, i) => `#${i} inserted ${r.metrics.inserted} commits ${r.metrics.ingestCommits} deltas ${r.metrics.deltasPublished}`).join(', ')}`,
    );
    for (const g of gates) {
      g.reader.close();
      await g.stop();
    }
    await sleep(500); // the gates' last (offline) status messages are handled before the cloud closes
    await proxy.close();
    for (const c of cloud) await c.close();
    return { rate: events / s, s, stored: entries, events };
  }

  // ---- (b) the mixed run ---------------------------------------------------------------
  async function mixed(cloudPath, label) {
    const siteId = `${RUN}-mixed${label === 'current' ? '' : `-${label}`}`;
    const gateIds = Array.from({ length: GATES }, (_, i) => `g${i + 1}`);
    // The lane rate check stays on, above the scan rate.
    const site = siteConfig(siteId, gateIds, Math.max(5, 2 * RATE));
    const cloud = await startCloud(site.config, INSTANCES, label === 'current' ? 'x' : 'y', cloudPath);
    mkdirSync(join(dir, siteId), { recursive: true });
    const wlFile = join(dir, siteId, 'whitelist.ndjson');
    const perGate = Math.ceil(RATE * MIXED_S * 1.1) + 50;
    const { tickets, visitDate } = await whitelist(siteId, GATES * perGate, wlFile);
    await cloud[0].call('tickets', { site: siteId, tickets });
    const creds = await cloud[0].call('issue', { site: siteId, gates: gateIds });

    // The independent observer: every delta as the broker delivers it, subscribed before the first one.
    const observer = child('observer', `${siteId}/observer`);
    await observer.call('start', { mqttUrl: MQTT_URL, topic: topics.whitelistDelta(siteId), clientId: `obs-${siteId}` });

    const gates = [];
    for (let i = 0; i < GATES; i++) {
      const cfg = await makeGate(gateIds[i], siteId, site.publicKey, wlFile, creds[gateIds[i]], { url: MQTT_URL, snapshotUrl: cloud[i % INSTANCES].httpUrl, reconnectMinMs: 50, reconnectMaxMs: 300 });
      const g = startGate(cfg);
      g.tickets = tickets.slice(i * perGate, (i + 1) * perGate).map((t) => t.ticketId);
      gates.push(g);
    }
    await waitUntil(async () => (await statuses(gates)).every((st) => st.sync.connected), 'gates connected', 30_000, 50);
    await sleep(500);

    // Sold tickets: each one is scanned at a gate (in turn) a few seconds after its sale.
    const sold = { reported: 0, scanned: 0, admitted: 0, outcomes: {}, seqs: [] };
    const pendingSold = new Set();
    let running = true;
    let soldTurn = 0;
    for (const inst of cloud)
      inst.onSold = ({ sold: ticketId, seq, at }) => {
        sold.reported++;
        sold.seqs.push({ seq, at });
        if (!running) return;
        const g = gates[soldTurn++ % gates.length];
        const h = setTimeout(() => {
          pendingSold.delete(h);
          sold.scanned++;
          g.call('scan', { ticketId }).then(
            ({ outcome }) => {
              sold.outcomes[outcome] = (sold.outcomes[outcome] ?? 0) + 1;
              if (outcome === 'admit') sold.admitted++;
            },
            (err) => note(`sold scan: ${err.message}`),
          );
        }, SOLD_SCAN_AFTER_MS);
        pendingSold.add(h);
      };
    const period = 1000 / RATE;
    const t0 = nowMs();
    const start = epochMs() + 50;
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    await Promise.all(gates.map((g) => g.call('resetLoop')));
    // Staggered: gate i scans at start + i·period/gates + k·period.
    await Promise.all(gates.map((g, i) => g.call('startScans', { tickets: g.tickets, period, firstDue: start + (i * period) / gates.length })));
    await Promise.all(cloud.map((c) => c.call('sell', { site: siteId, perSecond: SALES_PER_S / INSTANCES, visitDate })));
    note(`mixed (${label} cloud ${cloudPath}): ${INSTANCES} instance(s), ${GATES} gates scanning ${RATE}/s each, ${SALES_PER_S} sales/s, for ${MIXED_S} s`);

    const progress = setInterval(async () => {
      const el = ((nowMs() - t0) / 1000).toFixed(0);
      try {
        const obs = await observer.call('status');
        const sts = await statuses(gates);
        const gs = sts.map((st, i) => `${gates[i].id} applied ${st.sync.deltasApplied} gaps ${st.counts.whitelist_gap ?? 0} resyncs ${st.sync.resyncCount} skipped ${st.scans.skipped}`).join('; ');
        note(`mixed ${el} s: observer ${obs.distinct} deltas, ${obs.inversions} inversions; ${gs}`);
      } catch (err) {
        note(`mixed ${el} s: ${err.message}`);
      }
    }, 30_000);
    await sleep(MIXED_S * 1000);
    running = false;
    clearInterval(progress);
    await Promise.all(gates.map((g) => g.call('stopScans')));
    for (const h of pendingSold) clearTimeout(h);
    const elapsedS = (nowMs() - t0) / 1000;
    await Promise.all(cloud.map((c) => c.call('stopSelling')));
    loop.disable();
    note(`mixed: scans stopped after ${fmt(elapsedS)} s, the last sale answered after ${fmt((nowMs() - t0) / 1000)} s; settling (outboxes receipted, every gate at the cloud's head)`);

    // Settle: every outbox receipted, every gate and the observer at the cloud's head seq.
    let head = NaN;
    const settled = await waitUntil(
      async () => {
        head = Number((await cloud[0].call('count', { site: siteId })).head);
        const sts = await statuses(gates);
        return sts.every((st) => st.outboxDepth === 0 && Number(st.sync.whitelistSeq) === head) && (await observer.call('status')).highest === head;
      },
      'settled',
      SETTLE_MS,
      200,
    ).then(
      () => true,
      (err) => (note(`mixed: ${err.message}`), false),
    );
    const { entries: stored } = await cloud[0].call('count', { site: siteId });
    const results = await Promise.all(cloud.map((c) => c.call('result')));
    const obs = await observer.call('result');
    await observer.close();
    const sts = await statuses(gates);
    const firstAt = new Map(obs.firstAt);
    const saleLag = summarize(sold.seqs.map((x) => (firstAt.get(x.seq) ?? NaN) - x.at).filter(Number.isFinite));
    const saleCall = summarize(results.flatMap((r) => r.saleMs));

    const perGateRows = sts.map((st, i) => {
      const c = st.counts;
      return {
        gate: gates[i].id,
        deltas_applied: st.sync.deltasApplied,
        deltas_ignored: st.sync.deltasIgnored,
        gaps: c.whitelist_gap ?? 0,
        behind_head: c.whitelist_behind ?? 0,
        resyncs: st.sync.resyncCount,
        resyncs_changes: c.resync_changes ?? 0,
        resyncs_snapshot: c.resync_snapshot ?? 0,
        resync_failed: c.resync_failed ?? 0,
        // From the log: `admit` is written at the commit, before the relay pulse the scan's promise waits for.
        admissions: c.admit ?? 0,
        rejects: c.reject ?? 0,
        scans: st.scans.done,
        skipped: st.scans.skipped,
        whitelist_seq: st.sync.whitelistSeq,
        outbox: st.outboxDepth,
        disconnects: st.sync.disconnects,
        dropped: Object.values(st.sync.dropped).reduce((a, b) => a + b, 0),
      };
    });
    sts.forEach((st, i) => {
      const id = gates[i].id;
      if (Object.keys(st.outcomes).length > 1) note(`${id} scan outcomes ${JSON.stringify(st.outcomes)}`);
      if (st.recent.length > 0) note(`${id} last sync events:\n  ${st.recent.join('\n  ')}`);
      note(`${id}: event loop delay p99 ${fmt(st.loopP99Ms)} ms max ${fmt(st.loopMaxMs)} ms; log events ${JSON.stringify(st.counts)}`);
    });
    if (obs.firstInversions.length > 0) note(`observer: first inversions ${obs.firstInversions.join(', ')}`);
    note(`sold tickets scanned ${SOLD_SCAN_AFTER_MS / 1000} s after the sale: ${JSON.stringify(sold.outcomes)}`);
    results.forEach((r, i) => r.publisher && note(`cloud #${i} publisher: passes ${JSON.stringify(r.publisher.passes)}, runs of passes (what announce() awaits) ${JSON.stringify(r.publisher.runs)}`));
    results.forEach((r, i) => note(`cloud #${i}: sales ${JSON.stringify(r.sales)} http ${JSON.stringify(r.http)} cpu ${fmt(r.cpuPct, 1)} % loop delay p99 ${fmt(r.loopP99Ms)} ms max ${fmt(r.loopMaxMs)} ms metrics ${JSON.stringify(r.metrics)}`));
    note(`sale → first seen by the observer: p50 ${fmt(saleLag.p50)} ms p99 ${fmt(saleLag.p99)} ms max ${fmt(saleLag.max)} ms (${saleLag.n} sales); publishChanges call p50 ${fmt(saleCall.p50)} ms p99 ${fmt(saleCall.p99)} ms max ${fmt(saleCall.max)} ms`);
    note(`main thread event loop delay p99 ${fmt(loop.percentile(99) / 1e6)} ms max ${fmt(loop.max / 1e6)} ms; settled ${settled}`);
    for (const g of gates) await g.stop();
    await sleep(500); // the gates' last (offline) status messages are handled before the cloud closes
    for (const c of cloud) await c.close();
    return {
      perGateRows,
      obs,
      head,
      settled,
      stored,
      results,
      sold,
      saleLag,
      saleCall,
      gateLoopP99Ms: Math.max(...sts.map((st) => st.loopP99Ms)),
      gateLoopMaxMs: Math.max(...sts.map((st) => st.loopMaxMs)),
      scheduled: Math.round((MIXED_S * 1000) / period) * GATES,
    };
  }

  function printMixed(m, label) {
    // `cloud=` only when a baseline ran too, so a plain run prints the lines as documented.
    const tag = BASELINE ? { cloud: label } : {};
    for (const row of m.perGateRows) line({ mixed_gate: row.gate, ...tag, ...Object.fromEntries(Object.entries(row).filter(([k]) => k !== 'gate')) });
    const sum = (k) => m.perGateRows.reduce((a, r) => a + r[k], 0);
    const total = (f) => m.results.reduce((a, r) => a + f(r), 0);
    line(
      {
        mixed_s: MIXED_S,
        ...tag,
        instances: INSTANCES,
        gates: GATES,
        deltas: m.obs.distinct,
        gaps_total: sum('gaps'),
        resyncs_total: sum('resyncs'),
        inversions: m.obs.inversions,
        admissions: sum('admissions'),
        sales: total((r) => r.sales.done),
        published: total((r) => r.metrics.deltasPublished),
        deltas_applied_total: sum('deltas_applied'),
        http_changes: total((r) => r.http.changes),
        http_snapshot: total((r) => r.http.snapshot),
        missing: m.obs.missing,
        duplicates: m.obs.duplicates,
        differing: m.obs.differing,
        stored: m.stored,
        rejects: sum('rejects'),
        sold_admitted: `${m.sold.admitted}/${m.sold.scanned}`,
        head: m.head,
        in_step: `${m.perGateRows.filter((r) => Number(r.whitelist_seq) === m.head).length}/${GATES}`,
      },
      '(target gaps=0 resyncs=0 inversions=0)',
    );
    line(
      {
        mixed_sale_call_p50_ms: fmt(m.saleCall.p50),
        ...tag,
        mixed_sale_call_p99_ms: fmt(m.saleCall.p99),
        sale_to_observer_p50_ms: fmt(m.saleLag.p50),
        sale_to_observer_p99_ms: fmt(m.saleLag.p99),
        scans: `${sum('scans')}/${m.scheduled}`,
        scan_slots_skipped: sum('skipped'),
        gate_loop_delay_p99_ms: fmt(m.gateLoopP99Ms),
        gate_loop_delay_max_ms: fmt(m.gateLoopMaxMs),
        foreign_entries: total((r) => r.metrics.invalid.unknown_site ?? 0),
      },
      '(informative)',
    );
  }

  // ---- run ---------------------------------------------------------------------------------
  mkdirSync(dir, { recursive: true });
  note(`mixed bench: broker ${MQTT_URL}, PostgreSQL ${PG_URL.replace(/\/\/[^@/]*@/, '//')}, cloud ${CLOUD}${BASELINE ? `, baseline cloud ${BASELINE}` : ''}, run ${RUN}`);
  try {
    if (BURST > 0) {
      // One, two, two, one instance(s) (a drift of the shared machine during the phase cancels
      // out); each figure is the mean of its two bursts.
      const runs = { 1: [], 2: [] };
      for (const n of [1, 2, 2, 1]) runs[n].push(await burst(n));
      const mean = (rs) => rs.reduce((a, r) => a + r.rate, 0) / rs.length;
      note(`ingest bursts: one instance ${runs[1].map((r) => r.rate.toFixed(0)).join(', ')} events/s; two instances ${runs[2].map((r) => r.rate.toFixed(0)).join(', ')} events/s`);
      const stored = (rs) => rs.map((r) => r.stored).join('+');
      line(
        {
          ingest_one_instance_events_per_s: mean(runs[1]).toFixed(0),
          ingest_two_instances_events_per_s: mean(runs[2]).toFixed(0),
          ratio_two_to_one: fmt(mean(runs[2]) / mean(runs[1])),
          events: runs[1][0].events,
          gates: GATES,
          stored_one: stored(runs[1]),
          stored_two: stored(runs[2]),
        },
        '(informative; PostgreSQL, all on one 2-core VM)',
      );
    }
    if (BASELINE) printMixed(await mixed(BASELINE, 'baseline'), 'baseline');
    printMixed(await mixed(CLOUD, 'current'), 'current');
  } finally {
    await cleanup();
  }
}
