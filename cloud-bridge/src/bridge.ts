import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { MqttClient } from 'mqtt';
import { kioskTopics, parseBasicAuthorization, parseKioskTopic, topics, type CommandAck, type GateCommand, type WhitelistChange, type WhitelistDelta } from '@stile/config';
// core
import { Alerts } from './core/alerts.js';
import { gateTicketTypes } from './core/catalogue.js';
import { systemClock, type Clock } from './core/clock.js';
import { holdSqliteStore } from './core/db/backup.js';
import { CloudStore } from './core/db/store.js';
import { DeviceRegistry } from './core/device-registry.js';
import { SiteEvents } from './core/events.js';
import { createLogger, moduleLogger, type Logger } from './core/log.js';
import { Metrics } from './core/metrics.js';
import { CloudPrometheus } from './core/prometheus.js';
import type { CloudModule, GateMessageHandler, ModuleContext } from './core/module.js';
import { closeMqtt, connectMqtt, redactUrl, type ConnectionHealth, type MqttConnection } from './core/mqtt/connection.js';
import type { Publisher } from './core/mqtt/publisher.js';
import { ALL_CMD_ACKS, ALL_ENTRIES, ALL_STATUS, parseGateTopic } from './core/mqtt/topics.js';
import { LogSmsSender, type SmsSender } from './core/notify/sms.js';
import { LogNotifier, MultiNotifier, WebhookNotifier, type StaffNotifier } from './core/notify/webhook.js';
import { SiteRegistry, type SiteConfig } from './core/sites.js';
// modules
import { createBackupModule, type BackupModule, type BackupSchedule } from './modules/backup/module.js';
import { createBookingModule } from './modules/booking/module.js';
import { createCapacityModule, type CapacityModule } from './modules/capacity/module.js';
import type { CommandOptions, GateAction } from './modules/commands/commands.js';
import { createCommandsModule } from './modules/commands/module.js';
import { createDashboardModule, type DashboardModule } from './modules/dashboard/module.js';
import { createKiosksModule, type KiosksModule } from './modules/kiosks/module.js';
import { createReportsModule } from './modules/reports/module.js';
import { createScreenModule, type ScreenModule } from './modules/screen/module.js';
import type { Reports } from './modules/reports/report-service.js';
import type { PaymentsOptions } from './modules/payments/config.js';
import { createPaymentsModule } from './modules/payments/module.js';
import type { Payments } from './modules/payments/payments.js';
import { createSalesModule } from './modules/sales/module.js';
import { createSmsModule, type SmsModule } from './modules/sms/module.js';
import type { SmsSettings } from './modules/sms/settings.js';
import type { Sales, SalesOptions } from './modules/sales/sales.js';
import { createStaffModule } from './modules/staff/module.js';
import type { Staff } from './modules/staff/staff.js';
import type { UnknownGatePolicy } from './modules/sync/entries.js';
import { createSyncModule } from './modules/sync/module.js';
import type { SyncRepository } from './modules/sync/repository.js';
import type { GateAuth } from './modules/whitelist/gate-routes.js';
import { createWhitelistModule } from './modules/whitelist/module.js';
import { createVisitorsModule } from './modules/visitors/module.js';
import { createMarketingModule } from './modules/marketing/module.js';
import { createPosModule } from './modules/pos/module.js';
import { createPartnersModule } from './modules/partners/module.js';
import { createInsightModule } from './modules/insight/module.js';
import type { OrderExtension } from './core/ports.js';
import type { WhitelistRepository } from './modules/whitelist/repository.js';
// the edge
import { assertCredentials } from './credential-checks.js';
import { createCloudApp } from './http/app.js';

/*
 * The composition root: builds the core, then the modules in the order their ports need,
 * routes gate messages to the modules by topic leaf, starts them, serves their routes from
 * one hono app, and stops everything in reverse (docs/architecture.md, "cloud-bridge").
 */

