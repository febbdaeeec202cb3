// Provider payments (#16 point 3): order-to-ticket latency through the payment simulator, and
// provider notifications handled per second beside a bare node:http server, in the same run,
// on SQLite and on PostgreSQL (BENCH_PG, default postgres://postgres@127.0.0.1:5432/test), the
// bridge on the real Mosquitto (BENCH_MQTT, default mqtt://127.0.0.1:1883).
//
// Order to ticket: a visitor's whole purchase on a provider-mode channel — POST the order,
// POST a QR payment (our signed request to the simulator and its verified answer), the
// visitor pays at the simulator (its control API), the simulator sends the signed, encrypted
// notification, the bridge verifies, decrypts, confirms the order, issues the tickets — until
// the whitelist delta carrying the visitor's ticket arrives at a gate's MQTT subscription.
// WeChat Pay and Alipay alternate. Notifications go through a forwarding relay (a load
// balancer's hop), which also captures them for the second part.
//
// Notifications/s: genuine WeChat Pay TRANSACTION.SUCCESS notifications captured from the
// simulator (one per paid trade, not yet delivered), posted byte for byte by a forked load
// process (bench/payments-load.js): first delivery (verify + decrypt + order paid + tickets +
// delta), then the same again (verify + decrypt + dedupe), and the same requests against a bare
// node:http server that reads the body and answers 204.
//
// stdout: one `key=value` line per dialect; stderr: progress. Nothing is asserted.
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import pino from 'pino';
import { generateSigningKeyPair, hashIdNumber, topics } from '../config/dist/index.js';
import { startCloudBridge } from '../cloud-bridge/dist/index.js';
import { parseCatalogue, sha256Hex } from '../cloud-bridge/dist/core/catalogue.js';
import { PaymentSimulator } from '../payment-sim/dist/index.js';
import { fmt, intEnv, line, note, nowMs, pgSchema, runCleanup, summarize } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const MQTT_URL = process.env.BENCH_MQTT ?? 'mqtt://127.0.0.1:1883';
const PG_URL = process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const ORDERS = intEnv('BENCH_PAY_ORDERS', 300);
const CONCURRENCY = intEnv('BENCH_PAY_CONCURRENCY', 8);
const NOTIFICATIONS = intEnv('BENCH_PAY_NOTIFICATIONS', 1000);
const NOTIFY_CONCURRENCY = intEnv('BENCH_PAY_NOTIFY_CONCURRENCY', 16);
const DIALECTS = (process.env.BENCH_PAY_DIALECTS ?? 'sqlite,postgres').split(',').map((s) => s.trim());
const RUN = `p${process.pid}${Date.now().toString(36)}`;
const dir = join(root, '.bench-tmp', `payments-${process.pid}-${Date.now()}`);
const { cleanups, cleanup } = runCleanup(dir);
const silent = pino({ level: 'silent' });
const KEY = `bench-pay-key-${RUN}`;
const ID_KEY = `bench-pay-id-hash-key-${RUN}-0123456789abcdef`;

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/** A resident ID number the cloud accepts, unique per n (a real birth date per 999 numbers). */
function idNumber(n) {
  const body = `110102${new Date(Date.UTC(1950, 0, 1) + Math.floor(n / 999) * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '')}${String((n % 999) + 1).padStart(3, '0')}`;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(body[i]) * WEIGHTS[i];
  return body + '10X98765432'[sum % 11];
}

/** 30 visit dates from the day after tomorrow (park time). */
function visitDates() {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).format(Date.now());
  const [y, m, d] = today.split('-').map(Number);
  return Array.from({ length: 30 }, (_, k) => new Date(Date.UTC(y, m - 1, d + 2 + k)).toISOString().slice(0, 10));
}

/** Forwards provider notifications to the bridge, or captures them (answering the provider as delivered). */
async function relay(target) {
  const state = { mode: 'forward', held: [] };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const d = { path: req.url, headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k))), body: Buffer.concat(chunks).toString('utf8') };
      if (state.mode === 'hold') {
        state.held.push(d);
        if (d.path.includes('/wechat/')) res.writeHead(204).end();
        else res.writeHead(200, { 'content-type': 'text/plain' }).end('success');
        return;
      }
      try {
        const r = await fetch(target() + d.path, { method: 'POST', headers: d.headers, body: d.body });
        const text = await r.text();
        res.writeHead(r.status, r.headers.get('content-type') ? { 'content-type': r.headers.get('content-type') } : {}).end(text);
      } catch {
        res.writeHead(502).end();
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => (server.close(() => r()), server.closeAllConnections())));
  return { url: `http://127.0.0.1:${server.address().port}`, state };
}

