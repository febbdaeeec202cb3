// The 24-hour soak in accelerated form (issue #18 point 6; part of `npm run bench`):
// BENCH_SOAK_SCANS (default 1,000,000) scans through one gate with its cloud link, and the
// gate's RSS and WAL sampled on the way. They must stay flat: the WAL checkpointed, the outbox
// emptied by the cloud's receipts, nothing piling up in memory.
//
// The gate is bench/soak-gate.js, a child running stile-gate's daemon (startGateDaemon) with
// stile-gate's node flags, an instant relay and scans as fast as it answers them. The cloud
// is a real cloud-bridge (SQLite) on the real broker (BENCH_MQTT): it stores the entries,
// sends the signed receipts that empty the gate's outbox and publishes a used-elsewhere delta
// for each admission back to the site's gates. An independent MQTT subscriber on the gate's
// entries topic counts what arrives. stdout: key=value lines (bench/README.md); stderr: the
// samples and context. Nothing is asserted.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync } from 'mqtt';
import pino from 'pino';
import { parse, stringify } from 'yaml';
import { startCloudBridge } from '../cloud-bridge/dist/index.js';
import { localDate, topics } from '../config/dist/index.js';
import { createDemoSite, newTicketId } from '../demo/dist/site.js';
import { GateStore, importSnapshot, openDatabase } from '../gate-agent/dist/store/index.js';
import { cloudSite, sleep, waitUntil } from './ingest-lib.js';
import { intEnv, line, note, nowMs, runCleanup, shebangNodeFlags } from './lib.js';
import { procStat } from './proc.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const MQTT_URL = process.env.BENCH_MQTT ?? 'mqtt://127.0.0.1:1883';
const SCANS = intEnv('BENCH_SOAK_SCANS', 1_000_000);
const CONCURRENCY = intEnv('BENCH_SOAK_CONCURRENCY', 4);
/** Scans wait while the gate's outbox holds more rows than this (the cloud fell behind). */
const MAX_OUTBOX = intEnv('BENCH_SOAK_MAX_OUTBOX', 2_000);
/** Every 20th scan is a code the whitelist does not have (a reject). */
const UNKNOWN_EVERY = 20;
/** A soak ticket admits this often (ticket type `soak`, entries multi, the schema's maximum). */
const ENTRIES_PER_TICKET = 1000;
const RUN = `soak${process.pid}${Date.now().toString(36)}`;
const GATE = 'soak-1';
const dir = join(root, '.bench-tmp', `soak-${process.pid}-${Date.now()}`);
const { cleanups, cleanup } = runCleanup(dir);
const silent = pino({ level: 'silent' });
const mib = (bytes) => bytes / 2 ** 20;
const fileSize = (path) => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

/** An Etc/GMT zone where it is about 09:00 now: the soak's tickets are for "today" and a long run must not cross midnight. */
function morningZone() {
  let offset = 9 - new Date().getUTCHours();
  if (offset > 14) offset -= 24;
  if (offset < -12) offset += 24;
  // POSIX sign: Etc/GMT-8 is UTC+8.
  return offset === 0 ? 'Etc/UTC' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}

