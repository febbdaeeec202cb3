// Scans while the whitelist is replaced (part of `npm run bench`): a real stile-gate with a
// 1M-ticket whitelist takes ~40 valid scans/s from a FIFO; after a quiet period,
// `gatectl tickets import` loads a second 1M-ticket snapshot into the same database while
// the scans go on. The figure is the gate's own `decisionMs` (its `admit` log line: the
// whole Gatekeeper.evaluate, including the wait for the write lock) during the import
// against the quiet period of the same run; beside it, bench/idle-probe.js (no part in the
// import) measures what the machine alone costs in the same windows: a bare fdatasync and
// how late a 25 ms timer fires. stdout: one key=value line per figure;
// stderr: progress and the slowest admissions. Nothing asserted.
//
// BENCH_TICKETS (default 1000000), BENCH_LOAD_RATE (scans/s, default 40),
// BENCH_QUIET_S (default 10).
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { parse, stringify } from 'yaml';
import { createDemoSite } from '../demo/dist/site.js';
import { GateStore, importSnapshot, openDatabase } from '../gate-agent/dist/store/index.js';
import { fmt, intEnv, line, note, nowMs, summarize } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const GATE_BIN = join(root, 'gate-agent/bin/stile-gate.js');
const GATECTL_BIN = join(root, 'gate-agent/bin/gatectl.js');
const PROBE = join(here, 'idle-probe.js');

const TICKETS = intEnv('BENCH_TICKETS', 1_000_000);
const RATE = intEnv('BENCH_LOAD_RATE', 40);
const QUIET_S = intEnv('BENCH_QUIET_S', 10);
const WARMUP_S = 2;
/** Scans go on this long after the import ended (they are not counted). */
const TAIL_S = 1;