/** Fork the load child, give it the job, resolve with its result. */
function load(tag, job) {
  const child = fork(join(here, 'payments-load.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  return new Promise((resolve, reject) => {
    let got = null;
    child.on('message', (m) => {
      if (m.ready) child.send(job);
      if (m.result) got = m.result;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (!got) return reject(new Error(`${tag}: load child exited with ${code} and no result`));
      const rate = got.count / got.seconds;
      note(`${tag}: ${got.count} in ${got.seconds.toFixed(2)} s = ${rate.toFixed(0)}/s, p50 ${fmt(got.p50)} ms p99 ${fmt(got.p99)} ms, statuses ${JSON.stringify(got.statuses)}, errors ${got.errors}, e.g. ${JSON.stringify(got.sample)}`);
      resolve({ ...got, rate });
    });
  });
}

async function bareServer() {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const close = () => new Promise((r) => (server.close(() => r()), server.closeAllConnections()));
  cleanups.push(close);
  return { url: `http://127.0.0.1:${server.address().port}`, close };
}

async function park(dialect, dates) {
  const simDir = join(dir, `sim-${dialect}`);
  mkdirSync(simDir, { recursive: true });
  const sim = new PaymentSimulator({ stateDir: simDir, retryDelaysMs: { wechat: [200, 500, 1000], alipay: [200, 500, 1000] }, refundDelayMs: 50 });
  await sim.listen();
  cleanups.push(() => sim.close());
  let bridge;
  let gate;
  const r = await relay(() => `http://127.0.0.1:${bridge.httpPort}`);
  const cfg = sim.merchantConfig();
  const pair = generateSigningKeyPair('ck1');
  const id = `${RUN}-${dialect}`;
  const catalogue = parseCatalogue({
    ticketTypes: [{ id: 'adult', name: 'Adult', priceFen: 8000 }],
    slots: [{ id: 's10', start: '10:00', end: '12:00', quota: 1_000_000 }],
    channels: [{ id: 'web', kind: 'online', apiKeySha256: sha256Hex(KEY), payment: 'provider' }],
    refundReasons: [{ code: 'weather', label: '天气原因' }],
  });
  const db = dialect === 'sqlite' ? { sqlitePath: join(dir, `cloud-${dialect}.db`) } : { databaseUrl: await pgSchema(PG_URL, `${RUN}`, cleanups) };
  const w = cfg.wechat;
  const a = cfg.alipay;
  bridge = await startCloudBridge({
    ...db,
    mqttUrl: MQTT_URL,
    httpPort: 0,
    sites: [{ id, controlKey: { id: pair.keyId, privateKeyPem: pair.privateKeyPem }, gates: ['g1'], sales: { catalogue, capacity: { daily: 1_000_000, yellow: 0.7, orange: 0.85 }, idHashKey: ID_KEY, staffTokenSha256: createHash('sha256').update(`staff-${RUN}`).digest('hex') } }],
    sharedGroup: `grp-${id}`,
    clientId: `cloud-${id}`,
    sessionExpirySec: 60,
    logger: silent,
    payments: {
      sites: {
        [id]: {
          wechat: { mchid: w.mchid, appid: w.appid, merchantSerial: w.merchantSerial, merchantPrivateKeyPath: w.merchantPrivateKeyPath, apiV3KeyPath: w.apiV3KeyPath, platformKeys: w.platformKeys, baseUrl: w.baseUrl },
          alipay: { appId: a.appId, appPrivateKeyPath: a.appPrivateKeyPath, alipayPublicKeyPath: a.alipayPublicKeyPath, gatewayUrl: a.gatewayUrl, billHosts: a.billHosts },
        },
      },
      notifyBaseUrl: r.url,
    },
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await gate?.endAsync();
    await bridge.close();
  };
  cleanups.push(close);
  // A gate: the delta carrying a visitor's ticket (found by the keyed hash of their ID number) ends the purchase.
  gate = await mqtt.connectAsync(MQTT_URL, { protocolVersion: 5, clientId: `gate-${id}`, reconnectPeriod: 0 });
  const waiting = new Map();
  gate.on('message', (_t, payload) => {
    const delta = JSON.parse(payload.toString());
    for (const c of delta.changes ?? []) {
      const w = c.op === 'upsert' && c.ticket.idHash ? waiting.get(c.ticket.idHash) : undefined;
      if (w) {
        waiting.delete(c.ticket.idHash);
        w();
      }
    }
  });
  await gate.subscribeAsync(topics.whitelistDelta(id), { qos: 1 });
  const base = `http://127.0.0.1:${bridge.httpPort}`;
  const post = async (url, body, headers = {}) => {
    const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json().catch(() => ({})) };
  };
  let n = 0;
  /** One visitor's order and its QR payment; resolves with the trade to pay. */
  const orderAndQr = async (provider) => {
    const i = ++n;
    const idn = idNumber(i + (dialect === 'sqlite' ? 0 : 500_000));
    const o = await post(`${base}/v1/channel/orders`, { typeId: 'adult', date: dates[i % dates.length], slotId: 's10', contactPhone: '13800138000', visitors: [{ name: `游客${i}`, idNumber: idn }] }, { 'idempotency-key': `${RUN}-${dialect}-${i}` });
    if (o.status !== 201) throw new Error(`order: ${o.status} ${JSON.stringify(o.body)}`);
    const p = await post(`${base}/v1/channel/orders/${o.body.orderId}/payments`, { provider, method: 'qr' });
    if (p.status !== 200) throw new Error(`payment: ${p.status} ${JSON.stringify(p.body)}`);
    return { orderId: o.body.orderId, outTradeNo: p.body.outTradeNo, idHash: hashIdNumber(ID_KEY, idn) };
  };
  const simPay = async (provider, outTradeNo) => {
    const res = await fetch(`${sim.baseUrl}/sim/trades/${provider}/${outTradeNo}/pay`, { method: 'POST' });
    if (res.status !== 200) throw new Error(`sim pay: ${res.status} ${await res.text()}`);
  };
  return { sim, bridge, relay: r, base, waiting, orderAndQr, simPay, id, close };
}

