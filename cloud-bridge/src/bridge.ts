import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { MqttClient } from 'mqtt';
import { topics, type CommandAck, type GateCommand, type WhitelistChange, type WhitelistDelta } from '@stile/config';
import { Commands, type CommandOptions, type GateAction } from './modules/commands/commands.js';
import { getRequestListener } from '@hono/node-server';
import { createServer } from 'node:http';
import { createCloudApp } from './http/app.js';
import { gateRoutes } from './modules/whitelist/gate-routes.js';
import { channelRoutes } from './modules/sales/channel-routes.js';
import { staffRoutes } from './modules/staff/staff-routes.js';
import { reportRoutes } from './modules/reports/routes.js';
import { dashboardRoutes } from './modules/dashboard/routes.js';
import type { CloudModule } from './core/module.js';
import { Alerts } from './core/alerts.js';
import { SiteEvents } from './core/events.js';
import { SiteRegistry } from './core/sites.js';
import { LogSmsSender, type SmsSender } from './core/notify/sms.js';
import { Reports } from './modules/reports/report-service.js';
import { CapacityMonitor } from './modules/capacity/monitor.js';
import { LogNotifier, MultiNotifier, WebhookNotifier, type StaffAlert, type StaffNotifier } from './core/notify/webhook.js';
import { Sales, type SalesOptions } from './modules/sales/sales.js';
import { assertCredentials } from './credential-checks.js';
import { EntriesIngest, type UnknownGatePolicy } from './modules/sync/entries.js';
import { StatusIngest } from './modules/sync/status.js';
import { createLogger, type Logger } from './core/log.js';
import { Metrics } from './core/metrics.js';
import { closeMqtt, connectMqtt, redactUrl, type ConnectionHealth, type MqttConnection } from './core/mqtt/connection.js';
import { SiteKeys, type SiteConfig } from './core/sites.js';
import { CloudStore } from './core/db/store.js';
import { ALL_CMD_ACKS, ALL_ENTRIES, ALL_STATUS, parseGateTopic } from './core/mqtt/topics.js';
import { WhitelistPublisher } from './modules/whitelist/publisher.js';
import { DeviceRegistry } from './core/device-registry.js';
import { gateTicketTypes } from './core/catalogue.js';
import { parseBasicAuthorization } from '@stile/config';
import type { Anomaly } from './modules/sync/admission-check.js';

export interface CloudBridgeOptions {
  /** postgres://… ; otherwise SQLite at sqlitePath. */
  databaseUrl?: string;
  sqlitePath?: string;
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
  /** Sends check-in codes to visitors; default: the log provider. */
  sms?: SmsSender;
  /** Staff alerts (capacity levels, partition conflicts, channel pauses) go to the log and, if set, this webhook (signed with secret, ≥ 32 chars). */
  alertWebhook?: { url: string; secret: string };
  /** Accept catalogues that use the public demo API keys (the demo only; cloud.yaml `demo: true`). */
  demoMode?: boolean;
  /** Replaces the default notifiers (tests). */
  notifier?: StaffNotifier;
  /** The sales clock (tests: what "today" and "now" are for orders). */
  salesClock?: () => Date;
  /** Availability's bound for changes made by other instances, and group commit of orders (sales.ts SalesOptions). */
  salesOptions?: SalesOptions;
  logger?: Logger;
}

export interface CloudBridge {
  store: CloudStore;
  metrics: Metrics;
  httpPort: number;
  /** The gate listener's port, when gateHttpPort is set. */
  gateHttpPort?: number;
  /** Device credentials: issue, rotate, revoke, verify. */
  registry: DeviceRegistry;
  mqtt: MqttClient;
  publishChanges(site: string, changes: WhitelistChange[]): Promise<WhitelistDelta>;
  /** Orders, availability and channel state (sites with `sales`). */
  sales: Sales;
  reports: Reports;
  capacity: CapacityMonitor;
  sendCommand(site: string, gate: string, action: GateAction, opts: CommandOptions): Promise<GateCommand>;
  waitForAck(cmdId: string, timeoutMs?: number): Promise<CommandAck>;
  close(): Promise<void>;
}

