// Gate entry → staff: the time from a gate publishing an admission until (a) the retained
// capacity message with the new load reaches a subscriber and (b) the dashboard's SSE stream
// shows the new admitted count. A cloud-bridge (SQLite) with a selling site on the real
// Mosquitto (BENCH_MQTT); the baseline is a bare MQTT round trip (publish → subscriber) of a
// message of the same size on the same broker, measured in the same run.
//
// stdout: one `key=value` line; stderr: progress. Nothing is asserted.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync } from 'mqtt';
import pino from 'pino';
import { generateSigningKeyPair, topics } from '../config/dist/index.js';
import { startCloudBridge } from '../cloud-bridge/dist/index.js';
import { demoCatalogue } from '../demo/dist/catalogue.js';
import { fmt, line, note, nowMs, summarize } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const MQTT_URL = process.env.BENCH_MQTT ?? 'mqtt://127.0.0.1:1883';
const SAMPLES = Number(process.env.BENCH_LIVE_SAMPLES ?? 200);
const RUN = `b${process.pid}${Date.now().toString(36)}`;
const SITE = `${RUN}-live`;
const TOKEN = `staff-${RUN}`;
const dir = join(here, '..', '.bench-tmp', `live-${process.pid}-${Date.now()}`);
mkdirSync(dir, { recursive: true });

const pair = generateSigningKeyPair('ck1');
const bridge = await startCloudBridge({
  sqlitePath: join(dir, 'cloud.db'),
  mqttUrl: MQTT_URL,
  httpPort: 0,
  sharedGroup: `grp-${RUN}`,
  clientId: `cloud-${RUN}`,
  sessionExpirySec: 60,
  demoMode: true, // the demo catalogue's channels use the public demo keys
  logger: pino({ level: 'silent' }),
  sites: [
    {
      id: SITE,
      controlKey: { id: pair.keyId, privateKeyPem: pair.privateKeyPem },
      gates: ['g1'],
      // Samples arrive faster than one lane passes people: the lane rate check is off here.
      maxAdmissionsPerSecond: 0,
      sales: { catalogue: demoCatalogue(), capacity: { daily: 1_000_000, yellow: 0.7, orange: 0.85 }, idHashKey: 'bench-id-hash-key-0123456789abcdef', staffTokenSha256: createHash('sha256').update(TOKEN).digest('hex') },
    },
  ],
});
const clients = [];
try {
  // The screens: the capacity topic, and the dashboard's event stream.
  const screen = await connectAsync(MQTT_URL, { protocolVersion: 5, clientId: `screen-${RUN}`, reconnectPeriod: 0 });
  clients.push(screen);
  let capacityLoad = 0;
  let capacitySeen = () => {};
  let bareSeen = () => {};
  screen.on('message', (topic, payload) => {
    if (topic === topics.capacity(SITE)) {
      capacityLoad = JSON.parse(payload.toString()).load;
      capacitySeen();
    } else bareSeen();
  });
  await screen.subscribeAsync({ [topics.capacity(SITE)]: { qos: 1 }, [`bench/${RUN}/bare`]: { qos: 1 } });

  const res = await fetch(`http://127.0.0.1:${bridge.httpPort}/v1/staff/sites/${SITE}/dashboard/stream`, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (!res.ok) throw new Error(`dashboard stream: HTTP ${res.status}`);
  let admitted = 0;
  let dashboardSeen = () => {};
  const reader = res.body.getReader();
  void (async () => {
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += Buffer.from(value).toString('utf8');
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const data = buf
          .slice(0, end)
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trim())
          .join('\n');
        buf = buf.slice(end + 2);
        if (data) {
          admitted = JSON.parse(data).capacity.admitted;
          dashboardSeen();
        }
      }
    }
  })().catch(() => {});

  const gate = await connectAsync(MQTT_URL, { protocolVersion: 5, clientId: `gate-${RUN}`, reconnectPeriod: 0 });
  clients.push(gate);
  const waitUntil = (cond, set) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out (10 s)')), 10_000);
      const check = () => {
        if (cond()) {
          clearTimeout(t);
          resolve(nowMs());
        }
      };
      set(check);
      check();
    });

  const toCapacity = [];
  const toDashboard = [];
  const bare = [];
  note(`live: ${SAMPLES} admissions, one at a time, each timed to the capacity topic and the dashboard stream`);
  // The tickets the gate admits were issued by the cloud (walk-ins for today: not sold for today).
  const liveId = (i) => `LIVE${RUN}${String(i).padStart(6, '0')}`.slice(0, 64);
  const visitDate = new Date().toISOString().slice(0, 10);
  await bridge.whitelist.upsertTickets(bridge.store.db, SITE, Array.from({ length: SAMPLES + 5 }, (_, k) => ({ ticketId: liveId(k + 1), typeId: 'adult', status: 'valid', visitDate, persons: 1, entriesUsed: 0 })), null);
  for (let i = 1; i <= SAMPLES + 5; i++) {
    const event = { eventId: `${RUN}-${i}`, seq: String(i), epoch: 1, kind: 'admit', ticketId: liveId(i), typeId: 'adult', credential: 'qr', persons: 1, at: new Date().toISOString() };
    const payload = JSON.stringify({ v: 1, site: SITE, gate: 'g1', events: [event] });
    const t0 = nowMs();
    const cap = waitUntil(() => capacityLoad >= i, (f) => (capacitySeen = f));
    const dash = waitUntil(() => admitted >= i, (f) => (dashboardSeen = f));
    await gate.publishAsync(topics.entries(SITE, 'g1'), payload, { qos: 1 });
    const [tc, td] = await Promise.all([cap, dash]);
    // The baseline: the same bytes through the same broker to the same subscriber.
    const b0 = nowMs();
    const got = new Promise((r) => (bareSeen = () => r(nowMs())));
    await gate.publishAsync(`bench/${RUN}/bare`, payload, { qos: 1 });
    const tb = await got;
    if (i > 5) {
      toCapacity.push(tc - t0);
      toDashboard.push(td - t0);
      bare.push(tb - b0);
    }
  }
  const c = summarize(toCapacity);
  const d = summarize(toDashboard);
  const b = summarize(bare);
  line(
    {
      entry_to_capacity_p50_ms: fmt(c.p50),
      entry_to_capacity_p99_ms: fmt(c.p99),
      entry_to_dashboard_p50_ms: fmt(d.p50),
      entry_to_dashboard_p99_ms: fmt(d.p99),
      bare_mqtt_p50_ms: fmt(b.p50),
      bare_mqtt_p99_ms: fmt(b.p99),
      samples: c.n,
    },
    '(target p99<=1000)',
  );
  await reader.cancel().catch(() => {});
} finally {
  for (const c of clients) await c.endAsync().catch(() => {});
  await bridge.close();
  rmSync(dir, { recursive: true, force: true });
}
