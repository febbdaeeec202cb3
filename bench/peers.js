// Park-local broker mode (docs/park-local-broker.md): how fast a ticket admitted at one gate
// is known, and refused, at the other, while the park's uplink is cut.
//
// A private Mosquitto on a free port stands in for the park broker (set_tcp_nodelay, as the
// doc configures it), with a bridge to a cloud address that does not answer. Two gate
// daemons (in this process, real SQLite files, `mqtt.peers: true`) share one whitelist.
// Each sample admits a ticket at one gate (alternating) and times from that gate's `admit`
// log line (written after the commit) to the other gate's `peer_entries` line that covers
// the admission's seq; then the other gate must refuse the ticket. Beside it, the bare MQTT
// round trip on the same broker: a QoS 1 publish of an entries message of the same size
// from one mqtt.js client until another receives it.
//
// stdout: one `key=value` line (see bench/README.md); stderr: progress. Nothing is asserted.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { connectAsync } from 'mqtt';
import pino from 'pino';
import { generateSigningKeyPair, loadGateConfig, MqttSchema, topics } from '../config/dist/index.js';
import { startGateDaemon } from '../gate-agent/dist/daemon/gate-daemon.js';
import { openGate } from '../gate-agent/dist/daemon/gate-context.js';
import { createDemoSite } from '../demo/dist/site.js';
import { importSnapshot } from '../gate-agent/dist/store/index.js';
import { fmt, intEnv, line, note, nowMs, runCleanup, summarize } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const SAMPLES = intEnv('BENCH_PEERS', 400);
const RUN = `p${process.pid}${Date.now().toString(36)}`;
const dir = join(here, '..', '.bench-tmp', `peers-${process.pid}-${Date.now()}`);
const silent = pino({ level: 'silent' });
const { cleanups, cleanup } = runCleanup(dir);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitUntil(cond, what, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

function mosquittoBinary() {
  for (const d of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin'])) {
    if (d && existsSync(join(d, 'mosquitto'))) return join(d, 'mosquitto');
  }
  throw new Error('mosquitto not found: install the mosquitto package');
}

/** The park broker: its uplink bridge points at a port nobody listens on (the cloud unreachable). */
async function startParkBroker(site) {
  const port = await freePort();
  const deadCloud = await freePort();
  const conf = join(dir, 'park.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'set_tcp_nodelay true',
      'max_queued_messages 100000',
      '',
      'connection stile-cloud',
      `address 127.0.0.1:${deadCloud}`,
      `remote_clientid bridge-${site}`,
      'cleansession false',
      'local_cleansession false',
      'restart_timeout 5 30',
      `topic stile/${site}/gates/+/entries out 1`,
      `topic stile/${site}/gates/+/status out 1`,
      `topic stile/${site}/gates/+/cmd/ack out 1`,
      `topic stile/${site}/gates/+/entries/ack in 1`,
      `topic stile/${site}/whitelist/delta in 1`,
      '',
    ].join('\n'),
  );
  const proc = spawn(mosquittoBinary(), ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => (log += d.toString()));
  cleanups.push(async () => {
    if (proc.exitCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    await exited;
  });
  const until = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (proc.exitCode !== null || Date.now() > until) throw new Error(`park mosquitto did not start: ${log}`);
    await sleep(50);
  }
  return `mqtt://127.0.0.1:${port}`;
}

async function canConnect(port) {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A logger whose lines are also handed to `onLine` with the moment they were written. */
function tapLogger(onLine) {
  return pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, cb) {
        const at = nowMs();
        onLine(JSON.parse(String(chunk)), at);
        cb();
      },
    }),
  );
}

