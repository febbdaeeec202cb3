/**
 * A park with one kiosk, all real components: a cloud-bridge on SQLite (the real Mosquitto)
 * with WeChat Pay / Alipay against the payment simulator (in process), two kiosk channels
 * (payment codes through the providers; cash confirmed by the kiosk), and the kiosk's devices
 * from hardware-sim on pseudo-terminals: the ccTalk bill validator and hopper, the ESC/POS
 * printer, a serial QR scanner for payment codes and a GA/T 467 ID-card reader.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { ConfigIssues } from '@stile/config';
import { makeIdNumber, SimCashDevices, SimIdReader, SimPrinter, SimQrScanner } from '@stile/hardware-sim';
import { PaymentSimulator } from '@stile/payment-sim';
import type { CloudBridge } from '../../../cloud-bridge/src/bridge.js';
import type { KioskDaemon } from '../../src/daemon/kiosk-daemon.js';
import { parseCatalogue, sha256Hex } from '../../../cloud-bridge/src/core/catalogue.js';
import { LogSmsSender } from '../../../cloud-bridge/src/core/notify/sms.js';
import { silentLog, testBridge, testDb, testSite, type TestDb } from '../../../cloud-bridge/test/helpers.js';
import { KioskConfigSchema, resolveKioskConfig, type KioskConfig, type KioskConfigFile } from '../../src/config.js';

const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ?? jsQRModule) as unknown as (data: Uint8ClampedArray, w: number, h: number) => { data: string } | null;

export const KEYS = { kiosk: 'kiosk-code-key-0123456789abcdef', cash: 'kiosk-cash-key-0123456789abcdef' };
export const ID_KEY = 'kiosk-e2e-id-hash-key-0123456789abcdef';

export interface KioskPark {
  dir: string;
  bridge: CloudBridge;
  site: string;
  base: string;
  /** The site's control key (receipts, the offline pack). */
  control: { id: string; publicKey: string };
  paysim: PaymentSimulator;
  cash: SimCashDevices;
  printer: SimPrinter;
  scanner: SimQrScanner;
  reader: SimIdReader;
  configFile: string;
  config(over?: (c: KioskConfigFile) => void): KioskConfig;
  getOrder(orderId: string, key?: string): Promise<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  close(): Promise<void>;
}

let visitor = (process.pid % 500) * 1000 + Math.floor(Date.now() / 1000) % 1000;
/** A resident ID number nobody has used today (one place per ID per day). */
export function nextIdNumber(): string {
  return makeIdNumber(++visitor);
}

export function scanPng(png: Buffer): string | undefined {
  const img = PNG.sync.read(png);
  return jsQR(new Uint8ClampedArray(img.data), img.width, img.height)?.data;
}

