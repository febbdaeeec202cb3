// The gate of the soak (bench/soak.js): stile-gate's daemon (startGateDaemon: admission,
// outbox, MQTT sync, heartbeat, WAL checkpoints) on the soak's gate.yaml, in a process of its
// own started with stile-gate's node flags, so its RSS is the gate's. Two things differ from
// a lane: the relay switches at once (a real pulse is >= 50 ms, and a million admissions in
// one lane would take 14 hours), and the scans come through daemon.scan() as fast as they
// are answered, `concurrency` at a time, instead of from a scanner. Logs go where stdout
// goes (the parent sends them to /dev/null, as the journal would take them).
//
// The scans wait while the outbox holds more than `maxOutbox` rows: at hundreds of admissions
// a second the cloud on a shared 2-core machine falls behind (a lane admits about one visitor
// a second), and this measures the gate, not that overload.
//
// IPC: the parent sends { start: { ids, total, concurrency, unknownEvery, maxOutbox } } (scan i
// is the ticket ids[i % ids.length], or every unknownEvery-th an id the whitelist does not have); this sends
// { progress: { done, admitted, rejected, outbox, whitelistSeq, connected } } every 250 ms and
// on { report: true }, and { finished } when the scans are done.
import { loadGateConfig } from '../config/dist/index.js';
import { startGateDaemon } from '../gate-agent/dist/daemon/gate-daemon.js';
import { createLogger } from '../gate-agent/dist/daemon/logger.js';
import { newHealth, setState } from '../gate-agent/dist/devices/supervisor.js';

/** A relay that switches at once and logs each pulse as a real one does. */
class InstantRelay {
  constructor(log) {
    this.log = log.child({ module: 'relay' });
    this.health = newHealth('relay', 'soak');
    setState(this.health, 'ok');
    this.emergency = false;
  }

  async pulse(persons, ctx) {
    ctx.written?.();
    this.health.scans += persons;
    this.log.info({ event: 'relay_pulse', ticketId: ctx.ticketId, seq: ctx.seq, person: 1, of: persons, pulseMs: 0 }, 'relay pulse');
  }

  async setEmergency() {}

  async close() {}
}

const cfg = loadGateConfig(process.argv[2]);
// BENCH_SOAK_LOG (diagnosis): the parent sends stdout to that file, and only warnings and errors are logged.
const logger = createLogger(process.env.BENCH_SOAK_LOG ? 'warn' : cfg.log.level);
const daemon = startGateDaemon({ ...cfg, inputs: [] }, logger, { relay: new InstantRelay(logger) });
let done = 0;
let admitted = 0;
let rejected = 0;
let throttledMs = 0;

function progress() {
  const st = daemon.status();
  const m = process.memoryUsage();
  return { done, admitted, rejected, throttledMs, outbox: st.sync?.outboxDepth ?? -1, whitelistSeq: st.sync?.whitelistSeq ?? null, connected: st.sync?.connected ?? false, heapMb: m.heapTotal / 2 ** 20, externalMb: m.external / 2 ** 20 };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function run({ ids, total, concurrency, unknownEvery, maxOutbox }) {
  let next = 0;
  const outbox = () => daemon.status().sync?.outboxDepth ?? 0;
  const worker = async (w) => {
    while (next < total) {
      while (outbox() > maxOutbox) {
        await sleep(20);
        if (w === 0) throttledMs += 20;
      }
      const i = next++;
      const code = unknownEvery > 0 && i % unknownEvery === unknownEvery - 1 ? `ST1:UNKNOWN${String(i).padStart(12, '0')}` : `ST1:${ids[i % ids.length]}`;
      const out = await daemon.scan({ kind: 'qr', text: code }, 'soak');
      done++;
      if (out.decision === 'admit') admitted++;
      else rejected++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  process.send({ finished: progress() });
}

const timer = setInterval(() => process.send({ progress: progress() }), 250);
process.on('message', (m) => {
  if (m.start) run(m.start).catch((err) => process.send({ error: err.stack }));
  if (m.report) process.send({ progress: progress() });
  // Diagnosis only: BENCH_SOAK_HEAPSNAPSHOT=<dir> writes a heap snapshot per request.
  if (m.heapSnapshot && process.env.BENCH_SOAK_HEAPSNAPSHOT) import('node:v8').then((v8) => v8.writeHeapSnapshot(`${process.env.BENCH_SOAK_HEAPSNAPSHOT}/soak-${m.heapSnapshot}.heapsnapshot`));
  if (m.stop) {
    clearInterval(timer);
    daemon.stop().then(() => process.exit(0), () => process.exit(1));
  }
});
process.send({ ready: true });
