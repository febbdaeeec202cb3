/**
 * A park that texts through a real provider protocol: the payment simulator's SMS part (in
 * process) as Alibaba Cloud or Tencent Cloud, and a cloud-bridge configured from what the
 * simulator hands a merchant (ids, secret files, approved sign name and templates), with the
 * simulator's receipt callback pointed at the bridge's receipt URL — as an operator would
 * set it up in the provider's console.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PaymentSimulator, type SimText, type SmsSimOptions } from '@stile/payment-sim';
import type { CloudBridge, CloudBridgeOptions } from '../../src/bridge.js';
import { parseCatalogue, sha256Hex } from '../../src/core/catalogue.js';
import type { SmsProviderId } from '../../src/modules/sms/provider.js';
import type { SmsSettings } from '../../src/modules/sms/settings.js';
import { idNumber, testBridge, testDb, testSite, uniqueId, waitFor, type TestDialect, type TestDb } from '../helpers.js';

export const STAFF = 'sms-staff-token-0123456789';
export const KEY = 'sms-channel-key-0123456789abcdef';
/** A Wednesday well ahead. */
export const DAY = '2027-03-10';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface SmsPark {
  sim: PaymentSimulator;
  bridge: CloudBridge;
  site: string;
  provider: SmsProviderId;
  settings: SmsSettings;
  token: string;
  base: string;
  /** Create and pay an order (channel API); the paid order's body. */
  sale(phone: string, visitors?: number, order?: { lang?: 'zh-CN' | 'en'; slotId?: string }): Promise<Json>;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: Json }>;
  /** GET /v1/staff/sites/{site}/sms */
  list(query?: string): Promise<Json>;
  /** The row of one of the site's texts, once its state is one of `states`. */
  waitState(id: string, states: string[], ms?: number): Promise<Json>;
  simTexts(): SimText[];
  control(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }>;
  close(): Promise<void>;
}

export interface ParkOptions {
  provider: SmsProviderId;
  dialect?: TestDialect;
  settings?: (s: SmsSettings) => SmsSettings;
  sms?: SmsSimOptions;
  bridge?: Partial<CloudBridgeOptions>;
}

/**
 * One simulator state folder per test file: its keys (four RSA key pairs for the payment
 * side, the SMS accounts) are made once, not for every park.
 */
let stateDir: string | undefined;
function sharedStateDir(): string {
  if (stateDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'stile-sms-'));
    stateDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return stateDir;
}