export async function startKioskPark(opts: { hopperCoins?: number; coinMs?: number; site?: Record<string, unknown> } = {}): Promise<KioskPark> {
  const dir = mkdtempSync(join(tmpdir(), 'stile-kiosk-'));
  const paysim = new PaymentSimulator({ stateDir: join(dir, 'paysim'), retryDelaysMs: { wechat: [100, 200], alipay: [100, 200] }, refundDelayMs: 50 });
  await paysim.listen();
  const m = paysim.merchantConfig() as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const db: TestDb = await testDb('sqlite');
  const site = testSite(['g1']);
  const catalogue = parseCatalogue({
    name: { 'zh-CN': '青山湖风景区', en: 'Qingshan Lake' },
    ticketTypes: [{ id: 'adult', name: { 'zh-CN': '成人票', en: 'Adult' }, priceFen: 8000 }],
    channels: [
      { id: 'kiosk', kind: 'kiosk', apiKeySha256: sha256Hex(KEYS.kiosk), payment: 'provider' },
      { id: 'kiosk-cash', kind: 'kiosk', apiKeySha256: sha256Hex(KEYS.cash), payment: 'partner' },
    ],
    refundReasons: [{ code: 'kiosk_fault', label: { 'zh-CN': '售票机故障', en: 'Kiosk fault' } }],
  });
  const bridge = await testBridge(db, [{ ...site.config, ...opts.site, sales: { catalogue, capacity: { daily: 100_000, yellow: 0.7, orange: 0.85 }, idHashKey: ID_KEY, staffTokenSha256: createHash('sha256').update('staff').digest('hex') } }], {
    sms: new LogSmsSender(silentLog),
    payments: {
      sites: {
        [site.config.id]: {
          wechat: { mchid: m.wechat.mchid, appid: m.wechat.appid, merchantSerial: m.wechat.merchantSerial, merchantPrivateKeyPath: m.wechat.merchantPrivateKeyPath, apiV3KeyPath: m.wechat.apiV3KeyPath, platformKeys: m.wechat.platformKeys, baseUrl: m.wechat.baseUrl, timeoutMs: 3000 },
          alipay: { appId: m.alipay.appId, appPrivateKeyPath: m.alipay.appPrivateKeyPath, alipayPublicKeyPath: m.alipay.alipayPublicKeyPath, gatewayUrl: m.alipay.gatewayUrl, billHosts: m.alipay.billHosts, timeoutMs: 3000 },
        },
      },
      sweepEveryMs: 3_600_000,
    },
  });
  const base = `http://127.0.0.1:${bridge.httpPort}`;
  const cash = await SimCashDevices.open({ dir, hopper: { coins: opts.hopperCoins ?? 200, coinMs: opts.coinMs ?? 10 } });
  const printer = await SimPrinter.open({ dir, name: 'printer' });
  const scanner = await SimQrScanner.open({ dir, name: 'paycode' });
  const reader = await SimIdReader.open({ dir, name: 'idcard' });
  writeFileSync(join(dir, 'kiosk.key'), `${KEYS.kiosk}\n`);
  writeFileSync(join(dir, 'kiosk-cash.key'), `${KEYS.cash}\n`);
  const configFile = join(dir, 'kiosk.yaml');
  const file = (): KioskConfigFile =>
    KioskConfigSchema.parse({
      version: 1,
      site: { id: site.config.id, name: { 'zh-CN': '青山湖风景区', en: 'Qingshan Lake' } },
      kiosk: { id: 'k1' },
      cloud: { url: base, apiKeyFile: 'kiosk.key', payment: 'provider', cashApiKeyFile: 'kiosk-cash.key', contactPhone: '13800138000', timeoutMs: 5000 },
      devices: {
        cash: { path: cash.devicePath, billValidator: { pollMs: 100 }, hopper: { pollMs: 50 } },
        hopperCoins: opts.hopperCoins ?? 200,
        printer: { path: printer.devicePath, pollMs: 300, jobTimeoutMs: 3000 },
        paymentScanner: { type: 'qr-serial', path: scanner.devicePath },
        idReader: { type: 'idcard-ga467', path: reader.devicePath, pollMs: 200 },
      },
      journal: { path: 'journal.db' },
      sale: { pollMs: 500, deviceTimeoutMs: 5000 },
      tickMs: 50,
      log: { level: 'silent' },
    });
  // The same config as a file, for the daemon run as a process.
  writeFileSync(configFile, JSON.stringify(file()));
  return {
    dir,
    bridge,
    site: site.config.id,
    base,
    control: { id: site.config.controlKey.id, publicKey: site.publicKey },
    paysim,
    cash,
    printer,
    scanner,
    reader,
    configFile,
    config(over) {
      const f = file();
      over?.(f);
      return resolveKioskConfig(f, new ConfigIssues(configFile));
    },
    async getOrder(orderId, key = KEYS.kiosk) {
      const res = await fetch(`${base}/v1/channel/orders/${orderId}`, { headers: { authorization: `Bearer ${key}` } });
      return (await res.json()) as Record<string, unknown>;
    },
    async close() {
      for (const d of [scanner, reader, printer, cash]) await d.close().catch(() => undefined);
      await bridge.close();
      await paysim.close();
      await db.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Polls `probe` every 10 ms until it gives something truthy; on timeout the error names what
 * was awaited, and `context()` (e.g. the kiosk's phase and notice) when given.
 */
export async function until<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 15_000, context?: () => string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${context ? ` (${context()})` : ''}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** First touch → the catalogue, one person, the ID-card screen; the sale's id. */
export async function toIdentifying(kiosk: KioskDaemon, wait: typeof until = until): Promise<string> {
  const rt = kiosk.runtime;
  await wait(() => rt.catalogue().types.length > 0, 'the catalogue');
  const saleId = rt.startSale();
  await wait(() => rt.state().sale?.availability, 'availability');
  rt.dispatch({ kind: 'confirm' });
  await wait(() => rt.state().phase === 'identifying', 'identifying');
  return saleId;
}

/** …then one visitor's ID card on the reader: the review screen with the price. */
export async function toReview(kiosk: KioskDaemon, park: KioskPark, name = '张三', wait: typeof until = until): Promise<string> {
  const saleId = await toIdentifying(kiosk, wait);
  park.reader.placeCard({ idNumber: nextIdNumber(), name });
  await wait(() => kiosk.runtime.state().phase === 'review', 'the price', 10_000);
  park.reader.removeCard();
  return saleId;
}
