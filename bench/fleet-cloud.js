// Child process of bench/fleet.js: one cloud-bridge instance (startCloudBridge, PostgreSQL,
// MQTT 5 shared subscription with the other instance, so they split the gates' entries),
// plus the park sales this instance makes: every few seconds per park, one
// publishChanges(site, [{op: 'upsert', ticket}]) whose ticket id carries the µs of the call
// (`S<park>_<µs>`), so the gates can time sale → delta received.
// IPC (from the parent): start, sell, stop, close; answers ready, result.
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import pino from 'pino';

// bench/fleet.js names the build (BENCH_FLEET_CLOUD: a cloud-bridge dist/index.js).
const { startCloudBridge, EntriesIngest } = await import(pathToFileURL(process.env.BENCH_FLEET_CLOUD ?? new URL('../cloud-bridge/dist/index.js', import.meta.url).pathname).href);

// Where the ingest's time goes: the commit pipelines' busy time (group transactions, added
// up over the pipelines; `pipelines` = the most seen running at once) and every PostgreSQL
// statement's latency (round trip + the database's work).
const timing = { busyMs: 0, groups: 0, stmts: 0, stmtMs: 0, since: 0, pipelines: 1 };
let running = 0;
const storeGroup = EntriesIngest.prototype.storeGroup;
EntriesIngest.prototype.storeGroup = async function (group) {
  const t0 = now();
  running++;
  timing.pipelines = Math.max(timing.pipelines, running);
  try {
    return await storeGroup.call(this, group);
  } finally {
    running--;
    timing.busyMs += now() - t0;
    timing.groups++;
  }
};
const pgQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (...args) {
  const t0 = now();
  const r = pgQuery.apply(this, args);
  if (r && typeof r.then === 'function')
    r.then(
      () => {
        timing.stmts++;
        timing.stmtMs += now() - t0;
      },
      () => {},
    );
  return r;
};

const now = () => performance.timeOrigin + performance.now();
let bridge;
let selling = false;
const timers = new Set();
const sales = { started: 0, done: 0, failed: 0, skipped: 0, callMs: [], firstError: null };

async function start(m) {
  const t0 = now();
  // Warnings and errors only, to stderr (anomalies, publish failures); the parent keeps them short.
  const logger = pino({ level: process.env.BENCH_FLEET_LOG ?? 'error' }, pino.destination(2));
  bridge = await startCloudBridge({
    databaseUrl: m.databaseUrl,
    mqttUrl: m.mqttUrl,
    httpPort: 0,
    sites: m.sites,
    sharedGroup: m.sharedGroup,
    clientId: m.clientId,
    sessionExpirySec: 60,
    ...(m.ingestConnections ? { ingestConnections: m.ingestConnections } : {}),
    logger,
  });
  process.send({ cmd: 'ready', ms: now() - t0 });
}

function sell(m) {
  selling = true;
  Object.assign(timing, { busyMs: 0, groups: 0, stmts: 0, stmtMs: 0, since: now(), pipelines: 1 });
  const visitDate = new Date().toISOString().slice(0, 10);
  for (const { site, park } of m.sellSites) {
    let busy = false;
    const once = () => {
      if (!selling) return;
      schedule(m.saleEveryMs * (0.5 + Math.random()));
      if (busy) {
        sales.skipped++;
        return;
      }
      busy = true;
      const t = now();
      const ticket = { ticketId: `S${park}_${Math.round(t * 1000)}`, typeId: 'adult', status: 'valid', visitDate, persons: 1, entriesUsed: 0 };
      sales.started++;
      bridge.publishChanges(site, [{ op: 'upsert', ticket }]).then(
        () => {
          sales.done++;
          sales.callMs.push(now() - t);
        },
        (err) => {
          sales.failed++;
          sales.firstError ??= err.message;
        },
      ).finally(() => (busy = false));
    };
    const schedule = (ms) => {
      const h = setTimeout(() => {
        timers.delete(h);
        once();
      }, ms);
      timers.add(h);
    };
    schedule(Math.random() * m.saleEveryMs);
  }
}

process.on('message', (m) => {
  if (m.cmd === 'start')
    start(m).catch((err) => {
      process.stderr.write(`fleet-cloud: ${err.stack ?? err.message}\n`);
      process.exit(1);
    });
  else if (m.cmd === 'sell') sell(m);
  else if (m.cmd === 'stop') {
    selling = false;
    for (const h of timers) clearTimeout(h);
    timers.clear();
  } else if (m.cmd === 'result') process.send({ cmd: 'result', metrics: bridge.metrics.toJSON(), sales, timing: { ...timing, wallMs: now() - timing.since } });
  else if (m.cmd === 'close')
    void bridge
      .close()
      .catch(() => {})
      .finally(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
