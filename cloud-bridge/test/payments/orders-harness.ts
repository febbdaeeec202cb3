/**
 * A park that sells through the providers, end to end: a cloud-bridge (SQLite or PostgreSQL,
 * the real Mosquitto) whose site has WeChat Pay and Alipay configured against a running
 * payment simulator (in process), with channels of both payment modes. The providers post
 * their notifications to a relay in front of the bridge, which forwards them (as a load
 * balancer would) or holds them, so a test can drop, replay and reorder exact deliveries.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PaymentSimulator } from '@stile/payment-sim';
import type { CloudBridge } from '../../src/bridge.js';
import { parseCatalogue, sha256Hex, type Catalogue } from '../../src/core/catalogue.js';
import type { SitePayments } from '../../src/modules/payments/config.js';
import type { ReconciliationOptions } from '../../src/modules/payments/reconciliation.js';
import type { CodePaymentOptions } from '../../src/modules/payments/payments.js';
import type { StaffAlert, StaffNotifier } from '../../src/core/notify/webhook.js';
import { LogSmsSender } from '../../src/core/notify/sms.js';
import { idNumber, silentLog, testBridge, testDb, testSite, uniqueId, waitFor, type TestDb, type TestDialect } from '../helpers.js';

export const KEYS = { web: 'pay-web-key-0123456789abcdef', kiosk: 'pay-kiosk-key-0123456789abcdef', partner: 'pay-partner-key-0123456789abcdef' };
export const ID_KEY = 'payments-id-hash-key-0123456789abcdef';
/** A Wednesday ahead of today (2026-11-30), inside the booking horizon. */
export const DAY = '2027-03-10';
export const HOLD_MS = 15 * 60_000;

export function catalogue(): Catalogue {
  return parseCatalogue({
    name: { 'zh-CN': '青山湖风景区', en: 'Qingshan Lake Scenic Area' },
    ticketTypes: [
      { id: 'adult', name: { 'zh-CN': '成人票', en: 'Adult' }, priceFen: 8000 },
      { id: 'family', name: 'Family', priceFen: 18000, persons: 3 },
    ],
    slots: [
      { id: 's10', start: '10:00', end: '12:00', quota: 1000 },
      { id: 'tiny', start: '12:00', end: '14:00', quota: 2 },
    ],
    channels: [
      // The park's own booking page and kiosk: money through WeChat Pay / Alipay.
      { id: 'web', kind: 'online', apiKeySha256: sha256Hex(KEYS.web), payment: 'provider' },
      { id: 'kiosk', kind: 'kiosk', apiKeySha256: sha256Hex(KEYS.kiosk), payment: 'provider' },
      // Meituan-style: collects the money itself and confirms with …/pay.
      { id: 'partner', kind: 'online', apiKeySha256: sha256Hex(KEYS.partner) },
    ],
    refundReasons: [
      { code: 'weather', label: '天气原因' },
      { code: 'changed_plans', label: '行程变更' },
    ],
  });
}

export interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Between the providers and the bridge: forwards, or holds what arrives (the provider is told it arrived; the test delivers it later, or never). */
export class NotificationRelay {
  readonly held: Delivery[] = [];
  readonly forwarded: { delivery: Delivery; status: number; body: string }[] = [];
  mode: 'forward' | 'hold' = 'forward';
  private server: Server | undefined;
  url = '';

  constructor(private readonly target: () => string) {}

