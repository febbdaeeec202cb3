/**
 * A park with a booking page, end to end: a cloud-bridge (SQLite or PostgreSQL, the real
 * Mosquitto) whose site sells on a provider-mode `web` channel named as its bookingChannel,
 * paid through the payment simulator (in process), texts through the log provider (whose
 * kept messages are the visitor's phone: the test reads the login code from there, as a
 * visitor reads it from the SMS). The sales clock can be moved (codes, sessions, holds).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PaymentSimulator } from '@stile/payment-sim';
import { pino } from 'pino';
import type { CloudBridge } from '../../src/bridge.js';
import { parseCatalogue, sha256Hex, type Catalogue } from '../../src/core/catalogue.js';
import { LogSmsSender } from '../../src/core/notify/sms.js';
import type { SitePayments } from '../../src/modules/payments/config.js';
import type { SiteConfig } from '../../src/core/sites.js';
import { idNumber, silentLog, testBridge, testDb, testSite, uniqueId, waitFor, type TestDb, type TestDialect } from '../helpers.js';

export const KEYS = { web: 'book-web-key-0123456789abcdef', kiosk: 'book-kiosk-key-0123456789abcdef', partner: 'book-partner-key-0123456789abcdef' };
export const STAFF = 'book-staff-token';
/** The sales clock starts at 10:00 on Monday 1 March 2027 (Shanghai) and runs. */
export const NOW = Date.parse('2027-03-01T10:00:00+08:00');
/** A Wednesday nine days later, inside the booking horizon. */
export const DAY = '2027-03-10';
export const OTHER_DAY = '2027-03-11';
/** A day the kiosk fills to red. */
export const FULL_DAY = '2027-03-12';