async function orderToTicket(p, concurrency, count) {
  const total = [];
  const afterPay = [];
  let failures = 0;
  let next = 0;
  const one = async (k) => {
    const provider = k % 2 === 0 ? 'wechat' : 'alipay';
    const t0 = nowMs();
    const { outTradeNo, idHash } = await p.orderAndQr(provider);
    const arrived = new Promise((resolve, reject) => {
      p.waiting.set(idHash, resolve);
      setTimeout(() => reject(new Error('no ticket at the gate within 10 s')), 10_000).unref();
    });
    const tPay = nowMs();
    await p.simPay(provider, outTradeNo);
    await arrived;
    const t1 = nowMs();
    total.push(t1 - t0);
    afterPay.push(t1 - tPay);
  };
  const worker = async () => {
    while (next < count) {
      const k = next++;
      await one(k).catch((err) => {
        failures++;
        if (failures <= 3) note(`order-to-ticket: ${err.message}`);
      });
    }
  };
  // Warm-up (JIT, connections, prepared statements): not counted.
  for (let k = 0; k < 10; k++) await one(k).catch(() => {});
  total.length = 0;
  afterPay.length = 0;
  const t0 = nowMs();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (nowMs() - t0) / 1000;
  return { total: summarize(total), afterPay: summarize(afterPay), failures, seconds };
}

/** Genuine first deliveries of WeChat Pay payment notifications, captured before the bridge saw them. */
async function capture(p) {
  p.relay.state.mode = 'hold';
  p.relay.state.held.length = 0;
  let next = 0;
  const worker = async () => {
    while (next < NOTIFICATIONS) {
      next++;
      const t = await p.orderAndQr('wechat');
      await p.simPay('wechat', t.outTradeNo);
    }
  };
  const t0 = nowMs();
  await Promise.all(Array.from({ length: 16 }, worker));
  while (p.relay.state.held.length < NOTIFICATIONS && nowMs() - t0 < 120_000) await new Promise((r) => setTimeout(r, 20));
  p.relay.state.mode = 'forward';
  const ids = new Set();
  const deliveries = p.relay.state.held.filter((d) => d.path.includes('/wechat/') && !ids.has(JSON.parse(d.body).id) && ids.add(JSON.parse(d.body).id));
  note(`captured ${deliveries.length} WeChat Pay notifications in ${((nowMs() - t0) / 1000).toFixed(1)} s (they stay fresh for 5 minutes)`);
  return deliveries;
}