  async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const d: Delivery = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        if (this.mode === 'hold') {
          // Swallowed: the provider is told it arrived (no retry races the test), the bridge never sees it.
          this.held.push(d);
          if (d.path.includes('/wechat/')) res.writeHead(204).end();
          else res.writeHead(200, { 'content-type': 'text/plain' }).end('success');
          return;
        }
        void this.deliver(d).then(
          (r) => {
            res.writeHead(r.status, r.contentType ? { 'content-type': r.contentType } : {});
            res.end(r.body);
          },
          () => res.writeHead(502).end(),
        );
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server!.address() as { port: number }).port}`;
  }

  /** Forward one delivery, byte for byte, to the bridge; its answer. */
  async deliver(d: Delivery): Promise<{ status: number; body: string; contentType?: string }> {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(d.headers)) if (typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k)) headers[k] = v;
    const res = await fetch(this.target() + d.path, { method: 'POST', headers, body: d.body });
    const body = await res.text();
    this.forwarded.push({ delivery: d, status: res.status, body });
    const contentType = res.headers.get('content-type') ?? undefined;
    return { status: res.status, body, ...(contentType ? { contentType } : {}) };
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
  }
}

/** Alerts as staff would get them. */
export class RecordingNotifier implements StaffNotifier {
  readonly alerts: StaffAlert[] = [];
  notify(a: StaffAlert): Promise<void> {
    this.alerts.push(a);
    return Promise.resolve();
  }
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface PayPark {
  bridge: CloudBridge;
  sim: PaymentSimulator;
  relay: NotificationRelay;
  alerts: RecordingNotifier;
  site: string;
  base: string;
  /** Moves the sales clock (order holds, deadlines, the sweep). */
  advance(ms: number): void;
  call(method: string, path: string, body?: unknown, key?: string, headers?: Record<string, string>): Promise<{ status: number; body: Json }>;
  order(n?: number, key?: string, from?: number, extra?: Record<string, unknown>): Promise<Json>;
  pay(orderId: string, body: Record<string, unknown>, key?: string): Promise<{ status: number; body: Json }>;
  state(orderId: string, key?: string): Promise<Json>;
  getOrder(orderId: string, key?: string): Promise<Json>;
  control(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }>;
  /** Paid trades at the simulator: each must have bought a ticket or have a recorded refund. */
  moneyAccounted(): Promise<{ unaccounted: string[]; trades: number }>;
  close(): Promise<void>;
}

let visitorSeq = 1000;

export async function startPayPark(dialect: TestDialect, opts: { timeoutMs?: number; refundMode?: 'auto' | 'manual'; reconciliation?: ReconciliationOptions; codePayments?: CodePaymentOptions } = {}): Promise<PayPark> {
  const stateDir = mkdtempSync(join(tmpdir(), 'stile-paysim-orders-'));
  const sim = new PaymentSimulator({ stateDir, retryDelaysMs: { wechat: [100, 200, 400], alipay: [100, 200, 400] }, notifyAttemptTimeoutMs: 3000, refundDelayMs: 50, ...(opts.refundMode ? { refundMode: opts.refundMode } : {}) });
  await sim.listen();
  const started: { bridge?: CloudBridge } = {};
  const relay = new NotificationRelay(() => `http://127.0.0.1:${started.bridge!.httpPort}`);
  await relay.listen();
  const cfg = sim.merchantConfig() as { wechat: Json; alipay: Json };
  const timeoutMs = opts.timeoutMs ?? 3000;
  const payments: SitePayments = {
    wechat: {
      mchid: cfg.wechat.mchid,
      appid: cfg.wechat.appid,
      merchantSerial: cfg.wechat.merchantSerial,
      merchantPrivateKeyPath: cfg.wechat.merchantPrivateKeyPath,
      apiV3KeyPath: cfg.wechat.apiV3KeyPath,
      platformKeys: cfg.wechat.platformKeys,
      baseUrl: cfg.wechat.baseUrl,
      timeoutMs,
    },
    alipay: { appId: cfg.alipay.appId, appPrivateKeyPath: cfg.alipay.appPrivateKeyPath, alipayPublicKeyPath: cfg.alipay.alipayPublicKeyPath, gatewayUrl: cfg.alipay.gatewayUrl, billHosts: cfg.alipay.billHosts, timeoutMs },
  };
  const db: TestDb = await testDb(dialect);
  const site = testSite(['g1']);
  const alerts = new RecordingNotifier();
  let offset = 0;
  const b = await testBridge(
    db,
    [{ ...site.config, sales: { catalogue: catalogue(), capacity: { daily: 5000, yellow: 0.7, orange: 0.85 }, idHashKey: ID_KEY, staffTokenSha256: createHash('sha256').update('staff').digest('hex') } }],
    {
      sms: new LogSmsSender(silentLog),
      notifier: alerts,
      salesClock: () => new Date(Date.now() + offset),
      // The sweep and the payment-code follow-up run when a test says so (bridge.payments.sweep(), followUpCodes()).
      payments: { sites: { [site.config.id]: payments }, notifyBaseUrl: relay.url, sweepEveryMs: 3_600_000, codePayments: opts.codePayments ?? { queryEveryMs: 3_600_000 }, ...(opts.reconciliation ? { reconciliation: opts.reconciliation } : {}) },
    },
  );
  started.bridge = b;
  const base = `http://127.0.0.1:${b.httpPort}`;
  const call = async (method: string, path: string, body?: unknown, key = KEYS.web, headers: Record<string, string> = {}) => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json };
  };
  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(sim.baseUrl + path, { method, ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    let parsed: Json;
    try {
      parsed = JSON.parse(text) as Json;
    } catch {
      parsed = { text };
    }
    return { status: res.status, body: parsed };
  };
  return {
    bridge: b,
    sim,
    relay,
    alerts,
    site: site.config.id,
    base,
    advance: (ms) => {
      offset += ms;
    },
    call,
    async order(n = 1, key = KEYS.web, from?: number, extra = {}) {
      const start = from ?? visitorSeq;
      if (from === undefined) visitorSeq += n;
      const r = await call('POST', '/v1/channel/orders', { typeId: 'adult', date: DAY, slotId: 's10', contactPhone: '13800138000', visitors: Array.from({ length: n }, (_, i) => ({ name: `游客${start + i}`, idNumber: idNumber(start + i) })), ...extra }, key, { 'idempotency-key': uniqueId('idem') });
      if (r.status !== 201) throw new Error(`order refused: ${JSON.stringify(r.body)}`);
      return r.body;
    },
    pay: (orderId, body, key = KEYS.web) => call('POST', `/v1/channel/orders/${orderId}/payments`, body, key),
    state: async (orderId, key = KEYS.web) => (await call('GET', `/v1/channel/orders/${orderId}/payment`, undefined, key)).body,
    getOrder: async (orderId, key = KEYS.web) => (await call('GET', `/v1/channel/orders/${orderId}`, undefined, key)).body,
    control,
    async moneyAccounted() {
      const trades = (await control('GET', '/sim/trades')).body as unknown as Json[];
      const unaccounted: string[] = [];
      let paid = 0;
      for (const t of trades) {
        if (t.transactionId === undefined || t.paidAt === undefined) continue;
        paid++;
        const a = await b.store.db.selectFrom('payments').selectAll().where('out_trade_no', '=', t.outTradeNo).executeTakeFirst();
        const refund = await b.store.db.selectFrom('payment_refunds').selectAll().where('out_trade_no', '=', t.outTradeNo).executeTakeFirst();
        const order = a ? await b.store.db.selectFrom('orders').selectAll().where('order_id', '=', a.order_id).executeTakeFirst() : undefined;
        const ticketed = a?.outcome === 'ticketed' && order?.status === 'paid' && order.payment_ref === t.transactionId;
        const refunded = refund !== undefined || (order?.status === 'refunded' && order.payment_ref === t.transactionId);
        // A reversed payment code the provider gave back itself.
        const reversed = t.refundedFen === t.amountFen;
        if (!ticketed && !refunded && !reversed) unaccounted.push(`${t.provider} ${t.outTradeNo} ${t.state} ${t.amountFen}`);
      }
      return { unaccounted, trades: paid };
    },
    async close() {
      await b.close();
      await relay.close();
      await sim.close();
      await db.cleanup();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Wait until the order's payment state satisfies `pred` (polling GET …/payment, which also queries the provider). */
export async function untilState(p: PayPark, orderId: string, pred: (s: Json) => boolean, what: string, key = KEYS.web): Promise<Json> {
  let last: Json = {};
  try {
    return await waitFor(async () => {
      last = await p.state(orderId, key);
      return pred(last) ? last : undefined;
    }, what, 8000);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last state ${JSON.stringify(last)}`, { cause: err });
  }
}

/** Wait until the order (as the channel reads it) satisfies `pred`, without asking the provider. */
export async function untilOrder(p: PayPark, orderId: string, pred: (o: Json) => boolean, what: string, key = KEYS.web): Promise<Json> {
  let last: Json = {};
  try {
    return await waitFor(async () => {
      last = await p.getOrder(orderId, key);
      return pred(last) ? last : undefined;
    }, what, 8000);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last order ${JSON.stringify(last)}`, { cause: err });
  }
}
