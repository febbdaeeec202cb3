// Gate hardware path figures (part of `npm run bench`): a real stile-gate process with a
// 1M-ticket whitelist, talking to hardware-sim over pseudo-terminals, against a bare
// forwarder that does the same serial I/O with no decision; plus lane throughput and the
// codec fuzz run. stdout: one key=value line per figure; stderr: progress. Nothing asserted.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { GateStore, importSnapshot, openDatabase } from '../gate-agent/dist/store/index.js';
import { createDemoSite } from '../demo/dist/site.js';
import { fuzzCodecs } from '../gate-agent/dist/protocol/fuzz.js';
import { startSimGate } from '../hardware-sim/dist/index.js';
import { fmt, line, note, nowMs, summarize } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const GATE_BIN = join(root, 'gate-agent/bin/stile-gate.js');
const TICKETS = Number(process.env.BENCH_TICKETS ?? 1_000_000);
const SCANS = Number(process.env.BENCH_SCANS ?? 300);
const LANE_PERSONS = 60;
const FUZZ = Number(process.env.BENCH_FUZZ ?? 1_000_000);
const dir = join(root, '.bench-tmp', `devices-${process.pid}-${Date.now()}`);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Start a child and resolve once `ready(lines)` holds over its JSON log lines. stile-gate runs
 * as its unit runs it: the bin file itself, so the node flags of its shebang apply.
 */
async function startChild(args, ready) {
  const gate = args[0] === GATE_BIN;
  const proc = spawn(gate ? GATE_BIN : process.execPath, gate ? args.slice(1) : args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  let partial = '';
  proc.stdout.setEncoding('utf8').on('data', (c) => {
    const parts = (partial + c).split('\n');
    partial = parts.pop();
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p));
      } catch {
        /* not JSON */
      }
    }
  });
  const deadline = Date.now() + 20_000;
  while (!ready(lines)) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`${args[0]} did not become ready`);
    await sleep(20);
  }
  return { proc, lines, stop: async () => { proc.kill('SIGTERM'); if (proc.exitCode === null) await once(proc, 'exit'); } };
}

/** Scan one code at a time and time scanner-bytes-written → relay ON received, on the sim's clock. */
async function measureLatency(sim, codes) {
  const samples = [];
  for (const code of codes) {
    const on = once(sim.relay.events, 'on');
    // Listening for OFF from the start: on a busy machine ON and OFF can arrive in one read,
    // and an OFF emitted before this listener existed would be waited for forever.
    const off = once(sim.relay.events, 'off');
    const r = await sim.scanner.scan(code);
    const [, at] = await Promise.race([on, sleep(3000).then(() => { throw new Error('no relay ON within 3 s'); })]);
    samples.push(at - r.writtenAt);
    await Promise.race([off, sleep(3000).then(() => { throw new Error('no relay OFF within 3 s'); })]);
  }
  return summarize(samples);
}

function writeConfig(site, sim, relay) {
  const cfg = parse(readFileSync(site.configPath, 'utf8'));
  const devices = parse(sim.gateYaml());
  cfg.inputs = devices.inputs;
  cfg.relay = { ...devices.relay, ...relay };
  writeFileSync(site.configPath, stringify(cfg));
}

async function main() {
  mkdirSync(dir, { recursive: true });
  note(`devices: generating and importing ${TICKETS.toLocaleString()} tickets…`);
  const site = await createDemoSite(dir, { tickets: TICKETS });
  const store = new GateStore(openDatabase(site.dbPath));
  await importSnapshot(store.db, site.whitelistPath);
  store.close();
  const sim = await startSimGate({ dir, idCard: false, sensor: false });
  try {
    const ids = site.sample.ids;
    // ---- scan → relay: stile-gate vs a bare forwarder over the same two ptys --------------
    writeConfig(site, sim, { pulseMs: 50, gapMs: 0 });
    const bare = await startChild([join(here, 'bare-forwarder.js'), sim.paths.scanner, sim.paths.relay], (l) => l.some((x) => x.ready));
    const bareStats = await measureLatency(sim, Array.from({ length: SCANS }, (_, i) => `ST1:BARE${i}`));
    await bare.stop();
    note('devices: stile-gate on the ptys…');
    const gate = await startChild([GATE_BIN, '--config', site.configPath], (l) => l.filter((x) => x.event === 'device_ok').length >= 2);
    // Warm-up scans (JIT, first page reads) are not counted; unknown ids are rejected, so they move no relay.
    for (let i = 0; i < 20; i++) await sim.scanner.scan(`ST1:WARMUP${String(i).padStart(6, '0')}`);
    await sleep(200);
    const gateStats = await measureLatency(sim, ids.filter((_, i) => i % 8 < 4).slice(0, SCANS).map((id) => `ST1:${id}`));
    await gate.stop();
    line(
      { scan_to_relay_p50_ms: fmt(gateStats.p50), scan_to_relay_p99_ms: fmt(gateStats.p99), bare_pty_p50_ms: fmt(bareStats.p50), bare_pty_p99_ms: fmt(bareStats.p99), ratio_p99: (gateStats.p99 / bareStats.p99).toFixed(1), samples: SCANS, tickets: TICKETS },
      '(target scan_to_relay_p99_ms<=10)',
    );

    // ---- lane throughput with the default 200 ms pulse: scans arrive faster than people walk ----
    writeConfig(site, sim, { pulseMs: 200, gapMs: 200 });
    const lane = await startChild([GATE_BIN, '--config', site.configPath], (l) => l.filter((x) => x.event === 'device_ok').length >= 2);
    sim.relay.clear();
    const codes = ids.slice(2 * SCANS, 2 * SCANS + LANE_PERSONS).map((id) => `ST1:${id}`);
    const t0 = nowMs();
    for (const c of codes) await sim.scanner.scan(c);
    // The demo mix has family tickets (3 pulses) and early-bird/night tickets the clock may refuse.
    const decided = () => lane.lines.filter((x) => x.event === 'admit' || x.event === 'reject');
    while (decided().length < codes.length && nowMs() - t0 < 60_000) await sleep(10);
    const persons = decided().reduce((n, x) => n + (x.event === 'admit' ? x.persons : 0), 0);
    while (sim.relay.pulses.length < persons && nowMs() - t0 < 120_000) await sleep(10);
    const ms = sim.relay.pulses.at(-1).offAt - sim.relay.pulses[0].onAt;
    await lane.stop();
    line({ lane_persons_per_min: Math.round((sim.relay.pulses.length / ms) * 60_000), persons: sim.relay.pulses.length, scans: codes.length, pulse_ms: 200, gap_ms: 200 }, '(card: >=30/min; the turnstile, not the gate, sets the pace)');
  } finally {
    await sim.close();
  }

  // ---- codec fuzz: random and mutated frames/reports through every decoder ----------------
  note(`devices: fuzzing codecs with ${FUZZ.toLocaleString()} inputs…`);
  const f = fuzzCodecs(FUZZ, 1);
  const total = (k) => Object.values(f.codecs).reduce((a, c) => a + c[k], 0);
  line({ fuzz_inputs: FUZZ, fuzz_s: (f.ms / 1000).toFixed(1), inputs_per_s: Math.round(FUZZ / (f.ms / 1000)), exceptions: total('exceptions'), violations: total('violations') }, '(expect exceptions=0 violations=0)');
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
