import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectAsync, type MqttClient } from 'mqtt';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { basicAuthorization, gateUsername, generateSigningKeyPair, loadSigningKey, MqttSchema, signControl, topics, type GateConfig, type SigningKey } from '@stile/config';
import { startGateDaemon, type GateDaemon } from '../../src/daemon/gate-daemon.js';
import { RecordingRelay, captureLog } from './lane.js';
import { makeSite, noonShanghai, type TestSite } from './site.js';

export const BROKER = 'mqtt://127.0.0.1:1883';
let counter = 0;

/** A site id no other test run uses, so retained messages and sessions never collide. */
export function uniqueSiteId(): string {
  return `t-${process.pid}-${Date.now().toString(36)}-${++counter}`;
}

export async function waitFor(cond: () => boolean, what = 'condition', timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A TCP relay in front of Mosquitto that a test can stall (hold the broker's replies) or cut. */
export class BrokerProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<{ client: Socket; broker: Socket }>();
  /** Swallow the broker's PUBACKs (the gate's publishes reach the broker, the gate never hears back). */
  dropPubacks = false;
  /** Refuse new connections (the gate sees the cloud gone). */
  refuse = false;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((client) => {
      if (this.refuse) return client.destroy();
      const broker = netConnect(1883, '127.0.0.1');
      const pair = { client, broker };
      this.pairs.add(pair);
      client.on('data', (b) => broker.write(b));
      let pending = Buffer.alloc(0);
      broker.on('data', (b) => {
        // Split the broker's stream into MQTT packets: fixed header byte, varint length, body.
        pending = Buffer.concat([pending, b]);
        for (;;) {
          let len = 0;
          let mult = 1;
          let i = 1;
          for (; i < pending.length && i <= 4; i++) {
            const byte = pending[i]!;
            len += (byte & 0x7f) * mult;
            mult *= 128;
            if ((byte & 0x80) === 0) break;
          }
          if (i >= pending.length || pending.length < i + 1 + len) return;
          const packet = pending.subarray(0, i + 1 + len);
          pending = pending.subarray(i + 1 + len);
          if (!(this.dropPubacks && packet[0]! >> 4 === 4)) client.write(packet);
        }
      });
      const end = () => {
        this.pairs.delete(pair);
        client.destroy();
        broker.destroy();
      };
      client.on('close', end).on('error', end);
      broker.on('close', end).on('error', end);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Drop every connection at once, without an MQTT DISCONNECT (what a pulled cable looks like to the broker). */
  cut(): void {
    for (const p of this.pairs) {
      p.client.destroy();
      p.broker.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** A test MQTT client that records what arrives on the topics it subscribes. */
export class Observer {
  readonly messages: { topic: string; payload: Buffer; retain: boolean }[] = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => this.messages.push({ topic, payload, retain: packet.retain }));
  }

  static async connect(): Promise<Observer> {
    return new Observer(await connectAsync(BROKER, { protocolVersion: 5, clientId: `obs-${uniqueSiteId()}`, reconnectPeriod: 0 }));
  }

  async subscribe(topic: string): Promise<void> {
    await this.client.subscribeAsync(topic, { qos: 1 });
  }

  json<T = Record<string, unknown>>(topic: string): T[] {
    return this.messages.filter((m) => m.topic === topic && m.payload.length > 0).map((m) => JSON.parse(m.payload.toString('utf8')) as T);
  }

  async publish(topic: string, message: unknown, retain = false): Promise<void> {
    const payload = typeof message === 'string' ? message : JSON.stringify(message);
    await this.client.publishAsync(topic, payload, { qos: 1, retain });
  }

  /** Remove a retained message this test created. */
  /**
   * Play the cloud's part of the uplink: answer every entries message on `entriesTopic`
   * with a receipt signed by the site's control key, as cloud-bridge does after its
   * commit. Without it nothing leaves the outbox.
   */
  async actAsCloud(site: string, gate: string, controlKey: SigningKey): Promise<void> {
    const entries = topics.entries(site, gate);
    this.client.on('message', (topic, payload) => {
      if (topic !== entries) return;
      const events = (JSON.parse(payload.toString('utf8')) as { events: { seq: string; eventId: string }[] }).events;
      void this.client.publishAsync(topics.entriesAck(site, gate), JSON.stringify(receiptFor(site, gate, events, controlKey)), { qos: 1 });
    });
    await this.subscribe(entries);
  }

  async clearRetained(topic: string): Promise<void> {
    await this.client.publishAsync(topic, '', { qos: 1, retain: true });
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}

/** The cloud's signed receipt for one entries message (events in seq order, as the gate sends them). */
export function receiptFor(site: string, gate: string, events: readonly { seq: string; eventId: string }[], controlKey: SigningKey) {
  const first = events[0]!;
  const last = events[events.length - 1]!;
  return signControl({ v: 1 as const, site, gate, from: first.seq, to: last.seq, firstEventId: first.eventId, lastEventId: last.eventId }, controlKey);
}

export interface SyncedGate {
  site: TestSite;
  siteId: string;
  gateId: string;
  cfg: GateConfig;
  daemon: GateDaemon;
  relay: RecordingRelay;
  log: ReturnType<typeof captureLog>;
  controlKey: SigningKey;
  /** The gate's one credential (mqtt.passwordFile), and the Authorization header the cloud should see. */
  password: string;
  authorization: string;
  now: number;
  sign<T extends Record<string, unknown>>(m: T): T & { sig: string };
  /** Rows in the outbox, read through a second connection. */
  outboxSeqs(): number[];
  scanId(id: string): ReturnType<GateDaemon['scan']>;
  stop(): Promise<void>;
}

/** An in-process gate daemon with an `mqtt` section and its own site id and control key. */
export async function startSyncedGate(
  opts: {
    url?: string;
    snapshotUrl?: string;
    tickets?: number;
    beforeStart?: (dbPath: string) => void;
    configFile?: boolean;
    /** The site's control key pair (default: a new c1), for tests that must sign before the gate exists. */
    control?: { privateKeyPem: string; publicKey: string };
    /** More mqtt settings (snapshotMaxBytes, …). */
    mqtt?: Record<string, unknown>;
  } = {},
): Promise<SyncedGate> {
  const site = await makeSite(opts.tickets ?? 100);
  const siteId = uniqueSiteId();
  const pair = opts.control ?? generateSigningKeyPair('c1');
  const controlKey = loadSigningKey('c1', pair.privateKeyPem);
  // The gate's one credential: MQTT login (anonymous Mosquitto ignores it) and HTTP Basic for the cloud API.
  const password = randomBytes(18).toString('base64url');
  const passwordFile = join(site.dir, 'gate.pw');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const username = gateUsername(siteId, site.cfg.gate.id);
  const cfg: GateConfig = {
    ...site.cfg,
    site: { ...site.cfg.site, id: siteId },
    keys: { ...site.cfg.keys, control: [{ id: 'c1', publicKey: pair.publicKey }] },
    mqtt: MqttSchema.parse({
      url: opts.url ?? BROKER,
      username,
      passwordFile,
      batchSize: 100,
      reconnectMinMs: 50,
      reconnectMaxMs: 300,
      ...(opts.snapshotUrl ? { snapshotUrl: opts.snapshotUrl } : {}),
      ...opts.mqtt,
    }),
  };
  opts.beforeStart?.(cfg.store.path);
  const log = captureLog();
  const relay = new RecordingRelay(log.log, { pulseMs: 1, gapMs: 1 });
  const now = noonShanghai(site.today);
  // With configFile the effective config is written to gate.yaml, so reload-config can re-read it.
  if (opts.configFile) writeFileSync(site.configPath, stringify(cfg));
  const daemon = startGateDaemon(cfg, log.log, { clock: () => now, relay, ...(opts.configFile ? { configPath: site.configPath } : {}) });
  const reader = new Database(cfg.store.path, { readonly: true });
  return {
    site,
    siteId,
    gateId: cfg.gate.id,
    cfg,
    daemon,
    relay,
    log,
    controlKey,
    password,
    authorization: basicAuthorization(username, password),
    now,
    sign: (m) => signControl(m, controlKey),
    outboxSeqs: () => reader.prepare<[], { seq: number }>('SELECT seq FROM outbox ORDER BY seq').all().map((r) => r.seq),
    scanId: (id) => daemon.scan({ kind: 'qr', text: `ST1:${id}` }),
    async stop() {
      reader.close();
      await daemon.stop();
      site.cleanup();
    },
  };
}

/** A tiny cloud HTTP API for resync tests; `handler` answers what the test wants. */
export async function startHttp(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; requests: string[]; authorizations: (string | undefined)[]; close(): Promise<void>; server: HttpServer }> {
  const requests: string[] = [];
  const authorizations: (string | undefined)[] = [];
  const server = createHttpServer((req, res) => {
    requests.push(req.url ?? '');
    authorizations.push(req.headers.authorization);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    authorizations,
    server,
    close: () =>
      new Promise<void>((r) => {
        // Endless or slow test responses must not hold the close up.
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
