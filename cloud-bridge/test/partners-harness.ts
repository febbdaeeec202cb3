/**
 * A park selling combos (the demo catalogue's ticket + hotel night and ticket + farm-stay
 * lunch) with its two partners configured, on the channel API in both payment modes: wechat
 * (the channel confirms with …/pay) and web (WeChat Pay / Alipay through the payment
 * simulator, notifications through a relay). Used by the partners tests and their contract test.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localDate } from '@stile/config';
import { DEMO_API_KEYS, demoCatalogue } from '@stile/demo/catalogue';
import { PaymentSimulator } from '@stile/payment-sim';
import type { CloudBridge } from '../src/bridge.js';
import { sha256Hex } from '../src/core/catalogue.js';
import { LogSmsSender } from '../src/core/notify/sms.js';
import type { SitePayments } from '../src/modules/payments/config.js';
import { idNumber, silentLog, testBridge, testDb, testSite, uniqueId, waitFor, type TestDb, type TestDialect } from './helpers.js';
import { NotificationRelay } from './payments/orders-harness.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const STAFF = 'partners-staff-token';
export const KEYS = { wechat: DEMO_API_KEYS.wechat, web: 'combo-web-key-0123456789abcdef', hotel: 'lakeside-hotel-key-0123456789', farm: 'green-farm-key-0123456789abcd' };
/** A Wednesday ahead: no weekend or off-season pricing. */
export const DAY = '2027-03-10';
const ID_KEY = 'partners-id-hash-key-0123456789abcdef';

export interface ComboPark {
  bridge: CloudBridge;
  sim: PaymentSimulator;
  /** Provider notifications as they were forwarded to the bridge. */
  relay: NotificationRelay;
  site: string;
  base: string;
  /** The park-local day payments and refunds made now are booked on. */
  today: string;
  call(method: string, path: string, opts?: { body?: unknown; key?: string; idem?: boolean }): Promise<{ status: number; type: string; body: Json; text: string }>;
  /** A combo order of `n` visitors (fresh ID numbers) on a channel. */
  order(typeId: string, n: number, key?: string): Promise<Json>;
  /** Paid through the partner channel (…/pay). */
  payByChannel(o: Json, paymentRef?: string): Promise<Json>;
  /** Paid through the simulator's Alipay (a real provider notification); returns the outTradeNo. */
  payByProvider(orderId: string): Promise<string>;
  refund(orderId: string, key?: string): Promise<{ status: number; body: Json }>;
  ledger(orderId: string): Promise<{ partner: string; part: string; kind: string; units: number; amount: number }[]>;
  close(): Promise<void>;
}

let seq = 5000;