export function catalogue(): Catalogue {
  return parseCatalogue({
    name: { 'zh-CN': '测试景区', en: 'Test Park' },
    ticketTypes: [
      { id: 'adult', name: { 'zh-CN': '成人票', en: 'Adult' }, priceFen: 8000 },
      { id: 'family', name: { 'zh-CN': '家庭套票', en: 'Family package' }, priceFen: 18000, persons: 3 },
    ],
    slots: [
      { id: 's10', start: '10:00', end: '12:00', quota: 1000 },
      { id: 'tiny', start: '12:00', end: '14:00', quota: 2 },
    ],
    channels: [
      { id: 'web', name: { 'zh-CN': '官网购票', en: 'Booking page' }, kind: 'online', apiKeySha256: sha256Hex(KEYS.web), payment: 'provider' },
      { id: 'kiosk', kind: 'kiosk', apiKeySha256: sha256Hex(KEYS.kiosk), payment: 'provider' },
      { id: 'partner', kind: 'online', apiKeySha256: sha256Hex(KEYS.partner) },
    ],
    refundReasons: [
      { code: 'weather', label: { 'zh-CN': '天气原因', en: 'Bad weather' } },
      { code: 'changed_plans', label: { 'zh-CN': '行程变更', en: 'Changed plans' } },
    ],
    realName: { ticketsPerIdPerDay: 1, bookingHorizonDays: 30 },
  });
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Answer {
  status: number;
  body: Json;
  headers: Headers;
}

export interface BookPark {
  bridge: CloudBridge;
  sim: PaymentSimulator;
  sms: LogSmsSender;
  site: string;
  base: string;
  advance(ms: number): void;
  /** A booking route: `path` after /v1/book/{site}. */
  book(method: string, path: string, body?: unknown, opts?: { token?: string; headers?: Record<string, string>; site?: string }): Promise<Answer>;
  /** Any route of the bridge. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>;
  /** The last login code texted to the phone. */
  lastCode(phone: string): string | undefined;
  /** Code → session: the token. */
  login(phone: string, headers?: Record<string, string>): Promise<string>;
  visitors(n: number): { name: string; idNumber: string }[];
  /** Pays the simulator's trade as the visitor would (scan and confirm, or the cashier page's button). */
  payAtProvider(provider: 'wechat' | 'alipay', outTradeNo: string): Promise<void>;
  untilOrder(token: string, orderId: string, pred: (o: Json) => boolean, what: string): Promise<Json>;
  close(): Promise<void>;
}

let visitorSeq = 5000;
let addressSeq = 0;
/** Another client address for each login (the bridge sees it through X-Forwarded-For from loopback), so tests do not share the per-address limit unless they mean to. */
const nextAddress = (): string => `198.51.${Math.floor(++addressSeq / 250)}.${addressSeq % 250}`;

export async function startBookPark(dialect: TestDialect, opts: { logLine?: (line: string) => void; site?: Partial<SiteConfig> } = {}): Promise<BookPark> {
  const stateDir = mkdtempSync(join(tmpdir(), 'stile-paysim-book-'));
  const sim = new PaymentSimulator({ stateDir, retryDelaysMs: { wechat: [100, 200, 400], alipay: [100, 200, 400] }, notifyAttemptTimeoutMs: 3000, refundDelayMs: 50 });
  await sim.listen();
  const cfg = sim.merchantConfig() as { wechat: Json; alipay: Json };
  const payments: SitePayments = {
    wechat: {
      mchid: cfg.wechat.mchid,
      appid: cfg.wechat.appid,
      merchantSerial: cfg.wechat.merchantSerial,
      merchantPrivateKeyPath: cfg.wechat.merchantPrivateKeyPath,
      apiV3KeyPath: cfg.wechat.apiV3KeyPath,
      platformKeys: cfg.wechat.platformKeys,
      baseUrl: cfg.wechat.baseUrl,
      timeoutMs: 3000,
      // WeChat web OAuth for the openid (JSAPI), at the simulator too.
      oauth: { ...cfg.wechat.oauth, timeoutMs: 1500 },
    },
    alipay: { appId: cfg.alipay.appId, appPrivateKeyPath: cfg.alipay.appPrivateKeyPath, alipayPublicKeyPath: cfg.alipay.alipayPublicKeyPath, gatewayUrl: cfg.alipay.gatewayUrl, billHosts: cfg.alipay.billHosts, timeoutMs: 3000 },
  };
  const db: TestDb = await testDb(dialect);
  const site = testSite(['g1']);
  const sms = new LogSmsSender(silentLog, 1000);
  let offset = 0;
  // The sales clock runs from NOW at the real pace (orders made one after the other are in that order).
  const started = Date.now();
  const bridge = await testBridge(
    db,
    [
      {
        ...site.config,
        ...opts.site,
        sales: {
          catalogue: catalogue(),
          capacity: { daily: 20, yellow: 0.7, orange: 0.85 },
          idHashKey: 'booking-id-hash-key-0123456789abcdef',
          staffTokenSha256: createHash('sha256').update(STAFF).digest('hex'),
          tourRouteUrl: 'https://park.example.com/route',
          bookingChannel: 'web',
        },
      },
    ],
    { sms, salesClock: () => new Date(NOW + (Date.now() - started) + offset), ...(opts.logLine ? { logger: pino({ level: 'info' }, { write: opts.logLine }) } : process.env.BOOK_LOG ? { logger: pino({ level: 'info' }, pino.destination(process.env.BOOK_LOG)) } : {}), payments: { sites: { [site.config.id]: payments }, sweepEveryMs: 3_600_000 } },
  );
  const base = `http://127.0.0.1:${bridge.httpPort}`;
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const res = await fetch(base + path, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json, headers: res.headers };
  };
  const book: BookPark['book'] = (method, path, body, opts = {}) =>
    call(method, `/v1/book/${opts.site ?? site.config.id}${path}`, body, { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers });
  const lastCode = (phone: string): string | undefined => sms.sent.filter((m) => m.to === phone && m.template === 'code').at(-1)?.vars?.code;
  const p: BookPark = {
    bridge,
    sim,
    sms,
    site: site.config.id,
    base,
    advance: (ms) => {
      offset += ms;
    },
    book,
    call,
    lastCode,
    async login(phone, headers = { 'x-forwarded-for': nextAddress() }) {
      const sent = await book('POST', '/sms-code', { phone }, { headers });
      if (sent.status !== 200) throw new Error(`sms-code refused: ${JSON.stringify(sent.body)}`);
      const s = await book('POST', '/session', { phone, code: lastCode(phone) });
      if (s.status !== 200) throw new Error(`session refused: ${JSON.stringify(s.body)}`);
      return String(s.body.token);
    },
    visitors(n) {
      const start = visitorSeq;
      visitorSeq += n;
      return Array.from({ length: n }, (_, i) => ({ name: `游客${start + i}`, idNumber: idNumber(start + i) }));
    },
    async payAtProvider(provider, outTradeNo) {
      const r = await fetch(`${sim.baseUrl}/sim/trades/${provider}/${encodeURIComponent(outTradeNo)}/pay`, { method: 'POST' });
      if (r.status !== 200) throw new Error(`the simulator did not pay ${provider} ${outTradeNo}: ${await r.text()}`);
    },
    async untilOrder(token, orderId, pred, what) {
      let last: Json = {};
      try {
        return await waitFor(async () => {
          last = (await book('GET', `/orders/${orderId}`, undefined, { token })).body;
          return pred(last) ? last : undefined;
        }, what, 8000);
      } catch (err) {
        throw new Error(`${(err as Error).message}; last order ${JSON.stringify(last)}`, { cause: err });
      }
    },
    async close() {
      await bridge.close();
      await sim.close();
      await db.cleanup();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return p;
}

/** A fresh mainland mobile number per call. */
let phoneSeq = 0;
export function newPhone(): string {
  return `139${String(process.pid % 10000).padStart(4, '0')}${String(++phoneSeq).padStart(4, '0')}`;
}

export const idem = (): Record<string, string> => ({ 'idempotency-key': uniqueId('idem') });