const tmpRoot = join(root, '.bench-tmp');
const dir = join(tmpRoot, `import-load-${process.pid}-${Date.now()}`);
const children = [];
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  try {
    if (readdirSync(tmpRoot).length === 0) rmdirSync(tmpRoot);
  } catch {
    // another run still uses it
  }
}
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The same tickets under a new header: what a resync of an unchanged park loads. */
async function secondSnapshot(from, to) {
  const out = createWriteStream(to);
  let first = true;
  for await (const l of createInterface({ input: createReadStream(from), crlfDelay: Infinity })) {
    const text = first && l.startsWith('{"snapshot"') ? JSON.stringify({ snapshot: { site: 'demo-park', asOfSeq: '2' } }) : l;
    first = false;
    if (!out.write(`${text}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** A stile-gate child whose JSON log lines are handed to `onLine` with their arrival time. */
function startGate(configPath, onLine) {
  const proc = spawn(process.execPath, [GATE_BIN, '--config', configPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  let partial = '';
  proc.stdout.setEncoding('utf8').on('data', (c) => {
    const at = nowMs();
    const parts = (partial + c).split('\n');
    partial = parts.pop();
    for (const p of parts) {
      try {
        onLine(JSON.parse(p), at);
      } catch {
        /* not JSON */
      }
    }
  });
  return proc;
}

async function main() {
  mkdirSync(dir, { recursive: true });
  const fifo = join(dir, 'scanner.fifo');
  execFileSync('mkfifo', [fifo]);
  note(`import-under-load: tickets=${TICKETS} rate=${RATE}/s quiet=${QUIET_S}s dir=${dir}`);
  const site = await createDemoSite(dir, { tickets: TICKETS, input: fifo, simulateIdCards: false });
  const cfg = parse(readFileSync(site.configPath, 'utf8'));
  // Short pulses: the relay queue is not what is measured.
  cfg.relay = { type: 'log', pulseMs: 50, gapMs: 0 };
  writeFileSync(site.configPath, stringify(cfg));
  const store = new GateStore(openDatabase(site.dbPath));
  await importSnapshot(store.db, site.whitelistPath);
  store.close();
  const snapshot2 = join(dir, 'whitelist-2.ndjson');
  await secondSnapshot(site.whitelistPath, snapshot2);
  // The generated site (two snapshots and a database, some hundred MB) is still dirty in the
  // page cache: the kernel would write it back 30 s later (vm.dirty_expire_centisecs), i.e.
  // in the middle of the measurement, and every fsync on the disk (each admission's commit)
  // would wait behind that burst. Setup is not what is measured: flush it first.
  execFileSync('sync');

  // Tickets that admit at any hour, once each, in random order.
  const ro = new Database(site.dbPath, { readonly: true });
  const need = RATE * (WARMUP_S + QUIET_S + 120);
  const pool = ro
    .prepare("SELECT ticket_id FROM tickets WHERE type_id IN ('adult', 'child', 'family') ORDER BY random() LIMIT ?")
    .pluck()
    .all(need);
  ro.close();

  /** ticketId → { sentAt, phase } */
  const sent = new Map();
  const admits = [];
  const rejects = new Map();
  let started = false;
  const gate = startGate(site.configPath, (l, at) => {
    if (l.event === 'started') started = true;
    else if (l.event === 'admit') admits.push({ ticketId: l.ticketId, decisionMs: l.decisionMs, at });
    else if (l.event === 'reject') rejects.set(l.reason, (rejects.get(l.reason) ?? 0) + 1);
  });
  const deadline = nowMs() + 30_000;
  while (!started) {
    if (gate.exitCode !== null || nowMs() > deadline) throw new Error('stile-gate did not start');
    await sleep(20);
  }
  const w = createWriteStream(fifo);
  await once(w, 'open');
  // Beside the gate, a process that has nothing to do with it: its timer lateness (waiting for
  // a CPU) and a bare fdatasync (the disk) at the same moments; what the machine alone costs.
  const probeSamples = [];
  const probe = spawn(process.execPath, [PROBE, join(dir, 'probe.dat')], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(probe);
  let probePartial = '';
  probe.stdout.setEncoding('utf8').on('data', (c) => {
    const parts = (probePartial + c).split('\n');
    probePartial = parts.pop();
    for (const p of parts) {
      const [at, late, fsync] = p.split(' ').map(Number);
      probeSamples.push({ at, late, fsync });
    }
  });

  let phase = 'warmup';
  let next = 0;
  const period = 1000 / RATE;
  const t0 = nowMs();
  let ticks = 0;
  let exhausted = false;
  // Scheduled against the start time, not the previous tick, so the rate holds on a busy machine.
  let timer;
  const feed = () => {
    const due = Math.floor((nowMs() - t0) / period) + 1;
    for (; ticks < due; ticks++) {
      if (next >= pool.length) {
        exhausted = true;
        return;
      }
      const id = pool[next++];
      sent.set(id, { sentAt: nowMs(), phase });
      w.write(`ST1:${id}\n`);
    }
    timer = setTimeout(feed, Math.max(1, t0 + (ticks + 1) * period - nowMs()));
  };
  feed();

  await sleep(WARMUP_S * 1000);
  phase = 'quiet';
  note(`quiet period, ${QUIET_S} s…`);
  await sleep(QUIET_S * 1000);
  phase = 'during';
  note('gatectl tickets import of a second snapshot while scanning…');
  // When the write phase starts (the shadow table appears) and when the swap is done (the old
  // table appears), seen through a read-only connection: for the per-phase figures on stderr.
  const watch = new Database(site.dbPath, { readonly: true });
  const phaseAt = {};
  const seen = watch.prepare("SELECT name FROM sqlite_master WHERE name IN ('tickets_import', 'tickets_old')").pluck();
  const watcher = setInterval(() => {
    for (const name of seen.all()) phaseAt[name] ??= nowMs();
  }, 20);
  const importStart = nowMs();
  const imp = spawn(process.execPath, [GATECTL_BIN, '--config', site.configPath, '--json', 'tickets', 'import', snapshot2], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(imp);
  let impOut = '';
  imp.stdout.setEncoding('utf8').on('data', (c) => (impOut += c));
  const [code] = await once(imp, 'exit');
  const importEnd = nowMs();
  clearInterval(watcher);
  watch.close();
  phase = 'tail';
  if (code !== 0) throw new Error(`gatectl tickets import exited with ${code}: ${impOut}`);
  if (exhausted) throw new Error(`ran out of tickets to scan (${pool.length}); the import took ${((importEnd - importStart) / 1000).toFixed(0)} s`);
  const result = JSON.parse(impOut);
  probe.kill('SIGTERM');
  await sleep(TAIL_S * 1000);
  clearTimeout(timer);
  // Let the last scans come through.
  const lastSent = ticks;
  const settle = nowMs() + 5_000;
  while (admits.length + [...rejects.values()].reduce((a, b) => a + b, 0) < lastSent && nowMs() < settle) await sleep(20);
  w.end();
  // Not SIGTERM: a clean stop first works off the relay's queue of pulses, tens of seconds here.
  gate.kill('SIGKILL');
  if (gate.exitCode === null && gate.signalCode === null) await once(gate, 'exit');

  const by = { quiet: { dec: [], e2e: [] }, during: { dec: [], e2e: [] } };
  const slow = [];
  for (const a of admits) {
    const s = sent.get(a.ticketId);
    if (!s || !(s.phase in by)) continue;
    by[s.phase].dec.push(a.decisionMs);
    by[s.phase].e2e.push(a.at - s.sentAt);
    if (s.phase === 'during') slow.push({ ms: a.decisionMs, e2e: a.at - s.sentAt, atS: (s.sentAt - importStart) / 1000 });
  }
  const q = summarize(by.quiet.dec);
  const d = summarize(by.during.dec);
  const qe = summarize(by.quiet.e2e);
  const de = summarize(by.during.e2e);
  const importS = (importEnd - importStart) / 1000;
  const quietFrom = importStart - QUIET_S * 1000;
  const probeIn = (from, to) => probeSamples.filter((x) => x.at >= from && x.at < to);
  const pq = probeIn(quietFrom, importStart);
  const pd = probeIn(importStart, importEnd);
  const pqs = { late: summarize(pq.map((x) => x.late)), fsync: summarize(pq.map((x) => x.fsync)) };
  const pds = { late: summarize(pd.map((x) => x.late)), fsync: summarize(pd.map((x) => x.fsync)) };
  slow.sort((a, b) => b.ms - a.ms);
  note(`slowest during the import (s after it started, of ${importS.toFixed(1)} s): ${slow.slice(0, 8).map((x) => `${fmt(x.ms, 1)}ms@${x.atS.toFixed(1)}s`).join(' ')}`);
  const writeFrom = phaseAt.tickets_import ?? importEnd;
  const staging = slow.filter((x) => x.atS * 1000 + importStart < writeFrom).map((x) => x.ms);
  const writing = slow.filter((x) => x.atS * 1000 + importStart >= writeFrom).map((x) => x.ms);
  const ph = (a) => (a.length ? `p99=${fmt(summarize(a).p99)} max=${fmt(summarize(a).max)} n=${a.length}` : 'n=0');
  note(
    `during the import: reading and sorting the file (${((writeFrom - importStart) / 1000).toFixed(1)} s) ${ph(staging)}; ` +
      `writing, swap at ${phaseAt.tickets_old ? `${((phaseAt.tickets_old - importStart) / 1000).toFixed(1)} s` : '?'} (${((importEnd - writeFrom) / 1000).toFixed(1)} s) ${ph(writing)}`,
  );
  note(
    `idle probe (no part in the import): fdatasync quiet p99=${fmt(pqs.fsync.p99)} max=${fmt(pqs.fsync.max)}, during p99=${fmt(pds.fsync.p99)} max=${fmt(pds.fsync.max)}; ` +
      `timer late quiet p99=${fmt(pqs.late.p99)} max=${fmt(pqs.late.max)}, during p99=${fmt(pds.late.p99)} max=${fmt(pds.late.max)}; ` +
      `its slowest during the import: ${pd.sort((a, b) => Math.max(b.late, b.fsync) - Math.max(a.late, a.fsync)).slice(0, 5).map((x) => `fsync ${fmt(x.fsync, 1)}/late ${fmt(x.late, 1)}ms@${((x.at - importStart) / 1000).toFixed(1)}s`).join(' ')}`,
  );
  note(`decisionMs quiet p50=${fmt(q.p50)} p99=${fmt(q.p99)} max=${fmt(q.max)}; during p50=${fmt(d.p50)} p99=${fmt(d.p99)} max=${fmt(d.max)}`);
  note(`rejects: ${[...rejects].map(([k, v]) => `${k}=${v}`).join(' ') || 'none'}; admitted ${admits.length} of ${lastSent} scans; gatectl reported ${(result.ms / 1000).toFixed(2)} s, ${result.carriedOver} kept from local use`);
  line(
    {
      import_under_load_quiet_p99_ms: fmt(q.p99),
      during_p99_ms: fmt(d.p99),
      during_max_ms: fmt(d.max),
      ratio_p99: (d.p99 / q.p99).toFixed(2),
      samples_quiet: q.n,
      samples_during: d.n,
      import_s: importS.toFixed(2),
    },
    '(targets ratio_p99<=2, during_max_ms<=50)',
  );
  line(
    {
      scan_to_admit_log_quiet_p99_ms: fmt(qe.p99),
      scan_to_admit_log_during_p99_ms: fmt(de.p99),
      scan_to_admit_log_during_max_ms: fmt(de.max),
      idle_fsync_quiet_p99_ms: fmt(pqs.fsync.p99),
      idle_fsync_during_p99_ms: fmt(pds.fsync.p99),
      idle_fsync_during_max_ms: fmt(pds.fsync.max),
      idle_timer_late_during_max_ms: fmt(pds.late.max),
      rejected: [...rejects.values()].reduce((a, b) => a + b, 0),
      rate_per_s: RATE,
      tickets: TICKETS,
    },
    '(informative)',
  );
}

try {
  await main();
} finally {
  cleanup();
}
