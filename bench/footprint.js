// Gate footprint for a small board (issue #18 point 6; part of `npm run bench`): the idle RSS
// of a real stile-gate and the time from its spawn to READY=1, each beside baselines measured
// in the same run. The gate runs as systemd runs it: the bin file itself (its shebang's node
// flags apply), a fake $NOTIFY_SOCKET, WATCHDOG_USEC and NODE_ENV=production, a QR scanner and
// an LCUS relay board on hardware-sim ptys, MQTT to the real broker (BENCH_MQTT).
//
// stdout: one key=value line per figure (bench/README.md); stderr: context. Nothing asserted.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { generateSigningKeyPair } from '../config/dist/index.js';
import { createDemoSite } from '../demo/dist/site.js';
import { GateStore, importSnapshot, openDatabase } from '../gate-agent/dist/store/index.js';
import { startSimGate } from '../hardware-sim/dist/index.js';
import { intEnv, line, note, nowMs, runCleanup, shebangNodeFlags, summarize } from './lib.js';
import { procStat } from './proc.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
// Another build's gate-agent/bin/stile-gate.js (e.g. a `git archive` of an older commit built in /tmp) to measure that one.
const GATE_BIN = process.env.BENCH_FOOTPRINT_BIN ?? join(root, 'gate-agent/bin/stile-gate.js');
const FLAGS = shebangNodeFlags(GATE_BIN);
const TICKETS = intEnv('BENCH_TICKETS', 1_000_000);
const IDLE_S = intEnv('BENCH_IDLE_S', 10);
const START_RUNS = intEnv('BENCH_START_RUNS', 7);
const MQTT_URL = process.env.BENCH_MQTT ?? 'mqtt://127.0.0.1:1883';
const RUN = `fp${process.pid}${Date.now().toString(36)}`;
const dir = join(root, '.bench-tmp', `footprint-${process.pid}-${Date.now()}`);
const { cleanups, cleanup } = runCleanup(dir);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The service manager's end of $NOTIFY_SOCKET (unix-dgram, as the daemons send with); `onReady` gets pid-less READY=1 arrivals. */
function fakeNotify(path) {
  const unix = createRequire(join(root, 'service/package.json'))('unix-dgram');
  const sock = unix.createSocket('unix_dgram');
  const waiters = new Set();
  sock.on('message', (buf) => {
    const at = nowMs();
    if (!/^READY=1$/m.test(buf.toString('utf8'))) return;
    for (const w of waiters) w(at);
    waiters.clear();
  });
  sock.bind(path);
  return {
    path,
    nextReady: () => new Promise((resolve) => waiters.add(resolve)),
    close: async () => sock.close(),
  };
}

/** Spawn `argv` and resolve with the ms from spawn to its exit. */
async function timeToExit(argv) {
  const t0 = nowMs();
  const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
  const [code] = await once(p, 'exit');
  if (code !== 0) throw new Error(`${argv.join(' ')} exited with ${code}`);
  return nowMs() - t0;
}

/** A gate child as systemd starts it; resolves once READY=1 arrived. */
async function startGate(cfgPath, notify) {
  const ready = notify.nextReady();
  const t0 = nowMs();
  const proc = spawn(GATE_BIN, ['--config', cfgPath], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '30000000', NODE_ENV: 'production', INVOCATION_ID: '', STILE_ALLOW_ROOT: '1' },
  });
  const log = [];
  proc.stdout.setEncoding('utf8').on('data', (c) => log.push(c));
  const exited = once(proc, 'exit').then(([code]) => {
    throw new Error(`stile-gate exited with ${code} before READY: ${log.join('').slice(-800)}`);
  });
  const at = await Promise.race([ready, exited, sleep(30_000).then(() => { throw new Error('no READY=1 within 30 s'); })]);
  exited.catch(() => {});
  const stop = async () => {
    if (proc.exitCode !== null) return;
    proc.kill('SIGTERM');
    await once(proc, 'exit');
  };
  return { proc, readyMs: at - t0, log, stop };
}

