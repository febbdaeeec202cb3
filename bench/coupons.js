// Coupon redemption figures (#19 point 3): orders with a couponCode through the real channel
// HTTP route (POST /v1/channel/orders: the coupon is checked and held by one conditional
// UPDATE inside the order's transaction), 50 at once, on SQLite and on PostgreSQL (BENCH_PG,
// default postgres://postgres@127.0.0.1:5432/test), the bridge on the real Mosquitto
// (BENCH_MQTT). The baseline is measured in the same run: the same orders without a coupon,
// in rounds alternating with the coupon rounds. A third figure: 50 orders racing for ONE
// coupon (exactly one may win; the run checks it). The load comes from a forked child
// (this file with --child) over keep-alive sockets.
//
// stdout: one `key=value` line per figure; stderr: progress. Target: p99 ≤ 50 ms.
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const CONCURRENCY = 50;
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/** A valid resident ID number, unique per n (a Beijing county, a birth date, a sequence, MOD 11-2). */
function idNumber(n) {
  const birth = new Date(Date.UTC(1950, 0, 1) + Math.floor(n / 999) * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
  const body = `110105${birth}${String((n % 999) + 1).padStart(3, '0')}`;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (body.charCodeAt(i) - 0x30) * WEIGHTS[i];
  return body + '10X98765432'[sum % 11];
}

if (process.argv[2] === '--child') {
  // The load child: each round's requests all at once; latency from issue to the whole body.
  const { nowMs } = await import('./lib.js');
  let agent;
  process.on('message', async (job) => {
    const target = new URL(job.url);
    agent ??= new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY, maxFreeSockets: CONCURRENCY });
    const post = (body, key) =>
      new Promise((resolve, reject) => {
        const text = JSON.stringify(body);
        const t0 = nowMs();
        const req = http.request({ host: target.hostname, port: target.port, path: '/v1/channel/orders', method: 'POST', agent, headers: { authorization: `Bearer ${job.key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'idempotency-key': key } }, (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ ms: nowMs() - t0, status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString()) }));
        });
        req.on('error', reject);
        req.end(text);
      });
    // One round per message: its requests all at once.
    const { round } = job;
    const answers = await Promise.all(round.bodies.map((b, i) => post(b, `${job.run}-${round.tag}-${round.n}-${i}`)));
    process.send({ answers: answers.map((a) => ({ ms: a.ms, status: a.status, error: a.body.error, orderId: a.body.orderId })) });
  });
  process.send({ ready: true });
} else {
  await main();
}

async function main() {
  const pino = (await import('pino')).default;
  const { generateSigningKeyPair, hashIdNumber } = await import('../config/dist/index.js');
  const { startCloudBridge } = await import('../cloud-bridge/dist/index.js');
  const { DEMO_API_KEYS, demoCatalogue } = await import('../demo/dist/catalogue.js');
  const { fmt, intEnv, line, note, nowMs, pgSchema, runCleanup, summarize } = await import('./lib.js');
  const os = await import('node:os');
  const MQTT_URL = process.env.BENCH_MQTT ?? 'mqtt://127.0.0.1:1883';
  const PG_URL = process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
  const ROUNDS = intEnv('BENCH_COUPON_ROUNDS', 20); // of 50 orders each, with and without a coupon
  const RACES = intEnv('BENCH_COUPON_RACES', 5); // rounds of 50 orders racing for one coupon
  const DIALECTS = (process.env.BENCH_COUPON_DIALECTS ?? 'sqlite,postgres').split(',');
  const RUN = `cp${process.pid}${Date.now().toString(36)}`;
  const dir = join(here, '..', '.bench-tmp', `coupons-${process.pid}`);
  const { cleanups, cleanup } = runCleanup(dir);
  const silent = pino({ level: 'silent' });
  const STAFF = `bench-staff-${RUN}`;
  const idHashKey = `bench-id-hash-key-${RUN}-0123456789abcdef`;

  // Weekdays from the day after tomorrow: orders spread over them (the lanes of group commit).
  const dates = [];
  for (let k = 2; dates.length < 10; k++) dates.push(new Date(Date.now() + k * 86_400_000 + 8 * 3_600_000).toISOString().slice(0, 10));

  /**
   * The POS redemption path itself (CouponRedeemer.redeemAtPos, what the POS API calls inside
   * its transaction), 50 transactions at once in the bridge's process: each inserts a POS line
   * and redeems its own coupon (issued → redeemed, one conditional UPDATE); the baseline is the
   * same transaction with the POS line only. No HTTP: this isolates the database work.
   */
  async function posPath(bridge, site, dialect) {
    const { MarketingRepository } = await import('../cloud-bridge/dist/modules/marketing/repository.js');
    const { posRedeemer } = await import('../cloud-bridge/dist/modules/marketing/redemption.js');
    const repo = new MarketingRepository(bridge.store);
    const redeemer = posRedeemer(repo, { site: () => ({ catalogue: { timeZone: 'Asia/Shanghai' } }) }, () => new Date(), silent);
    const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    const codes = [];
    for (let i = 0; i < (ROUNDS + 1) * CONCURRENCY; i++) {
      const code = `CBENCH${RUN.slice(-6).toUpperCase()}${i}`;
      await repo.insertCoupon(bridge.store.db, { site, code, rule_id: 'bench', id_hash: null, kind: 'fixed', percent_off: null, amount_fen: 2000, item: null, applies_to: 'pos', channels: null, stacking: 'exclusive', min_spend_fen: 0, categories: null, template: 'lunch', valid_from: today, valid_to: today, issued_at: new Date().toISOString() });
      codes.push(code);
    }
    let line_no = 0;
    const tx = (code) => {
      const t0 = nowMs();
      return bridge.store.db
        .transaction()
        .execute(async (trx) => {
          const ref = `L${line_no++}`;
          const at = new Date();
          const d = code ? await redeemer.redeemAtPos(trx, site, code, { idHash: null, amountFen: 5000, category: 'restaurant', source: 'canteen', ref, at }) : { discountFen: 0 };
          await trx.insertInto('pos_lines').values({ site, source: 'canteen', line_id: ref, at: at.toISOString(), visit_date: today, amount_fen: 5000, category: 'restaurant', item: null, id_hash: null, order_id: null, link: 'ticket', coupon_code: code ?? null, discount_fen: d.discountFen, received_at: at.toISOString() }).execute();
        })
        .then(() => nowMs() - t0);
    };
    const samples = { base: [], pos: [] };
    const cpu = { base: 0, pos: 0 };
    const timed = async (key, r, work) => {
      const c0 = process.cpuUsage();
      const ms = await work();
      const c = process.cpuUsage(c0);
      if (r > 0) cpu[key] += (c.user + c.system) / 1000;
      return ms;
    };
    for (let r = 0; r <= ROUNDS; r++) {
      const base = await timed('base', r, () => Promise.all(Array.from({ length: CONCURRENCY }, () => tx(undefined))));
      const pos = await timed('pos', r, () => Promise.all(codes.slice(r * CONCURRENCY, (r + 1) * CONCURRENCY).map((c) => tx(c))));
      if (r === 0) continue; // warm-up
      samples.base.push(...base);
      samples.pos.push(...pos);
    }
    const b = summarize(samples.base);
    const p = summarize(samples.pos);
    const redeemed = await bridge.store.db.selectFrom('coupons').select('code').where('site', '=', site).where('rule_id', '=', 'bench').where('state', '=', 'redeemed').execute();
    line({ bench: 'coupons', dialect, kind: 'pos_path_baseline', concurrency: CONCURRENCY, n: b.n, p50_ms: fmt(b.p50, 1), p99_ms: fmt(b.p99, 1), bridge_cpu_ms_per_tx: fmt(cpu.base / b.n, 3) });
    line({ bench: 'coupons', dialect, kind: 'pos_path_redeem', concurrency: CONCURRENCY, n: p.n, p50_ms: fmt(p.p50, 1), p99_ms: fmt(p.p99, 1), bridge_cpu_ms_per_tx: fmt(cpu.pos / p.n, 3), redeemed: redeemed.length, target_p99_ms: 50, met: p.p99 <= 50 ? 'yes' : 'no' });
  }

  try {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    for (const dialect of DIALECTS) {
      const pair = generateSigningKeyPair('ck1');
      const cat = demoCatalogue();
      const id = `${RUN}-${dialect}`;
      const sales = { catalogue: { ...cat, slots: cat.slots.map((s) => ({ ...s, quota: 1_000_000 })) }, capacity: { daily: 1_000_000, yellow: 0.7, orange: 0.85 }, idHashKey, staffTokenSha256: createHash('sha256').update(STAFF).digest('hex') };
      // Stackable: the off-season weekend price of the demo park would refuse an exclusive one on weekends.
      const marketing = { coupons: [{ id: 'half', kind: 'percent', percentOff: 50, appliesTo: 'ticket', validDays: 365, stacking: 'stackable', minSpendFen: 0 }], rules: [] };
      const db = dialect === 'sqlite' ? { sqlitePath: join(dir, 'cloud.db') } : { databaseUrl: await pgSchema(PG_URL, RUN, cleanups) };
      const bridge = await startCloudBridge({ ...db, mqttUrl: MQTT_URL, httpPort: 0, sites: [{ id, controlKey: { id: pair.keyId, privateKeyPem: pair.privateKeyPem }, gates: ['g1'], sales, marketing }], sharedGroup: `grp-${id}`, clientId: `cloud-${id}`, sessionExpirySec: 60, demoMode: true, logger: silent });
      let closed = false;
      const close = async () => {
        if (closed) return;
        closed = true;
        await bridge.close();
      };
      cleanups.push(close);
      const url = `http://127.0.0.1:${bridge.httpPort}`;
      const issue = async (visitor) => {
        const r = await fetch(`${url}/v1/staff/sites/${id}/coupons`, { method: 'POST', headers: { authorization: `Bearer ${STAFF}`, 'content-type': 'application/json' }, body: JSON.stringify({ template: 'half', ...(visitor ? { visitor } : {}) }) });
        if (r.status !== 200) throw new Error(`issuing a coupon: ${r.status} ${await r.text()}`);
        return (await r.json()).code;
      };
      let n = dialect === 'sqlite' ? 0 : 500_000;
      const order = (i, extra = {}) => ({ typeId: 'adult', date: dates[i % dates.length], slotId: 's10', contactPhone: '13800138000', visitors: [{ name: `游客${n}`, idNumber: idNumber(n++) }], ...extra });
      note(`${dialect}: issuing ${(ROUNDS + 1) * CONCURRENCY} coupons (not timed)`);
      const rounds = [];
      for (let r = 0; r <= ROUNDS; r++) {
        const warm = r === 0; // one warm-up round of each kind, not counted
        rounds.push({ tag: 'baseline', n: r, warm, bodies: Array.from({ length: CONCURRENCY }, (_, i) => order(i)) });
        const bodies = Array.from({ length: CONCURRENCY }, (_, i) => order(i));
        for (const b of bodies) b.couponCode = await issue(hashIdNumber(idHashKey, b.visitors[0].idNumber));
        rounds.push({ tag: 'coupon', n: r, warm, bodies });
      }
      for (let r = 0; r < RACES; r++) {
        const code = await issue(undefined); // a bearer coupon: every racer may use it
        rounds.push({ tag: 'race', n: r, warm: false, bodies: Array.from({ length: CONCURRENCY }, (_, i) => order(i, { couponCode: code })) });
      }
      note(`${dialect}: ${rounds.length} rounds of ${CONCURRENCY} orders at once`);
      const child = fork(fileURLToPath(import.meta.url), ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      await new Promise((resolve) => child.once('message', resolve));
      // Round by round, with the CPU this process (the bridge; with SQLite also the database) spent on each.
      const out = [];
      const cpu = { baseline: 0, coupon: 0, race: 0 };
      for (const round of rounds) {
        const c0 = process.cpuUsage();
        const { answers } = await new Promise((resolve) => {
          child.once('message', resolve);
          child.send({ url, key: DEMO_API_KEYS.wechat, run: RUN, round });
        });
        const c = process.cpuUsage(c0);
        if (!round.warm) cpu[round.tag] += (c.user + c.system) / 1000;
        out.push({ tag: round.tag, warm: round.warm, answers });
      }
      child.kill();
      const by = (tag) => out.filter((o) => o.tag === tag && !o.warm).flatMap((o) => o.answers);
      const report = (tag) => {
        const a = by(tag);
        const s = summarize(a.map((x) => x.ms));
        const statuses = {};
        for (const x of a) statuses[x.error ?? x.status] = (statuses[x.error ?? x.status] ?? 0) + 1;
        line({ bench: 'coupons', dialect, kind: tag, concurrency: CONCURRENCY, n: s.n, p50_ms: fmt(s.p50, 1), p99_ms: fmt(s.p99, 1), max_ms: fmt(s.max, 1), bridge_cpu_ms_per_order: fmt(cpu[tag] / s.n, 2), outcomes: Object.entries(statuses).map(([k, v]) => `${k}:${v}`).join(',') });
        return s;
      };
      const base = report('baseline');
      const coupon = report('coupon');
      report('race');
      line({ bench: 'coupons', dialect, kind: 'ratio', p50_coupon_over_baseline: fmt(coupon.p50 / base.p50, 2), p99_coupon_over_baseline: fmt(coupon.p99 / base.p99, 2), target_p99_ms: 50, met: coupon.p99 <= 50 ? 'yes' : 'no' });
      // What the database says: every coupon order holds its own coupon; each race has exactly one winner.
      const held = await bridge.store.db.selectFrom('coupons').select(['state', 'held_order']).where('site', '=', id).where('state', '=', 'held').execute();
      const won = out.filter((o) => o.tag !== 'baseline').flatMap((o) => o.answers).filter((x) => x.status === 201).length;
      const raceWinners = out.filter((o) => o.tag === 'race').map((o) => o.answers.filter((x) => x.status === 201).length);
      line({ bench: 'coupons', dialect, kind: 'check', coupon_orders_201: won, coupons_held: held.length, race_winners: raceWinners.join('/'), ok: won === held.length && raceWinners.every((w) => w === 1) ? 'yes' : 'NO' });
      await posPath(bridge, id, dialect);
      await close();
    }
    line({ bench: 'coupons', kind: 'machine', loadavg_1m: os.loadavg()[0].toFixed(1), cpus: os.availableParallelism() });
  } finally {
    await cleanup();
  }
}