export interface CloudBridgeOptions {
  /** postgres://… ; otherwise SQLite at sqlitePath. */
  databaseUrl?: string;
  sqlitePath?: string;
  /** PostgreSQL: apply pending migrations to a database with data (the operator has a backup; STILE_MIGRATE_WITHOUT_BACKUP=1). */
  migrateWithoutBackup?: boolean;
  /** Scheduled online backups of the SQLite store (cloud.yaml `backup`, docs/backup.md). */
  backup?: BackupSchedule;
  mqttUrl: string;
  /**
   * 5 (default): MQTT v5 with the shared subscription $share/<sharedGroup>/… 4: MQTT 3.1.1
   * and a plain subscription (one instance only), for brokers without v5 such as the
   * embedded Aedes.
   */
  mqttProtocol?: 4 | 5;
  /** 0: any free port (see CloudBridge.httpPort). */
  httpPort: number;
  httpHost?: string;
  /**
   * A listener of its own for the gate routes (snapshot, changes, ticket-types): the public
   * port then serves none of them. 0: any free port (see CloudBridge.gateHttpPort).
   */
  gateHttpPort?: number;
  gateHttpHost?: string;
  /** SHA-256 (hex) of the bearer token GET /metrics wants; unset: /metrics is refused. */
  metricsTokenSha256?: string;
  /** Base URL gates reach this server at; puts snapshotUrl into the retained head. */
  publicUrl?: string;
  sites: SiteConfig[];
  /** Shared-subscription group: instances in one group split the gates' entries. */
  sharedGroup: string;
  /** Stable per instance (the broker keeps its session). Default stile-cloud-<hostname>. */
  clientId?: string;
  sessionExpirySec?: number;
  redeliverAfterMs?: number;
  unknownGates?: UnknownGatePolicy;
  /**
   * MQTT v5 only: connections in the shared group that take entries (default 8). Messages
   * on one connection are handled one at a time (PUBACK after commit); several let
   * messages arrive while a commit runs, and those share the next transaction.
   */
  ingestConnections?: number;
  /** Deltas kept per site for changes?since (default 10,000). */
  retainDeltas?: number;
  /** WeChat Pay / Alipay per site, for provider-mode channels (cloud.yaml `sites[].payments`). */
  payments?: PaymentsOptions;
  /** Sends check-in codes to visitors; default: the log provider. */
  sms?: SmsSender;
  /** Texts through Alibaba Cloud / Tencent Cloud SMS (cloud.yaml `sms:`, docs/sms.md); used when `sms` is not given. */
  smsSettings?: SmsSettings;
  /** Staff alerts (capacity levels, partition conflicts, channel pauses) go to the log and, if set, this webhook (signed with secret, ≥ 32 chars). */
  alertWebhook?: { url: string; secret: string };
  /** Accept catalogues that use the public demo API keys (the demo only; cloud.yaml `demo: true`). */
  demoMode?: boolean;
  /** Replaces the default notifiers (tests). */
  notifier?: StaffNotifier;
  /** The clock of every module (tests: what "now" is for capacity, reports, ingest…). Default the system clock. */
  clock?: Clock;
  /** The clock of sales and staff actions only (tests: what "today" and "now" are for orders); default `clock`. */
  salesClock?: Clock;
  /** Availability's bound for changes made by other instances, and group commit of orders (sales.ts SalesOptions). */
  salesOptions?: SalesOptions;
  logger?: Logger;
}