export async function startCloudBridge(opts: CloudBridgeOptions): Promise<CloudBridge> {
  // Weak ID-hash keys, public demo API keys, an unsigned webhook: refused before anything opens.
  assertCredentials(opts);
  const log = opts.logger ?? createLogger();
  const metrics = new Metrics();
  const keys = new SiteKeys(opts.sites);
  const unknownGates = opts.unknownGates ?? 'reject';
  const store = await CloudStore.open({
    ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
    ...(opts.sqlitePath ? { sqlitePath: opts.sqlitePath } : {}),
    ...(opts.retainDeltas !== undefined ? { retainDeltas: opts.retainDeltas } : {}),
  });
  const cleanups: (() => Promise<void>)[] = [() => store.close()];
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
    for (const s of opts.sites) {
      await store.ensureSite(s.id, s.controlKey.id);
      for (const g of s.gates ?? []) await store.registerGate(s.id, g);
    }
    const snapshotUrl = (site: string): string | undefined =>
      opts.publicUrl ? `${opts.publicUrl.replace(/\/$/, '')}/v1/sites/${encodeURIComponent(site)}/whitelist/snapshot` : undefined;

    // The MQTT client and the modules that publish through it need each other. A resumed
    // session delivers its queued messages as soon as the client connects, before any module
    // exists: they wait here for the handlers (nothing is refused, nothing acked unhandled).
    let wired!: () => void;
    const handlersReady = new Promise<void>((resolve) => (wired = resolve));
    let handlers: (topic: string, payload: Buffer) => Promise<boolean> = () => Promise.resolve(false);
    const route = async (topic: string, payload: Buffer): Promise<boolean> => {
      await handlersReady;
      return handlers(topic, payload);
    };
    const v5 = (opts.mqttProtocol ?? 5) === 5;
    const entriesTopic = v5 ? topics.allEntriesShared(opts.sharedGroup) : ALL_ENTRIES;
    const mqttOpts = {
      url: opts.mqttUrl,
      protocolVersion: opts.mqttProtocol ?? 5,
      clientId: opts.clientId ?? `stile-cloud-${hostname()}`,
      sessionExpirySec: opts.sessionExpirySec ?? 3600,
      redeliverAfterMs: opts.redeliverAfterMs ?? 2000,
      log,
    };
    const connections: MqttConnection[] = [];
    const main = await connectMqtt({ ...mqttOpts, subscriptions: { [entriesTopic]: { qos: 1 }, [ALL_STATUS]: { qos: 1 }, [ALL_CMD_ACKS]: { qos: 1 } } }, route);
    connections.push(main);
    const { client } = main;
    cleanups.push(() => closeMqtt(client));
    // Deltas, heads, receipts and commands go out on a connection that takes no messages:
    // mqtt.js reads a connection's packets in order, so a PUBACK behind a message whose
    // handler waits for the database (held by a publish pass waiting for that PUBACK) never came.
    const out = await connectMqtt({ ...mqttOpts, clientId: `${mqttOpts.clientId}-out` }, () => Promise.resolve(true));
    connections.push(out);
    cleanups.push(() => closeMqtt(out.client));
    const { publisher } = out;
    const whitelist = new WhitelistPublisher(store, keys, publisher, log, metrics, snapshotUrl);
    whitelist.startSweep(() => opts.sites.map((s) => s.id));
    cleanups.push(() => Promise.resolve(whitelist.close()));
    const registry = new DeviceRegistry(store);
    // The capacity monitor needs the sales module, which comes later; ingest reaches it through this.
    const late: { monitor?: CapacityMonitor } = {};
    const rates = new Map(opts.sites.map((s) => [s.id, s.maxAdmissionsPerSecond ?? 5]));
    const anomalyAlerted = new Map<string, number>();
    const entries = new EntriesIngest({
      store,
      keys,
      whitelist,
      metrics,
      log,
      unknownGates,
      isRevoked: (site, gate) => registry.isRevokedCached(site, 'gate', gate),
      maxAdmissionsPerSecond: (site) => rates.get(site) ?? 5,
      receipt: (site, gate, r) => {
        late.monitor?.changed(site);
        // Signed: only the cloud may empty a gate's outbox.
        const ack = keys.sign(site, { v: 1 as const, site, gate, ...r });
        publisher.publish(topics.entriesAck(site, gate), JSON.stringify(ack), { qos: 1 }).catch((err: Error) => log.warn({ site, gate, err: err.message }, 'entries receipt not published; the gate will send again'));
      },
      onAnomalies: (site, gate, counts) => {
        // One staff alert per gate and reason a minute: a forging gate must not flood the phones.
        for (const [reason, n] of counts) {
          const key = `${site}/${gate}/${reason}`;
          const now = Date.now();
          if (now - (anomalyAlerted.get(key) ?? 0) < 60_000) continue;
          anomalyAlerted.set(key, now);
          void late.monitor?.alert(anomalyAlert(site, gate, reason, n, new Date(now)));
        }
      },
    });
    const status = new StatusIngest(store, keys, metrics, log, unknownGates);
    const commands = new Commands(keys, publisher, metrics, log);
    cleanups.push(() => Promise.resolve(commands.close()));
    handlers = async (topic, payload) => {
      const leaf = parseGateTopic(topic)?.leaf;
      if (leaf === 'entries') return (await entries.handle(topic, payload)) === 'ack';
      if (leaf === 'status') await status.handle(topic, payload);
      else if (leaf === 'cmd/ack') commands.handleAck(topic, payload);
      return true;
    };
    wired();
    const extraIngest = v5 ? Math.max(0, (opts.ingestConnections ?? 8) - 1) : 0;
    for (let i = 1; i <= extraIngest; i++) {
      const extra = await connectMqtt({ ...mqttOpts, clientId: `${mqttOpts.clientId}-in${i}`, subscriptions: { [entriesTopic]: { qos: 1 } } }, route);
      connections.push(extra);
      cleanups.push(() => closeMqtt(extra.client));
    }
    await untilSubscribed(connections, log);

    const salesSites = opts.sites.flatMap((s) => (s.sales ? [{ id: s.id, ...s.sales }] : []));
    const sales = new Sales(store, whitelist, salesSites, opts.sms ?? new LogSmsSender(log), log, opts.salesClock, opts.salesOptions);
    const notifier =
      opts.notifier ?? (opts.alertWebhook ? new MultiNotifier([new LogNotifier(log), new WebhookNotifier({ ...opts.alertWebhook, logger: log })]) : new LogNotifier(log));
    const health = async (): Promise<BridgeHealth> => {
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
    };
    const capacity = new CapacityMonitor({
      store,
      site: (id) => sales.site(id),
      siteIds: () => sales.siteIds,
      mqtt: publisher,
      keys,
      notifier,
      log,
      cloudHealth: async () => healthProblems(await health()),
    });
    late.monitor = capacity;
    sales.onChange = (site) => capacity.changed(site);
    sales.levelToday = (site) => capacity.level(site);
    await capacity.start();
    cleanups.push(() => Promise.resolve(capacity.close()));
    const holds = setInterval(() => void sales.expireHolds().catch((err: unknown) => log.warn({ err }, 'expiring unpaid orders failed; next try in 30 s')), 30_000);
    holds.unref();
    cleanups.push(() => Promise.resolve(clearInterval(holds)));
    const reports = new Reports(store, (id) => sales.site(id), () => sales.siteIds, log);
    if (salesSites.length > 0) reports.start();
    cleanups.push(() => Promise.resolve(reports.stop()));
    const gateAuth = async (authorization: string | undefined, site: string): Promise<'ok' | 'unauthorized' | 'forbidden'> => {
      const basic = parseBasicAuthorization(authorization);
      const who = basic ? await registry.verify(basic.username, basic.password) : null;
      if (!who || who.kind !== 'gate') return 'unauthorized';
      return who.site === site ? 'ok' : 'forbidden';
    };
    const sites = new SiteRegistry(opts.sites);
    const alerts = new Alerts(store, notifier, new SiteEvents(log), log);
    const modules: CloudModule[] = [
      {
        name: 'whitelist',
        gateRoutes: (app) =>
          gateRoutes(app, {
            store,
            keys,
            log,
            metrics,
            gateAuth,
            clock: () => new Date(),
            ticketTypes: (site) => {
              const s = sales.site(site);
              return s ? gateTicketTypes(s.catalogue) : undefined;
            },
          }),
      },
      { name: 'sales', routes: (app) => channelRoutes(app, sales, sites) },
      { name: 'staff', routes: (app) => staffRoutes(app, { sites, sales, alerts }) },
      { name: 'reports', routes: (app) => reportRoutes(app, { sites, reports }) },
      { name: 'dashboard', routes: (app) => dashboardRoutes(app, { sites, monitor: capacity }) },
    ];
    const appOpts = { modules, log, metrics, health, ...(opts.metricsTokenSha256 ? { metricsTokenSha256: opts.metricsTokenSha256.toLowerCase() } : {}) };
    const serverFor = (serve: 'all' | 'public' | 'gate'): Server => createServer(getRequestListener(createCloudApp({ ...appOpts, serve }).fetch));
    const separateGates = opts.gateHttpPort !== undefined;
    const httpPort = await listen(serverFor(separateGates ? 'public' : 'all'), opts.httpPort, opts.httpHost, cleanups);
    const gateHttpPort = separateGates ? await listen(serverFor('gate'), opts.gateHttpPort!, opts.gateHttpHost ?? opts.httpHost, cleanups) : undefined;
    log.info({ httpPort, gateHttpPort, mqtt: redactUrl(opts.mqttUrl), dialect: store.dialect, sites: opts.sites.map((s) => s.id), unknownGates }, 'cloud-bridge started');

    return {
      store,
      metrics,
      httpPort,
      ...(gateHttpPort !== undefined ? { gateHttpPort } : {}),
      registry,
      mqtt: client,
      publishChanges: (site, changes) => whitelist.publishChanges(site, changes),
      sales,
      reports,
      capacity,
      sendCommand: (site, gate, action, o) => commands.sendCommand(site, gate, action, o),
      waitForAck: (cmdId, timeoutMs) => commands.waitForAck(cmdId, timeoutMs),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
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

const ANOMALY_TEXT: Record<Anomaly, { zh: string; en: string }> = {
  unknown_ticket: { zh: '上报了云端从未售出的票', en: 'reported tickets the cloud never issued' },
  st2_unverified: { zh: '上报的离线票签名无法验证', en: 'reported offline tickets whose signature does not verify' },
  rate_exceeded: { zh: '上报的入园速度超过通道能力', en: 'reported admissions faster than a lane can pass' },
  future_time: { zh: '上报了未来时间的入园', en: 'reported admissions dated in the future' },
};

function anomalyAlert(site: string, gate: string, reason: Anomaly, n: number, at: Date): StaffAlert {
  const t = ANOMALY_TEXT[reason];
  return {
    site,
    kind: 'gate_anomaly',
    message: { zh: `闸机 ${gate} ${t.zh}（${n} 条），未计入，请检查该闸机。`, en: `Gate ${gate} ${t.en} (${n}); not counted. Please check the gate.` },
    at: at.toISOString(),
    details: { gate, reason, count: n },
  };
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
