import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import {
  AnnounceMessageSchema,
  CapacityMessageSchema,
  generateSigningKeyPair,
  loadTrustedKeys,
  localDate,
  localTime,
  minutesOfDay,
  topics,
  verifySiteDocument,
  type CapacityMessage,
  type PublicKeyConfig,
  type TrustedKeys,
} from '@stile/config';
import { startCloudBridge, startEmbeddedBroker, type CloudBridge, type EmbeddedBroker } from '@stile/cloud-bridge';
import { gateTicketTypes, type Catalogue } from '@stile/cloud-bridge/catalogue';
import { PaymentSimulator } from '@stile/payment-sim';
import { DEMO_API_KEYS, DEMO_PARTNERS, demoCatalogue, withBookingChannel } from './catalogue.js';
import { newCashChannelKey } from './kiosk.js';
import { describeSeason, seedSeason } from './season-store.js';

/**
 * The cloud of `npm start`: an in-process Aedes broker on a free loopback port and a
 * cloud-bridge on SQLite in the demo folder, for one site with its gates, selling through the
 * channel API (demo catalogue, a small daily capacity so the park fills in about a minute).
 * The WeChat channel and the kiosk take their money through WeChat Pay / Alipay — the payment
 * simulator (`@stile/payment-sim`, in process, keys in the demo folder): a visitor scans the QR
 * code and pays, or the kiosk scans the visitor's payment code, and the order is paid when the
 * provider's signed notification (or its answer to a query) says so. Meituan collects the
 * money itself and confirms with …/pay. Nothing outside the process is needed. Shaped like
 * park.ts's DemoCloud (start.ts wires the two).
 *
 * Environment: DEMO_CAPACITY (persons per day, default 60), DEMO_LOG_LEVEL (default warn),
 * DEMO_SEASON_VISITS (visits of the generated season of history, default 30000; 0: none —
 * season.ts, docs/visitor-data/demo.md), DEMO_SEASON_DAYS (default 120).
 */

const LEVEL_RANK = { green: 0, yellow: 1, orange: 2, red: 3 } as const;
type Level = keyof typeof LEVEL_RANK;
/** ANSI colours for the level word, only on a terminal. */
const COLOUR: Record<Level, string> = { green: '32', yellow: '33', orange: '38;5;208', red: '31' };

/**
 * The catalogue's slot a visitor arriving now buys: one the gate admits now (15 min early, up
 * to 30 min late by the demo types' slotGrace), the latest such. Undefined when none is open.
 */
function openSlot(catalogue: Catalogue, now: Date): string | undefined {
  const m = minutesOfDay(localTime(now, catalogue.timeZone));
  const open = catalogue.slots.filter((s) => minutesOfDay(s.start) - 10 <= m && m <= minutesOfDay(s.end) + 20);
  return open.at(-1)?.id;
}

type SmsSender = NonNullable<Parameters<typeof startCloudBridge>[0]['sms']>;

/**
 * The demo's SMS provider: texts are logged as the log provider does (masked phone, length:
 * check-in codes open gates), and the booking page's login codes are printed, since the demo
 * has no phone to receive them — a person logs in with the printed code.
 */
function demoSms(logger: pino.Logger, print: (line: string) => void): SmsSender {
  const mask = (phone: string) => (phone.length === 11 ? `${phone.slice(0, 3)}****${phone.slice(7)}` : '***');
  return {
    send(m) {
      logger.info({ event: 'sms', to: mask(m.to), orderId: m.orderId, template: m.template ?? 'checkin', chars: m.text.length }, 'SMS (log provider)');
      if (m.template === 'code') print(`booking page: SMS login code ${m.vars?.code ?? '?'} for ${mask(m.to)} (valid 5 minutes)`);
      return Promise.resolve();
    },
  };
}

export interface DemoCloudOptions {
  logLevel?: string;
  /** Persons per day; default DEMO_CAPACITY or 60. */
  capacity?: number;
  /** Where capacity lines go; default console.log. */
  print?: (line: string) => void;
  /** The generated season of history written on an empty store: visits (0: none) and days; default DEMO_SEASON_VISITS / DEMO_SEASON_DAYS or 30000 over 120 days. */
  season?: { visits?: number; days?: number };
}