async function main() {
  mkdirSync(dir, { recursive: true });
  const site = `bench-${RUN}`;
  const url = await startParkBroker(site);
  note(`peers bench: park broker ${url} (uplink cut), ${SAMPLES} samples`);

  const control = generateSigningKeyPair('ck1');
  const shared = await createDemoSite(join(dir, 'east-1'), { tickets: Math.max(200, SAMPLES * 2) });
  const gates = [];
  for (const id of ['east-1', 'west-1']) {
    const folder = join(dir, id);
    const own = id === 'east-1' ? shared : await createDemoSite(folder, { tickets: 8 });
    const base = loadGateConfig(own.configPath);
    const cfg = {
      ...base,
      site: { ...base.site, id: site },
      gate: { ...base.gate, id },
      inputs: [],
      relay: { type: 'log', pulseMs: 50, gapMs: 0 },
      keys: { ...base.keys, offline: loadGateConfig(shared.configPath).keys.offline, control: [{ id: 'ck1', publicKey: control.publicKey }] },
      mqtt: MqttSchema.parse({ url, clientId: `stile-${site}-${id}`, peers: true, reconnectMinMs: 50, reconnectMaxMs: 300 }),
    };
    const { store } = openGate(cfg, silent);
    await importSnapshot(store.db, shared.whitelistPath);
    store.close();
    const g = { id, admits: new Map(), applied: [] };
    const logger = tapLogger((l, at) => {
      if (l.event === 'admit') g.admits.set(l.seq, at);
      else if (l.event === 'peer_entries' && l.counted > 0) g.applied.push({ peer: l.peer, from: l.from, to: l.to, at });
    });
    g.daemon = startGateDaemon(cfg, logger);
    cleanups.push(() => g.daemon.stop());
    gates.push(g);
  }
  await waitUntil(() => gates.every((g) => g.daemon.sync?.status.connected), 'gates connected');
  await sleep(300);

  // The bare round trip: two clients on the same broker, a payload of an entries message's size.
  const pub = await connectAsync(url, { protocolVersion: 5, clientId: `bench-pub-${RUN}`, reconnectPeriod: 0 });
  const sub = await connectAsync(url, { protocolVersion: 5, clientId: `bench-sub-${RUN}`, reconnectPeriod: 0 });
  cleanups.push(() => pub.endAsync(), () => sub.endAsync());
  for (const c of [pub, sub]) c.stream.setNoDelay?.(true);
  const bareTopic = topics.entries(`${site}-bare`, 'x');
  let bareGot = null;
  sub.on('message', () => (bareGot = nowMs()));
  await sub.subscribeAsync(bareTopic, { qos: 1 });

  // Adult, child, family and two-day tickets: admitted at any hour.
  const ids = shared.sample.ids.filter((_, i) => i % 8 < 6);
  const peer = [];
  const bare = [];
  let refused = 0;
  let admitted = 0;
  let idx = 0;
  for (let n = 0; n < SAMPLES + 20; n++) {
    const warm = n < 20;
    const [a, b] = n % 2 === 0 ? gates : [gates[1], gates[0]];
    const id = ids[idx++];
    const outcome = a.daemon.scan({ kind: 'qr', text: `ST1:${id}` });
    // Until the other gate applied it; the seq is known once the admission is committed.
    let seq;
    await waitUntil(() => {
      if (seq === undefined) seq = [...a.admits.keys()].at(-1);
      return seq !== undefined && b.applied.some((x) => x.peer === a.id && x.from <= seq && seq <= x.to);
    }, `sample ${n} applied`);
    const appliedAt = b.applied.find((x) => x.peer === a.id && x.from <= seq && seq <= x.to).at;
    const first = await outcome;
    if (first.decision === 'admit') admitted++;
    const second = await b.daemon.scan({ kind: 'qr', text: `ST1:${id}` });
    if (second.decision === 'reject') refused++;
    if (!warm) peer.push(appliedAt - a.admits.get(seq));
    a.admits.clear();

    const body = JSON.stringify({ v: 1, site, gate: a.id, events: [{ eventId: `bare-${n}-xxxxxxxx`, seq: String(n + 1), epoch: 1, kind: 'admit', ticketId: id, typeId: 'adult', credential: 'qr', persons: 1, at: new Date().toISOString() }] });
    bareGot = null;
    const t0 = nowMs();
    await pub.publishAsync(bareTopic, body, { qos: 1 });
    await waitUntil(() => bareGot !== null, `bare ${n}`);
    if (!warm) bare.push(bareGot - t0);
    await sleep(5 + Math.random() * 10);
  }
  const p = summarize(peer);
  const m = summarize(bare);
  const stats = gates.map((g) => `${g.id}: ${JSON.stringify(g.daemon.sync.peers)}`).join('; ');
  note(`peers: max ${fmt(p.max)} ms, mean ${fmt(p.mean)} ms; bare max ${fmt(m.max)} ms; ${admitted} first scans admitted; ${stats}`);
  line(
    {
      peer_refusal_p50_ms: fmt(p.p50),
      peer_refusal_p99_ms: fmt(p.p99),
      bare_mqtt_p50_ms: fmt(m.p50),
      bare_mqtt_p99_ms: fmt(m.p99),
      ratio_p99: fmt(p.p99 / m.p99, 1),
      refused: `${refused}/${SAMPLES + 20}`,
      samples: p.n,
      uplink: 'cut',
    },
    '(target peer_refusal_p99_ms<=1000)',
  );
}

try {
  await main();
} finally {
  await cleanup();
}