export async function smsPark(opts: ParkOptions): Promise<SmsPark> {
  const dir = sharedStateDir();
  const sim = new PaymentSimulator({ stateDir: dir, sms: { deliveryDelayMs: 30, receiptRetryMs: [100, 200], ...opts.sms } });
  await sim.listen();
  const cfg = (sim.merchantConfig() as { sms: Json }).sms;
  const db: TestDb = await testDb(opts.dialect ?? 'sqlite');
  const site = testSite(['g1']);
  const token = randomBytes(24).toString('hex');
  const provider = opts.provider;
  let settings: SmsSettings = {
    provider,
    ...(provider === 'aliyun'
      ? { aliyun: { accessKeyId: cfg.aliyun.accessKeyId, accessKeySecret: readFileSync(cfg.aliyun.accessKeySecretFile, 'utf8').trim(), endpoint: sim.baseUrl } }
      : { tencent: { secretId: cfg.tencent.secretId, secretKey: readFileSync(cfg.tencent.secretKeyFile, 'utf8').trim(), smsSdkAppId: cfg.tencent.smsSdkAppId, region: 'ap-guangzhou', endpoint: sim.baseUrl } }),
    phoneHashKey: randomBytes(24).toString('hex'),
    receiptToken: token,
    limits: { perMinute: 1, perHour: 5, perDay: 10, qps: 20, concurrency: 8, queue: 100, retries: 2 },
    timeoutMs: 1000,
    sites: { [site.config.id]: { signName: cfg.signName, defaultLang: 'zh-CN', templates: cfg.templates[provider] } },
  };
  if (opts.settings) settings = opts.settings(settings);
  const catalogue = parseCatalogue({
    name: { 'zh-CN': '青山湖风景区', en: 'Qingshan Lake Scenic Area' },
    ticketTypes: [
      { id: 'adult', name: { 'zh-CN': '成人票', en: 'Adult' }, priceFen: 8000 },
      { id: 'family', name: { 'zh-CN': '家庭套票', en: 'Family package' }, priceFen: 18000, persons: 3 },
    ],
    slots: [
      { id: 's10', start: '10:00', end: '12:00', quota: 1000 },
      { id: 's14', start: '14:00', end: '16:00', quota: 1000, name: { 'zh-CN': '下午场', en: 'Afternoon' } },
    ],
    channels: [{ id: 'web', kind: 'online', apiKeySha256: sha256Hex(KEY) }],
    refundReasons: [{ code: 'weather', label: 'Weather' }],
    realName: { ticketsPerIdPerDay: 5, bookingHorizonDays: 400 },
  });
  const bridge = await testBridge(
    db,
    [{ ...site.config, sales: { catalogue, capacity: { daily: 5000, yellow: 0.7, orange: 0.85 }, idHashKey: 'sms-id-hash-key-0123456789abcdef', staffTokenSha256: createHash('sha256').update(STAFF).digest('hex') } }],
    { smsSettings: settings, ...opts.bridge },
  );
  const base = `http://127.0.0.1:${bridge.httpPort}`;
  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(sim.baseUrl + path, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
    return { status: res.status, body: (await res.json()) as Json };
  };
  await control('PUT', '/sim/sms/callbacks', { [provider]: `${base}/callbacks/sms/${provider}/${token}` });
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json };
  };
  let n = Math.floor(Math.random() * 500);
  const sale = async (phone: string, visitors = 1, order: { lang?: 'zh-CN' | 'en'; slotId?: string } = {}) => {
    const created = await call(
      'POST',
      '/v1/channel/orders',
      { typeId: 'adult', date: DAY, slotId: order.slotId ?? 's10', contactPhone: phone, visitors: Array.from({ length: visitors }, () => ({ name: '游客', idNumber: idNumber(++n) })), ...(order.lang ? { lang: order.lang } : {}) },
      { 'idempotency-key': uniqueId('idem') },
    );
    if (created.status !== 201) throw new Error(`order: ${created.status} ${JSON.stringify(created.body)}`);
    const paid = await call('POST', `/v1/channel/orders/${created.body.orderId}/pay`, { paymentRef: uniqueId('ref'), amountFen: created.body.amountFen }, { 'idempotency-key': uniqueId('idem') });
    if (paid.status !== 200) throw new Error(`pay: ${paid.status} ${JSON.stringify(paid.body)}`);
    return paid.body;
  };
  const list = async (query = '') => {
    const res = await fetch(`${base}/v1/staff/sites/${site.config.id}/sms${query}`, { headers: { authorization: `Bearer ${STAFF}` } });
    return (await res.json()) as Json;
  };
  const waitState = (id: string, states: string[], ms = 8000) =>
    waitFor(async () => ((await list('?limit=500')).messages as Json[]).find((m) => m.id === id && states.includes(m.state)), `text ${id} in ${states.join('|')}`, ms);
  return {
    sim,
    bridge,
    site: site.config.id,
    provider,
    settings,
    token,
    base,
    sale,
    call,
    list,
    waitState,
    simTexts: () => sim.sms.texts.filter((t) => t.provider === provider),
    control,
    close: async () => {
      await bridge.close();
      await sim.close();
      await db.cleanup();
    },
  };
}

/** The id of the newest text of an order (the staff list). */
export async function textOfOrder(p: SmsPark, orderId: string): Promise<Json> {
  return waitFor(async () => ((await p.list('?limit=500')).messages as Json[]).find((m) => m.orderId === orderId), `a text for order ${orderId}`);
}