/** A plain node child that idles (a baseline of the idle figure), with `flags`. */
function idler(code, flags = []) {
  const proc = spawn(process.execPath, [...flags, '--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { proc, stop: async () => { if (proc.exitCode === null) { proc.kill('SIGTERM'); await once(proc, 'exit'); } } };
}

const mib = (kb) => (kb / 1024).toFixed(1);

async function main() {
  mkdirSync(dir, { recursive: true });
  note(`footprint: generating and importing ${TICKETS.toLocaleString()} tickets…`);
  const site = await createDemoSite(dir, { tickets: TICKETS });
  const store = new GateStore(openDatabase(site.dbPath));
  await importSnapshot(store.db, site.whitelistPath);
  store.close();
  const sim = await startSimGate({ dir, idCard: false, sensor: false, display: false });
  cleanups.push(() => sim.close());
  const cfg = parse(readFileSync(site.configPath, 'utf8'));
  const devices = parse(sim.gateYaml());
  cfg.site.id = RUN; // the run's own topics on the shared broker
  cfg.inputs = devices.inputs;
  cfg.relay = { ...devices.relay, pulseMs: 200, gapMs: 200 };
  cfg.keys.control = [{ id: 'ck1', publicKey: generateSigningKeyPair('ck1').publicKey }];
  cfg.mqtt = { url: MQTT_URL, sessionExpirySec: 60 };
  writeFileSync(site.configPath, stringify(cfg));
  const notify = fakeNotify(join(dir, 'notify'));
  cleanups.push(() => notify.close());

  // ---- start → READY, interleaved with its baselines -----------------------------------
  const floor = [process.execPath, ...FLAGS, join(here, 'footprint-floor.js')];
  await (await startGate(site.configPath, notify)).stop(); // warm the OS page cache once, untimed
  await sleep(500);
  const ready = [];
  const bare = [];
  const imports = [];
  for (let i = 0; i < START_RUNS; i++) {
    bare.push(await timeToExit([process.execPath, '-e', '0']));
    imports.push(await timeToExit(floor));
    const g = await startGate(site.configPath, notify);
    ready.push(g.readyMs);
    await g.stop();
  }
  const r = summarize(ready);
  const b = summarize(bare);
  const im = summarize(imports);
  note(`start→READY ms: ${ready.map((x) => x.toFixed(0)).join(' ')}; node -e 0: ${bare.map((x) => x.toFixed(0)).join(' ')}; imports: ${imports.map((x) => x.toFixed(0)).join(' ')}`);
  line(
    { start_to_ready_p50_ms: r.p50.toFixed(0), start_to_ready_max_ms: r.max.toFixed(0), node_exit_p50_ms: b.p50.toFixed(0), imports_exit_p50_ms: im.p50.toFixed(0), ratio_to_imports_p50: (r.p50 / im.p50).toFixed(2), runs: START_RUNS, tickets: TICKETS },
    '(target start_to_ready_ms<=1500)',
  );

  // ---- idle RSS: the gate and its baselines side by side ---------------------------------
  const idle = 'setInterval(() => {}, 1000);';
  const sqliteIdle = `import Database from ${JSON.stringify(join(root, 'node_modules/better-sqlite3/lib/index.js'))};
    const db = new Database(${JSON.stringify(site.dbPath)}, { readonly: true });
    db.prepare('SELECT * FROM tickets WHERE ticket_id = ?').get(${JSON.stringify(site.sample.ids[0])});
    setInterval(() => {}, 1000);`;
  const modulesIdle = `await import(${JSON.stringify(join(here, 'footprint-floor.js'))} + '?idle'); setInterval(() => {}, 1000);`;
  // The modules baseline runs with the gate's own node flags: what the gate adds by running, not by its flags.
  const base = [idler(idle), idler(sqliteIdle), idler(modulesIdle, FLAGS)];
  const gate = await startGate(site.configPath, notify);
  try {
    await sleep(IDLE_S * 1000);
    const [bn, sq, mo] = base.map((x) => procStat(x.proc.pid));
    const g = procStat(gate.proc.pid);
    const detail = (pid) => {
      const s = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
      return `anon ${mib(kb('RssAnon'))} MiB, file ${mib(kb('RssFile'))} MiB, threads ${kb('Threads')}`;
    };
    note(`idle after ${IDLE_S}s: gate ${detail(gate.proc.pid)}; bare node ${detail(base[0].proc.pid)}; node flags of the gate (its shebang): ${FLAGS.join(' ') || '(none)'}`);
    line(
      {
        gate_idle_rss_mb: mib(g.rssKb),
        bare_node_rss_mb: mib(bn.rssKb),
        node_sqlite_rss_mb: mib(sq.rssKb),
        modules_rss_mb: mib(mo.rssKb),
        gate_over_bare_mb: mib(g.rssKb - bn.rssKb),
        idle_s: IDLE_S,
        tickets: TICKETS,
      },
      '(target gate_idle_rss_mb<=80)',
    );
  } finally {
    await gate.stop();
    await Promise.all(base.map((x) => x.stop()));
  }
}

try {
  await main();
} finally {
  await cleanup();
}