async function dialectRun(dialect, dates, bare) {
  const p = await park(dialect, dates);
  try {
    // One visitor at a time (what one purchase costs), then CONCURRENCY at once (a busy hour).
    const one = await orderToTicket(p, 1, Math.min(ORDERS, 50));
    const lat = await orderToTicket(p, CONCURRENCY, ORDERS);
    for (const [what, r] of [['one at a time', one], [`${CONCURRENCY} at once`, lat]]) {
      note(
        `${dialect}, ${what}: order to ticket p50 ${fmt(r.total.p50)} ms p99 ${fmt(r.total.p99)} ms max ${fmt(r.total.max)} ms; pay to ticket p50 ${fmt(r.afterPay.p50)} p99 ${fmt(r.afterPay.p99)} ms; ${r.total.n} purchases in ${r.seconds.toFixed(1)} s (${(r.total.n / r.seconds).toFixed(1)}/s), ${r.failures} failed`,
      );
    }
    const deliveries = await capture(p);
    const paidBefore = await countPaid(p);
    const fresh = await load(`notifications ${dialect} (first delivery)`, { url: p.base, deliveries, concurrency: NOTIFY_CONCURRENCY });
    const paidAfter = await countPaid(p);
    note(`${dialect}: ${paidAfter - paidBefore} orders paid by the first deliveries`);
    const dup = await load(`notifications ${dialect} (duplicates)`, { url: p.base, deliveries, concurrency: NOTIFY_CONCURRENCY });
    const bareBeside = await load(`bare node:http beside ${dialect}`, { url: bare.url, deliveries, concurrency: NOTIFY_CONCURRENCY });
    return { one, lat, fresh, dup, bareBeside, paid: paidAfter - paidBefore, notifications: deliveries.length };
  } finally {
    await p.close();
  }
}

async function countPaid(p) {
  const r = await p.bridge.store.db.selectFrom('orders').select((eb) => eb.fn.countAll().as('n')).where('site', '=', p.id).where('status', '=', 'paid').executeTakeFirstOrThrow();
  return Number(r.n);
}

async function main() {
  mkdirSync(dir, { recursive: true });
  note(`payments bench: broker ${MQTT_URL}, PostgreSQL ${PG_URL.replace(/\/\/[^@/]*@/, '//')}, run ${RUN}, ${ORDERS} purchases at ${CONCURRENCY} in flight, ${NOTIFICATIONS} notifications at ${NOTIFY_CONCURRENCY} in flight, ${availableParallelism()} CPUs`);
  const dates = visitDates();
  const bare = await bareServer();
  for (const dialect of DIALECTS) {
    const r = await dialectRun(dialect, dates, bare);
    const tag = dialect === 'postgres' ? 'pg' : dialect;
    line(
      {
        [`pay_order_to_ticket_${tag}_one_p50_ms`]: fmt(r.one.total.p50),
        [`pay_order_to_ticket_${tag}_one_p99_ms`]: fmt(r.one.total.p99),
        [`pay_order_to_ticket_${tag}_p50_ms`]: fmt(r.lat.total.p50),
        [`pay_order_to_ticket_${tag}_p99_ms`]: fmt(r.lat.total.p99),
        [`pay_paid_to_ticket_${tag}_p50_ms`]: fmt(r.lat.afterPay.p50),
        [`pay_paid_to_ticket_${tag}_p99_ms`]: fmt(r.lat.afterPay.p99),
        purchases: r.lat.total.n + r.one.total.n,
        failed: r.lat.failures + r.one.failures,
        concurrency: CONCURRENCY,
      },
      '(target order_to_ticket p99<=1000)',
    );
    line(
      {
        [`pay_notify_${tag}_per_s`]: r.fresh.rate.toFixed(0),
        [`pay_notify_dup_${tag}_per_s`]: r.dup.rate.toFixed(0),
        bare_http_per_s: r.bareBeside.rate.toFixed(0),
        [`ratio_notify_${tag}`]: fmt(r.fresh.rate / r.bareBeside.rate),
        [`ratio_notify_dup_${tag}`]: fmt(r.dup.rate / r.bareBeside.rate),
        [`notify_${tag}_p99_ms`]: fmt(r.fresh.p99),
        orders_paid: r.paid,
        notifications: r.notifications,
        concurrency: NOTIFY_CONCURRENCY,
      },
      '(informative)',
    );
  }
}

try {
  await main();
} finally {
  await cleanup();
}
