// The kiosk sale (#17): from the first touch to the printed ticket, on simulated devices and a
// real cloud, the visitor's own time left out — the bench acts the instant the screen asks
// (confirms, taps the ID card, feeds the note or shows the payment code), so what is measured
// is the machine: the ID reader's poll and read, the cloud's availability, order, payment and
// tickets, the validator's polls (note held, stacked), the hopper's coins, the printer.
//
// A cloud-bridge on SQLite (the real Mosquitto, BENCH_MQTT) with the payment simulator in
// process; hardware-sim's ccTalk validator and hopper (20 ms a coin), ESC/POS printer, serial
// QR scanner and GA/T 467 reader (50 ms a read) on ptys; stile-kiosk's runtime in process.
// Sales alternate: cash (a ¥100 note for ¥80, ¥20 change in ¥1 coins) and a WeChat payment code.
// BENCH_KIOSK_SALES (default 50). stdout: one key=value line; stderr: progress.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { ConfigIssues, generateSigningKeyPair } from '../config/dist/index.js';
import { startCloudBridge } from '../cloud-bridge/dist/index.js';
import { parseCatalogue, sha256Hex } from '../cloud-bridge/dist/core/catalogue.js';
import { PaymentSimulator } from '../payment-sim/dist/index.js';
import { makeIdNumber, SimCashDevices, SimIdReader, SimPrinter, SimQrScanner } from '../hardware-sim/dist/index.js';
import { KioskConfigSchema, resolveKioskConfig, startKiosk } from '../kiosk-agent/dist/index.js';
import { fmt, intEnv, line, note, runCleanup, summarize } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const MQTT_URL = process.env.BENCH_MQTT ?? 'mqtt://127.0.0.1:1883';
const SALES = intEnv('BENCH_KIOSK_SALES', 50);
// The bill validator's event poll (kiosk.yaml devices.cash.billValidator.pollMs): each note waits
// one poll to be seen held and one to be seen stacked. 100 ms is the driver's default.
const VALIDATOR_POLL_MS = intEnv('BENCH_KIOSK_VALIDATOR_POLL_MS', 100);
const RUN = `k${process.pid}${Date.now().toString(36)}`;
const dir = join(here, '..', '.bench-tmp', `kiosk-${process.pid}-${Date.now()}`);
mkdirSync(dir, { recursive: true });
const { cleanups, cleanup } = runCleanup(dir);
const silent = pino({ level: 'silent' });
const KEYS = { kiosk: `bench-kiosk-${RUN}-code`, cash: `bench-kiosk-${RUN}-cash` };