export interface CloudBridge {
  /** The connection (db, dialect) and the site and gate rows every module shares. */
  store: CloudStore;
  /** Tickets and deltas (getTicket, headSeq, changesSince…). */
  whitelist: WhitelistRepository;
  /** Entries, conflicts, anomalies and gate state (countEntries, gateState…). */
  sync: SyncRepository;
  /** Kiosk records, offline packs (docs/kiosk-offline.md). */
  kiosks: KiosksModule;
  metrics: Metrics;
  httpPort: number;
  /** The gate listener's port, when gateHttpPort is set. */
  gateHttpPort?: number;
  /** Device credentials: issue, rotate, revoke, verify. */
  registry: DeviceRegistry;
  mqtt: MqttClient;
  publishChanges(site: string, changes: WhitelistChange[]): Promise<WhitelistDelta>;
  /** Orders and availability (sites with `sales`). */
  sales: Sales;
  /** Provider payments: attempts, notifications, refunds, the sweep. */
  payments: Payments;
  /** The SMS provider module, when `smsSettings` is given (sender, sms_messages). */
  smsModule?: SmsModule;
  /** Channel pauses and the audit log. */
  staff: Staff;
  reports: Reports;
  capacity: CapacityModule;
  /** The staff dashboard's model and live stream. */
  dashboard: DashboardModule;
  /** The public entrance screen's model (its page and stream are routes). */
  screen: ScreenModule;
  sendCommand(site: string, gate: string, action: GateAction, opts: CommandOptions): Promise<GateCommand>;
  waitForAck(cmdId: string, timeoutMs?: number): Promise<CommandAck>;
  /** Scheduled backups, when `backup` is set on a SQLite store. */
  backup?: BackupModule;
  /** What /healthz answers: store answering, every broker connection connected and subscribed (READY=1 waits for it). */
  health(): Promise<BridgeHealth>;
  close(): Promise<void>;
}