/** Least-squares slope of y over x. */
function slope(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

async function main() {
  mkdirSync(dir, { recursive: true });
  const timeZone = morningZone();
  const today = localDate(Date.now(), timeZone);
  const ticketCount = Math.ceil(SCANS / (ENTRIES_PER_TICKET * 0.9)) + 10;
  note(`soak: ${SCANS.toLocaleString()} scans, ${ticketCount} tickets of ${ENTRIES_PER_TICKET} entries, ${CONCURRENCY} in flight, site time zone ${timeZone}`);

  // ---- the cloud, and the gate's config and whitelist ----------------------------------
  const cs = cloudSite(RUN, [GATE]);
  const bridge = await startCloudBridge({ sqlitePath: join(dir, 'cloud.db'), mqttUrl: MQTT_URL, httpPort: 0, sites: [cs.config], sharedGroup: `grp-${RUN}`, clientId: `cloud-${RUN}`, sessionExpirySec: 60, logger: silent });
  cleanups.push(() => bridge.close());
  const site = await createDemoSite(join(dir, 'gate'), { tickets: 1, timeZone });
  const cfg = parse(readFileSync(site.configPath, 'utf8'));
  cfg.site = { ...cfg.site, id: RUN, timezone: timeZone };
  cfg.gate = { ...cfg.gate, id: GATE };
  cfg.keys.control = [{ id: 'ck1', publicKey: cs.publicKey }];
  cfg.ticketTypes.push({ id: 'soak', name: 'Soak (many entries)', entries: { mode: 'multi', max: ENTRIES_PER_TICKET }, slotGrace: { earlyMin: 0, lateMin: 0 }, antiPassbackSec: 0 });
  cfg.mqtt = { url: MQTT_URL, clientId: `stile-${RUN}-${GATE}`, sessionExpirySec: 60 };
  writeFileSync(site.configPath, stringify(cfg));
  const ids = Array.from({ length: ticketCount }, () => newTicketId());
  const tickets = ids.map((ticketId) => ({ ticketId, typeId: 'soak', status: 'valid', visitDate: today, persons: 1, entriesUsed: 0 }));
  // The cloud sold them (it believes admissions of tickets it issued only); the gate's
  // snapshot is at seq 0, so the cloud's first delta is its next one.
  for (let i = 0; i < tickets.length; i += 5000) await bridge.whitelist.upsertTickets(bridge.store.db, RUN, tickets.slice(i, i + 5000), null);
  const whitelist = join(dir, 'soak-whitelist.ndjson');
  writeFileSync(whitelist, `${JSON.stringify({ snapshot: { site: RUN, asOfSeq: '0' } })}\n${tickets.map((t) => JSON.stringify(t)).join('\n')}\n`);
  const store = new GateStore(openDatabase(site.dbPath));
  await importSnapshot(store.db, whitelist, { siteId: RUN });
  store.close();

  // ---- the observer: every entry that reaches the broker, by seq -----------------------
  const observer = await connectAsync(MQTT_URL, { protocolVersion: 5, clientId: `observer-${RUN}`, reconnectPeriod: 0 });
  cleanups.push(() => observer.endAsync());
  let seen = new Uint8Array(1 << 20);
  let observed = 0;
  let messages = 0;
  observer.on('message', (_topic, payload) => {
    messages++;
    for (const e of JSON.parse(payload.toString('utf8')).events) {
      const seq = Number(e.seq);
      if (seq >= seen.length) {
        const grown = new Uint8Array(Math.max(seq + 1, seen.length * 2));
        grown.set(seen);
        seen = grown;
      }
      if (seen[seq] === 0 && e.kind === 'admit') {
        seen[seq] = 1;
        observed++;
      }
    }
  });
  await observer.subscribeAsync(topics.entries(RUN, GATE), { qos: 1 });

  // ---- the gate child ------------------------------------------------------------------
  const flags = shebangNodeFlags(join(root, 'gate-agent/bin/stile-gate.js'));
  const logFd = process.env.BENCH_SOAK_LOG ? openSync(process.env.BENCH_SOAK_LOG, 'w') : 'ignore';
  const child = fork(join(here, 'soak-gate.js'), [site.configPath], { execArgv: flags, stdio: ['ignore', logFd, 'inherit', 'ipc'] });
  cleanups.push(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });
  let last = { done: 0, admitted: 0, rejected: 0, outbox: 0, connected: false };
  let finished = false;
  child.on('message', (m) => {
    if (m.progress) last = m.progress;
    if (m.finished) {
      last = m.finished;
      finished = true;
    }
    if (m.error) throw new Error(`soak gate: ${m.error}`);
  });
  child.on('exit', (code) => {
    if (!finished && code !== 0) note(`soak gate exited with ${code}`);
  });
  await waitUntil(() => last.connected, 'the soak gate connected to the broker', 30_000, 20);
  note(`gate pid ${child.pid}, node flags ${flags.join(' ') || '(none)'}`);

  const wal = `${site.dbPath}-wal`;
  const samples = [];
  const sample = (label) => {
    const p = procStat(child.pid);
    const s = { label, scans: last.done, rssMb: mib(p.rssKb * 1024), walMb: mib(fileSize(wal)), dbMb: mib(fileSize(site.dbPath)), outbox: last.outbox, observed, at: nowMs() };
    samples.push(s);
    if (process.env.BENCH_SOAK_HEAPSNAPSHOT) child.send({ heapSnapshot: label.replace('%', 'pct') });
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0) / 1024;
    note(`${label.padEnd(5)} scans ${String(s.scans).padStart(8)}  rss ${s.rssMb.toFixed(1)} MiB (anon ${kb('RssAnon').toFixed(1)}, file ${kb('RssFile').toFixed(1)}, V8 heap ${last.heapMb?.toFixed(1)}, external ${last.externalMb?.toFixed(1)})  wal ${s.walMb.toFixed(2)} MiB  db ${s.dbMb.toFixed(1)} MiB  outbox ${s.outbox}  observed ${observed}`);
    return s;
  };
  await sleep(2_000);
  const start = sample('start');

  // ---- the scans -------------------------------------------------------------------------
  const t0 = nowMs();
  child.send({ start: { ids, total: SCANS, concurrency: CONCURRENCY, unknownEvery: UNKNOWN_EVERY, maxOutbox: MAX_OUTBOX } });
  for (let k = 1; k <= 10; k++) {
    await waitUntil(() => last.done >= (SCANS * k) / 10, `${k * 10} % of the scans`, 3_600_000, 50);
    sample(`${k * 10}%`);
  }
  await waitUntil(() => finished, 'the last scan answered', 600_000, 20);
  const scanS = (nowMs() - t0) / 1000;

  // ---- settle: receipts empty the outbox, the observer has every admission ---------------
  let stored = 0;
  await waitUntil(async () => {
    child.send({ report: true });
    stored = await bridge.sync.countEntries(RUN);
    return last.outbox === 0 && observed >= last.admitted && stored >= last.admitted;
  }, 'outbox empty and every admission observed and stored', 600_000, 500).catch((err) => note(String(err.message)));
  const end = sample('end');
  const totalS = (nowMs() - t0) / 1000;
  child.send({ stop: true });
  await once(child, 'exit');

  // Slopes over 10 %…100 %: the start sample is before JIT and caches settled.
  const run = samples.filter((s) => s.label.endsWith('%'));
  const per100k = (k) => slope(run.map((s) => s.scans / 100_000), run.map((s) => s[k]));
  const max = (k) => Math.max(...samples.map((s) => s[k]));
  note(`settled ${((nowMs() - t0) / 1000 - scanS).toFixed(1)} s after the last scan; cloud metrics ${JSON.stringify({ received: bridge.metrics.received, inserted: bridge.metrics.inserted, duplicates: bridge.metrics.duplicates })}; ${messages} entries messages at the observer`);
  line(
    { soak_scans: last.done, admitted: last.admitted, rejected: last.rejected, observed, stored, outbox_end: last.outbox, scan_s: scanS.toFixed(0), throttled_s: (last.throttledMs / 1000).toFixed(0), total_s: totalS.toFixed(0), scans_per_s: Math.round(last.done / scanS) },
    '(target observed=stored=admitted outbox_end=0)',
  );
  line(
    {
      soak_rss_start_mb: start.rssMb.toFixed(1),
      rss_10pct_mb: run[0].rssMb.toFixed(1),
      rss_end_mb: end.rssMb.toFixed(1),
      rss_max_mb: max('rssMb').toFixed(1),
      rss_slope_mb_per_100k: per100k('rssMb').toFixed(2),
      wal_max_mb: max('walMb').toFixed(2),
      wal_end_mb: end.walMb.toFixed(2),
      wal_slope_mb_per_100k: per100k('walMb').toFixed(3),
      db_growth_bytes_per_admission: Math.round(((end.dbMb - start.dbMb) * 2 ** 20) / Math.max(1, last.admitted)),
    },
    '(target flat: slopes ~0)',
  );
}

try {
  await main();
} finally {
  await cleanup();
}