async function main() {
  const paysim = new PaymentSimulator({ stateDir: join(dir, 'paysim'), refundDelayMs: 50 });
  await paysim.listen();
  cleanups.push(() => paysim.close());
  const m = paysim.merchantConfig();
  const site = `${RUN}-park`;
  const pair = generateSigningKeyPair('ck1');
  const catalogue = parseCatalogue({
    name: { 'zh-CN': '青山湖风景区', en: 'Qingshan Lake' },
    ticketTypes: [{ id: 'adult', name: { 'zh-CN': '成人票', en: 'Adult' }, priceFen: 8000 }],
    channels: [
      { id: 'kiosk', kind: 'kiosk', apiKeySha256: sha256Hex(KEYS.kiosk), payment: 'provider' },
      { id: 'kiosk-cash', kind: 'kiosk', apiKeySha256: sha256Hex(KEYS.cash), payment: 'partner' },
    ],
    refundReasons: [{ code: 'kiosk_fault', label: '售票机故障' }],
  });
  const bridge = await startCloudBridge({
    sqlitePath: join(dir, 'cloud.db'),
    mqttUrl: MQTT_URL,
    httpPort: 0,
    sites: [{ id: site, controlKey: { id: pair.keyId, privateKeyPem: pair.privateKeyPem }, gates: ['g1'], sales: { catalogue, capacity: { daily: 1_000_000, yellow: 0.7, orange: 0.85 }, idHashKey: `bench-kiosk-id-key-${RUN}-0123456789abcdef`, staffTokenSha256: createHash('sha256').update(RUN).digest('hex') } }],
    sharedGroup: `grp-${RUN}`,
    clientId: `cloud-${RUN}`,
    sessionExpirySec: 60,
    logger: silent,
    payments: {
      sites: {
        [site]: {
          wechat: { mchid: m.wechat.mchid, appid: m.wechat.appid, merchantSerial: m.wechat.merchantSerial, merchantPrivateKeyPath: m.wechat.merchantPrivateKeyPath, apiV3KeyPath: m.wechat.apiV3KeyPath, platformKeys: m.wechat.platformKeys, baseUrl: m.wechat.baseUrl },
          alipay: { appId: m.alipay.appId, appPrivateKeyPath: m.alipay.appPrivateKeyPath, alipayPublicKeyPath: m.alipay.alipayPublicKeyPath, gatewayUrl: m.alipay.gatewayUrl, billHosts: m.alipay.billHosts },
        },
      },
      sweepEveryMs: 3_600_000,
    },
  });
  cleanups.push(() => bridge.close());
  const cash = await SimCashDevices.open({ dir, hopper: { coins: SALES * 20 + 100 } });
  const printer = await SimPrinter.open({ dir, name: 'printer' });
  const scanner = await SimQrScanner.open({ dir, name: 'paycode' });
  const reader = await SimIdReader.open({ dir, name: 'idcard' });
  for (const d of [cash, printer, scanner, reader]) cleanups.push(() => d.close());
  writeFileSync(join(dir, 'kiosk.key'), KEYS.kiosk);
  writeFileSync(join(dir, 'cash.key'), KEYS.cash);
  const file = KioskConfigSchema.parse({
    version: 1,
    site: { id: site },
    kiosk: { id: 'k1' },
    cloud: { url: `http://127.0.0.1:${bridge.httpPort}`, apiKeyFile: 'kiosk.key', cashApiKeyFile: 'cash.key', contactPhone: '13800138000' },
    devices: {
      cash: { path: cash.devicePath, billValidator: { pollMs: VALIDATOR_POLL_MS }, hopper: { pollMs: 50 } },
      hopperCoins: SALES * 20 + 100,
      printer: { path: printer.devicePath },
      paymentScanner: { type: 'qr-serial', path: scanner.devicePath },
      idReader: { type: 'idcard-ga467', path: reader.devicePath, pollMs: 200 },
    },
    journal: { path: 'journal.db' },
    log: { level: 'silent' },
  });
  const cfg = resolveKioskConfig(file, new ConfigIssues(join(dir, 'kiosk.yaml')));
  const kiosk = await startKiosk(cfg);
  cleanups.push(() => kiosk.stop());
  const rt = kiosk.runtime;
  while (rt.catalogue().types.length === 0) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 500)); // the validator and hopper set up

  const totals = { all: [], cash: [], code: [] };
  const inPhase = new Map();
  let visitor = (process.pid % 1000) * 997 + (Date.now() % 100_000);
  for (let i = 0; i < SALES; i++) {
    const method = i % 2 === 0 ? 'cash' : 'code';
    let last = performance.now();
    let lastPhase = 'idle';
    let t0 = 0;
    const done = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sale ${i} (${method}) stuck in ${rt.state().phase}`)), 20_000);
      let confirmed = false;
      const off = rt.subscribe((s) => {
        // The visitor confirms the choice once the places left are on screen.
        if (s.phase === 'choosing' && s.sale?.availability && !confirmed) {
          confirmed = true;
          void Promise.resolve().then(() => rt.dispatch({ kind: 'confirm' }));
        }
        if (s.phase === lastPhase) return;
        const now = performance.now();
        inPhase.set(lastPhase, [...(inPhase.get(lastPhase) ?? []), now - last]);
        last = now;
        lastPhase = s.phase;
        // The visitor, acting at once on each screen.
        if (s.phase === 'identifying') reader.placeCard({ idNumber: makeIdNumber(++visitor), name: '张三' });
        if (s.phase === 'review') {
          reader.removeCard();
          void Promise.resolve().then(() => rt.dispatch({ kind: 'choose_method', method }));
        }
        // Until the validator is enabled it refuses the note; the visitor tries again at once.
        if (s.phase === 'cash') void (async () => {
          while (rt.state().phase === 'cash' && cash.validator.insertNote(10000) !== 'held') await new Promise((r) => setTimeout(r, 5));
        })();
        if (s.phase === 'code_wait') void scanner.scan(String(134500000000000000 + i));
        if (s.phase === 'done') {
          clearTimeout(timer);
          off();
          resolve(now - t0);
        }
        if (s.phase === 'idle' || s.phase === 'print_failed') {
          clearTimeout(timer);
          off();
          reject(new Error(`sale ${i} (${method}) ended in ${s.phase}: ${s.notice?.key}`));
        }
      });
    });
    t0 = performance.now();
    rt.startSale();
    const ms = await done;
    totals.all.push(ms);
    totals[method].push(ms);
    // The next visitor touches the "take your ticket" screen: a new sale starts from there.
    if ((i + 1) % 10 === 0) note(`kiosk: ${i + 1}/${SALES} sales, last ${fmt(ms, 0)} ms`);
  }
  const all = summarize(totals.all);
  const c = summarize(totals.cash);
  const k = summarize(totals.code);
  const phases = [...inPhase.entries()].filter(([p]) => p !== 'idle').map(([p, v]) => `${p}=${fmt(summarize(v).p50, 0)}`).join(',');
  line(
    {
      sales: all.n,
      sale_p50_ms: fmt(all.p50, 1),
      sale_p99_ms: fmt(all.p99, 1),
      cash_p50_ms: fmt(c.p50, 1),
      cash_p99_ms: fmt(c.p99, 1),
      code_p50_ms: fmt(k.p50, 1),
      code_p99_ms: fmt(k.p99, 1),
      validator_poll_ms: VALIDATOR_POLL_MS,
      phase_p50_ms: phases,
    },
    '(target sale_p99_ms<=1000; visitor time excluded)',
  );
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