export function demoCloud(opts: DemoCloudOptions = {}) {
  let broker: EmbeddedBroker | undefined;
  let bridge: CloudBridge | undefined;
  let paysim: PaymentSimulator | undefined;
  let watcher: MqttClient | undefined;
  let siteId = '';
  let catalogue: Catalogue = demoCatalogue();
  const daily = opts.capacity ?? (Number(process.env.DEMO_CAPACITY ?? '') || 60);
  const envNumber = (name: string): number | undefined => (process.env[name] !== undefined && process.env[name] !== '' && Number.isFinite(Number(process.env[name])) ? Number(process.env[name]) : undefined);
  const seasonVisits = opts.season?.visits ?? envNumber('DEMO_SEASON_VISITS') ?? 30_000;
  const seasonDays = opts.season?.days ?? envNumber('DEMO_SEASON_DAYS') ?? 120;
  let seasonEntries = 0;
  const print = opts.print ?? ((line: string) => console.log(line));
  const colour = process.stdout.isTTY && !process.env.NO_COLOR;
  const paint = (level: Level, text: string) => (colour ? `\x1b[${COLOUR[level]}m${text}\x1b[0m` : text);

  /**
   * Prints one line per level change from the retained capacity and the announce topics, as a
   * PA screen would see them: logged in with its own screen credential, and showing nothing
   * that is not signed by the site's control key.
   */
  async function watchCapacity(mqttUrl: string, login: { username: string; token: string }, trusted: TrustedKeys): Promise<void> {
    const client = await connectAsync(mqttUrl, { protocolVersion: 4, clientId: `stile-screen-${siteId}-entrance`, username: login.username, password: login.token, reconnectPeriod: 500 });
    watcher = client;
    let latest: CapacityMessage | undefined;
    let shown: Level = 'green';
    const today = () => localDate(Date.now(), catalogue.timeZone);
    client.on('message', (topic, payload) => {
      try {
        const raw: unknown = JSON.parse(payload.toString());
        if (topic === topics.capacity(siteId)) {
          const c = verifySiteDocument(raw, CapacityMessageSchema, siteId, trusted, today());
          if (c.ok) latest = c.doc;
          return;
        }
        const v = verifySiteDocument(raw, AnnounceMessageSchema, siteId, trusted, today());
        if (!v.ok) {
          print(`screen: announcement refused (${v.reason}): not spoken`);
          return;
        }
        const a = v.doc;
        const time = new Date(a.at).toLocaleTimeString('en-GB', { timeZone: catalogue.timeZone });
        const arrow = LEVEL_RANK[a.level] >= LEVEL_RANK[shown] ? '▲' : '▼';
        shown = a.level;
        const numbers = latest && latest.level === a.level ? ` ${latest.load}/${latest.capacity} (${latest.percent} %)` : '';
        print(`${time}  ${arrow} capacity ${paint(a.level, a.level.toUpperCase())}${numbers} — ${a.text.zh}`);
      } catch {
        // not ours to judge here: the screen just shows nothing for a bad message
      }
    });
    await client.subscribeAsync({ [topics.capacity(siteId)]: { qos: 1 }, [topics.announce(siteId)]: { qos: 1 } });
  }

  /**
   * A visitor pays through the provider, as on the park's booking page or at its kiosk: a QR code
   * scanned and paid at the simulated WeChat Pay / Alipay, or the visitor's payment code scanned
   * by the kiosk. The order is paid when the provider's verified notification (or its answer to
   * the poll's query) says so; then the tickets are in the whitelist delta at the cloud's head.
   */
  async function payThroughSimulator(base: string, key: string, orderId: string, method: 'qr' | 'code', n: number) {
    const call = async (path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, { method: body === undefined ? 'GET' : 'POST', headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const provider = n % 2 === 0 ? 'wechat' : 'alipay';
    const authCode = `${provider === 'wechat' ? '13' : '28'}${String(Date.now()).slice(-8)}${String(n).padStart(8, '0')}`;
    const p = await call(`/v1/channel/orders/${orderId}/payments`, method === 'qr' ? { provider, method } : { provider, method, authCode, deviceId: 'kiosk-1' });
    if (p.status !== 200) return { ok: false as const, error: String(p.body.error ?? p.status), message: String(p.body.message ?? '') };
    if (method === 'qr') {
      // The visitor scans the code and confirms in the provider's app.
      const paid = await fetch(`${paysim!.baseUrl}/sim/trades/${provider}/${String(p.body.outTradeNo)}/pay`, { method: 'POST' });
      if (paid.status !== 200) return { ok: false as const, error: 'not_paid', message: await paid.text() };
    }
    // The page (or the kiosk) polls the payment state, which also asks the provider.
    const until = Date.now() + 5000;
    for (;;) {
      const s = await call(`/v1/channel/orders/${orderId}/payment`);
      if (s.body.orderStatus === 'paid') break;
      if (Date.now() > until) return { ok: false as const, error: 'not_paid', message: `the provider did not confirm order ${orderId}` };
      await new Promise((r) => setTimeout(r, 50));
    }
    const order = await call(`/v1/channel/orders/${orderId}`);
    const seq = BigInt((await bridge!.whitelist.headSeq(siteId)) ?? 0);
    return { ok: true as const, tickets: (order.body.tickets as { ticketId: string; persons: number }[]) ?? [], seq };
  }

  return {
    async start(dir: string, site: { id: string; gates: string[]; idHashKey: string; offlineKeys?: PublicKeyConfig[]; kiosk?: { id: string; offlineKey: PublicKeyConfig; offlineCap?: number } }) {
      siteId = site.id;
      const pair = generateSigningKeyPair('demo-control');
      // Outside the catalogue's opening hours (late evening, night) the demo sells day tickets without a slot.
      const now = new Date();
      const nightDemo = openSlot(catalogue, now) === undefined;
      if (nightDemo) catalogue = { ...catalogue, slots: [] };
      // The park's own channels (WeChat, kiosk) are paid through the providers; Meituan confirms itself.
      catalogue = { ...catalogue, channels: catalogue.channels.map((c) => (c.id === 'meituan' ? c : { ...c, payment: 'provider' as const })) };
      // The visitor booking page (/book/{site}) sells on its own channel, paid through the simulator too.
      catalogue = withBookingChannel(catalogue);
      // The kiosk takes cash on a partner-mode channel of its own (docs/kiosk.md, "Why two channels"), selling what the kiosk channel sells.
      const cashKey = newCashChannelKey();
      if (site.kiosk) {
        const cashChannel = { id: 'kiosk-cash', name: { 'zh-CN': '自助售票机（现金）', en: 'On-site kiosk (cash)' }, kind: 'kiosk' as const, apiKeySha256: createHash('sha256').update(cashKey).digest('hex'), payment: 'partner' as const };
        catalogue = {
          ...catalogue,
          ticketTypes: catalogue.ticketTypes.map((t) => (t.channels?.includes('kiosk') ? { ...t, channels: [...t.channels, 'kiosk-cash'] } : t)),
          channels: [...catalogue.channels, cashChannel],
        };
      }
      paysim = new PaymentSimulator({ stateDir: join(dir, 'paysim') });
      await paysim.listen();
      const pay = paysim.merchantConfig() as {
        wechat: { mchid: string; appid: string; merchantSerial: string; merchantPrivateKeyPath: string; apiV3KeyPath: string; platformKeys: { path: string; serial?: string }[]; baseUrl: string; oauth: { appSecretPath: string; authorizeUrl: string; apiBaseUrl: string } };
        alipay: { appId: string; appPrivateKeyPath: string; alipayPublicKeyPath: string; gatewayUrl: string; billHosts: string[] };
      };
      const staffToken = randomBytes(16).toString('hex');
      // The combos' partners (a hotel, a farm stay), each with its own API key for /v1/partner/… (printed below).
      const partnerKeys = Object.fromEntries(DEMO_PARTNERS.map((p) => [p.id, randomBytes(16).toString('hex')]));
      const metricsToken = randomBytes(16).toString('hex');
      // Every client of the broker logs in: gates and the screen with credentials from the
      // cloud's device registry (made below, once the bridge is up), the bridge internally.
      const late: { registry?: CloudBridge['registry'] } = {};
      broker = await startEmbeddedBroker({ port: 0, verifyDevice: (u, p) => late.registry?.verify(u, p) ?? Promise.resolve(null), onRefuse: (r) => bridge?.metrics.refuse(`broker_${r}`) });
      const mqttUrl = `mqtt://127.0.0.1:${broker.port}`;
      // Level changes are printed as capacity lines (below); the rest of the log as pino writes it.
      const logger = pino({ level: opts.logLevel ?? process.env.DEMO_LOG_LEVEL ?? 'warn' }, { write: (line: string) => void (line.includes('"alert":"capacity_level"') || process.stdout.write(line)) });
      bridge = await startCloudBridge({
        sqlitePath: join(dir, 'cloud.db'),
        mqttUrl: broker.cloudUrl,
        metricsTokenSha256: createHash('sha256').update(metricsToken).digest('hex'),
        mqttProtocol: 4, // Aedes speaks MQTT 3.1.1
        httpPort: 0,
        sites: [
          {
            id: site.id,
            controlKey: { id: pair.keyId, privateKeyPem: pair.privateKeyPem },
            gates: site.gates,
            ...(site.offlineKeys ? { offlineKeys: site.offlineKeys } : {}),
            // The kiosk's offline cash sales: counted as orders of its cash channel; its key is believed like the gates' offline keys.
            ...(site.kiosk ? { kiosks: [{ id: site.kiosk.id, channel: 'kiosk-cash', offlineCap: site.kiosk.offlineCap ?? 20, offlineKey: site.kiosk.offlineKey }] } : {}),
            sales: {
              catalogue,
              capacity: { daily, yellow: 0.7, orange: 0.85 },
              idHashKey: site.idHashKey,
              staffTokenSha256: createHash('sha256').update(staffToken).digest('hex'),
              bookingChannel: 'web',
            },
            partners: DEMO_PARTNERS.map((p) => ({ id: p.id, name: p.name, apiKeySha256: createHash('sha256').update(partnerKeys[p.id]!).digest('hex') })),
          },
        ],
        payments: {
          sites: {
            [site.id]: {
              wechat: { mchid: pay.wechat.mchid, appid: pay.wechat.appid, merchantSerial: pay.wechat.merchantSerial, merchantPrivateKeyPath: pay.wechat.merchantPrivateKeyPath, apiV3KeyPath: pay.wechat.apiV3KeyPath, platformKeys: pay.wechat.platformKeys, baseUrl: pay.wechat.baseUrl, oauth: pay.wechat.oauth },
              alipay: { appId: pay.alipay.appId, appPrivateKeyPath: pay.alipay.appPrivateKeyPath, alipayPublicKeyPath: pay.alipay.alipayPublicKeyPath, gatewayUrl: pay.alipay.gatewayUrl, billHosts: pay.alipay.billHosts },
            },
          },
        },
        sharedGroup: 'stile-demo',
        demoMode: true, // the demo catalogue sells with the public DEMO_API_KEYS
        clientId: 'stile-demo-cloud',
        logger,
        sms: demoSms(logger, print),
      });
      // A season of history in the new store, so every report and chart has something to show (once: a marker row).
      if (seasonVisits > 0) {
        const seeded = await seedSeason(bridge.store.db, catalogue, { site: site.id, idHashKey: site.idHashKey, today: localDate(now, catalogue.timeZone), days: seasonDays, visits: seasonVisits, gates: site.gates });
        if (seeded.written) {
          seasonEntries = seeded.summary.counts.entries;
          // Yesterday's report may have been kept at start, before the history: make it again.
          await bridge.reports.generate(site.id, seeded.summary.to);
          print(describeSeason(seeded.summary, seeded.ms));
          logger.info({ event: 'demo_season', ...seeded.summary, ms: seeded.ms }, 'demo season generated');
        } else logger.info({ event: 'demo_season', skipped: seeded.why }, 'demo season not generated');
      }
      const registry = (late.registry = bridge.registry);
      const gateCredentials: Record<string, { username: string; token: string }> = {};
      for (const g of site.gates) gateCredentials[g] = await registry.issue(site.id, 'gate', g);
      const kioskLogin: { username: string; token: string } | undefined = site.kiosk ? await registry.issue(site.id, 'kiosk', site.kiosk.id) : undefined;
      await watchCapacity(mqttUrl, await registry.issue(site.id, 'screen', 'entrance'), loadTrustedKeys([{ id: pair.keyId, publicKey: pair.publicKey }]));
      const base = `http://127.0.0.1:${bridge.httpPort}`;
      const dashboard = `${base}/dashboard/${encodeURIComponent(site.id)}#token=${staffToken}`;
      const describe = [
        `cloud: embedded MQTT broker ${mqttUrl}, cloud-bridge on ${join(dir, 'cloud.db')}, daily capacity ${daily} persons${nightDemo ? ' (outside the time slots: day tickets)' : ''}`,
        `channel API: ${base}/docs   (demo keys: ${Object.entries(DEMO_API_KEYS).map(([c, k]) => `${c} ${k}`).join(', ')})`,
        `payments: WeChat Pay and Alipay simulator ${paysim.baseUrl} (wechat and kiosk pay through it, meituan confirms itself; trades: ${paysim.baseUrl}/sim/trades)`,
        `booking page: ${base}/book/${encodeURIComponent(site.id)}   (API ${base}/v1/book/${encodeURIComponent(site.id)}/…; the SMS login code is printed here, the payment is the simulator's;
  inside WeChat — a MicroMessenger user agent — it asks the simulator's authorize page for the openid and pays with JSAPI)`,
        `metrics: curl -H 'Authorization: Bearer ${metricsToken}' ${base}/metrics`,
        `partners (combos): ${DEMO_PARTNERS.map((p) => `${p.id} key ${partnerKeys[p.id]!}`).join(', ')}`,
        '',
        `  dashboard: ${dashboard}`,
        '',
      ].join('\n');
      return {
        mqtt: { url: mqttUrl, protocolVersion: 4, reconnectMinMs: 200, reconnectMaxMs: 2000 },
        /** Each gate's own broker login (the demo made them in the registry, as `stile-cloud gate add` does). */
        gateCredentials,
        control: { id: pair.keyId, publicKey: pair.publicKey },
        /** The ticket types tickets sold by the channel API carry; the gates need them in gate.yaml. */
        ticketTypes: gateTicketTypes(catalogue),
        describe,
        dashboardUrl: dashboard,
        /** The kiosk's channel keys and broker login (made in the registry as `stile-cloud kiosk add` does). */
        ...(kioskLogin ? { kiosk: { baseUrl: base, apiKey: DEMO_API_KEYS.kiosk, cashApiKey: cashKey, mqttUrl, login: kioskLogin, control: { id: pair.keyId, publicKey: pair.publicKey } } } : {}),
        sales: {
          baseUrl: base,
          timeZone: catalogue.timeZone,
          keys: { wechat: DEMO_API_KEYS.wechat, meituan: DEMO_API_KEYS.meituan, kiosk: DEMO_API_KEYS.kiosk },
          payByProvider: (channel: string, orderId: string, n: number) => (channel === 'meituan' ? undefined : payThroughSimulator(base, DEMO_API_KEYS[channel as keyof typeof DEMO_API_KEYS], orderId, channel === 'kiosk' ? 'code' : 'qr', n)),
          /** The date and slot a visitor arriving now buys (no slot: the catalogue sells day tickets). */
          today: () => {
            const at = new Date();
            const slotId = catalogue.slots.length > 0 ? openSlot(catalogue, at) : undefined;
            return { date: localDate(at, catalogue.timeZone), ...(slotId ? { slotId } : {}) };
          },
        },
      };
    },

    /** Today's published capacity level (green, yellow, orange, red), once the monitor has looked. */
    level(): string | undefined {
      return bridge?.capacity.level(siteId);
    },

    async summary(expectedEntries: number): Promise<string> {
      if (!bridge) return 'cloud: not started';
      const until = Date.now() + 5000;
      // Today's run only: the generated season's admissions and orders are history.
      let stored = (await bridge.sync.countEntries(siteId)) - seasonEntries;
      while (stored < expectedEntries && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
        stored = (await bridge.sync.countEntries(siteId)) - seasonEntries;
      }
      const m = bridge.metrics;
      const conflicts = (await bridge.sync.conflicts(siteId)).length;
      const paid = (await bridge.store.db.selectFrom('orders').select(['channel', 'persons', 'payment_ref']).where('site', '=', siteId).where('status', '=', 'paid').execute()).filter((o) => !o.payment_ref?.startsWith('season-'));
      const byChannel = new Map<string, { orders: number; persons: number }>();
      for (const o of paid) {
        const c = byChannel.get(o.channel) ?? { orders: 0, persons: 0 };
        c.orders++;
        c.persons += Number(o.persons);
        byChannel.set(o.channel, c);
      }
      const persons = paid.reduce((s, o) => s + Number(o.persons), 0);
      const trades = [...(paysim?.trades.values() ?? [])].filter((t) => t.transactionId !== undefined);
      const viaProviders = trades.length > 0 ? `; ${trades.length} paid through the providers (${trades.filter((t) => t.provider === 'wechat').length} WeChat Pay, ${trades.filter((t) => t.provider === 'alipay').length} Alipay)` : '';
      const channels = [...byChannel].map(([c, v]) => `${c} ${v.orders}`).join(', ');
      const model = await bridge.dashboard.model(siteId);
      const cap = model ? `capacity ${model.capacity.level.toUpperCase()} ${model.capacity.load}/${model.capacity.daily} (${model.capacity.percent} %), ${model.capacity.admitted} persons admitted` : 'capacity: -';
      return [
        `cloud received ${stored} entries (${m.received} messages, ${m.duplicates} duplicates), published ${m.deltasPublished} whitelist deltas, ${conflicts} conflicts`,
        `${cap}; ${paid.length} orders paid (${persons} persons${channels ? `: ${channels}` : ''})${viaProviders}`,
      ].join('\n');
    },

    async close(): Promise<void> {
      await watcher?.endAsync().catch(() => undefined);
      await bridge?.close();
      await paysim?.close();
      await broker?.close();
    },
  };
}