export async function startComboPark(dialect: TestDialect): Promise<ComboPark> {
  const stateDir = mkdtempSync(join(tmpdir(), 'stile-paysim-combos-'));
  const sim = new PaymentSimulator({ stateDir, retryDelaysMs: { wechat: [100, 200, 400], alipay: [100, 200, 400] }, notifyAttemptTimeoutMs: 3000, refundDelayMs: 50 });
  await sim.listen();
  const started: { bridge?: CloudBridge } = {};
  const relay = new NotificationRelay(() => `http://127.0.0.1:${started.bridge!.httpPort}`);
  await relay.listen();
  const cfg = sim.merchantConfig() as { wechat: Json; alipay: Json };
  const payments: SitePayments = {
    wechat: { mchid: cfg.wechat.mchid, appid: cfg.wechat.appid, merchantSerial: cfg.wechat.merchantSerial, merchantPrivateKeyPath: cfg.wechat.merchantPrivateKeyPath, apiV3KeyPath: cfg.wechat.apiV3KeyPath, platformKeys: cfg.wechat.platformKeys, baseUrl: cfg.wechat.baseUrl, timeoutMs: 3000 },
    alipay: { appId: cfg.alipay.appId, appPrivateKeyPath: cfg.alipay.appPrivateKeyPath, alipayPublicKeyPath: cfg.alipay.alipayPublicKeyPath, gatewayUrl: cfg.alipay.gatewayUrl, billHosts: cfg.alipay.billHosts, timeoutMs: 3000 },
  };
  const catalogue = demoCatalogue();
  catalogue.channels.push({ id: 'web', name: { 'zh-CN': '官网', en: 'Web' }, kind: 'online', apiKeySha256: sha256Hex(KEYS.web), payment: 'provider' } as (typeof catalogue.channels)[number]);
  const db: TestDb = await testDb(dialect);
  const site = testSite(['g1']);
  const partners = [
    { id: 'lakeside-hotel', name: '湖畔酒店 Lakeside Hotel', apiKeySha256: sha256Hex(KEYS.hotel) },
    { id: 'green-farm', name: '青山农家乐 Green Hill Farm Stay', apiKeySha256: sha256Hex(KEYS.farm) },
  ];
  const bridge = await testBridge(db, [{ ...site.config, partners, sales: { catalogue, capacity: { daily: 5000, yellow: 0.7, orange: 0.85 }, idHashKey: ID_KEY, staffTokenSha256: createHash('sha256').update(STAFF).digest('hex') } }], {
    sms: new LogSmsSender(silentLog),
    demoMode: true,
    payments: { sites: { [site.config.id]: payments }, notifyBaseUrl: relay.url, sweepEveryMs: 3_600_000, codePayments: { queryEveryMs: 3_600_000 } },
  });
  started.bridge = bridge;
  const base = `http://127.0.0.1:${bridge.httpPort}`;
  const call: ComboPark['call'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${opts.key ?? KEYS.wechat}` };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (opts.idem) headers['idempotency-key'] = uniqueId('idem');
    const res = await fetch(base + path, { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
    const text = await res.text();
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!;
    return { status: res.status, type, text, body: (type === 'application/json' ? JSON.parse(text) : {}) as Json };
  };
  const getOrder = async (orderId: string, key: string) => (await call('GET', `/v1/channel/orders/${orderId}`, { key })).body;
  return {
    bridge,
    sim,
    relay,
    site: site.config.id,
    base,
    today: localDate(new Date(), 'Asia/Shanghai'),
    call,
    async order(typeId, n, key = KEYS.wechat) {
      const start = seq;
      seq += n;
      const visitors = Array.from({ length: n }, (_, i) => ({ name: `张三${start + i}`, idNumber: idNumber(start + i) }));
      const r = await call('POST', '/v1/channel/orders', { key, idem: true, body: { typeId, date: DAY, slotId: 's10', contactPhone: '13800138000', visitors } });
      if (r.status !== 201) throw new Error(`order refused: ${JSON.stringify(r.body)}`);
      return r.body;
    },
    async payByChannel(o, paymentRef = uniqueId('pay')) {
      const r = await call('POST', `/v1/channel/orders/${o.orderId}/pay`, { idem: true, body: { paymentRef, amountFen: o.amountFen } });
      if (r.status !== 200) throw new Error(`pay refused: ${JSON.stringify(r.body)}`);
      return r.body;
    },
    async payByProvider(orderId) {
      const qr = await call('POST', `/v1/channel/orders/${orderId}/payments`, { key: KEYS.web, body: { provider: 'alipay', method: 'qr' } });
      if (qr.status !== 201 && qr.status !== 200) throw new Error(`payment refused: ${JSON.stringify(qr.body)}`);
      const outTradeNo = qr.body.outTradeNo as string;
      const paid = await fetch(`${sim.baseUrl}/sim/trades/alipay/${outTradeNo}/pay`, { method: 'POST' });
      if (!paid.ok) throw new Error(`simulator: ${await paid.text()}`);
      await waitFor(async () => ((await getOrder(orderId, KEYS.web)).status === 'paid' ? true : undefined), `order ${orderId} paid`, 8000);
      return outTradeNo;
    },
    refund: (orderId, key = KEYS.wechat) => call('POST', `/v1/channel/orders/${orderId}/refund`, { key, idem: true, body: { reason: 'weather' } }),
    async ledger(orderId) {
      const rows = await bridge.store.db.selectFrom('split_ledger').selectAll().where('order_id', '=', orderId).orderBy('kind').orderBy('partner').execute();
      return rows.map((r) => ({ partner: r.partner, part: r.part, kind: r.kind, units: Number(r.units), amount: Number(r.amount_fen) }));
    },
    async close() {
      await bridge.close();
      await relay.close();
      await sim.close();
      await db.cleanup();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