export async function startCloudBridge(opts: CloudBridgeOptions): Promise<CloudBridge> {
  // Weak ID-hash keys, public demo API keys, an unsigned webhook: refused before anything opens.
  assertCredentials(opts);
  const log = opts.logger ?? createLogger();
  const metrics = new Metrics();
  const unknownGates = opts.unknownGates ?? 'reject';
  // Held while this instance runs: "stile-cloud restore" refuses meanwhile (docs/backup.md).
  const storeLock = opts.databaseUrl ? undefined : holdSqliteStore(opts.sqlitePath ?? 'cloud.db');
  const store = await CloudStore.open({
    ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
    ...(opts.sqlitePath ? { sqlitePath: opts.sqlitePath } : {}),
    ...(opts.migrateWithoutBackup ? { migrateWithoutBackup: true } : {}),
  }).catch((err: unknown) => {
    storeLock?.release();
    throw err;
  });
  if (store.preMigrateBackup) log.info({ event: 'store_migrated', backup: store.preMigrateBackup }, `schema migrated; the database as it was is kept in ${store.preMigrateBackup}`);
  const cleanups: (() => Promise<void>)[] = [() => Promise.resolve(storeLock?.release()), () => store.close()];
  const closeAll = async (): Promise<void> => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        log.warn({ err }, 'error while closing');
      }
    }
  };
  try {
    // ---- core ---------------------------------------------------------------------------
    const sites = new SiteRegistry(opts.sites);
    for (const s of opts.sites) {
      await store.ensureSite(s.id, s.controlKey.id);
      for (const g of s.gates ?? []) await store.registerGate(s.id, g);
    }
    // Gate messages wait here until the modules exist: a resumed session delivers its queued
    // messages as soon as the client connects (nothing is refused, nothing acked unhandled).
    const gate = gateMessageRouter();
    const broker = await connectBroker(opts, log, gate.route, cleanups);
    const events = new SiteEvents(log);
    const notifier =
      opts.notifier ?? (opts.alertWebhook ? new MultiNotifier([new LogNotifier(log), new WebhookNotifier({ ...opts.alertWebhook, logger: log })]) : new LogNotifier(log));
    // Every staff alert (capacity, conflicts, gate anomalies, channel pauses) is stored, sent and announced here.
    const alerts = new Alerts(store, notifier, events, log);
    const registry = new DeviceRegistry(store);
    // GET /metrics (Prometheus text): listens for the capacity module's counts from its first.
    const prometheus = new CloudPrometheus({ metrics, events, store, sites });
    cleanups.push(() => Promise.resolve(prometheus.close()));
    const health = (): Promise<BridgeHealth> => bridgeHealth(store, metrics, broker.connections);
    const ctxFor = (name: string, clock: Clock = opts.clock ?? systemClock): ModuleContext => ({ store, sites, events, clock, log: moduleLogger(log, name), metrics, publisher: broker.publisher });

    // ---- modules, in the order their ports need -----------------------------------------
    const capacity = createCapacityModule(ctxFor('capacity'), { alerts });
    const dashboard = createDashboardModule(ctxFor('dashboard'), { capacity, health: async () => healthProblems(await health()) });
    const screen = createScreenModule(ctxFor('screen'), { capacity });
    const whitelist = createWhitelistModule(ctxFor('whitelist'), {
      gateAuth: gateAuthWith(registry),
      ticketTypes: (site) => {
        const s = sites.site(site);
        return s ? gateTicketTypes(s.catalogue) : undefined;
      },
      snapshotUrl: (site) => (opts.publicUrl ? `${opts.publicUrl.replace(/\/$/, '')}/v1/sites/${encodeURIComponent(site)}/whitelist/snapshot` : undefined),
      ...(opts.retainDeltas !== undefined ? { retainDeltas: opts.retainDeltas } : {}),
    });
    const sync = createSyncModule(ctxFor('sync'), {
      ledger: whitelist.ledger,
      isRevoked: (site, gate) => registry.isRevokedCached(site, 'gate', gate),
      unknownGates,
      maxAdmissionsPerSecond: (site) => sites.config(site)?.maxAdmissionsPerSecond ?? 5,
      alerts,
    });
    // Kiosk records and offline sales (counted as orders of the kiosk's channel, staged as whitelist deltas).
    const kiosks = createKiosksModule(ctxFor('kiosks'), { ledger: whitelist.ledger, isRevoked: (site, kiosk) => registry.isRevokedCached(site, 'kiosk', kiosk), alerts });
    const commands = createCommandsModule(ctxFor('commands'));
    // Orders, pauses and their audit log and alerts run on the sales clock (tests move "now" for them).
    const salesClock = opts.salesClock ?? opts.clock ?? systemClock;
    const smsModule = opts.smsSettings && !opts.sms ? createSmsModule(ctxFor('sms'), { settings: opts.smsSettings }) : undefined;
    const sms = opts.sms ?? smsModule?.sender ?? new LogSmsSender(log);
    // #19: visitor profiles, coupons and membership, combos: they take part in orders through
    // sales' extension port (in the sale's transaction), in this order.
    const visitorsModule = createVisitorsModule(ctxFor('visitors', salesClock));
    const marketingModule = createMarketingModule(ctxFor('marketing', salesClock), { visitors: visitorsModule.directory, sms });
    const partnersModule = createPartnersModule(ctxFor('partners', salesClock));
    const orderExtensions: OrderExtension[] = [visitorsModule.extension, marketingModule.extension, partnersModule.extension];
    const salesModule = createSalesModule(ctxFor('sales', salesClock), {
      ledger: whitelist.ledger,
      extensions: orderExtensions,
      levels: capacity,
      sms,
      // A cancel closes the order's payments at the provider first (paymentsModule, built below; called per request).
      payments: { closeAll: (site, orderId) => paymentsModule.payments.closeAll(site, orderId) },
      ...(opts.salesOptions ? { options: opts.salesOptions } : {}),
    });
    // Provider payments confirm orders through sales' port; they post notifications to this
    // instance's public URL (known once the listener is bound, when none is configured).
    let boundPort = 0;
    const notifyBase = (): string => (opts.payments?.notifyBaseUrl ?? opts.publicUrl ?? `http://${!opts.httpHost || opts.httpHost === '0.0.0.0' ? '127.0.0.1' : opts.httpHost}:${boundPort}`).replace(/\/+$/, '');
    const paymentsModule = createPaymentsModule(ctxFor('payments', salesClock), {
      orders: salesModule.sales.orderPayments,
      alerts,
      sites: opts.payments?.sites ?? {},
      notifyUrl: (p) => `${notifyBase()}/v1/payments/${p}/notify`,
      providerClock: opts.clock ?? systemClock,
      ...(opts.payments?.sweepEveryMs !== undefined ? { sweepEveryMs: opts.payments.sweepEveryMs } : {}),
      ...(opts.payments?.codePayments ? { codePayments: opts.payments.codePayments } : {}),
      ...(opts.payments?.reconciliation ? { reconciliation: opts.payments.reconciliation } : {}),
    });
    const staffModule = createStaffModule(ctxFor('staff', salesClock), { alerts });
    // The visitor booking page sells on the booking channel through sales' and payments' ports.
    // WeChat web OAuth (the openid for JSAPI) is the booking page's, under the payment's AppID.
    const wechatOAuth = Object.fromEntries(Object.entries(opts.payments?.sites ?? {}).flatMap(([site, p]) => (p.wechat?.oauth ? [[site, { appid: p.wechat.appid, ...p.wechat.oauth }]] : [])));
    const publicBase = (): string => (opts.publicUrl ?? `http://${!opts.httpHost || opts.httpHost === '0.0.0.0' ? '127.0.0.1' : opts.httpHost}:${boundPort}`).replace(/\/+$/, '');
    const bookingModule = createBookingModule(ctxFor('booking', salesClock), { sales: salesModule.sales.bookingSales, payments: paymentsModule.bookingPayments, sms, wechatOAuth, publicUrl: publicBase });
    // #19: POS spending (linked through the visitors' directory, coupons redeemed through marketing's port), product insight.
    const posModule = createPosModule(ctxFor('pos', salesClock), { visitors: visitorsModule.directory, coupons: marketingModule.redeemer });
    const insightModule = createInsightModule(ctxFor('insight', salesClock));
    // The daily report shows the payments' reconciliation of its day through a port.
    const reportsModule = createReportsModule(ctxFor('reports'), { reconciliation: { reconciliation: (site, date) => paymentsModule.reconciliation.get(site, date) }, insight: insightModule.insight });
    // Started in this order, stopped in reverse (the dashboard listens before capacity's first recount).
    const backupModule = opts.backup && store.sqlite ? createBackupModule(ctxFor('backup'), { schedule: opts.backup, alerts }) : undefined;
    if (opts.backup && !store.sqlite) log.warn({ event: 'backup_ignored' }, 'cloud.yaml backup: is for the SQLite store; back PostgreSQL up with pg_dump (docs/backup.md)');
    const modules: CloudModule[] = [whitelist, sync, kiosks, commands, dashboard, screen, capacity, salesModule, paymentsModule, bookingModule, staffModule, reportsModule, visitorsModule, marketingModule, posModule, partnersModule, insightModule, ...(smsModule ? [smsModule] : []), ...(backupModule ? [backupModule] : [])];

    gate.wire(modules);
    await broker.connectIngest(gate.route);
    for (const m of modules) {
      await m.start?.();
      if (m.stop) cleanups.push(() => m.stop!());
    }

    // ---- HTTP: one app; the gate routes on a listener of their own if configured ---------
    const appOpts = { modules, log, metrics, health, prometheus: () => prometheus.render(), ...(opts.metricsTokenSha256 ? { metricsTokenSha256: opts.metricsTokenSha256.toLowerCase() } : {}) };
    const serverFor = (serve: 'all' | 'public' | 'gate'): Server => createServer(getRequestListener(createCloudApp({ ...appOpts, serve }).fetch));
    const separateGates = opts.gateHttpPort !== undefined;
    const httpPort = await listen(serverFor(separateGates ? 'public' : 'all'), opts.httpPort, opts.httpHost, cleanups);
    boundPort = httpPort;
    const gateHttpPort = separateGates ? await listen(serverFor('gate'), opts.gateHttpPort!, opts.gateHttpHost ?? opts.httpHost, cleanups) : undefined;
    log.info({ httpPort, gateHttpPort, mqtt: redactUrl(opts.mqttUrl), dialect: store.dialect, sites: sites.ids, unknownGates }, 'cloud-bridge started');

    return {
      store,
      metrics,
      httpPort,
      ...(gateHttpPort !== undefined ? { gateHttpPort } : {}),
      registry,
      mqtt: broker.client,
      whitelist: whitelist.repository,
      sync: sync.repository,
      kiosks,
      publishChanges: (site, changes) => whitelist.publishChanges(site, changes),
      sales: salesModule.sales,
      payments: paymentsModule.payments,
      ...(smsModule ? { smsModule } : {}),
      staff: staffModule.staff,
      reports: reportsModule.reports,
      capacity,
      dashboard,
      screen,
      sendCommand: (site, gate, action, o) => commands.sendCommand(site, gate, action, o),
      waitForAck: (cmdId, timeoutMs) => commands.waitForAck(cmdId, timeoutMs),
      ...(backupModule ? { backup: backupModule } : {}),
      health,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * Routes each gate message to the module that takes its topic leaf (a leaf nobody takes is
 * acknowledged). Messages that arrive before wire() wait for it.
 */
function gateMessageRouter(): { route: GateMessageHandler; wire(modules: readonly CloudModule[]): void } {
  let wired!: () => void;
  const ready = new Promise<void>((resolve) => (wired = resolve));
  const byLeaf = new Map<string, GateMessageHandler>();
  return {
    route: async (topic, payload) => {
      await ready;
      const kioskLeaf = parseKioskTopic(topic)?.leaf;
      const leaf = kioskLeaf !== undefined ? `kiosk:${kioskLeaf}` : parseGateTopic(topic)?.leaf;
      const handle = leaf === undefined ? undefined : byLeaf.get(leaf);
      return handle ? handle(topic, payload) : true;
    },
    wire(modules) {
      for (const m of modules) for (const [leaf, handle] of Object.entries(m.mqtt ?? {})) if (handle && !byLeaf.has(leaf)) byLeaf.set(leaf, handle);
      for (const m of modules) for (const [leaf, handle] of Object.entries(m.kioskMqtt ?? {})) if (handle && !byLeaf.has(`kiosk:${leaf}`)) byLeaf.set(`kiosk:${leaf}`, handle);
      wired();
    },
  };
}

interface BrokerConnections {
  client: MqttClient;
  publisher: Publisher;
  connections: MqttConnection[];
  /** The extra connections in the shared group that take entries (after the handlers are wired). */
  connectIngest(route: GateMessageHandler): Promise<void>;
}

async function connectBroker(opts: CloudBridgeOptions, log: Logger, route: GateMessageHandler, cleanups: (() => Promise<void>)[]): Promise<BrokerConnections> {
  const v5 = (opts.mqttProtocol ?? 5) === 5;
  const entriesTopic = v5 ? topics.allEntriesShared(opts.sharedGroup) : ALL_ENTRIES;
  const kioskSalesTopic = v5 ? kioskTopics.allSalesShared(opts.sharedGroup) : kioskTopics.allSales;
  const mqttOpts = {
    url: opts.mqttUrl,
    protocolVersion: opts.mqttProtocol ?? 5,
    clientId: opts.clientId ?? `stile-cloud-${hostname()}`,
    sessionExpirySec: opts.sessionExpirySec ?? 3600,
    redeliverAfterMs: opts.redeliverAfterMs ?? 2000,
    log,
  };
  const connections: MqttConnection[] = [];
  const main = await connectMqtt({ ...mqttOpts, subscriptions: { [entriesTopic]: { qos: 1 }, [kioskSalesTopic]: { qos: 1 }, [ALL_STATUS]: { qos: 1 }, [ALL_CMD_ACKS]: { qos: 1 } } }, route);
  connections.push(main);
  cleanups.push(() => closeMqtt(main.client));
  // Deltas, heads, receipts and commands go out on a connection that takes no messages:
  // mqtt.js reads a connection's packets in order, so a PUBACK behind a message whose
  // handler waits for the database (held by a publish pass waiting for that PUBACK) never came.
  const out = await connectMqtt({ ...mqttOpts, clientId: `${mqttOpts.clientId}-out` }, () => Promise.resolve(true));
  connections.push(out);
  cleanups.push(() => closeMqtt(out.client));
  return {
    client: main.client,
    publisher: out.publisher,
    connections,
    async connectIngest(ingest) {
      const extra = v5 ? Math.max(0, (opts.ingestConnections ?? 8) - 1) : 0;
      for (let i = 1; i <= extra; i++) {
        const c = await connectMqtt({ ...mqttOpts, clientId: `${mqttOpts.clientId}-in${i}`, subscriptions: { [entriesTopic]: { qos: 1 } } }, ingest);
        connections.push(c);
        cleanups.push(() => closeMqtt(c.client));
      }
      await untilSubscribed(connections, log);
    },
  };
}

/** A gate's HTTP Basic credential from the device registry, for this very site. */
function gateAuthWith(registry: DeviceRegistry): GateAuth {
  return async (authorization, site) => {
    const basic = parseBasicAuthorization(authorization);
    const who = basic ? await registry.verify(basic.username, basic.password) : null;
    if (!who || who.kind !== 'gate') return 'unauthorized';
    return who.site === site ? 'ok' : 'forbidden';
  };
}

/** Ready while the store answers reads and takes writes, and every connection holds its subscriptions. */
async function bridgeHealth(store: CloudStore, metrics: Metrics, connections: readonly MqttConnection[]): Promise<BridgeHealth> {
  let storeHealth: BridgeHealth['store'] = { ok: true };
  try {
    await store.db.selectFrom('sites').select('id').limit(1).execute();
  } catch (err) {
    storeHealth = { ok: false, error: (err as Error).message };
  }
  // A store that answers reads but refuses writes (read-only, disk full) is not ready either.
  const w = metrics.lastWriteError;
  if (storeHealth.ok && w && w.at > metrics.lastCommitAt) storeHealth = { ok: false, error: `writes failing since ${new Date(w.at).toISOString()}: ${w.message}` };
  const mqtt = connections.map((c) => c.health());
  return { ready: storeHealth.ok && mqtt.every((h) => h.connected && h.subscribed), store: storeHealth, mqtt };
}

async function listen(server: Server, port: number, host: string | undefined, cleanups: (() => Promise<void>)[]): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host ?? '127.0.0.1', () => resolve());
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** The first subscriptions, before the bridge calls itself started (bounded: a refusing broker leaves /healthz unready, not the start hung). */
async function untilSubscribed(connections: MqttConnection[], log: Logger, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!connections.every((c) => c.health().subscribed)) {
    if (Date.now() > until) {
      log.error({ connections: connections.map((c) => c.health()).filter((h) => !h.subscribed) }, 'subscriptions not in place after start; /healthz reports not ready until they are');
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** /healthz in words for staff: what stops the numbers moving. */
export function healthProblems(h: BridgeHealth): { ready: boolean; problems: string[] } {
  const problems: string[] = [];
  if (!h.store.ok) problems.push(`store: ${h.store.error ?? 'not answering'}`);
  for (const c of h.mqtt) {
    if (!c.connected) problems.push(`broker connection ${c.clientId}: disconnected${c.problem ? ` (${c.problem})` : ''}`);
    else if (!c.subscribed) problems.push(`broker connection ${c.clientId}: subscriptions not in place${c.problem ? ` (${c.problem})` : ''}`);
  }
  return { ready: h.ready, problems };
}

/** /healthz: ready while the store answers and every connection holds its subscriptions. */
export interface BridgeHealth {
  ready: boolean;
  store: { ok: boolean; error?: string };
  mqtt: ConnectionHealth[];
}
